/* ktstr.core bindings for child processes with piped output. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "src/base/proc.h"
#include "lk.h"

#define PROC_MT "ktstr.proc"

static struct proc *check_proc(lua_State *L)
{
	return luaL_checkudata(L, 1, PROC_MT);
}

/*
 * core.spawn(argv [, {merge_stderr=, new_pgrp=, cwd=, output=path, stderr=path, cgroup=dir,
 * nice=n}]) -> proc | nil, err, code
 */
static int l_spawn(lua_State *L)
{
	struct proc_opts o = { .pdeathsig = SIGKILL, .stdin_null = 1 };
	char **argv = lk_check_argv(L, 1, NULL);
	struct proc *p;
	int rc;

	if (!argv[0])
		return luaL_argerror(L, 1, "empty argv");
	if (lua_istable(L, 2)) {
		o.merge_stderr = lk_opt_bool_field(L, 2, "merge_stderr", 0);
		o.new_pgrp = lk_opt_bool_field(L, 2, "new_pgrp", 1);
		o.cwd = lk_opt_str_field(L, 2, "cwd", NULL);
		o.out_path = lk_opt_str_field(L, 2, "output", NULL);
		o.err_path = lk_opt_str_field(L, 2, "stderr", NULL);
		o.cgroup = lk_opt_str_field(L, 2, "cgroup", NULL);
		lua_getfield(L, 2, "nice");
		o.set_nice = !lua_isnil(L, -1);
		lua_pop(L, 1);
		o.nice = (int)lk_opt_int_field(L, 2, "nice", 0);
		if (o.err_path && !o.out_path)
			return luaL_error(L, "spawn: stderr= goes with output=");
		if (o.set_nice && (o.nice < -20 || o.nice > 19))
			return luaL_error(L, "spawn: nice must be -20..19, got %d", o.nice);
	} else {
		o.new_pgrp = 1;
	}
	p = lua_newuserdatauv(L, sizeof(*p), 0);
	p->pid = -1;
	p->reaped = 1;
	p->out_fd = p->err_fd = -1;
	luaL_setmetatable(L, PROC_MT);
	rc = proc_spawn(p, argv, &o);
	if (rc && p->failed && strcmp(p->failed, "exec")) {
		char obj[512];

		snprintf(obj, sizeof(obj), "%s (%s %s)", argv[0], p->failed,
			 !strcmp(p->failed, "joining the cgroup") ? o.cgroup : "");
		return lk_fail(L, rc, "spawn", obj);
	}
	return rc ? lk_fail(L, rc, "spawn", argv[0]) : 1;
}

/* proc:read([timeout_s]) -> "stdout"|"stderr", data | nil (both closed) | nil, err, code */
static int l_proc_read(lua_State *L)
{
	struct proc *p = check_proc(L);
	char buf[16384];
	int which, n = proc_read(p, lk_opt_ms(L, 2, -1), buf, sizeof(buf), &which);

	if (n == 0) {
		lua_pushnil(L);
		return 1;
	}
	if (n < 0)
		return lk_fail(L, n, "read", "child output");
	lua_pushstring(L, which == 1 ? "stdout" : "stderr");
	lua_pushlstring(L, buf, n);
	return 2;
}

/* proc:wait([timeout_s]) -> {code=|signal=} | nil, err, code */
static int l_proc_wait(lua_State *L)
{
	struct proc *p = check_proc(L);
	int rc = proc_wait(p, lk_opt_ms(L, 2, -1));

	if (rc)
		return lk_fail(L, rc, "wait", "child");
	lk_push_wait_status(L, p->status);
	return 1;
}

/* proc:kill([sig]) -> true | nil, err, code */
static int l_proc_kill(lua_State *L)
{
	struct proc *p = check_proc(L);

	return lk_result(L, proc_kill(p, (int)luaL_optinteger(L, 2, SIGTERM)),
			 "kill", "child");
}

/* proc:pid() -> integer */
static int l_proc_pid(lua_State *L)
{
	lua_pushinteger(L, check_proc(L)->pid);
	return 1;
}

/* proc:close(): SIGTERM, 1 s grace, SIGKILL; reaps; idempotent */
static int l_proc_close(lua_State *L)
{
	proc_stop(check_proc(L), 1000);
	return 0;
}

static const luaL_Reg proc_methods[] = {
	{ "read", l_proc_read },
	{ "wait", l_proc_wait },
	{ "kill", l_proc_kill },
	{ "pid", l_proc_pid },
	{ "close", l_proc_close },
	{ NULL, NULL },
};

static void l_proc_setup(lua_State *L)
{
	lk_newclass(L, PROC_MT, proc_methods, l_proc_close, NULL);
}

static const luaL_Reg proc_funcs[] = {
	{ "spawn", l_spawn },
	{ NULL, NULL },
};

LK_MODULE(proc, proc_funcs, l_proc_setup)
