/* Reading a work spec from Lua, shared by l_work.c and the worker bindings. */
#ifndef KTSTR_L_WORK_H
#define KTSTR_L_WORK_H

#include "src/guest/work.h"
#include "lk.h"

/*
 * Resolves the table at idx, shaped like core.work_resolve's result:
 * { name = "bursty", args = { sleep_duration = 1000000 },
 *   phases = { { kind = "spin", ns = 100000000 }, ... } }   (args, phases optional)
 * Raises on caller bugs (wrong Lua types); 0 or -EINVAL with a message in err.
 */
int l_work_tospec(lua_State *L, int idx, struct work_spec *s, char *err,
		  size_t errlen);

#endif
