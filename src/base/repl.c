/* The REPL's plumbing: unix sockets for hold/attach, waiting on fds, SIGINT as a counter. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "repl.h"

/* A unix stream socket and the address of path; the socket fd or -errno. */
static int repl_socket(const char *path, struct sockaddr_un *sa)
{
	int s;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return s < 0 ? -errno : s;
}

int repl_listen(const char *path, int *fd)
{
	struct sockaddr_un sa;
	int rc, s = repl_socket(path, &sa);

	if (s < 0)
		return s;
	/* a socket file left by a holder that was killed would make bind fail */
	unlink(path);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 4) < 0) {
		rc = -errno;
		close(s);
		return rc;
	}
	*fd = s;
	return 0;
}

int repl_accept(int lfd, int ms, int *fd)
{
	int ready, rc = repl_wait(&lfd, 1, ms, &ready);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ETIMEDOUT;
	rc = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (rc < 0)
		return -errno;
	*fd = rc;
	return 0;
}

int repl_connect(const char *path, int *fd)
{
	struct sockaddr_un sa;
	int rc, s = repl_socket(path, &sa);

	if (s < 0)
		return s;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(s);
		return rc;
	}
	*fd = s;
	return 0;
}

int repl_buf_ready(const struct chan_buf *b)
{
	const unsigned char *h = (const unsigned char *)b->data + b->off;
	size_t avail = b->len - b->off;
	uint32_t n;

	if (!b->data || avail < CHAN_HDR_LEN)
		return 0;
	n = h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24;
	/* a bad header is "ready" too: the reader reports it */
	return memcmp(h, CHAN_MAGIC, 4) != 0 || avail >= CHAN_HDR_LEN + (size_t)n;
}

int repl_wait(const int *fds, int n, int ms, int *ready)
{
	struct pollfd pfd[16];
	int i, k = 0, rc;

	if (n > 16)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		ready[i] = 0;
		pfd[i].fd = fds[i];	/* poll ignores negative fds */
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	rc = poll(pfd, n, ms);
	if (rc < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
			ready[i] = 1;
			k++;
		}
	}
	return k;
}

static volatile sig_atomic_t repl_sigints;
static void (*repl_hook)(void);
static struct sigaction repl_old;
static int repl_caught;

static void repl_on_sigint(int signo)
{
	int saved = errno;

	(void)signo;
	repl_sigints++;
	if (repl_hook)
		repl_hook();
	errno = saved;
}

int repl_sigint_catch(int on)
{
	struct sigaction sa;

	if (!on) {
		if (repl_caught && sigaction(SIGINT, &repl_old, NULL) < 0)
			return -errno;
		repl_caught = 0;
		return 0;
	}
	if (repl_caught)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = repl_on_sigint;
	/* reads restart; poll and nanosleep still return EINTR (signal(7)) */
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, &repl_old) < 0)
		return -errno;
	repl_caught = 1;
	return 0;
}

unsigned long repl_sigint_count(void)
{
	return (unsigned long)repl_sigints;
}

void repl_sigint_hook(void (*hook)(void))
{
	repl_hook = hook;
}

int repl_sleep(double s)
{
	struct timespec ts;

	if (s <= 0)
		return 0;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	return nanosleep(&ts, NULL) < 0 ? -errno : 0;
}
