/* Member offsets, sizes and enum values from BTF, for reading kernel structs by layout. */
#include <errno.h>
#include <string.h>

#include <bpf/btf.h>

#include "kbtf.h"

/* Anonymous members nest in practice a few levels; a cycle is corrupt BTF. */
#define KBTF_MAX_NEST	32

const char *const kbtf_kinds[] = {
	"void", "int", "ptr", "array", "struct", "union", "enum", "fwd",
	"typedef", "volatile", "const", "restrict", "func", "func_proto",
	"var", "datasec", "float", "decl_tag", "type_tag", "enum64", NULL,
};

static const struct btf_type *kbtf_composite(const struct btf *btf, const char *name)
{
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);

	if (id < 0)
		id = btf__find_by_name_kind(btf, name, BTF_KIND_UNION);
	return id < 0 ? NULL : btf__type_by_id(btf, id);
}

/* The type behind id with typedefs and modifiers stripped; NULL if broken. */
static const struct btf_type *kbtf_skip(const struct btf *btf, uint32_t id)
{
	int rid = btf__resolve_type(btf, id);

	return rid < 0 ? NULL : btf__type_by_id(btf, rid);
}

/* Member name (len bytes) of composite t, looking through anonymous members. */
static int kbtf_find(const struct btf *btf, const struct btf_type *t, const char *name,
		     size_t len, uint32_t *bits, uint32_t *type, int depth)
{
	const struct btf_member *m = btf_members(t);
	int i, rc;

	if (depth > KBTF_MAX_NEST)
		return -ENOENT;
	for (i = 0; i < btf_vlen(t); i++, m++) {
		const char *mn = btf__name_by_offset(btf, m->name_off);
		const struct btf_type *sub;

		if (mn && *mn) {
			if (strlen(mn) != len || strncmp(mn, name, len))
				continue;
			if (btf_member_bitfield_size(t, i))
				return -EINVAL;
			*bits = btf_member_bit_offset(t, i);
			*type = m->type;
			return 0;
		}
		sub = kbtf_skip(btf, m->type);
		if (!sub || !btf_is_composite(sub))
			continue;
		rc = kbtf_find(btf, sub, name, len, bits, type, depth + 1);
		if (rc != -ENOENT) {
			*bits += btf_member_bit_offset(t, i);
			return rc;
		}
	}
	return -ENOENT;
}

int kbtf_member(const struct btf *btf, const char *struct_name, const char *path,
		uint32_t *off, uint32_t *size)
{
	const struct btf_type *t = kbtf_composite(btf, struct_name);
	uint32_t bits = 0, type = 0;
	const char *p = path;
	int rc;

	if (!t || !*path)
		return -ENOENT;
	for (;;) {
		size_t len = strcspn(p, ".");
		uint32_t b;

		if (!t || !btf_is_composite(t) || !len)
			return -ENOENT;
		rc = kbtf_find(btf, t, p, len, &b, &type, 0);
		if (rc)
			return rc;
		bits += b;
		if (!p[len])
			break;
		p += len + 1;
		t = kbtf_skip(btf, type);
	}
	rc = btf__resolve_size(btf, type);
	if (rc < 0)
		return rc;
	*off = bits / 8;
	*size = rc;
	return 0;
}

int kbtf_struct_size(const struct btf *btf, const char *name)
{
	const struct btf_type *t = kbtf_composite(btf, name);

	return t ? (int)t->size : -ENOENT;
}

/* Enumerator name in enum or enum64 t, signed when the kind flag says so. */
static int kbtf_enum_find(const struct btf *btf, const struct btf_type *t, const char *name,
			  int64_t *val)
{
	int i;

	for (i = 0; i < btf_vlen(t); i++) {
		uint32_t name_off;
		const char *s;
		int64_t v;

		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t) + i;

			name_off = e->name_off;
			v = btf_kflag(t) ? (int64_t)e->val : (int64_t)(uint32_t)e->val;
		} else {
			name_off = btf_enum64(t)[i].name_off;
			v = (int64_t)btf_enum64_value(btf_enum64(t) + i);
		}
		s = btf__name_by_offset(btf, name_off);
		if (s && !strcmp(s, name)) {
			*val = v;
			return 0;
		}
	}
	return -ENOENT;
}

int kbtf_enum_value(const struct btf *btf, const char *name, int64_t *val)
{
	uint32_t id, n = btf__type_cnt(btf);

	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (btf_is_any_enum(t) && !kbtf_enum_find(btf, t, name, val))
			return 0;
	}
	return -ENOENT;
}
