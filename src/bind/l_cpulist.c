/* ktstr.core binding of src/base/cpulist.c: the one cpulist parser, for Lua too. */
#include <errno.h>

#include "src/base/cpulist.h"
#include "lk.h"

/*
 * core.cpulist_parse(s [, nonempty]) -> {cpu, ...} ascending | nil, err, code
 * The kernel's list format ("0-2,5", "0-7:2/4", a trailing newline); "" is
 * the empty list unless nonempty. Bad syntax is the caller's input, not a
 * bug: nil, message, "EINVAL" (or "ERANGE").
 */
static int l_cpulist_parse(lua_State *L)
{
	const char *s = luaL_checkstring(L, 1);
	int nonempty = lua_toboolean(L, 2);
	struct cpulist *m = lua_newuserdatauv(L, sizeof(*m), 0);
	int rc = cpulist_parse(s, m), i, last, n = 0;

	if (rc == -ERANGE) {
		lua_pushfstring(L, "bad cpulist '%s': CPU numbers must be below %d", s,
				CPULIST_MAX);
		return lk_fail_msg(L, lua_tostring(L, -1), "ERANGE");
	}
	if (rc || (nonempty && !cpulist_count(m))) {
		lua_pushfstring(L, "bad cpulist '%s': expected CPU numbers and ranges like \"0-1,4\"",
				s);
		return lk_fail_msg(L, lua_tostring(L, -1), "EINVAL");
	}
	last = cpulist_last(m);
	lua_createtable(L, (int)cpulist_count(m), 0);
	for (i = 0; i <= last; i++) {
		if (!cpulist_test(m, i))
			continue;
		lua_pushinteger(L, i);
		lua_rawseti(L, -2, ++n);
	}
	return 1;
}

static const luaL_Reg cpulist_funcs[] = {
	{ "cpulist_parse", l_cpulist_parse },
	{ NULL, NULL },
};

LK_MODULE(cpulist, cpulist_funcs, NULL)
