/* ktstr.core bindings for small system facts: clocks, dirs, pids. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "src/base/clock.h"
#include "src/base/fs.h"
#include "lk.h"

/* Built outside the Makefile (a rockspec, say), nothing says which tree. */
#ifndef KTSTR_VERSION
#define KTSTR_VERSION "0.1.0"
#endif
#ifndef KTSTR_GIT
#define KTSTR_GIT "unknown"
#endif

/* core.version() -> release, the git revision it was built from */
static int l_version(lua_State *L)
{
	lua_pushliteral(L, KTSTR_VERSION);
	lua_pushliteral(L, KTSTR_GIT);
	return 2;
}

/* core.now() -> seconds on CLOCK_MONOTONIC */
static int l_now(lua_State *L)
{
	lua_pushnumber(L, (lua_Number)clock_now_ns() / 1e9);
	return 1;
}

/* core.cputime() -> seconds of CPU this process has used (what a host-side loop costs) */
static int l_cputime(lua_State *L)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	lua_pushnumber(L, ts.tv_sec + ts.tv_nsec / 1e9);
	return 1;
}

/* core.sleep(seconds): the whole time, through signals */
static int l_sleep(lua_State *L)
{
	clock_sleep(luaL_checknumber(L, 1), 0);
	return 0;
}

/* core.sleep_interruptible(s) -> true | nil, err, "EINTR" when a signal came first */
static int l_sleep_interruptible(lua_State *L)
{
	return lk_result(L, clock_sleep(luaL_checknumber(L, 1), 1), "sleep", NULL);
}

/* core.mkdtemp(prefix) -> path | nil, err, code  (prefix "/tmp/ktstr-") */
static int l_mkdtemp(lua_State *L)
{
	const char *prefix = luaL_checkstring(L, 1);
	char *t = (char *)lua_pushfstring(L, "%sXXXXXX", prefix);

	if (!mkdtemp(t))
		return lk_fail(L, -errno, "mkdtemp", prefix);
	lua_pushstring(L, t);
	return 1;
}

/* core.mkdir_p(path [, mode]) -> true | nil, err, code */
static int l_mkdir_p(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);

	return lk_result(L, fs_mkdir_p(path, (unsigned)luaL_optinteger(L, 2, 0755)),
			 "mkdir", path);
}

/* core.rm_rf(path) -> true | nil, err, code */
static int l_rm_rf(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);

	if (!*path || strcmp(path, "/") == 0)
		return luaL_argerror(L, 1, "refusing to remove '/' or ''");
	return lk_result(L, fs_rm_rf(path), "rm_rf", path);
}

/* core.copy_sparse(src, dst [, mode]) -> data bytes copied | nil, err, code: holes stay holes */
static int l_copy_sparse(lua_State *L)
{
	const char *src = luaL_checkstring(L, 1);
	const char *dst = luaL_checkstring(L, 2);
	unsigned long long copied;
	int rc = fs_copy_sparse(src, dst, (unsigned)luaL_optinteger(L, 3, 0644), &copied);

	if (rc)
		return lk_fail(L, rc, "copy", src);
	lua_pushinteger(L, (lua_Integer)copied);
	return 1;
}

/* core.wall_clock() -> seconds since the epoch (CLOCK_REALTIME), with the fraction */
static int l_wall_clock(lua_State *L)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	lua_pushnumber(L, (lua_Number)ts.tv_sec + ts.tv_nsec / 1e9);
	return 1;
}

/*
 * core.set_wall_clock(seconds) -> true | nil, err, code: CLOCK_REALTIME,
 * for a guest restored from a saved one, whose clock stopped at the save.
 */
static int l_set_wall_clock(lua_State *L)
{
	double s = luaL_checknumber(L, 1);
	struct timespec ts;

	if (!(s >= 0 && s < 1e11))
		return luaL_argerror(L, 1, "seconds since the epoch");
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	return lk_result(L, clock_settime(CLOCK_REALTIME, &ts) < 0 ? -errno : 0,
			 "clock_settime", "CLOCK_REALTIME");
}

/* core.chmod(path, mode) -> true | nil, err, code */
static int l_chmod(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);

	return lk_result(L, chmod(path, (mode_t)luaL_checkinteger(L, 2)) < 0 ? -errno : 0,
			 "chmod", path);
}

/* core.getpid() -> integer */
static int l_getpid(lua_State *L)
{
	lua_pushinteger(L, getpid());
	return 1;
}

/* core.uname() -> {sysname=, release=, machine=} */
static int l_uname(lua_State *L)
{
	struct utsname u;

	uname(&u);
	lua_createtable(L, 0, 3);
	lua_pushstring(L, u.sysname);
	lua_setfield(L, -2, "sysname");
	lua_pushstring(L, u.release);
	lua_setfield(L, -2, "release");
	lua_pushstring(L, u.machine);
	lua_setfield(L, -2, "machine");
	return 1;
}

/*
 * core.exe() -> absolute path of the ktstr binary: where it lives now, even
 * when a rebuild replaced the one running ("... (deleted)"). Loaded as a
 * module (KTSTR_LUA_MODULE: the rock's core.so) into another Lua, there is
 * no ktstr binary to name: nil, msg, "ENOEXEC" instead of the interpreter,
 * which a guest image or a child ktstr would get wrong.
 */
static int l_exe(lua_State *L)
{
	static const char deleted[] = " (deleted)";
	const size_t dl = sizeof(deleted) - 1;
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n < 0)
		return lk_fail(L, -errno, "readlink", "/proc/self/exe");
	if ((size_t)n > dl && memcmp(buf + n - dl, deleted, dl) == 0)
		n -= dl;
#ifdef KTSTR_LUA_MODULE
	buf[n] = '\0';
	lua_pushnil(L);
	lua_pushfstring(L, "exe: ktstr.core is a module of %s here, not the ktstr binary "
			"(booting guests takes the ktstr binary: make install)", buf);
	lua_pushliteral(L, "ENOEXEC");
	return 3;
#else
	lua_pushlstring(L, buf, n);
	return 1;
#endif
}

static const luaL_Reg sys_funcs[] = {
	{ "version", l_version },
	{ "now", l_now },
	{ "cputime", l_cputime },
	{ "sleep", l_sleep },
	{ "sleep_interruptible", l_sleep_interruptible },
	{ "mkdtemp", l_mkdtemp },
	{ "mkdir_p", l_mkdir_p },
	{ "rm_rf", l_rm_rf },
	{ "copy_sparse", l_copy_sparse },
	{ "chmod", l_chmod },
	{ "wall_clock", l_wall_clock },
	{ "set_wall_clock", l_set_wall_clock },
	{ "getpid", l_getpid },
	{ "uname", l_uname },
	{ "exe", l_exe },
	{ NULL, NULL },
};

LK_MODULE(sys, sys_funcs, NULL)
