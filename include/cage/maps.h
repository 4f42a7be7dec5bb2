/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Keys and values of every pinned map, shared by bpf/ and userspace/. Documented field by field
 * in docs/bpf-maps.md. Addresses are network byte order, ports host byte order, times are
 * CLOCK_BOOTTIME nanoseconds (bpf_ktime_get_boot_ns()).
 */
#ifndef CAGE_MAPS_H
#define CAGE_MAPS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "cage/reasons.h"

#define CAGE_AF_INET   2
#define CAGE_AF_INET6  10
#define CAGE_PROTO_TCP 6
#define CAGE_PROTO_UDP 17

#define CAGE_ORIG_MAX      65536
#define CAGE_DNS_ALLOW_MAX 16384
#define CAGE_PORTS_MAX     1024
#define CAGE_RINGBUF_BYTES (256 * 1024)

/* An IP address. IPv4-mapped IPv6 is always stored as AF_INET: the cage treats it as IPv4. */
struct cage_addr {
	__u8  family;  /* CAGE_AF_INET or CAGE_AF_INET6 */
	__u8  pad[3];
	__u32 ip[4];   /* network order; AF_INET uses ip[0] and leaves the rest zero */
};

/* The single entry of the `config` array map, written by cagectl before any program runs. */
struct cage_config {
	__u32 gw4;           /* host side of the cage veth: where cage-proxy and cage-dns listen */
	__u32 cage4;         /* the cage's own address */
	__u32 gw6[4];
	__u32 cage6[4];
	__u16 proxy_port;    /* transparent listener: the redirect target of every allowed TCP port */
	__u16 explicit_port; /* HTTP_PROXY/HTTPS_PROXY listener, reachable as itself */
	__u16 dns_port;      /* cage-dns, UDP and TCP */
	__u8  ipv6;          /* 1: IPv6 egress (to the proxy and resolver) is allowed */
	__u8  ready;         /* 0 until cagectl has filled every map; until then everything is denied */
	__u64 cgroup_id;
};

enum cage_port_mode {
	PORT_MODE_NONE = 0,
	PORT_MODE_INSPECT = 1,     /* TLS terminated / HTTP parsed by cage-proxy */
	PORT_MODE_PASSTHROUGH = 2, /* cage-proxy splices, policy on SNI or dns_allow */
	PORT_MODE_DNS = 3,         /* port 53, to cage-dns */
};

/* `ports` map: which TCP ports the cage may open, and how cage-proxy treats them. */
struct cage_port_key {
	__u16 port;
	__u8  proto;  /* CAGE_PROTO_TCP */
	__u8  pad;
};

struct cage_port_policy {
	__u32 mode;   /* enum cage_port_mode */
};

/*
 * What the agent asked for before the redirect. Written by connect4/6 and sendmsg4/6 keyed by
 * socket cookie (`sock_orig`), then re-keyed by sockops under the client 4-tuple (`orig_dst`)
 * so that cage-proxy can find it from accept()'s peer address.
 */
struct cage_orig {
	struct cage_addr dst;
	__u16 dport;
	__u8  proto;
	__u8  mode;        /* enum cage_port_mode */
	__u32 pid;         /* tgid that called connect()/sendmsg() */
	__u32 uid;
	char  comm[16];
	__u64 ts_ns;
};

/* Key of `orig_dst`: the connection as cage-proxy sees it from accept(). */
struct cage_tuple {
	struct cage_addr client;
	__u16 client_port;
	__u16 server_port;
};

/* `dns_allow`: an address cage-dns answered for an allowed name, until it expires. */
struct cage_dns_allow {
	__u32 name_id;     /* cage-dns's id of the name; 0 is never used */
	__u32 pad;
	__u64 expires_ns;  /* CLOCK_BOOTTIME */
};

/* `stats`: one counter per reason. */
struct cage_stat {
	__u64 count;
};

enum cage_event_verdict {
	VERDICT_DENY = 0,
	VERDICT_REDIRECT = 1,
};

/* One record of the `events` ring buffer. */
struct cage_event {
	__u64 ts_ns;       /* CLOCK_BOOTTIME */
	__u32 reason;      /* enum cage_reason */
	__u32 pid;         /* 0 where the hook does not know it (skb hooks) */
	__u32 uid;         /* (__u32)-1 where unknown */
	__u8  family;      /* CAGE_AF_INET/6, of the destination */
	__u8  proto;       /* IPPROTO_* of the socket or packet */
	__u16 dport;
	struct cage_addr dst;
	__u32 sock_type;   /* SOCK_* for sock_create events */
	__u8  verdict;     /* enum cage_event_verdict */
	__u8  pad[3];
	char  comm[16];
};

#ifndef __VMLINUX_H__
_Static_assert(sizeof(struct cage_addr) == 20, "cage_addr layout is shared with BPF");
_Static_assert(sizeof(struct cage_config) == 56, "cage_config layout is shared with BPF");
_Static_assert(sizeof(struct cage_port_key) == 4, "cage_port_key layout is shared with BPF");
_Static_assert(sizeof(struct cage_orig) == 56, "cage_orig layout is shared with BPF");
_Static_assert(sizeof(struct cage_tuple) == 24, "cage_tuple layout is shared with BPF");
_Static_assert(sizeof(struct cage_dns_allow) == 16, "cage_dns_allow layout is shared with BPF");
_Static_assert(sizeof(struct cage_event) == 72, "cage_event layout is shared with BPF");
#endif

#endif
