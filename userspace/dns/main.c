// SPDX-License-Identifier: GPL-2.0-only
/*
 * cage-dns: the allowlist resolver of one cage (docs/dns.md). Started as root by the cage
 * monitor with its listening sockets already bound; opens the audit log and the dns_allow
 * map, loads the config, then drops to an unprivileged uid with seccomp before reading a
 * single query.
 *
 *   cage-dns --cage NAME --config FILE --pins DIR --audit FILE --uid U --gid G
 *            --udp-fd N[,N] --tcp-fd N[,N] [--ready-fd N] [--resolv-conf FILE]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "enforce/daemon_asan.h"
#include "config/config.h"
#include "dns/dns_metrics.h"
#include "dns/resolver.h"
#include "enforce/bpf_loader.h"
#include "enforce/privdrop.h"
#include "lib/ipclass.h"
#include "lib/log.h"

struct options {
	const char *cage, *config, *pins, *audit, *resolv_conf;
	long uid, gid, ready_fd;
	const char *udp_fds, *tcp_fds;
};

static void usage(void)
{
	fprintf(stderr, "usage: cage-dns --cage NAME --config FILE --pins DIR --audit FILE --uid U --gid G\n"
			"                --udp-fd N[,N] --tcp-fd N[,N] [--ready-fd N] [--resolv-conf FILE]\n");
	exit(2);
}

static long parse_num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > INT_MAX)
		return -1;
	return v;
}

/* "3,4" → fds, each checked to be a socket of the expected type. */
static int parse_fds(const char *list, int type, int *fds, size_t *n)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long fd = parse_num(tok);
		int so_type = 0;
		socklen_t len = sizeof(so_type);

		if (fd < 0 || *n >= RES_MAX_LISTEN)
			return -EINVAL;
		if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &so_type, &len) || so_type != type)
			return -ENOTSOCK;
		/* The loop must never block in accept() or recv(): the launcher may not set it. */
		if (fcntl((int)fd, F_SETFL, fcntl((int)fd, F_GETFL) | O_NONBLOCK) ||
		    fcntl((int)fd, F_SETFD, FD_CLOEXEC))
			return -errno;
		fds[(*n)++] = (int)fd;
	}
	return *n ? 0 : -EINVAL;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "cage", required_argument, NULL, 'c' },   { "config", required_argument, NULL, 'f' },
		{ "pins", required_argument, NULL, 'p' },   { "audit", required_argument, NULL, 'a' },
		{ "uid", required_argument, NULL, 'u' },    { "gid", required_argument, NULL, 'g' },
		{ "udp-fd", required_argument, NULL, 'U' }, { "tcp-fd", required_argument, NULL, 'T' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "resolv-conf", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->uid = o->gid = o->ready_fd = -1;
	o->resolv_conf = "/etc/resolv.conf";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->cage = optarg; break;
		case 'f': o->config = optarg; break;
		case 'p': o->pins = optarg; break;
		case 'a': o->audit = optarg; break;
		case 'u': o->uid = parse_num(optarg); break;
		case 'g': o->gid = parse_num(optarg); break;
		case 'U': o->udp_fds = optarg; break;
		case 'T': o->tcp_fds = optarg; break;
		case 'r': o->ready_fd = parse_num(optarg); if (o->ready_fd < 0) usage(); break;
		case 'R': o->resolv_conf = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || !o->cage || !o->config || !o->pins || !o->audit || o->uid <= 0 ||
	    o->gid <= 0 || !o->udp_fds || !o->tcp_fds)
		usage();
	return 0;
}

static void config_warn(const struct cage_config_diag *diag, void *arg)
{
	(void)diag;
	(void)arg;
}

static int load_config(struct resolver *r, const struct options *o, struct cage_config_file **cfg)
{
	struct cage_config_diag diag;
	char msg[1024];
	int err = cage_config_load(o->config, cfg, &diag, config_warn, NULL);

	if (err) {
		if (err == -EINVAL) {
			cage_config_diag_format(&diag, msg, sizeof(msg));
			p_err("%s", msg);
		} else {
			p_err("can't load %s: %s", o->config, strerror(-err));
		}
		return err;
	}
	r->policy = dns_policy_build(*cfg, time(NULL), &err);
	if (!r->policy) {
		p_err("can't build the allowlist of %s: %s", o->config, strerror(-err));
		return err;
	}
	return 0;
}

static int setup_upstream(struct resolver *r, const struct cage_config_file *cfg, const struct options *o)
{
	for (size_t i = 0; i < cfg->dns_upstream.n; i++) {
		struct cage_addr a;

		if (ip_literal_parse(cfg->dns_upstream.v[i], &a) || dns_upstream_add(r, &a)) {
			p_err("dns.upstream: can't use '%s'", cfg->dns_upstream.v[i]);
			return -EINVAL;
		}
	}
	if (r->n_up)
		return 0;
	if (dns_upstream_add_resolv_conf(r, o->resolv_conf)) {
		p_err("no upstream: dns.upstream is empty and %s lists no usable nameserver", o->resolv_conf);
		return -ENOENT;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* What cage_config_load (reload) and the loop need beyond the daemons' common set. */
	static const char *const extra[] = { "open", "newfstatat", "fstat", "lseek", "sysinfo", NULL };
	struct resolver r = { .epfd = -1, .sigfd = -1, .map_fd = -1 };
	struct cage_config_file *cfg = NULL;
	struct options o;
	int err, rc = 1;

	log_prog = "cage-dns";
	log_timestamps = true;   /* stderr is monitor.log */
	parse_options(argc, argv, &o);
	r.cage = o.cage;
	r.config_path = o.config;
	if (parse_fds(o.udp_fds, SOCK_DGRAM, r.udp_fd, &r.n_udp) ||
	    parse_fds(o.tcp_fds, SOCK_STREAM, r.tcp_fd, &r.n_tcp)) {
		p_err("--udp-fd/--tcp-fd: not inherited sockets of the right type");
		return 2;
	}
	if (load_config(&r, &o, &cfg))
		goto out;
	/* 0: the monitor rotates audit.jsonl and monitor.log (our stderr); we follow both. */
	r.audit = audit_open(o.audit, o.cage, 0);
	if (!r.audit) {
		p_err("can't open audit log %s: %s", o.audit, strerror(errno));
		goto out;
	}
	audit_follow_stdio(r.audit, "monitor.log");
	r.map_fd = cage_bpf_map_open(o.pins, CAGE_PIN_DNS_ALLOW, false);
	if (r.map_fd < 0) {
		p_err("can't open map %s/%s: %s", o.pins, CAGE_PIN_DNS_ALLOW, strerror(-r.map_fd));
		goto out;
	}
	if (setup_upstream(&r, cfg, &o))
		goto out;
	/* Optional: `cagectl stats` shows the counters; the resolver runs on without the file. */
	dns_metrics_open(o.cage);
	err = dnsd_init(&r);
	if (err) {
		p_err("can't start: %s", strerror(-err));
		goto out;
	}
	err = privdrop_enter((uint32_t)o.uid, (uint32_t)o.gid, extra);
	if (err) {
		p_err("can't drop privileges to %ld:%ld: %s", o.uid, o.gid, strerror(-err));
		goto out;
	}
	if (o.ready_fd >= 0) {
		if (write((int)o.ready_fd, "1", 1) != 1)
			p_warn("can't write to --ready-fd: %s", strerror(errno));
		close((int)o.ready_fd);
	}
	err = dnsd_run(&r);
	if (err)
		p_err("event loop: %s", strerror(-err));
	else
		rc = 0;
out:
	cage_config_free(cfg);
	dnsd_fini(&r);
	if (r.map_fd >= 0)
		close(r.map_fd);
	for (size_t i = 0; i < r.n_udp; i++)
		close(r.udp_fd[i]);
	for (size_t i = 0; i < r.n_tcp; i++)
		close(r.tcp_fd[i]);
	return rc;
}
