/* Guest PID 1: what it sets up before the Lua agent serves the host, and power-off. */
#ifndef KTSTR_INIT_H
#define KTSTR_INIT_H

/* Mounts, cgroup2 controllers, console; 0 or -errno. */
int init_setup(void);
/* Syncs and powers the guest off; never returns when PID 1. */
void init_poweroff(int status);

#endif
