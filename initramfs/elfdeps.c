/*
 * ELF DT_NEEDED closure over the host's files, in the search order of
 * glibc's _dl_map_object (elf/dl-load.c) as Debian builds it for x86_64.
 * Each input is its own process: its libraries are searched with its
 * RPATH/RUNPATH and a name already loaded in that process is not searched
 * again. A library input (no PT_INTERP) is dlopen'ed by some executable,
 * so the interpreters of the executable inputs count as loaded in it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfdeps.h"

#define ELFDEPS_CONF		"/etc/ld.so.conf"
#define ELFDEPS_LIB		"lib/x86_64-linux-gnu"	/* $LIB */
#define ELFDEPS_PLATFORM	"x86_64"		/* $PLATFORM */

static const char *const elfdeps_default_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/lib",
	"/usr/lib",
};

struct elfdeps_obj {
	char *path;		/* as searched, normalized */
	char *origin;		/* $ORIGIN */
	char *soname;
	char *rpath, *runpath;	/* NULL when absent; RUNPATH voids RPATH */
	long loader;		/* index of the object that needed it, or -1 */
	int input;
	int nodeflib;		/* DF_1_NODEFLIB: no ld.so.conf or default dirs */
	unsigned char ident[4];	/* EI_CLASS, EI_DATA, e_machine: what its libs must match */
	struct strlist needed;
};

struct elfdeps {
	struct elfdeps_obj *objs;	/* of the process being resolved */
	size_t n, cap;
	struct strlist names;	/* names loaded in that process */
	struct strlist rtld;	/* sonames of the interpreters: loaded in every process */
	struct strlist conf;	/* ld.so.conf directories */
	char *err;
	size_t errlen;
};

/* Lexically: "/a/./b//../c" -> "/a/c"; -EINVAL for a relative path. */
static int elfdeps_norm(char *out, size_t len, const char *path)
{
	const char *p = path, *e;
	size_t o = 0, n;

	if (*p != '/')
		return -EINVAL;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchrnul(p, '/');
		n = e - p;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[--o] != '/')
				;
		} else if (n != 1 || p[0] != '.') {
			if (o + n + 2 > len)
				return -ENAMETOOLONG;
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	if (!o)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

/* Expands $ORIGIN, $LIB and $PLATFORM (or ${...}) in s[0..n) into out. */
static int elfdeps_expand(char *out, size_t len, const char *s, size_t n,
			  const char *origin)
{
	static const char *const names[] = { "ORIGIN", "LIB", "PLATFORM" };
	const char *vals[] = { origin, ELFDEPS_LIB, ELFDEPS_PLATFORM };
	const char *v;
	size_t i = 0, o = 0, k, kl, vl, used;
	int br;

	while (i < n) {
		v = s + i;
		vl = used = 1;
		br = s[i] == '$' && i + 1 < n && s[i + 1] == '{';
		for (k = 0; s[i] == '$' && k < 3; k++) {
			kl = strlen(names[k]);
			if (i + 1 + br + kl + br > n ||
			    strncmp(s + i + 1 + br, names[k], kl) ||
			    (br && s[i + 1 + br + kl] != '}') ||
			    (!br && i + 1 + kl < n &&
			     (s[i + 1 + kl] == '_' ||
			      isalnum((unsigned char)s[i + 1 + kl]))))
				continue;
			v = vals[k];
			vl = strlen(v);
			used = 1 + br + kl + br;
			break;
		}
		if (o + vl >= len)
			return -ENAMETOOLONG;
		memcpy(out + o, v, vl);
		o += vl;
		i += used;
	}
	out[o] = '\0';
	return 0;
}

/* Opens path if it is ELF and, when want is set, of that class and machine. */
static int elfdeps_open(const char *path, const unsigned char *want,
			unsigned char *ident)
{
	unsigned char h[20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (pread(fd, h, sizeof(h), 0) != sizeof(h) || memcmp(h, ELFMAG, SELFMAG)) {
		close(fd);
		return -ENOEXEC;
	}
	ident[0] = h[EI_CLASS];
	ident[1] = h[EI_DATA];
	ident[2] = h[18];	/* e_machine, at the same offset in ELF32 and ELF64 */
	ident[3] = h[19];
	if (want && memcmp(want, ident, 4)) {
		close(fd);
		return -ENOEXEC;
	}
	return fd;
}

static int elfdeps_dup(char **dst, const char *s)
{
	free(*dst);
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

/* Reads PT_INTERP and the dynamic section through the program headers, as ld.so does. */
static int elfdeps_parse(struct elfdeps_obj *o, int fd, char *interp,
			 size_t ilen)
{
	GElf_Phdr ph, dyn = { .p_type = PT_NULL };
	GElf_Addr strtab = 0;
	GElf_Xword strsz = 0;
	Elf_Data *dd, *sd;
	const char *strs;
	size_t nph, ndyn, i;
	GElf_Dyn dt;
	int rc = -ENOEXEC;
	Elf *e;

	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &nph))
		goto out;
	for (i = 0; i < nph; i++) {
		if (!gelf_getphdr(e, i, &ph))
			goto out;
		if (ph.p_type == PT_DYNAMIC) {
			dyn = ph;
		} else if (ph.p_type == PT_INTERP) {
			sd = elf_getdata_rawchunk(e, ph.p_offset, ph.p_filesz,
						  ELF_T_BYTE);
			if (!sd || !ph.p_filesz || ph.p_filesz > ilen ||
			    ((char *)sd->d_buf)[ph.p_filesz - 1])
				goto out;
			memcpy(interp, sd->d_buf, ph.p_filesz);
		}
	}
	rc = 0;
	if (dyn.p_type != PT_DYNAMIC)
		goto out;	/* static */
	rc = -ENOEXEC;
	dd = elf_getdata_rawchunk(e, dyn.p_offset, dyn.p_filesz, ELF_T_DYN);
	if (!dd)
		goto out;
	ndyn = dyn.p_filesz / gelf_fsize(e, ELF_T_DYN, 1, EV_CURRENT);
	for (i = 0; i < ndyn && gelf_getdyn(dd, i, &dt) && dt.d_tag != DT_NULL; i++) {
		if (dt.d_tag == DT_STRTAB)
			strtab = dt.d_un.d_ptr;
		else if (dt.d_tag == DT_STRSZ)
			strsz = dt.d_un.d_val;
		else if (dt.d_tag == DT_FLAGS_1 && (dt.d_un.d_val & DF_1_NODEFLIB))
			o->nodeflib = 1;
	}
	/* DT_STRTAB is an address: find the PT_LOAD that maps it */
	for (i = 0; i < nph && gelf_getphdr(e, i, &ph); i++)
		if (ph.p_type == PT_LOAD && strtab >= ph.p_vaddr &&
		    strtab + strsz <= ph.p_vaddr + ph.p_filesz)
			break;
	if (i == nph || !strsz)
		goto out;
	sd = elf_getdata_rawchunk(e, ph.p_offset + (strtab - ph.p_vaddr), strsz,
				  ELF_T_BYTE);
	if (!sd)
		goto out;
	strs = sd->d_buf;
	rc = 0;
	for (i = 0; !rc && i < ndyn && gelf_getdyn(dd, i, &dt) &&
		    dt.d_tag != DT_NULL; i++) {
		const char *s = strs + dt.d_un.d_val;

		if (dt.d_tag != DT_NEEDED && dt.d_tag != DT_SONAME &&
		    dt.d_tag != DT_RPATH && dt.d_tag != DT_RUNPATH)
			continue;
		if (dt.d_un.d_val >= strsz ||
		    !memchr(s, '\0', strsz - dt.d_un.d_val))
			rc = -ENOEXEC;
		else if (dt.d_tag == DT_NEEDED)
			rc = strlist_push(&o->needed, s);
		else
			rc = elfdeps_dup(dt.d_tag == DT_SONAME ? &o->soname :
					 dt.d_tag == DT_RPATH ? &o->rpath :
					 &o->runpath, s);
	}
	if (o->runpath) {
		free(o->rpath);
		o->rpath = NULL;
	}
out:
	elf_end(e);
	return rc;
}

static void elfdeps_obj_free(struct elfdeps_obj *o)
{
	free(o->path);
	free(o->origin);
	free(o->soname);
	free(o->rpath);
	free(o->runpath);
	strlist_free(&o->needed);
}

static long elfdeps_find(const struct elfdeps *d, const char *path)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (!strcmp(d->objs[i].path, path))
			return (long)i;
	return -1;
}

/*
 * Adds the object at path (normalized, open as fd, which is closed) to the
 * process and its interpreter if it is an input; its index, or -errno.
 */
static long elfdeps_add(struct elfdeps *d, const char *path, int fd,
			const unsigned char *ident, long loader, int input)
{
	char interp[PATH_MAX] = "", ipath[PATH_MAX];
	unsigned char got[4];
	struct elfdeps_obj *o;
	long rc, idx = (long)d->n;
	char *slash;

	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 32;

		o = realloc(d->objs, cap * sizeof(*o));
		if (!o) {
			close(fd);
			return -ENOMEM;
		}
		d->objs = o;
		d->cap = cap;
	}
	o = &d->objs[d->n];
	memset(o, 0, sizeof(*o));
	o->loader = loader;
	o->input = input;
	memcpy(o->ident, ident, sizeof(o->ident));
	rc = elfdeps_parse(o, fd, interp, sizeof(interp));
	close(fd);
	if (!rc)
		rc = elfdeps_dup(&o->path, path);
	/*
	 * Symlinks stay: in the guest the file sits at this path, so that is
	 * where its $ORIGIN points (as ldd has it, not /proc/self/exe).
	 */
	if (!rc)
		rc = elfdeps_dup(&o->origin, path);
	if (!rc) {
		slash = strrchr(o->origin, '/');
		if (slash == o->origin)
			slash++;
		*slash = '\0';
	}
	if (!rc && o->soname)
		rc = strlist_push(&d->names, o->soname);
	if (rc) {
		snprintf(d->err, d->errlen, "%s", path);
		elfdeps_obj_free(o);
		return rc;
	}
	d->n++;
	if (!input || !*interp || elfdeps_norm(ipath, sizeof(ipath), interp) ||
	    elfdeps_find(d, ipath) >= 0)
		return idx;
	fd = elfdeps_open(ipath, ident, got);
	if (fd < 0) {
		snprintf(d->err, d->errlen, "%s needed by %s", interp, path);
		return -ENOENT;
	}
	rc = elfdeps_add(d, ipath, fd, ident, -1, 0);
	if (rc >= 0 && d->objs[rc].soname &&
	    strlist_find(&d->rtld, d->objs[rc].soname) < 0)
		rc = strlist_push(&d->rtld, d->objs[rc].soname);
	return rc < 0 ? rc : idx;
}

/* Tries dir/name (dir NULL: name is a path) for object req; index, -ENOENT or -errno. */
static long elfdeps_try(struct elfdeps *d, const char *dir, const char *name,
			size_t req)
{
	char cand[PATH_MAX * 2], path[PATH_MAX];
	unsigned char ident[4];
	long idx;
	int fd;

	if (dir)
		snprintf(cand, sizeof(cand), "%s/%s", dir, name);
	if (elfdeps_norm(path, sizeof(path), dir ? cand : name))
		return -ENOENT;
	idx = elfdeps_find(d, path);
	if (idx >= 0)
		return idx;
	fd = elfdeps_open(path, d->objs[req].ident, ident);
	if (fd < 0)
		return -ENOENT;
	return elfdeps_add(d, path, fd, ident, (long)req, 0);
}

/* Tries each directory of a ':'-separated RPATH or RUNPATH. */
static long elfdeps_search(struct elfdeps *d, const char *list,
			   const char *origin, const char *name, size_t req)
{
	char dir[PATH_MAX];
	const char *e;
	long rc;

	for (;; list = e + 1) {
		e = strchrnul(list, ':');
		if (e > list &&
		    !elfdeps_expand(dir, sizeof(dir), list, e - list, origin)) {
			rc = elfdeps_try(d, dir, name, req);
			if (rc != -ENOENT)
				return rc;
		}
		if (!*e)
			return -ENOENT;
	}
}

static long elfdeps_resolve(struct elfdeps *d, size_t req, const char *name)
{
	/* strings owned by the object: they survive d->objs moving */
	const char *origin = d->objs[req].origin, *runpath = d->objs[req].runpath;
	int nodeflib = d->objs[req].nodeflib;
	char path[PATH_MAX];
	long rc = -ENOENT, l;
	size_t k;

	if (strchr(name, '/'))
		return elfdeps_expand(path, sizeof(path), name, strlen(name), origin) ?
		       -ENOENT : elfdeps_try(d, NULL, path, req);
	for (l = (long)req; !runpath && rc == -ENOENT && l >= 0; l = d->objs[l].loader)
		if (d->objs[l].rpath)
			rc = elfdeps_search(d, d->objs[l].rpath, d->objs[l].origin,
					    name, req);
	if (rc == -ENOENT && runpath)
		rc = elfdeps_search(d, runpath, origin, name, req);
	for (k = 0; rc == -ENOENT && !nodeflib && k < d->conf.n; k++)
		rc = elfdeps_try(d, d->conf.v[k], name, req);
	for (k = 0; rc == -ENOENT && !nodeflib &&
		    k < sizeof(elfdeps_default_dirs) / sizeof(elfdeps_default_dirs[0]); k++)
		rc = elfdeps_try(d, elfdeps_default_dirs[k], name, req);
	return rc;
}

/* ld.so.conf: one directory a line, "include GLOB" relative to the file, '#' comments. */
static int elfdeps_read_conf(struct elfdeps *d, const char *path, int depth)
{
	char line[PATH_MAX], pat[PATH_MAX * 2], *s, *e;
	FILE *f = depth < 8 ? fopen(path, "re") : NULL;
	const char *slash;
	size_t i;
	glob_t g;
	int rc = 0;

	if (!f)
		return 0;
	while (!rc && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "#\n")] = '\0';
		s = line + strspn(line, " \t");
		for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		if (!strncmp(s, "include", 7) && (s[7] == ' ' || s[7] == '\t')) {
			s += 8 + strspn(s + 8, " \t");
			slash = strrchr(path, '/');
			snprintf(pat, sizeof(pat), "%.*s%s", *s == '/' ? 0 :
				 (int)(slash ? slash + 1 - path : 0), path, s);
			if (glob(pat, 0, NULL, &g))
				continue;
			for (i = 0; !rc && i < g.gl_pathc; i++)
				rc = elfdeps_read_conf(d, g.gl_pathv[i], depth + 1);
			globfree(&g);
		} else if (*s == '/' && strlist_find(&d->conf, s) < 0) {
			rc = strlist_push(&d->conf, s);
		}
	}
	fclose(f);
	return rc;
}

static void elfdeps_reset(struct elfdeps *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		elfdeps_obj_free(&d->objs[i]);
	d->n = 0;
	strlist_free(&d->names);
}

/* Resolves the process of bin if it is an executable (pass 0) or a library (pass 1). */
static int elfdeps_process(struct elfdeps *d, const char *bin, int pass,
			   struct strlist *out)
{
	char cwd[PATH_MAX], cand[PATH_MAX * 2], path[PATH_MAX];
	unsigned char ident[4];
	size_t i, k;
	long rc = 0;
	int fd;

	elfdeps_reset(d);
	for (i = 0; pass && i < d->rtld.n && !rc; i++)
		rc = strlist_push(&d->names, d->rtld.v[i]);
	if (rc)
		return rc;
	if (*bin == '/') {
		rc = elfdeps_norm(path, sizeof(path), bin);
	} else if (getcwd(cwd, sizeof(cwd))) {
		snprintf(cand, sizeof(cand), "%s/%s", cwd, bin);
		rc = elfdeps_norm(path, sizeof(path), cand);
	} else {
		rc = -errno;
	}
	if (rc) {
		snprintf(d->err, d->errlen, "%s", bin);
		return rc;
	}
	fd = elfdeps_open(path, NULL, ident);
	if (fd < 0) {
		snprintf(d->err, d->errlen, "%s", bin);
		return fd;
	}
	rc = elfdeps_add(d, path, fd, ident, -1, 1);
	if (rc < 0)
		return rc;
	/* an executable brought its interpreter in as objs[1] */
	if ((d->n > 1) != !pass)
		return 0;
	for (i = 0; rc >= 0 && i < d->n; i++) {
		for (k = 0; rc >= 0 && k < d->objs[i].needed.n; k++) {
			const char *name = d->objs[i].needed.v[k];

			if (strlist_find(&d->names, name) >= 0)
				continue;
			rc = elfdeps_resolve(d, i, name);
			if (rc == -ENOENT)
				snprintf(d->err, d->errlen, "%s needed by %s", name,
					 d->objs[i].path);
			else if (rc >= 0)
				rc = strlist_push(&d->names, name);
		}
	}
	for (i = 0; rc >= 0 && i < d->n; i++)
		if (!d->objs[i].input && strlist_find(out, d->objs[i].path) < 0)
			rc = strlist_push(out, d->objs[i].path);
	return rc < 0 ? (int)rc : 0;
}

int elfdeps_closure(const char *const *bins, size_t n, struct strlist *out,
		    char *err, size_t errlen)
{
	struct elfdeps d = { .err = err, .errlen = errlen };
	int pass, rc;
	size_t i;

	snprintf(err, errlen, "%s", ELFDEPS_CONF);
	elf_version(EV_CURRENT);
	rc = elfdeps_read_conf(&d, ELFDEPS_CONF, 0);
	for (pass = 0; !rc && pass < 2; pass++)
		for (i = 0; !rc && i < n; i++)
			rc = elfdeps_process(&d, bins[i], pass, out);
	elfdeps_reset(&d);
	free(d.objs);
	strlist_free(&d.rtld);
	strlist_free(&d.conf);
	return rc;
}
