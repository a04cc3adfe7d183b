/* SIGINT/SIGTERM bookkeeping: a flag, a self-pipe and an optional hook. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sig.h"

static volatile sig_atomic_t sig_got;
static int sig_pipe[2] = { -1, -1 };
static void (*sig_hook)(int);

static void sig_handler(int signo)
{
	int saved = errno;
	char c = (char)signo;

	sig_got = signo;
	if (sig_pipe[1] >= 0 && write(sig_pipe[1], &c, 1) < 0) {
		/* the pipe is full: a signal is already recorded */
	}
	if (sig_hook)
		sig_hook(signo);
	errno = saved;
}

int sig_setup(void)
{
	struct sigaction sa;
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	unsigned i;

	if (sig_pipe[0] < 0 && pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_handler;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -errno;
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

void sig_set_hook(void (*hook)(int))
{
	sig_hook = hook;
}
