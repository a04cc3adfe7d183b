/* Holding the guest's BPF maps open so that a dead scheduler's state outlives it. */
#ifndef KTSTR_BPFHOLD_H
#define KTSTR_BPFHOLD_H

#include <stddef.h>
#include <stdint.h>

/* The ids of every BPF map now loaded, ascending, into ids[0..max): the count or -errno. */
int bpfhold_map_ids(uint32_t *ids, size_t max);
/* A new fd referencing map id (keeps it alive until closed), or -errno; -EOPNOTSUPP for struct_ops. */
int bpfhold_map(uint32_t id);

#endif
