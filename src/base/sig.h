/* Interrupt state shared by the CLI, the VM loop and the guest agent. */
#ifndef KTSTR_SIG_H
#define KTSTR_SIG_H

#include <signal.h>

/* Installs SIGINT/SIGTERM/SIGHUP handlers that record the signal. */
int sig_setup(void);
/* The signal that interrupted us, or 0. */
int sig_pending(void);
/* A fd that turns readable once a signal arrived (for event loops). */
int sig_fd(void);
/* Called from the handler, e.g. to break out of Lua code. */
void sig_set_hook(void (*hook)(int));

#endif
