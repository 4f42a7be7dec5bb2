// SPDX-License-Identifier: GPL-2.0-only
/*
 * cgroup/sock_create: only TCP stream and UDP datagram sockets may exist in a cage. Raw sockets
 * skip the connect/sendmsg hooks, ICMP "ping" datagram sockets carry payload in echo requests,
 * SCTP/UDP-Lite/MPTCP are not understood by the proxy. This hook runs only from inet_create()
 * and inet6_create(): AF_PACKET sockets never reach it, so they are held by the missing
 * CAP_NET_RAW (and the workload's seccomp filter) instead; tests/integration pins both.
 */
#include "cage_common.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline int sock_create_deny(struct bpf_sock *ctx, enum cage_reason reason)
{
	struct cage_event *ev;

	stat_bump(reason);
	ev = event_new(reason, VERDICT_DENY);
	if (!ev)
		return SK_DENY;
	event_set_task(ev);
	ev->family = ctx->family == AF_INET6 ? CAGE_AF_INET6 : CAGE_AF_INET;
	ev->proto = ctx->protocol;
	ev->sock_type = ctx->type;
	bpf_ringbuf_submit(ev, 0);
	return SK_DENY;
}

SEC("cgroup/sock_create")
int sock_create(struct bpf_sock *ctx)
{
	if (ctx->family != AF_INET && ctx->family != AF_INET6)
		return SK_ALLOW;
	if (ctx->type == SOCK_RAW)
		return sock_create_deny(ctx, REASON_SOCK_RAW);
	if (ctx->type == SOCK_STREAM && ctx->protocol == IPPROTO_TCP_)
		return SK_ALLOW;
	if (ctx->type == SOCK_DGRAM && ctx->protocol == IPPROTO_UDP_)
		return SK_ALLOW;
	return sock_create_deny(ctx, REASON_SOCK_PROTO);
}
