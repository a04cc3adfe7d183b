/* ktstr.core bindings for guest topologies (vmm/topology.c). */
#include <limits.h>

#include "src/base/argv.h"
#include "vmm/topology.h"
#include "lk.h"

/* A count field of a topology table: absent -> def (or raise if required). */
static unsigned l_topo_field(lua_State *L, int idx, const char *k,
			     int required, unsigned def)
{
	lua_Integer v;
	int isint;

	if (lua_getfield(L, idx, k) == LUA_TNIL) {
		lua_pop(L, 1);
		if (required)
			luaL_argerror(L, idx, lua_pushfstring(L,
				"field '%s' is required", k));
		return def;
	}
	/* a number with an integer value (2.0 too), never a string */
	v = 0;
	isint = 0;
	if (lua_type(L, -1) == LUA_TNUMBER)
		v = lua_tointegerx(L, -1, &isint);
	lua_pop(L, 1);
	if (!isint)
		luaL_argerror(L, idx, lua_pushfstring(L,
			"field '%s' must be an integer", k));
	if (v < 0 || v > UINT_MAX)
		luaL_argerror(L, idx, lua_pushfstring(L,
			"field '%s' out of range (got %I)", k, v));
	return (unsigned)v;
}

/* {numa_nodes = 1, llcs =, cores =, threads =, memory_mib = 0 (default)} */
static void l_check_topo(lua_State *L, int idx, struct topo *t)
{
	luaL_checktype(L, idx, LUA_TTABLE);
	t->numa_nodes = l_topo_field(L, idx, "numa_nodes", 0, 1);
	t->llcs = l_topo_field(L, idx, "llcs", 1, 0);
	t->cores = l_topo_field(L, idx, "cores", 1, 0);
	t->threads = l_topo_field(L, idx, "threads", 1, 0);
	t->memory_mib = l_topo_field(L, idx, "memory_mib", 0, 0);
}

static void l_set_int(lua_State *L, const char *k, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

/* memory_mib is left out while it is 0 ("the default"). */
static void l_push_topo(lua_State *L, const struct topo *t)
{
	lua_createtable(L, 0, 6);
	l_set_int(L, "numa_nodes", t->numa_nodes);
	l_set_int(L, "llcs", t->llcs);
	l_set_int(L, "cores", t->cores);
	l_set_int(L, "threads", t->threads);
	if (t->memory_mib)
		l_set_int(L, "memory_mib", t->memory_mib);
	l_set_int(L, "cpus", (lua_Integer)t->llcs * t->cores * t->threads);
}

/* core.topo_parse(s) -> {numa_nodes=, llcs=, cores=, threads=, cpus=} | nil, err, "EINVAL" */
static int l_topo_parse(lua_State *L)
{
	const char *s = luaL_checkstring(L, 1);
	char err[256];
	struct topo t;

	if (topo_parse(s, &t, err, sizeof(err)))
		return lk_fail_msg(L, err, "EINVAL");
	l_push_topo(L, &t);
	return 1;
}

/* core.topo_validate(t) -> copy of t with memory_mib filled in | nil, err, "EINVAL" */
static int l_topo_validate(lua_State *L)
{
	char err[256];
	struct topo t;

	l_check_topo(L, 1, &t);
	if (topo_validate(&t, err, sizeof(err)))
		return lk_fail_msg(L, err, "EINVAL");
	l_push_topo(L, &t);
	return 1;
}

/* core.topo_format(t) -> "1n2l2c1t" */
static int l_topo_format(lua_State *L)
{
	char name[TOPO_NAME_MAX];
	struct topo t;

	l_check_topo(L, 1, &t);
	topo_format(&t, name, sizeof(name));
	lua_pushstring(L, name);
	return 1;
}

/* core.topo_qemu_args(t, ram_dir) -> {"-cpu", "max,vendor=GenuineIntel", ...} | nil, err, "EINVAL" */
static int l_topo_qemu_args(lua_State *L)
{
	const char *ram_dir = luaL_checkstring(L, 2);
	struct argv_buf a = { 0 };
	char err[256];
	struct topo t;
	size_t i;
	int rc;

	l_check_topo(L, 1, &t);
	luaL_argcheck(L, *ram_dir, 2, "ram_dir must not be empty");
	if (topo_validate(&t, err, sizeof(err)))
		return lk_fail_msg(L, err, "EINVAL");
	rc = topo_qemu_args(&t, ram_dir, &a);
	if (rc) {
		argv_free(&a);
		return lk_fail(L, rc, "topo_qemu_args", ram_dir);
	}
	lua_createtable(L, (int)a.n, 0);
	for (i = 0; i < a.n; i++) {
		lua_pushstring(L, a.v[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	argv_free(&a);
	return 1;
}

typedef int (*l_cpulist_fn)(const struct topo *t, unsigned i, char *buf,
			    size_t len);

/* Sets field k of the table on top to {fn(t, 0), ..., fn(t, n - 1)}. */
static void l_set_lists(lua_State *L, const char *k, const struct topo *t,
			unsigned n, l_cpulist_fn fn)
{
	char list[TOPO_NAME_MAX];
	unsigned i;

	lua_createtable(L, (int)n, 0);
	for (i = 0; i < n; i++) {
		fn(t, i, list, sizeof(list));
		lua_pushstring(L, list);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, k);
}

/* core.topo_expected(t) -> {llc_lists=, sibling_lists=, node_lists=} | nil, err, "EINVAL" */
static int l_topo_expected(lua_State *L)
{
	char err[256];
	struct topo t;

	l_check_topo(L, 1, &t);
	if (topo_validate(&t, err, sizeof(err)))
		return lk_fail_msg(L, err, "EINVAL");
	lua_createtable(L, 0, 3);
	l_set_lists(L, "llc_lists", &t, topo_cpus(&t), topo_llc_cpulist);
	l_set_lists(L, "sibling_lists", &t, topo_cpus(&t), topo_sibling_cpulist);
	l_set_lists(L, "node_lists", &t, t.numa_nodes, topo_node_cpulist);
	return 1;
}

static const luaL_Reg l_topology_funcs[] = {
	{ "topo_parse", l_topo_parse },
	{ "topo_validate", l_topo_validate },
	{ "topo_format", l_topo_format },
	{ "topo_qemu_args", l_topo_qemu_args },
	{ "topo_expected", l_topo_expected },
	{ NULL, NULL },
};

LK_MODULE(topology, l_topology_funcs, NULL)
