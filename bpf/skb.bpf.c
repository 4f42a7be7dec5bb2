// SPDX-License-Identifier: GPL-2.0-only
/*
 * cgroup_skb egress and ingress: the per-packet backstop behind the socket hooks. A packet of a
 * cage socket may only go to (or come from) the cage's proxy and resolver ports on the gateway,
 * or stay on the cage's loopback. This also holds for sockets the socket hooks never saw, for
 * example one created before its process joined the cgroup and passed in later.
 */
#include "cage_common.h"

char LICENSE[] SEC("license") = "GPL";

#define IP_OFFSET_MASK 0x1fff

static __always_inline bool port_ok(const struct cage_config *cfg, __u8 proto, __u16 port)
{
	if (proto == IPPROTO_UDP_)
		return port == cfg->dns_port;
	if (proto == IPPROTO_TCP_)
		return port == cfg->proxy_port || port == cfg->explicit_port || port == cfg->dns_port;
	return false;
}

static __always_inline int skb_drop(const struct cage_config *cfg, bool egress, __u8 family,
				    __u8 proto, const __u32 peer[4], __u16 port)
{
	enum cage_reason reason = egress ? REASON_SKB_EGRESS_DROP : REASON_SKB_INGRESS_DROP;
	struct cage_event *ev;

	stat_bump(reason);
	ev = event_new(reason, VERDICT_DENY);
	if (!ev)
		return SK_DENY;
	ev->family = family;
	ev->proto = proto;
	ev->dport = port;
	ev->dst.family = family;
	ev->dst.ip[0] = peer[0];
	ev->dst.ip[1] = peer[1];
	ev->dst.ip[2] = peer[2];
	ev->dst.ip[3] = peer[3];
	bpf_ringbuf_submit(ev, 0);
	return SK_DENY;
}

static __always_inline int skb_check4(struct __sk_buff *skb, const struct cage_config *cfg, bool egress)
{
	__u32 peer[4] = {};
	struct iphdr iph;
	__u16 ports[2];
	__u16 port = 0;

	if (bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)))
		return skb_drop(cfg, egress, CAGE_AF_INET, 0, peer, 0);
	peer[0] = egress ? iph.daddr : iph.saddr;
	if ((bpf_ntohl(peer[0]) >> 24) == 127)
		return SK_ALLOW;
	if (iph.frag_off & bpf_htons(IP_OFFSET_MASK))
		/* A later fragment has no ports; its first fragment was checked. */
		return peer[0] == cfg->gw4 ? SK_ALLOW : skb_drop(cfg, egress, CAGE_AF_INET, iph.protocol, peer, 0);
	if ((iph.protocol == IPPROTO_TCP_ || iph.protocol == IPPROTO_UDP_) &&
	    !bpf_skb_load_bytes(skb, iph.ihl * 4, ports, sizeof(ports)))
		port = bpf_ntohs(egress ? ports[1] : ports[0]);
	if (peer[0] == cfg->gw4 && port_ok(cfg, iph.protocol, port))
		return SK_ALLOW;
	return skb_drop(cfg, egress, CAGE_AF_INET, iph.protocol, peer, port);
}

static __always_inline int skb_check6(struct __sk_buff *skb, const struct cage_config *cfg, bool egress)
{
	struct ipv6hdr ip6h;
	__u32 peer[4] = {};
	__u16 ports[2];
	__u16 port = 0;

	if (bpf_skb_load_bytes(skb, 0, &ip6h, sizeof(ip6h)))
		return skb_drop(cfg, egress, CAGE_AF_INET6, 0, peer, 0);
	__builtin_memcpy(peer, egress ? &ip6h.daddr : &ip6h.saddr, sizeof(peer));
	if (peer[0] == 0 && peer[1] == 0 && peer[2] == 0 && peer[3] == bpf_htonl(1))
		return SK_ALLOW;
	if (ip6_is_v4mapped(peer) && (bpf_ntohl(peer[3]) >> 24) == 127)
		return SK_ALLOW;
	/* Extension headers are not walked: a cage has no reason to send them, so they drop. */
	if ((ip6h.nexthdr == IPPROTO_TCP_ || ip6h.nexthdr == IPPROTO_UDP_) &&
	    !bpf_skb_load_bytes(skb, sizeof(ip6h), ports, sizeof(ports)))
		port = bpf_ntohs(egress ? ports[1] : ports[0]);
	if (cfg->ipv6 && ip6_eq(peer, cfg->gw6) && port_ok(cfg, ip6h.nexthdr, port))
		return SK_ALLOW;
	return skb_drop(cfg, egress, CAGE_AF_INET6, ip6h.nexthdr, peer, port);
}

static __always_inline int skb_check(struct __sk_buff *skb, bool egress)
{
	struct cage_config *cfg = cage_cfg();

	if (!cfg || !cfg->ready) {
		stat_bump(REASON_NOT_READY);
		return SK_DENY;
	}
	if (skb->protocol == bpf_htons(ETH_P_IP_))
		return skb_check4(skb, cfg, egress);
	if (skb->protocol == bpf_htons(ETH_P_IPV6_))
		return skb_check6(skb, cfg, egress);
	stat_bump(egress ? REASON_SKB_EGRESS_DROP : REASON_SKB_INGRESS_DROP);
	return SK_DENY;
}

SEC("cgroup_skb/egress")
int skb_egress(struct __sk_buff *skb)
{
	return skb_check(skb, true);
}

SEC("cgroup_skb/ingress")
int skb_ingress(struct __sk_buff *skb)
{
	return skb_check(skb, false);
}
