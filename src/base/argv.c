/* argv_buf: a growable NULL-terminated argv, for QEMU and other child command lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"

/* Makes room for one more string plus the NULL terminator. */
static int argv_grow(struct argv_buf *a)
{
	size_t cap;
	char **v;

	if (a->n + 2 <= a->cap)
		return 0;
	cap = a->cap ? a->cap * 2 : 16;
	v = realloc(a->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	a->v = v;
	a->cap = cap;
	return 0;
}

int argv_vpush(struct argv_buf *a, const char *fmt, va_list ap)
{
	char *s;

	if (argv_grow(a))
		return -ENOMEM;
	if (vasprintf(&s, fmt, ap) < 0)
		return -ENOMEM;
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

int argv_push(struct argv_buf *a, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = argv_vpush(a, fmt, ap);
	va_end(ap);
	return rc;
}

void argv_truncate(struct argv_buf *a, size_t n)
{
	while (a->n > n)
		free(a->v[--a->n]);
	if (a->v)
		a->v[a->n] = NULL;
}

void argv_free(struct argv_buf *a)
{
	argv_truncate(a, 0);
	free(a->v);
	memset(a, 0, sizeof(*a));
}
