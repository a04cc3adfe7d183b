/* ktstr.core bindings for the guest's BPF maps: list them, read their values and BTF. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "vmm/bpfmaps.h"
#include "l_btf.h"

#define LAYOUTS		"ktstr.bpfmaps.layouts"	/* registry: vmlinux btf -> layout, weak */
#define MAX_MAPS	4096

/* struct l_kmem (l_kmem.c) starts with its struct kmem. */
static const struct kmem *check_kmem(lua_State *L)
{
	return luaL_checkudata(L, 1, LK_KMEM_MT);
}

/* nil, msg, "ENAME" for a negative errno whose message we wrote. */
static int fail_msg(lua_State *L, int rc, const char *msg)
{
	const char *name = strerrorname_np(-rc);

	return lk_fail_msg(L, msg, name ? name : "EIO");
}

/*
 * The map offsets for the vmlinux BTF at argument 2, computed once per BTF
 * object (each lookup scans the whole BTF). NULL with nil, err, code pushed.
 */
static const struct bpfmaps_layout *check_layout(lua_State *L, const char *op)
{
	struct btf *btf = l_btf_check(L, 2);
	struct bpfmaps_layout *l;
	int rc;

	lua_getfield(L, LUA_REGISTRYINDEX, LAYOUTS);
	lua_pushvalue(L, 2);
	if (lua_rawget(L, -2) == LUA_TUSERDATA) {
		l = lua_touserdata(L, -1);
		lua_pop(L, 2);	/* the cache keeps it while the btf lives */
		return l;
	}
	lua_pop(L, 1);
	l = lua_newuserdatauv(L, sizeof(*l), 0);
	rc = bpfmaps_layout_init(l, btf);
	if (rc) {
		fail_msg(L, rc, lua_pushfstring(L, "%s: vmlinux BTF: %s: %s", op, l->missing,
						rc == -EPROTO ? "unexpected size" : "no such member"));
		return NULL;
	}
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, -4);
	lua_pop(L, 2);
	return l;
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

static void push_type(lua_State *L, uint32_t type)
{
	const char *s = libbpf_bpf_map_type_str(type);

	if (s)
		lua_pushstring(L, s);
	else
		lua_pushfstring(L, "type %d", (int)type);
}

static void push_info(lua_State *L, const void *item)
{
	const struct bpfmap_info *m = item;

	lua_createtable(L, 0, 11);
	set_int(L, "id", m->id);
	lua_pushstring(L, m->name);
	lua_setfield(L, -2, "name");
	push_type(L, m->type);
	lua_setfield(L, -2, "type");
	set_int(L, "key_size", m->key_size);
	set_int(L, "value_size", m->value_size);
	set_int(L, "max_entries", m->max_entries);
	set_int(L, "flags", m->map_flags);
	lk_push_addr(L, m->va);
	lua_setfield(L, -2, "va");
	if (m->btf_va) {
		lk_push_addr(L, m->btf_va);
		lua_setfield(L, -2, "btf");
	}
	set_int(L, "btf_key_type_id", m->btf_key_type_id);
	set_int(L, "btf_value_type_id", m->btf_value_type_id);
}

/* A walk's n items as a list of tables, or nil, err, code naming the IDR (what). */
static int push_list(lua_State *L, int n, const char *what, unsigned long long idr,
		     const void *items, size_t size, void (*push)(lua_State *, const void *))
{
	int i;

	if (n < 0) {
		lk_push_addr(L, idr);
		return fail_msg(L, n, lua_pushfstring(L, "%s %s: %s", what, lua_tostring(L, -1),
						      bpfmaps_strerror(n)));
	}
	lua_createtable(L, n, 0);
	for (i = 0; i < n; i++) {
		push(L, (const char *)items + i * size);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

/* core.bpf_maps(k, vmlinux_btf, map_idr_va) -> {{id=, name=, type=, ...}, ...} | nil, err, code */
static int l_bpf_maps(lua_State *L)
{
	const struct kmem *k = check_kmem(L);
	unsigned long long idr = lk_check_addr(L, 3);
	const struct bpfmaps_layout *l = check_layout(L, "bpf_maps");
	struct bpfmap_info *maps;

	if (!l)
		return 3;
	maps = lua_newuserdatauv(L, MAX_MAPS * sizeof(*maps), 0);
	return push_list(L, bpfmaps_list(k, l, idr, maps, MAX_MAPS), "bpf_maps: map_idr", idr,
			 maps, sizeof(*maps), push_info);
}

static void push_prog(lua_State *L, const void *item)
{
	const struct bpfprog_info *p = item;

	lua_createtable(L, 0, 7);
	lua_pushinteger(L, p->id);
	lua_setfield(L, -2, "id");
	lua_pushstring(L, p->name);
	lua_setfield(L, -2, "name");
	lua_pushinteger(L, p->type);
	lua_setfield(L, -2, "type");
	lua_pushinteger(L, p->verified_insns);
	lua_setfield(L, -2, "verified_insns");
	lua_pushinteger(L, (lua_Integer)p->cnt);
	lua_setfield(L, -2, "cnt");
	lua_pushinteger(L, (lua_Integer)p->nsecs);
	lua_setfield(L, -2, "nsecs");
	lk_push_addr(L, p->va);
	lua_setfield(L, -2, "va");
}

/* core.bpf_progs(k, vmlinux_btf, prog_idr_va) -> {{id, name, type, verified_insns, cnt, nsecs}} */
static int l_bpf_progs(lua_State *L)
{
	const struct kmem *k = check_kmem(L);
	unsigned long long idr = lk_check_addr(L, 3);
	const struct bpfmaps_layout *l = check_layout(L, "bpf_progs");
	struct bpfprog_info *progs;

	if (!l)
		return 3;
	progs = lua_newuserdatauv(L, MAX_MAPS * sizeof(*progs), 0);
	return push_list(L, bpfprogs_list(k, l, idr, progs, MAX_MAPS), "bpf_progs: prog_idr", idr,
			 progs, sizeof(*progs), push_prog);
}

/* The layout, and the map header at argument 3's va read afresh; NULL with nil, err, code pushed. */
static const struct bpfmaps_layout *check_map(lua_State *L, const char *op, struct bpfmap_info *m)
{
	const struct kmem *k = check_kmem(L);
	const struct bpfmaps_layout *l = check_layout(L, op);
	unsigned long long va;
	int rc;

	if (!l)
		return NULL;
	luaL_checktype(L, 3, LUA_TTABLE);
	if (lua_getfield(L, 3, "va") == LUA_TNIL)
		luaL_argerror(L, 3, "map table without va");
	va = lk_check_addr(L, -1);
	rc = bpfmap_info_read(k, l, va, m);
	if (rc) {
		fail_msg(L, rc, lua_pushfstring(L, "%s: map at %s: %s", op, lua_tostring(L, -1),
						bpfmaps_strerror(rc)));
		return NULL;
	}
	lua_pop(L, 1);
	if (!m->name[0])
		snprintf(m->name, sizeof(m->name), "id %u", m->id);
	return l;
}

struct read_ctx {
	lua_State *L;
	const struct bpfmap_info *m;
};

static void push_values(struct read_ctx *c, const struct bpfmap_entry *e)
{
	uint32_t size = c->m->value_size;
	int cpu;

	if (!bpfmap_is_percpu(c->m->type)) {
		lua_pushlstring(c->L, e->value, size);
		return;
	}
	lua_createtable(c->L, e->nvals, 0);
	for (cpu = 0; cpu < e->nvals; cpu++) {
		lua_pushlstring(c->L, (const char *)e->value + (size_t)cpu * size, size);
		lua_rawseti(c->L, -2, cpu + 1);
	}
}

/* Appends an array value, or a hash's {key=, value=}, to the list on top. */
static int push_entry(void *ctx, const struct bpfmap_entry *e)
{
	struct read_ctx *c = ctx;

	if (e->key) {
		lua_createtable(c->L, 0, 2);
		lua_pushlstring(c->L, e->key, c->m->key_size);
		lua_setfield(c->L, -2, "key");
		push_values(c, e);
		lua_setfield(c->L, -2, "value");
	} else {
		push_values(c, e);
	}
	lua_rawseti(c->L, -2, (lua_Integer)e->index + 1);
	return 0;
}

static int read_fail(lua_State *L, int rc, const struct bpfmap_info *m)
{
	if (rc == -EOPNOTSUPP) {
		push_type(L, m->type);
		return lk_fail_msg(L, lua_pushfstring(L, "bpf_map_read: %s: map type %s not supported",
						      m->name, lua_tostring(L, -1)), "ENOTSUP");
	}
	if (rc == -E2BIG)
		return fail_msg(L, rc, lua_pushfstring(L, "bpf_map_read: %s: %s (max_entries %I, "
					"value_size %I)", m->name, bpfmaps_strerror(rc),
					(lua_Integer)m->max_entries, (lua_Integer)m->value_size));
	return fail_msg(L, rc, lua_pushfstring(L, "bpf_map_read: %s: %s", m->name,
					       bpfmaps_strerror(rc)));
}

/* core.bpf_map_read(k, vmlinux_btf, map) -> values | {{key=, value=}, ...} | nil, err, code */
static int l_bpf_map_read(lua_State *L)
{
	struct bpfmap_info m;
	struct read_ctx c = { L, &m };
	const struct bpfmaps_layout *l = check_map(L, "bpf_map_read", &m);
	size_t size;
	void *scratch;
	int rc;

	if (!l)
		return 3;
	rc = bpfmap_scratch_size(check_kmem(L), &m, &size);
	if (rc)
		return read_fail(L, rc, &m);
	scratch = lua_newuserdatauv(L, size ? size : 1, 0);
	lua_createtable(L, m.max_entries < 4096 ? m.max_entries : 4096, 0);
	rc = bpfmap_read(check_kmem(L), l, &m, scratch, push_entry, &c);
	return rc ? read_fail(L, rc, &m) : 1;
}

/* core.bpf_map_btf(k, vmlinux_btf, map) -> raw BTF bytes (for core.btf_new) | nil, err, code */
static int l_bpf_map_btf(lua_State *L)
{
	struct bpfmap_info m;
	const struct bpfmaps_layout *l = check_map(L, "bpf_map_btf", &m);
	size_t len, got;
	luaL_Buffer b;
	char *p;
	int rc;

	if (!l)
		return 3;
	if (!m.btf_va)
		return lk_fail_msg(L, lua_pushfstring(L, "bpf_map_btf: %s: map has no BTF", m.name),
				   "ENOENT");
	rc = bpfmap_btf_blob(check_kmem(L), l, m.btf_va, NULL, 0, &len);
	if (!rc) {
		p = luaL_buffinitsize(L, &b, len);
		rc = bpfmap_btf_blob(check_kmem(L), l, m.btf_va, p, len, &got);
	}
	if (rc)
		return fail_msg(L, rc, lua_pushfstring(L, "bpf_map_btf: %s: %s", m.name,
						       bpfmaps_strerror(rc)));
	luaL_pushresultsize(&b, got);
	return 1;
}

static void l_bpfmaps_setup(lua_State *L)
{
	lua_newtable(L);
	lua_createtable(L, 0, 1);
	lua_pushliteral(L, "k");
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, LAYOUTS);
}

static const luaL_Reg bpfmaps_funcs[] = {
	{ "bpf_maps", l_bpf_maps },
	{ "bpf_progs", l_bpf_progs },
	{ "bpf_map_read", l_bpf_map_read },
	{ "bpf_map_btf", l_bpf_map_btf },
	{ NULL, NULL },
};

LK_MODULE(bpfmaps, bpfmaps_funcs, l_bpfmaps_setup)
