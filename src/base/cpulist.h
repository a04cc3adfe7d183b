/* CPU lists in the kernel's format ("0-3,5,8-15:2/4"): the one parser and printer. */
#ifndef KTSTR_CPULIST_H
#define KTSTR_CPULIST_H

#include <stddef.h>
#include <stdint.h>

#define CPULIST_MAX	8192	/* bits: the kernel's NR_CPUS ceiling */

struct cpulist {
	uint64_t w[CPULIST_MAX / 64];
};

/*
 * Parses a list: comma-separated numbers and ranges a-b, a range optionally
 * strided as a-b:used/group; blanks around the parts and a trailing newline
 * are fine, "" (or blanks) is the empty set. -EINVAL on bad syntax, -ERANGE
 * for a CPU at or above CPULIST_MAX.
 */
int cpulist_parse(const char *s, struct cpulist *m);
static inline int cpulist_test(const struct cpulist *m, unsigned i)
{
	return i < CPULIST_MAX && ((m->w[i / 64] >> (i % 64)) & 1);
}
/* How many CPUs the set holds. */
unsigned cpulist_count(const struct cpulist *m);
/* The highest CPU in the set, or -1 when it is empty. */
int cpulist_last(const struct cpulist *m);
/* Prints the set as "0-3,5" into buf (truncated to len); returns its size. */
unsigned cpulist_format(const struct cpulist *m, char *buf, size_t len);

#endif
