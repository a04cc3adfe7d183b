/* ktstr.core binding of src/guest/kallsyms.c: symbol addresses from /proc/kallsyms. */
#include <stdint.h>

#include "src/guest/kallsyms.h"
#include "lk.h"

/* core.kallsyms({names...} [, path]) -> {name = "0x..."} for those found | nil, err, code */
static int l_kallsyms(lua_State *L)
{
	const char *path = luaL_optstring(L, 2, "/proc/kallsyms");
	int n, i, rc;
	char **names = lk_check_argv(L, 1, &n);
	uint64_t *addr = lua_newuserdatauv(L, sizeof(*addr) * (n ? n : 1), 0);

	rc = kallsyms_lookup(path, (const char *const *)names, n, addr);
	if (rc < 0)
		return lk_fail(L, rc, "kallsyms", path);
	lua_createtable(L, 0, rc);
	for (i = 0; i < n; i++) {
		if (!addr[i])
			continue;
		lk_push_addr(L, addr[i]);
		lua_setfield(L, -2, names[i]);
	}
	return 1;
}

static const luaL_Reg kallsyms_funcs[] = {
	{ "kallsyms", l_kallsyms },
	{ NULL, NULL },
};

LK_MODULE(kallsyms, kallsyms_funcs, NULL)
