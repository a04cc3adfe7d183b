/* fork/exec with pipes, bounded waits and a stop that always reaps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "proc.h"

/* Moves the calling process into the cgroup v2 directory dir; 0 or -1 with errno. */
static int proc_join(const char *dir)
{
	char path[4096];
	int fd, n;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = (int)write(fd, "0", 1);
	if (n == 1)
		return close(fd);
	n = errno;
	close(fd);
	errno = n;
	return -1;
}

/* What the child was doing when it failed, as proc.failed says it. */
static const char *const proc_stages[] = { "exec", "joining the cgroup", "setting nice",
					   "opening the output", "changing directory" };

/*
 * Runs in the child: never returns; reports a failure through errfd as
 * two ints, the stage (an index of proc_stages) and errno.
 */
static void proc_child(char *const argv[], const struct proc_opts *o,
		       int out, int err, int errfd, pid_t parent)
{
	int e[2] = { 0, 0 };

	if (o->new_pgrp)
		setpgid(0, 0);
	if (o->pdeathsig) {
		prctl(PR_SET_PDEATHSIG, o->pdeathsig);
		/* a parent killed before the prctl sends nothing: go now */
		if (getppid() != parent)
			_exit(127);
	}
	if (o->stdin_null) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd >= 0 && fd != 0) {
			dup2(fd, 0);
			close(fd);
		}
	}
	e[0] = 1;
	if (o->cgroup && proc_join(o->cgroup) < 0)
		goto fail;
	e[0] = 2;
	if (o->set_nice && setpriority(PRIO_PROCESS, 0, o->nice) < 0)
		goto fail;
	e[0] = 3;
	if (o->out_path) {
		out = open(o->out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (out < 0)
			goto fail;
		err = out;
		if (o->err_path) {
			err = open(o->err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (err < 0)
				goto fail;
		}
	}
	dup2(out, 1);
	dup2(o->merge_stderr ? out : err, 2);
	e[0] = 4;
	if (o->cwd && chdir(o->cwd) < 0)
		goto fail;
	signal(SIGPIPE, SIG_DFL);
	e[0] = 0;
	if (o->env)
		execvpe(argv[0], argv, o->env);
	else
		execvp(argv[0], argv);
fail:
	e[1] = errno;
	if (write(errfd, e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int proc_spawn(struct proc *p, char *const argv[], const struct proc_opts *o)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, ex[2] = { -1, -1 };
	pid_t parent = getpid();
	int rc = 0, e, why[2];
	ssize_t n;

	memset(p, 0, sizeof(*p));
	p->out_fd = p->err_fd = -1;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(ex, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out;
	}
	p->pid = fork();
	if (p->pid < 0) {
		rc = -errno;
		goto out;
	}
	if (p->pid == 0)
		proc_child(argv, o, out[1], err[1], ex[1], parent);
	if (o->new_pgrp)
		setpgid(p->pid, p->pid);	/* both sides: no race with kill */
	close(ex[1]);
	ex[1] = -1;
	do
		n = read(ex[0], why, sizeof(why));
	while (n < 0 && errno == EINTR);
	if (n == sizeof(why)) {
		waitpid(p->pid, &p->status, 0);
		p->reaped = 1;
		p->failed = proc_stages[why[0]];
		rc = -why[1];
		goto out;
	}
	if (!o->out_path) {
		p->out_fd = out[0];
		p->err_fd = o->merge_stderr ? -1 : err[0];
		out[0] = -1;
		if (!o->merge_stderr)
			err[0] = -1;
	}
out:
	for (e = 0; e < 2; e++) {
		if (out[e] >= 0)
			close(out[e]);
		if (err[e] >= 0)
			close(err[e]);
		if (ex[e] >= 0)
			close(ex[e]);
	}
	return rc;
}

int proc_read(struct proc *p, int ms, char *buf, size_t len, int *which)
{
	struct pollfd pfd[2] = {
		{ .fd = p->out_fd, .events = POLLIN },
		{ .fd = p->err_fd, .events = POLLIN },
	};
	int i, rc;
	ssize_t n;

	while (p->out_fd >= 0 || p->err_fd >= 0) {
		pfd[0].fd = p->out_fd;
		pfd[1].fd = p->err_fd;
		rc = poll(pfd, 2, ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
		for (i = 0; i < 2; i++) {
			int *fd = i ? &p->err_fd : &p->out_fd;

			if (*fd < 0 || !pfd[i].revents)
				continue;
			n = read(*fd, buf, len);
			if (n > 0) {
				*which = i + 1;
				return (int)n;
			}
			if (n < 0 && errno == EINTR)
				continue;
			close(*fd);
			*fd = -1;
		}
	}
	return 0;
}

int proc_wait(struct proc *p, int ms)
{
	long long end = clock_now_ms() + ms;
	pid_t r;

	while (!p->reaped) {
		r = waitpid(p->pid, &p->status, ms < 0 ? 0 : WNOHANG);
		if (r == p->pid) {
			p->reaped = 1;
			break;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (ms >= 0 && clock_now_ms() >= end)
			return -ETIMEDOUT;
		if (r == 0)
			usleep(2000);
	}
	return 0;
}

int proc_kill(struct proc *p, int sig)
{
	pid_t target;

	if (p->reaped)
		return -ESRCH;
	target = getpgid(p->pid) == p->pid ? -p->pid : p->pid;
	return kill(target, sig) < 0 ? -errno : 0;
}

void proc_stop(struct proc *p, int grace_ms)
{
	if (!p->reaped && p->pid > 0) {
		proc_kill(p, SIGTERM);
		if (proc_wait(p, grace_ms) < 0) {
			proc_kill(p, SIGKILL);
			proc_wait(p, -1);
		}
	}
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	p->out_fd = p->err_fd = -1;
}
