/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every reason the kernel layer can count or report, in one enum. The stats map is keyed by
 * this enum (with BTF), so `bpftool map dump pinned .../stats` prints these names.
 * Userspace turns them into audit strings with cage_reason_name().
 * Append only: the numbers are stored in pinned maps and audit logs.
 */
#ifndef CAGE_REASONS_H
#define CAGE_REASONS_H

enum cage_reason {
	REASON_NONE = 0,
	REASON_REDIRECT_PROXY,        /* TCP to an inspected/passthrough port: sent to cage-proxy */
	REASON_REDIRECT_DNS,          /* port 53 (UDP or TCP): sent to cage-dns */
	REASON_TCP_PORT_DENIED,       /* TCP to a port that is neither inspected nor passthrough */
	REASON_UDP_DENIED,            /* UDP to anything but port 53 */
	REASON_DST_PRIVATE,           /* loopback/private/link-local/CGNAT/multicast outside the cage */
	REASON_GATEWAY_PORT,          /* the cage gateway on a port that is not proxy or resolver */
	REASON_IPV6_DISABLED,         /* IPv6 egress while the cage has ipv6: false */
	REASON_PASSTHROUGH_UNRESOLVED,/* passthrough port, address never answered by cage-dns */
	REASON_SOCK_RAW,              /* SOCK_RAW socket */
	REASON_SOCK_PROTO,            /* protocol other than TCP/UDP (ICMP ping sockets, SCTP, ...) */
	REASON_SKB_EGRESS_DROP,       /* a packet leaving a cage socket for anything but proxy/dns */
	REASON_SKB_INGRESS_DROP,      /* a packet for a cage socket from anything but proxy/dns */
	REASON_EVENT_LOST,            /* the event ring buffer was full; the event was counted only */
	REASON_NOT_READY,             /* any socket call before cagectl finished filling the maps */
	REASON_PROTO_DENIED,          /* sock_addr call on a socket that is neither TCP nor UDP */
	REASON_MAX,
};

#endif
