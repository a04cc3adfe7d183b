/* ktstr.core bindings of src/base/owner.c: claiming run and scratch dirs, judging and reclaiming them. */
#include <unistd.h>

#include "src/base/owner.h"
#include "lk.h"

#define OWNER_MT "ktstr.owner"

struct l_owner {
	int fd;
};

/* core.owner_claim(dir [, keep]) -> owner | nil, err, code: dir is ours while owner lives */
static int l_owner_claim(lua_State *L)
{
	const char *dir = luaL_checkstring(L, 1);
	int keep = lua_toboolean(L, 2), rc;
	struct l_owner *o = lua_newuserdatauv(L, sizeof(*o), 0);

	o->fd = -1;
	luaL_setmetatable(L, OWNER_MT);
	rc = owner_claim(dir, keep, &o->fd);
	return rc ? lk_fail(L, rc, "claim", dir) : 1;
}

/* owner:release(): gives the claim up (after the dir is gone); idempotent */
static int l_owner_release(lua_State *L)
{
	struct l_owner *o = luaL_checkudata(L, 1, OWNER_MT);

	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	return 0;
}

static const char *const l_owner_states[] = {
	[OWNER_NONE] = "none", [OWNER_LIVE] = "live", [OWNER_DEAD] = "dead", [OWNER_KEPT] = "kept",
};

/* core.owner_state(path) -> "none"|"live"|"dead"|"kept", pid | nil, err, code */
static int l_owner_state(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	pid_t pid;
	int st = owner_state(path, &pid);

	if (st < 0)
		return lk_fail(L, st, "owner", path);
	lua_pushstring(L, l_owner_states[st]);
	lua_pushinteger(L, pid);
	return 2;
}

static void l_owner_gone(const char *path, pid_t pid, void *arg)
{
	lua_State *L = arg;

	lua_createtable(L, 0, 2);
	lua_pushstring(L, path);
	lua_setfield(L, -2, "path");
	lua_pushinteger(L, pid);
	lua_setfield(L, -2, "pid");
	lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
}

/*
 * core.owner_reclaim(pattern [, min_age_s]) -> {{path=, pid=}, ...} | nil, err, code:
 * what dead owners left at the paths matching the glob pattern, now removed
 */
static int l_owner_reclaim(lua_State *L)
{
	const char *pattern = luaL_checkstring(L, 1);
	int age = (int)luaL_optinteger(L, 2, 60), rc;

	lua_newtable(L);
	rc = owner_reclaim(pattern, age, l_owner_gone, L);
	if (rc < 0)
		return lk_fail(L, rc, "reclaim", pattern);
	return 1;
}

static const luaL_Reg owner_methods[] = {
	{ "release", l_owner_release },
	{ NULL, NULL },
};

static void l_owner_setup(lua_State *L)
{
	lk_newclass(L, OWNER_MT, owner_methods, l_owner_release, NULL);
}

static const luaL_Reg owner_funcs[] = {
	{ "owner_claim", l_owner_claim },
	{ "owner_state", l_owner_state },
	{ "owner_reclaim", l_owner_reclaim },
	{ NULL, NULL },
};

LK_MODULE(owner, owner_funcs, l_owner_setup)
