/* Cgroup work types: cgroup_churn, cgroup_attach_storm; the worker's own cgroup. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "work_loop.h"

#define CG_RMDIR_MS	200	/* how long a made cgroup may take to empty */

int work_fail(struct work_ctx *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->t->error_msg, sizeof(c->t->error_msg), fmt, ap);
	va_end(ap);
	return rc;
}

int work_cgroup_home(struct work_ctx *c, const char *type, struct cgroup *home)
{
	static const char prefix[] = CGROUP_KTSTR "/";
	char line[512], dir[PATH_MAX] = "", err[256];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int rc;

	if (!f)
		return work_fail(c, -errno, "%s: /proc/self/cgroup: %s", type, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(dir, sizeof(dir), "%s%s", CGROUP_ROOT, line + 3);
			break;
		}
	fclose(f);
	if (strncmp(dir, prefix, sizeof(prefix) - 1) != 0)
		return work_fail(c, -EPERM,
				 "%s: the worker's cgroup %s is not under %s: this work acts on cgroups and their members only inside ktstr's own (run it in a ktstr.cgroup)",
				 type, *dir ? dir : "(no cgroup v2)", CGROUP_KTSTR);
	rc = cgroup_open(home, dir + sizeof(prefix) - 1, err, sizeof(err));
	return rc ? work_fail(c, rc, "%s: %s", type, err) : 0;
}

/*
 * A cgroup beside home, named "<type>+<pid>[.<i>]": a '+' no script's
 * cgroup name has, so it collides with none. Created with the controllers
 * home has (its parent enables them); made only by this worker and
 * removed by it when it stops.
 */
static int cg_make(struct work_ctx *c, const char *type, const struct cgroup *home,
		   int i, struct cgroup *out)
{
	const char *slash = strrchr(home->name, '/');
	char name[sizeof(out->name)], idx[16] = "", err[256];
	int rc, len;

	if (i >= 0)
		snprintf(idx, sizeof(idx), ".%d", i);
	len = snprintf(name, sizeof(name), "%.*s%s%s+%d%s",
		       slash ? (int)(slash - home->name) : 0, home->name,
		       slash ? "/" : "", type, (int)getpid(), idx);
	if (len >= (int)sizeof(name))
		return work_fail(c, -ENAMETOOLONG, "%s: cgroup name too long: %s", type, name);
	rc = cgroup_create(out, name, err, sizeof(err));
	if (rc == -EEXIST) {	/* left by a killed worker of the same pid */
		rmdir(out->path);
		rc = cgroup_create(out, name, err, sizeof(err));
	}
	return rc ? work_fail(c, rc, "%s: %s", type, err) : 0;
}

/* rmdir, waiting a little for exiting members to leave; 0 or -errno. */
static int cg_unmake(const struct cgroup *cg)
{
	long long end = clock_now_ms() + CG_RMDIR_MS;

	while (rmdir(cg->path) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY || clock_now_ms() >= end)
			return -errno;
		usleep(1000);
	}
	return 0;
}

/*
 * The files of home that decide where and how much its workers run; a
 * worker in a cgroup of its own making keeps them (the placement checks
 * judge its CPUs against home's cpuset). A file the kernel lacks is skipped.
 */
static const char *const cg_follow[] = { "cpuset.cpus", "cpuset.mems", "cpu.weight" };
#define CG_NFOLLOW	(sizeof(cg_follow) / sizeof(cg_follow[0]))

struct cg_seen {
	char v[CG_NFOLLOW][256];
	int known[CG_NFOLLOW];
};

/* Copies home's files to the n cgroups in to[] that changed since *seen. */
static int cg_follow_home(struct work_ctx *c, const char *type, const struct cgroup *home,
			  const struct cgroup *to, int n, struct cg_seen *seen)
{
	char v[256], err[256];
	size_t f;
	int i, rc;

	for (f = 0; f < CG_NFOLLOW; f++) {
		rc = cgroup_read(home, cg_follow[f], v, sizeof(v), err, sizeof(err));
		if (rc == -ENOENT)
			continue;
		if (rc < 0)
			return work_fail(c, rc, "%s: %s", type, err);
		if (seen->known[f] && strcmp(seen->v[f], v) == 0)
			continue;
		for (i = 0; i < n; i++) {
			rc = cgroup_write(&to[i], cg_follow[f], v, err, sizeof(err));
			if (rc)
				return work_fail(c, rc, "%s: %s", type, err);
		}
		snprintf(seen->v[f], sizeof(seen->v[f]), "%s", v);
		seen->known[f] = 1;
	}
	return 0;
}

/*
 * cgroup_churn: spin, and every cycle_ms move itself (cgroup.procs) to the
 * next cgroup of a ring: its own, then `groups` cgroups it makes beside
 * its own, round again; each worker starts at its own place in the ring.
 * The made cgroups follow its own cpuset and weight. When it stops it
 * moves home and removes them. The worker must run in a ktstr cgroup.
 */
enum { CHURN_GROUPS, CHURN_CYCLE };
#define CHURN_MAX	16

static int cgroup_churn_run(struct work_ctx *c, const struct work_spec *s)
{
	int groups = (int)s->args[CHURN_GROUPS], made = 0, k, rc, i;
	uint64_t cycle = (uint64_t)s->args[CHURN_CYCLE] * 1000000;
	struct cgroup ring[CHURN_MAX + 1];	/* ring[0]: home */
	struct cg_seen seen = { 0 };
	char err[256];

	rc = work_cgroup_home(c, s->type->name, &ring[0]);
	for (i = 1; !rc && i <= groups; i++) {
		rc = cg_make(c, s->type->name, &ring[0], i - 1, &ring[i]);
		made += !rc;
	}
	if (!rc)
		rc = cg_follow_home(c, s->type->name, &ring[0], ring + 1, groups, &seen);
	for (k = (int)(c->index % (groups + 1)); !rc && !work_stopped(c);
	     k = (k + 1) % (groups + 1)) {
		rc = cg_follow_home(c, s->type->name, &ring[0], ring + 1, groups, &seen);
		if (rc)
			break;
		rc = cgroup_attach(&ring[k], getpid(), err, sizeof(err));
		if (rc) {
			work_fail(c, rc, "cgroup_churn: %s", err);
			break;
		}
		if (work_spin_until(c, clock_now_ns() + cycle, 1))
			break;
	}
	if (made && cgroup_attach(&ring[0], getpid(), err, sizeof(err)) && !rc)
		rc = work_fail(c, -EBUSY, "cgroup_churn: moving home: %s", err);
	for (i = 1; i <= made; i++) {
		int gone = cg_unmake(&ring[i]);

		if (gone && !rc)
			rc = work_fail(c, gone, "cgroup_churn: rmdir %s: %s", ring[i].path,
				       strerror(-gone));
	}
	return rc;
}

static const struct work_param churn_params[] = {
	[CHURN_GROUPS] = { "groups", WP_INT, 2, 1, CHURN_MAX,
			   "cgroups made beside the worker's own; it moves round them and its own" },
	[CHURN_CYCLE] = { "cycle_ms", WP_INT, 100, 1, 60000,
			  "ms in one cgroup before moving to the next" },
};

const struct work_type work_cgroup_churn = {
	.name = "cgroup_churn",
	.unit = "1024 spins (a cgroup move every cycle_ms)",
	.params = churn_params,
	.nparams = 2,
	.run = cgroup_churn_run,
};

/*
 * cgroup_attach_storm: fork a child that _exits at once and write its pid
 * to the cgroup.procs of a cgroup made beside the worker's own, racing the
 * child's exit: the attach of a task that is tearing down. reap sig_ign
 * lets the kernel reap the children (SIGCHLD ignored: the race); waitpid
 * reaps each after the write (the control). A child already gone (ESRCH)
 * is part of the race. When it stops it removes the cgroup.
 */
enum { STORM_REAP };
enum { REAP_SIG_IGN, REAP_WAITPID };

static int cgroup_attach_storm_run(struct work_ctx *c, const struct work_spec *s)
{
	int waits = s->args[STORM_REAP] == REAP_WAITPID, rc, gone;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct cgroup home, dest;
	char err[256];
	pid_t pid;

	rc = work_cgroup_home(c, s->type->name, &home);
	if (!rc)
		rc = cg_make(c, s->type->name, &home, -1, &dest);
	if (rc)
		return rc;
	rc = cg_follow_home(c, s->type->name, &home, &dest, 1, &(struct cg_seen){ 0 });
	if (!waits)
		sigaction(SIGCHLD, &ign, &old);
	while (!rc && !work_stopped(c)) {
		pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0) {
			if (errno == EAGAIN)	/* pids.max or memory: retry */
				continue;
			rc = work_fail(c, -errno, "cgroup_attach_storm: fork: %s", strerror(errno));
			break;
		}
		rc = cgroup_attach(&dest, pid, err, sizeof(err));
		if (rc == -ESRCH)
			rc = 0;
		if (waits)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		if (rc)
			work_fail(c, rc, "cgroup_attach_storm: %s", err);
		else
			telem_checkpoint(c->t, 1);
	}
	if (!waits) {
		/*
		 * With SIGCHLD ignored, wait returns (ECHILD) once every child
		 * is gone: none is left to turn zombie after the restore.
		 */
		while (wait(NULL) > 0 || errno == EINTR)
			;
		sigaction(SIGCHLD, &old, NULL);
	}
	gone = cg_unmake(&dest);
	if (gone && !rc)
		rc = work_fail(c, gone, "cgroup_attach_storm: rmdir %s: %s", dest.path,
			       strerror(-gone));
	return rc;
}

static const char *const storm_reaps[] = { "sig_ign", "waitpid", NULL };

static const struct work_param storm_params[] = {
	[STORM_REAP] = { "reap", WP_ENUM, REAP_SIG_IGN, 0, 1,
			 "sig_ign: the kernel reaps the children (the race); waitpid: the worker does (the control)" },
};

const struct work_type work_cgroup_attach_storm = {
	.name = "cgroup_attach_storm",
	.unit = "one fork + cgroup.procs write of the exiting child",
	.params = storm_params,
	.nparams = 1,
	.run = cgroup_attach_storm_run,
	.choices = (const char *const *const []){ [STORM_REAP] = storm_reaps },
};
