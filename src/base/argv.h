/* A growable, NULL-terminated argv of strdup'd strings for building command lines. */
#ifndef KTSTR_ARGV_H
#define KTSTR_ARGV_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Zero-initialise (struct argv_buf a = { 0 }) to get an empty argv. After
 * any successful push, v[n] == NULL, so v can go straight to execve(2).
 * The strings belong to the buffer; argv_free() releases them.
 */
struct argv_buf {
	char **v;
	size_t n, cap;
};

/* Appends one printf-formatted argument; 0, or -ENOMEM leaving a unchanged. */
int argv_push(struct argv_buf *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int argv_vpush(struct argv_buf *a, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Drops the arguments from index n on (to undo a partly failed build). */
void argv_truncate(struct argv_buf *a, size_t n);
/* Frees every string and the array, and leaves a empty (zeroed). */
void argv_free(struct argv_buf *a);

#endif
