/* Binding helpers: the error convention, classes and table-field readers. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "lk.h"

static struct lk_module *lk_head;

void lk_module_add(struct lk_module *m)
{
	m->next = lk_head;
	lk_head = m;
}

struct lk_module *lk_modules(void)
{
	return lk_head;
}

int lk_fail(lua_State *L, int rc, const char *op, const char *obj)
{
	int err = rc < 0 ? -rc : rc;
	const char *name = strerrorname_np(err);

	lua_pushnil(L);
	if (obj && *obj)
		lua_pushfstring(L, "%s: %s: %s", op, obj, strerror(err));
	else
		lua_pushfstring(L, "%s: %s", op, strerror(err));
	lua_pushstring(L, name ? name : "EIO");
	return 3;
}

int lk_fail_msg(lua_State *L, const char *msg, const char *code)
{
	lua_pushnil(L);
	lua_pushstring(L, msg);
	lua_pushstring(L, code);
	return 3;
}

int lk_result(lua_State *L, int rc, const char *op, const char *obj)
{
	if (rc < 0)
		return lk_fail(L, rc, op, obj);
	lua_pushboolean(L, 1);
	return 1;
}

void lk_newclass(lua_State *L, const char *tname, const luaL_Reg *methods,
		 lua_CFunction close, lua_CFunction tostring)
{
	luaL_newmetatable(L, tname);
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	if (close) {
		lua_pushcfunction(L, close);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, close);
		lua_setfield(L, -2, "__close");
	}
	if (tostring) {
		lua_pushcfunction(L, tostring);
		lua_setfield(L, -2, "__tostring");
	}
	lua_pop(L, 1);
}

lua_Integer lk_opt_int_field(lua_State *L, int idx, const char *k, lua_Integer def)
{
	lua_Integer v;

	if (lua_getfield(L, idx, k) == LUA_TNIL) {
		lua_pop(L, 1);
		return def;
	}
	if (!lua_isinteger(L, -1))
		luaL_error(L, "field '%s' must be an integer", k);
	v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return v;
}

/* The string stays valid while the table holds it. */
const char *lk_opt_str_field(lua_State *L, int idx, const char *k, const char *def)
{
	const char *v;

	if (lua_getfield(L, idx, k) == LUA_TNIL) {
		lua_pop(L, 1);
		return def;
	}
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "field '%s' must be a string", k);
	v = lua_tostring(L, -1);
	lua_pop(L, 1);
	return v;
}

int lk_opt_bool_field(lua_State *L, int idx, const char *k, int def)
{
	int v;

	if (lua_getfield(L, idx, k) == LUA_TNIL) {
		lua_pop(L, 1);
		return def;
	}
	v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

int lk_opt_ms(lua_State *L, int idx, int def_ms)
{
	lua_Number s;

	if (lua_isnoneornil(L, idx))
		return def_ms;
	s = luaL_checknumber(L, idx);
	return s < 0 ? -1 : (int)(s * 1000);
}

void lk_push_wait_status(lua_State *L, int status)
{
	lua_createtable(L, 0, 2);
	if (WIFEXITED(status)) {
		lua_pushinteger(L, WEXITSTATUS(status));
		lua_setfield(L, -2, "code");
	} else if (WIFSIGNALED(status)) {
		lua_pushinteger(L, WTERMSIG(status));
		lua_setfield(L, -2, "signal");
		lua_pushboolean(L, WCOREDUMP(status));
		lua_setfield(L, -2, "core");
	}
}

char **lk_check_argv(lua_State *L, int idx, int *argc)
{
	lua_Integer n, i;
	char **argv;

	idx = lua_absindex(L, idx);
	luaL_checktype(L, idx, LUA_TTABLE);
	n = luaL_len(L, idx);
	argv = lua_newuserdatauv(L, (n + 1) * sizeof(*argv), 0);
	for (i = 1; i <= n; i++) {
		lua_geti(L, idx, i);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "argv[%d] must be a string", (int)i);
		argv[i - 1] = (char *)lua_tostring(L, -1);
		/* anchored by the argv table itself */
		lua_pop(L, 1);
	}
	argv[n] = NULL;
	if (argc)
		*argc = (int)n;
	return argv;
}

unsigned long long lk_check_addr(lua_State *L, int idx)
{
	const char *s;
	char *end;
	unsigned long long v;

	if (lua_type(L, idx) == LUA_TNUMBER)
		return (unsigned long long)luaL_checkinteger(L, idx);
	s = luaL_checkstring(L, idx);
	errno = 0;
	v = strtoull(s, &end, 16);
	if (errno || end == s || *end || strncmp(s, "0x", 2))
		luaL_argerror(L, idx, lua_pushfstring(L, "not an address: '%s'", s));
	return v;
}

void lk_push_addr(lua_State *L, unsigned long long va)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", va);
	lua_pushstring(L, buf);
}
