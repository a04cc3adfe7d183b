/* Samples the guest's runqueues and sched_ext counters without the guest's help. */
#include <errno.h>
#include <string.h>

#include "monitor.h"

static uint32_t rd32(const struct kmem *k, uint64_t va, int *fault)
{
	uint32_t v = 0;
	int rc = kmem_read_u32(k, va, &v);

	if (rc && !*fault)
		*fault = rc;
	return v;
}

static uint64_t rd64_opt(const struct kmem *k, uint64_t rq, uint32_t off)
{
	uint64_t v = 0;

	if (off != MON_NO_FIELD)
		kmem_read_u64(k, rq + off, &v);
	return v;
}

/* Counters only a schedstat kernel keeps: zero where absent, never a fault. */
static void mon_sample_schedstat(const struct kmem *k, const struct mon_layout *l, uint64_t rq,
				 struct mon_cpu *c)
{
	int fault = 0;

	c->nr_switches = rd64_opt(k, rq, l->rq_nr_switches);
	c->run_delay = rd64_opt(k, rq, l->rq_run_delay);
	c->pcount = rd64_opt(k, rq, l->rq_pcount);
	c->ttwu_count = l->rq_ttwu_count == MON_NO_FIELD ? 0 :
			rd32(k, rq + l->rq_ttwu_count, &fault);
	c->sched_goidle = l->rq_sched_goidle == MON_NO_FIELD ? 0 :
			  rd32(k, rq + l->rq_sched_goidle, &fault);
}

static void mon_sample_rq(const struct kmem *k, const struct mon_layout *l, int cpu,
			  struct mon_cpu *c)
{
	uint64_t rq = kmem_percpu(k, l->runqueues, cpu);
	int rc;

	c->fault = 0;
	c->nr_running = rd32(k, rq + l->rq_nr_running, &c->fault);
	c->scx_nr_running = rd32(k, rq + l->rq_scx_nr_running, &c->fault);
	c->scx_flags = rd32(k, rq + l->rq_scx_flags, &c->fault);
	c->dsq_depth = rd32(k, rq + l->rq_scx_dsq_nr, &c->fault);
	rc = kmem_read_u64(k, rq + l->rq_clock, &c->clock);
	if (rc && !c->fault)
		c->fault = rc;
	mon_sample_schedstat(k, l, rq, c);
}

/* The attached scheduler's per-CPU event counters; 0 if none is attached. */
static int mon_sample_events(const struct kmem *k, const struct mon_layout *l,
			     struct mon_sample *s)
{
	uint64_t sch = 0, pcpu, ei;
	uint32_t kind = 0, ei_kind = 0;
	int cpu, i, rc;

	if (!l->scx_root || kmem_read_u64(k, l->scx_root, &sch) || !sch)
		return 0;
	rc = kmem_read_u32(k, sch + l->sch_exit_kind, &kind);
	if (!rc)
		rc = kmem_read_u64(k, sch + l->sch_pcpu, &pcpu);
	if (rc)
		return 0;	/* a scheduler being torn down: no counters this time */
	s->exit_kind = (int)kind;
	if (!kmem_read_u64(k, sch + l->sch_exit_info, &ei) && ei &&
	    !kmem_read_u32(k, ei + l->ei_kind, &ei_kind))
		s->exit_info_kind = (int)ei_kind;
	for (cpu = 0; cpu < s->nr_cpus; cpu++) {
		uint64_t ev = kmem_percpu(k, pcpu, cpu) + l->pcpu_events;

		for (i = 0; i < l->nr_events; i++)
			if (kmem_read(k, ev + l->ev_off[i], &s->cpu[cpu].ev[i], 8))
				return 0;
	}
	return 1;
}

int mon_sample(const struct kmem *k, const struct mon_layout *l, struct mon_sample *s)
{
	int cpu, ok = 0;

	s->nr_cpus = k->a.nr_cpus;
	s->exit_kind = 0;
	s->exit_info_kind = 0;
	for (cpu = 0; cpu < s->nr_cpus; cpu++) {
		mon_sample_rq(k, l, cpu, &s->cpu[cpu]);
		ok += !s->cpu[cpu].fault;
	}
	if (!ok)
		return s->cpu[0].fault;
	s->have_sched = mon_sample_events(k, l, s);
	return 0;
}
