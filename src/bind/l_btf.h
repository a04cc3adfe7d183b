/* The BTF object of core.btf_load / core.btf_new, shared with bindings that take one. */
#ifndef KTSTR_L_BTF_H
#define KTSTR_L_BTF_H

#include "lk.h"

struct btf;

#define LK_BTF_MT "ktstr.btf"

/* Userdata of LK_BTF_MT; btf is NULL once closed. */
struct l_btf {
	struct btf *btf;
};

/* The open BTF at idx; raises if idx is not one or it was closed. */
struct btf *l_btf_check(lua_State *L, int idx);

#endif
