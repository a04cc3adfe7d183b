/* ktstr.core bindings of src/guest/policy.c: a thread's scheduling and memory policy, read back. */
#define _GNU_SOURCE
#include <sched.h>

#include "src/guest/policy.h"
#include "lk.h"

static void l_set_int(lua_State *L, const char *k, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

/*
 * core.sched_getattr([tid = 0]) -> { policy = "deadline", priority =, nice =,
 *   reset_on_fork =, runtime =, deadline =, period = (ns, deadline only) }
 *   | nil, err, code. tid 0: the calling thread.
 */
static int l_sched_getattr(lua_State *L)
{
	lua_Integer tid = luaL_optinteger(L, 1, 0);
	struct policy_sched p;
	int rc;

	luaL_argcheck(L, tid >= 0, 1, "tid must be >= 0");
	rc = policy_sched_get((pid_t)tid, &p);
	if (rc)
		return lk_fail(L, rc, "sched_getattr", NULL);
	lua_createtable(L, 0, 7);
	lua_pushstring(L, policy_sched_name(p.policy));
	lua_setfield(L, -2, "policy");
	l_set_int(L, "priority", p.priority);
	l_set_int(L, "nice", p.nice);
	lua_pushboolean(L, p.reset_on_fork);
	lua_setfield(L, -2, "reset_on_fork");
	if (p.policy == SCHED_DEADLINE) {
		l_set_int(L, "runtime", (lua_Integer)p.runtime_ns);
		l_set_int(L, "deadline", (lua_Integer)p.deadline_ns);
		l_set_int(L, "period", (lua_Integer)p.period_ns);
	}
	return 1;
}

/*
 * core.mempolicy_get() -> { mode = "bind", nodes = "0-1", static_nodes =,
 *   relative_nodes =, numa_balancing = (true when set) } | nil, err, code:
 *   the calling thread's (get_mempolicy reads no other).
 */
static int l_mempolicy_get(lua_State *L)
{
	struct policy_mem p;
	char nodes[256];
	int rc = policy_mem_get(&p);

	if (rc)
		return lk_fail(L, rc, "get_mempolicy", NULL);
	lua_createtable(L, 0, 5);
	lua_pushstring(L, policy_mem_name(p.mode));
	lua_setfield(L, -2, "mode");
	policy_nodes_format(p.nodes, nodes, sizeof(nodes));
	lua_pushstring(L, nodes);
	lua_setfield(L, -2, "nodes");
	if (p.flags & policy_mem_flag_parse("static_nodes")) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, "static_nodes");
	}
	if (p.flags & policy_mem_flag_parse("relative_nodes")) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, "relative_nodes");
	}
	if (p.flags & policy_mem_flag_parse("numa_balancing")) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, "numa_balancing");
	}
	return 1;
}

static const luaL_Reg l_policy_funcs[] = {
	{ "sched_getattr", l_sched_getattr },
	{ "mempolicy_get", l_mempolicy_get },
	{ NULL, NULL },
};

LK_MODULE(policy, l_policy_funcs, NULL)
