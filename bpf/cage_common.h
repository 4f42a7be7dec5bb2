/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Maps and small workers shared by every hook family. Each hook family file includes this file and
 * bpftool links the objects into one, so the maps are declared __weak: identical definitions
 * that the linker merges into one map of each name.
 */
#ifndef CAGE_BPF_COMMON_H
#define CAGE_BPF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "cage/maps.h"

#define AF_INET   2
#define AF_INET6  10
#define SOCK_STREAM 1
#define SOCK_DGRAM  2
#define SOCK_RAW    3
#define IPPROTO_ICMP_   1
#define IPPROTO_TCP_    6
#define IPPROTO_UDP_    17
#define IPPROTO_ICMPV6_ 58
#define ETH_P_IP_   0x0800
#define ETH_P_IPV6_ 0x86DD

#define SK_DENY  0
#define SK_ALLOW 1

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cage_config);
} cage_config_map SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CAGE_PORTS_MAX);
	__type(key, struct cage_port_key);
	__type(value, struct cage_port_policy);
} ports SEC(".maps") __weak;

/* What each cage socket asked for, freed with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cage_orig);
} sock_orig SEC(".maps") __weak;

/* The same, keyed by the connection as cage-proxy sees it after accept(). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CAGE_ORIG_MAX);
	__type(key, struct cage_tuple);
	__type(value, struct cage_orig);
} orig_dst SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CAGE_DNS_ALLOW_MAX);
	__type(key, struct cage_addr);
	__type(value, struct cage_dns_allow);
} dns_allow SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, REASON_MAX);
	__type(key, enum cage_reason);
	__type(value, struct cage_stat);
} stats SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, CAGE_RINGBUF_BYTES);
} events SEC(".maps") __weak;

static __always_inline struct cage_config *cage_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cage_config_map, &zero);
}

static __always_inline void stat_bump(enum cage_reason reason)
{
	struct cage_stat *st, one = { .count = 1 };

	st = bpf_map_lookup_elem(&stats, &reason);
	if (st) {
		__sync_fetch_and_add(&st->count, 1);
		return;
	}
	/* cagectl pre-fills every reason; this only runs if someone deleted an entry. */
	bpf_map_update_elem(&stats, &reason, &one, BPF_NOEXIST);
}

/* Reserves an event with the common fields set, or counts it as lost. */
static __always_inline struct cage_event *event_new(enum cage_reason reason, __u8 verdict)
{
	struct cage_event *ev;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		stat_bump(REASON_EVENT_LOST);
		return NULL;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_boot_ns();
	ev->reason = reason;
	ev->verdict = verdict;
	ev->uid = (__u32)-1;
	return ev;
}

static __always_inline void event_set_task(struct cage_event *ev)
{
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
}

/* IPv4 ranges that are never a destination outside the cage (network order in, host order math). */
static __always_inline bool ip4_is_private(__u32 addr_be)
{
	__u32 a = bpf_ntohl(addr_be);

	return (a >> 24) == 0 ||              /* 0.0.0.0/8 */
	       (a >> 24) == 10 ||             /* 10/8 */
	       (a >> 24) == 127 ||            /* loopback (callers allow in-cage loopback first) */
	       (a & 0xffc00000) == 0x64400000 || /* 100.64/10 CGNAT */
	       (a & 0xffff0000) == 0xa9fe0000 || /* 169.254/16 link-local, cloud metadata */
	       (a & 0xfff00000) == 0xac100000 || /* 172.16/12 */
	       (a & 0xffff0000) == 0xc0a80000 || /* 192.168/16 */
	       (a & 0xffffff00) == 0xc0000000 || /* 192.0.0/24 */
	       (a & 0xfffe0000) == 0xc6120000 || /* 198.18/15 benchmarking */
	       (a >> 28) >= 14;                  /* 224/4 multicast, 240/4, broadcast */
}

static __always_inline bool ip6_is_private(const __u32 ip[4])
{
	__u32 w0 = bpf_ntohl(ip[0]);

	if (ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && (ip[3] == 0 || ip[3] == bpf_htonl(1)))
		return true;                       /* :: and ::1 */
	return (w0 & 0xfe000000) == 0xfc000000 || /* fc00::/7 unique local */
	       (w0 & 0xffc00000) == 0xfe800000 || /* fe80::/10 link-local */
	       (w0 >> 24) == 0xff ||              /* multicast */
	       (w0 == 0x0064ff9b);                /* 64:ff9b::/96 NAT64 can reach anything v4 */
}

static __always_inline bool ip6_is_v4mapped(const __u32 ip[4])
{
	return ip[0] == 0 && ip[1] == 0 && ip[2] == bpf_htonl(0xffff);
}

static __always_inline bool ip6_eq(const __u32 a[4], const __u32 b[4])
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static __always_inline bool dns_allow_has(const struct cage_addr *key)
{
	struct cage_dns_allow *v = bpf_map_lookup_elem(&dns_allow, key);

	return v && v->expires_ns > bpf_ktime_get_boot_ns();
}

static __always_inline __u32 port_mode(__u16 port, __u8 proto)
{
	struct cage_port_key key = { .port = port, .proto = proto };
	struct cage_port_policy *pol = bpf_map_lookup_elem(&ports, &key);

	return pol ? pol->mode : PORT_MODE_NONE;
}

#endif
