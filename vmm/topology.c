/* Guest topology: parse and validate "1n2l2c1t", build its QEMU options, predict guest sysfs. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/argv.h"
#include "topology.h"

#define TOPO_FORM	"expected <N>n<L>l<C>c<T>t, e.g. 1n2l2c1t"
/* Parse cap per count: far above every limit, far below UINT_MAX. */
#define TOPO_PARSE_MAX	1000000u

static int topo_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int topo_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Reads a decimal count at *p and the letter after it; 0 or -EINVAL. */
static int topo_parse_field(const char **p, char letter, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > TOPO_PARSE_MAX)
			return -EINVAL;
	}
	if (*s != letter)
		return -EINVAL;
	*p = s + 1;
	*out = v;
	return 0;
}

int topo_parse(const char *s, struct topo *t, char *err, size_t errlen)
{
	const char *p = s;
	struct topo r = { .numa_nodes = 1 };

	if (!s)
		return topo_err(err, errlen, "topology (null): " TOPO_FORM);
	/* The short form starts "<L>l": no 'n' after the first count. */
	if (topo_parse_field(&p, 'n', &r.numa_nodes))
		p = s;
	if (topo_parse_field(&p, 'l', &r.llcs) ||
	    topo_parse_field(&p, 'c', &r.cores) ||
	    topo_parse_field(&p, 't', &r.threads) || *p)
		return topo_err(err, errlen, "topology '%s': " TOPO_FORM, s);
	*t = r;
	return 0;
}

int topo_format(const struct topo *t, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%un%ul%uc%ut", t->numa_nodes, t->llcs,
			 t->cores, t->threads);

	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

unsigned topo_cpus(const struct topo *t)
{
	return t->llcs * t->cores * t->threads;
}

unsigned topo_default_memory_mib(const struct topo *t)
{
	unsigned unit = TOPO_NODE_ALIGN_MIB * (t->numa_nodes ? t->numa_nodes : 1);
	unsigned mib = TOPO_BASE_MEMORY_MIB + TOPO_CPU_MEMORY_MIB * topo_cpus(t);

	return (mib + unit - 1) / unit * unit;
}

/* The counts only; memory needs them valid to get a default. */
static int topo_validate_shape(const struct topo *t, const char *name,
			       char *err, size_t errlen)
{
	const struct {
		const char *field;
		unsigned v;
	} counts[] = {
		{ "numa_nodes", t->numa_nodes },
		{ "llcs", t->llcs },
		{ "cores", t->cores },
		{ "threads", t->threads },
	};
	unsigned long long cpus;
	size_t i;

	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		if (counts[i].v < 1)
			return topo_err(err, errlen,
					"topology %s: %s must be >= 1 (got %u)",
					name, counts[i].field, counts[i].v);
	if (t->threads > TOPO_MAX_THREADS)
		return topo_err(err, errlen,
				"topology %s: threads must be <= %d (got %u)",
				name, TOPO_MAX_THREADS, t->threads);
	if (t->llcs % t->numa_nodes)
		return topo_err(err, errlen,
				"topology %s: llcs (%u) must be a multiple of numa_nodes (%u)",
				name, t->llcs, t->numa_nodes);
	if (__builtin_mul_overflow(t->llcs, t->cores, &cpus) ||
	    __builtin_mul_overflow(cpus, t->threads, &cpus))
		cpus = ULLONG_MAX;
	/* why: see TOPO_MAX_CPUS */
	if (cpus > TOPO_MAX_CPUS)
		return topo_err(err, errlen,
				"topology %s: %llu vCPUs, at most %d (TCG on a small host: each vCPU is a host thread)",
				name, cpus, TOPO_MAX_CPUS);
	return 0;
}

static int topo_validate_memory(const struct topo *t, const char *name,
				char *err, size_t errlen)
{
	unsigned unit = TOPO_NODE_ALIGN_MIB * t->numa_nodes;
	unsigned mib = t->memory_mib;

	if (mib < TOPO_MIN_MEMORY_MIB)
		return topo_err(err, errlen,
				"topology %s: memory_mib must be >= %d (got %u)",
				name, TOPO_MIN_MEMORY_MIB, mib);
	if (mib > TOPO_MAX_MEMORY_MIB)
		return topo_err(err, errlen,
				"topology %s: memory_mib must be <= %d (got %u)",
				name, TOPO_MAX_MEMORY_MIB, mib);
	if (mib % unit)
		return topo_err(err, errlen,
				"topology %s: memory_mib (%u) must split into %u NUMA nodes of whole %d MiB units: use a multiple of %u",
				name, mib, t->numa_nodes, TOPO_NODE_ALIGN_MIB,
				unit);
	if (mib / t->numa_nodes < TOPO_MIN_NODE_MIB)
		return topo_err(err, errlen,
				"topology %s: memory_mib (%u) gives each of %u NUMA nodes %u MiB; each needs >= %d",
				name, mib, t->numa_nodes, mib / t->numa_nodes,
				TOPO_MIN_NODE_MIB);
	return 0;
}

int topo_validate(struct topo *t, char *err, size_t errlen)
{
	char name[TOPO_NAME_MAX];
	int rc;

	topo_format(t, name, sizeof(name));
	rc = topo_validate_shape(t, name, err, errlen);
	if (rc)
		return rc;
	if (!t->memory_mib)
		t->memory_mib = topo_default_memory_mib(t);
	return topo_validate_memory(t, name, err, errlen);
}

unsigned topo_cpu_core(const struct topo *t, unsigned cpu)
{
	return cpu / t->threads;
}

unsigned topo_cpu_llc(const struct topo *t, unsigned cpu)
{
	return cpu / (t->threads * t->cores);
}

unsigned topo_cpu_node(const struct topo *t, unsigned cpu)
{
	return topo_cpu_llc(t, cpu) / (t->llcs / t->numa_nodes);
}

/* Linux's bitmap list form for one contiguous range: "a" or "a-b". */
static int topo_range(char *buf, size_t len, unsigned first, unsigned last)
{
	int n;

	if (first == last)
		n = snprintf(buf, len, "%u", first);
	else
		n = snprintf(buf, len, "%u-%u", first, last);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

int topo_llc_cpulist(const struct topo *t, unsigned cpu, char *buf, size_t len)
{
	unsigned per = t->cores * t->threads;
	unsigned first = topo_cpu_llc(t, cpu) * per;

	return topo_range(buf, len, first, first + per - 1);
}

int topo_sibling_cpulist(const struct topo *t, unsigned cpu, char *buf,
			 size_t len)
{
	unsigned first = topo_cpu_core(t, cpu) * t->threads;

	return topo_range(buf, len, first, first + t->threads - 1);
}

int topo_node_cpulist(const struct topo *t, unsigned node, char *buf,
		      size_t len)
{
	unsigned per = topo_cpus(t) / t->numa_nodes;

	return topo_range(buf, len, node * per, node * per + per - 1);
}

/* ram_dir with each ',' doubled: QEMU's escape inside an option value. */
static char *topo_escape_commas(const char *s)
{
	size_t n = strlen(s) + 1;
	const char *p;
	char *out, *q;

	for (p = s; *p; p++)
		n += *p == ',';
	out = malloc(n);
	if (!out)
		return NULL;
	for (p = s, q = out; *p; p++) {
		*q++ = *p;
		if (*p == ',')
			*q++ = ',';
	}
	*q = '\0';
	return out;
}

static int topo_push_numa(const struct topo *t, struct argv_buf *a)
{
	char cpus[TOPO_NAME_MAX];
	unsigned i, j;
	int rc = 0;

	for (i = 0; i < t->numa_nodes && !rc; i++) {
		topo_node_cpulist(t, i, cpus, sizeof(cpus));
		rc = argv_push(a, "-numa") ?:
		     argv_push(a, "node,nodeid=%u,cpus=%s,memdev=ram%u",
			       i, cpus, i);
	}
	/* One direction per pair: QEMU assumes symmetry and local = 10. */
	for (i = 0; i < t->numa_nodes && !rc; i++)
		for (j = i + 1; j < t->numa_nodes && !rc; j++)
			rc = argv_push(a, "-numa") ?:
			     argv_push(a, "dist,src=%u,dst=%u,val=%d",
				       i, j, TOPO_REMOTE_DISTANCE);
	return rc;
}

int topo_qemu_args(const struct topo *t, const char *ram_dir,
		   struct argv_buf *a)
{
	struct topo v = *t;
	size_t n0 = a->n;
	unsigned i, node_mib;
	char *dir;
	int rc;

	if (!ram_dir || !*ram_dir || topo_validate(&v, NULL, 0))
		return -EINVAL;
	dir = topo_escape_commas(ram_dir);
	if (!dir)
		return -ENOMEM;
	node_mib = v.memory_mib / v.numa_nodes;

	rc = argv_push(a, "-smp") ?:
	     argv_push(a, "%u,sockets=%u,dies=%u,cores=%u,threads=%u",
		       topo_cpus(&v), v.numa_nodes, v.llcs / v.numa_nodes,
		       v.cores, v.threads) ?:
	     argv_push(a, "-m") ?:
	     argv_push(a, "%uM", v.memory_mib);
	for (i = 0; i < v.numa_nodes && !rc; i++)
		rc = argv_push(a, "-object") ?:
		     argv_push(a, "memory-backend-file,id=ram%u,size=%uM,mem-path=%s/ram%u,share=on",
			       i, node_mib, dir, i);
	if (rc)
		goto out;
	if (v.numa_nodes == 1)
		rc = argv_push(a, "-machine") ?:
		     argv_push(a, "memory-backend=ram0");
	else
		rc = topo_push_numa(&v, a);
out:
	free(dir);
	if (rc)
		argv_truncate(a, n0);
	return rc;
}
