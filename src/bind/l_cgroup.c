/* ktstr.core bindings for cgroup v2 under /sys/fs/cgroup/ktstr (see cgroup.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "src/guest/cgroup.h"
#include "lk.h"

#define CGROUP_MT "ktstr.cgroup"

struct l_cgroup {
	struct cgroup cg;
	int open;
};

static struct cgroup *check_cgroup(lua_State *L)
{
	struct l_cgroup *c = luaL_checkudata(L, 1, CGROUP_MT);

	if (!c->open)
		luaL_error(L, "cgroup is closed");
	return &c->cg;
}

/* nil, err, "ENAME" for a failure cgroup.c described in err. */
static int l_cg_fail(lua_State *L, int rc, const char *err)
{
	const char *name = strerrorname_np(-rc);

	return lk_fail_msg(L, err, name ? name : "EIO");
}

static int l_cg_result(lua_State *L, int rc, const char *err)
{
	if (rc < 0)
		return l_cg_fail(L, rc, err);
	lua_pushboolean(L, 1);
	return 1;
}

/* cgroup waits are always bounded: a negative timeout is a caller bug */
static int l_ms(lua_State *L, int idx, int def)
{
	int ms = lk_opt_ms(L, idx, def);

	luaL_argcheck(L, ms >= 0, idx, "timeout must be >= 0");
	return ms;
}

static const char *check_name(lua_State *L, int idx)
{
	const char *name = luaL_checkstring(L, idx);

	if (cgroup_name_check(name))
		luaL_argerror(L, idx, lua_pushfstring(L, "invalid cgroup name '%s' "
			"(relative, at most 127 bytes, no empty, '.' or '..' parts)", name));
	return name;
}

static const char *check_file(lua_State *L, int idx)
{
	const char *file = luaL_checkstring(L, idx);

	if (cgroup_file_check(file))
		luaL_argerror(L, idx, lua_pushfstring(L, "invalid cgroup file '%s'", file));
	return file;
}

/* An integer or "max" at idx, printed into buf. */
static const char *check_int_or_max(lua_State *L, int idx, char *buf, size_t len)
{
	if (lua_isinteger(L, idx)) {
		snprintf(buf, len, "%lld", (long long)lua_tointeger(L, idx));
		return buf;
	}
	if (lua_type(L, idx) == LUA_TSTRING && strcmp(lua_tostring(L, idx), "max") == 0)
		return "max";
	luaL_argerror(L, idx, "integer or 'max' expected");
	return NULL;
}

static int l_cgroup_new(lua_State *L, int create)
{
	const char *name = check_name(L, 1);
	struct l_cgroup *c;
	char err[512];
	int rc;

	c = lua_newuserdatauv(L, sizeof(*c), 0);
	c->open = 0;
	luaL_setmetatable(L, CGROUP_MT);
	if (create && lua_istable(L, 2) && lk_opt_bool_field(L, 2, "threaded", 0))
		rc = cgroup_create_threaded(&c->cg, name, err, sizeof(err));
	else if (create)
		rc = cgroup_create(&c->cg, name, err, sizeof(err));
	else
		rc = cgroup_open(&c->cg, name, err, sizeof(err));
	if (rc)
		return l_cg_fail(L, rc, err);
	c->open = 1;
	return 1;
}

/* core.cgroup_create(name [, {threaded = true}]) -> cg | nil, err, code */
static int l_cgroup_create(lua_State *L)
{
	return l_cgroup_new(L, 1);
}

/* core.cgroup_open(name) -> cg | nil, err, code */
static int l_cgroup_open(lua_State *L)
{
	return l_cgroup_new(L, 0);
}

/* core.cgroup_remove_all([timeout_s]) -> number removed | nil, err, code */
static int l_cgroup_remove_all(lua_State *L)
{
	char err[512];
	int rc = cgroup_remove_all(l_ms(L, 1, CGROUP_REMOVE_MS), err, sizeof(err));

	if (rc < 0)
		return l_cg_fail(L, rc, err);
	lua_pushinteger(L, rc);
	return 1;
}

/* core.cpus_online() -> "0-3" | nil, err, code */
static int l_cpus_online(lua_State *L)
{
	char buf[1024], err[256];
	int rc = cgroup_cpus_online(buf, sizeof(buf), err, sizeof(err));

	if (rc < 0)
		return l_cg_fail(L, rc, err);
	lua_pushstring(L, buf);
	return 1;
}

/* cg:path() -> "/sys/fs/cgroup/ktstr/a" */
static int l_cg_path(lua_State *L)
{
	lua_pushstring(L, check_cgroup(L)->path);
	return 1;
}

/* cg:name() -> "a" */
static int l_cg_name(lua_State *L)
{
	lua_pushstring(L, check_cgroup(L)->name);
	return 1;
}

/* cg:write(file, value) -> true | nil, err, code */
static int l_cg_write(lua_State *L)
{
	struct cgroup *cg = check_cgroup(L);
	const char *file = check_file(L, 2);
	const char *value = luaL_checkstring(L, 3);
	char err[512];

	return l_cg_result(L, cgroup_write(cg, file, value, err, sizeof(err)), err);
}

/* cg:read(file) -> string (trailing newline removed) | nil, err, code */
static int l_cg_read(lua_State *L)
{
	struct cgroup *cg = check_cgroup(L);
	const char *file = check_file(L, 2);
	char err[512], *buf;
	luaL_Buffer b;
	int rc;

	buf = luaL_buffinitsize(L, &b, 65536);
	rc = cgroup_read(cg, file, buf, 65536, err, sizeof(err));
	if (rc < 0)
		return l_cg_fail(L, rc, err);
	luaL_pushresultsize(&b, rc);
	return 1;
}

/* cg:set_cpus("0-1") -> true | nil, err, code  (offline CPUs are an error) */
static int l_cg_set_cpus(lua_State *L)
{
	struct cgroup *cg = check_cgroup(L);
	const char *cpus = luaL_checkstring(L, 2);
	char err[512];

	return l_cg_result(L, cgroup_set_cpus(cg, cpus, err, sizeof(err)), err);
}

/* cg:set_mems("0") -> true | nil, err, code */
static int l_cg_set_mems(lua_State *L)
{
	struct cgroup *cg = check_cgroup(L);
	const char *mems = luaL_checkstring(L, 2);
	char err[512];

	return l_cg_result(L, cgroup_set_mems(cg, mems, err, sizeof(err)), err);
}

/* cg:set_weight(n) -> true | nil, err, code  (cpu.weight, 1..10000) */
static int l_cg_set_weight(lua_State *L)
{
	struct cgroup *cg = check_cgroup(L);
	lua_Integer w = luaL_checkinteger(L, 2);
	char buf[32], err[512];

	snprintf(buf, sizeof(buf), "%lld", (long long)w);
	return l_cg_result(L, cgroup_write(cg, "cpu.weight", buf, err, sizeof(err)), err);
}

/* cg:set_max(quota_us | "max" [, period_us]) -> true | nil, err, code  (cpu.max) */
static int l_cg_set_max(lua_State *L)
{
	struct cgroup *cg = check_cgroup(L);
	char q[32], buf[64], err[512];
	const char *quota = check_int_or_max(L, 2, q, sizeof(q));

	if (lua_isnoneornil(L, 3))
		snprintf(buf, sizeof(buf), "%s", quota);
	else
		snprintf(buf, sizeof(buf), "%s %lld", quota,
			 (long long)luaL_checkinteger(L, 3));
	return l_cg_result(L, cgroup_write(cg, "cpu.max", buf, err, sizeof(err)), err);
}

/* cg:set_memory_max(bytes | "max") -> true | nil, err, code */
static int l_cg_set_memory_max(lua_State *L)
{
	struct cgroup *cg = check_cgroup(L);
	char buf[32], err[512];
	const char *v = check_int_or_max(L, 2, buf, sizeof(buf));

	return l_cg_result(L, cgroup_write(cg, "memory.max", v, err, sizeof(err)), err);
}

/* cg:set_pids_max(n | "max") -> true | nil, err, code */
static int l_cg_set_pids_max(lua_State *L)
{
	struct cgroup *cg = check_cgroup(L);
	char buf[32], err[512];
	const char *v = check_int_or_max(L, 2, buf, sizeof(buf));

	return l_cg_result(L, cgroup_write(cg, "pids.max", v, err, sizeof(err)), err);
}

/* cg:attach(pid) -> true | nil, err, code */
static int l_cg_attach(lua_State *L)
{
	struct cgroup *cg = check_cgroup(L);
	lua_Integer pid = luaL_checkinteger(L, 2);
	char err[512];

	luaL_argcheck(L, pid > 0, 2, "pid must be > 0");
	return l_cg_result(L, cgroup_attach(cg, (pid_t)pid, err, sizeof(err)), err);
}

/* cg:freeze([timeout_s = 2]) -> true | nil, err, code  (waits for "frozen 1") */
static int l_cg_freeze(lua_State *L)
{
	struct cgroup *cg = check_cgroup(L);
	int ms = l_ms(L, 2, CGROUP_FREEZE_MS);
	char err[512];

	return l_cg_result(L, cgroup_freeze(cg, 1, ms, err, sizeof(err)), err);
}

/* cg:unfreeze([timeout_s = 2]) -> true | nil, err, code  (waits for "frozen 0") */
static int l_cg_unfreeze(lua_State *L)
{
	struct cgroup *cg = check_cgroup(L);
	int ms = l_ms(L, 2, CGROUP_FREEZE_MS);
	char err[512];

	return l_cg_result(L, cgroup_freeze(cg, 0, ms, err, sizeof(err)), err);
}

/* cg:procs() -> {pid, ...} | nil, err, code  (this cgroup only, not children) */
static int l_cg_procs(lua_State *L)
{
	struct cgroup *cg = check_cgroup(L);
	pid_t small[64], *pids = small;
	size_t cap = 64;
	char err[512];
	int i, n;

	/* The set can grow between reads: retry until it fits. */
	while ((n = cgroup_procs(cg, pids, cap, err, sizeof(err))) > (int)cap) {
		cap = (size_t)n * 2;
		/* stays on the stack, below the result, until we return */
		pids = lua_newuserdatauv(L, cap * sizeof(*pids), 0);
	}
	if (n < 0)
		return l_cg_fail(L, n, err);
	lua_createtable(L, n, 0);
	for (i = 0; i < n; i++) {
		lua_pushinteger(L, pids[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

/*
 * cg:remove([timeout_s = 5]) -> true | nil, err, code
 * Kills everything inside, reaps our own children among them, rmdir's
 * children first. The handle stays open (its path no longer exists).
 */
static int l_cg_remove(lua_State *L)
{
	struct cgroup *cg = check_cgroup(L);
	int ms = l_ms(L, 2, CGROUP_REMOVE_MS);
	char err[512];

	return l_cg_result(L, cgroup_remove(cg, ms, err, sizeof(err)), err);
}

/* cg:close(): forgets the handle, leaves the cgroup; idempotent (__gc, __close) */
static int l_cg_close(lua_State *L)
{
	struct l_cgroup *c = luaL_checkudata(L, 1, CGROUP_MT);

	c->open = 0;
	return 0;
}

static int l_cg_tostring(lua_State *L)
{
	struct l_cgroup *c = luaL_checkudata(L, 1, CGROUP_MT);

	if (c->open)
		lua_pushfstring(L, "ktstr.cgroup: %s (%s)", c->cg.name, c->cg.path);
	else
		lua_pushstring(L, "ktstr.cgroup: closed");
	return 1;
}

static const luaL_Reg cgroup_methods[] = {
	{ "path", l_cg_path },
	{ "name", l_cg_name },
	{ "write", l_cg_write },
	{ "read", l_cg_read },
	{ "set_cpus", l_cg_set_cpus },
	{ "set_mems", l_cg_set_mems },
	{ "set_weight", l_cg_set_weight },
	{ "set_max", l_cg_set_max },
	{ "set_memory_max", l_cg_set_memory_max },
	{ "set_pids_max", l_cg_set_pids_max },
	{ "attach", l_cg_attach },
	{ "freeze", l_cg_freeze },
	{ "unfreeze", l_cg_unfreeze },
	{ "procs", l_cg_procs },
	{ "remove", l_cg_remove },
	{ "close", l_cg_close },
	{ NULL, NULL },
};

static void l_cgroup_setup(lua_State *L)
{
	lk_newclass(L, CGROUP_MT, cgroup_methods, l_cg_close, l_cg_tostring);
}

static const luaL_Reg cgroup_funcs[] = {
	{ "cgroup_create", l_cgroup_create },
	{ "cgroup_open", l_cgroup_open },
	{ "cgroup_remove_all", l_cgroup_remove_all },
	{ "cpus_online", l_cpus_online },
	{ NULL, NULL },
};

LK_MODULE(cgroup, cgroup_funcs, l_cgroup_setup)
