/* A guest that lies: a stand-in for QEMU (KTSTR_QEMU) that speaks the channel and QMP and plays a scenario. */
/*
 * ktstr starts it with the command line it builds for QEMU; it connects to the
 * channel and QMP sockets named there (-chardev socket,id=chan|qmp,path=...,
 * server=off, the host listens), answers QMP from a thread, and plays the
 * scenario in $KTSTR_FAKE_GUEST: sections "boot N" (the Nth start of the fake
 * for this scenario file, counted in FILE.boots) or "boot *", each a list of
 * directives, one a line, played in order:
 *
 *   send PAYLOAD       one frame carrying the rest of the line, byte for byte
 *   repeat N PAYLOAD   N such frames
 *   raw HEX            bytes on the channel as they are (a broken frame)
 *   expect T           read the host's frames until one of type T ("t":"T")
 *   console TEXT       TEXT and a newline on stdout (the guest's console)
 *   stderr TEXT        TEXT and a newline on stderr (QEMU's own complaints)
 *   sleep MS           wait
 *   exit CODE          end now, as a QEMU that died would
 *
 * After the last directive it waits for poweroff (or the channel closing, or
 * QMP quit) and exits 0. The guest RAM files are not made: the host's monitor
 * finds no guest memory and turns itself off, as it must with any guest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "src/base/chan.h"
#include "src/base/sock.h"

static struct chan_port fake_chan = { .fd = -1 };
static int fake_cpus = 1;

static void fake_die(const char *what, int err)
{
	fprintf(stderr, "fake_qemu: %s: %s\n", what, strerror(err));
	exit(1);
}

/* The value of key=... in a -chardev/-smp option string, or NULL. */
static char *fake_opt(const char *opts, const char *key)
{
	size_t n = strlen(key);
	const char *p = opts;

	while (p && *p) {
		if (!strncmp(p, key, n) && p[n] == '=') {
			const char *v = p + n + 1, *e = strchr(v, ',');

			return strndup(v, e ? (size_t)(e - v) : strlen(v));
		}
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return NULL;
}

static int fake_connect(const char *path)
{
	int fd, rc, i;

	/* the host listens before it starts us; a few tries cover a slow bind */
	for (i = 0; i < 50; i++) {
		rc = sock_connect(path, &fd);
		if (!rc)
			return fd;
		usleep(20000);
	}
	fake_die(path, -rc);
	return -1;
}

static void fake_write(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			exit(0);	/* the host went away: so do we */
		s += w;
		n -= w;
	}
}

/* QMP: the greeting, then an empty return to every command but these. */
static void *fake_qmp(void *arg)
{
	int fd = fake_connect(arg);
	struct chan_buf in = { 0 };
	char buf[4096], *line, *nl;
	ssize_t n;
	int i;

	fake_write(fd, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n", 46);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (chan_buf_append(&in, buf, n))
			exit(1);
		while ((nl = memchr(in.data + in.off, '\n', in.len - in.off))) {
			line = in.data + in.off;
			*nl = '\0';
			in.off += nl - line + 1;
			if (strstr(line, "\"quit\""))
				exit(0);
			if (!strstr(line, "\"query-cpus-fast\"")) {
				fake_write(fd, "{\"return\": {}}\n", 15);
				continue;
			}
			/* every vCPU is this process's own thread */
			fake_write(fd, "{\"return\": [", 12);
			for (i = 0; i < fake_cpus; i++) {
				n = snprintf(buf, sizeof(buf),
					     "%s{\"cpu-index\": %d, \"thread-id\": %ld}",
					     i ? ", " : "", i, (long)syscall(SYS_gettid));
				fake_write(fd, buf, n);
			}
			fake_write(fd, "]}\n", 3);
		}
	}
	exit(0);
}

static void fake_send(const char *payload, size_t n)
{
	if (chan_write_frame(fake_chan.fd, payload, n))
		exit(0);
}

/* Reads the host's frames until one of type t (NULL: until poweroff or the end). */
static void fake_expect(const char *t)
{
	char want[128], err[256];
	const char *p;
	size_t len;
	int rc;

	snprintf(want, sizeof(want), "\"t\":\"%s\"", t ? t : "poweroff");
	for (;;) {
		rc = chan_port_recv(&fake_chan, -1, &p, &len, err, sizeof(err));
		if (rc < 0)
			exit(0);
		if (memmem(p, len, "\"t\":\"poweroff\"", 14))
			exit(0);
		if (memmem(p, len, want, strlen(want)))
			return;
	}
}

/* Which start of the fake this is, for this scenario (1, 2, ...). */
static int fake_boot_number(const char *scenario)
{
	char path[4096];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s.boots", scenario);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 0;
		fclose(f);
	}
	f = fopen(path, "w");
	if (!f)
		fake_die(path, errno);
	fprintf(f, "%d\n", ++n);
	fclose(f);
	return n;
}

static int fake_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void fake_directive(char *cmd, char *arg, size_t arglen)
{
	if (!strcmp(cmd, "send")) {
		fake_send(arg, arglen);
	} else if (!strcmp(cmd, "repeat")) {
		char *payload;
		long i, n = strtol(arg, &payload, 10);

		if (*payload == ' ')
			payload++;
		for (i = 0; i < n; i++)
			fake_send(payload, arglen - (payload - arg));
	} else if (!strcmp(cmd, "raw")) {
		size_t i, n = 0;

		for (i = 0; i + 1 < arglen; i += 2)
			arg[n++] = fake_hex(arg[i]) << 4 | fake_hex(arg[i + 1]);
		fake_write(fake_chan.fd, arg, n);
	} else if (!strcmp(cmd, "expect")) {
		fake_expect(arg);
	} else if (!strcmp(cmd, "console") || !strcmp(cmd, "stderr")) {
		int fd = cmd[0] == 'c' ? 1 : 2;

		arg[arglen] = '\n';
		fake_write(fd, arg, arglen + 1);
		arg[arglen] = '\0';
	} else if (!strcmp(cmd, "sleep")) {
		usleep(atol(arg) * 1000);
	} else if (!strcmp(cmd, "exit")) {
		exit(atoi(arg));
	} else {
		fprintf(stderr, "fake_qemu: unknown directive '%s'\n", cmd);
		exit(1);
	}
}

/* Plays the section "boot N" of the scenario, or "boot *" when there is none. */
static void fake_play(const char *scenario, int boot)
{
	char want[32], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long start = -1;
	int in = 0;
	FILE *f = fopen(scenario, "r");

	if (!f)
		fake_die(scenario, errno);
	snprintf(want, sizeof(want), "boot %d", boot);
	/* the numbered section wins over the default one, wherever each is */
	while ((n = getline(&line, &cap, f)) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, want)) {
			start = ftell(f);
			break;
		}
		if (!strcmp(line, "boot *") && start < 0)
			start = ftell(f);
	}
	if (start >= 0 && !fseek(f, start, SEEK_SET)) {
		in = 1;
		while (in && (n = getline(&line, &cap, f)) > 0) {
			char *arg;

			if (line[n - 1] == '\n')
				line[--n] = '\0';
			if (!n || line[0] == '#')
				continue;
			if (!strncmp(line, "boot ", 5))
				break;
			arg = strchr(line, ' ');
			if (arg)
				*arg++ = '\0';
			else
				arg = line + n;
			fake_directive(line, arg, n - (arg - line));
		}
	}
	free(line);
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *scenario = getenv("KTSTR_FAKE_GUEST");
	char *chan = NULL, *qmp = NULL;
	pthread_t t;
	int i;

	for (i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "-chardev") && !strncmp(argv[i + 1], "socket,id=chan,", 15))
			chan = fake_opt(argv[i + 1], "path");
		else if (!strcmp(argv[i], "-chardev") && !strncmp(argv[i + 1], "socket,id=qmp,", 14))
			qmp = fake_opt(argv[i + 1], "path");
		else if (!strcmp(argv[i], "-smp") && atoi(argv[i + 1]) > 0)
			fake_cpus = atoi(argv[i + 1]);
	}
	if (!chan || !qmp || !scenario) {
		fprintf(stderr, "fake_qemu: needs ktstr's QEMU command line and KTSTR_FAKE_GUEST\n");
		return 1;
	}
	if (pthread_create(&t, NULL, fake_qmp, qmp))
		fake_die("pthread_create", errno);
	fake_chan.fd = fake_connect(chan);
	fake_play(scenario, fake_boot_number(scenario));
	fake_expect(NULL);
	return 0;
}
