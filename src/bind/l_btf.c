/* ktstr.core bindings for BTF: load a kernel's or a map's, look up layouts, describe types. */
#include <errno.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "vmm/kbtf.h"
#include "l_btf.h"

struct btf *l_btf_check(lua_State *L, int idx)
{
	struct l_btf *b = luaL_checkudata(L, idx, LK_BTF_MT);

	if (!b->btf)
		luaL_error(L, "btf is closed");
	return b->btf;
}

/* Userdata first, closed, so a failed parse leaves nothing to leak. */
static struct l_btf *new_btf(lua_State *L)
{
	struct l_btf *b = lua_newuserdatauv(L, sizeof(*b), 0);

	b->btf = NULL;
	luaL_setmetatable(L, LK_BTF_MT);
	return b;
}

/* core.btf_load(path) -> b | nil, err, code */
static int l_btf_load(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct l_btf *b = new_btf(L);

	b->btf = btf__parse(path, NULL);
	return b->btf ? 1 : lk_fail(L, -errno, "btf_load", path);
}

/* core.btf_new(bytes) -> b | nil, err, code: a raw blob, e.g. a map's BTF from guest memory */
static int l_btf_new(lua_State *L)
{
	size_t len;
	const char *data = luaL_checklstring(L, 1, &len);
	struct l_btf *b = new_btf(L);

	b->btf = btf__new(data, len);
	return b->btf ? 1 : lk_fail(L, -errno, "btf_new", "raw BTF");
}

/* b:member(struct, "a.b.c") -> byte offset, size | nil, err, code */
static int l_btf_member(lua_State *L)
{
	struct btf *btf = l_btf_check(L, 1);
	const char *sname = luaL_checkstring(L, 2);
	const char *path = luaL_checkstring(L, 3);
	uint32_t off, size;
	int rc = kbtf_member(btf, sname, path, &off, &size);

	if (rc == -EINVAL)
		return lk_fail_msg(L, lua_pushfstring(L, "btf member: %s.%s: a bitfield",
						      sname, path), "EINVAL");
	if (rc)
		return lk_fail_msg(L, lua_pushfstring(L, "btf member: %s.%s: no such member",
						      sname, path), "ENOENT");
	lua_pushinteger(L, off);
	lua_pushinteger(L, size);
	return 2;
}

/* b:size(struct) -> bytes | nil, err, code */
static int l_btf_size(lua_State *L)
{
	const char *name = luaL_checkstring(L, 2);
	int size = kbtf_struct_size(l_btf_check(L, 1), name);

	if (size < 0)
		return lk_fail_msg(L, lua_pushfstring(L, "btf size: %s: no such struct", name),
				   "ENOENT");
	lua_pushinteger(L, size);
	return 1;
}

/* b:enum_value(name) -> integer | nil, err, code */
static int l_btf_enum_value(lua_State *L)
{
	const char *name = luaL_checkstring(L, 2);
	int64_t v;

	if (kbtf_enum_value(l_btf_check(L, 1), name, &v))
		return lk_fail_msg(L, lua_pushfstring(L, "btf enum_value: %s: no such enumerator",
						      name), "ENOENT");
	lua_pushinteger(L, v);
	return 1;
}

/* b:find(name [, kind]) -> id | nil */
static int l_btf_find(lua_State *L)
{
	struct btf *btf = l_btf_check(L, 1);
	const char *name = luaL_checkstring(L, 2);
	int id;

	if (lua_isnoneornil(L, 3))
		id = btf__find_by_name(btf, name);
	else
		id = btf__find_by_name_kind(btf, name, luaL_checkoption(L, 3, NULL, kbtf_kinds));
	if (id < 0)
		lua_pushnil(L);
	else
		lua_pushinteger(L, id);
	return 1;
}

/* b:count() -> number of types; ids run 1..count */
static int l_btf_count(lua_State *L)
{
	lua_pushinteger(L, btf__type_cnt(l_btf_check(L, 1)) - 1);
	return 1;
}

static uint32_t check_id(lua_State *L, const struct btf *btf, int idx)
{
	lua_Integer id = luaL_checkinteger(L, idx);

	luaL_argcheck(L, id >= 0 && id < btf__type_cnt(btf), idx, "no such type id");
	return (uint32_t)id;
}

/* b:resolve(id) -> id with typedefs and modifiers stripped */
static int l_btf_resolve(lua_State *L)
{
	struct btf *btf = l_btf_check(L, 1);
	int id = btf__resolve_type(btf, check_id(L, btf, 2));

	if (id < 0)
		return lk_fail(L, id, "btf resolve", "type chain");
	lua_pushinteger(L, id);
	return 1;
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, int v)
{
	lua_pushboolean(L, v);
	lua_setfield(L, -2, k);
}

/* name = the string at name_off; anonymous types and members get none */
static void set_name(lua_State *L, const struct btf *btf, uint32_t name_off)
{
	const char *s = btf__name_by_offset(btf, name_off);

	if (s && *s) {
		lua_pushstring(L, s);
		lua_setfield(L, -2, "name");
	}
}

static void push_int(lua_State *L, const struct btf_type *t)
{
	uint8_t enc = btf_int_encoding(t);

	set_int(L, "size", t->size);
	set_int(L, "bits", btf_int_bits(t));
	set_int(L, "bit_offset", btf_int_offset(t));
	set_bool(L, "signed", enc & BTF_INT_SIGNED);
	set_bool(L, "char", enc & BTF_INT_CHAR);
	set_bool(L, "bool", enc & BTF_INT_BOOL);
}

static void push_array(lua_State *L, const struct btf_type *t)
{
	const struct btf_array *a = btf_array(t);

	set_int(L, "elem", a->type);
	set_int(L, "index", a->index_type);
	set_int(L, "nelems", a->nelems);
}

static void push_members(lua_State *L, const struct btf *btf, const struct btf_type *t)
{
	const struct btf_member *m = btf_members(t);
	int i;

	set_int(L, "size", t->size);
	lua_createtable(L, btf_vlen(t), 0);
	for (i = 0; i < btf_vlen(t); i++, m++) {
		lua_createtable(L, 0, 4);
		set_name(L, btf, m->name_off);
		set_int(L, "type", m->type);
		set_int(L, "bit_offset", btf_member_bit_offset(t, i));
		set_int(L, "bitfield_size", btf_member_bitfield_size(t, i));
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "members");
}

static void push_values(lua_State *L, const struct btf *btf, const struct btf_type *t)
{
	int i;

	set_int(L, "size", t->size);
	set_bool(L, "signed", btf_kflag(t));
	lua_createtable(L, btf_vlen(t), 0);
	for (i = 0; i < btf_vlen(t); i++) {
		lua_createtable(L, 0, 2);
		if (btf_is_enum(t)) {
			set_name(L, btf, btf_enum(t)[i].name_off);
			set_int(L, "value", btf_kflag(t) ? btf_enum(t)[i].val :
				(lua_Integer)(uint32_t)btf_enum(t)[i].val);
		} else {
			set_name(L, btf, btf_enum64(t)[i].name_off);
			set_int(L, "value", (lua_Integer)btf_enum64_value(btf_enum64(t) + i));
		}
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "values");
}

/* func_proto: type = the return type; params = {{name=, type=}, ...} */
static void push_params(lua_State *L, const struct btf *btf, const struct btf_type *t)
{
	const struct btf_param *p = btf_params(t);
	int i;

	set_int(L, "type", t->type);
	lua_createtable(L, btf_vlen(t), 0);
	for (i = 0; i < btf_vlen(t); i++, p++) {
		lua_createtable(L, 0, 2);
		set_name(L, btf, p->name_off);
		set_int(L, "type", p->type);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "params");
}

static void push_vars(lua_State *L, const struct btf_type *t)
{
	const struct btf_var_secinfo *v = btf_var_secinfos(t);
	int i;

	set_int(L, "size", t->size);
	lua_createtable(L, btf_vlen(t), 0);
	for (i = 0; i < btf_vlen(t); i++, v++) {
		lua_createtable(L, 0, 3);
		set_int(L, "type", v->type);
		set_int(L, "offset", v->offset);
		set_int(L, "size", v->size);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "vars");
}

/* The kind-specific fields of b:type's table. */
static void push_kind(lua_State *L, const struct btf *btf, const struct btf_type *t)
{
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		return push_int(L, t);
	case BTF_KIND_ARRAY:
		return push_array(L, t);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return push_members(L, btf, t);
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		return push_values(L, btf, t);
	case BTF_KIND_FUNC_PROTO:
		return push_params(L, btf, t);
	case BTF_KIND_DATASEC:
		return push_vars(L, t);
	case BTF_KIND_FLOAT:
		return set_int(L, "size", t->size);
	case BTF_KIND_FWD:
		return set_bool(L, "union", btf_kflag(t));
	case BTF_KIND_DECL_TAG:
		set_int(L, "component_idx", btf_decl_tag(t)->component_idx);
		return set_int(L, "type", t->type);
	case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_FUNC:
	case BTF_KIND_VAR: case BTF_KIND_TYPE_TAG:
		return set_int(L, "type", t->type);
	}
}

/* b:type(id) -> {id=, kind=, name=, ...kind's fields} */
static int l_btf_type(lua_State *L)
{
	struct btf *btf = l_btf_check(L, 1);
	uint32_t id = check_id(L, btf, 2);
	const struct btf_type *t = btf__type_by_id(btf, id);
	unsigned kind = btf_kind(t);

	lua_createtable(L, 0, 8);
	set_int(L, "id", id);
	lua_pushstring(L, kind <= BTF_KIND_MAX ? kbtf_kinds[kind] : "unknown");
	lua_setfield(L, -2, "kind");
	if (id)
		set_name(L, btf, t->name_off);
	if (id)
		push_kind(L, btf, t);
	return 1;
}

/* b:close(); also __gc and __close */
static int l_btf_close(lua_State *L)
{
	struct l_btf *b = luaL_checkudata(L, 1, LK_BTF_MT);

	btf__free(b->btf);
	b->btf = NULL;
	return 0;
}

static int l_btf_tostring(lua_State *L)
{
	struct l_btf *b = luaL_checkudata(L, 1, LK_BTF_MT);

	if (b->btf)
		lua_pushfstring(L, "ktstr.btf (%d types)", (int)btf__type_cnt(b->btf) - 1);
	else
		lua_pushliteral(L, "ktstr.btf (closed)");
	return 1;
}

static const luaL_Reg btf_methods[] = {
	{ "member", l_btf_member },
	{ "size", l_btf_size },
	{ "enum_value", l_btf_enum_value },
	{ "find", l_btf_find },
	{ "count", l_btf_count },
	{ "type", l_btf_type },
	{ "resolve", l_btf_resolve },
	{ "close", l_btf_close },
	{ NULL, NULL },
};

/* libbpf's default logger writes to stderr; bindings report through returns instead. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

static void l_btf_setup(lua_State *L)
{
	libbpf_set_print(quiet);
	lk_newclass(L, LK_BTF_MT, btf_methods, l_btf_close, l_btf_tostring);
}

static const luaL_Reg btf_funcs[] = {
	{ "btf_load", l_btf_load },
	{ "btf_new", l_btf_new },
	{ NULL, NULL },
};

LK_MODULE(btf, btf_funcs, l_btf_setup)
