/* ktstr.core bindings of vmm/kmem.c: the guest kernel by virtual address, reads and a word CAS. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/kmem.h"
#include "lk.h"

#define GM_MT "ktstr.guestmem"

struct l_kmem {
	struct kmem k;
};

/* core.kernel_open(gm, {page_offset=, phys_base=, pgd=, levels=, per_cpu_offset=, nr_cpus=}) */
static int l_kernel_open(lua_State *L)
{
	const struct guestmem *gm = luaL_checkudata(L, 1, GM_MT);
	struct kmem_addrs a = { 0 };
	struct l_kmem *lk;
	int rc;

	luaL_checktype(L, 2, LUA_TTABLE);
	lua_getfield(L, 2, "page_offset");
	a.page_offset = lk_check_addr(L, -1);
	lua_getfield(L, 2, "phys_base");
	a.phys_base = lua_isnil(L, -1) ? 0 : lk_check_addr(L, -1);
	lua_getfield(L, 2, "pgd");
	a.pgd = lua_isnil(L, -1) ? 0 : lk_check_addr(L, -1);
	lua_getfield(L, 2, "per_cpu_offset");
	a.per_cpu_offset = lua_isnil(L, -1) ? 0 : lk_check_addr(L, -1);
	lua_pop(L, 4);
	a.levels = (int)lk_opt_int_field(L, 2, "levels", 4);
	a.nr_cpus = (int)lk_opt_int_field(L, 2, "nr_cpus", 1);
	lk = lua_newuserdatauv(L, sizeof(*lk), 1);
	luaL_setmetatable(L, LK_KMEM_MT);
	lua_pushvalue(L, 1);	/* the mapping must outlive us */
	lua_setiuservalue(L, -2, 1);
	rc = kmem_init(&lk->k, gm, &a);
	return rc ? lk_fail(L, rc, "kernel_open", "guest kernel") : 1;
}

static struct kmem *check_kmem(lua_State *L)
{
	return &((struct l_kmem *)luaL_checkudata(L, 1, LK_KMEM_MT))->k;
}

static int push_fault(lua_State *L, int rc, unsigned long long va)
{
	char obj[24];

	snprintf(obj, sizeof(obj), "0x%llx", va);
	return lk_fail(L, rc, "kernel read", obj);
}

/* k:read(va, len) -> bytes | nil, err, code */
static int l_kmem_read(lua_State *L)
{
	struct kmem *k = check_kmem(L);
	unsigned long long va = lk_check_addr(L, 2);
	lua_Integer len = luaL_checkinteger(L, 3);
	luaL_Buffer b;
	char *p;
	int rc;

	luaL_argcheck(L, len >= 0 && len <= (1 << 24), 3, "length out of 0..16 MiB");
	p = luaL_buffinitsize(L, &b, len);
	rc = kmem_read(k, va, p, len);
	if (rc)
		return push_fault(L, rc, va);
	luaL_pushresultsize(&b, len);
	return 1;
}

/* The u64 fn finds for va, as an integer, or the fault. */
static int push_u64_at(lua_State *L, int (*fn)(const struct kmem *, uint64_t, uint64_t *))
{
	unsigned long long va = lk_check_addr(L, 2);
	uint64_t v;
	int rc = fn(check_kmem(L), va, &v);

	if (rc)
		return push_fault(L, rc, va);
	lua_pushinteger(L, (lua_Integer)v);
	return 1;
}

/* k:u64(va) -> integer | nil, err, code */
static int l_kmem_u64(lua_State *L)
{
	return push_u64_at(L, kmem_read_u64);
}

/* k:u32(va) -> integer | nil, err, code */
static int l_kmem_u32(lua_State *L)
{
	unsigned long long va = lk_check_addr(L, 2);
	uint32_t v;
	int rc = kmem_read_u32(check_kmem(L), va, &v);

	if (rc)
		return push_fault(L, rc, va);
	lua_pushinteger(L, v);
	return 1;
}

/*
 * k:cas(va, size, expect, value) -> true | false, found | nil, err, code:
 * the aligned 4- or 8-byte word at va becomes value if it still holds
 * expect (an atomic swap on the shared page). A bad size, alignment or a
 * value too wide is the caller's bug; an address outside guest RAM or a
 * read-only guestmem is the environment's.
 */
static int l_kmem_cas(lua_State *L)
{
	struct kmem *k = check_kmem(L);
	unsigned long long va = lk_check_addr(L, 2);
	lua_Integer size = luaL_checkinteger(L, 3);
	uint64_t expect = (uint64_t)luaL_checkinteger(L, 4);
	uint64_t val = (uint64_t)luaL_checkinteger(L, 5);
	uint64_t old = 0;
	char obj[24];
	int rc;

	luaL_argcheck(L, size == 4 || size == 8, 3, "size must be 4 or 8");
	luaL_argcheck(L, !(va & (size - 1)), 2, "address not aligned to the size");
	luaL_argcheck(L, size == 8 || expect <= UINT32_MAX, 4, "does not fit 32 bits");
	luaL_argcheck(L, size == 8 || val <= UINT32_MAX, 5, "does not fit 32 bits");
	rc = kmem_cas(k, va, (size_t)size, expect, val, &old);
	if (rc == -EAGAIN) {
		lua_pushboolean(L, 0);
		lua_pushinteger(L, (lua_Integer)old);
		return 2;
	}
	if (rc) {
		snprintf(obj, sizeof(obj), "0x%llx", va);
		return lk_fail(L, rc, "kernel write", obj);
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* k:xlate(va) -> guest-physical integer | nil, err, code */
static int l_kmem_xlate(lua_State *L)
{
	return push_u64_at(L, kmem_xlate);
}

/* k:percpu(va, cpu) -> address string of cpu's copy | nil */
static int l_kmem_percpu(lua_State *L)
{
	struct kmem *k = check_kmem(L);
	uint64_t va = kmem_percpu(k, lk_check_addr(L, 2), (int)luaL_checkinteger(L, 3));

	if (!va)
		return 0;
	lk_push_addr(L, va);
	return 1;
}

/* k:nr_cpus() */
static int l_kmem_nr_cpus(lua_State *L)
{
	lua_pushinteger(L, check_kmem(L)->a.nr_cpus);
	return 1;
}

static int l_kmem_close(lua_State *L)
{
	(void)L;	/* nothing owned but the uservalue */
	return 0;
}

static const luaL_Reg kmem_methods[] = {
	{ "read", l_kmem_read },
	{ "u64", l_kmem_u64 },
	{ "u32", l_kmem_u32 },
	{ "cas", l_kmem_cas },
	{ "xlate", l_kmem_xlate },
	{ "percpu", l_kmem_percpu },
	{ "nr_cpus", l_kmem_nr_cpus },
	{ NULL, NULL },
};

static void l_kmem_setup(lua_State *L)
{
	lk_newclass(L, LK_KMEM_MT, kmem_methods, l_kmem_close, NULL);
}

static const luaL_Reg kmem_funcs[] = {
	{ "kernel_open", l_kernel_open },
	{ NULL, NULL },
};

LK_MODULE(kmem, kmem_funcs, l_kmem_setup)
