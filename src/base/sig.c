/* SIGINT/SIGTERM/SIGHUP bookkeeping: a flag, a self-pipe, a SIGINT count and one hook. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sig.h"

static volatile sig_atomic_t sig_got;
static volatile sig_atomic_t sig_sigints;
static volatile sig_atomic_t sig_counting;
static int sig_pipe[2] = { -1, -1 };
static void (*sig_hook)(int, int);
static struct sigaction sig_old_int;

static void sig_handler(int signo)
{
	int saved = errno, counted = signo == SIGINT && sig_counting;
	char c = (char)signo;

	if (counted) {
		sig_sigints++;
	} else {
		sig_got = signo;
		if (sig_pipe[1] >= 0 && write(sig_pipe[1], &c, 1) < 0) {
			/* the pipe is full: a signal is already recorded */
		}
	}
	if (sig_hook)
		sig_hook(signo, counted);
	errno = saved;
}

static int sig_install(int signo, int flags, struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(signo, &sa, old) < 0 ? -errno : 0;
}

int sig_setup(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	unsigned i;
	int rc;

	if (sig_pipe[0] < 0 && pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if ((rc = sig_install(sigs[i], 0, NULL)))
			return rc;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int sig_pending(void)
{
	return sig_got;
}

int sig_fd(void)
{
	return sig_pipe[0];
}

void sig_set_hook(void (*hook)(int, int))
{
	sig_hook = hook;
}

int sig_sigint_catch(int on)
{
	int rc;

	if (!on) {
		if (sig_counting && sigaction(SIGINT, &sig_old_int, NULL) < 0)
			return -errno;
		sig_counting = 0;
		return 0;
	}
	if (sig_counting)
		return 0;
	/* reads restart; poll and nanosleep still return EINTR (signal(7)) */
	rc = sig_install(SIGINT, SA_RESTART, &sig_old_int);
	if (!rc)
		sig_counting = 1;
	return rc;
}

unsigned long sig_sigint_count(void)
{
	return (unsigned long)sig_sigints;
}

int sig_wait_readable(int fd, int ms, unsigned long sigints)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	sigset_t block, old;
	struct timespec ts, *tp = NULL;
	int rc;

	if (ms >= 0) {
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (long)(ms % 1000) * 1000000;
		tp = &ts;
	}
	/*
	 * Blocked from the check until ppoll unblocks them atomically: a
	 * signal that lands in between interrupts the wait instead of being
	 * missed until the input comes (SA_RESTART would not wake a read).
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &block, &old) < 0)
		return -errno;
	if (sig_got || sig_sigint_count() != sigints)
		rc = -EINTR;
	else if ((rc = ppoll(&pfd, 1, tp, &old)) < 0)
		rc = -errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc == -EINTR || sig_got || sig_sigint_count() != sigints)
		return -EINTR;
	return rc > 0;
}
