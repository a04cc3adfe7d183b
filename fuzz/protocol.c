/*
 * libFuzzer target: message validation (lua/ktstr/protocol.lua's decode) on
 * any payload. Lua and lua-cjson are not instrumented, so coverage of the Lua
 * side comes from a line hook that counts (previous line, line) edges in
 * libFuzzer's extra counters.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#ifndef KTSTR_LUA_DIR
#define KTSTR_LUA_DIR "lua"
#endif

#define FUZZ_EDGES	(1 << 16)

__attribute__((section("__libfuzzer_extra_counters")))
static uint8_t fuzz_edges[FUZZ_EDGES];
static uintptr_t fuzz_prev;
static lua_State *fuzz_L;

static void fuzz_line(lua_State *L, lua_Debug *ar)
{
	uintptr_t cur;

	lua_getinfo(L, "S", ar);
	/* a chunk's source string is interned: its address names the file */
	cur = ((uintptr_t)ar->source >> 4) * 2654435761u ^ (uintptr_t)ar->currentline * 40503u;
	fuzz_edges[(cur ^ fuzz_prev) % FUZZ_EDGES]++;
	fuzz_prev = cur >> 1;
}

/*
 * check(payload): calls decode under pcall and checks what it promises:
 * never raises; a message (a table whose t is a declared type, which
 * protocol.check accepts) or nil and a one-line reason.
 */
static const char fuzz_check[] =
	"local protocol = require('ktstr.protocol')\n"
	"return function(raw)\n"
	"  local ok, msg, err = pcall(protocol.decode, raw)\n"
	"  if not ok then return 'decode raised: ' .. tostring(msg) end\n"
	"  if msg == nil then\n"
	"    if type(err) ~= 'string' or err == '' then return 'no reason: ' .. tostring(err) end\n"
	"    return nil\n"
	"  end\n"
	"  if type(msg) ~= 'table' or not protocol.MESSAGES[msg.t] then\n"
	"    return 'decode returned a ' .. type(msg) .. ' that is no message'\n"
	"  end\n"
	"  local cok, cerr = protocol.check(msg)\n"
	"  if not cok then return 'decoded, then refused by check: ' .. tostring(cerr) end\n"
	"end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("KTSTR_LUA_DIR");
	lua_State *L = luaL_newstate();

	(void)argc;
	(void)argv;
	if (!L)
		abort();
	luaL_openlibs(L);
	lua_getglobal(L, "package");
	lua_pushfstring(L, "%s/?.lua", dir && *dir ? dir : KTSTR_LUA_DIR);
	lua_setfield(L, -2, "path");
	lua_pop(L, 1);
	if (luaL_loadstring(L, fuzz_check) || lua_pcall(L, 0, 1, 0)) {
		fprintf(stderr, "fuzz-protocol: %s\n", lua_tostring(L, -1));
		exit(1);
	}
	lua_setfield(L, LUA_REGISTRYINDEX, "fuzz_check");
	lua_sethook(L, fuzz_line, LUA_MASKLINE, 0);
	fuzz_L = L;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lua_State *L = fuzz_L;

	fuzz_prev = 0;
	lua_getfield(L, LUA_REGISTRYINDEX, "fuzz_check");
	lua_pushlstring(L, (const char *)data, size);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		fprintf(stderr, "fuzz-protocol: the check itself failed: %s\n",
			lua_tostring(L, -1));
		abort();
	}
	if (!lua_isnil(L, -1)) {
		fprintf(stderr, "fuzz-protocol: %s\n", lua_tostring(L, -1));
		abort();
	}
	lua_pop(L, 1);
	/* a bounded heap between inputs: garbage of a big one goes now */
	lua_gc(L, LUA_GCSTEP, 0);
	return 0;
}
