/* Unix stream sockets (the REPL's hold/attach, the guest evaluator) and waiting on fds. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"

/* A unix stream socket and the address of path; the socket fd or -errno. */
static int sock_socket(const char *path, struct sockaddr_un *sa)
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

int sock_listen(const char *path, int *fd)
{
	struct sockaddr_un sa;
	int rc, s = sock_socket(path, &sa);

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

int sock_accept(int lfd, int ms, int *fd)
{
	int ready, rc = sock_wait(&lfd, 1, ms, &ready);

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

int sock_connect(const char *path, int *fd)
{
	struct sockaddr_un sa;
	int rc, s = sock_socket(path, &sa);

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

int sock_wait(const int *fds, int n, int ms, int *ready)
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
