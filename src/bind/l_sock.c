/* ktstr.core bindings of src/base/sock.c: unix sockets as ports; poll over ports, listeners, processes. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "src/base/chan.h"
#include "src/base/proc.h"
#include "src/base/sock.h"
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
	rc = sock_listen(path, &l->fd);
	return rc ? lk_fail(L, rc, "listen", path) : 1;
}

/* listener:accept([timeout_s]) -> port | nil, err, code ("ETIMEDOUT" when none came) */
static int l_listener_accept(lua_State *L)
{
	struct l_listener *l = luaL_checkudata(L, 1, LISTENER_MT);
	int fd, rc;

	if (l->fd < 0)
		return luaL_error(L, "listener is closed");
	rc = sock_accept(l->fd, lk_opt_ms(L, 2, -1), &fd);
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
	int fd, rc = sock_connect(path, &fd);

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
			if (chan_buf_ready(&port->in))
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
	rc = sock_wait(fds, k, nb ? 0 : ms, ready);
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

static const luaL_Reg listener_methods[] = {
	{ "accept", l_listener_accept },
	{ "close", l_listener_close },
	{ NULL, NULL },
};

static void l_sock_setup(lua_State *L)
{
	lk_newclass(L, LISTENER_MT, listener_methods, l_listener_close, NULL);
}

static const luaL_Reg sock_funcs[] = {
	{ "unix_listen", l_unix_listen },
	{ "unix_connect", l_unix_connect },
	{ "poll", l_poll },
	{ NULL, NULL },
};

LK_MODULE(sock, sock_funcs, l_sock_setup)
