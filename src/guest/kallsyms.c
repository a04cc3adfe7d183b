/* One pass over /proc/kallsyms for a handful of names; the file is ~10 MB and slow to make. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kallsyms.h"

/* "ffffffff81000000 T _text\n" or "... t name\t[module]\n": the name, NUL-terminated in place. */
static char *kallsyms_name(char *line, uint64_t *addr)
{
	char *end, *name;

	*addr = strtoull(line, &end, 16);
	if (end == line || end[0] != ' ' || !end[1] || end[2] != ' ')
		return NULL;
	name = end + 3;
	name[strcspn(name, "\t\n")] = '\0';
	return name;
}

int kallsyms_lookup(const char *path, const char *const *names, size_t n, uint64_t *addr)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *name;
	size_t cap = 0, i;
	int found = 0;
	uint64_t a;

	if (!f)
		return -errno;
	memset(addr, 0, n * sizeof(*addr));
	while (found < (int)n && getline(&line, &cap, f) > 0) {
		name = kallsyms_name(line, &a);
		if (!name)
			continue;
		for (i = 0; i < n; i++) {
			if (!addr[i] && !strcmp(name, names[i])) {
				addr[i] = a;
				found++;
				break;
			}
		}
	}
	free(line);
	fclose(f);
	return found;
}
