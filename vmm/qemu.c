/* QEMU backend: the command line, the child process, console, channel, QMP. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "src/base/chan.h"
#include "src/base/proc.h"
#include "src/base/sig.h"
#include "qemu.h"

#define QEMU_TAIL_LEN	(64 * 1024)
#define QEMU_ERR_LEN	4096
#define QEMU_RBUF_LEN	(64 * 1024)
/*
 * Frames read ahead of the caller: past this the channel is not read until
 * the caller has taken half of them, so a guest that floods it waits
 * instead of growing our memory (one frame may still be CHAN_MAX_LEN).
 */
#define QEMU_QUEUE_MAX	(16u << 20)
/* The console log lives in the run dir, in RAM when that is /dev/shm: it stops here. */
#define QEMU_LOG_MAX	(64u << 20)

/*
 * Fixed kernel command line: quiet PVH boot, panic powers the guest off.
 * Under TCG every guest store is emulated, so boot-time work that only
 * hardens a production machine costs ~1 s of a 4-5 s boot (measured):
 * crypto self-tests, zeroing pages on alloc/free, free-list shuffling.
 * schedstats=enable: the host monitor reads the runqueues' ttwu and
 * goidle counts, which the kernel keeps only then; bpf_stats_enabled: it
 * reads each BPF program's run count and time.
 */
static const char qemu_base_cmdline[] =
	"console=ttyS0 quiet loglevel=4 panic=-1 tsc=reliable mitigations=off "
	"rdinit=/init cryptomgr.notests init_on_alloc=0 init_on_free=0 "
	"page_alloc.shuffle=0 random.trust_cpu=on audit=0 schedstats=enable "
	"sysctl.kernel.bpf_stats_enabled=1";

struct qemu_frame {
	struct qemu_frame *next;
	size_t len;
	char data[];
};

struct qemu {
	uv_loop_t loop;
	struct proc proc;
	int pidfd;
	uv_poll_t pid_poll, sig_poll;
	uv_pipe_t con, qerr;
	uv_pipe_t chan_srv, chan, qmp_srv, qmp;
	uv_timer_t timer;
	int con_open, qerr_open, chan_open, qmp_open;
	int exited, timed_out, interrupted, chan_eof;
	int log_fd, echo;
	char *chan_path, *qmp_path;
	struct chan_buf chan_in;
	struct qemu_frame *frames, **frames_tail;
	size_t queued;			/* payload bytes in frames */
	int chan_held;			/* reading stopped: queued is full */
	char bad_frame[256];
	struct chan_buf qmp_in;
	char *qmp_reply;
	int qmp_ready;
	char tail[QEMU_TAIL_LEN];
	size_t tail_len;		/* total bytes ever written */
	char qerr_buf[QEMU_ERR_LEN];
	size_t qerr_len;
	char rbuf[QEMU_RBUF_LEN];
	int writes_pending;
};

int qemu_kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

const char *qemu_binary(const char *qemu)
{
	const char *env = getenv("KTSTR_QEMU");

	if (qemu && *qemu)
		return qemu;
	return env && *env ? env : "qemu-system-x86_64";
}

/*
 * The scratch disk: a raw file as a virtio-blk-pci device with one queue
 * (the guest's block layer then gives it mq-deadline, a real IO scheduler,
 * by default). cache=unsafe: the guest's flushes still travel its whole
 * block stack, but the host does not sync a scratch file to its own disk,
 * which would add the host's IO to the guest's timings. werror/rerror=report:
 * a host that fails the file (its filesystem full) hands the guest an EIO
 * its worker names, where QEMU's default would pause the whole guest.
 * QEMU splits options at commas, so a comma in the path is written twice.
 */
static int qemu_push_disk(struct argv_buf *a, const char *path)
{
	size_t i, n = 0, len = strlen(path);
	char *esc = malloc(2 * len + 1);
	int rc = 0;

	if (!esc)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		esc[n++] = path[i];
		if (path[i] == ',')
			esc[n++] = ',';
	}
	esc[n] = '\0';
	rc |= argv_push(a, "-drive");
	rc |= argv_push(a, "file=%s,if=none,id=scratch,format=raw,cache=unsafe,"
			    "werror=report,rerror=report", esc);
	rc |= argv_push(a, "-device");
	rc |= argv_push(a, "virtio-blk-pci,drive=scratch,num-queues=1,serial=%s",
			QEMU_DISK_SERIAL);
	free(esc);
	return rc;
}

int qemu_build_argv(const struct qemu_cfg *c, struct argv_buf *a)
{
	int kvm = c->accel_kvm < 0 ? qemu_kvm_usable() : c->accel_kvm;
	int rc = 0;

	rc |= argv_push(a, "%s", qemu_binary(c->qemu));
	rc |= argv_push(a, "-machine");
	rc |= argv_push(a, "q35");
	rc |= argv_push(a, "-accel");
	rc |= argv_push(a, kvm ? "kvm" : "tcg,thread=multi");
	/*
	 * Under TCG the Intel vendor makes each die its own L3 (AMD ignores
	 * dies); under KVM the host's model is the only one that runs fast.
	 */
	rc |= argv_push(a, "-cpu");
	rc |= argv_push(a, kvm ? "host" : "max,vendor=GenuineIntel");
	/* qboot: the fastest firmware, and SeaBIOS aborts on Intel + dies > 1 */
	rc |= argv_push(a, "-bios");
	rc |= argv_push(a, "qboot.rom");
	rc |= argv_push(a, "-nodefaults");
	rc |= argv_push(a, "-no-user-config");
	rc |= argv_push(a, "-display");
	rc |= argv_push(a, "none");
	rc |= argv_push(a, "-no-reboot");
	rc |= argv_push(a, "-chardev");
	rc |= argv_push(a, "stdio,id=con,signal=off");
	rc |= argv_push(a, "-serial");
	rc |= argv_push(a, "chardev:con");
	if (c->probe) {
		/* no initrd: the kernel panics looking for its root fs, and that proves it ran */
		rc |= argv_push(a, "-smp");
		rc |= argv_push(a, "1");
		rc |= argv_push(a, "-m");
		rc |= argv_push(a, "256M");
		rc |= argv_push(a, "-kernel");
		rc |= argv_push(a, "%s", c->kernel);
		rc |= argv_push(a, "-append");
		rc |= argv_push(a, "console=ttyS0 panic=-1 tsc=reliable");
		return rc ? -ENOMEM : 0;
	}
	rc |= argv_push(a, "-device");
	rc |= argv_push(a, "virtio-serial-pci,id=vs0");
	rc |= argv_push(a, "-chardev");
	rc |= argv_push(a, "socket,id=chan,path=%s,server=off", c->chan_path);
	rc |= argv_push(a, "-device");
	rc |= argv_push(a, "virtserialport,bus=vs0.0,chardev=chan,name=org.ktstr.0");
	if (c->disk)
		rc |= qemu_push_disk(a, c->disk);
	rc |= argv_push(a, "-chardev");
	rc |= argv_push(a, "socket,id=qmp,path=%s,server=off", c->qmp_path);
	rc |= argv_push(a, "-mon");
	rc |= argv_push(a, "chardev=qmp,mode=control");
	rc |= argv_push(a, "-kernel");
	rc |= argv_push(a, "%s", c->kernel);
	rc |= argv_push(a, "-initrd");
	rc |= argv_push(a, "%s", c->initrd);
	rc |= argv_push(a, "-append");
	rc |= argv_push(a, "%s%s%s", qemu_base_cmdline,
			c->cmdline && *c->cmdline ? " " : "",
			c->cmdline ? c->cmdline : "");
	return rc ? -ENOMEM : 0;
}

static void qemu_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct qemu *vm = h->loop->data;

	(void)hint;
	*buf = uv_buf_init(vm->rbuf, sizeof(vm->rbuf));
}

static void qemu_tail_add(struct qemu *vm, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		vm->tail[(vm->tail_len + i) % QEMU_TAIL_LEN] = p[i];
	vm->tail_len += n;
}

/* Appends to the console log up to QEMU_LOG_MAX; called before the bytes join the tail. */
static void qemu_log(struct qemu *vm, const char *p, size_t n)
{
	static const char cut[] = "\n[ktstr: the console log stops here, at 64 MiB]\n";
	size_t room;
	int full;

	if (vm->log_fd < 0)
		return;
	room = QEMU_LOG_MAX - vm->tail_len;
	full = n >= room;
	if (full)
		n = room;
	/* a log that cannot be written is dropped: the run goes on without it */
	if (write(vm->log_fd, p, n) < 0 ||
	    (full && write(vm->log_fd, cut, sizeof(cut) - 1) < 0))
		full = 1;
	if (full) {
		close(vm->log_fd);
		vm->log_fd = -1;
	}
}

static void qemu_on_console(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct qemu *vm = s->loop->data;

	if (n < 0) {
		uv_read_stop(s);
		vm->con_open = 0;
		return;
	}
	qemu_log(vm, buf->base, n);
	qemu_tail_add(vm, buf->base, n);
	if (vm->echo && write(2, buf->base, n) < 0)
		vm->echo = 0;
}

static void qemu_on_qerr(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct qemu *vm = s->loop->data;
	size_t room = sizeof(vm->qerr_buf) - 1 - vm->qerr_len;

	if (n < 0) {
		uv_read_stop(s);
		vm->qerr_open = 0;
		return;
	}
	if ((size_t)n < room)
		room = n;
	memcpy(vm->qerr_buf + vm->qerr_len, buf->base, room);
	vm->qerr_len += room;
	vm->qerr_buf[vm->qerr_len] = '\0';
}

static void qemu_queue_frame(struct qemu *vm, const char *p, size_t n)
{
	struct qemu_frame *f = malloc(sizeof(*f) + n + 1);

	if (!f)
		return;
	f->next = NULL;
	f->len = n;
	memcpy(f->data, p, n);
	f->data[n] = '\0';
	*vm->frames_tail = f;
	vm->frames_tail = &f->next;
	vm->queued += n;
}

static void qemu_on_chan(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct qemu *vm = s->loop->data;
	const char *p;
	size_t len;
	int rc;

	if (n < 0) {
		uv_read_stop(s);
		vm->chan_eof = 1;
		return;
	}
	if (vm->bad_frame[0] || chan_buf_append(&vm->chan_in, buf->base, n))
		return;
	while ((rc = chan_buf_next(&vm->chan_in, &p, &len, vm->bad_frame,
				   sizeof(vm->bad_frame))) == 1)
		qemu_queue_frame(vm, p, len);
	if (vm->queued > QEMU_QUEUE_MAX) {
		uv_read_stop(s);
		vm->chan_held = 1;
	}
}

/* QMP speaks one JSON object per line; events are dropped, replies kept. */
static void qemu_on_qmp(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct qemu *vm = s->loop->data;
	char *start, *nl;

	if (n < 0) {
		uv_read_stop(s);
		vm->qmp_open = 0;
		return;
	}
	if (chan_buf_append(&vm->qmp_in, buf->base, n))
		return;
	for (;;) {
		start = vm->qmp_in.data + vm->qmp_in.off;
		nl = memchr(start, '\n', vm->qmp_in.len - vm->qmp_in.off);
		if (!nl)
			break;
		*nl = '\0';
		vm->qmp_in.off += nl - start + 1;
		if (strstr(start, "\"QMP\"")) {
			vm->qmp_ready = 1;
		} else if (!strstr(start, "\"event\"") && !vm->qmp_reply) {
			vm->qmp_reply = strdup(start);
		}
	}
}

static void qemu_on_connect(uv_stream_t *srv, int status)
{
	struct qemu *vm = srv->loop->data;
	int is_chan = srv == (uv_stream_t *)&vm->chan_srv;
	uv_pipe_t *c = is_chan ? &vm->chan : &vm->qmp;

	if (status < 0 || (is_chan ? vm->chan_open : vm->qmp_open))
		return;
	uv_pipe_init(&vm->loop, c, 0);
	if (uv_accept(srv, (uv_stream_t *)c) < 0) {
		uv_close((uv_handle_t *)c, NULL);
		return;
	}
	if (is_chan) {
		vm->chan_open = 1;
		uv_read_start((uv_stream_t *)c, qemu_alloc, qemu_on_chan);
	} else {
		vm->qmp_open = 1;
		uv_read_start((uv_stream_t *)c, qemu_alloc, qemu_on_qmp);
	}
}

static void qemu_on_exit(uv_poll_t *h, int status, int events)
{
	struct qemu *vm = h->loop->data;

	(void)status;
	(void)events;
	if (proc_wait(&vm->proc, 0) == 0) {
		vm->exited = 1;
		uv_poll_stop(h);
	}
}

static void qemu_on_signal(uv_poll_t *h, int status, int events)
{
	struct qemu *vm = h->loop->data;
	char c[16];

	(void)status;
	(void)events;
	if (read(sig_fd(), c, sizeof(c)) < 0) {
		/* already drained */
	}
	vm->interrupted = 1;
}

static void qemu_on_timer(uv_timer_t *t)
{
	struct qemu *vm = t->loop->data;

	vm->timed_out = 1;
}

static int qemu_listen(struct qemu *vm, uv_pipe_t *srv, const char *path)
{
	int rc;

	unlink(path);
	uv_pipe_init(&vm->loop, srv, 0);
	rc = uv_pipe_bind(srv, path);
	if (!rc)
		rc = uv_listen((uv_stream_t *)srv, 1, qemu_on_connect);
	return rc;
}

static int qemu_spawn(struct qemu *vm, char *const *argv)
{
	struct proc_opts po = {
		.new_pgrp = 1, .pdeathsig = SIGKILL, .stdin_null = 1,
	};
	int rc = proc_spawn(&vm->proc, argv, &po);

	if (rc)
		return rc;
	vm->pidfd = syscall(SYS_pidfd_open, vm->proc.pid, 0);
	if (vm->pidfd < 0)
		return -errno;
	uv_poll_init(&vm->loop, &vm->pid_poll, vm->pidfd);
	uv_poll_start(&vm->pid_poll, UV_READABLE, qemu_on_exit);
	uv_pipe_init(&vm->loop, &vm->con, 0);
	uv_pipe_open(&vm->con, vm->proc.out_fd);
	vm->proc.out_fd = -1;
	vm->con_open = 1;
	uv_read_start((uv_stream_t *)&vm->con, qemu_alloc, qemu_on_console);
	uv_pipe_init(&vm->loop, &vm->qerr, 0);
	uv_pipe_open(&vm->qerr, vm->proc.err_fd);
	vm->proc.err_fd = -1;
	vm->qerr_open = 1;
	uv_read_start((uv_stream_t *)&vm->qerr, qemu_alloc, qemu_on_qerr);
	return 0;
}

int qemu_start(struct qemu **out, const struct qemu_opts *o)
{
	struct qemu *vm = calloc(1, sizeof(*vm));
	int rc;

	if (!vm)
		return -ENOMEM;
	vm->pidfd = -1;
	vm->log_fd = -1;
	vm->proc.pid = -1;
	vm->proc.reaped = 1;
	vm->frames_tail = &vm->frames;
	vm->echo = o->echo_console;
	vm->chan_path = strdup(o->chan_path);
	vm->qmp_path = strdup(o->qmp_path);
	uv_loop_init(&vm->loop);
	vm->loop.data = vm;
	uv_timer_init(&vm->loop, &vm->timer);
	if (sig_fd() >= 0) {
		uv_poll_init(&vm->loop, &vm->sig_poll, sig_fd());
		uv_poll_start(&vm->sig_poll, UV_READABLE, qemu_on_signal);
	}
	if (o->console_log) {
		vm->log_fd = open(o->console_log,
				  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (vm->log_fd < 0) {
			rc = -errno;
			goto fail;
		}
	}
	/* Listen before QEMU starts: it connects as a client, nothing races. */
	rc = qemu_listen(vm, &vm->chan_srv, o->chan_path);
	if (!rc)
		rc = qemu_listen(vm, &vm->qmp_srv, o->qmp_path);
	if (!rc)
		rc = qemu_spawn(vm, o->argv);
	if (rc)
		goto fail;
	*out = vm;
	return 0;
fail:
	qemu_destroy(vm);
	return rc;
}

/* Runs the loop until done(vm) holds, the deadline passes or a signal comes. */
static int qemu_run(struct qemu *vm, int ms, int (*done)(struct qemu *))
{
	vm->timed_out = 0;
	/*
	 * libuv 1.44's UV_RUN_ONCE runs due timers before it polls, then polls
	 * with no timeout when no timer is left: a one-shot timer that fired
	 * there would leave us blocked until some I/O. A repeating timer stays
	 * armed and bounds that poll; a fresh loop clock keeps ms exact.
	 */
	if (ms >= 0) {
		uv_update_time(&vm->loop);
		uv_timer_start(&vm->timer, qemu_on_timer, ms, ms > 0 ? ms : 1);
	}
	while (!done(vm) && !vm->timed_out && !vm->interrupted)
		uv_run(&vm->loop, UV_RUN_ONCE);
	uv_timer_stop(&vm->timer);
	if (done(vm))
		return 0;
	return vm->interrupted ? -EINTR : -ETIMEDOUT;
}

static int qemu_has_frame(struct qemu *vm)
{
	return vm->frames || vm->bad_frame[0] || vm->chan_eof ||
	       (vm->exited && !vm->chan_open);
}

int qemu_recv(struct qemu *vm, int ms, char **payload, size_t *len, char *err,
	    size_t errlen)
{
	struct qemu_frame *f;
	int rc = qemu_run(vm, ms, qemu_has_frame);

	if (rc)
		return rc;
	f = vm->frames;
	if (f) {
		vm->frames = f->next;
		if (!vm->frames)
			vm->frames_tail = &vm->frames;
		vm->queued -= f->len;
		if (vm->chan_held && vm->queued < QEMU_QUEUE_MAX / 2) {
			vm->chan_held = 0;
			uv_read_start((uv_stream_t *)&vm->chan, qemu_alloc, qemu_on_chan);
		}
		*len = f->len;
		/* hand the frame itself to the caller: data is at its start */
		memmove(f, f->data, f->len + 1);
		*payload = (char *)f;
		return 1;
	}
	if (vm->bad_frame[0]) {
		snprintf(err, errlen, "%s", vm->bad_frame);
		return -EBADMSG;
	}
	return -ECHILD;
}

static void qemu_on_write(uv_write_t *req, int status)
{
	struct qemu *vm = req->handle->loop->data;

	(void)status;
	vm->writes_pending--;
	free(req);
}

static int qemu_writes_done(struct qemu *vm)
{
	return vm->writes_pending == 0 || vm->exited;
}

static int qemu_write(struct qemu *vm, uv_pipe_t *p, const void *hdr, size_t hn,
		    const void *data, size_t n)
{
	uv_write_t *req = malloc(sizeof(*req) + hn + n);
	uv_buf_t buf;
	int rc;

	if (!req)
		return -ENOMEM;
	memcpy((char *)(req + 1), hdr, hn);
	memcpy((char *)(req + 1) + hn, data, n);
	buf = uv_buf_init((char *)(req + 1), hn + n);
	rc = uv_write(req, (uv_stream_t *)p, &buf, 1, qemu_on_write);
	if (rc) {
		free(req);
		return rc;
	}
	vm->writes_pending++;
	return qemu_run(vm, 10000, qemu_writes_done);
}

static int qemu_chan_ready(struct qemu *vm)
{
	return vm->chan_open || vm->exited;
}

int qemu_send(struct qemu *vm, const void *payload, size_t len)
{
	char hdr[CHAN_HDR_LEN];
	int rc = qemu_run(vm, 10000, qemu_chan_ready);

	if (rc)
		return rc;
	if (!vm->chan_open)
		return -ECHILD;
	chan_header(hdr, payload, len);
	return qemu_write(vm, &vm->chan, hdr, sizeof(hdr), payload, len);
}

static int qemu_qmp_greeted(struct qemu *vm)
{
	return vm->qmp_ready || vm->exited;
}

static int qemu_qmp_answered(struct qemu *vm)
{
	return vm->qmp_reply || vm->exited;
}

static int qemu_qmp_raw(struct qemu *vm, const char *cmd, int ms, char **reply)
{
	int rc;

	free(vm->qmp_reply);
	vm->qmp_reply = NULL;
	rc = qemu_write(vm, &vm->qmp, "", 0, cmd, strlen(cmd));
	if (!rc)
		rc = qemu_run(vm, ms, qemu_qmp_answered);
	if (rc)
		return rc;
	if (!vm->qmp_reply)
		return -ECHILD;
	*reply = vm->qmp_reply;
	vm->qmp_reply = NULL;
	return 0;
}

int qemu_qmp(struct qemu *vm, const char *cmd, int ms, char **reply)
{
	json_error_t jerr;
	json_t *j;
	char *r;
	int rc;

	j = json_loads(cmd, 0, &jerr);
	if (!j || !json_is_object(j) || !json_object_get(j, "execute")) {
		json_decref(j);
		return -EINVAL;
	}
	json_decref(j);
	if (vm->qmp_ready < 2) {
		rc = qemu_run(vm, ms, qemu_qmp_greeted);
		if (!rc && !vm->qmp_ready)
			rc = -ECHILD;
		if (!rc)
			rc = qemu_qmp_raw(vm, "{\"execute\":\"qmp_capabilities\"}\n",
					ms, &r);
		if (rc)
			return rc;
		free(r);
		vm->qmp_ready = 2;
	}
	return qemu_qmp_raw(vm, cmd, ms, reply);
}

static int qemu_exited(struct qemu *vm)
{
	return vm->exited && !vm->con_open;
}

int qemu_wait(struct qemu *vm, int ms, int *status)
{
	int rc = qemu_run(vm, ms, qemu_exited);

	/* the console may still hold the last lines after the exit */
	if (rc == -ETIMEDOUT && vm->exited)
		rc = 0;
	if (!rc)
		*status = vm->proc.status;
	return rc;
}

void qemu_kill(struct qemu *vm)
{
	if (vm->proc.reaped)
		return;
	proc_kill(&vm->proc, SIGKILL);
	proc_wait(&vm->proc, -1);
	vm->exited = 1;
}

pid_t qemu_pid(const struct qemu *vm)
{
	return vm->proc.pid;
}

size_t qemu_console_tail(const struct qemu *vm, char *buf, size_t len)
{
	size_t have = vm->tail_len < QEMU_TAIL_LEN ? vm->tail_len : QEMU_TAIL_LEN;
	size_t n = len < have ? len : have, i;
	size_t start = vm->tail_len - n;

	for (i = 0; i < n; i++)
		buf[i] = vm->tail[(start + i) % QEMU_TAIL_LEN];
	return n;
}

const char *qemu_stderr(const struct qemu *vm)
{
	return vm->qerr_buf;
}

static void qemu_close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void qemu_destroy(struct qemu *vm)
{
	struct qemu_frame *f;

	if (!vm)
		return;
	qemu_kill(vm);
	uv_walk(&vm->loop, qemu_close_walk, NULL);
	uv_run(&vm->loop, UV_RUN_DEFAULT);
	uv_loop_close(&vm->loop);
	proc_stop(&vm->proc, 0);
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	if (vm->log_fd >= 0)
		close(vm->log_fd);
	if (vm->chan_path)
		unlink(vm->chan_path);
	if (vm->qmp_path)
		unlink(vm->qmp_path);
	while ((f = vm->frames)) {
		vm->frames = f->next;
		free(f);
	}
	chan_buf_free(&vm->chan_in);
	chan_buf_free(&vm->qmp_in);
	free(vm->qmp_reply);
	free(vm->chan_path);
	free(vm->qmp_path);
	free(vm);
}
