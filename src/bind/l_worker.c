/* ktstr.core bindings for worker sets, custom Lua work and the telemetry bench. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "src/guest/policy.h"
#include "src/guest/worker.h"
#include "l_work.h"
#include "lk.h"

#define WORKERS_MT	"ktstr.workers"
#define WORKER_MT	"ktstr.worker"	/* `w` inside custom Lua work */
#define WORKERS_MAX	4096
#define STOP_S		2.0

int luaopen_ktstr_core(lua_State *L);

struct l_workers {
	struct worker_set *ws;	/* NULL once closed */
};

static const char *const l_state_names[] = {
	[TELEM_NEW] = "new",
	[TELEM_PLACED] = "placed",
	[TELEM_RUNNING] = "running",
	[TELEM_DONE] = "done",
};

/* ---- custom Lua work: runs in the forked worker, in a fresh lua_State ---- */

struct l_custom {
	const char *chunk;	/* string.dump(fn) or source; the spawn table anchors it */
	size_t len;
	const char *path, *cpath;	/* the parent's package.path and cpath */
};

static struct work_ctx *check_w(lua_State *L)
{
	return *(struct work_ctx **)luaL_checkudata(L, 1, WORKER_MT);
}

/* w:stop() -> true once the run is over */
static int l_w_stop(lua_State *L)
{
	lua_pushboolean(L, *check_w(L)->stop != 0);
	return 1;
}

/* w:units([n = 1]): a telemetry checkpoint crediting n work units */
static int l_w_units(lua_State *L)
{
	struct work_ctx *c = check_w(L);
	lua_Integer n = luaL_optinteger(L, 2, 1);

	luaL_argcheck(L, n >= 0, 2, "units must be >= 0");
	telem_checkpoint(c->t, (uint64_t)n);
	return 0;
}

/* w:wake(ns): records one wake latency */
static int l_w_wake(lua_State *L)
{
	struct work_ctx *c = check_w(L);
	lua_Integer ns = luaL_checkinteger(L, 2);

	luaL_argcheck(L, ns >= 0, 2, "latency must be >= 0");
	telem_wake(c->t, (uint64_t)ns);
	return 0;
}

/* w:index() -> 0-based index of this worker in its set */
static int l_w_index(lua_State *L)
{
	lua_pushinteger(L, check_w(L)->index);
	return 1;
}

/* w:count() -> workers in the set */
static int l_w_count(lua_State *L)
{
	lua_pushinteger(L, check_w(L)->nworkers);
	return 1;
}

static const luaL_Reg l_w_methods[] = {
	{ "stop", l_w_stop },
	{ "units", l_w_units },
	{ "wake", l_w_wake },
	{ "index", l_w_index },
	{ "count", l_w_count },
	{ NULL, NULL },
};

static int l_custom_traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	luaL_traceback(L, L, msg ? msg : luaL_typename(L, 1), 1);
	return 1;
}

/* The first line of a message with a traceback: what fits the report. */
static void l_custom_error(struct work_ctx *c, const char *msg)
{
	size_t n = strcspn(msg, "\n");

	if (n >= sizeof(c->t->error_msg))
		n = sizeof(c->t->error_msg) - 1;
	memcpy(c->t->error_msg, msg, n);
	c->t->error_msg[n] = '\0';
}

static int l_custom_run(struct work_ctx *c, void *arg)
{
	const struct l_custom *cu = arg;
	lua_State *L = luaL_newstate();
	struct work_ctx **w;
	int rc = 0;

	if (!L) {
		l_custom_error(c, "lua work: out of memory");
		return -ENOMEM;
	}
	luaL_openlibs(L);
	luaL_requiref(L, "ktstr.core", luaopen_ktstr_core, 0);
	lua_pop(L, 1);
	lua_getglobal(L, "package");
	lua_pushstring(L, cu->path);
	lua_setfield(L, -2, "path");
	lua_pushstring(L, cu->cpath);
	lua_setfield(L, -2, "cpath");
	lua_pop(L, 1);
	lk_newclass(L, WORKER_MT, l_w_methods, NULL, NULL);
	lua_pushcfunction(L, l_custom_traceback);
	if (luaL_loadbufferx(L, cu->chunk, cu->len, "=lua work", "bt") != LUA_OK) {
		rc = -EINVAL;
		goto fail;
	}
	w = lua_newuserdatauv(L, sizeof(*w), 0);
	*w = c;
	luaL_setmetatable(L, WORKER_MT);
	if (lua_pcall(L, 1, 0, -3) != LUA_OK) {
		rc = -EINVAL;
		goto fail;
	}
	lua_close(L);
	return 0;
fail:
	l_custom_error(c, lua_tostring(L, -1) ? lua_tostring(L, -1) : "lua work failed");
	lua_close(L);
	return rc;
}

/* ---- the worker set object ---- */

static struct l_workers *check_workers(lua_State *L)
{
	return luaL_checkudata(L, 1, WORKERS_MT);
}

static struct worker_set *check_open(lua_State *L)
{
	struct l_workers *lw = check_workers(L);

	if (!lw->ws)
		luaL_error(L, "workers: already closed");
	return lw->ws;
}

/* A string field parsed by parse (-1: unknown, listed in valid); def when absent. */
static int l_opt_named(lua_State *L, int idx, const char *k, int (*parse)(const char *),
		       const char *valid, int def)
{
	const char *v = lk_opt_str_field(L, idx, k, NULL);
	int r;

	if (!v)
		return def;
	r = parse(v);
	if (r < 0)
		return luaL_error(L, "workers_spawn: %s must be one of %s; got '%s'", k, valid, v);
	return r;
}

/* A duration field in ns, >= 0. */
static uint64_t l_opt_ns(lua_State *L, int idx, const char *k)
{
	lua_Integer v = lk_opt_int_field(L, idx, k, 0);

	if (v < 0)
		luaL_error(L, "workers_spawn: %s must be >= 0 ns, got %d", k, (int)v);
	return (uint64_t)v;
}

/* mempolicy = "bind", mem_nodes = "0-1", mpol_flags = {"static_nodes", ...} */
static void l_opt_mempolicy(lua_State *L, int idx, struct worker_opts *o)
{
	lua_Integer i;
	unsigned bit;

	o->mpol_mode = l_opt_named(L, idx, "mempolicy", policy_mem_parse,
				   "default, preferred, bind, interleave, local, "
				   "preferred_many, weighted_interleave", -1);
	o->set_mempolicy = o->mpol_mode >= 0;
	if (!o->set_mempolicy)
		o->mpol_mode = 0;
	o->mpol_nodes = lk_opt_str_field(L, idx, "mem_nodes", NULL);
	if (lua_getfield(L, idx, "mpol_flags") == LUA_TTABLE) {
		for (i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
			const char *f = lua_tostring(L, -1);

			bit = f ? policy_mem_flag_parse(f) : 0;
			if (!bit)
				luaL_error(L, "workers_spawn: mpol_flags: unknown flag '%s' (valid: "
					   "static_nodes, relative_nodes, numa_balancing)",
					   f ? f : luaL_typename(L, -1));
			o->mpol_flags |= bit;
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	} else if (!lua_isnil(L, -1)) {
		luaL_error(L, "workers_spawn: mpol_flags must be a list of names");
	}
	lua_pop(L, 1);
	if ((o->mpol_nodes || o->mpol_flags) && !o->set_mempolicy)
		luaL_error(L, "workers_spawn: mem_nodes and mpol_flags go with mempolicy =");
}

/*
 * cgroup = "/sys/fs/cgroup/ktstr/a" or a cgroup object with :path(); NULL:
 * none. Leaves the path on the stack, which anchors it.
 */
static const char *l_opt_cgroup(lua_State *L, int idx)
{
	int t = lua_getfield(L, idx, "cgroup");

	if (t == LUA_TNIL)
		return NULL;
	if (t == LUA_TSTRING)
		return lua_tostring(L, -1);
	if ((t != LUA_TTABLE && t != LUA_TUSERDATA) ||
	    lua_getfield(L, -1, "path") != LUA_TFUNCTION)
		luaL_error(L, "workers_spawn: cgroup must be a directory path or "
			   "a cgroup object, got %s", lua_typename(L, t));
	lua_insert(L, -2);
	lua_call(L, 1, 1);
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "workers_spawn: cgroup:path() did not return a string");
	return lua_tostring(L, -1);
}

/* work = table from core.work_resolve, or a name with params = and phases = */
static void l_check_work(lua_State *L, int idx, struct work_spec *s)
{
	char err[512];
	int t = lua_getfield(L, idx, "work");

	if (t == LUA_TSTRING) {
		lua_createtable(L, 0, 3);
		lua_insert(L, -2);
		lua_setfield(L, -2, "name");
		lua_getfield(L, idx, "params");
		lua_setfield(L, -2, "args");
		lua_getfield(L, idx, "phases");
		lua_setfield(L, -2, "phases");
	} else if (t != LUA_TTABLE) {
		luaL_error(L, "workers_spawn: work must be a work type name or "
			   "a table from core.work_resolve, got %s",
			   luaL_typename(L, -1));
	}
	if (l_work_tospec(L, -1, s, err, sizeof(err)))
		luaL_error(L, "workers_spawn: %s", err);
	lua_pop(L, 1);
}

/* lua = string.dump(fn) or source: checked here so a syntax error raises */
static void l_check_lua(lua_State *L, int idx, struct l_custom *cu)
{
	if (lua_getfield(L, idx, "lua") != LUA_TSTRING)
		luaL_error(L, "workers_spawn: lua must be a string "
			   "(string.dump(fn) or source)");
	cu->chunk = lua_tolstring(L, -1, &cu->len);
	if (luaL_loadbufferx(L, cu->chunk, cu->len, "=lua work", "bt") != LUA_OK)
		luaL_error(L, "workers_spawn: lua work: %s", lua_tostring(L, -1));
	lua_pop(L, 2);
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "path");
	cu->path = lua_tostring(L, -1);
	lua_getfield(L, -2, "cpath");
	cu->cpath = lua_tostring(L, -1);
	/* package.path/cpath stay referenced by package while we fork */
	lua_pop(L, 3);
}

/*
 * core.workers_spawn{ n =, work = <core.work_resolve table> | name [, params =,
 *   phases =] | lua = string.dump(fn) | source, cgroup = path | cg, comm =,
 *   nice =, policy = "normal"|"batch"|"idle"|"fifo"|"rr"|"deadline", priority =,
 *   runtime =, deadline =, period = (ns, deadline's), mempolicy = "bind"|...,
 *   mem_nodes = "0-1", mpol_flags = {"static_nodes", ...}, threads = false,
 *   cpus = "0-1", cpus_each = {"0", "1"}, start = true } -> ws | nil, err, code
 * threads = true: the workers are threads of one process; pids are thread ids.
 */
static int l_workers_spawn(lua_State *L)
{
	struct worker_opts o = { 0 };
	struct l_custom cu = { 0 };
	struct work_spec spec;
	struct l_workers *lw;
	char err[512];
	lua_Integer n;
	int has_work, has_lua, rc;

	luaL_checktype(L, 1, LUA_TTABLE);
	if (lua_getfield(L, 1, "n") == LUA_TNIL)
		return luaL_error(L, "workers_spawn: n (the worker count) is required");
	lua_pop(L, 1);
	n = lk_opt_int_field(L, 1, "n", 0);
	if (n < 1)
		return luaL_error(L, "workers_spawn: n must be at least 1, got %d",
				  (int)n);
	if (n > WORKERS_MAX)
		return luaL_error(L, "workers_spawn: n must be at most %d, got %d",
				  WORKERS_MAX, (int)n);
	has_work = lua_getfield(L, 1, "work") != LUA_TNIL;
	has_lua = lua_getfield(L, 1, "lua") != LUA_TNIL;
	lua_pop(L, 2);
	if (has_work == has_lua)
		return luaL_error(L, "workers_spawn: give exactly one of work = and lua =");
	if (has_work) {
		l_check_work(L, 1, &spec);
	} else {
		l_check_lua(L, 1, &cu);
		o.run = l_custom_run;
		o.arg = &cu;
		o.name = "lua";
	}
	o.cgroup = l_opt_cgroup(L, 1);
	o.comm = lk_opt_str_field(L, 1, "comm", NULL);
	lua_getfield(L, 1, "nice");
	o.set_nice = !lua_isnil(L, -1);
	lua_pop(L, 1);
	o.nice = (int)lk_opt_int_field(L, 1, "nice", 0);
	o.policy = l_opt_named(L, 1, "policy", policy_sched_parse,
			       "normal, batch, idle, fifo, rr, deadline", SCHED_OTHER);
	o.priority = (int)lk_opt_int_field(L, 1, "priority", 0);
	o.runtime_ns = l_opt_ns(L, 1, "runtime");
	o.deadline_ns = l_opt_ns(L, 1, "deadline");
	o.period_ns = l_opt_ns(L, 1, "period");
	if (o.policy != SCHED_DEADLINE && (o.runtime_ns || o.deadline_ns || o.period_ns))
		return luaL_error(L, "workers_spawn: runtime, deadline and period go with "
				  "policy = \"deadline\"");
	l_opt_mempolicy(L, 1, &o);
	o.threads = lk_opt_bool_field(L, 1, "threads", 0);
	o.cpus = lk_opt_str_field(L, 1, "cpus", NULL);
	lua_getfield(L, 1, "cpus_each");	/* one cpulist per worker */
	if (!lua_isnil(L, -1)) {
		int m;

		o.cpus_each = (const char *const *)lk_check_argv(L, lua_gettop(L), &m);
		if (m != n)
			return luaL_error(L, "workers_spawn: cpus_each has %d cpulists for %d workers",
					  m, (int)n);
	}
	if (worker_check(has_work ? &spec : NULL, (unsigned)n, &o, err, sizeof(err)))
		return luaL_error(L, "workers_spawn: %s", err);

	lw = lua_newuserdatauv(L, sizeof(*lw), 0);
	lw->ws = NULL;
	luaL_setmetatable(L, WORKERS_MT);
	rc = worker_spawn(&lw->ws, has_work ? &spec : NULL, (unsigned)n, &o,
			  err, sizeof(err));
	if (rc) {
		const char *name = strerrorname_np(-rc);

		lua_pushfstring(L, "workers_spawn: %s", err);
		return lk_fail_msg(L, lua_tostring(L, -1), name ? name : "EIO");
	}
	if (lk_opt_bool_field(L, 1, "start", 1))
		worker_start(lw->ws);
	return 1;
}

/* ws:start() -> true: releases the start barrier (spawn does it unless start = false) */
static int l_workers_start(lua_State *L)
{
	struct worker_set *ws = check_open(L);

	if (worker_stopped(ws))
		return luaL_error(L, "workers: start after stop");
	return lk_result(L, worker_start(ws), "start", worker_work_name(ws));
}

/* ws:stop([timeout_s = 2]) -> true | nil, err, "EBUSY" */
static int l_workers_stop(lua_State *L)
{
	struct worker_set *ws = check_open(L);
	lua_Number s = luaL_optnumber(L, 2, STOP_S);

	luaL_argcheck(L, s >= 0 && s <= 3600, 2, "timeout must be 0..3600 s");
	return lk_result(L, worker_stop(ws, (int)(s * 1000)), "stop",
			 worker_work_name(ws));
}

/* ws:pids() -> { pid, ... } in worker order */
static int l_workers_pids(lua_State *L)
{
	struct worker_set *ws = check_open(L);
	unsigned i, n = worker_count(ws);

	lua_createtable(L, (int)n, 0);
	for (i = 0; i < n; i++) {
		lua_pushinteger(L, worker_pid(ws, i));
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

/* ws:process() -> the pid of a threads set's process (of worker 0's otherwise) */
static int l_workers_process(lua_State *L)
{
	lua_pushinteger(L, worker_process(check_open(L)));
	return 1;
}

/* ws:set_affinity(i, cpulist) -> true | nil, err, code (i 0-based) */
static int l_workers_set_affinity(lua_State *L)
{
	struct worker_set *ws = check_open(L);
	lua_Integer i = luaL_checkinteger(L, 2);
	const char *cpus = luaL_checkstring(L, 3);

	luaL_argcheck(L, i >= 0 && i < (lua_Integer)worker_count(ws), 2, "no such worker");
	return lk_result(L, worker_set_affinity(ws, (unsigned)i, cpus), "sched_setaffinity", cpus);
}

static void l_set_int(lua_State *L, const char *k, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

static void l_push_exit(lua_State *L, const struct worker_exit *e)
{
	if (!e->reaped) {
		lua_pushnil(L);
		return;
	}
	lua_createtable(L, 0, 4);
	if (!e->signaled) {
		l_set_int(L, "code", e->code);
	} else {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, "killed");
		if (e->sig)
			l_set_int(L, "signal", e->sig);
		if (e->core) {
			lua_pushboolean(L, 1);
			lua_setfield(L, -2, "core");
		}
	}
	if (e->lost) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, "lost");
	}
	if (e->by_stop) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, "by_stop");
	}
}

static void l_push_wake(lua_State *L, const struct telem_wake_stats *w)
{
	if (!w->count) {
		lua_pushnil(L);
		return;
	}
	lua_createtable(L, 0, 7);
	l_set_int(L, "count", (lua_Integer)w->count);
	l_set_int(L, "mean_ns", (lua_Integer)w->mean_ns);
	l_set_int(L, "p50_ns", (lua_Integer)w->p50_ns);
	l_set_int(L, "p90_ns", (lua_Integer)w->p90_ns);
	l_set_int(L, "p99_ns", (lua_Integer)w->p99_ns);
	l_set_int(L, "max_ns", (lua_Integer)w->max_ns);
	l_set_int(L, "samples", (lua_Integer)w->samples);
}

/* The work type's own figures by name (schbench's percentiles), or nil. */
static void l_push_metrics(lua_State *L, const struct worker_report *r)
{
	unsigned k;

	if (!r->nmetrics) {
		lua_pushnil(L);
		return;
	}
	lua_createtable(L, 0, (int)r->nmetrics);
	for (k = 0; k < r->nmetrics; k++) {
		double v = r->metrics[k].value;

		/* a name still being written reads empty; no NaN or inf crosses */
		if (!r->metrics[k].name[0] || v - v != 0)
			continue;
		lua_pushnumber(L, v);
		lua_setfield(L, -2, r->metrics[k].name);
	}
}

static void l_push_report(lua_State *L, struct worker_set *ws, unsigned i)
{
	static struct worker_report r;	/* 2 KB: keep it off the Lua C stack */
	int cpu, k = 0;

	worker_report(ws, i, &r);
	lua_createtable(L, 0, 24);
	l_set_int(L, "index", r.index);
	l_set_int(L, "group", r.group);
	l_set_int(L, "member", r.member);
	l_set_int(L, "pid", r.pid);
	lua_pushstring(L, worker_work_name(ws));
	lua_setfield(L, -2, "work");
	lua_pushstring(L, l_state_names[r.state <= TELEM_DONE ? r.state : TELEM_NEW]);
	lua_setfield(L, -2, "state");
	l_set_int(L, "work_units", (lua_Integer)r.work_units);
	l_set_int(L, "iterations", (lua_Integer)r.iterations);
	l_set_int(L, "wall_ns", (lua_Integer)r.wall_ns);
	l_set_int(L, "cpu_ns", (lua_Integer)r.cpu_ns);
	if (r.schedstat) {	/* absent, not 0, when the kernel gave none */
		l_set_int(L, "run_delay_ns", (lua_Integer)r.run_delay_ns);
		l_set_int(L, "slices", (lua_Integer)r.slices);
	}
	l_set_int(L, "vcsw", (lua_Integer)r.vcsw);
	l_set_int(L, "ivcsw", (lua_Integer)r.ivcsw);
	l_set_int(L, "max_gap_ns", (lua_Integer)r.max_gap_ns);
	l_set_int(L, "max_gap_cpu", r.max_gap_cpu);
	l_set_int(L, "max_gap_at_ns", (lua_Integer)r.max_gap_at_ns);
	lua_pushnumber(L, r.start_ns / 1e9);
	lua_setfield(L, -2, "start_s");
	l_set_int(L, "migrations", (lua_Integer)r.migrations);
	lua_newtable(L);
	for (cpu = 0; cpu < TELEM_CPUS_MAX; cpu++) {
		if (r.cpus_seen[cpu / 64] & (1ull << (cpu % 64))) {
			lua_pushinteger(L, cpu);
			lua_rawseti(L, -2, ++k);
		}
	}
	lua_setfield(L, -2, "cpus");
	l_push_wake(L, &r.wake);
	lua_setfield(L, -2, "wake");
	l_push_metrics(L, &r);
	lua_setfield(L, -2, "metrics");
	l_push_exit(L, &r.exit);
	lua_setfield(L, -2, "exit");
	if (r.error_msg[0]) {
		lua_pushstring(L, r.error_msg);
		lua_setfield(L, -2, "error");
	}
}

/*
 * ws:reports() -> { {index=, pid=, work=, state=, work_units=, iterations=,
 *   wall_ns=, cpu_ns=, run_delay_ns= | nil, slices= | nil (nil without
 *   schedstat), max_gap_ns=, max_gap_cpu=, max_gap_at_ns=, cpus={...},
 *   migrations=, wake={count=, mean_ns=, p50_ns=,
 *   p90_ns=, p99_ns=, max_ns=} | nil, metrics={name=number, ...} | nil,
 *   exit={code=} | {killed=, signal=} | nil,
 *   error=msg | nil}, ... }   (a snapshot while running; exact after stop)
 */
static int l_workers_reports(lua_State *L)
{
	struct worker_set *ws = check_open(L);
	unsigned i, n = worker_count(ws);

	lua_createtable(L, (int)n, 0);
	for (i = 0; i < n; i++) {
		l_push_report(L, ws, i);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

/* ws:close(): stop (2 s) and reap; idempotent; also __gc and __close */
static int l_workers_close(lua_State *L)
{
	struct l_workers *lw = check_workers(L);

	worker_free(lw->ws);
	lw->ws = NULL;
	return 0;
}

static int l_workers_tostring(lua_State *L)
{
	struct l_workers *lw = check_workers(L);
	struct worker_set *ws = lw->ws;

	if (!ws)
		lua_pushstring(L, "ktstr.workers (closed)");
	else
		lua_pushfstring(L, "ktstr.workers: %d x %s (%s)",
				(int)worker_count(ws), worker_work_name(ws),
				worker_stopped(ws) ? "stopped" :
				worker_started(ws) ? "running" : "placed");
	return 1;
}

/*
 * core.telem_bench(spins [, every = 1024 [, telemetry = true]]) -> ns, in_ns
 * A spin_wait-shaped loop with or without a checkpoint every `every` spins;
 * in_ns is the time spent inside the checkpoints (0 without telemetry).
 */
static int l_telem_bench(lua_State *L)
{
	lua_Integer spins = luaL_checkinteger(L, 1);
	lua_Integer every = luaL_optinteger(L, 2, 1024);
	int on = lua_isnone(L, 3) ? 1 : lua_toboolean(L, 3);
	struct telem *t = NULL;
	uint64_t ns, in_ns = 0;

	luaL_argcheck(L, spins > 0, 1, "spins must be > 0");
	luaL_argcheck(L, every > 0, 2, "every must be > 0");
	if (on) {
		t = aligned_alloc(64, sizeof(*t));
		if (!t)
			return lk_fail(L, -ENOMEM, "telem_bench", NULL);
		memset(t, 0, sizeof(*t));
		telem_begin(t);
	}
	ns = telem_bench_spin(t, (uint64_t)spins, (uint64_t)every,
			      t ? &in_ns : NULL);
	free(t);
	lua_pushinteger(L, (lua_Integer)ns);
	lua_pushinteger(L, (lua_Integer)in_ns);
	return 2;
}

static const luaL_Reg l_workers_methods[] = {
	{ "start", l_workers_start },
	{ "stop", l_workers_stop },
	{ "pids", l_workers_pids },
	{ "process", l_workers_process },
	{ "set_affinity", l_workers_set_affinity },
	{ "reports", l_workers_reports },
	{ "close", l_workers_close },
	{ NULL, NULL },
};

static void l_worker_setup(lua_State *L)
{
	lk_newclass(L, WORKERS_MT, l_workers_methods, l_workers_close,
		    l_workers_tostring);
}

static const luaL_Reg l_worker_funcs[] = {
	{ "workers_spawn", l_workers_spawn },
	{ "telem_bench", l_telem_bench },
	{ NULL, NULL },
};

LK_MODULE(worker, l_worker_funcs, l_worker_setup)
