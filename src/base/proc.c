/* fork/exec with pipes, bounded waits and a stop that always reaps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "proc.h"

/* Runs in the child: never returns; reports exec failure through errfd. */
static void proc_child(char *const argv[], const struct proc_opts *o,
		       int out, int err, int errfd, pid_t parent)
{
	int e;

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
	if (o->out_path) {
		out = open(o->out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (out < 0)
			goto fail;
		err = out;
	}
	dup2(out, 1);
	dup2(o->merge_stderr ? out : err, 2);
	if (o->cwd && chdir(o->cwd) < 0)
		goto fail;
	signal(SIGPIPE, SIG_DFL);
	if (o->env)
		execvpe(argv[0], argv, o->env);
	else
		execvp(argv[0], argv);
fail:
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int proc_spawn(struct proc *p, char *const argv[], const struct proc_opts *o)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, ex[2] = { -1, -1 };
	pid_t parent = getpid();
	int rc = 0, e;
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
		n = read(ex[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == sizeof(e)) {
		waitpid(p->pid, &p->status, 0);
		p->reaped = 1;
		rc = -e;
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
