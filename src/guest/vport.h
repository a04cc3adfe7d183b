/* The guest's end of the channel: a virtio-serial port found by its name. */
#ifndef KTSTR_VPORT_H
#define KTSTR_VPORT_H

#include "src/base/chan.h"

/* Finds /sys/class/virtio-ports/<x>/name == name and opens /dev/<x> as p; 0 or -errno. */
int vport_open(struct chan_port *p, const char *name);

#endif
