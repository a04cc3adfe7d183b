/* ktstr.core bindings of src/guest/disk.c: the scratch disk's module, name and path. */
#include <errno.h>
#include <limits.h>

#include "src/guest/disk.h"
#include "lk.h"

/* core.module_load(path) -> true | nil, err, code (EEXIST: already loaded) */
static int l_module_load(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);

	return lk_result(L, disk_module_load(path), "finit_module", path);
}

/* core.disk_find() -> "vda" | nil: the block device carrying the scratch disk's serial */
static int l_disk_find(lua_State *L)
{
	char name[NAME_MAX + 1];

	if (disk_find(name, sizeof(name)))
		lua_pushnil(L);
	else
		lua_pushstring(L, name);
	return 1;
}

/*
 * core.disk_path([path | false]) -> the path the IO work types use | nil:
 * with an argument, sets it first (a file or device; false: back to the
 * scratch disk found by serial).
 */
static int l_disk_path(lua_State *L)
{
	char path[PATH_MAX];

	if (!lua_isnone(L, 1)) {
		if (lua_toboolean(L, 1))
			luaL_argcheck(L, !disk_set_path(luaL_checkstring(L, 1)), 1,
				      "path too long");
		else
			disk_set_path(NULL);
	}
	if (disk_path(path, sizeof(path)))
		lua_pushnil(L);
	else
		lua_pushstring(L, path);
	return 1;
}

static const luaL_Reg disk_funcs[] = {
	{ "module_load", l_module_load },
	{ "disk_find", l_disk_find },
	{ "disk_path", l_disk_path },
	{ NULL, NULL },
};

LK_MODULE(disk, disk_funcs, NULL)
