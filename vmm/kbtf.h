/* Kernel BTF lookups: struct layouts and enum values (kbtf_: libbpf owns btf_*). */
#ifndef KTSTR_KBTF_H
#define KTSTR_KBTF_H

#include <stdint.h>

struct btf;

/* Kind names indexed by BTF_KIND_*, NULL-terminated ("void" for kind 0). */
extern const char *const kbtf_kinds[];

/*
 * Byte offset and size of a dotted member path inside a struct or union,
 * e.g. ("rq", "scx.local_dsq.nr"). Anonymous struct/union members are
 * looked through and typedefs/modifiers skipped on the way down.
 * 0, -ENOENT if any step is absent, -EINVAL if the member is a bitfield.
 */
int kbtf_member(const struct btf *btf, const char *struct_name, const char *path,
		uint32_t *off, uint32_t *size);
/* sizeof(struct name), or of union name when no struct has it; -ENOENT. */
int kbtf_struct_size(const struct btf *btf, const char *name);
/* The value of enumerator name in any enum or enum64; 0 or -ENOENT. */
int kbtf_enum_value(const struct btf *btf, const char *name, int64_t *val);

#endif
