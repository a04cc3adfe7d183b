/* Unix stream sockets (the REPL's hold/attach, the guest evaluator) and waiting on fds. */
#ifndef KTSTR_SOCK_H
#define KTSTR_SOCK_H

/* A listening unix stream socket at path (replacing a stale one); 0 or -errno. */
int sock_listen(const char *path, int *fd);
/* Waits up to ms (-1 forever) for a client; 0 with *fd, -ETIMEDOUT or -errno. */
int sock_accept(int lfd, int ms, int *fd);
/* Connects to the socket at path; 0 with *fd or -errno. */
int sock_connect(const char *path, int *fd);

/*
 * Waits up to ms (-1 forever) until one of fds (negative entries are skipped)
 * is readable or hung up; ready[i] says which. Returns how many, 0 on timeout,
 * or -errno (-EINTR when a signal came first).
 */
int sock_wait(const int *fds, int n, int ms, int *ready);

#endif
