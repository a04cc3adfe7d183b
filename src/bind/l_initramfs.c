/* Bindings of the initramfs builder: cpio archives, ELF closures, hashes, files. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initramfs/cpio.h"
#include "initramfs/elfdeps.h"
#include "initramfs/files.h"
#include "src/base/hash.h"
#include "src/base/strlist.h"
#include "lk.h"

/* Reads the entry table at the top of the stack; raises naming entries[i]. */
static void l_cpio_entry(lua_State *L, int i, struct cpio_entry *e)
{
	/* in the order of enum cpio_type */
	static const char *const kinds[] = { "dir", "src", "data", "symlink" };
	int k, ty, t = lua_gettop(L), type = -1;
	lua_Integer mode = 0;
	const char *s;
	char *end;

	if (!lua_istable(L, t))
		luaL_error(L, "entries[%d] must be a table", i);
	memset(e, 0, sizeof(*e));
	if (lua_getfield(L, t, "path") != LUA_TSTRING)
		luaL_error(L, "entries[%d].path must be a string", i);
	e->path = lua_tostring(L, -1);
	for (k = 0; k < 4; k++) {
		ty = lua_getfield(L, t, kinds[k]);
		if (ty == LUA_TNIL)
			continue;
		if (type >= 0)
			luaL_error(L, "entries[%d] has both %s and %s", i,
				   kinds[type], kinds[k]);
		if (k == CPIO_DIR ? ty != LUA_TBOOLEAN || !lua_toboolean(L, -1) :
		    ty != LUA_TSTRING)
			luaL_error(L, "entries[%d].%s must be %s", i, kinds[k],
				   k == CPIO_DIR ? "true" : "a string");
		type = k;
		if (k == CPIO_DATA)
			e->data = lua_tolstring(L, -1, &e->len);
		else if (k != CPIO_DIR)
			e->src = lua_tostring(L, -1);
	}
	if (type < 0)
		luaL_error(L, "entries[%d] needs one of src, data, dir, symlink", i);
	e->type = type;
	/* Lua has no octal literals (0755 is 755): take "0755" as well */
	ty = lua_getfield(L, t, "mode");
	if (ty == LUA_TSTRING) {
		s = lua_tostring(L, -1);
		mode = strtol(s, &end, 8);
		if (!*s || *end)
			mode = -1;
	} else if (ty != LUA_TNIL) {
		mode = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
	}
	if (mode < 0 || mode > 07777)
		luaL_error(L, "entries[%d].mode must be an octal string or an "
			   "integer in 0..0o7777", i);
	e->mode = (unsigned)mode;
	/* the strings stay anchored in the entries table */
	lua_settop(L, t);
}

/* Validates every entry before anything is written: a raise leaks nothing. */
static struct cpio_entry *l_check_entries(lua_State *L, int idx, size_t *n)
{
	struct cpio_entry *e;
	lua_Integer i;

	luaL_checktype(L, idx, LUA_TTABLE);
	*n = (size_t)luaL_len(L, idx);
	e = lua_newuserdatauv(L, (*n ? *n : 1) * sizeof(*e), 0);
	for (i = 1; i <= (lua_Integer)*n; i++) {
		lua_geti(L, idx, i);
		l_cpio_entry(L, (int)i, &e[i - 1]);
		lua_pop(L, 1);
	}
	return e;
}

/* Pushes the list as a Lua array and frees it. */
static int l_push_strlist(lua_State *L, struct strlist *l)
{
	size_t i;

	lua_createtable(L, (int)l->n, 0);
	for (i = 0; i < l->n; i++) {
		lua_pushstring(L, l->v[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	strlist_free(l);
	return 1;
}

/* core.cpio_write(path, entries) -> true | nil, msg, code */
static int l_cpio_write(lua_State *L)
{
	const char *out = luaL_checkstring(L, 1);
	size_t n, bad;
	struct cpio_entry *e = l_check_entries(L, 2, &n);
	int rc = cpio_write(out, e, n, &bad);

	if (bad < n)
		out = e[bad].type == CPIO_FILE ? e[bad].src : e[bad].path;
	return lk_result(L, rc, "cpio_write", out);
}

/* core.elf_closure({bin, ...}) -> {path, ...} | nil, msg, code */
static int l_elf_closure(lua_State *L)
{
	struct strlist libs = { 0 };
	char err[2 * PATH_MAX];
	int n, rc;
	char **bins = lk_check_argv(L, 1, &n);

	rc = elfdeps_closure((const char *const *)bins, n, &libs, err, sizeof(err));
	if (rc < 0) {
		strlist_free(&libs);
		return lk_fail(L, rc, "elf_closure", err);
	}
	return l_push_strlist(L, &libs);
}

/* core.hash_files({path, ...} [, seed]) -> "<16 hex digits>" | nil, msg, code */
static int l_hash_files(lua_State *L)
{
	size_t slen;
	const char *seed = luaL_optlstring(L, 2, "", &slen);
	int i, n, rc = 0;
	char **paths = lk_check_argv(L, 1, &n);	/* pushed: read args before */
	uint64_t h = hash_bytes(HASH_INIT, seed, slen);
	char hex[17];

	for (i = 0; i < n && !rc; i++)
		rc = hash_file(paths[i], &h);
	if (rc < 0)
		return lk_fail(L, rc, "hash_files", paths[i - 1]);
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)h);
	lua_pushstring(L, hex);
	return 1;
}

/* core.file_concat(out, {in, ...}) -> true | nil, msg, code */
static int l_file_concat(lua_State *L)
{
	const char *out = luaL_checkstring(L, 1);
	int n, rc;
	char **ins = lk_check_argv(L, 2, &n);
	size_t bad;

	rc = files_concat(out, (const char *const *)ins, n, &bad);
	return lk_result(L, rc, "file_concat", bad < (size_t)n ? ins[bad] : out);
}

/* core.list_files(dir [, suffix]) -> {relative path, ...} sorted | nil, msg, code */
static int l_list_files(lua_State *L)
{
	const char *dir = luaL_checkstring(L, 1);
	const char *suffix = luaL_optstring(L, 2, NULL);
	struct strlist l = { 0 };
	int rc = files_list(dir, suffix, &l);

	if (rc < 0) {
		strlist_free(&l);
		return lk_fail(L, rc, "list_files", dir);
	}
	return l_push_strlist(L, &l);
}

static const luaL_Reg l_initramfs_funcs[] = {
	{ "cpio_write", l_cpio_write },
	{ "elf_closure", l_elf_closure },
	{ "hash_files", l_hash_files },
	{ "file_concat", l_file_concat },
	{ "list_files", l_list_files },
	{ NULL, NULL },
};

LK_MODULE(initramfs, l_initramfs_funcs, NULL)
