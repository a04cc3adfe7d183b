/* A growable list of owned strings, in insertion order. */
#ifndef KTSTR_STRLIST_H
#define KTSTR_STRLIST_H

#include <stddef.h>

struct strlist {
	char **v;
	size_t n, cap;
};

/* Appends a copy of s; 0 or -ENOMEM. */
int strlist_push(struct strlist *l, const char *s);
/* Index of s, or -1. */
long strlist_find(const struct strlist *l, const char *s);
/* Frees the strings and the array; the list is empty and reusable after. */
void strlist_free(struct strlist *l);

#endif
