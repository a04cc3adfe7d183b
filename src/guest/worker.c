/* Worker sets: fork, place in a cgroup, start together, stop, reap, report. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/base/clock.h"
#include "src/base/cpulist.h"
#include "src/base/schedstat.h"
#include "policy.h"
#include "worker.h"

#define WORKER_PLACE_MS		10000	/* TCG guests fork slowly */
#define WORKER_REAP_MS		5000	/* after SIGKILL */
#define WORKER_STACK		(1 << 20)	/* a thread worker's: custom Lua work runs there */

/*
 * The head of the shared mapping; telem[n] and work_group[ngroups] follow.
 * stop and go are read by every worker, written by the parent only.
 */
struct worker_shm {
	int stop;		/* work_ctx.stop: nonzero ends the run */
	uint32_t go;		/* futex word: 1 releases the start barrier */
	uint32_t placed;	/* workers through setup, atomically counted */
} __attribute__((aligned(64)));

struct worker {
	pid_t pid;		/* its process; a threads set's: its thread id */
	cpu_set_t cpus;		/* its own affinity (cpus_each), when has_cpus */
	int has_cpus;
	char cpulist[64];
	struct worker_exit exit;
	uint64_t reaped_ns;	/* when we saw it gone: ends the wall time of the killed */
	/* schedstat as last read by the parent: for workers killed mid-run */
	int have_last;
	uint64_t last_cpu_ns, last_delay_ns, last_slices;
};

struct worker_set {
	struct work_spec spec;
	worker_run_fn run;
	void *arg;
	char name[64];
	char comm[WORKER_COMM_LEN];
	char cgroup[PATH_MAX];
	int has_cgroup;
	int set_nice, nice;
	struct policy_sched sched;
	struct policy_mem mem;
	int set_mem;
	int threads;		/* one process, n threads */
	pid_t leader;		/* that process */
	cpu_set_t cpus;
	char cpulist[256];
	int has_cpus;
	unsigned n, gsize, ngroups;
	pid_t parent;
	void *map;
	size_t map_len;
	struct worker_shm *shm;
	struct telem *telem;
	struct work_group *groups;	/* NULL for ungrouped work */
	void *group_mem;		/* ngroups x group_mem_len, after groups */
	size_t group_mem_len;
	int *pipes;			/* the parent's copies, 2 per worker */
	struct worker *w;
	int started, stopped;
};

/* A cpulist as an affinity mask; -EINVAL for bad syntax, an empty set or a CPU past CPU_SETSIZE. */
static int worker_parse_cpus(const char *s, cpu_set_t *set)
{
	struct cpulist m;
	int i, last;

	if (cpulist_parse(s, &m) || !cpulist_count(&m))
		return -EINVAL;
	last = cpulist_last(&m);
	if (last >= CPU_SETSIZE)
		return -EINVAL;
	CPU_ZERO(set);
	for (i = 0; i <= last; i++)
		if (cpulist_test(&m, i))
			CPU_SET(i, set);
	return 0;
}

static const char *worker_spec_name(const struct work_spec *spec,
				    const struct worker_opts *o)
{
	if (o->run)
		return o->name ? o->name : "custom";
	return spec->type->name;
}

/* The options' policies as policy.c takes them; mem's nodes are left 0. */
static void worker_policies(const struct worker_opts *o, struct policy_sched *sched,
			    struct policy_mem *mem)
{
	memset(sched, 0, sizeof(*sched));
	sched->policy = o->policy;
	sched->priority = o->priority;
	sched->runtime_ns = o->runtime_ns;
	sched->deadline_ns = o->deadline_ns;
	sched->period_ns = o->period_ns;
	memset(mem, 0, sizeof(*mem));
	mem->mode = o->mpol_mode;
	mem->flags = o->mpol_flags;
}

int worker_check(const struct work_spec *spec, unsigned n,
		 const struct worker_opts *o, char *err, size_t errlen)
{
	struct policy_sched sched;
	struct policy_mem mem;
	unsigned g = 1, i;
	cpu_set_t set;

	if (!o->run && (!spec || !spec->type)) {
		snprintf(err, errlen, "no work given");
		return -EINVAL;
	}
	if (n < 1) {
		snprintf(err, errlen, "n must be at least 1, got %u", n);
		return -EINVAL;
	}
	if (!o->run)
		g = work_group_size(spec);
	if (g < 1 || g > WORK_GROUP_MAX || n % g) {
		snprintf(err, errlen,
			 "n=%u is not a multiple of %s's group size %u",
			 n, worker_spec_name(spec, o), g);
		return -EINVAL;
	}
	worker_policies(o, &sched, &mem);
	if (policy_sched_check(&sched, err, errlen))
		return -EINVAL;
	if (o->mpol_nodes && policy_nodes_parse(o->mpol_nodes, &mem.nodes)) {
		snprintf(err, errlen, "bad node list '%s' (want e.g. \"0-1\", nodes 0..%d)",
			 o->mpol_nodes, POLICY_NODES_MAX - 1);
		return -EINVAL;
	}
	if (o->set_mempolicy && policy_mem_check(&mem, err, errlen))
		return -EINVAL;
	if (o->set_nice && (o->nice < -20 || o->nice > 19)) {
		snprintf(err, errlen, "nice must be -20..19, got %d",
			 o->nice);
		return -EINVAL;
	}
	if (o->cpus && worker_parse_cpus(o->cpus, &set)) {
		snprintf(err, errlen, "bad cpulist '%s' (want e.g. \"0-1,3\")",
			 o->cpus);
		return -EINVAL;
	}
	for (i = 0; o->cpus_each && i < n; i++) {
		if (o->cpus_each[i] && (strlen(o->cpus_each[i]) >= sizeof(((struct worker *)0)->cpulist) ||
					worker_parse_cpus(o->cpus_each[i], &set))) {
			snprintf(err, errlen, "worker %u: bad cpulist '%s'", i,
				 o->cpus_each[i]);
			return -EINVAL;
		}
	}
	if (o->cgroup && strlen(o->cgroup) + sizeof("/cgroup.procs") > PATH_MAX) {
		snprintf(err, errlen, "cgroup path too long: %s", o->cgroup);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* ---- in the child ---- */

static int worker_fail(struct telem *t, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int worker_fail(struct telem *t, int rc, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	t->error = rc;
	snprintf(t->error_msg, sizeof(t->error_msg), "%s: %s", what,
		 strerror(-rc));
	return rc;
}

/* A failure whose message already says why (policy.c's). */
static int worker_fail_why(struct telem *t, int rc, const char *why)
{
	t->error = rc;
	snprintf(t->error_msg, sizeof(t->error_msg), "%s", why);
	return rc;
}

static int worker_join_cgroup(struct worker_set *ws, struct telem *t)
{
	char path[PATH_MAX + 16], buf[32];
	int fd, len, rc = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", ws->cgroup);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return worker_fail(t, -errno, "cgroup.procs: %s", ws->cgroup);
	len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, len) != len)
		rc = worker_fail(t, -errno, "cgroup.procs: %s", ws->cgroup);
	close(fd);
	return rc;
}

static int worker_int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Everything but stdio and the fds in keep (sorted here): EOF must mean "gone". */
static void worker_close_fds(int *keep, unsigned n)
{
	unsigned lo = 3, i;

	if (n)
		qsort(keep, n, sizeof(*keep), worker_int_cmp);
	for (i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue;
		if ((unsigned)keep[i] > lo)
			close_range(lo, keep[i] - 1, 0);
		lo = keep[i] + 1;
	}
	close_range(lo, ~0u, 0);
}

/* In the worker itself, thread or process: placement and policies. */
static int worker_setup(struct worker_set *ws, struct telem *t)
{
	const struct worker *w = &ws->w[t - ws->telem];
	char why[TELEM_ERR_LEN];
	int rc;

	/* a threads set's process joined for all of them */
	if (!ws->threads && ws->has_cgroup && worker_join_cgroup(ws, t))
		return t->error;
	prctl(PR_SET_NAME, ws->comm);
	if (w->has_cpus && sched_setaffinity(0, sizeof(w->cpus), &w->cpus))
		return worker_fail(t, -errno, "sched_setaffinity: cpus %s",
				   w->cpulist);
	if (!w->has_cpus && ws->has_cpus &&
	    sched_setaffinity(0, sizeof(ws->cpus), &ws->cpus))
		return worker_fail(t, -errno, "sched_setaffinity: cpus %s",
				   ws->cpulist);
	if (ws->sched.policy != SCHED_OTHER &&
	    (rc = policy_sched_apply(&ws->sched, why, sizeof(why))))
		return worker_fail_why(t, rc, why);
	if (ws->set_nice && setpriority(PRIO_PROCESS, 0, ws->nice))
		return worker_fail(t, -errno, "setpriority: nice %d", ws->nice);
	if (ws->set_mem && (rc = policy_mem_apply(&ws->mem, why, sizeof(why))))
		return worker_fail_why(t, rc, why);
	return 0;
}

static void worker_wait_go(struct worker_shm *shm)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	while (!__atomic_load_n(&shm->go, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&shm->stop, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &shm->go, FUTEX_WAIT, 0, &ts, NULL, 0);
}

/* What a worker's process does first: its own group, death with us, default signals, no fds but keep. */
static void worker_proc_init(struct worker_set *ws, int *keep, unsigned nkeep)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1,
				    SIGUSR2, SIGALRM };
	sigset_t none;
	unsigned k;

	/* the parent does the same: no window where a group kill misses us */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != ws->parent)
		_exit(120);
	/* the parent's Lua signal hooks mean nothing here */
	for (k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		signal(sigs[k], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	worker_close_fds(keep, nkeep);
}

#define WORKER_SETUP_FAILED	2	/* worker_body's, and the exit code that says so */

/* One worker, process or thread: set up, wait for the start, run; 0, 1 (failed) or WORKER_SETUP_FAILED. */
static int worker_body(struct worker_set *ws, unsigned i)
{
	struct telem *t = &ws->telem[i];
	struct work_ctx c = {
		.t = t,
		.stop = &ws->shm->stop,
		.index = i,
		.nworkers = ws->n,
		.member = i % ws->gsize,
		.grp = ws->groups ? &ws->groups[i / ws->gsize] : NULL,
	};
	int rc;

	t->pid = gettid();
	if (worker_setup(ws, t))
		return WORKER_SETUP_FAILED;
	sched_getaffinity(0, sizeof(c.cpus), &c.cpus);
	if (c.grp)
		c.grp->pid[c.member] = t->pid;
	if (!ws->run && ws->spec.type->setup) {
		rc = ws->spec.type->setup(&c, &ws->spec);
		if (rc < 0) {
			t->error = rc;
			if (!t->error_msg[0])
				snprintf(t->error_msg, sizeof(t->error_msg),
					 "%s: setup: %s", ws->name, strerror(-rc));
			return WORKER_SETUP_FAILED;
		}
	}
	__atomic_store_n(&t->state, TELEM_PLACED, __ATOMIC_RELEASE);
	__atomic_add_fetch(&ws->shm->placed, 1, __ATOMIC_ACQ_REL);
	worker_wait_go(ws->shm);
	if (__atomic_load_n(&ws->shm->stop, __ATOMIC_ACQUIRE))
		return 0;	/* stopped before the start: nothing ran */
	telem_begin(t);
	if (ws->run)
		rc = ws->run(&c, ws->arg);
	else
		rc = ws->spec.type->run(&c, &ws->spec);
	telem_end(t);
	if (rc < 0) {
		t->error = rc;
		if (!t->error_msg[0])
			snprintf(t->error_msg, sizeof(t->error_msg), "%s: %s",
				 ws->name, strerror(-rc));
	}
	return rc < 0 ? 1 : 0;
}

static void __attribute__((noreturn)) worker_child(struct worker_set *ws,
						    unsigned i)
{
	int keep[2 + WORK_GROUP_FDS];
	const struct work_group *g = ws->groups ? &ws->groups[i / ws->gsize] : NULL;
	unsigned n = 0, k;

	/* this member's two pipe ends and its group's own fds (group_init's) */
	if (g) {
		keep[n++] = g->pipe_in[i % ws->gsize];
		keep[n++] = g->pipe_out[i % ws->gsize];
		for (k = 0; k < WORK_GROUP_FDS; k++)
			keep[n++] = g->fd[k];
	}
	worker_proc_init(ws, keep, n);
	_exit(worker_body(ws, i));
}

struct worker_thread_arg {
	struct worker_set *ws;
	unsigned i;
};

static void *worker_thread(void *arg)
{
	const struct worker_thread_arg *a = arg;

	/* a worker that cannot set up fails the set, as a forked one does */
	if (worker_body(a->ws, a->i) == WORKER_SETUP_FAILED)
		_exit(WORKER_SETUP_FAILED);
	return NULL;
}

/* A threads set's process: joins the cgroup, runs n workers as threads, exits when all are done. */
static void __attribute__((noreturn)) worker_leader(struct worker_set *ws)
{
	struct worker_thread_arg *args;
	pthread_t *tids;
	pthread_attr_t attr;
	unsigned i, failed = 0;
	int rc;

	/* every thread needs its group's pipes: the set's, all of them */
	worker_proc_init(ws, ws->pipes, ws->pipes ? (2 + WORK_GROUP_FDS) * ws->n : 0);
	prctl(PR_SET_NAME, ws->comm);
	if (ws->has_cgroup && worker_join_cgroup(ws, &ws->telem[0]))
		_exit(WORKER_SETUP_FAILED);
	args = calloc(ws->n, sizeof(*args));
	tids = calloc(ws->n, sizeof(*tids));
	if (!args || !tids) {
		worker_fail(&ws->telem[0], -ENOMEM, "threads: %u workers", ws->n);
		_exit(WORKER_SETUP_FAILED);
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	for (i = 0; i < ws->n; i++) {
		args[i].ws = ws;
		args[i].i = i;
		rc = pthread_create(&tids[i], &attr, worker_thread, &args[i]);
		if (rc) {
			worker_fail(&ws->telem[i], -rc, "pthread_create: worker %u of %u",
				    i, ws->n);
			_exit(WORKER_SETUP_FAILED);
		}
	}
	for (i = 0; i < ws->n; i++) {
		pthread_join(tids[i], NULL);
		if (__atomic_load_n(&ws->telem[i].error, __ATOMIC_ACQUIRE))
			failed = 1;
	}
	_exit(failed);
}

/* ---- in the parent ---- */

/* The process worker i lives in: its own, or the threads set's. */
static pid_t worker_proc(const struct worker_set *ws, unsigned i)
{
	return ws->threads ? ws->leader : ws->w[i].pid;
}

static void worker_set_exit(struct worker_set *ws, unsigned i, int status)
{
	struct worker_exit *e = &ws->w[i].exit;

	e->reaped = 1;
	ws->w[i].reaped_ns = clock_now_ns();
	if (WIFEXITED(status) && ws->threads) {
		/*
		 * The process exits with its worst thread's code; each thread
		 * says its own. One cut short (another called exit) gets the
		 * process's code, never 0.
		 */
		int code = WEXITSTATUS(status);

		if (__atomic_load_n(&ws->telem[i].state, __ATOMIC_ACQUIRE) == TELEM_RUNNING)
			e->code = code ? code : 1;
		else
			e->code = ws->telem[i].error ? (code ? code : 1) : 0;
	} else if (WIFEXITED(status)) {
		e->code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		e->signaled = 1;
		e->sig = WTERMSIG(status);
		e->core = WCOREDUMP(status) ? 1 : 0;
	}
}

/* Someone else reaped it (cgroup_remove does): judge by what it wrote. */
static void worker_set_lost(struct worker_set *ws, unsigned i)
{
	struct worker_exit *e = &ws->w[i].exit;
	struct telem *t = &ws->telem[i];

	e->reaped = 1;
	e->lost = 1;
	ws->w[i].reaped_ns = clock_now_ns();
	if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == TELEM_DONE)
		e->code = t->error ? 1 : 0;
	else
		e->signaled = 1;
}

/* Keeps the last CPU time of a worker that may die before telem_end. */
static void worker_save_schedstat(struct worker_set *ws, unsigned i)
{
	struct worker *w = &ws->w[i];

	if (__atomic_load_n(&ws->telem[i].state, __ATOMIC_ACQUIRE) !=
	    TELEM_RUNNING || !ws->telem[i].schedstat)
		return;
	if (schedstat_read(worker_proc(ws, i), ws->threads ? w->pid : 0,
			   &w->last_cpu_ns, &w->last_delay_ns, &w->last_slices) == 0)
		w->have_last = 1;
}

/* A threads set's one process: all its workers end with it. */
static unsigned worker_reap_threads(struct worker_set *ws)
{
	siginfo_t si;
	unsigned i;
	int status;
	pid_t r;

	if (ws->leader <= 0 || ws->w[0].exit.reaped)
		return 0;
	/* a zombie's threads are gone: what live reports saved is what there is */
	si.si_pid = 0;
	if (waitid(P_PID, ws->leader, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid == ws->leader)
		for (i = 0; i < ws->n; i++)
			worker_save_schedstat(ws, i);
	do
		r = waitpid(ws->leader, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == ws->leader) {
		for (i = 0; i < ws->n; i++)
			worker_set_exit(ws, i, status);
		return 0;
	}
	if (r < 0 && errno == ECHILD) {
		for (i = 0; i < ws->n; i++)
			worker_set_lost(ws, i);
		return 0;
	}
	return ws->n;
}

/* Reaps whatever exited; returns how many are still unreaped. */
static unsigned worker_reap(struct worker_set *ws)
{
	unsigned i, alive = 0;
	siginfo_t si;
	int status;
	pid_t r;

	if (ws->threads)
		return worker_reap_threads(ws);
	for (i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];

		if (w->pid <= 0 || w->exit.reaped)
			continue;
		/* a zombie still has its schedstat: read it before reaping */
		si.si_pid = 0;
		if (waitid(P_PID, w->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == w->pid)
			worker_save_schedstat(ws, i);
		do
			r = waitpid(w->pid, &status, WNOHANG);
		while (r < 0 && errno == EINTR);
		if (r == w->pid)
			worker_set_exit(ws, i, status);
		else if (r < 0 && errno == ECHILD)
			worker_set_lost(ws, i);
		else
			alive++;
	}
	return alive;
}

void worker_poll(struct worker_set *ws)
{
	worker_reap(ws);
}

static unsigned worker_reap_until(struct worker_set *ws, long long end)
{
	unsigned alive;

	while ((alive = worker_reap(ws)) && clock_now_ms() < end)
		usleep(1000);
	return alive;
}

static void worker_release(struct worker_set *ws)
{
	__atomic_store_n(&ws->shm->go, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &ws->shm->go, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

int worker_stop(struct worker_set *ws, int timeout_ms)
{
	unsigned i;

	if (!ws)
		return 0;
	ws->stopped = 1;
	__atomic_store_n(&ws->shm->stop, 1, __ATOMIC_RELEASE);
	worker_release(ws);
	if (!worker_reap_until(ws, clock_now_ms() + timeout_ms))
		return 0;
	/*
	 * Stragglers: frozen, blocked, or ignoring the flag. SIGKILL reaches
	 * frozen cgroup v2 tasks too. The group takes their own children.
	 */
	for (i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		pid_t pid = worker_proc(ws, i);

		if (pid <= 0 || w->exit.reaped)
			continue;
		w->exit.by_stop = 1;
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	return worker_reap_until(ws, clock_now_ms() + WORKER_REAP_MS) ?
	       -EBUSY : 0;
}

int worker_start(struct worker_set *ws)
{
	if (ws->started || ws->stopped)
		return 0;
	ws->started = 1;
	worker_release(ws);
	return 0;
}

/*
 * The parent's copies of the pipe ends, kept apart from the shared groups:
 * the children read their fd numbers there, after the parent closed its own.
 */
static void worker_close_pipes(struct worker_set *ws)
{
	unsigned k;

	for (k = 0; ws->pipes && k < (2 + WORK_GROUP_FDS) * ws->n; k++) {
		if (ws->pipes[k] >= 0)
			close(ws->pipes[k]);
		ws->pipes[k] = -1;
	}
}

/*
 * Member k writes pipe_out[k]; member k+1 (mod size) reads it as pipe_in.
 * Then the type's group_init opens the group's own fds; the parent keeps
 * a copy of every fd in ws->pipes, to close once the members have theirs.
 */
static int worker_make_pipes(struct worker_set *ws, char *err, size_t errlen)
{
	const struct work_type *type = ws->spec.type;
	unsigned g, k, np = 0, nfds = (2 + WORK_GROUP_FDS) * ws->n;
	int p[2], rc;

	ws->pipes = malloc(nfds * sizeof(*ws->pipes));
	if (!ws->pipes) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (k = 0; k < nfds; k++)
		ws->pipes[k] = -1;
	for (g = 0; g < ws->ngroups; g++) {
		struct work_group *grp = &ws->groups[g];

		grp->size = ws->gsize;
		for (k = 0; k < WORK_GROUP_MAX; k++)
			grp->pipe_in[k] = grp->pipe_out[k] = -1;
		for (k = 0; k < WORK_GROUP_FDS; k++)
			grp->fd[k] = -1;
		if (ws->group_mem)
			grp->mem = (char *)ws->group_mem + g * ws->group_mem_len;
	}
	for (g = 0; g < ws->ngroups; g++) {
		struct work_group *grp = &ws->groups[g];

		for (k = 0; k < ws->gsize; k++) {
			if (pipe2(p, O_CLOEXEC) < 0) {
				rc = -errno;
				snprintf(err, errlen, "pipe: %s", strerror(-rc));
				return rc;
			}
			ws->pipes[np++] = p[0];
			ws->pipes[np++] = p[1];
			grp->pipe_out[k] = p[1];
			grp->pipe_in[(k + 1) % ws->gsize] = p[0];
		}
		if (!type->group_init)
			continue;
		rc = type->group_init(grp, &ws->spec);
		for (k = 0; k < WORK_GROUP_FDS; k++)
			ws->pipes[np++] = grp->fd[k];
		if (rc) {
			snprintf(err, errlen, "%s: group %u: %s", type->name, g,
				 strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static void worker_describe_exit(struct worker_set *ws, unsigned i, char *buf,
				 size_t len)
{
	const struct worker_exit *e = &ws->w[i].exit;

	if (ws->telem[i].error_msg[0])
		snprintf(buf, len, "%s", ws->telem[i].error_msg);
	else if (e->signaled && e->sig)
		snprintf(buf, len, "killed by signal %d (%s) during setup",
			 e->sig, strsignal(e->sig));
	else if (e->signaled)
		snprintf(buf, len, "killed during setup");
	else
		snprintf(buf, len, "exited with code %d during setup", e->code);
}

static int worker_wait_placed(struct worker_set *ws, int timeout_ms, char *err,
			      size_t errlen)
{
	long long end = clock_now_ms() + timeout_ms;
	char why[TELEM_ERR_LEN + 64];
	unsigned i, placed;

	for (;;) {
		placed = __atomic_load_n(&ws->shm->placed, __ATOMIC_ACQUIRE);
		if (placed == ws->n)
			return 0;
		worker_reap(ws);
		/* the one that says why first: a threads set's others just went with it */
		for (i = 0; i < ws->n; i++)
			if (ws->w[i].exit.reaped && ws->telem[i].state < TELEM_PLACED &&
			    ws->telem[i].error_msg[0])
				break;
		for (i = i < ws->n ? i : 0; i < ws->n; i++) {
			if (!ws->w[i].exit.reaped ||
			    ws->telem[i].state >= TELEM_PLACED)
				continue;
			worker_describe_exit(ws, i, why, sizeof(why));
			snprintf(err, errlen, "worker %u: %s", i, why);
			return ws->telem[i].error ? ws->telem[i].error : -ECHILD;
		}
		if (clock_now_ms() >= end) {
			snprintf(err, errlen,
				 "only %u of %u workers placed after %d ms", placed,
				 ws->n, timeout_ms);
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
}

static int worker_alloc(struct worker_set **out, const struct work_spec *spec,
			unsigned n, const struct worker_opts *o)
{
	struct worker_set *ws = calloc(1, sizeof(*ws));
	size_t len;
	long page = sysconf(_SC_PAGESIZE);
	unsigned i;

	if (!ws)
		return -ENOMEM;
	ws->n = n;
	ws->run = o->run;
	ws->arg = o->arg;
	if (!o->run) {
		ws->spec = *spec;
		ws->gsize = work_group_size(spec);
		if (spec->type->group_size)
			ws->ngroups = n / ws->gsize;
	} else {
		ws->gsize = 1;
	}
	snprintf(ws->name, sizeof(ws->name), "%s", worker_spec_name(spec, o));
	if (o->comm)
		snprintf(ws->comm, sizeof(ws->comm), "%s", o->comm);
	else
		snprintf(ws->comm, sizeof(ws->comm), "ktstr-%.9s", ws->name);
	if (o->cgroup) {
		snprintf(ws->cgroup, sizeof(ws->cgroup), "%s", o->cgroup);
		ws->has_cgroup = 1;
	}
	ws->set_nice = o->set_nice;
	ws->nice = o->nice;
	worker_policies(o, &ws->sched, &ws->mem);
	if (o->mpol_nodes)
		policy_nodes_parse(o->mpol_nodes, &ws->mem.nodes);
	ws->set_mem = o->set_mempolicy;
	ws->threads = o->threads;
	if (o->cpus) {
		worker_parse_cpus(o->cpus, &ws->cpus);
		snprintf(ws->cpulist, sizeof(ws->cpulist), "%s", o->cpus);
		ws->has_cpus = 1;
	}
	ws->parent = getpid();
	ws->w = calloc(n, sizeof(*ws->w));
	if (!ws->w) {
		free(ws);
		return -ENOMEM;
	}
	for (i = 0; o->cpus_each && i < n; i++) {
		if (o->cpus_each[i]) {
			worker_parse_cpus(o->cpus_each[i], &ws->w[i].cpus);
			snprintf(ws->w[i].cpulist, sizeof(ws->w[i].cpulist), "%s",
				 o->cpus_each[i]);
			ws->w[i].has_cpus = 1;
		}
	}
	if (ws->ngroups && spec->type->group_mem)
		ws->group_mem_len = (spec->type->group_mem(spec) + 63) / 64 * 64;
	len = sizeof(struct worker_shm) + n * sizeof(struct telem) +
	      ws->ngroups * sizeof(struct work_group);
	len = (len + 63) / 64 * 64 + ws->ngroups * ws->group_mem_len;
	len = (len + page - 1) / page * page;
	ws->map = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ws->map == MAP_FAILED) {
		int rc = -errno;

		free(ws->w);
		free(ws);
		return rc;
	}
	ws->map_len = len;
	ws->shm = ws->map;
	ws->telem = (struct telem *)(ws->shm + 1);
	if (ws->ngroups)
		ws->groups = (struct work_group *)(ws->telem + n);
	if (ws->group_mem_len)
		ws->group_mem = (char *)ws->map +
			(sizeof(struct worker_shm) + n * sizeof(struct telem) +
			 ws->ngroups * sizeof(struct work_group) + 63) / 64 * 64;
	*out = ws;
	return 0;
}

int worker_spawn(struct worker_set **out, const struct work_spec *spec,
		 unsigned n, const struct worker_opts *o, char *err, size_t errlen)
{
	struct worker_set *ws = NULL;
	unsigned i;
	pid_t pid;
	int rc;

	*out = NULL;
	rc = worker_check(spec, n, o, err, errlen);
	if (rc)
		return rc;
	rc = worker_alloc(&ws, spec, n, o);
	if (rc) {
		snprintf(err, errlen, "%s", strerror(-rc));
		return rc;
	}
	if (ws->groups) {
		rc = worker_make_pipes(ws, err, errlen);
		if (rc)
			goto fail;
	}
	for (i = 0; i < (ws->threads ? 1 : n); i++) {
		pid = fork();
		if (pid < 0) {
			rc = -errno;
			snprintf(err, errlen, "fork: worker %u of %u: %s",
				 i, n, strerror(-rc));
			goto fail;
		}
		if (pid == 0 && ws->threads)
			worker_leader(ws);
		if (pid == 0)
			worker_child(ws, i);
		setpgid(pid, pid);
		if (ws->threads)
			ws->leader = pid;
		else
			ws->w[i].pid = pid;
	}
	/* only the children use the pipes: EOF must follow a member's exit */
	worker_close_pipes(ws);
	rc = worker_wait_placed(ws, o->place_timeout_ms > 0 ?
				o->place_timeout_ms : WORKER_PLACE_MS,
				err, errlen);
	if (rc)
		goto fail;
	/* each thread wrote its id before it counted itself placed */
	for (i = 0; ws->threads && i < n; i++)
		ws->w[i].pid = ws->telem[i].pid;
	*out = ws;
	return 0;
fail:
	worker_free(ws);
	return rc;
}

void worker_free(struct worker_set *ws)
{
	if (!ws)
		return;
	if (worker_reap(ws)) {
		worker_stop(ws, ws->started ? 2000 : 500);
		if (worker_reap(ws)) {
			/*
			 * A child that survived SIGKILL for 5 s (stuck in the
			 * kernel): keep the mapping, it may still write it.
			 */
			worker_close_pipes(ws);
			return;
		}
	}
	worker_close_pipes(ws);
	munmap(ws->map, ws->map_len);
	free(ws->pipes);
	free(ws->w);
	free(ws);
}

unsigned worker_count(const struct worker_set *ws)
{
	return ws->n;
}

int worker_set_affinity(struct worker_set *ws, unsigned i, const char *cpulist)
{
	cpu_set_t set;

	if (i >= ws->n || worker_parse_cpus(cpulist, &set))
		return -EINVAL;
	if (ws->w[i].exit.reaped || ws->w[i].pid <= 0)
		return -ESRCH;
	return sched_setaffinity(ws->w[i].pid, sizeof(set), &set) ? -errno : 0;
}

pid_t worker_pid(const struct worker_set *ws, unsigned i)
{
	return i < ws->n ? ws->w[i].pid : -1;
}

pid_t worker_process(const struct worker_set *ws)
{
	return worker_proc(ws, 0);
}

const char *worker_work_name(const struct worker_set *ws)
{
	return ws->name;
}

int worker_started(const struct worker_set *ws)
{
	return ws->started;
}

int worker_stopped(const struct worker_set *ws)
{
	return ws->stopped;
}

void worker_report(struct worker_set *ws, unsigned i, struct worker_report *r)
{
	static struct telem s;	/* 5 KB: off the stack; reports are serial */
	struct worker *w = &ws->w[i];
	uint64_t end;
	unsigned k;

	worker_reap(ws);
	memcpy(&s, &ws->telem[i], sizeof(s));
	memset(r, 0, sizeof(*r));
	r->index = i;
	r->group = i / ws->gsize;
	r->member = i % ws->gsize;
	r->pid = w->pid;
	r->state = s.state;
	r->work_units = s.work_units;
	r->iterations = s.iterations;
	r->max_gap_ns = s.max_gap_ns;
	r->max_gap_at_ns = s.max_gap_at_ns;
	r->start_ns = s.start_ns;
	r->max_gap_cpu = s.iterations ? s.max_gap_cpu : -1;
	r->migrations = s.migrations;
	memcpy(r->cpus_seen, s.cpus_seen, sizeof(r->cpus_seen));
	if (s.state >= TELEM_RUNNING && s.start_ns) {
		end = s.end_ns ? s.end_ns :
		      w->exit.reaped ? w->reaped_ns : clock_now_ns();
		r->wall_ns = end > s.start_ns ? end - s.start_ns : 0;
	}
	if (s.state == TELEM_DONE) {
		r->schedstat = s.schedstat;
		r->cpu_ns = s.cpu_ns;
		r->run_delay_ns = s.run_delay_ns;
		r->slices = s.slices;
		r->vcsw = s.vcsw;
		r->ivcsw = s.ivcsw;
	} else if (s.state == TELEM_RUNNING && s.schedstat) {
		/* live, or killed before telem_end: the last word from /proc */
		if (!w->exit.reaped)
			worker_save_schedstat(ws, i);
		if (w->have_last) {
			r->schedstat = 1;
			r->cpu_ns = w->last_cpu_ns - s.cpu_start_ns;
			r->run_delay_ns = w->last_delay_ns - s.run_delay_start_ns;
			r->slices = w->last_slices - s.slices_start;
		}
	}
	telem_wake_stats(&s, &r->wake);
	r->nmetrics = s.nmetrics < TELEM_METRICS ? s.nmetrics : TELEM_METRICS;
	memcpy(r->metrics, s.metrics, sizeof(r->metrics));
	for (k = 0; k < r->nmetrics; k++)
		r->metrics[k].name[TELEM_METRIC_NAME - 1] = '\0';
	r->exit = w->exit;
	r->error = s.error;
	snprintf(r->error_msg, sizeof(r->error_msg), "%s", s.error_msg);
	if (r->error_msg[0] || !w->exit.signaled || w->exit.by_stop)
		return;
	if (w->exit.lost)
		snprintf(r->error_msg, sizeof(r->error_msg),
			 "killed (reaped elsewhere, e.g. by cgroup removal)");
	else
		snprintf(r->error_msg, sizeof(r->error_msg),
			 "killed by signal %d (%s)", w->exit.sig,
			 strsignal(w->exit.sig));
}
