/* ktstr.core bindings of src/base/chan.c (frames, ports) and src/guest/vport.c (the guest's port). */
#include <errno.h>
#include <stdlib.h>

#include "src/base/chan.h"
#include "src/guest/vport.h"
#include "lk.h"

#define PORT_MT "ktstr.port"

static struct chan_port *check_port(lua_State *L)
{
	struct chan_port *p = luaL_checkudata(L, 1, PORT_MT);

	if (p->fd < 0)
		luaL_error(L, "port is closed");
	return p;
}

/* core.port_open(name) -> port | nil, err, code */
static int l_port_open(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	struct chan_port *p = lua_newuserdatauv(L, sizeof(*p), 0);
	int rc;

	p->fd = -1;
	luaL_setmetatable(L, PORT_MT);
	rc = vport_open(p, name);
	return rc ? lk_fail(L, rc, "port_open", name) : 1;
}

/* port:recv([timeout_s]) -> payload | nil, err, code */
static int l_port_recv(lua_State *L)
{
	struct chan_port *p = check_port(L);
	lua_Number s = luaL_optnumber(L, 2, -1);
	const char *payload;
	char err[256];
	size_t n;
	int rc = chan_port_recv(p, s < 0 ? -1 : (int)(s * 1000), &payload, &n,
				err, sizeof(err));

	if (rc == 1) {
		lua_pushlstring(L, payload, n);
		return 1;
	}
	if (rc == 0)
		return lk_fail(L, -ETIMEDOUT, "recv", p->name);
	if (rc == -EBADMSG)
		return lk_fail_msg(L, lua_pushfstring(L, "recv: %s", err), "EBADMSG");
	return lk_fail(L, rc, "recv", p->name);
}

/* port:send(payload) -> true | nil, err, code */
static int l_port_send(lua_State *L)
{
	struct chan_port *p = check_port(L);
	size_t n;
	const char *s = luaL_checklstring(L, 2, &n);

	return lk_result(L, chan_write_frame(p->fd, s, n), "send", p->name);
}

/* port:close() */
static int l_port_close(lua_State *L)
{
	chan_port_close(luaL_checkudata(L, 1, PORT_MT));
	return 0;
}

/* core.frame(payload) -> header .. payload: what the wire carries (for specs) */
static int l_frame(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	char hdr[CHAN_HDR_LEN];

	chan_header(hdr, s, n);
	lua_pushlstring(L, hdr, sizeof(hdr));
	lua_pushvalue(L, 1);
	lua_concat(L, 2);
	return 1;
}

/* core.unframe(bytes) -> {payloads...}, rest | nil, err, "EBADMSG" */
static int l_unframe(lua_State *L)
{
	struct chan_buf b = { 0 };
	size_t n, len;
	const char *s = luaL_checklstring(L, 1, &n), *p;
	char err[256];
	int rc, i = 0;

	if (chan_buf_append(&b, s, n))
		return lk_fail(L, -ENOMEM, "unframe", NULL);
	lua_newtable(L);
	while ((rc = chan_buf_next(&b, &p, &len, err, sizeof(err))) == 1) {
		lua_pushlstring(L, p, len);
		lua_rawseti(L, -2, ++i);
	}
	if (rc < 0) {
		chan_buf_free(&b);
		return lk_fail_msg(L, err, "EBADMSG");
	}
	lua_pushlstring(L, b.data + b.off, b.len - b.off);
	chan_buf_free(&b);
	return 2;
}

static const luaL_Reg port_methods[] = {
	{ "recv", l_port_recv },
	{ "send", l_port_send },
	{ "close", l_port_close },
	{ NULL, NULL },
};

static void l_chan_setup(lua_State *L)
{
	lk_newclass(L, PORT_MT, port_methods, l_port_close, NULL);
}

static const luaL_Reg chan_funcs[] = {
	{ "port_open", l_port_open },
	{ "frame", l_frame },
	{ "unframe", l_unframe },
	{ NULL, NULL },
};

LK_MODULE(chan, chan_funcs, l_chan_setup)
