/* ktstr.core bindings for reading guest RAM from the host. */
#include <stdlib.h>

#include "vmm/guestmem.h"
#include "lk.h"

#define GM_MT "ktstr.guestmem"

/*
 * core.guestmem_open({ram0, ram1, ...} [, {writable = true}]) -> gm | nil, err, code;
 * writable opens the files read-write for k:cas (the mapping stays read-only)
 */
static int l_guestmem_open(lua_State *L)
{
	int n, rc, flags = 0;
	char **paths;
	struct guestmem *gm;

	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		flags = lk_opt_bool_field(L, 2, "writable", 0) ? GUESTMEM_WRITABLE : 0;
	}
	lua_settop(L, 1);	/* the argv lands above the paths */
	paths = lk_check_argv(L, 1, &n);
	gm = lua_newuserdatauv(L, sizeof(*gm), 0);
	gm->n = 0;
	luaL_setmetatable(L, GM_MT);
	rc = guestmem_open(gm, (const char *const *)paths, n, flags);
	return rc ? lk_fail(L, rc, "guestmem_open", paths[0]) : 1;
}

/* gm:read(phys_addr, len) -> bytes | nil, err, code */
static int l_guestmem_read(lua_State *L)
{
	struct guestmem *gm = luaL_checkudata(L, 1, GM_MT);
	lua_Integer addr = luaL_checkinteger(L, 2);
	lua_Integer len = luaL_checkinteger(L, 3);
	luaL_Buffer b;
	char *p;
	int rc;

	luaL_argcheck(L, len >= 0 && len <= (1 << 26), 3, "length out of 0..64 MiB");
	p = luaL_buffinitsize(L, &b, len);
	rc = guestmem_read(gm, (uint64_t)addr, p, len);
	if (rc)
		return lk_fail(L, rc, "guestmem_read", "guest RAM");
	luaL_pushresultsize(&b, len);
	return 1;
}

/* gm:size() -> bytes of RAM */
static int l_guestmem_size(lua_State *L)
{
	struct guestmem *gm = luaL_checkudata(L, 1, GM_MT);

	lua_pushinteger(L, (lua_Integer)gm->total);
	return 1;
}

/* gm:close() */
static int l_guestmem_close(lua_State *L)
{
	guestmem_close(luaL_checkudata(L, 1, GM_MT));
	return 0;
}

static const luaL_Reg gm_methods[] = {
	{ "read", l_guestmem_read },
	{ "size", l_guestmem_size },
	{ "close", l_guestmem_close },
	{ NULL, NULL },
};

static void l_guestmem_setup(lua_State *L)
{
	lk_newclass(L, GM_MT, gm_methods, l_guestmem_close, NULL);
}

static const luaL_Reg gm_funcs[] = {
	{ "guestmem_open", l_guestmem_open },
	{ NULL, NULL },
};

LK_MODULE(guestmem, gm_funcs, l_guestmem_setup)
