/* ktstr.core bindings for the REPL: line editing, unix sockets, poll, SIGINT that stops Lua. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "src/base/proc.h"
#include "src/base/repl.h"
#include "lk.h"

#define LISTENER_MT "ktstr.listener"
#define PORT_MT "ktstr.port"	/* l_chan.c's: a connected socket is a port */
#define PROC_MT "ktstr.proc"	/* l_proc.c's */

struct l_listener {
	int fd;
	char path[108];
};

/* Pushes a port object (l_chan.c's methods: recv/send/close) around fd. */
static void l_push_port(lua_State *L, int fd, const char *name)
{
	struct chan_port *p = lua_newuserdatauv(L, sizeof(*p), 0);

	memset(p, 0, sizeof(*p));
	p->fd = fd;
	snprintf(p->name, sizeof(p->name), "%s", name);
	luaL_setmetatable(L, PORT_MT);
}

/* core.unix_listen(path) -> listener | nil, err, code */
static int l_unix_listen(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct l_listener *l = lua_newuserdatauv(L, sizeof(*l), 0);
	int rc;

	l->fd = -1;
	snprintf(l->path, sizeof(l->path), "%s", path);
	luaL_setmetatable(L, LISTENER_MT);
	rc = repl_listen(path, &l->fd);
	return rc ? lk_fail(L, rc, "listen", path) : 1;
}

/* listener:accept([timeout_s]) -> port | nil, err, code ("ETIMEDOUT" when none came) */
static int l_listener_accept(lua_State *L)
{
	struct l_listener *l = luaL_checkudata(L, 1, LISTENER_MT);
	int fd, rc;

	if (l->fd < 0)
		return luaL_error(L, "listener is closed");
	rc = repl_accept(l->fd, lk_opt_ms(L, 2, -1), &fd);
	if (rc)
		return lk_fail(L, rc, "accept", l->path);
	l_push_port(L, fd, l->path);
	return 1;
}

/* listener:close(): stops listening and removes the socket file; idempotent */
static int l_listener_close(lua_State *L)
{
	struct l_listener *l = luaL_checkudata(L, 1, LISTENER_MT);

	if (l->fd >= 0) {
		close(l->fd);
		unlink(l->path);
	}
	l->fd = -1;
	return 0;
}

/* core.unix_connect(path) -> port | nil, err, code */
static int l_unix_connect(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	int fd, rc = repl_connect(path, &fd);

	if (rc)
		return lk_fail(L, rc, "connect", path);
	l_push_port(L, fd, path);
	return 1;
}

/*
 * core.poll({obj, ...} [, timeout_s]) -> {i, ...} | nil, err, code
 * The indexes of the ports, listeners and processes (output) that have
 * something to read; {} on timeout. A port holding a whole frame already is
 * ready without waiting.
 */
static int l_poll(lua_State *L)
{
	int fds[16], owner[16], ready[16], buffered[8] = { 0 };
	int n, i, k = 0, nb = 0, rc, ms = lk_opt_ms(L, 2, -1);

	luaL_checktype(L, 1, LUA_TTABLE);
	n = (int)luaL_len(L, 1);
	luaL_argcheck(L, n <= 8, 1, "at most 8 objects");
	for (i = 1; i <= n; i++) {
		struct chan_port *port;
		struct l_listener *l;
		struct proc *p;

		lua_geti(L, 1, i);
		if ((port = luaL_testudata(L, -1, PORT_MT))) {
			if (repl_buf_ready(&port->in))
				buffered[nb++] = i;
			owner[k] = i;
			fds[k++] = port->fd;
		} else if ((l = luaL_testudata(L, -1, LISTENER_MT))) {
			owner[k] = i;
			fds[k++] = l->fd;
		} else if ((p = luaL_testudata(L, -1, PROC_MT))) {
			owner[k] = i;
			fds[k++] = p->out_fd;
			owner[k] = i;
			fds[k++] = p->err_fd;
		} else {
			return luaL_argerror(L, 1, "expected ports, listeners and processes");
		}
		lua_pop(L, 1);
	}
	rc = repl_wait(fds, k, nb ? 0 : ms, ready);
	if (rc < 0)
		return lk_fail(L, rc, "poll", NULL);
	lua_newtable(L);
	n = 0;
	for (i = 1; i <= (int)luaL_len(L, 1); i++) {
		int j, hit = 0;

		for (j = 0; j < nb; j++)
			hit |= buffered[j] == i;
		for (j = 0; j < k; j++)
			hit |= owner[j] == i && ready[j];
		if (hit) {
			lua_pushinteger(L, i);
			lua_rawseti(L, -2, ++n);
		}
	}
	return 1;
}

/* The Lua state to stop on SIGINT while armed (its main thread), else NULL. */
static lua_State *l_repl_armed;

/*
 * As lua.c's lstop: clear the hook, then raise in the running code; without
 * a position, which would name whatever function the hook caught (the
 * traceback shows where the chunk was).
 */
static void l_repl_stop(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	lua_sethook(L, NULL, 0, 0);
	lua_pushliteral(L, "interrupted");
	lua_error(L);
}

/* From the signal handler: lua_sethook is the one call lua.c makes there too. */
static void l_repl_on_sigint(void)
{
	if (l_repl_armed)
		lua_sethook(l_repl_armed, l_repl_stop,
			    LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* core.sigint_catch(on) -> true | nil, err, code: SIGINT counts instead of aborting ktstr */
static int l_sigint_catch(lua_State *L)
{
	int on = lua_toboolean(L, 1);

	repl_sigint_hook(on ? l_repl_on_sigint : NULL);
	return lk_result(L, repl_sigint_catch(on), "sigaction", "SIGINT");
}

/* core.sigint_count() -> the number of SIGINTs caught so far */
static int l_sigint_count(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)repl_sigint_count());
	return 1;
}

/*
 * core.sigint_arm(on): while armed, a caught SIGINT raises "interrupted" in
 * the running Lua code at its next call, return or instruction. Disarming
 * also drops a stop that has not fired yet.
 */
static int l_sigint_arm(lua_State *L)
{
	if (lua_toboolean(L, 1)) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
		l_repl_armed = lua_tothread(L, -1);
		lua_pop(L, 1);
	} else if (l_repl_armed) {
		lua_State *M = l_repl_armed;

		l_repl_armed = NULL;
		lua_sethook(M, NULL, 0, 0);
	}
	return 0;
}

/* core.sleep_interruptible(s) -> true | nil, err, "EINTR" when a signal came first */
static int l_sleep_interruptible(lua_State *L)
{
	return lk_result(L, repl_sleep(luaL_checknumber(L, 1)), "sleep", NULL);
}

/* core.isatty(fd) -> boolean */
static int l_isatty(lua_State *L)
{
	lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
	return 1;
}

/* core.readline(prompt) -> line | nil (end of input) | false (Ctrl-C) */
static int l_readline(lua_State *L)
{
	const char *prompt = luaL_checkstring(L, 1);
	unsigned long before = repl_sigint_count();
	char *line;

	fflush(stdout);
	line = readline(prompt);
	if (!line) {
		/* libedit hands SIGINT on to our handler and returns NULL, as at EOF */
		if (repl_sigint_count() != before)
			lua_pushboolean(L, 0);
		else
			lua_pushnil(L);
		return 1;
	}
	lua_pushstring(L, line);
	free(line);
	return 1;
}

/* core.history_add(line) */
static int l_history_add(lua_State *L)
{
	add_history(luaL_checkstring(L, 1));
	return 0;
}

/* core.history_load(path [, max]) -> true | nil, err, code */
static int l_history_load(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	int rc;

	using_history();
	stifle_history((int)luaL_optinteger(L, 2, 1000));
	rc = read_history(path);
	return lk_result(L, rc ? -(rc > 0 ? rc : EIO) : 0, "read_history", path);
}

/* core.history_save(path) -> true | nil, err, code */
static int l_history_save(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	int rc = write_history(path);

	return lk_result(L, rc ? -(rc > 0 ? rc : EIO) : 0, "write_history", path);
}

static const luaL_Reg listener_methods[] = {
	{ "accept", l_listener_accept },
	{ "close", l_listener_close },
	{ NULL, NULL },
};

static void l_repl_setup(lua_State *L)
{
	lk_newclass(L, LISTENER_MT, listener_methods, l_listener_close, NULL);
}

static const luaL_Reg repl_funcs[] = {
	{ "unix_listen", l_unix_listen },
	{ "unix_connect", l_unix_connect },
	{ "poll", l_poll },
	{ "sigint_catch", l_sigint_catch },
	{ "sigint_count", l_sigint_count },
	{ "sigint_arm", l_sigint_arm },
	{ "sleep_interruptible", l_sleep_interruptible },
	{ "isatty", l_isatty },
	{ "readline", l_readline },
	{ "history_add", l_history_add },
	{ "history_load", l_history_load },
	{ "history_save", l_history_save },
	{ NULL, NULL },
};

LK_MODULE(repl, repl_funcs, l_repl_setup)
