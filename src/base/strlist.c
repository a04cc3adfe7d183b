/* A growable list of owned strings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strlist.h"

int strlist_push(struct strlist *l, const char *s)
{
	char *c;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	c = strdup(s);
	if (!c)
		return -ENOMEM;
	l->v[l->n++] = c;
	return 0;
}

long strlist_find(const struct strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return (long)i;
	return -1;
}

void strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
