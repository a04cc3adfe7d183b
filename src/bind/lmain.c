/* The Lua state the binary runs its Lua side in: paths, ktstr.core, the interrupt hook. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "src/base/sig.h"
#include "l_sig.h"
#include "lk.h"
#include "lmain.h"

static int lmain_traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") &&
		    lua_type(L, -1) == LUA_TSTRING)
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)",
				      luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

/*
 * Where the Lua modules are, from the binary's real path: beside it (the
 * guest's /init -> /lua), installed (PREFIX/bin/ktstr ->
 * PREFIX/share/ktstr/lua) or the checkout (build/ktstr -> lua/).
 * KTSTR_LUA_DIR overrides. -ENOENT, with out the last place looked, when
 * none of them holds ktstr/.
 */
static int lmain_lua_dir(char *out, size_t len, char *exe, size_t exe_len)
{
	static const char *const rel[] = { "lua", "../share/ktstr/lua", "../lua" };
	const char *env = getenv("KTSTR_LUA_DIR");
	char cand[PATH_MAX + 32];
	ssize_t n;
	size_t i;
	char *dir;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, exe_len - 1);
	if (n < 0) {
		snprintf(out, len, "lua");
		return 0;
	}
	exe[n] = '\0';
	dir = dirname(strdupa(exe));
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(out, len, "%s/%s", dir, rel[i]);
		snprintf(cand, sizeof(cand), "%s/ktstr", out);
		if (access(cand, F_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

static int lmain_set_paths(lua_State *L)
{
	char dir[PATH_MAX], exe[PATH_MAX];

	if (lmain_lua_dir(dir, sizeof(dir), exe, sizeof(exe)) < 0) {
		fprintf(stderr, "ktstr: no Lua modules for %s: looked for ktstr/ in lua/, "
			"../share/ktstr/lua/ and ../lua/ beside it; set KTSTR_LUA_DIR\n", exe);
		return -ENOENT;
	}
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "path");
	lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir,
			lua_tostring(L, -1));
	lua_setfield(L, -3, "path");
	lua_pop(L, 1);
	lua_pushstring(L, dir);
	lua_setfield(L, -2, "ktstr_lua_dir");
	lua_pop(L, 1);
	return 0;
}

int lmain_run(const char *mod, int argc, char **argv)
{
	lua_State *L = luaL_newstate();
	int i, rc;

	if (!L) {
		fprintf(stderr, "ktstr: out of memory\n");
		return 2;
	}
	l_sig_attach(L);
	luaL_openlibs(L);
	luaL_requiref(L, "ktstr.core", luaopen_ktstr_core, 0);
	lua_pop(L, 1);
	if (lmain_set_paths(L) < 0) {
		l_sig_attach(NULL);
		lua_close(L);
		return 2;
	}
	lua_pushcfunction(L, lmain_traceback);
	lua_getglobal(L, "require");
	lua_pushstring(L, mod);
	rc = lua_pcall(L, 1, 1, 1);
	if (rc == LUA_OK) {
		lua_getfield(L, -1, "main");
		lua_remove(L, -2);
		lua_checkstack(L, argc + 1);
		for (i = 0; i < argc; i++)
			lua_pushstring(L, argv[i]);
		rc = lua_pcall(L, argc, 1, 1);
	}
	/*
	 * A signal ends the run as one, however the Lua side ended: code that
	 * caught the interrupt (a pcall) and went on to return normally still
	 * exits 128 + signo.
	 */
	if (sig_pending()) {
		fprintf(stderr, "ktstr: interrupted by %s\n",
			strsignal(sig_pending()));
		rc = 128 + sig_pending();
	} else if (rc != LUA_OK) {
		fprintf(stderr, "ktstr: %s\n", lua_tostring(L, -1));
		rc = 2;
	} else {
		rc = lua_isnumber(L, -1) ? (int)lua_tonumber(L, -1) : 0;
	}
	l_sig_attach(NULL);
	lua_close(L);
	return rc;
}

