/* ktstr.core bindings for work types (src/work.c): their list and resolution. */
#include <errno.h>
#include <string.h>

#include "l_work.h"

static const char *const l_work_kinds[] = {
	[WP_INT] = "int",
	[WP_NS] = "ns",
	[WP_BOOL] = "bool",
	[WP_ENUM] = "enum",
	[WP_NODES] = "nodes",
};

static void l_work_push_value(lua_State *L, const struct work_type *type, int k,
			      int64_t v)
{
	const struct work_param *p = &type->params[k];

	int i, n = 0;

	if (p->kind == WP_BOOL) {
		lua_pushboolean(L, v != 0);
	} else if (p->kind == WP_ENUM && v >= p->min && v <= p->max) {
		lua_pushstring(L, work_choices(type, k)[v]);
	} else if (p->kind == WP_NODES) {
		lua_newtable(L);
		for (i = 0; i < WORK_NODES_MAX; i++) {
			if (!(v & (1LL << i)))
				continue;
			lua_pushinteger(L, i);
			lua_rawseti(L, -2, ++n);
		}
	} else {
		lua_pushinteger(L, v);
	}
}

/* A list of node ids as a mask; -1 (out of range) for an id past the mask. */
static int64_t l_work_nodes_value(lua_State *L, const struct work_type *type,
				  const struct work_param *p, int vidx)
{
	lua_Integer i, n = luaL_len(L, vidx), id;
	int64_t mask = 0;
	int isint;

	for (i = 1; i <= n; i++) {
		lua_geti(L, vidx, i);
		id = lua_tointegerx(L, -1, &isint);
		if (!isint || lua_type(L, -1) != LUA_TNUMBER)
			luaL_error(L, "%s.%s[%d] must be an integer node id", type->name,
				   p->name, (int)i);
		lua_pop(L, 1);
		if (id < 0 || id >= WORK_NODES_MAX)
			return -1;
		mask |= 1LL << id;
	}
	return mask;
}

/*
 * A param value from Lua: an integer (ns for durations), a boolean for
 * bools, a choice's name (or index) for enums, a list of node ids (or a
 * mask) for nodes.
 */
static int64_t l_work_check_value(lua_State *L, const struct work_type *type,
				  const struct work_param *p, int vidx)
{
	lua_Integer v = 0;
	int isint = 0;

	if (p->kind == WP_BOOL && lua_type(L, vidx) == LUA_TBOOLEAN)
		return lua_toboolean(L, vidx);
	if (p->kind == WP_NODES && lua_type(L, vidx) == LUA_TTABLE)
		return l_work_nodes_value(L, type, p, lua_absindex(L, vidx));
	if (lua_type(L, vidx) == LUA_TNUMBER)
		v = lua_tointegerx(L, vidx, &isint);
	if (!isint) {
		vidx = lua_absindex(L, vidx);
		luaL_error(L, "%s.%s must be %s, got %s %s", type->name, p->name,
			   p->kind == WP_NS ? "an integer number of ns" :
			   p->kind == WP_BOOL ? "a boolean" :
			   p->kind == WP_ENUM ? "a choice's name" :
			   p->kind == WP_NODES ? "a list of node ids" : "an integer",
			   luaL_typename(L, vidx), luaL_tolstring(L, vidx, NULL));
	}
	return v;
}

/* Resolves type name with the params table at pidx (0: none). */
static int l_work_resolve_args(lua_State *L, const char *name, int pidx,
			       struct work_spec *s, char *err, size_t errlen)
{
	const struct work_type *type = work_find(name);
	const char *keys[WORK_MAX_PARAMS];
	int64_t vals[WORK_MAX_PARAMS];
	size_t n = 0;
	int k;

	if (!type || !pidx)
		return work_resolve(s, name, NULL, NULL, 0, err, errlen);
	lua_pushnil(L);
	while (lua_next(L, pidx)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "%s: parameter names must be strings, got %s",
				   name, luaL_typename(L, -2));
		keys[n] = lua_tostring(L, -2);
		k = work_param_index(type, keys[n]);
		if (k < 0) {	/* let work_resolve word the message */
			lua_pop(L, 2);	/* the table still anchors the key */
			return work_resolve(s, name, &keys[n], vals, 1, err, errlen);
		}
		if (type->params[k].kind == WP_ENUM && lua_type(L, -1) == LUA_TSTRING) {
			vals[n] = work_choice(type, k, lua_tostring(L, -1), err,
					      errlen);
			if (vals[n] < 0) {
				lua_pop(L, 2);
				return -EINVAL;
			}
			n++;
		} else {
			vals[n++] = l_work_check_value(L, type, &type->params[k], -1);
		}
		lua_pop(L, 1);
	}
	/* keys stay valid: the params table anchors them */
	return work_resolve(s, name, keys, vals, n, err, errlen);
}

/* Sets the phases from the array at idx: { {kind = "spin", ns = 1000000}, ... }. */
static int l_work_set_phases(lua_State *L, int idx, struct work_spec *s,
			     char *err, size_t errlen)
{
	const char *kinds[WORK_MAX_PHASES];
	int64_t ns[WORK_MAX_PHASES];
	lua_Integer i, n = luaL_len(L, idx);
	int isint;

	if (n > WORK_MAX_PHASES || !s->type->phased)	/* counted, or refused */
		return work_set_phases(s, kinds, ns, (size_t)n, err, errlen);
	for (i = 1; i <= n; i++) {
		if (lua_geti(L, idx, i) != LUA_TTABLE)
			luaL_error(L, "phase %d must be a table {kind =, ns =}", (int)i);
		if (lua_getfield(L, -1, "kind") != LUA_TSTRING)
			luaL_error(L, "phase %d: kind must be a string", (int)i);
		kinds[i - 1] = lua_tostring(L, -1);	/* anchored by the phase */
		lua_getfield(L, -2, "ns");
		ns[i - 1] = lua_tointegerx(L, -1, &isint);
		if (!isint || lua_type(L, -1) != LUA_TNUMBER)
			luaL_error(L, "phase %d: ns must be an integer", (int)i);
		lua_pop(L, 3);
	}
	return work_set_phases(s, kinds, ns, (size_t)n, err, errlen);
}

/* name, params (index or 0), phases (index or 0) -> s */
static int l_work_spec(lua_State *L, const char *name, int pidx, int phidx,
		       struct work_spec *s, char *err, size_t errlen)
{
	int rc = l_work_resolve_args(L, name, pidx, s, err, errlen);

	if (rc)
		return rc;
	if (phidx)
		return l_work_set_phases(L, phidx, s, err, errlen);
	if (s->type->phased)
		return work_set_phases(s, NULL, NULL, 0, err, errlen);
	return 0;
}

/* An optional table argument or field at idx: its index, or 0 when nil. */
static int l_work_opt_table(lua_State *L, int idx, const char *what)
{
	if (lua_isnoneornil(L, idx))
		return 0;
	if (!lua_istable(L, idx))
		luaL_error(L, "%s must be a table, got %s", what, luaL_typename(L, idx));
	return lua_absindex(L, idx);
}

int l_work_tospec(lua_State *L, int idx, struct work_spec *s, char *err,
		  size_t errlen)
{
	const char *name;
	int rc;

	idx = lua_absindex(L, idx);
	luaL_checktype(L, idx, LUA_TTABLE);
	if (lua_getfield(L, idx, "name") != LUA_TSTRING)
		luaL_error(L, "work spec: name must be a string");
	name = lua_tostring(L, -1);
	lua_getfield(L, idx, "args");
	lua_getfield(L, idx, "phases");
	rc = l_work_spec(L, name, l_work_opt_table(L, -2, "work spec args"),
			 l_work_opt_table(L, -1, "work spec phases"), s, err, errlen);
	lua_pop(L, 3);
	return rc;
}

static void l_work_push_spec(lua_State *L, const struct work_spec *s)
{
	const struct work_type *type = s->type;
	size_t i;

	lua_createtable(L, 0, 6);
	lua_pushstring(L, type->name);
	lua_setfield(L, -2, "name");
	lua_createtable(L, 0, (int)type->nparams);
	for (i = 0; i < type->nparams; i++) {
		l_work_push_value(L, type, (int)i, s->args[i]);
		lua_setfield(L, -2, type->params[i].name);
	}
	lua_setfield(L, -2, "args");
	lua_pushinteger(L, work_group_size(s));
	lua_setfield(L, -2, "group_size");
	lua_pushstring(L, type->unit);
	lua_setfield(L, -2, "unit");
	if (!type->phased)
		return;
	lua_createtable(L, (int)s->nphases, 0);
	for (i = 0; i < s->nphases; i++) {
		lua_createtable(L, 0, 2);
		lua_pushstring(L, s->phases[i].kind);
		lua_setfield(L, -2, "kind");
		lua_pushinteger(L, s->phases[i].ns);
		lua_setfield(L, -2, "ns");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "phases");
}

/*
 * core.work_resolve(name [, params [, phases]])
 *   -> {name=, args={k=v,...}, group_size=, unit= [, phases=]} | nil, err, "EINVAL"
 */
static int l_work_resolve(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	int pidx = l_work_opt_table(L, 2, "params");
	int phidx = l_work_opt_table(L, 3, "phases");
	struct work_spec s;
	char err[1024];	/* an unknown type's message lists every type */

	if (l_work_spec(L, name, pidx, phidx, &s, err, sizeof(err)))
		return lk_fail_msg(L, err, "EINVAL");
	l_work_push_spec(L, &s);
	return 1;
}

static void l_work_push_param(lua_State *L, const struct work_type *type, int k)
{
	const struct work_param *p = &type->params[k];
	const char *const *names = work_choices(type, k);

	lua_createtable(L, 0, 6);
	lua_pushstring(L, p->name);
	lua_setfield(L, -2, "name");
	lua_pushstring(L, l_work_kinds[p->kind]);
	lua_setfield(L, -2, "kind");
	l_work_push_value(L, type, k, p->def);
	lua_setfield(L, -2, "default");
	lua_pushinteger(L, p->min);
	lua_setfield(L, -2, "min");
	lua_pushinteger(L, p->max);
	lua_setfield(L, -2, "max");
	lua_pushstring(L, p->help);
	lua_setfield(L, -2, "help");
	if (names) {
		lua_newtable(L);
		for (int i = 0; names[i]; i++) {
			lua_pushstring(L, names[i]);
			lua_rawseti(L, -2, i + 1);
		}
		lua_setfield(L, -2, "choices");
	}
}

static void l_work_push_strings(lua_State *L, const char *const *v, size_t n)
{
	size_t i;

	lua_createtable(L, (int)n, 0);
	for (i = 0; i < n; i++) {
		lua_pushstring(L, v[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

static void l_work_push_type(lua_State *L, const struct work_type *type)
{
	const char *const *kinds;
	size_t i, n;

	lua_createtable(L, 0, 6);
	lua_pushstring(L, type->name);
	lua_setfield(L, -2, "name");
	lua_pushstring(L, type->unit);
	lua_setfield(L, -2, "unit");
	lua_pushboolean(L, type->group_size != NULL);
	lua_setfield(L, -2, "group");
	lua_pushboolean(L, type->blocking);
	lua_setfield(L, -2, "blocking");
	lua_createtable(L, (int)type->nparams, 0);
	for (i = 0; i < type->nparams; i++) {
		l_work_push_param(L, type, (int)i);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "params");
	if (type->phased) {
		kinds = work_phase_kinds(&n);
		l_work_push_strings(L, kinds, n);
		lua_setfield(L, -2, "phase_kinds");
	}
}

/*
 * core.work_types() -> { {name=, unit=, group=, blocking=,
 *   params={ {name=, kind="int"|"ns"|"bool"|"enum"|"nodes", default=, min=, max=, help=
 *     [, choices={"pipe", ...}]} },
 *   [phase_kinds={"spin", ...}]}, ... }
 */
static int l_work_types(lua_State *L)
{
	const struct work_type *const *types;
	size_t i, n;

	types = work_list(&n);
	lua_createtable(L, (int)n, 0);
	for (i = 0; i < n; i++) {
		l_work_push_type(L, types[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static const luaL_Reg l_work_funcs[] = {
	{ "work_types", l_work_types },
	{ "work_resolve", l_work_resolve },
	{ NULL, NULL },
};

LK_MODULE(work, l_work_funcs, NULL)
