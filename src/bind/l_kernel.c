/* ktstr.core bindings for the guest kernel by virtual address: reads, the monitor, a word CAS. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/guest/kallsyms.h"
#include "vmm/kernel.h"
#include "vmm/monitor.h"
#include "lk.h"

#define GM_MT "ktstr.guestmem"
#define MON_MT "ktstr.monitor"

struct l_kern {
	struct kern k;
};

/* core.kernel_open(gm, {page_offset=, phys_base=, pgd=, levels=, per_cpu_offset=, nr_cpus=}) */
static int l_kernel_open(lua_State *L)
{
	const struct guestmem *gm = luaL_checkudata(L, 1, GM_MT);
	struct kern_addrs a = { 0 };
	struct l_kern *lk;
	int rc;

	luaL_checktype(L, 2, LUA_TTABLE);
	lua_getfield(L, 2, "page_offset");
	a.page_offset = lk_check_addr(L, -1);
	lua_getfield(L, 2, "phys_base");
	a.phys_base = lua_isnil(L, -1) ? 0 : lk_check_addr(L, -1);
	lua_getfield(L, 2, "pgd");
	a.pgd = lua_isnil(L, -1) ? 0 : lk_check_addr(L, -1);
	lua_getfield(L, 2, "per_cpu_offset");
	a.per_cpu_offset = lua_isnil(L, -1) ? 0 : lk_check_addr(L, -1);
	lua_pop(L, 4);
	a.levels = (int)lk_opt_int_field(L, 2, "levels", 4);
	a.nr_cpus = (int)lk_opt_int_field(L, 2, "nr_cpus", 1);
	lk = lua_newuserdatauv(L, sizeof(*lk), 1);
	luaL_setmetatable(L, LK_KERN_MT);
	lua_pushvalue(L, 1);	/* the mapping must outlive us */
	lua_setiuservalue(L, -2, 1);
	rc = kern_init(&lk->k, gm, &a);
	return rc ? lk_fail(L, rc, "kernel_open", "guest kernel") : 1;
}

static struct kern *check_kern(lua_State *L)
{
	return &((struct l_kern *)luaL_checkudata(L, 1, LK_KERN_MT))->k;
}

static int push_fault(lua_State *L, int rc, unsigned long long va)
{
	char obj[24];

	snprintf(obj, sizeof(obj), "0x%llx", va);
	return lk_fail(L, rc, "kernel read", obj);
}

/* k:read(va, len) -> bytes | nil, err, code */
static int l_kern_read(lua_State *L)
{
	struct kern *k = check_kern(L);
	unsigned long long va = lk_check_addr(L, 2);
	lua_Integer len = luaL_checkinteger(L, 3);
	luaL_Buffer b;
	char *p;
	int rc;

	luaL_argcheck(L, len >= 0 && len <= (1 << 24), 3, "length out of 0..16 MiB");
	p = luaL_buffinitsize(L, &b, len);
	rc = kern_read(k, va, p, len);
	if (rc)
		return push_fault(L, rc, va);
	luaL_pushresultsize(&b, len);
	return 1;
}

/* The u64 fn finds for va, as an integer, or the fault. */
static int push_u64_at(lua_State *L, int (*fn)(const struct kern *, uint64_t, uint64_t *))
{
	unsigned long long va = lk_check_addr(L, 2);
	uint64_t v;
	int rc = fn(check_kern(L), va, &v);

	if (rc)
		return push_fault(L, rc, va);
	lua_pushinteger(L, (lua_Integer)v);
	return 1;
}

/* k:u64(va) -> integer | nil, err, code */
static int l_kern_u64(lua_State *L)
{
	return push_u64_at(L, kern_read_u64);
}

/* k:u32(va) -> integer | nil, err, code */
static int l_kern_u32(lua_State *L)
{
	unsigned long long va = lk_check_addr(L, 2);
	uint32_t v;
	int rc = kern_read_u32(check_kern(L), va, &v);

	if (rc)
		return push_fault(L, rc, va);
	lua_pushinteger(L, v);
	return 1;
}

/*
 * k:cas(va, size, expect, value) -> true | false, found | nil, err, code:
 * the aligned 4- or 8-byte word at va becomes value if it still holds
 * expect (an atomic swap on the shared page). A bad size, alignment or a
 * value too wide is the caller's bug; an address outside guest RAM or a
 * read-only guestmem is the environment's.
 */
static int l_kern_cas(lua_State *L)
{
	struct kern *k = check_kern(L);
	unsigned long long va = lk_check_addr(L, 2);
	lua_Integer size = luaL_checkinteger(L, 3);
	uint64_t expect = (uint64_t)luaL_checkinteger(L, 4);
	uint64_t val = (uint64_t)luaL_checkinteger(L, 5);
	uint64_t old = 0;
	char obj[24];
	int rc;

	luaL_argcheck(L, size == 4 || size == 8, 3, "size must be 4 or 8");
	luaL_argcheck(L, !(va & (size - 1)), 2, "address not aligned to the size");
	luaL_argcheck(L, size == 8 || expect <= UINT32_MAX, 4, "does not fit 32 bits");
	luaL_argcheck(L, size == 8 || val <= UINT32_MAX, 5, "does not fit 32 bits");
	rc = kern_cas(k, va, (size_t)size, expect, val, &old);
	if (rc == -EAGAIN) {
		lua_pushboolean(L, 0);
		lua_pushinteger(L, (lua_Integer)old);
		return 2;
	}
	if (rc) {
		snprintf(obj, sizeof(obj), "0x%llx", va);
		return lk_fail(L, rc, "kernel write", obj);
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* k:xlate(va) -> guest-physical integer | nil, err, code */
static int l_kern_xlate(lua_State *L)
{
	return push_u64_at(L, kern_xlate);
}

/* k:percpu(va, cpu) -> address string of cpu's copy | nil */
static int l_kern_percpu(lua_State *L)
{
	struct kern *k = check_kern(L);
	uint64_t va = kern_percpu(k, lk_check_addr(L, 2), (int)luaL_checkinteger(L, 3));

	if (!va)
		return 0;
	lk_push_addr(L, va);
	return 1;
}

/* k:nr_cpus() */
static int l_kern_nr_cpus(lua_State *L)
{
	lua_pushinteger(L, check_kern(L)->a.nr_cpus);
	return 1;
}

static int l_kern_close(lua_State *L)
{
	(void)L;	/* nothing owned but the uservalue */
	return 0;
}

static const luaL_Reg kern_methods[] = {
	{ "read", l_kern_read },
	{ "u64", l_kern_u64 },
	{ "u32", l_kern_u32 },
	{ "cas", l_kern_cas },
	{ "xlate", l_kern_xlate },
	{ "percpu", l_kern_percpu },
	{ "nr_cpus", l_kern_nr_cpus },
	{ NULL, NULL },
};


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

	luaL_checkudata(L, 1, LK_KERN_MT);
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
	struct l_kern *lk;
	int cpu, rc;

	lua_getiuservalue(L, 1, 1);
	lk = lua_touserdata(L, -1);
	rc = mon_sample(&lk->k, &m->l, &m->s);
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

/* core.schedstat(pid, tid) -> run_ns, delay_ns | nil, err, code */
static int l_schedstat(lua_State *L)
{
	uint64_t run, delay;
	int rc = mon_thread_schedstat((pid_t)luaL_checkinteger(L, 1),
				      (pid_t)luaL_checkinteger(L, 2), &run, &delay);

	if (rc)
		return lk_fail(L, rc, "schedstat", lua_tostring(L, 2));
	lua_pushinteger(L, (lua_Integer)run);
	lua_pushinteger(L, (lua_Integer)delay);
	return 2;
}

static const luaL_Reg mon_methods[] = {
	{ "sample", l_mon_sample },
	{ NULL, NULL },
};

static void l_kernel_setup(lua_State *L)
{
	lk_newclass(L, LK_KERN_MT, kern_methods, l_kern_close, NULL);
	lk_newclass(L, MON_MT, mon_methods, l_kern_close, NULL);
}

/* core.kallsyms({names...} [, path]) -> {name = "0x..."} for those found | nil, err, code */
static int l_kallsyms(lua_State *L)
{
	const char *path = luaL_optstring(L, 2, "/proc/kallsyms");
	int n, i, rc;
	char **names = lk_check_argv(L, 1, &n);
	uint64_t *addr = lua_newuserdatauv(L, sizeof(*addr) * (n ? n : 1), 0);

	rc = kallsyms_lookup(path, (const char *const *)names, n, addr);
	if (rc < 0)
		return lk_fail(L, rc, "kallsyms", path);
	lua_createtable(L, 0, rc);
	for (i = 0; i < n; i++) {
		if (!addr[i])
			continue;
		lk_push_addr(L, addr[i]);
		lua_setfield(L, -2, names[i]);
	}
	return 1;
}

static const luaL_Reg kernel_funcs[] = {
	{ "kernel_open", l_kernel_open },
	{ "kallsyms", l_kallsyms },
	{ "monitor_new", l_monitor_new },
	{ "schedstat", l_schedstat },
	{ NULL, NULL },
};

LK_MODULE(kernel, kernel_funcs, l_kernel_setup)
