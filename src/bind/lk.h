/* Shared helpers for the thin Lua bindings (l_*.c) and their registration. */
#ifndef KTSTR_LK_H
#define KTSTR_LK_H

#include <lua.h>
#include <lauxlib.h>

/*
 * Each l_*.c adds its functions to the ktstr.core table through
 * LK_MODULE(name, regs); core.c walks the list. Constructors keep core.c
 * free of a hand-kept list of every binding file.
 */
struct lk_module {
	const char *name;
	const luaL_Reg *funcs;
	void (*setup)(lua_State *L);	/* metatables; may be NULL */
	struct lk_module *next;
};

void lk_module_add(struct lk_module *m);
/* The ktstr.core table: every LK_MODULE's functions (core.c). */
int luaopen_ktstr_core(lua_State *L);
struct lk_module *lk_modules(void);

#define LK_MODULE(n, f, s)						\
	static struct lk_module lk_mod_##n = { #n, f, s, NULL };	\
	__attribute__((constructor)) static void lk_mod_init_##n(void)	\
	{								\
		lk_module_add(&lk_mod_##n);				\
	}

/* Pushes true for rc >= 0, else nil, "op: obj: strerror", "ENAME"; returns count. */
int lk_result(lua_State *L, int rc, const char *op, const char *obj);
/* Pushes nil, "op: obj: strerror", "ENAME" for a negative errno; returns 3. */
int lk_fail(lua_State *L, int rc, const char *op, const char *obj);
/* Pushes nil, msg, code for a failure that is not an errno (e.g. "EBADMSG"). */
int lk_fail_msg(lua_State *L, const char *msg, const char *code);

/* Registers a metatable with __index = methods, __gc = __close = close. */
void lk_newclass(lua_State *L, const char *tname, const luaL_Reg *methods,
		 lua_CFunction close, lua_CFunction tostring);

/* Reads an optional integer/string/boolean field of the table at idx. */
lua_Integer lk_opt_int_field(lua_State *L, int idx, const char *k, lua_Integer def);
const char *lk_opt_str_field(lua_State *L, int idx, const char *k, const char *def);
int lk_opt_bool_field(lua_State *L, int idx, const char *k, int def);

/* A timeout argument in seconds as ms: def_ms when absent, -1 (forever) when negative. */
int lk_opt_ms(lua_State *L, int idx, int def_ms);
/* Pushes a waitpid status as {code=} or {signal=, core=}. */
void lk_push_wait_status(lua_State *L, int status);

/*
 * A kernel address: an integer (its 64 bits) or a hex string "0xffff..."
 * (what survives JSON, whose numbers are doubles). Raises on anything else.
 */
unsigned long long lk_check_addr(lua_State *L, int idx);
/* Pushes a kernel address as the hex string lk_check_addr reads back. */
void lk_push_addr(lua_State *L, unsigned long long va);

/* The metatable of core.kernel_open's object, whose userdata is a struct l_kmem (l_kmem.c). */
#define LK_KMEM_MT "ktstr.kernel"

/* Reads a Lua array of strings at idx into a NULL-terminated argv (lua-owned userdata). */
char **lk_check_argv(lua_State *L, int idx, int *argc);

#endif
