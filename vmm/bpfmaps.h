/* The guest kernel's BPF maps, found through map_idr and read through struct kmem only. */
#ifndef KTSTR_BPFMAPS_H
#define KTSTR_BPFMAPS_H

#include <stddef.h>
#include <stdint.h>

#include "kmem.h"

struct btf;

/*
 * Guest memory is never trusted: every limit below turns a corrupt or
 * hostile structure into an error instead of a long walk or a huge copy.
 * BPFMAP_MAX_VALUE is the kernel's own cap on an array value
 * (KMALLOC_MAX_SIZE), so a big .bss still reads.
 */
#define BPFMAP_MAX_VALUE	(4u << 20)
#define BPFMAP_MAX_KEY		(1u << 20)
#define BPFMAP_MAX_ENTRIES	(1u << 20)
#define BPFMAP_MAX_BYTES	(64u << 20)	/* keys and values of one read */
#define BPFMAP_MAX_BTF		(16u << 20)
#define BPFMAP_MAX_NODES	(1 << 14)	/* xa_nodes visited per list */
#define BPFMAP_HASH_SLACK	1024		/* elements past max_entries: a cycle */
#define BPFMAP_NAME_LEN		16		/* BPF_OBJ_NAME_LEN, NUL included */

/* Byte offsets from the guest's BTF. */
struct bpfmaps_layout {
	uint32_t xa_head;			/* idr.idr_rt.xa_head */
	uint32_t node_shift, node_slots;	/* xa_node */
	uint32_t map_size;			/* sizeof(struct bpf_map) */
	uint32_t map_id, map_name, map_type, map_key_size, map_value_size;
	uint32_t map_max_entries, map_flags, map_btf;
	uint32_t map_btf_key_type_id, map_btf_value_type_id;
	uint32_t array_map, array_value, array_pptrs;	/* bpf_array */
	uint32_t htab_map, htab_buckets, htab_n_buckets;	/* bpf_htab */
	uint32_t bucket_size, bucket_first;	/* bucket, bucket.head.first */
	uint32_t elem_node, elem_key;		/* htab_elem.hash_node, .key */
	uint32_t node_next;			/* hlist_nulls_node.next */
	uint32_t btf_data, btf_data_size;	/* struct btf */
	uint32_t prog_type, prog_aux, prog_stats;	/* bpf_prog */
	uint32_t aux_id, aux_name, aux_verified_insns;	/* bpf_prog_aux */
	uint32_t pstats_cnt, pstats_nsecs;	/* bpf_prog_stats, per CPU */
	char missing[64];			/* "struct.member" when init fails */
};

struct bpfmap_info {
	uint32_t id;
	uint64_t va;				/* struct bpf_map */
	char name[BPFMAP_NAME_LEN + 1];
	uint32_t type, key_size, value_size, max_entries, map_flags;
	uint64_t btf_va;			/* struct btf, 0 without */
	uint32_t btf_key_type_id, btf_value_type_id;
};

struct bpfprog_info {
	uint32_t id, type, verified_insns;
	uint64_t va;				/* struct bpf_prog */
	char name[BPFMAP_NAME_LEN + 1];
	uint64_t cnt, nsecs;			/* runs and their time, all CPUs */
};

/* One element as bpfmap_read hands it over; valid during the callback only. */
struct bpfmap_entry {
	uint64_t index;		/* array index; walk order for hashes */
	const void *key;	/* key_size bytes; NULL for arrays */
	const void *value;	/* nvals values of value_size bytes each */
	int nvals;		/* 1, or one per CPU for per-CPU maps */
};

/* Nonzero stops the read and is returned by bpfmap_read. */
typedef int (*bpfmap_fn)(void *ctx, const struct bpfmap_entry *e);

/* Offsets from vmlinux BTF; 0, or -ENOENT with l->missing naming the member. */
int bpfmaps_layout_init(struct bpfmaps_layout *l, const struct btf *vmlinux);
/*
 * Every map in the map_idr xarray at map_idr_va, into out[0..max): the count,
 * or -EFAULT (wild pointer), -EBADMSG (xa_node shifts out of order),
 * -ELOOP (more than BPFMAP_MAX_NODES nodes), -ENOSPC (more than max maps).
 */
int bpfmaps_list(const struct kmem *k, const struct bpfmaps_layout *l, uint64_t map_idr_va,
		 struct bpfmap_info *out, int max);
/* Every program in prog_idr, as bpfmaps_list does maps. */
int bpfprogs_list(const struct kmem *k, const struct bpfmaps_layout *l, uint64_t prog_idr_va,
		  struct bpfprog_info *out, int max);
/* The header of the struct bpf_map at va; 0 or -EFAULT. */
int bpfmap_info_read(const struct kmem *k, const struct bpfmaps_layout *l, uint64_t va,
		     struct bpfmap_info *m);
/*
 * Scratch bytes bpfmap_read needs for m (a key and every CPU's value) into
 * *size; -EOPNOTSUPP for a type it cannot read, -E2BIG past the limits.
 */
int bpfmap_scratch_size(const struct kmem *k, const struct bpfmap_info *m, size_t *size);
/*
 * Calls fn for each element: arrays in index order, hashes bucket by bucket.
 * 0, fn's nonzero return, or -EFAULT, -EBADMSG (bucket count), -ELOOP
 * (a hash chain longer than max_entries allows), or bpfmap_scratch_size's.
 */
int bpfmap_read(const struct kmem *k, const struct bpfmaps_layout *l,
		const struct bpfmap_info *m, void *scratch, bpfmap_fn fn, void *ctx);
/*
 * The BTF blob of the struct btf at btf_va: its size into *len, and when buf
 * is not NULL (and cap >= *len) the bytes. 0, -E2BIG past BPFMAP_MAX_BTF,
 * -ENOSPC if cap is short, -EFAULT.
 */
int bpfmap_btf_blob(const struct kmem *k, const struct bpfmaps_layout *l, uint64_t btf_va,
		    void *buf, size_t cap, size_t *len);
/* Whether values of this map type are per CPU (bpfmap_entry.nvals == nr_cpus). */
int bpfmap_is_percpu(uint32_t type);
/* What an error from these functions means here, for messages. */
const char *bpfmaps_strerror(int rc);

#endif
