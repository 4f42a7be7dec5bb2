// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "enforce/addrpool.h"
#include "enforce/bpf_loader.h"
#include "enforce/cage.h"
#include "enforce/cgroup.h"
#include "enforce/link.h"
#include "enforce/netns.h"
#include "enforce/nft.h"
#include "enforce/nft_only.h"
#include "proxy/tls.h"

#define CAGE_IFNAME "eth0"

const char *const cage_up_steps[] = {
	"run-dir", "addresses", "cgroup", "limits", "netns", "veth", "ip", "routes", "sysctl",
	"nft-host", "nft-cage", "bpffs", "bpf", "verify", "ca", "state", NULL,
};

/* What this run created, so a failure removes exactly that. */
struct owned {
	bool run_dir, addrs, cgroup, cgroup_parent, netns, veth, nft_host, bpf, ca;
	bool nft_nat;  /* nftables-only mode: the DNAT table in this netns */
	int cgroup_fd, netns_fd;
};

struct up_ctx {
	const struct cage_config_file *cfg;
	const struct cage_paths *p;
	struct cage_state *st;
	struct owned own;
	char *err;
	size_t err_len;
	cage_warn_fn warn;
	void *warn_arg;
	bool nft_only;  /* cage_up_nft_only: no BPF programs (enforce/nft_only.h) */
};

static int injected(const char *step)
{
	const char *fail = getenv("CAGECTL_FAIL_AT");

	return fail && strcmp(fail, step) == 0 ? -EIO : 0;
}

__attribute__((format(printf, 4, 5)))
static int fail(struct up_ctx *c, const char *step, int err, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->err_len, "%s (step %s): %s", what, step, strerror(-err));
	return err;
}

static int mkdir_p(const char *dir, mode_t mode)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(path, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static void limit_warning(const char *controller, const char *why, void *arg)
{
	struct up_ctx *c = arg;
	char msg[256];

	snprintf(msg, sizeof(msg), "resources: %s limit not applied: %s", controller, why);
	if (c->warn)
		c->warn(msg, c->warn_arg);
}

static struct nft_cage_spec nft_spec(const struct up_ctx *c)
{
	struct nft_cage_spec s = {
		.name = c->p->name,
		.host_ifname = c->st->addrs.host_ifname,
		.gw4 = c->st->addrs.gw4,
		.cage4 = c->st->addrs.cage4,
		.ipv6 = c->st->ipv6,
		.proxy_port = c->st->proxy_port,
		.explicit_port = c->st->explicit_port,
		.dns_port = c->st->dns_port,
	};

	memcpy(s.gw6, c->st->addrs.gw6, 16);
	memcpy(s.cage6, c->st->addrs.cage6, 16);
	return s;
}

/* Inspected and passthrough ports both go to cage-proxy, as the BPF redirect sends them. */
static struct nft_only_spec nft_only_spec(const struct up_ctx *c, uint16_t ports[64])
{
	struct nft_only_spec s = { .base = nft_spec(c), .tcp_ports = ports };

	for (size_t i = 0; i < c->cfg->tcp_inspect.n && s.n_tcp_ports < 64; i++)
		ports[s.n_tcp_ports++] = c->cfg->tcp_inspect.v[i];
	for (size_t i = 0; i < c->cfg->tcp_passthrough.n && s.n_tcp_ports < 64; i++)
		ports[s.n_tcp_ports++] = c->cfg->tcp_passthrough.v[i];
	return s;
}

static void marker_path(const struct cage_paths *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", p->run_dir, NFT_ONLY_MARKER);
}

static void rollback(struct up_ctx *c)
{
	struct owned *o = &c->own;
	char marker[PATH_MAX + 16];

	if (o->nft_nat)
		nft_only_remove_nat(c->p->name);
	marker_path(c->p, marker, sizeof(marker));
	unlink(marker);

	if (o->bpf)
		cage_bpf_unpin(c->p->pin_dir);
	if (o->nft_host)
		nft_cage_remove(-1, c->p->name, false);
	if (o->veth)
		link_delete(-1, c->st->addrs.host_ifname);
	if (o->netns_fd >= 0)
		close(o->netns_fd);
	if (o->netns)
		netns_delete(c->p->netns_name, c->p->netns_dir);
	if (o->cgroup_fd >= 0)
		close(o->cgroup_fd);
	if (o->cgroup)
		cgroup_destroy(c->p->cgroup_mount, c->p->name, o->cgroup_parent);
	if (o->addrs)
		addrpool_release(c->p->state_root, c->p->name);
	if (o->ca)
		cage_remove_ca(c->p);
	if (o->run_dir) {
		unlink(c->p->state_file);
		unlink(c->p->resolv_conf);
		rmdir(c->p->run_dir);
	}
}

static int step_run_dir(struct up_ctx *c)
{
	int err = injected("run-dir");

	if (!err)
		err = mkdir_p(c->p->run_root, 0755);
	if (!err && mkdir(c->p->run_dir, 0755))
		err = -errno;
	if (err == -EEXIST) {
		snprintf(c->err, c->err_len, "cage %s already exists (%s); run 'cagectl down %s' first",
			 c->p->name, c->p->run_dir, c->p->name);
		return err;
	}
	if (err)
		return fail(c, "run-dir", err, "can't create %s", c->p->run_dir);
	c->own.run_dir = true;
	err = mkdir_p(c->p->log_dir, 0750);
	if (!err)
		err = mkdir_p(c->p->state_dir, 0711);
	/*
	 * Traverse-only: the daemons re-read cage.yaml by name after dropping root (SIGHUP), while
	 * the CA directory (0700) and the secret store (0700, the proxy user's) stay closed.
	 */
	if (!err && chmod(c->p->state_dir, 0711))
		err = -errno;
	if (err)
		return fail(c, "run-dir", err, "can't create %s or %s", c->p->log_dir, c->p->state_dir);
	return 0;
}

static int step_addresses(struct up_ctx *c)
{
	int err = injected("addresses");

	if (!err)
		err = mkdir_p(c->p->state_root, 0755);
	if (!err)
		err = addrpool_alloc(c->cfg->pool4, c->cfg->pool6, c->p->state_root, c->p->name,
				     &c->st->addrs);
	if (err)
		return fail(c, "addresses", err, "can't allocate addresses from %s and %s",
			    c->cfg->pool4 ? c->cfg->pool4 : "10.200.0.0/16",
			    c->cfg->pool6 ? c->cfg->pool6 : "fd00:200::/48");
	c->own.addrs = true;
	return 0;
}

static int step_cgroup(struct up_ctx *c)
{
	struct cgroup_limits lim = {
		.memory_max = c->cfg->memory_max,
		.pids_max = c->cfg->pids_max,
		.cpus_milli = c->cfg->cpus_milli,
	};
	int err = injected("cgroup");

	if (!err)
		err = cgroup_create(c->p->cgroup_mount, c->p->name, &c->own.cgroup_fd,
				    &c->own.cgroup_parent);
	if (err)
		return fail(c, "cgroup", err, "can't create cgroup %s/cagectl/%s", c->p->cgroup_mount,
			    c->p->name);
	c->own.cgroup = true;
	c->st->cgroup_id = cgroup_id(c->own.cgroup_fd);
	err = injected("limits");
	if (!err)
		err = cgroup_apply_limits(c->p->cgroup_mount, c->p->name, &lim, limit_warning, c);
	if (err)
		return fail(c, "limits", err, "can't set limits on cgroup %s/cagectl/%s",
			    c->p->cgroup_mount, c->p->name);
	return 0;
}

static int step_network(struct up_ctx *c)
{
	const struct cage_addrs *a = &c->st->addrs;
	char range[32];
	int err = injected("netns");

	if (!err)
		err = netns_create(c->p->netns_name, c->p->netns_dir, &c->own.netns_fd);
	if (err)
		return fail(c, "netns", err, "can't create netns %s/%s", c->p->netns_dir,
			    c->p->netns_name);
	c->own.netns = true;

	err = injected("veth");
	if (!err)
		err = link_veth_create(-1, a->host_ifname, CAGE_IFNAME, c->own.netns_fd);
	if (err)
		return fail(c, "veth", err, "can't create veth %s", a->host_ifname);
	c->own.veth = true;

	err = injected("ip");
	if (!err)
		err = addr_add4(-1, a->host_ifname, a->gw4, a->prefix4);
	if (!err)
		err = addr_add4(c->own.netns_fd, CAGE_IFNAME, a->cage4, a->prefix4);
	if (!err && c->st->ipv6)
		err = addr_add6(-1, a->host_ifname, a->gw6, a->prefix6, true);
	if (!err && c->st->ipv6)
		err = addr_add6(c->own.netns_fd, CAGE_IFNAME, a->cage6, a->prefix6, true);
	if (!err)
		err = link_set_up(-1, a->host_ifname);
	if (!err)
		err = link_set_up(c->own.netns_fd, CAGE_IFNAME);
	if (!err)
		err = link_set_up(c->own.netns_fd, "lo");
	if (err)
		return fail(c, "ip", err, "can't configure addresses on %s", a->host_ifname);

	err = injected("routes");
	if (!err)
		err = route_add_default4(c->own.netns_fd, a->gw4, CAGE_IFNAME);
	if (!err && c->st->ipv6)
		err = route_add_default6(c->own.netns_fd, a->gw6, CAGE_IFNAME);
	if (err)
		return fail(c, "routes", err, "can't add default routes in netns %s", c->p->netns_name);

	/*
	 * Ping sockets: let the cage group create them so that the sock_create program, not the
	 * ping_group_range check before it, is what refuses them, and the attempt is audited.
	 */
	snprintf(range, sizeof(range), "%u %u", c->st->gid, c->st->gid);
	err = injected("sysctl");
	if (!err)
		err = netns_sysctl_write(c->own.netns_fd, "net/ipv4/ping_group_range", range);
	if (!err && !c->st->ipv6)
		err = netns_sysctl_write(c->own.netns_fd, "net/ipv6/conf/all/disable_ipv6", "1");
	if (!err)
		err = netns_sysctl_write(c->own.netns_fd, "net/ipv4/ip_forward", "0");
	if (err)
		return fail(c, "sysctl", err, "can't set sysctls in netns %s", c->p->netns_name);
	return 0;
}

static int step_nft(struct up_ctx *c)
{
	struct nft_cage_spec spec = nft_spec(c);
	int err = injected("nft-host");

	if (!err)
		err = nft_cage_apply(-1, &spec, false);
	if (err)
		return fail(c, "nft-host", err, "can't create nft table inet cagectl_%s", c->p->name);
	c->own.nft_host = true;
	/* The cage table goes away with the netns; nothing to own separately. */
	err = injected("nft-cage");
	if (!err && c->nft_only) {
		uint16_t ports[64];
		struct nft_only_spec only = nft_only_spec(c, ports);

		err = nft_only_apply_nat(&only);
		if (err)
			return fail(c, "nft-cage", err, "can't create nft table inet %s%s",
				    NFT_ONLY_NAT_PREFIX, c->p->name);
		c->own.nft_nat = true;
		err = nft_only_apply_cage(c->own.netns_fd, &only);
		if (err)
			return fail(c, "nft-cage", err, "can't create nft table inet %s in netns %s",
				    NFT_ONLY_CAGE_TABLE, c->p->netns_name);
		return 0;
	}
	if (!err)
		err = nft_cage_apply(c->own.netns_fd, &spec, true);
	if (err)
		return fail(c, "nft-cage", err, "can't create nft table inet cagectl in netns %s",
			    c->p->netns_name);
	return 0;
}

static int step_bpf(struct up_ctx *c)
{
	const struct cage_addrs *a = &c->st->addrs;
	struct cage_bpf_spec spec = {
		.pin_dir = c->p->pin_dir,
		.cgroup_fd = c->own.cgroup_fd,
		.tcp_inspect = c->cfg->tcp_inspect.v,
		.n_tcp_inspect = c->cfg->tcp_inspect.n,
		.tcp_passthrough = c->cfg->tcp_passthrough.v,
		.n_tcp_passthrough = c->cfg->tcp_passthrough.n,
	};
	const char *what = NULL;
	int err = injected("bpffs");

	if (!err)
		err = cage_bpf_ensure_bpffs(c->p->bpf_root);
	if (err)
		return fail(c, "bpffs", err, "no bpffs at %s", c->p->bpf_root);
	if (mkdir_p(c->p->bpf_root, 0700))
		return fail(c, "bpffs", -errno, "can't create %s", c->p->bpf_root);

	spec.cfg.gw4 = a->gw4;
	spec.cfg.cage4 = a->cage4;
	memcpy(spec.cfg.gw6, a->gw6, 16);
	memcpy(spec.cfg.cage6, a->cage6, 16);
	spec.cfg.proxy_port = c->st->proxy_port;
	spec.cfg.explicit_port = c->st->explicit_port;
	spec.cfg.dns_port = c->st->dns_port;
	spec.cfg.ipv6 = c->st->ipv6;
	spec.cfg.cgroup_id = c->st->cgroup_id;

	err = injected("bpf");
	if (!err && c->nft_only) {
		char marker[PATH_MAX + 16];
		int fd;

		/* The maps alone, so the daemons and the monitor run as usual; no programs. */
		what = "pin the BPF maps";
		err = nft_only_pin_maps(&spec);
		marker_path(c->p, marker, sizeof(marker));
		fd = err ? -1 : open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (!err && fd < 0)
			err = -errno;
		if (fd >= 0)
			close(fd);
	} else if (!err) {
		err = cage_bpf_load_attach(&spec, &what);
	}
	if (err)
		return fail(c, "bpf", err, "can't %s (pins under %s)", what ? what : "load BPF",
			    c->p->pin_dir);
	c->own.bpf = true;
	return 0;
}

/* Appends src to the open fd; -errno. */
static int append_file(int out, const char *src)
{
	char buf[65536];
	ssize_t n;
	int in = open(src, O_RDONLY | O_CLOEXEC);

	if (in < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			close(in);
			return -EIO;
		}
	close(in);
	return n < 0 ? -errno : 0;
}

/*
 * The cage CA (created on the first `up`, kept across restarts so the agent's trust survives) and
 * the bundle the workload trusts: the system roots plus the cage CA. Only cage-proxy uses the key.
 */
static int step_ca(struct up_ctx *c)
{
	char dir[PATH_MAX + 8], key[PATH_MAX + 16], crt[PATH_MAX + 16], bundle[PATH_MAX + 16];
	char tmp[PATH_MAX + 24];
	int err = injected("ca"), fd;

	snprintf(dir, sizeof(dir), "%s/ca", c->p->state_dir);
	snprintf(key, sizeof(key), "%s/ca.key", dir);
	snprintf(crt, sizeof(crt), "%s/ca.crt", dir);
	snprintf(bundle, sizeof(bundle), "%s/bundle.crt", dir);
	if (!err && access(key, F_OK) != 0) {
		err = proxy_ca_create(dir);
		if (!err)
			c->own.ca = c->st->ca_created = true;
	}
	if (err)
		return fail(c, "ca", err, "can't create the cage CA in %s", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", bundle);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(c, "ca", -errno, "can't write %s", tmp);
	/* A host without system roots still gets a bundle: the cage CA alone. */
	err = append_file(fd, "/etc/ssl/certs/ca-certificates.crt");
	if (err == -ENOENT)
		err = 0;
	if (!err)
		err = append_file(fd, crt);
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, bundle))
		err = -errno;
	if (err) {
		unlink(tmp);
		return fail(c, "ca", err, "can't write %s", bundle);
	}
	return 0;
}

static int step_files(struct up_ctx *c)
{
	char ns[128];
	FILE *f;
	int err = injected("state");

	if (err)
		return fail(c, "state", err, "can't write %s", c->p->state_file);
	f = fopen(c->p->resolv_conf, "we");
	if (!f)
		return fail(c, "state", -errno, "can't write %s", c->p->resolv_conf);
	inet_ntop(AF_INET, &c->st->addrs.gw4, ns, sizeof(ns));
	fprintf(f, "# cagectl: the cage's only resolver is cage-dns\nnameserver %s\n", ns);
	if (c->st->ipv6) {
		inet_ntop(AF_INET6, c->st->addrs.gw6, ns, sizeof(ns));
		fprintf(f, "nameserver %s\n", ns);
	}
	fprintf(f, "options timeout:2 attempts:2\n");
	if (fclose(f))
		return fail(c, "state", -errno, "can't write %s", c->p->resolv_conf);
	err = cage_state_write(c->p->state_file, c->st);
	if (err)
		return fail(c, "state", err, "can't write %s", c->p->state_file);
	return 0;
}

int cage_verify(const struct cage_paths *p, const struct cage_state *st, char *what, size_t len)
{
	struct nft_cage_spec spec = {
		.name = p->name,
		.host_ifname = st->addrs.host_ifname,
		.gw4 = st->addrs.gw4,
		.cage4 = st->addrs.cage4,
		.ipv6 = st->ipv6,
		.proxy_port = st->proxy_port,
		.explicit_port = st->explicit_port,
		.dns_port = st->dns_port,
	};
	char marker[PATH_MAX + 16];
	bool nft_only;
	int cg, ns, err;

	memcpy(spec.gw6, st->addrs.gw6, 16);
	memcpy(spec.cage6, st->addrs.cage6, 16);
	marker_path(p, marker, sizeof(marker));
	nft_only = access(marker, F_OK) == 0;
	cg = cgroup_open(p->cgroup_mount, p->name);
	if (cg < 0) {
		snprintf(what, len, "cgroup %s/cagectl/%s is missing", p->cgroup_mount, p->name);
		return cg;
	}
	err = nft_only ? nft_only_verify_maps(p->pin_dir, what, len) :
			 cage_bpf_verify(p->pin_dir, cg, what, len);
	close(cg);
	if (err)
		return err;
	ns = netns_open(p->netns_name, p->netns_dir);
	if (ns < 0) {
		snprintf(what, len, "netns %s/%s is missing", p->netns_dir, p->netns_name);
		return ns;
	}
	if (nft_only) {
		/* The ports come from the pinned map the config filled at up. */
		uint16_t ports[64];
		struct nft_only_spec only = { .base = spec, .tcp_ports = ports };
		struct cage_port_key key, next;
		int pfd = cage_bpf_map_open(p->pin_dir, CAGE_PIN_PORTS, true);
		bool first = true;

		while (pfd >= 0 && only.n_tcp_ports < 64 &&
		       !bpf_map_get_next_key(pfd, first ? NULL : &key, &next)) {
			first = false;
			key = next;
			ports[only.n_tcp_ports++] = next.port;
		}
		if (pfd >= 0)
			close(pfd);
		err = nft_only_verify(ns, &only, what, len);
	} else {
		err = nft_cage_verify(ns, &spec, true);
		if (err)
			snprintf(what, len, "nft table inet cagectl in netns %s: %s", p->netns_name,
				 err == -ENOENT ? "missing" : "differs from what was applied");
	}
	if (!err && link_exists(ns, CAGE_IFNAME) != 1) {
		snprintf(what, len, "%s is missing in netns %s", CAGE_IFNAME, p->netns_name);
		err = -ENODEV;
	}
	close(ns);
	if (err)
		return err;
	err = nft_cage_verify(-1, &spec, false);
	if (err) {
		snprintf(what, len, "nft table inet cagectl_%s: %s", p->name,
			 err == -ENOENT ? "missing" : "differs from what was applied");
		return err;
	}
	if (link_exists(-1, st->addrs.host_ifname) != 1) {
		snprintf(what, len, "veth %s is missing", st->addrs.host_ifname);
		return -ENODEV;
	}
	return 0;
}

static int step_verify(struct up_ctx *c)
{
	char what[512];
	int err = injected("verify");

	if (!err)
		err = cage_verify(c->p, c->st, what, sizeof(what));
	else
		snprintf(what, sizeof(what), "injected failure");
	if (err)
		return fail(c, "verify", err, "cage %s is not complete: %s", c->p->name, what);
	return 0;
}

static int up(const struct cage_config_file *cfg, const struct cage_paths *paths,
	      struct cage_state *st, char *err_msg, size_t err_len, cage_warn_fn warn, void *warn_arg,
	      bool nft_only)
{
	struct up_ctx c = {
		.cfg = cfg, .p = paths, .st = st, .err = err_msg, .err_len = err_len,
		.warn = warn, .warn_arg = warn_arg, .nft_only = nft_only,
		.own = { .cgroup_fd = -1, .netns_fd = -1 },
	};
	int (*const steps[])(struct up_ctx *) = {
		step_run_dir, step_addresses, step_cgroup, step_network, step_nft, step_bpf,
		step_verify, step_ca, step_files,
	};
	int err = 0;

	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", cfg->name);
	snprintf(st->config_path, sizeof(st->config_path), "%s", cfg->path ? cfg->path : "");
	st->uid = cfg->uid;
	st->gid = cfg->gid;
	st->proxy_port = cfg->proxy_port ? cfg->proxy_port : 15001;
	st->explicit_port = cfg->explicit_port ? cfg->explicit_port : 3128;
	st->dns_port = 53;
	st->ipv6 = cfg->ipv6;
	st->created_at = time(NULL);

	if (cfg->udp.n || cfg->icmp) {
		snprintf(err_msg, err_len, "%s: ports.%s: not supported on the linux backend yet: the "
			 "cage has no UDP or ICMP relay, so these would be dead rules",
			 cfg->path ? cfg->path : cfg->name, cfg->udp.n ? "udp" : "icmp");
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = steps[i](&c);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		/* CAGECTL_TIMING=1: where `up` spends its time, for the lifecycle benchmark. */
		if (getenv("CAGECTL_TIMING"))
			fprintf(stderr, "cagectl: up step %zu took %.1f ms\n", i,
				(double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
		if (err)
			break;
	}
	if (err) {
		rollback(&c);
		return err;
	}
	close(c.own.cgroup_fd);
	close(c.own.netns_fd);
	return 0;
}

int cage_up(const struct cage_config_file *cfg, const struct cage_paths *paths,
	    struct cage_state *st, char *err_msg, size_t err_len, cage_warn_fn warn, void *warn_arg)
{
	return up(cfg, paths, st, err_msg, err_len, warn, warn_arg, false);
}

int cage_up_nft_only(const struct cage_config_file *cfg, const struct cage_paths *paths,
		     struct cage_state *st, char *err_msg, size_t err_len, cage_warn_fn warn,
		     void *warn_arg)
{
	return up(cfg, paths, st, err_msg, err_len, warn, warn_arg, true);
}

void cage_remove_ca(const struct cage_paths *p)
{
	char path[PATH_MAX + 32];

	for (const char *const *f = (const char *const[]){ "ca.key", "ca.crt", "bundle.crt", NULL }; *f; f++) {
		snprintf(path, sizeof(path), "%s/ca/%s", p->state_dir, *f);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/ca", p->state_dir);
	rmdir(path);
}
