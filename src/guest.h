/* Guest side of the binary: PID 1 setup and power-off. */
#ifndef KTSTR_GUEST_H
#define KTSTR_GUEST_H

/* Mounts, cgroup2 controllers, console; 0 or -errno. */
int guest_init(void);
/* Syncs and powers the guest off; never returns when PID 1. */
void guest_poweroff(int status);

#endif
