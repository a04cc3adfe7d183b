/* ktstr.core bindings for holding BPF maps open in the guest. */
#include <stdint.h>
#include <unistd.h>

#include "src/guest/bpfhold.h"
#include "lk.h"

#define MAX_IDS 4096

/* core.bpf_map_ids() -> {id, ...} | nil, err, code */
static int l_bpf_map_ids(lua_State *L)
{
	uint32_t *ids = lua_newuserdatauv(L, MAX_IDS * sizeof(*ids), 0);
	int n = bpfhold_map_ids(ids, MAX_IDS), i;

	if (n < 0)
		return lk_fail(L, n, "bpf_map_ids", "BPF_MAP_GET_NEXT_ID");
	lua_createtable(L, n, 0);
	for (i = 0; i < n; i++) {
		lua_pushinteger(L, ids[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

/* core.bpf_map_hold(id) -> fd | nil, err, code; core.bpf_map_release(fd) */
static int l_bpf_map_hold(lua_State *L)
{
	int fd = bpfhold_map((uint32_t)luaL_checkinteger(L, 1));

	if (fd < 0)
		return lk_fail(L, fd, "bpf_map_hold", lua_tostring(L, 1));
	lua_pushinteger(L, fd);
	return 1;
}

static int l_bpf_map_release(lua_State *L)
{
	close((int)luaL_checkinteger(L, 1));
	return 0;
}

static const luaL_Reg bpfhold_funcs[] = {
	{ "bpf_map_ids", l_bpf_map_ids },
	{ "bpf_map_hold", l_bpf_map_hold },
	{ "bpf_map_release", l_bpf_map_release },
	{ NULL, NULL },
};

LK_MODULE(bpfhold, bpfhold_funcs, NULL)
