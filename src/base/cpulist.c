/* CPU lists in the kernel's format: the one parser and printer (cgroups, workers, Lua). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpulist.h"

static const char *cpulist_blank(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* A decimal number after optional blanks. */
static int cpulist_num(const char **s, unsigned long *v)
{
	const char *p = cpulist_blank(*s);
	char *e;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	errno = 0;
	*v = strtoul(p, &e, 10);
	if (errno)
		return -ERANGE;
	*s = cpulist_blank(e);
	return 0;
}

int cpulist_parse(const char *s, struct cpulist *m)
{
	unsigned long a, b, used, grp, i;

	memset(m, 0, sizeof(*m));
	s = cpulist_blank(s);
	while (*s) {
		used = grp = 1;
		if (cpulist_num(&s, &a))
			return -EINVAL;
		b = a;
		if (*s == '-') {
			s++;
			if (cpulist_num(&s, &b))
				return -EINVAL;
			if (*s == ':') {
				s++;
				if (cpulist_num(&s, &used) || *s++ != '/' ||
				    cpulist_num(&s, &grp))
					return -EINVAL;
			}
		}
		if (b < a || !used || !grp || used > grp)
			return -EINVAL;
		if (b >= CPULIST_MAX)
			return -ERANGE;
		for (i = a; i <= b; i++)
			if ((i - a) % grp < used)
				m->w[i / 64] |= 1ULL << (i % 64);
		if (*s == ',') {
			s = cpulist_blank(s + 1);
			if (!*s)
				return -EINVAL;	/* a trailing comma names nothing */
		} else if (*s) {
			return -EINVAL;
		}
	}
	return 0;
}

unsigned cpulist_count(const struct cpulist *m)
{
	unsigned i, n = 0;

	for (i = 0; i < CPULIST_MAX / 64; i++)
		n += (unsigned)__builtin_popcountll(m->w[i]);
	return n;
}

int cpulist_last(const struct cpulist *m)
{
	int i;

	for (i = CPULIST_MAX / 64 - 1; i >= 0; i--)
		if (m->w[i])
			return i * 64 + 63 - __builtin_clzll(m->w[i]);
	return -1;
}

unsigned cpulist_format(const struct cpulist *m, char *buf, size_t len)
{
	unsigned i = 0, j, count = 0;
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	while (i < CPULIST_MAX) {
		if (!cpulist_test(m, i)) {
			i++;
			continue;
		}
		for (j = i; cpulist_test(m, j + 1); j++)
			;
		count += j - i + 1;
		if (off < len)
			off += snprintf(buf + off, len - off, j > i ? "%s%u-%u" : "%s%u",
					off ? "," : "", i, j);
		i = j + 1;
	}
	return count;
}
