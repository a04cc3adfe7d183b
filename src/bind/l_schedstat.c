/* ktstr.core binding of src/base/schedstat.c: a host thread's schedstat (QEMU's vCPUs). */
#include <stddef.h>
#include <stdint.h>

#include "src/base/schedstat.h"
#include "lk.h"

/* core.schedstat(pid, tid) -> run_ns, delay_ns | nil, err, code */
static int l_schedstat(lua_State *L)
{
	uint64_t run, delay;
	int rc = schedstat_read((int)luaL_checkinteger(L, 1), (int)luaL_checkinteger(L, 2),
				&run, &delay, NULL);

	if (rc)
		return lk_fail(L, rc, "schedstat", lua_tostring(L, 2));
	lua_pushinteger(L, (lua_Integer)run);
	lua_pushinteger(L, (lua_Integer)delay);
	return 2;
}

static const luaL_Reg schedstat_funcs[] = {
	{ "schedstat", l_schedstat },
	{ NULL, NULL },
};

LK_MODULE(schedstat, schedstat_funcs, NULL)
