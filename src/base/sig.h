/* SIGINT/SIGTERM/SIGHUP: the one owner of their handlers, for the CLI, the VM loop and the REPL. */
#ifndef KTSTR_SIG_H
#define KTSTR_SIG_H

#include <signal.h>

/* Installs SIGINT/SIGTERM/SIGHUP handlers that record the signal. */
int sig_setup(void);
/* The signal that interrupted us, or 0. */
int sig_pending(void);
/* A fd that turns readable once a signal arrived (for event loops). */
int sig_fd(void);
/*
 * Called from the handler after the bookkeeping, e.g. to break out of Lua
 * code; counted says the signal was a SIGINT taken as a count (see below).
 */
void sig_set_hook(void (*hook)(int signo, int counted));

/*
 * SIGINT as a counter instead of an interrupt (the REPL): on = 1 installs
 * the handler with SA_RESTART and a SIGINT then only bumps the count (not
 * pending, no fd wake-up); on = 0 puts the previous handler back. 0 or -errno.
 */
int sig_sigint_catch(int on);
unsigned long sig_sigint_count(void);

/*
 * Waits up to ms (-1 forever) for fd to turn readable (or hung up): 1, 0
 * on timeout, or -EINTR once a SIGINT/SIGTERM/SIGHUP is pending or the
 * SIGINT count moved past sigints (one that came before the call included).
 */
int sig_wait_readable(int fd, int ms, unsigned long sigints);

#endif
