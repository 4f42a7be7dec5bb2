// SPDX-License-Identifier: GPL-2.0-only
/*
 * cgroup/connect, sendmsg, recvmsg and getpeername hooks: the cage's only ways out are the
 * proxy (every allowed TCP port is rewritten to its transparent listener) and the resolver
 * (every port-53 packet, whatever server the agent named). Everything else fails with EPERM at
 * connect()/sendmsg() time, so a probe sees an error at once instead of a timeout.
 *
 * What the agent asked for is kept in socket-local storage (freed with the socket), so
 * getpeername() and recvmsg() can show the agent the address it asked for.
 */
#include "cage_common.h"

char LICENSE[] SEC("license") = "GPL";

enum action {
	ACT_ALLOW,          /* leave the address alone (in-cage loopback, explicit proxy, resolver) */
	ACT_REDIRECT_PROXY,
	ACT_REDIRECT_DNS,
	ACT_DENY,
};

/* A destination with IPv4-mapped IPv6 folded into IPv4: the cage treats them alike. */
struct dst {
	struct cage_addr addr;
	__u16 port;        /* host order */
	__u8 proto;
	__u8 mapped;       /* came in as ::ffff:a.b.c.d on an IPv6 socket */
};

static __always_inline enum action decide_gateway(const struct cage_config *cfg, const struct dst *d,
						  enum cage_reason *reason)
{
	if (d->port == cfg->dns_port)
		return ACT_ALLOW;
	if (d->proto == IPPROTO_TCP_ && d->port == cfg->explicit_port)
		return ACT_ALLOW;
	*reason = REASON_GATEWAY_PORT;
	return ACT_DENY;
}

static __always_inline enum action decide(const struct cage_config *cfg, const struct dst *d,
					  enum cage_reason *reason, __u32 *mode)
{
	bool v4 = d->addr.family == CAGE_AF_INET;

	if (v4) {
		if ((bpf_ntohl(d->addr.ip[0]) >> 24) == 127)
			return ACT_ALLOW;
		if (d->addr.ip[0] == cfg->gw4)
			return decide_gateway(cfg, d, reason);
	} else {
		if (d->addr.ip[0] == 0 && d->addr.ip[1] == 0 && d->addr.ip[2] == 0 &&
		    d->addr.ip[3] == bpf_htonl(1))
			return ACT_ALLOW;
		if (!cfg->ipv6) {
			*reason = REASON_IPV6_DISABLED;
			return ACT_DENY;
		}
		if (ip6_eq(d->addr.ip, cfg->gw6))
			return decide_gateway(cfg, d, reason);
	}
	if (d->proto != IPPROTO_TCP_ && d->proto != IPPROTO_UDP_) {
		*reason = REASON_PROTO_DENIED;
		return ACT_DENY;
	}
	/* Port 53 goes to cage-dns whatever server was named, private ones included. */
	if (d->port == 53) {
		*mode = PORT_MODE_DNS;
		return ACT_REDIRECT_DNS;
	}
	if (d->proto == IPPROTO_UDP_) {
		*reason = REASON_UDP_DENIED;
		return ACT_DENY;
	}
	if (v4 ? ip4_is_private(d->addr.ip[0]) : ip6_is_private(d->addr.ip)) {
		*reason = REASON_DST_PRIVATE;
		return ACT_DENY;
	}
	*mode = port_mode(d->port, IPPROTO_TCP_);
	if (*mode == PORT_MODE_INSPECT)
		return ACT_REDIRECT_PROXY;
	if (*mode == PORT_MODE_PASSTHROUGH) {
		/* A passthrough port only opens towards addresses cage-dns handed out. */
		if (dns_allow_has(&d->addr))
			return ACT_REDIRECT_PROXY;
		*reason = REASON_PASSTHROUGH_UNRESOLVED;
		return ACT_DENY;
	}
	*reason = REASON_TCP_PORT_DENIED;
	return ACT_DENY;
}

static __always_inline void report_deny(enum cage_reason reason, const struct dst *d)
{
	struct cage_event *ev;

	stat_bump(reason);
	ev = event_new(reason, VERDICT_DENY);
	if (!ev)
		return;
	event_set_task(ev);
	ev->family = d->addr.family;
	ev->proto = d->proto;
	ev->dport = d->port;
	ev->dst = d->addr;
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline void remember(struct bpf_sock_addr *ctx, const struct dst *d, __u32 mode)
{
	struct cage_orig *orig;
	struct bpf_sock *sk = ctx->sk;

	if (!sk)
		return;
	orig = bpf_sk_storage_get(&sock_orig, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!orig)
		return;
	orig->dst = d->addr;
	orig->dport = d->port;
	orig->proto = d->proto;
	orig->mode = mode;
	orig->pid = bpf_get_current_pid_tgid() >> 32;
	orig->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(orig->comm, sizeof(orig->comm));
	orig->ts_ns = bpf_ktime_get_boot_ns();
}

static __always_inline void rewrite4(struct bpf_sock_addr *ctx, __u32 ip, __u16 port)
{
	ctx->user_ip4 = ip;
	ctx->user_port = bpf_htons(port);
}

static __always_inline void rewrite6(struct bpf_sock_addr *ctx, const struct cage_config *cfg,
				     bool mapped, __u16 port)
{
	if (mapped) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = cfg->gw4;
	} else {
		ctx->user_ip6[0] = cfg->gw6[0];
		ctx->user_ip6[1] = cfg->gw6[1];
		ctx->user_ip6[2] = cfg->gw6[2];
		ctx->user_ip6[3] = cfg->gw6[3];
	}
	ctx->user_port = bpf_htons(port);
}

static __always_inline void dst_from4(struct dst *d, struct bpf_sock_addr *ctx)
{
	__builtin_memset(d, 0, sizeof(*d));
	d->addr.family = CAGE_AF_INET;
	d->addr.ip[0] = ctx->user_ip4;
	d->port = bpf_ntohs(ctx->user_port);
	d->proto = ctx->protocol;
}

static __always_inline void dst_from6(struct dst *d, struct bpf_sock_addr *ctx)
{
	__u32 ip[4];

	__builtin_memset(d, 0, sizeof(*d));
	ip[0] = ctx->user_ip6[0];
	ip[1] = ctx->user_ip6[1];
	ip[2] = ctx->user_ip6[2];
	ip[3] = ctx->user_ip6[3];
	if (ip6_is_v4mapped(ip)) {
		d->addr.family = CAGE_AF_INET;
		d->addr.ip[0] = ip[3];
		d->mapped = 1;
	} else {
		d->addr.family = CAGE_AF_INET6;
		d->addr.ip[0] = ip[0];
		d->addr.ip[1] = ip[1];
		d->addr.ip[2] = ip[2];
		d->addr.ip[3] = ip[3];
	}
	d->port = bpf_ntohs(ctx->user_port);
	d->proto = ctx->protocol;
}

/* connect() and sendmsg() share one policy; `v6` says which socket family to rewrite. */
static __always_inline int sock_egress(struct bpf_sock_addr *ctx, struct dst *d, bool v6)
{
	struct cage_config *cfg = cage_cfg();
	enum cage_reason reason = REASON_NONE;
	__u32 mode = PORT_MODE_NONE;
	enum action act;
	__u16 port;

	if (!cfg || !cfg->ready) {
		report_deny(REASON_NOT_READY, d);
		return SK_DENY;
	}
	act = decide(cfg, d, &reason, &mode);
	if (act == ACT_ALLOW)
		return SK_ALLOW;
	if (act == ACT_DENY) {
		report_deny(reason, d);
		return SK_DENY;
	}
	remember(ctx, d, mode);
	port = act == ACT_REDIRECT_DNS ? cfg->dns_port : cfg->proxy_port;
	stat_bump(act == ACT_REDIRECT_DNS ? REASON_REDIRECT_DNS : REASON_REDIRECT_PROXY);
	if (v6)
		rewrite6(ctx, cfg, d->mapped, port);
	else
		rewrite4(ctx, cfg->gw4, port);
	return SK_ALLOW;
}

SEC("cgroup/connect4")
int sock4_connect(struct bpf_sock_addr *ctx)
{
	struct dst d;

	dst_from4(&d, ctx);
	return sock_egress(ctx, &d, false);
}

SEC("cgroup/connect6")
int sock6_connect(struct bpf_sock_addr *ctx)
{
	struct dst d;

	dst_from6(&d, ctx);
	return sock_egress(ctx, &d, true);
}

SEC("cgroup/sendmsg4")
int sock4_sendmsg(struct bpf_sock_addr *ctx)
{
	struct dst d;

	dst_from4(&d, ctx);
	return sock_egress(ctx, &d, false);
}

SEC("cgroup/sendmsg6")
int sock6_sendmsg(struct bpf_sock_addr *ctx)
{
	struct dst d;

	dst_from6(&d, ctx);
	return sock_egress(ctx, &d, true);
}

/*
 * Replies and peer addresses: a socket we redirected shows the address the agent asked for.
 * Only sockets with a stored original are touched, and only when the peer really is our
 * listener, so a socket that talks to the resolver by its own address sees it unchanged.
 */
static __always_inline struct cage_orig *orig_of(struct bpf_sock_addr *ctx, __u16 peer_port,
						 const struct cage_config *cfg)
{
	struct cage_orig *orig;
	struct bpf_sock *sk = ctx->sk;

	if (peer_port != cfg->proxy_port && peer_port != cfg->dns_port)
		return NULL;
	if (!sk)
		return NULL;
	orig = bpf_sk_storage_get(&sock_orig, sk, 0, 0);
	if (!orig)
		return NULL;
	if ((orig->mode == PORT_MODE_DNS) != (peer_port == cfg->dns_port))
		return NULL;
	return orig;
}

static __always_inline int restore4(struct bpf_sock_addr *ctx)
{
	struct cage_config *cfg = cage_cfg();
	struct cage_orig *orig;

	if (!cfg || ctx->user_ip4 != cfg->gw4)
		return 1;
	orig = orig_of(ctx, bpf_ntohs(ctx->user_port), cfg);
	if (orig && orig->dst.family == CAGE_AF_INET) {
		ctx->user_ip4 = orig->dst.ip[0];
		ctx->user_port = bpf_htons(orig->dport);
	}
	return 1;
}

static __always_inline int restore6(struct bpf_sock_addr *ctx)
{
	struct cage_config *cfg = cage_cfg();
	struct cage_orig *orig;
	__u32 ip[4];
	bool mapped;

	if (!cfg)
		return 1;
	ip[0] = ctx->user_ip6[0];
	ip[1] = ctx->user_ip6[1];
	ip[2] = ctx->user_ip6[2];
	ip[3] = ctx->user_ip6[3];
	mapped = ip6_is_v4mapped(ip);
	if (mapped ? ip[3] != cfg->gw4 : !ip6_eq(ip, cfg->gw6))
		return 1;
	orig = orig_of(ctx, bpf_ntohs(ctx->user_port), cfg);
	if (!orig)
		return 1;
	if (mapped && orig->dst.family == CAGE_AF_INET) {
		ctx->user_ip6[3] = orig->dst.ip[0];
	} else if (!mapped && orig->dst.family == CAGE_AF_INET6) {
		ctx->user_ip6[0] = orig->dst.ip[0];
		ctx->user_ip6[1] = orig->dst.ip[1];
		ctx->user_ip6[2] = orig->dst.ip[2];
		ctx->user_ip6[3] = orig->dst.ip[3];
	} else {
		return 1;
	}
	ctx->user_port = bpf_htons(orig->dport);
	return 1;
}

SEC("cgroup/recvmsg4")
int sock4_recvmsg(struct bpf_sock_addr *ctx)
{
	return restore4(ctx);
}

SEC("cgroup/recvmsg6")
int sock6_recvmsg(struct bpf_sock_addr *ctx)
{
	return restore6(ctx);
}

SEC("cgroup/getpeername4")
int sock4_getpeername(struct bpf_sock_addr *ctx)
{
	return restore4(ctx);
}

SEC("cgroup/getpeername6")
int sock6_getpeername(struct bpf_sock_addr *ctx)
{
	return restore6(ctx);
}
