/* Lists the guest's BPF maps from map_idr and reads array and hash map contents. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <linux/bpf.h>

#include "bpfmaps.h"
#include "kbtf.h"

/* include/linux/xarray.h */
#define XA_CHUNK_SHIFT	6
#define XA_CHUNK_SIZE	(1 << XA_CHUNK_SHIFT)
#define XA_MAX_SHIFT	60	/* the top of a 64-bit index */
#define MAP_BUF		1024	/* room for struct bpf_map, read in one go */

#define ROUND8(x)	(((uint64_t)(x) + 7) & ~7ULL)

struct layout_field {
	const char *s, *path;
	size_t at;		/* offsetof the field in struct bpfmaps_layout */
	uint32_t size;		/* what the reader assumes; 0: anything */
};

#define F(s, p, f, sz) { s, p, offsetof(struct bpfmaps_layout, f), sz }
static const struct layout_field layout_fields[] = {
	F("idr", "idr_rt.xa_head", xa_head, 8),
	F("xa_node", "shift", node_shift, 1),
	F("xa_node", "slots", node_slots, 8 * XA_CHUNK_SIZE),
	F("bpf_map", "id", map_id, 4),
	F("bpf_map", "name", map_name, BPFMAP_NAME_LEN),
	F("bpf_map", "map_type", map_type, 4),
	F("bpf_map", "key_size", map_key_size, 4),
	F("bpf_map", "value_size", map_value_size, 4),
	F("bpf_map", "max_entries", map_max_entries, 4),
	F("bpf_map", "map_flags", map_flags, 4),
	F("bpf_map", "btf", map_btf, 8),
	F("bpf_map", "btf_key_type_id", map_btf_key_type_id, 4),
	F("bpf_map", "btf_value_type_id", map_btf_value_type_id, 4),
	F("bpf_array", "map", array_map, 0),
	F("bpf_array", "value", array_value, 0),
	F("bpf_array", "pptrs", array_pptrs, 0),
	F("bpf_htab", "map", htab_map, 0),
	F("bpf_htab", "buckets", htab_buckets, 8),
	F("bpf_htab", "n_buckets", htab_n_buckets, 4),
	F("bucket", "head.first", bucket_first, 8),
	F("htab_elem", "hash_node", elem_node, 0),
	F("htab_elem", "key", elem_key, 0),
	F("hlist_nulls_node", "next", node_next, 8),
	F("btf", "data", btf_data, 8),
	F("btf", "data_size", btf_data_size, 4),
	F("bpf_prog", "type", prog_type, 4),
	F("bpf_prog", "aux", prog_aux, 8),
	F("bpf_prog", "stats", prog_stats, 8),
	F("bpf_prog_aux", "id", aux_id, 4),
	F("bpf_prog_aux", "name", aux_name, BPFMAP_NAME_LEN),
	F("bpf_prog_aux", "verified_insns", aux_verified_insns, 4),
	F("bpf_prog_stats", "cnt", pstats_cnt, 8),
	F("bpf_prog_stats", "nsecs", pstats_nsecs, 8),
};
#undef F

/* -ENOENT for an absent member, -EPROTO for one whose size the reader does not expect. */
static int layout_field_init(struct bpfmaps_layout *l, const struct btf *btf,
			     const struct layout_field *f)
{
	uint32_t off, size;
	int rc = kbtf_member(btf, f->s, f->path, &off, &size);

	if (!rc && f->size && size != f->size)
		rc = -EPROTO;
	if (rc) {
		snprintf(l->missing, sizeof(l->missing), "%s.%s", f->s, f->path);
		return rc;
	}
	*(uint32_t *)((char *)l + f->at) = off;
	return 0;
}

static int layout_size(struct bpfmaps_layout *l, const struct btf *btf, const char *name,
		       uint32_t *size, uint32_t max)
{
	int rc = kbtf_struct_size(btf, name);

	if (rc < 0 || (uint32_t)rc > max) {
		snprintf(l->missing, sizeof(l->missing), "%s", name);
		return rc < 0 ? rc : -EPROTO;
	}
	*size = rc;
	return 0;
}

int bpfmaps_layout_init(struct bpfmaps_layout *l, const struct btf *vmlinux)
{
	size_t i;
	int rc;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < sizeof(layout_fields) / sizeof(layout_fields[0]); i++) {
		rc = layout_field_init(l, vmlinux, &layout_fields[i]);
		if (rc)
			return rc;
	}
	rc = layout_size(l, vmlinux, "bpf_map", &l->map_size, MAP_BUF);
	if (!rc)
		rc = layout_size(l, vmlinux, "bucket", &l->bucket_size, 4096);
	return rc;
}

static uint32_t u32_at(const uint8_t *b, uint32_t off)
{
	uint32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static uint64_t u64_at(const uint8_t *b, uint32_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

int bpfmap_info_read(const struct kmem *k, const struct bpfmaps_layout *l, uint64_t va,
		     struct bpfmap_info *m)
{
	uint8_t buf[MAP_BUF];
	int rc = kmem_read(k, va, buf, l->map_size);

	if (rc)
		return rc;
	memset(m, 0, sizeof(*m));
	m->va = va;
	m->id = u32_at(buf, l->map_id);
	memcpy(m->name, buf + l->map_name, BPFMAP_NAME_LEN);
	m->type = u32_at(buf, l->map_type);
	m->key_size = u32_at(buf, l->map_key_size);
	m->value_size = u32_at(buf, l->map_value_size);
	m->max_entries = u32_at(buf, l->map_max_entries);
	m->map_flags = u32_at(buf, l->map_flags);
	m->btf_va = u64_at(buf, l->map_btf);
	m->btf_key_type_id = u32_at(buf, l->map_btf_key_type_id);
	m->btf_value_type_id = u32_at(buf, l->map_btf_value_type_id);
	return 0;
}

struct xa_walk {
	const struct kmem *k;
	const struct bpfmaps_layout *l;
	int (*leaf)(struct xa_walk *w, uint64_t entry);
	void *out;
	int max, n, nodes;
};

/* xa_is_node(): an internal entry ((e & 3) == 2) above the small internal values */
static int xa_is_node(uint64_t e)
{
	return (e & 3) == 2 && e > 4096;
}

static int xa_node_walk(struct xa_walk *w, uint64_t node, int shift_above);

/* One slot's entry, from a node of the given shift (-1 for xa_head). */
static int xa_entry(struct xa_walk *w, uint64_t e, int shift)
{
	if (xa_is_node(e))
		return shift ? xa_node_walk(w, e - 2, shift) : -EBADMSG;
	if (!e || (e & 3))	/* empty, value or other internal entry */
		return 0;
	if (w->n == w->max)
		return -ENOSPC;
	if (w->leaf(w, e))
		return -EFAULT;
	w->n++;
	return 0;
}

/*
 * Each level down is XA_CHUNK_SHIFT narrower, so the recursion is at most 11
 * deep and a node met again as its own descendant is refused; the node
 * budget bounds what a DAG of shared nodes could fan out to.
 */
static int xa_node_walk(struct xa_walk *w, uint64_t node, int shift_above)
{
	uint64_t slots[XA_CHUNK_SIZE];
	uint8_t shift;
	int i, rc;

	if (++w->nodes > BPFMAP_MAX_NODES)
		return -ELOOP;
	rc = kmem_read(w->k, node + w->l->node_shift, &shift, 1);
	if (!rc)
		rc = kmem_read(w->k, node + w->l->node_slots, slots, sizeof(slots));
	if (rc)
		return rc;
	if (shift_above < 0 ? shift > XA_MAX_SHIFT || shift % XA_CHUNK_SHIFT :
	    shift + XA_CHUNK_SHIFT != shift_above)
		return -EBADMSG;
	for (i = 0; i < XA_CHUNK_SIZE; i++) {
		rc = xa_entry(w, slots[i], shift);
		if (rc)
			return rc;
	}
	return 0;
}

/* Every pointer an IDR holds, each handed to w->leaf: the count or -errno. */
static int idr_walk(struct xa_walk *w, uint64_t idr_va)
{
	uint64_t head;
	int rc = kmem_read_u64(w->k, idr_va + w->l->xa_head, &head);

	if (!rc)
		rc = xa_entry(w, head, -1);
	return rc ? rc : w->n;
}

static int map_leaf(struct xa_walk *w, uint64_t e)
{
	return bpfmap_info_read(w->k, w->l, e, (struct bpfmap_info *)w->out + w->n);
}

int bpfmaps_list(const struct kmem *k, const struct bpfmaps_layout *l, uint64_t map_idr_va,
		 struct bpfmap_info *out, int max)
{
	struct xa_walk w = { .k = k, .l = l, .leaf = map_leaf, .out = out, .max = max };

	return idr_walk(&w, map_idr_va);
}

/* Run counts summed over the CPUs' stats; 0 and 0 while kernel.bpf_stats_enabled is off. */
static int prog_stats(const struct kmem *k, const struct bpfmaps_layout *l, uint64_t stats,
		      struct bpfprog_info *p)
{
	int cpu;

	for (cpu = 0; stats && cpu < k->a.nr_cpus; cpu++) {
		uint64_t at = kmem_percpu(k, stats, cpu), cnt, ns;

		if (kmem_read_u64(k, at + l->pstats_cnt, &cnt) ||
		    kmem_read_u64(k, at + l->pstats_nsecs, &ns))
			return -EFAULT;
		p->cnt += cnt;
		p->nsecs += ns;
	}
	return 0;
}

static int prog_leaf(struct xa_walk *w, uint64_t e)
{
	struct bpfprog_info *p = (struct bpfprog_info *)w->out + w->n;
	const struct bpfmaps_layout *l = w->l;
	uint64_t aux, stats;

	memset(p, 0, sizeof(*p));
	p->va = e;
	if (kmem_read(w->k, e + l->prog_type, &p->type, 4) ||
	    kmem_read_u64(w->k, e + l->prog_aux, &aux) ||
	    kmem_read_u64(w->k, e + l->prog_stats, &stats) ||
	    kmem_read(w->k, aux + l->aux_id, &p->id, 4) ||
	    kmem_read(w->k, aux + l->aux_name, p->name, BPFMAP_NAME_LEN) ||
	    kmem_read(w->k, aux + l->aux_verified_insns, &p->verified_insns, 4))
		return -EFAULT;
	p->name[BPFMAP_NAME_LEN] = '\0';
	return prog_stats(w->k, l, stats, p);
}

int bpfprogs_list(const struct kmem *k, const struct bpfmaps_layout *l, uint64_t prog_idr_va,
		  struct bpfprog_info *out, int max)
{
	struct xa_walk w = { .k = k, .l = l, .leaf = prog_leaf, .out = out, .max = max };

	return idr_walk(&w, prog_idr_va);
}

int bpfmap_is_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static int map_is_hash(uint32_t type)
{
	return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH ||
	       type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static int map_is_array(uint32_t type)
{
	return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

int bpfmap_scratch_size(const struct kmem *k, const struct bpfmap_info *m, size_t *size)
{
	uint64_t nvals = bpfmap_is_percpu(m->type) ? k->a.nr_cpus : 1;
	uint64_t key = map_is_hash(m->type) ? m->key_size : 0;
	uint64_t entry = key + nvals * m->value_size;

	if (!map_is_hash(m->type) && !map_is_array(m->type))
		return -EOPNOTSUPP;
	if (m->value_size > BPFMAP_MAX_VALUE || key > BPFMAP_MAX_KEY ||
	    m->max_entries > BPFMAP_MAX_ENTRIES || entry * m->max_entries > BPFMAP_MAX_BYTES)
		return -E2BIG;
	*size = entry;
	return 0;
}

struct map_walk {
	const struct kmem *k;
	const struct bpfmaps_layout *l;
	const struct bpfmap_info *m;
	uint8_t *key, *val;
	int percpu, nvals;
	uint64_t seen;
	bpfmap_fn fn;
	void *ctx;
};

/* The value at va, or for per-CPU maps every CPU's copy of the __percpu pointer at va. */
static int read_values(struct map_walk *w, uint64_t va)
{
	uint32_t size = w->m->value_size;
	uint64_t pptr;
	int cpu, rc;

	if (!w->percpu)
		return kmem_read(w->k, va, w->val, size);
	rc = kmem_read_u64(w->k, va, &pptr);
	for (cpu = 0; !rc && cpu < w->nvals; cpu++)
		rc = kmem_read(w->k, kmem_percpu(w->k, pptr, cpu), w->val + (size_t)cpu * size,
			       size);
	return rc;
}

static int emit(struct map_walk *w, uint64_t index, const void *key)
{
	struct bpfmap_entry e = { index, key, w->val, w->nvals };

	return w->fn(w->ctx, &e);
}

/* Values follow bpf_array in index order: inline, or as __percpu pointers. */
static int array_read(struct map_walk *w)
{
	uint64_t base = w->m->va - w->l->array_map, i, va;
	int rc;

	for (i = 0; i < w->m->max_entries; i++) {
		if (w->percpu)
			va = base + w->l->array_pptrs + 8 * i;
		else
			va = base + w->l->array_value + ROUND8(w->m->value_size) * i;
		rc = read_values(w, va);
		if (!rc)
			rc = emit(w, i, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

/* One bucket's hlist_nulls chain; a pointer with bit 0 set is the end marker. */
static int htab_chain(struct map_walk *w, uint64_t node)
{
	uint64_t cap = (uint64_t)w->m->max_entries + BPFMAP_HASH_SLACK, key;
	int rc;

	while (node && !(node & 1)) {
		if (w->seen >= cap)
			return -ELOOP;
		key = node - w->l->elem_node + w->l->elem_key;
		rc = kmem_read(w->k, key, w->key, w->m->key_size);
		if (!rc)
			rc = read_values(w, key + ROUND8(w->m->key_size));
		if (!rc)
			rc = emit(w, w->seen++, w->key);
		if (!rc)
			rc = kmem_read_u64(w->k, node + w->l->node_next, &node);
		if (rc)
			return rc;
	}
	return 0;
}

static int htab_read(struct map_walk *w)
{
	uint64_t htab = w->m->va - w->l->htab_map, buckets, b, first;
	uint32_t n;
	int rc = kmem_read_u64(w->k, htab + w->l->htab_buckets, &buckets);

	if (!rc)
		rc = kmem_read_u32(w->k, htab + w->l->htab_n_buckets, &n);
	if (rc)
		return rc;
	/* n_buckets = roundup_pow_of_two(max_entries) */
	if (!n || (n & (n - 1)) || n > 2ULL * w->m->max_entries)
		return -EBADMSG;
	for (b = 0; b < n; b++) {
		rc = kmem_read_u64(w->k, buckets + b * w->l->bucket_size + w->l->bucket_first,
				   &first);
		if (!rc)
			rc = htab_chain(w, first);
		if (rc)
			return rc;
	}
	return 0;
}

int bpfmap_read(const struct kmem *k, const struct bpfmaps_layout *l,
		const struct bpfmap_info *m, void *scratch, bpfmap_fn fn, void *ctx)
{
	struct map_walk w = { .k = k, .l = l, .m = m, .fn = fn, .ctx = ctx };
	size_t size;
	int rc = bpfmap_scratch_size(k, m, &size);

	if (rc)
		return rc;
	w.percpu = bpfmap_is_percpu(m->type);
	w.nvals = w.percpu ? k->a.nr_cpus : 1;
	w.key = scratch;
	if (!map_is_hash(m->type)) {
		w.val = scratch;
		return array_read(&w);
	}
	w.val = w.key + m->key_size;
	return htab_read(&w);
}

int bpfmap_btf_blob(const struct kmem *k, const struct bpfmaps_layout *l, uint64_t btf_va,
		    void *buf, size_t cap, size_t *len)
{
	uint64_t data;
	uint32_t size;
	int rc = kmem_read_u64(k, btf_va + l->btf_data, &data);

	if (!rc)
		rc = kmem_read_u32(k, btf_va + l->btf_data_size, &size);
	if (rc)
		return rc;
	if (size > BPFMAP_MAX_BTF)
		return -E2BIG;
	*len = size;
	if (!buf)
		return 0;
	return cap < size ? -ENOSPC : kmem_read(k, data, buf, size);
}

const char *bpfmaps_strerror(int rc)
{
	switch (rc) {
	case -EFAULT:
		return "unreadable guest memory (a wild pointer?)";
	case -EBADMSG:
		return "corrupted structure (xa_node shift or bucket count out of range)";
	case -ELOOP:
		return "too many xarray nodes or hash elements (a cycle?)";
	case -E2BIG:
		return "too large to read";
	case -ENOSPC:
		return "more maps than the list has room for";
	case -EPROTO:
		return "vmlinux BTF layout differs from what the reader expects";
	default:
		return strerror(-rc);
	}
}
