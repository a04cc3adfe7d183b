/* Lua binding of src/base/b64: core.b64encode, core.b64decode. */
#include <errno.h>
#include <stdlib.h>

#include "src/base/b64.h"
#include "lk.h"

/* core.b64encode(bytes) -> string */
static int l_b64encode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	char *out = luaL_buffinitsize(L, &b, b64_encoded_len(n));

	b64_encode((const unsigned char *)s, n, out);
	luaL_pushresultsize(&b, b64_encoded_len(n));
	return 1;
}

/* core.b64decode(text) -> bytes | nil, err, "EINVAL" */
static int l_b64decode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, n / 4 * 3 + 1);
	long len = b64_decode(s, n, out);

	if (len < 0)
		return lk_fail_msg(L, "b64decode: not base64", "EINVAL");
	luaL_pushresultsize(&b, len);
	return 1;
}

static const luaL_Reg b64_funcs[] = {
	{ "b64encode", l_b64encode },
	{ "b64decode", l_b64decode },
	{ NULL, NULL },
};

LK_MODULE(b64, b64_funcs, NULL)
