// SPDX-License-Identifier: GPL-2.0-only
/*
 * The nftables-only mode (see nft_only.h). The rules are written as nft(8) text and applied with
 * `nft -f -`, one transaction per table: NAT, reject and log statements are what nft(8) already
 * encodes correctly, and this mode runs only in guests, whose image installs nftables.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cage.skel.h"
#include "enforce/bpf_loader.h"
#include "enforce/nft_only.h"

/* --- probing ---------------------------------------------------------------------------------- */

/* Appends " kind:name" to the list; a list that no longer fits stays cut where it was. */
static void add_missing(char *buf, size_t len, size_t *off, const char *kind, const char *name)
{
	int n;

	if (*off >= len)
		return;
	n = snprintf(buf + *off, len - *off, "%s%s:%s", *off ? " " : "", kind, name);
	*off = n < 0 ? len : *off + (size_t)n;
}

bool nft_only_bpf_probe(char *missing, size_t len, bool *maps_ok)
{
	static const struct {
		enum bpf_prog_type type;
		const char *name;
	} progs[] = {
		{ BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "cgroup_sock_addr" },
		{ BPF_PROG_TYPE_CGROUP_SOCK, "cgroup_sock" },
		{ BPF_PROG_TYPE_CGROUP_SKB, "cgroup_skb" },
		{ BPF_PROG_TYPE_SOCK_OPS, "sock_ops" },
	};
	static const struct {
		enum bpf_map_type type;
		const char *name;
	} maps[] = {
		{ BPF_MAP_TYPE_ARRAY, "array" },       { BPF_MAP_TYPE_HASH, "hash" },
		{ BPF_MAP_TYPE_LRU_HASH, "lru_hash" }, { BPF_MAP_TYPE_RINGBUF, "ringbuf" },
		{ BPF_MAP_TYPE_SK_STORAGE, "sk_storage" },
	};
	/* A test hook only: the lab host has every feature, the nft-only rows need none. */
	bool fake = getenv("CAGECTL_GUEST_NO_BPF") && !strcmp(getenv("CAGECTL_GUEST_NO_BPF"), "1");
	size_t off = 0;
	bool all = true;

	missing[0] = '\0';
	*maps_ok = true;
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (!fake && libbpf_probe_bpf_prog_type(progs[i].type, NULL) == 1)
			continue;
		all = false;
		add_missing(missing, len, &off, "prog", progs[i].name);
	}
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		if (libbpf_probe_bpf_map_type(maps[i].type, NULL) == 1)
			continue;
		all = false;
		/* sk_storage only serves the programs; the daemons need the others. */
		if (maps[i].type != BPF_MAP_TYPE_SK_STORAGE)
			*maps_ok = false;
		add_missing(missing, len, &off, "map", maps[i].name);
	}
	return all;
}

/* --- running nft ------------------------------------------------------------------------------ */

struct text {
	char buf[8192];
	size_t len;
	bool overflow;
	/* rules per chain, in the order chains were opened */
	unsigned int nchains, rules[4];
	const char *chains[4];
};

__attribute__((format(printf, 2, 3))) static void emit(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(t->buf) - t->len)
		t->overflow = true;
	else
		t->len += (size_t)n;
}

/* A rule line of the chain opened last: counted for verify. */
#define RULE(t, ...) do { emit(t, "\t\t" __VA_ARGS__); emit(t, "\n"); (t)->rules[(t)->nchains - 1]++; } while (0)

static void chain_open(struct text *t, const char *name, const char *head)
{
	if (t->nchains < 4) {
		t->chains[t->nchains] = name;
		t->rules[t->nchains++] = 0;
	} else {
		t->overflow = true;
	}
	emit(t, "\tchain %s {\n%s%s", name, head ? head : "", head ? "\n" : "");
}

/* Runs `nft ARG...` in netns_fd (-1: ours) with `in` on its stdin; its stdout into out. */
static int run_nft(int netns_fd, const char *in, size_t in_len, char *const args[], char *out,
		   size_t out_len)
{
	static const char *const paths[] = { "/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", NULL };
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, status, err = 0;
	char *argv[8];
	size_t got = 0;
	pid_t pid;

	argv[0] = "nft";
	for (int i = 0; i < 6 && args[i]; i++) {
		argv[i + 1] = args[i];
		argv[i + 2] = NULL;
	}
	if (pipe2(inp, O_CLOEXEC) || pipe2(outp, O_CLOEXEC)) {
		err = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto out;
	}
	if (pid == 0) {
		if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET))
			_exit(125);
		dup2(inp[0], 0);
		dup2(outp[1], 1);
		for (const char *const *p = paths; *p; p++)
			execv(*p, argv);
		execvp("nft", argv);
		_exit(127);
	}
	close(inp[0]);
	close(outp[1]);
	inp[0] = outp[1] = -1;
	{
		void (*old)(int) = signal(SIGPIPE, SIG_IGN);
		size_t off = 0;

		while (in && off < in_len) {
			ssize_t n = write(inp[1], in + off, in_len - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		close(inp[1]);
		inp[1] = -1;
		signal(SIGPIPE, old);
	}
	for (;;) {
		char sink[512];
		ssize_t n = read(outp[0], out && got + 1 < out_len ? out + got : sink,
				 out && got + 1 < out_len ? out_len - got - 1 : sizeof(sink));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && got + 1 < out_len)
			got += (size_t)n;
	}
	if (out && out_len)
		out[got] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			err = -errno;
			goto out;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
		err = -ENOENT;  /* no nft(8) in this guest */
	else if (WEXITSTATUS(status))
		err = -EPROTO;
out:
	for (int i = 0; i < 2; i++) {
		if (inp[i] >= 0)
			close(inp[i]);
		if (outp[i] >= 0)
			close(outp[i]);
	}
	return err;
}

static void port_list(struct text *t, const uint16_t *ports, size_t n)
{
	emit(t, "{ ");
	for (size_t i = 0; i < n; i++)
		emit(t, "%s%u", i ? ", " : "", ports[i]);
	emit(t, " }");
}

static int spec_ok(const struct nft_only_spec *s)
{
	if (!s->base.name || !s->base.host_ifname || !s->n_tcp_ports || !s->base.proxy_port ||
	    !s->base.explicit_port || !s->base.dns_port)
		return -EINVAL;
	/* Names go into nft text: only the characters cage names and our veth names use. */
	for (const char *c = s->base.name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return -EINVAL;
	for (const char *c = s->base.host_ifname; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '-' || *c == '_' || *c == '.'))
			return -EINVAL;
	return 0;
}

/*
 * The cage netns table. Stateless like `table inet cagectl` (escapes.md S35): replies from the
 * proxy and resolver come back with the original peer's address after the root netns undoes
 * its DNAT, so input accepts the redirected ports' source ports. Only the root netns can send
 * into the veth (its forward chain drops everything routed there).
 */
static void build_cage(struct text *t, const struct nft_only_spec *s)
{
	const struct nft_cage_spec *b = &s->base;
	char gw4[INET_ADDRSTRLEN], gw6[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET, &b->gw4, gw4, sizeof(gw4));
	inet_ntop(AF_INET6, b->gw6, gw6, sizeof(gw6));
	emit(t, "table inet %s {\n", NFT_ONLY_CAGE_TABLE);
	/* Destinations the BPF layer calls private (dst_private): never redirected, never reached. */
	emit(t, "\tset private4 { type ipv4_addr; flags interval; elements = { 0.0.0.0/8, "
		"10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, "
		"192.0.0.0/24, 192.168.0.0/16, 198.18.0.0/15, 224.0.0.0/3 } }\n");
	emit(t, "\tset private6 { type ipv6_addr; flags interval; elements = { ::/127, "
		"::ffff:0.0.0.0/96, 64:ff9b::/96, fc00::/7, fe80::/10, ff00::/8 } }\n");

	chain_open(t, "deny", NULL);
	RULE(t, "counter log prefix \"cagectl %s nft-only deny \" group %u", b->name, NFT_ONLY_LOG_GROUP);
	RULE(t, "meta l4proto tcp reject with tcp reset");
	RULE(t, "drop");
	emit(t, "\t}\n");

	chain_open(t, "output", "\t\ttype filter hook output priority filter; policy drop;");
	RULE(t, "oif \"lo\" accept");
	RULE(t, "ip daddr %s tcp dport { %u, %u, %u } accept", gw4, b->proxy_port, b->explicit_port,
	     b->dns_port);
	RULE(t, "ip daddr %s udp dport %u accept", gw4, b->dns_port);
	if (b->ipv6) {
		RULE(t, "ip6 daddr %s tcp dport { %u, %u, %u } accept", gw6, b->proxy_port,
		     b->explicit_port, b->dns_port);
		RULE(t, "ip6 daddr %s udp dport %u accept", gw6, b->dns_port);
		RULE(t, "icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept");
	}
	RULE(t, "ip daddr @private4 jump deny");
	RULE(t, "ip6 daddr @private6 jump deny");
	emit(t, "\t\ttcp dport ");
	port_list(t, s->tcp_ports, s->n_tcp_ports);
	emit(t, " accept\n");
	t->rules[t->nchains - 1]++;
	RULE(t, "meta l4proto { tcp, udp } th dport 53 accept");
	RULE(t, "jump deny");
	emit(t, "\t}\n");

	chain_open(t, "input", "\t\ttype filter hook input priority filter; policy drop;");
	RULE(t, "iif \"lo\" accept");
	RULE(t, "ip saddr %s tcp sport { %u, %u, %u } accept", gw4, b->proxy_port, b->explicit_port,
	     b->dns_port);
	RULE(t, "ip saddr %s udp sport %u accept", gw4, b->dns_port);
	if (b->ipv6) {
		RULE(t, "ip6 saddr %s tcp sport { %u, %u, %u } accept", gw6, b->proxy_port,
		     b->explicit_port, b->dns_port);
		RULE(t, "ip6 saddr %s udp sport %u accept", gw6, b->dns_port);
		RULE(t, "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept");
	}
	emit(t, "\t\ttcp sport ");
	port_list(t, s->tcp_ports, s->n_tcp_ports);
	emit(t, " accept\n");
	t->rules[t->nchains - 1]++;
	RULE(t, "meta l4proto { tcp, udp } th sport 53 accept");
	RULE(t, "counter drop");
	emit(t, "\t}\n");

	chain_open(t, "forward", "\t\ttype filter hook forward priority filter; policy drop;");
	RULE(t, "counter drop");
	emit(t, "\t}\n}\n");
}

/* The root netns: the cage's redirected ports to cage-proxy, port 53 to cage-dns. */
static void build_nat(struct text *t, const struct nft_only_spec *s)
{
	const struct nft_cage_spec *b = &s->base;
	char gw4[INET_ADDRSTRLEN], gw6[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET, &b->gw4, gw4, sizeof(gw4));
	inet_ntop(AF_INET6, b->gw6, gw6, sizeof(gw6));
	emit(t, "table inet %s%s {\n", NFT_ONLY_NAT_PREFIX, b->name);
	chain_open(t, "prerouting", "\t\ttype nat hook prerouting priority dstnat; policy accept;");
	emit(t, "\t\tiifname \"%s\" meta nfproto ipv4 tcp dport ", b->host_ifname);
	port_list(t, s->tcp_ports, s->n_tcp_ports);
	emit(t, " dnat ip to %s:%u\n", gw4, b->proxy_port);
	t->rules[t->nchains - 1]++;
	RULE(t, "iifname \"%s\" meta nfproto ipv4 meta l4proto { tcp, udp } th dport 53 dnat ip to %s:%u",
	     b->host_ifname, gw4, b->dns_port);
	if (b->ipv6) {
		emit(t, "\t\tiifname \"%s\" meta nfproto ipv6 tcp dport ", b->host_ifname);
		port_list(t, s->tcp_ports, s->n_tcp_ports);
		emit(t, " dnat ip6 to [%s]:%u\n", gw6, b->proxy_port);
		t->rules[t->nchains - 1]++;
		RULE(t, "iifname \"%s\" meta nfproto ipv6 meta l4proto { tcp, udp } th dport 53 dnat ip6 to [%s]:%u",
		     b->host_ifname, gw6, b->dns_port);
	}
	emit(t, "\t}\n}\n");
}

static int apply(int netns_fd, struct text *t)
{
	char *args[] = { "-f", "-", NULL };

	if (t->overflow)
		return -E2BIG;
	return run_nft(netns_fd, t->buf, t->len, args, NULL, 0);
}

int nft_only_apply_cage(int netns_fd, const struct nft_only_spec *spec)
{
	struct text t = { .len = 0 };
	int err = spec_ok(spec);

	if (err)
		return err;
	build_cage(&t, spec);
	return apply(netns_fd, &t);
}

int nft_only_apply_nat(const struct nft_only_spec *spec)
{
	struct text t = { .len = 0 };
	int err = spec_ok(spec);

	if (err)
		return err;
	build_nat(&t, spec);
	return apply(-1, &t);
}

int nft_only_remove_nat(const char *name)
{
	char table[128];
	char *args[] = { "delete", "table", "inet", table, NULL };

	snprintf(table, sizeof(table), "%s%s", NFT_ONLY_NAT_PREFIX, name);
	/* nft exits 1 for a table that is not there: nothing left to remove. */
	return run_nft(-1, NULL, 0, args, NULL, 0) == -EPROTO ? -ENOENT : 0;
}

/*
 * Compares `nft -a list table` with what build_*() wrote: every chain there, with the same
 * number of rules ("# handle" lines inside a chain). A missing table is -ENOENT.
 */
static int verify_table(int netns_fd, const char *table, const struct text *want)
{
	static char out[32768];
	char *args[] = { "-a", "list", "table", "inet", (char *)table, NULL };
	unsigned int got[4] = { 0 };
	int cur = -1, err;

	err = run_nft(netns_fd, NULL, 0, args, out, sizeof(out));
	if (err)
		return err == -EPROTO ? -ENOENT : err;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char name[64];

		while (*line == '\t' || *line == ' ')
			line++;
		if (sscanf(line, "chain %63s", name) == 1) {
			cur = -1;
			for (unsigned int i = 0; i < want->nchains; i++)
				if (!strcmp(name, want->chains[i]))
					cur = (int)i;
			if (cur < 0)
				return -EPROTO;
			continue;
		}
		if (!strncmp(line, "}", 1)) {
			cur = -1;
			continue;
		}
		if (cur >= 0 && strstr(line, "# handle") && strncmp(line, "type ", 5))
			got[cur]++;
	}
	for (unsigned int i = 0; i < want->nchains; i++)
		if (got[i] != want->rules[i])
			return -EPROTO;
	return 0;
}

int nft_only_verify(int netns_fd, const struct nft_only_spec *spec, char *what, size_t len)
{
	struct text cage = { .len = 0 }, nat = { .len = 0 };
	char table[128];
	int err = spec_ok(spec);

	if (err) {
		snprintf(what, len, "nft-only spec is malformed");
		return err;
	}
	build_cage(&cage, spec);
	build_nat(&nat, spec);
	err = verify_table(netns_fd, NFT_ONLY_CAGE_TABLE, &cage);
	if (err) {
		snprintf(what, len, "nft table inet %s in the cage netns: %s", NFT_ONLY_CAGE_TABLE,
			 err == -ENOENT ? "missing" : "differs from what was applied");
		return err;
	}
	snprintf(table, sizeof(table), "%s%s", NFT_ONLY_NAT_PREFIX, spec->base.name);
	err = verify_table(-1, table, &nat);
	if (err)
		snprintf(what, len, "nft table inet %s: %s", table,
			 err == -ENOENT ? "missing" : "differs from what was applied");
	return err;
}

int nft_only_denied_count(int netns_fd, uint64_t *packets)
{
	static char out[8192];
	char *args[] = { "list", "chain", "inet", NFT_ONLY_CAGE_TABLE, "deny", NULL };
	const char *p;
	int err;

	*packets = 0;
	err = run_nft(netns_fd, NULL, 0, args, out, sizeof(out));
	if (err)
		return err;
	p = strstr(out, "counter packets ");
	if (!p)
		return -EPROTO;
	*packets = strtoull(p + 16, NULL, 10);
	return 0;
}

/* --- the maps without the programs ------------------------------------------------------------ */

static const char *const map_pins[] = {
	CAGE_PIN_CONFIG, CAGE_PIN_PORTS, CAGE_PIN_ORIG_DST, CAGE_PIN_DNS_ALLOW, CAGE_PIN_STATS,
	CAGE_PIN_EVENTS,
};
#define N_MAP_PINS (sizeof(map_pins) / sizeof(map_pins[0]))

int nft_only_pin_maps(const struct cage_bpf_spec *spec)
{
	const char *pin_dir = spec->pin_dir;
	struct cage_bpf *skel = cage_bpf__open();
	struct bpf_program *prog;
	char path[PATH_MAX];
	int err;

	if (!skel)
		return -errno ?: -ENOMEM;
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	/* Only the programs use per-socket storage, and a kernel without them may lack it. */
	bpf_map__set_autocreate(skel->maps.sock_orig, false);
	err = cage_bpf__load(skel);
	if (err)
		goto out;
	err = cage_bpf_fill_maps(skel, spec);
	if (err)
		goto out;
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		err = -errno;
		goto out;
	}
	{
		struct bpf_map *maps[N_MAP_PINS] = {
			skel->maps.cage_config_map, skel->maps.ports, skel->maps.orig_dst,
			skel->maps.dns_allow, skel->maps.stats, skel->maps.events,
		};

		for (size_t i = 0; i < N_MAP_PINS && !err; i++) {
			snprintf(path, sizeof(path), "%s/%s", pin_dir, map_pins[i]);
			err = bpf_map__pin(maps[i], path);
		}
	}
	if (err)
		cage_bpf_unpin(pin_dir);
out:
	cage_bpf__destroy(skel);
	return err;
}

int nft_only_verify_maps(const char *pin_dir, char *what, size_t len)
{
	for (size_t i = 0; i < N_MAP_PINS; i++) {
		int fd = cage_bpf_map_open(pin_dir, map_pins[i], true);

		if (fd < 0) {
			snprintf(what, len, "map %s/%s is not pinned", pin_dir, map_pins[i]);
			return fd;
		}
		close(fd);
	}
	return 0;
}
