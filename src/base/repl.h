/* The REPL's plumbing: unix sockets for hold/attach, waiting on fds, SIGINT as a counter. */
#ifndef KTSTR_REPL_H
#define KTSTR_REPL_H

#include "chan.h"

/* A listening unix stream socket at path (replacing a stale one); 0 or -errno. */
int repl_listen(const char *path, int *fd);
/* Waits up to ms (-1 forever) for a client; 0 with *fd, -ETIMEDOUT or -errno. */
int repl_accept(int lfd, int ms, int *fd);
/* Connects to the socket at path; 0 with *fd or -errno. */
int repl_connect(const char *path, int *fd);

/* Whether b already holds one whole frame (chan_buf_next would not wait). */
int repl_buf_ready(const struct chan_buf *b);

/*
 * Waits up to ms (-1 forever) until one of fds (negative entries are skipped)
 * is readable or hung up; ready[i] says which. Returns how many, 0 on timeout,
 * or -errno (-EINTR when a signal came first).
 */
int repl_wait(const int *fds, int n, int ms, int *ready);

/*
 * SIGINT as a counter instead of the CLI's abort: on = 1 installs it (with
 * SA_RESTART), on = 0 puts the previous handler back. hook, when set, runs in
 * the handler after the count is bumped (l_repl.c stops Lua code there).
 */
int repl_sigint_catch(int on);
unsigned long repl_sigint_count(void);
void repl_sigint_hook(void (*hook)(void));

/* Sleeps s seconds unless a signal comes first: 0, or -EINTR. */
int repl_sleep(double s);

#endif
