// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "audit/kernel_event.h"
#include "enforce/bpf_loader.h"

static const char *proto_name(unsigned proto, char *buf, size_t len)
{
	switch (proto) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "icmpv6";
	case 132: return "sctp";
	case 136: return "udplite";
	case 255: return "raw";
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}

static const char *sock_type_name(unsigned type)
{
	switch (type) {
	case 1: return "stream";
	case 2: return "dgram";
	case 3: return "raw";
	case 5: return "seqpacket";
	}
	return "other";
}

int audit_kernel_event(struct audit_log *log, const struct cage_event *ev)
{
	char addr[INET6_ADDRSTRLEN], proto[16], comm[17];
	const char *reason = cage_reason_name(ev->reason);
	bool sock_event = ev->reason == REASON_SOCK_RAW || ev->reason == REASON_SOCK_PROTO;
	struct json_buf *jb;

	jb = audit_begin(log, "kernel", cage_reason_event(ev->reason), "blocked", reason);
	if (!jb)
		return 0;
	jb_str(jb, "reason", reason);
	jb_str(jb, "proto", proto_name(ev->proto, proto, sizeof(proto)));
	jb_str(jb, "family", ev->family == CAGE_AF_INET6 ? "ipv6" : "ipv4");
	if (sock_event) {
		jb_str(jb, "sock_type", sock_type_name(ev->sock_type));
	} else {
		if (ev->dst.family == CAGE_AF_INET6)
			inet_ntop(AF_INET6, ev->dst.ip, addr, sizeof(addr));
		else
			inet_ntop(AF_INET, ev->dst.ip, addr, sizeof(addr));
		jb_str(jb, "dst", addr);
		jb_uint(jb, "dport", ev->dport);
	}
	if (ev->pid) {
		memcpy(comm, ev->comm, sizeof(ev->comm));
		comm[16] = '\0';
		jb_uint(jb, "pid", ev->pid);
		jb_str(jb, "comm", comm);
		jb_uint(jb, "uid", ev->uid);
	}
	return audit_commit(log);
}
