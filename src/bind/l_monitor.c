/* ktstr.core bindings of vmm/monitor.c: the guest's runqueues sampled from the host. */
#include <stdint.h>
#include <string.h>

#include "vmm/monitor.h"
#include "lk.h"

#define MON_MT "ktstr.monitor"

struct l_mon {
	struct mon_layout l;
	struct mon_sample s;
};

static uint32_t field_off(lua_State *L, int idx, const char *name)
{
	lua_Integer v = lk_opt_int_field(L, idx, name, -1);

	if (v < 0 || v > 1 << 20)
		luaL_error(L, "monitor_new: layout.%s: missing or out of range", name);
	return (uint32_t)v;
}

/* An offset the kernel may not have (schedstat fields): MON_NO_FIELD when absent. */
static uint32_t opt_off(lua_State *L, int idx, const char *name)
{
	lua_Integer v = lk_opt_int_field(L, idx, name, -1);

	return v < 0 ? MON_NO_FIELD : field_off(L, idx, name);
}

static void mon_read_events(lua_State *L, struct mon_layout *l)
{
	int i;

	lua_getfield(L, 2, "events");	/* {{name=, off=}, ...} */
	l->nr_events = lua_istable(L, -1) ? (int)luaL_len(L, -1) : 0;
	luaL_argcheck(L, l->nr_events <= MON_MAX_EVENTS, 2, "too many events");
	lua_createtable(L, l->nr_events, 0);	/* names, kept as uservalue 2 */
	for (i = 0; i < l->nr_events; i++) {
		lua_geti(L, -2, i + 1);
		l->ev_off[i] = field_off(L, lua_gettop(L), "off");
		lua_getfield(L, -1, "name");
		luaL_checktype(L, -1, LUA_TSTRING);
		lua_rawseti(L, -3, i + 1);
		lua_pop(L, 1);
	}
}

/* core.monitor_new(k, layout) -> mon; layout from the guest's symbols and BTF */
static int l_monitor_new(lua_State *L)
{
	struct l_mon *m;

	luaL_checkudata(L, 1, LK_KMEM_MT);
	luaL_checktype(L, 2, LUA_TTABLE);
	m = lua_newuserdatauv(L, sizeof(*m), 2);
	memset(m, 0, sizeof(*m));
	luaL_setmetatable(L, MON_MT);
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1);
	lua_getfield(L, 2, "runqueues");
	m->l.runqueues = lk_check_addr(L, -1);
	lua_getfield(L, 2, "scx_root");
	m->l.scx_root = lua_isnil(L, -1) ? 0 : lk_check_addr(L, -1);
	lua_pop(L, 2);
	m->l.rq_nr_running = field_off(L, 2, "rq_nr_running");
	m->l.rq_clock = field_off(L, 2, "rq_clock");
	m->l.rq_scx_nr_running = field_off(L, 2, "rq_scx_nr_running");
	m->l.rq_scx_flags = field_off(L, 2, "rq_scx_flags");
	m->l.rq_scx_dsq_nr = field_off(L, 2, "rq_scx_dsq_nr");
	if (m->l.scx_root) {
		m->l.sch_pcpu = field_off(L, 2, "sch_pcpu");
		m->l.sch_exit_kind = field_off(L, 2, "sch_exit_kind");
		m->l.sch_exit_info = field_off(L, 2, "sch_exit_info");
		m->l.ei_kind = field_off(L, 2, "ei_kind");
		m->l.pcpu_events = field_off(L, 2, "pcpu_events");
	}
	m->l.rq_nr_switches = opt_off(L, 2, "rq_nr_switches");
	m->l.rq_run_delay = opt_off(L, 2, "rq_run_delay");
	m->l.rq_pcount = opt_off(L, 2, "rq_pcount");
	m->l.rq_ttwu_count = opt_off(L, 2, "rq_ttwu_count");
	m->l.rq_sched_goidle = opt_off(L, 2, "rq_sched_goidle");
	mon_read_events(L, &m->l);
	lua_setiuservalue(L, 3, 2);
	lua_pop(L, 1);
	return 1;
}

static void push_schedstat(lua_State *L, const struct mon_cpu *c)
{
	lua_createtable(L, 0, 5);
	lua_pushinteger(L, (lua_Integer)c->nr_switches);
	lua_setfield(L, -2, "csw");
	lua_pushinteger(L, (lua_Integer)c->run_delay);
	lua_setfield(L, -2, "run_delay_ns");
	lua_pushinteger(L, (lua_Integer)c->pcount);
	lua_setfield(L, -2, "pcount");
	lua_pushinteger(L, c->ttwu_count);
	lua_setfield(L, -2, "ttwu");
	lua_pushinteger(L, c->sched_goidle);
	lua_setfield(L, -2, "goidle");
	lua_setfield(L, -2, "schedstat");
}

static void push_mon_cpu(lua_State *L, const struct mon_cpu *c, int cpu, int nev, int events)
{
	int i;

	lua_createtable(L, 0, 8);
	lua_pushinteger(L, cpu);
	lua_setfield(L, -2, "cpu");
	lua_pushinteger(L, c->nr_running);
	lua_setfield(L, -2, "nr_running");
	lua_pushinteger(L, c->scx_nr_running);
	lua_setfield(L, -2, "scx_nr_running");
	lua_pushinteger(L, c->scx_flags);
	lua_setfield(L, -2, "scx_flags");
	lua_pushinteger(L, c->dsq_depth);
	lua_setfield(L, -2, "dsq_depth");
	lua_pushinteger(L, (lua_Integer)c->clock);
	lua_setfield(L, -2, "clock");
	if (c->fault) {
		lua_pushstring(L, strerror(-c->fault));
		lua_setfield(L, -2, "fault");
	}
	push_schedstat(L, c);
	if (!events)
		return;
	lua_createtable(L, 0, nev);
	for (i = 0; i < nev; i++) {
		lua_rawgeti(L, -5, i + 1);	/* names, under result, cpus, cpu, events */
		lua_pushinteger(L, c->ev[i]);
		lua_settable(L, -3);
	}
	lua_setfield(L, -2, "events");
}

/* mon:sample() -> {cpus={...}, sched=bool, exit_kind=} | nil, err, code */
static int l_mon_sample(lua_State *L)
{
	struct l_mon *m = luaL_checkudata(L, 1, MON_MT);
	struct kmem *k;
	int cpu, rc;

	lua_getiuservalue(L, 1, 1);
	k = lua_touserdata(L, -1);	/* struct l_kmem: its struct kmem first */
	rc = mon_sample(k, &m->l, &m->s);
	if (rc)
		return lk_fail(L, rc, "monitor sample", "guest runqueues");
	lua_getiuservalue(L, 1, 2);	/* event names */
	lua_createtable(L, 0, 3);
	lua_pushboolean(L, m->s.have_sched);
	lua_setfield(L, -2, "sched");
	lua_pushinteger(L, m->s.exit_kind);
	lua_setfield(L, -2, "exit_kind");
	lua_pushinteger(L, m->s.exit_info_kind);
	lua_setfield(L, -2, "exit_info_kind");
	lua_createtable(L, m->s.nr_cpus, 0);
	for (cpu = 0; cpu < m->s.nr_cpus; cpu++) {
		push_mon_cpu(L, &m->s.cpu[cpu], cpu, m->l.nr_events, m->s.have_sched);
		lua_rawseti(L, -2, cpu + 1);
	}
	lua_setfield(L, -2, "cpus");
	return 1;
}

static const luaL_Reg mon_methods[] = {
	{ "sample", l_mon_sample },
	{ NULL, NULL },
};

static int l_mon_close(lua_State *L)
{
	(void)L;	/* nothing owned but the uservalues */
	return 0;
}

static void l_monitor_setup(lua_State *L)
{
	lk_newclass(L, MON_MT, mon_methods, l_mon_close, NULL);
}

static const luaL_Reg monitor_funcs[] = {
	{ "monitor_new", l_monitor_new },
	{ NULL, NULL },
};

LK_MODULE(monitor, monitor_funcs, l_monitor_setup)
