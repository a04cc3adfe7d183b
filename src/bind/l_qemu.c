/* ktstr.core bindings of vmm/qemu.c: argv building and the vm object. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/argv.h"
#include "vmm/qemu.h"
#include "lk.h"

#define VM_MT "ktstr.vm"

struct l_vm {
	struct qemu *vm;
};

static struct l_vm *check_vm(lua_State *L)
{
	struct l_vm *v = luaL_checkudata(L, 1, VM_MT);

	if (!v->vm)
		luaL_error(L, "vm is closed");
	return v;
}

static void l_push_argv(lua_State *L, const struct argv_buf *a)
{
	size_t i;

	lua_createtable(L, (int)a->n, 0);
	for (i = 0; i < a->n; i++) {
		lua_pushstring(L, a->v[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

/*
 * core.qemu_argv{qemu=, kernel=, initrd=, cmdline=, chan=, qmp=, kvm=, disk=} -> {argv...}
 * disk: a raw image attached as the scratch disk (virtio-blk), when given.
 * qemu defaults to $KTSTR_QEMU, then qemu-system-x86_64. With probe = true,
 * the KVM probe's whole command line from kernel= (and kvm=) alone.
 */
static int l_qemu_argv(lua_State *L)
{
	struct qemu_cfg c = { 0 };
	struct argv_buf a = { 0 };
	int rc;

	luaL_checktype(L, 1, LUA_TTABLE);
	c.qemu = lk_opt_str_field(L, 1, "qemu", NULL);
	c.probe = lk_opt_bool_field(L, 1, "probe", 0);
	c.kernel = lk_opt_str_field(L, 1, "kernel", NULL);
	c.initrd = lk_opt_str_field(L, 1, "initrd", NULL);
	c.cmdline = lk_opt_str_field(L, 1, "cmdline", NULL);
	c.chan_path = lk_opt_str_field(L, 1, "chan", NULL);
	c.qmp_path = lk_opt_str_field(L, 1, "qmp", NULL);
	c.disk = lk_opt_str_field(L, 1, "disk", NULL);
	if (!c.kernel || (!c.probe && (!c.initrd || !c.chan_path || !c.qmp_path)))
		return luaL_error(L, "qemu_argv: kernel, initrd, chan and qmp are required");
	lua_getfield(L, 1, "kvm");
	c.accel_kvm = lua_isnil(L, -1) ? -1 : lua_toboolean(L, -1);
	lua_pop(L, 1);
	rc = qemu_build_argv(&c, &a);
	if (!rc)
		l_push_argv(L, &a);
	argv_free(&a);
	return rc ? lk_fail(L, rc, "qemu_argv", NULL) : 1;
}

/* core.kvm_usable() -> boolean */
static int l_kvm_usable(lua_State *L)
{
	lua_pushboolean(L, qemu_kvm_usable());
	return 1;
}

/* core.vm_start{argv=, chan=, qmp=, console_log=, echo=} -> vm | nil, err, code */
static int l_vm_start(lua_State *L)
{
	struct qemu_opts o = { 0 };
	struct l_vm *v;
	int rc;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "argv");
	o.argv = lk_check_argv(L, -1, NULL);
	o.chan_path = lk_opt_str_field(L, 1, "chan", NULL);
	o.qmp_path = lk_opt_str_field(L, 1, "qmp", NULL);
	o.console_log = lk_opt_str_field(L, 1, "console_log", NULL);
	o.echo_console = lk_opt_bool_field(L, 1, "echo", 0);
	if (!o.chan_path || !o.qmp_path)
		return luaL_error(L, "vm_start: chan and qmp are required");
	v = lua_newuserdatauv(L, sizeof(*v), 0);
	v->vm = NULL;
	luaL_setmetatable(L, VM_MT);
	rc = qemu_start(&v->vm, &o);
	return rc ? lk_fail(L, rc, "vm_start", o.argv[0]) : 1;
}

/* vm:recv([timeout_s]) -> payload | nil, err, code */
static int l_vm_recv(lua_State *L)
{
	struct l_vm *v = check_vm(L);
	char *p, err[256];
	size_t n;
	int rc = qemu_recv(v->vm, lk_opt_ms(L, 2, -1), &p, &n, err, sizeof(err));

	if (rc == 1) {
		lua_pushlstring(L, p, n);
		free(p);
		return 1;
	}
	if (rc == -EBADMSG)
		return lk_fail_msg(L, lua_pushfstring(L, "recv: %s", err), "EBADMSG");
	if (rc == -ECHILD)
		return lk_fail_msg(L, "recv: qemu exited", "ECHILD");
	return lk_fail(L, rc, "recv", "channel");
}

/* vm:send(payload) -> true | nil, err, code */
static int l_vm_send(lua_State *L)
{
	struct l_vm *v = check_vm(L);
	size_t n;
	const char *p = luaL_checklstring(L, 2, &n);

	return lk_result(L, qemu_send(v->vm, p, n), "send", "channel");
}

/* vm:qmp(json_cmd [, timeout_s]) -> json_reply | nil, err, code */
static int l_vm_qmp(lua_State *L)
{
	struct l_vm *v = check_vm(L);
	const char *cmd = luaL_checkstring(L, 2);
	char *reply;
	int rc;

	rc = qemu_qmp(v->vm, cmd, lk_opt_ms(L, 3, 5000), &reply);
	if (rc == -EINVAL)
		return luaL_error(L, "qmp: not a QMP command: %s", cmd);
	if (rc)
		return lk_fail(L, rc, "qmp", cmd);
	lua_pushstring(L, reply);
	free(reply);
	return 1;
}

/* vm:wait([timeout_s]) -> {code=, signal=} | nil, err, code */
static int l_vm_wait(lua_State *L)
{
	struct l_vm *v = check_vm(L);
	int status, rc = qemu_wait(v->vm, lk_opt_ms(L, 2, -1), &status);

	if (rc)
		return lk_fail(L, rc, "wait", "qemu");
	lk_push_wait_status(L, status);
	return 1;
}

/* vm:kill() */
static int l_vm_kill(lua_State *L)
{
	qemu_kill(check_vm(L)->vm);
	return 0;
}

/* vm:pid() -> integer */
static int l_vm_pid(lua_State *L)
{
	lua_pushinteger(L, qemu_pid(check_vm(L)->vm));
	return 1;
}

/* vm:console_tail([bytes]) -> string */
static int l_vm_console_tail(lua_State *L)
{
	struct l_vm *v = check_vm(L);
	size_t want = (size_t)luaL_optinteger(L, 2, 4096);
	luaL_Buffer b;
	char *p = luaL_buffinitsize(L, &b, want);

	luaL_pushresultsize(&b, qemu_console_tail(v->vm, p, want));
	return 1;
}

/* vm:qemu_stderr() -> string */
static int l_vm_qemu_stderr(lua_State *L)
{
	lua_pushstring(L, qemu_stderr(check_vm(L)->vm));
	return 1;
}

/* vm:close(): kills QEMU if alive; idempotent */
static int l_vm_close(lua_State *L)
{
	struct l_vm *v = luaL_checkudata(L, 1, VM_MT);

	qemu_destroy(v->vm);
	v->vm = NULL;
	return 0;
}

static int l_vm_tostring(lua_State *L)
{
	struct l_vm *v = luaL_checkudata(L, 1, VM_MT);

	if (v->vm)
		lua_pushfstring(L, "ktstr.vm (pid %d)", (int)qemu_pid(v->vm));
	else
		lua_pushliteral(L, "ktstr.vm (closed)");
	return 1;
}

static const luaL_Reg vm_methods[] = {
	{ "recv", l_vm_recv },
	{ "send", l_vm_send },
	{ "qmp", l_vm_qmp },
	{ "wait", l_vm_wait },
	{ "kill", l_vm_kill },
	{ "pid", l_vm_pid },
	{ "console_tail", l_vm_console_tail },
	{ "qemu_stderr", l_vm_qemu_stderr },
	{ "close", l_vm_close },
	{ NULL, NULL },
};

static void l_vm_setup(lua_State *L)
{
	lk_newclass(L, VM_MT, vm_methods, l_vm_close, l_vm_tostring);
}

static const luaL_Reg vm_funcs[] = {
	{ "qemu_argv", l_qemu_argv },
	{ "kvm_usable", l_kvm_usable },
	{ "vm_start", l_vm_start },
	{ NULL, NULL },
};

LK_MODULE(qemu, vm_funcs, l_vm_setup)
