/* A QEMU guest as a child process: console, channel and QMP on a libuv loop. */
#ifndef KTSTR_QEMU_H
#define KTSTR_QEMU_H

#include <stddef.h>
#include <sys/types.h>

#include "src/base/argv.h"

struct qemu;

/* The scratch disk's serial, by which the guest finds it (src/guest/disk.h's DISK_SERIAL). */
#define QEMU_DISK_SERIAL	"ktstr-scratch"

struct qemu_opts {
	char *const *argv;		/* full QEMU command line */
	const char *chan_path;		/* unix socket we listen on; QEMU connects */
	const char *qmp_path;		/* likewise for QMP */
	const char *console_log;	/* console copy, or NULL */
	int echo_console;		/* also copy the console to stderr */
};

/* What qemu_build_argv needs besides the topology. */
struct qemu_cfg {
	const char *qemu;		/* binary; NULL: qemu_binary's default */
	const char *kernel;		/* PVH vmlinux or bzImage */
	const char *initrd;
	const char *cmdline;		/* appended to the fixed kernel cmdline */
	const char *chan_path, *qmp_path;
	const char *disk;		/* raw image for the scratch disk; NULL: none */
	int accel_kvm;			/* -1: probe /dev/kvm, 0: tcg, 1: kvm */
	/*
	 * The KVM probe's command line instead: one vCPU, 256 MiB, the
	 * kernel alone (no initrd, cmdline or sockets, and no topology after).
	 */
	int probe;
};

/* The QEMU binary: qemu when set, else $KTSTR_QEMU, else qemu-system-x86_64. */
const char *qemu_binary(const char *qemu);
/* Appends everything but the topology part of the QEMU command line (all of the probe's). */
int qemu_build_argv(const struct qemu_cfg *c, struct argv_buf *a);
/* 1 when /dev/kvm can be opened read-write. */
int qemu_kvm_usable(void);

int qemu_start(struct qemu **out, const struct qemu_opts *o);
/*
 * The next frame from the guest: 1 and a malloc'd payload, -ETIMEDOUT,
 * -ECHILD once QEMU exited, -EINTR on SIGINT/SIGTERM, -EBADMSG (err says why).
 */
int qemu_recv(struct qemu *vm, int ms, char **payload, size_t *len, char *err,
	    size_t errlen);
int qemu_send(struct qemu *vm, const void *payload, size_t len);
/* Runs one QMP command (JSON text); *reply is the malloc'd JSON answer. */
int qemu_qmp(struct qemu *vm, const char *cmd, int ms, char **reply);
/* Waits for QEMU to exit; 0 with *status (wait status), -ETIMEDOUT, -EINTR. */
int qemu_wait(struct qemu *vm, int ms, int *status);
/* Kills QEMU's process group and reaps it. */
void qemu_kill(struct qemu *vm);
pid_t qemu_pid(const struct qemu *vm);
/* Copies up to len bytes of the console's end into buf; returns the count. */
size_t qemu_console_tail(const struct qemu *vm, char *buf, size_t len);
/* QEMU's own stderr (its error messages), NUL-terminated. */
const char *qemu_stderr(const struct qemu *vm);
/* Kills QEMU if alive, closes everything, unlinks the sockets, frees vm. */
void qemu_destroy(struct qemu *vm);

#endif
