/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading what nftables `log group N` statements send to userspace (nfnetlink_log), so the
 * nftables-only mode of a cage can audit each packet it turns away as the BPF programs would.
 * Only the packet's headers are copied. Functions return 0 or -errno.
 */
#ifndef CAGE_ENFORCE_NFLOG_H
#define CAGE_ENFORCE_NFLOG_H

#include <stdbool.h>
#include <stdint.h>

struct nflog;

/* One logged packet, as far as its headers say. */
struct nflog_packet {
	int family;            /* AF_INET or AF_INET6 */
	uint8_t proto;         /* IPPROTO_* */
	uint8_t dst[16];       /* 4 bytes for AF_INET */
	uint16_t dport;        /* host order; 0 when not TCP/UDP */
	bool has_uid;
	uint32_t uid;
	char prefix[64];
};

/* Binds to `group` in netns_fd (-1: ours). */
int nflog_open(int netns_fd, uint16_t group, struct nflog **out);
int nflog_fd(const struct nflog *l);
/* Reads what is pending (non-blocking) and calls cb for each packet. */
int nflog_drain(struct nflog *l, void (*cb)(const struct nflog_packet *p, void *arg), void *arg);
void nflog_close(struct nflog *l);

#endif
