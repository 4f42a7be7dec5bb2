// SPDX-License-Identifier: GPL-2.0-only
/*
 * cage-proxy: the per-cage inspecting proxy. Started as root by the cage monitor with its
 * listening sockets already bound; opens what needs root (audit log, pinned maps, CA key,
 * config), drops to the proxy user under seccomp, reports ready, then serves until SIGTERM.
 * SIGHUP reloads the config into a new policy without touching live connections. With no
 * connection for proxy.idle_exit it exits with DAEMON_EXIT_IDLE (idle.c); the monitor starts it
 * again on the next one.
 *
 * cage-proxy --cage NAME --config FILE --pins DIR --audit FILE --ca-dir DIR --uid U --gid G
 *            --transparent-fd N[,N] --explicit-fd N[,N] [--upstream-ca FILE] [--workers N]
 *            [--ready-fd N] [--max-conns N] [--dns-upstream ADDR] [--dns-allow-fallback on|off]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "enforce/daemon_asan.h"
#include "audit/audit.h"
#include "config/config.h"
#include "enforce/bpf_loader.h"
#include "enforce/daemon.h"
#include "enforce/origdst.h"
#include "enforce/paths.h"
#include "inspect/scan_cache.h"
#include "enforce/privdrop.h"
#include "proxy/hooks_secrets.h"
#include "proxy/metrics.h"
#include "lib/log.h"
#include "proxy/proxy.h"
#include "proxy/tls.h"

struct opts {
	const char *cage, *config, *pins, *audit, *ca_dir, *upstream_ca, *dns_upstream;
	const char *transparent_fds, *explicit_fds;
	long uid, gid, workers, ready_fd, max_conns;
	bool fallback;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: cage-proxy --cage NAME --config FILE --pins DIR --audit FILE --ca-dir DIR\n"
		"                  --uid U --gid G --transparent-fd N[,N] --explicit-fd N[,N]\n"
		"                  [--upstream-ca FILE] [--workers N] [--ready-fd N] [--max-conns N]\n"
		"                  [--dns-upstream ADDR] [--dns-allow-fallback on|off]\n");
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int add_fds(const char *list, bool explicit_port)
{
	char buf[128], *save = NULL, *tok;

	if (!list)
		return 0;
	if (strlen(list) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long fd;
		int type = 0, acc = 0;
		socklen_t len = sizeof(type);

		if (parse_long(tok, 0, 65535, &fd) || px.n_listen >= PX_MAX_LISTENERS)
			return -EINVAL;
		if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) || type != SOCK_STREAM)
			return -ENOTSOCK;
		len = sizeof(acc);
		if (getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) || !acc)
			return -EINVAL;
		fcntl((int)fd, F_SETFL, fcntl((int)fd, F_GETFL) | O_NONBLOCK);
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		px.listen_fd[px.n_listen] = (int)fd;
		px.listen_explicit[px.n_listen] = explicit_port;
		px.n_listen++;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "cage", 1, NULL, 'n' }, { "config", 1, NULL, 'c' }, { "pins", 1, NULL, 'p' },
		{ "audit", 1, NULL, 'a' }, { "ca-dir", 1, NULL, 'C' }, { "uid", 1, NULL, 'u' },
		{ "gid", 1, NULL, 'g' }, { "transparent-fd", 1, NULL, 't' },
		{ "explicit-fd", 1, NULL, 'e' }, { "upstream-ca", 1, NULL, 'U' },
		{ "workers", 1, NULL, 'w' }, { "ready-fd", 1, NULL, 'r' },
		{ "max-conns", 1, NULL, 'm' }, { "dns-upstream", 1, NULL, 'd' },
		{ "dns-allow-fallback", 1, NULL, 'f' }, { "help", 0, NULL, 'h' }, { 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->uid = o->gid = -1;
	o->ready_fd = -1;
	o->max_conns = 512;
	/* ON until cage-dns fills dns_allow (docs/proxy.md); the monitor passes "off" then. */
	o->fallback = true;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'n': o->cage = optarg; break;
		case 'c': o->config = optarg; break;
		case 'p': o->pins = optarg; break;
		case 'a': o->audit = optarg; break;
		case 'C': o->ca_dir = optarg; break;
		case 't': o->transparent_fds = optarg; break;
		case 'e': o->explicit_fds = optarg; break;
		case 'U': o->upstream_ca = optarg; break;
		case 'd': o->dns_upstream = optarg; break;
		case 'u': if (parse_long(optarg, 0, UINT32_MAX - 1, &o->uid)) return -EINVAL; break;
		case 'g': if (parse_long(optarg, 0, UINT32_MAX - 1, &o->gid)) return -EINVAL; break;
		case 'w': if (parse_long(optarg, 1, 256, &o->workers)) return -EINVAL; break;
		case 'r': if (parse_long(optarg, 0, 65535, &o->ready_fd)) return -EINVAL; break;
		case 'm': if (parse_long(optarg, 1, 1000000, &o->max_conns)) return -EINVAL; break;
		case 'f':
			if (!strcmp(optarg, "on"))
				o->fallback = true;
			else if (!strcmp(optarg, "off"))
				o->fallback = false;
			else
				return -EINVAL;
			break;
		default: return -EINVAL;
		}
	}
	if (optind != argc || !o->cage || !o->config || !o->pins || !o->audit || !o->ca_dir ||
	    o->uid < 0 || o->gid < 0 || (!o->transparent_fds && !o->explicit_fds))
		return -EINVAL;
	return 0;
}

static void warn_cfg(const struct cage_config_diag *d, void *arg)
{
	char buf[1024];

	cage_config_diag_format(d, buf, sizeof(buf));
	p_warn("%s", buf);
}

/* dns.upstream, else --dns-upstream, else the first nameserver of /etc/resolv.conf. */
static void pick_dns_upstream(struct proxy_policy *p, const char *flag)
{
	char line[256], addr[128];
	FILE *f;

	if (flag && !policy_set_dns_upstream(p, flag))
		return;
	if (p->dns_upstream.ss_family)
		return;
	f = fopen("/etc/resolv.conf", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " nameserver %127s", addr) == 1 && !policy_set_dns_upstream(p, addr))
			break;
	fclose(f);
}

static void add_gateways(struct proxy_policy *p)
{
	for (size_t i = 0; i < px.n_listen; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct cage_addr a;

		if (!getsockname(px.listen_fd[i], (struct sockaddr *)&ss, &len) &&
		    !cage_addr_from_sockaddr((struct sockaddr *)&ss, &a, &(__u16){ 0 }))
			policy_add_gateway(p, &a);
	}
}

static int load_policy(const struct opts *o, struct proxy_policy **out)
{
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;
	char msg[1024];
	int err;

	err = cage_config_load(o->config, &cfg, &diag, warn_cfg, NULL);
	if (err) {
		if (err == -EINVAL) {
			cage_config_diag_format(&diag, msg, sizeof(msg));
			p_err("%s", msg);
		} else {
			p_err("config %s: %s", o->config, strerror(-err));
		}
		return err;
	}
	err = policy_build(cfg, out);
	cage_config_free(cfg);
	if (err) {
		p_err("config %s: cannot build the policy: %s", o->config, strerror(-err));
		return err;
	}
	add_gateways(*out);
	pick_dns_upstream(*out, o->dns_upstream);
	return 0;
}

/*
 * CAGECTL_TIMING=1: a CLOCK_MONOTONIC stamp per start-up step, comparable with the monitor's
 * (supervise.c), with the heap in use, VmRSS and RssAnon so far: where start-up time and idle memory go.
 */
static void start_mark(const char *step)
{
	static int on = -1;
	char line[128], anon[32] = "?", vm[32] = "?";
	struct timespec ts;
	FILE *f;

	if (on < 0)
		on = getenv("CAGECTL_TIMING") != NULL;
	if (!on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "RssAnon:", 8))
			sscanf(line + 8, "%31s", anon);
		if (!strncmp(line, "VmRSS:", 6))
			sscanf(line + 6, "%31s", vm);
	}
	if (f)
		fclose(f);
	fprintf(stderr, "cage-proxy: %.1f ms %s, heap in use %zu kB, VmRSS %s kB, RssAnon %s kB\n",
		(double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6, step,
		mallinfo2().uordblks / 1024, vm, anon);
}

/*
 * Compiled pattern databases are cached across starts in <state root>/.cache: root's, outside
 * every cage's state dir (which backups carry and restores write), and a name no cage can have.
 */
static void scan_cache_open(const char *cage)
{
	struct cage_paths paths;
	char dir[PATH_MAX + 16];
	int err = cage_paths_init(&paths, cage);

	if (err)
		return;
	snprintf(dir, sizeof(dir), "%s/.cache", paths.state_root);
	err = scan_cache_set_dir(dir);
	if (err)
		p_warn("pattern cache %s: %s (compiling at every start)", dir, strerror(-err));
}

static void *worker_main(void *arg)
{
	int err = px_worker_run(arg);

	if (err)
		p_err("worker: %s", strerror(-err));
	return NULL;
}

/* Everything a running proxy calls beyond privdrop_base_syscalls. */
static const char *const extra_syscalls[] = {
	"rt_sigtimedwait", "sysinfo", "getcwd", "sched_getparam", "sched_getscheduler", "madvise",
	"open", NULL,
};

int main(int argc, char **argv)
{
	struct proxy_policy *pol = NULL;
	struct opts o;
	pthread_t *threads = NULL;
	sigset_t set;
	long n_workers;
	bool idle = false;
	int err;

	log_prog = "cage-proxy";
	log_timestamps = true;   /* stderr is monitor.log */
	start_mark("main");
	signal(SIGPIPE, SIG_IGN);
	if (parse_args(argc, argv, &o)) {
		usage();
		return 2;
	}
	px.cage = o.cage;
	px.max_conns = (unsigned)o.max_conns;
	px.dns_allow_fallback = o.fallback;
	px.origdst_fd = px.dns_allow_fd = -1;
	px.stop_fd = eventfd(0, EFD_CLOEXEC);
	pthread_rwlock_init(&px.accept_gate, NULL);
	if ((err = add_fds(o.transparent_fds, false)) || (err = add_fds(o.explicit_fds, true))) {
		p_err("listening fds: %s", strerror(-err));
		return 1;
	}
	/* Up to six fds per connection (agent, upstream, two pipes): lift the soft limit while
	 * still root, so the connection cap is what bounds us, not EMFILE. */
	{
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl)) {
			rlim_t want = (rlim_t)px.max_conns * 6 + 64;

			if (rl.rlim_max < want)
				rl.rlim_max = want;
			rl.rlim_cur = rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &rl)) {
				getrlimit(RLIMIT_NOFILE, &rl);
				rl.rlim_cur = rl.rlim_max;
				setrlimit(RLIMIT_NOFILE, &rl);
			}
		}
	}
	start_mark("fds");
	px.audit = audit_open(o.audit, o.cage, 0);
	if (!px.audit) {
		p_err("audit log %s: cannot open", o.audit);
		return 1;
	}
	/* The monitor rotates audit.jsonl and monitor.log (our stderr); follow both. */
	audit_follow_stdio(px.audit, "monitor.log");
	/* Optional: `cagectl stats` shows the counters; the proxy runs on without the file. */
	px_metrics_open(o.cage);
	px.origdst_fd = cage_bpf_map_open(o.pins, CAGE_PIN_ORIG_DST, true);
	px.dns_allow_fd = cage_bpf_map_open(o.pins, CAGE_PIN_DNS_ALLOW, true);
	if (px.origdst_fd < 0 || px.dns_allow_fd < 0) {
		p_err("pinned maps under %s: %s", o.pins,
		      strerror(-(px.origdst_fd < 0 ? px.origdst_fd : px.dns_allow_fd)));
		return 1;
	}
	start_mark("audit+maps");
	if (load_policy(&o, &pol))
		return 1;
	start_mark("policy");
	/* The host key and the secrets store are root's: read them before the drop. */
	scan_cache_open(o.cage);
	if (px_hooks_setup(o.cage, o.config))
		return 1;
	scan_cache_set_dir(NULL);
	start_mark("hooks");
	atomic_store(&px.policy, pol);
	{
		struct proxy_ca *ca = NULL;

		err = proxy_ca_load(o.ca_dir, &ca);
		start_mark("ca");
		if (!err)
			err = proxy_tls_new(ca, o.upstream_ca, 1024, &px.tls);
		if (err) {
			p_err("cage CA in %s: %s", o.ca_dir, strerror(-err));
			return 1;
		}
	}
	/* Signals are taken synchronously by the main thread; workers inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	start_mark("tls");
	err = privdrop_enter((uint32_t)o.uid, (uint32_t)o.gid, extra_syscalls);
	if (err) {
		p_err("privilege drop: %s", strerror(-err));
		return 1;
	}
	/* Setup's temporaries (config parse, a pattern compile, the seccomp filter build) go back
	 * to the system instead of staying in the idle heap (~0.7 MB after a compile). */
	malloc_trim(0);
	start_mark("privdrop");
	n_workers = o.workers ? o.workers : sysconf(_SC_NPROCESSORS_ONLN);
	if (n_workers < 1)
		n_workers = 1;
	threads = calloc((size_t)n_workers, sizeof(*threads));
	struct px_worker *workers = calloc((size_t)n_workers, sizeof(*workers));

	if (!threads || !workers) {
		p_err("out of memory");
		return 1;
	}
	for (long i = 0; i < n_workers; i++) {
		workers[i].id = (int)i;
		if (pthread_create(&threads[i], NULL, worker_main, &workers[i])) {
			p_err("cannot start worker %ld", i);
			return 1;
		}
	}
	start_mark("ready");
	px_idle_touch();
	if (o.ready_fd >= 0) {
		ssize_t n = write((int)o.ready_fd, "1", 1);

		(void)n;
		close((int)o.ready_fd);
	}
	for (;;) {
		struct timespec ts = { .tv_sec = 1 };
		int sig = sigtimedwait(&set, NULL, &ts);

		px_audit_flush();
		/* An allow/block entry reached its `expires`: rebuild the policy without it. */
		if (sig != SIGHUP && atomic_load(&px.policy)->next_expiry &&
		    time(NULL) >= atomic_load(&px.policy)->next_expiry)
			sig = SIGHUP;
		if (sig == SIGHUP) {
			struct proxy_policy *np = NULL;

			/* Files opened after the drop: the config must be readable by the proxy user. */
			if (load_policy(&o, &np) == 0) {
				struct proxy_policy *old = atomic_exchange(&px.policy, np);

				policy_put(old);
				px_audit_simple("proxy.reload", "config_reloaded", NULL);
			}
			/* `cagectl secret set` signals us: new values, same placeholders. */
			if (px_hooks_reload() == 0)
				px_audit_simple("proxy.reload", "secrets_reloaded", NULL);
		} else if (sig == SIGTERM || sig == SIGINT) {
			break;
		}
		if (px_idle_stop(atomic_load(&px.policy))) {
			p_info("no connection for %u s: exiting until the next one (proxy.idle_exit)",
			       atomic_load(&px.policy)->idle_exit_s);
			idle = true;
			break;
		}
	}
	atomic_store(&px.stopping, true);
	if (px.stop_fd >= 0 && write(px.stop_fd, &(uint64_t){ 1 }, sizeof(uint64_t)) < 0)
		p_warn("can't wake the workers: %s", strerror(errno));
	for (long i = 0; i < n_workers; i++)
		pthread_join(threads[i], NULL);
	/* The last second's counts: the next start (idle exit, restart) resumes from the file. */
	px_metrics_publish();
	audit_close(px.audit);
	return idle ? DAEMON_EXIT_IDLE : 0;
}
