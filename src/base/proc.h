/* Child processes with piped stdout/stderr, owned and reaped by their creator. */
#ifndef KTSTR_PROC_H
#define KTSTR_PROC_H

#include <sys/types.h>

struct proc {
	pid_t pid;
	int out_fd, err_fd;	/* -1 once at EOF */
	int status;		/* wait status once reaped */
	int reaped;
	const char *failed;	/* after a failed spawn: "exec", "joining the cgroup", ... */
};

struct proc_opts {
	char *const *env;	/* NULL: inherit */
	const char *cwd;	/* NULL: inherit */
	int new_pgrp;		/* own process group, so a kill takes its children */
	int pdeathsig;		/* signal sent to the child if we die; 0 for none */
	int merge_stderr;	/* stderr into the stdout pipe */
	int stdin_null;		/* stdin from /dev/null */
	/*
	 * stdout and stderr to this file instead of pipes: for long-lived
	 * children (schedulers) whose output nobody drains while they run.
	 */
	const char *out_path;
	const char *err_path;	/* with out_path: stderr to this file instead */
	/*
	 * A cgroup v2 directory the child joins before exec, so that the
	 * program and everything it forks run there from the first instruction.
	 */
	const char *cgroup;
	int set_nice, nice;	/* setpriority before exec */
};

/*
 * Forks and execs argv[0] (PATH search); 0 or -errno (exec failure included;
 * p->failed then says what the child was doing).
 */
int proc_spawn(struct proc *p, char *const argv[], const struct proc_opts *o);
/*
 * Waits up to ms (-1 forever) for output; returns bytes read into buf with
 * *which = 1 (stdout) or 2 (stderr), 0 when both pipes are closed, -ETIMEDOUT,
 * or -errno.
 */
int proc_read(struct proc *p, int ms, char *buf, size_t len, int *which);
/* Waits up to ms (-1 forever) for exit; 0 with p->status set, -ETIMEDOUT. */
int proc_wait(struct proc *p, int ms);
/* Sends sig (to the group when new_pgrp was set). */
int proc_kill(struct proc *p, int sig);
/* SIGTERM, wait up to grace_ms, then SIGKILL and reap; closes pipes. */
void proc_stop(struct proc *p, int grace_ms);

#endif
