/* luaopen_ktstr_core: gathers every binding file's functions into one table. */
#include "lk.h"

int luaopen_ktstr_core(lua_State *L)
{
	struct lk_module *m;

	lua_newtable(L);
	for (m = lk_modules(); m; m = m->next) {
		if (m->setup)
			m->setup(L);
		luaL_setfuncs(L, m->funcs, 0);
	}
	return 1;
}
