/* ktstr_sched.c: the loader of ktstr's fixture scheduler: options, load, attach, poll, report. */
/*
 * The BPF object is linked into this binary (embed.S), so one file goes into
 * the guest. No skeleton (bpftool 7.5 skeletons need libbpf >= 1.5, the
 * system has 1.4.6): open the object from memory, write the knobs into its
 * .rodata and the watchdog timeout into its struct_ops before load, attach
 * the struct_ops map, then poll the exit record that ops.exit() fills in.
 * Variables are found by name through the object's BTF.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "ktstr_sched.h"

#define PROG		"ktstr-sched"
#define POLL_MS		100
#define MSG_LINES	24	/* libbpf's own lines kept for a failure report */
#define VLOG_LINES	120	/* verifier log lines kept */
#define VLOG_TAIL	24	/* verifier log lines printed at most */
#define LINE_LEN	512
#define SCX_EXIT_ERROR	1024	/* kinds at or above are errors */

extern const char ktstr_bpf_obj[];
extern const char ktstr_bpf_obj_end[];

static const char usage[] =
	"usage: " PROG " [options]\n"
	"  --watchdog-ms N       sched_ext watchdog timeout (default 5000; above 30000,\n"
	"                        the kernel's maximum, 30000 is used)\n"
	"  --stall-after S       stop dispatching S seconds after start\n"
	"  --crash-after S       scx_bpf_error() S seconds after start\n"
	"  --degrade FRAC        refuse dispatching for FRAC (0..1) of every period\n"
	"  --degrade-period-ms N the period of --degrade (default 100)\n"
	"  --starve CGROUP       run tasks of cgroup CGROUP only once they have waited\n"
	"                        a fifth of the watchdog timeout, 1 ms a time\n"
	"  --unfair CGROUP       give tasks of cgroup CGROUP more than their share:\n"
	"  --unfair-factor N     N times the slice and the weight (2..100, default 4)\n"
	"  -v, --verbose         print libbpf's debug output\n"
	"  -h, --help            print this and exit\n"
	"CGROUP is a cgroup directory name, e.g. victim for /sys/fs/cgroup/ktstr/victim;\n"
	"it may be created after the scheduler started.\n";

static volatile sig_atomic_t exit_req;
static bool verbose;

/*
 * What libbpf said, kept for a failure report: its own lines (the last
 * MSG_LINES) and, apart, the last verifier log (its last VLOG_LINES lines),
 * which can run to thousands of lines.
 */
struct ring {
	char line[VLOG_LINES][LINE_LEN];
	unsigned int next, size;
};

static struct ring msgs = { .size = MSG_LINES };
static struct ring vlog = { .size = VLOG_LINES };
static char vlog_begin[LINE_LEN], vlog_end[LINE_LEN];
static unsigned int vlog_at;	/* msgs.next when the log began */
static bool in_vlog;

static void ring_push(struct ring *r, const char *line)
{
	snprintf(r->line[r->next++ % r->size], LINE_LEN, "%s", line);
}

static unsigned int ring_first(const struct ring *r)
{
	return r->next > r->size ? r->next - r->size : 0;
}

static void ring_print(const struct ring *r, unsigned int from, unsigned int to)
{
	if (from < ring_first(r))
		from = ring_first(r);
	for (; from < to; from++)
		fprintf(stderr, "%s\n", r->line[from % r->size]);
}

/* One print may hold many lines (a whole verifier log): sort them. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	char *text, *line, *save = NULL;
	int len;

	if (verbose)
		return vfprintf(stderr, fmt, args);
	if (level == LIBBPF_DEBUG)
		return 0;
	len = vasprintf(&text, fmt, args);
	if (len < 0)
		return len;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "-- BEGIN PROG LOAD LOG --")) {
			snprintf(vlog_begin, sizeof(vlog_begin), "%s", line);
			vlog.next = 0;
			vlog_end[0] = '\0';
			vlog_at = msgs.next;
			in_vlog = true;
		} else if (in_vlog && strstr(line, "-- END PROG LOAD LOG --")) {
			snprintf(vlog_end, sizeof(vlog_end), "%s", line);
			in_vlog = false;
		} else {
			ring_push(in_vlog ? &vlog : &msgs, line);
		}
	}
	free(text);
	return len;
}

static bool is_insn_line(const char *line)
{
	const char *p = line;

	while (*p >= '0' && *p <= '9')
		p++;
	return p != line && !strncmp(p, ": (", 3);
}

/*
 * libbpf's lines around the tail of the verifier log, in about 30 lines so
 * that a harness keeping the last 40 of our output keeps all of it. The tail
 * starts at the last instruction traced, the one refused, and what follows
 * is the verdict; newer kernels add a long explanation, cut after VLOG_TAIL
 * lines, before the log's last line (the totals).
 */
static void log_dump(void)
{
	unsigned int i, start, end;

	if (verbose)
		return;	/* already printed */
	if (!vlog_begin[0]) {
		ring_print(&msgs, 0, msgs.next);
		return;
	}
	ring_print(&msgs, 0, vlog_at);
	fprintf(stderr, "%s\n", vlog_begin);
	start = vlog.next > VLOG_TAIL ? vlog.next - VLOG_TAIL : 0;
	for (i = vlog.next; i-- > ring_first(&vlog);) {
		if (is_insn_line(vlog.line[i % vlog.size])) {
			start = i;
			break;
		}
	}
	if (start)
		fprintf(stderr, "... (%u lines left out)\n", start);
	end = vlog.next - start > VLOG_TAIL ? start + VLOG_TAIL - 1 : vlog.next;
	ring_print(&vlog, start, end);
	if (end < vlog.next) {
		if (end < vlog.next - 1)
			fprintf(stderr, "... (%u lines left out)\n",
				vlog.next - 1 - end);
		ring_print(&vlog, vlog.next - 1, vlog.next);
	}
	if (vlog_end[0])
		fprintf(stderr, "%s\n", vlog_end);
	ring_print(&msgs, vlog_at, msgs.next);
}

static void on_signal(int sig)
{
	(void)sig;
	exit_req = 1;
}

static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return 2;
}

static int parse_secs(const char *s, __u64 *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 86400)
		return -EINVAL;
	*ns = (__u64)llround(v * 1e9);
	return 0;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_cgroup(const char *s, char *dst)
{
	if (!*s || strchr(s, '/') || strlen(s) >= KTSTR_CG_NAME_LEN ||
	    !strcmp(s, ".") || !strcmp(s, ".."))
		return -EINVAL;
	strcpy(dst, s);
	return 0;
}

enum opt {
	OPT_WATCHDOG = 256,
	OPT_STALL,
	OPT_CRASH,
	OPT_DEGRADE,
	OPT_DEGRADE_PERIOD,
	OPT_STARVE,
	OPT_UNFAIR,
	OPT_UNFAIR_FACTOR,
};

static const struct option long_opts[] = {
	{ "watchdog-ms", required_argument, NULL, OPT_WATCHDOG },
	{ "stall-after", required_argument, NULL, OPT_STALL },
	{ "crash-after", required_argument, NULL, OPT_CRASH },
	{ "degrade", required_argument, NULL, OPT_DEGRADE },
	{ "degrade-period-ms", required_argument, NULL, OPT_DEGRADE_PERIOD },
	{ "starve", required_argument, NULL, OPT_STARVE },
	{ "unfair", required_argument, NULL, OPT_UNFAIR },
	{ "unfair-factor", required_argument, NULL, OPT_UNFAIR_FACTOR },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Returns 0, or the exit status to leave with (0 after --help, 2 on misuse). */
static int parse_args(int argc, char **argv, struct ktstr_knobs *k,
		      unsigned long *watchdog_ms, bool *done)
{
	unsigned long n;
	double frac;
	char *end;
	int opt;

	*done = false;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":vh", long_opts, NULL)) != -1) {
		const char *name = argv[optind - 1];

		switch (opt) {
		case OPT_WATCHDOG:
			if (parse_uint(optarg, 1, UINT32_MAX, &n))
				return bad_usage("--watchdog-ms: '%s' is not a positive number of ms",
						 optarg);
			/* A test may ask for more than the kernel allows. */
			if (n > KTSTR_WATCHDOG_MS_MAX) {
				fprintf(stderr, PROG ": --watchdog-ms %lu: using the kernel's maximum, %d\n",
					n, KTSTR_WATCHDOG_MS_MAX);
				n = KTSTR_WATCHDOG_MS_MAX;
			}
			*watchdog_ms = n;
			break;
		case OPT_STALL:
			if (parse_secs(optarg, &k->stall_after_ns))
				return bad_usage("--stall-after: '%s' is not a positive number of seconds",
						 optarg);
			break;
		case OPT_CRASH:
			if (parse_secs(optarg, &k->crash_after_ns))
				return bad_usage("--crash-after: '%s' is not a positive number of seconds",
						 optarg);
			k->crash_after_ms = (__u32)((k->crash_after_ns + 500000) / 1000000);
			break;
		case OPT_DEGRADE:
			errno = 0;
			frac = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(frac > 0 && frac < 1))
				return bad_usage("--degrade: '%s' is not a fraction between 0 and 1",
						 optarg);
			k->degrade_ppm = (__u32)llround(frac * 1e6);
			break;
		case OPT_DEGRADE_PERIOD:
			if (parse_uint(optarg, 1, 60000, &n))
				return bad_usage("--degrade-period-ms: '%s' is not 1..60000 ms",
						 optarg);
			k->degrade_period_ms = (__u32)n;
			break;
		case OPT_STARVE:
			if (parse_cgroup(optarg, k->starve_cgroup))
				return bad_usage("--starve: '%s' is not a cgroup directory name",
						 optarg);
			break;
		case OPT_UNFAIR:
			if (parse_cgroup(optarg, k->unfair_cgroup))
				return bad_usage("--unfair: '%s' is not a cgroup directory name",
						 optarg);
			break;
		case OPT_UNFAIR_FACTOR:
			if (parse_uint(optarg, 2, 100, &n))
				return bad_usage("--unfair-factor: '%s' is not 2..100",
						 optarg);
			k->unfair_factor = n;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			*done = true;
			return 0;
		case ':':
			return bad_usage("%s: missing argument", name);
		default:
			return bad_usage("unknown option '%s'", name);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	if (k->degrade_period_ms && !k->degrade_ppm)
		return bad_usage("--degrade-period-ms needs --degrade FRAC");
	if (!k->degrade_period_ms)
		k->degrade_period_ms = 100;
	if (k->unfair_factor && !k->unfair_cgroup[0])
		return bad_usage("--unfair-factor needs --unfair CGROUP");
	if (k->unfair_cgroup[0] && !k->unfair_factor)
		k->unfair_factor = 4;
	if (k->starve_cgroup[0] && !strcmp(k->starve_cgroup, k->unfair_cgroup))
		return bad_usage("--starve and --unfair name the same cgroup");
	return 0;
}

/*
 * The address of global @name in internal map @sec (".bss", ".rodata"):
 * before load in libbpf's copy of the initial value (@live false), after load
 * in the kernel's map, mmap'ed here (libbpf 1.4 leaves that to skeletons).
 */
static void *obj_var(struct bpf_object *obj, const char *sec, const char *name,
		     size_t size, bool live)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *t;
	struct bpf_map *map;
	size_t map_size;
	char *data;
	int id, i;

	map = bpf_object__find_map_by_name(obj, sec);
	id = btf ? btf__find_by_name_kind(btf, sec, BTF_KIND_DATASEC) : -1;
	if (!map || id < 0)
		return NULL;
	if (live) {
		long page = sysconf(_SC_PAGESIZE);

		map_size = bpf_map__value_size(map);
		data = mmap(NULL, (map_size + page - 1) / page * page,
			    PROT_READ | PROT_WRITE, MAP_SHARED,
			    bpf_map__fd(map), 0);
		if (data == MAP_FAILED)
			return NULL;
	} else {
		data = bpf_map__initial_value(map, &map_size);
	}
	if (!data)
		return NULL;

	t = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(t);
	for (i = 0; i < btf_vlen(t); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name))
			continue;
		if (vs->size != size || vs->offset + size > map_size)
			return NULL;
		return data + vs->offset;
	}
	return NULL;
}

static struct bpf_map *struct_ops_map(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
		if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS)
			return map;
	return NULL;
}

/* Set a u32 member of the struct_ops value before load, found through BTF. */
static int struct_ops_set_u32(struct bpf_object *obj, struct bpf_map *map,
			      const char *member, __u32 val)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_member *m;
	const struct btf_type *t;
	size_t size;
	char *data;
	int i;

	data = bpf_map__initial_value(map, &size);
	t = btf ? btf__type_by_id(btf, bpf_map__btf_value_type_id(map)) : NULL;
	if (!data || !t || !btf_is_struct(t))
		return -ENOENT;

	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++) {
		__u32 off = btf_member_bit_offset(t, i) / 8;

		if (strcmp(btf__name_by_offset(btf, m->name_off), member))
			continue;
		if (off + sizeof(val) > size)
			return -ERANGE;
		memcpy(data + off, &val, sizeof(val));
		return 0;
	}
	return -ENOENT;
}

static const char *exit_kind_str(int kind)
{
	switch (kind) {
	case 0: return "none";
	case 1: return "done";
	case 64: return "unregistered from user space";
	case 65: return "unregistered from BPF";
	case 66: return "unregistered from the main kernel";
	case 67: return "disabled by sysrq-S";
	case 1024: return "runtime error";
	case 1025: return "scx_bpf_error";
	case 1026: return "runnable task stall";
	default: return kind >= SCX_EXIT_ERROR ? "error" : "exit";
	}
}

static void print_stats(const struct ktstr_stats *s, const volatile __u64 *nr_dispatched)
{
	printf(PROG ": stats: enqueued=%llu direct=%llu dispatched=%llu "
	       "stalled=%llu skipped=%llu starved=%llu victim_dispatched=%llu "
	       "unfair=%llu kicks=%llu timer_runs=%llu nr_dispatched=%llu\n",
	       s->enqueued, s->direct, s->dispatched, s->stalled, s->skipped,
	       s->starved, s->victim_dispatched, s->unfair, s->kicks,
	       s->timer_runs, nr_dispatched ? (unsigned long long)*nr_dispatched : 0ULL);
}

static void print_exit(const struct ktstr_exit *e)
{
	printf(PROG ": EXIT: %s (kind %d, code %lld, cpu %d)\n",
	       e->reason[0] ? e->reason : exit_kind_str(e->kind), e->kind,
	       (long long)e->exit_code, e->exit_cpu);
	if (e->msg[0])
		printf(PROG ": msg: %s\n", e->msg);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);	/* a signal cuts it short: fine */
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = "ktstr_sched");
	struct ktstr_knobs knobs = { 0 };
	unsigned long watchdog_ms = KTSTR_WATCHDOG_MS_DFL;
	volatile struct ktstr_exit *uei;
	volatile __u64 *nr_dispatched;
	struct ktstr_stats *stats;
	struct ktstr_knobs *rodata;
	struct bpf_object *obj;
	struct bpf_link *link;
	struct bpf_map *ops;
	struct sigaction sa;
	bool done;
	int ret, err;

	ret = parse_args(argc, argv, &knobs, &watchdog_ms, &done);
	if (ret || done)
		return ret;
	/* a fifth of the watchdog: starved, yet never long enough to trip it */
	if (knobs.starve_cgroup[0])
		knobs.starve_hold_ns = watchdog_ms / 5 * 1000000ULL;

	libbpf_set_print(libbpf_print);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	obj = bpf_object__open_mem(ktstr_bpf_obj, ktstr_bpf_obj_end - ktstr_bpf_obj,
				   &open_opts);
	if (!obj) {
		err = -errno;
		log_dump();
		fprintf(stderr, PROG ": open: %s\n", strerror(-err));
		return 1;
	}

	rodata = obj_var(obj, ".rodata", "knobs", sizeof(*rodata), false);
	ops = struct_ops_map(obj);
	if (!rodata || !ops) {
		fprintf(stderr, PROG ": the BPF object lacks %s\n",
			rodata ? "a struct_ops map" : "the knobs in .rodata");
		ret = 1;
		goto out;
	}
	*rodata = knobs;
	err = struct_ops_set_u32(obj, ops, "timeout_ms", watchdog_ms);
	if (err) {
		fprintf(stderr, PROG ": set timeout_ms: %s\n", strerror(-err));
		ret = 1;
		goto out;
	}

	err = bpf_object__load(obj);
	if (err) {
		log_dump();
		fprintf(stderr, PROG ": load: %s\n", strerror(-err));
		ret = 1;
		goto out;
	}

	stats = obj_var(obj, ".bss", "stats", sizeof(*stats), true);
	uei = obj_var(obj, ".bss", "uei", sizeof(*uei), true);
	nr_dispatched = obj_var(obj, ".bss", "nr_dispatched", sizeof(*nr_dispatched), true);
	if (!stats || !uei) {
		fprintf(stderr, PROG ": the BPF object lacks stats or uei in .bss\n");
		ret = 1;
		goto out;
	}

	link = bpf_map__attach_struct_ops(ops);
	if (!link) {
		err = -errno;
		log_dump();
		/* Enabling may have got as far as ops.init() and ops.exit(). */
		if (uei->kind)
			print_exit((const struct ktstr_exit *)uei);
		fprintf(stderr, PROG ": attach: %s\n", strerror(-err));
		ret = 1;
		goto out;
	}
	printf(PROG ": attached %s, watchdog %lu ms", bpf_map__name(ops),
	       watchdog_ms);
	if (knobs.stall_after_ns)
		printf(", stall after %.3f s", knobs.stall_after_ns / 1e9);
	if (knobs.crash_after_ns)
		printf(", crash after %.3f s", knobs.crash_after_ns / 1e9);
	if (knobs.degrade_ppm)
		printf(", degrade %.3f of %u ms", knobs.degrade_ppm / 1e6,
		       knobs.degrade_period_ms);
	if (knobs.starve_cgroup[0])
		printf(", starve %s (hold %llu ms)", knobs.starve_cgroup,
		       (unsigned long long)(knobs.starve_hold_ns / 1000000));
	if (knobs.unfair_cgroup[0])
		printf(", unfair %s x%u", knobs.unfair_cgroup, knobs.unfair_factor);
	printf("\n");
	fflush(stdout);

	while (!exit_req && !uei->kind)
		sleep_ms(POLL_MS);

	/* Detaching runs ops.exit() before it returns: the record is filled. */
	bpf_link__destroy(link);
	print_exit((const struct ktstr_exit *)uei);
	print_stats(stats, nr_dispatched);
	ret = uei->kind >= SCX_EXIT_ERROR ? 1 : 0;
out:
	bpf_object__close(obj);
	fflush(stdout);
	return ret;
}
