/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The nftables backstop of a cage: two stateless tables, each written as one atomic libnftnl
 * batch. Inside the cage netns, `table inet cagectl` lets the cage talk only to the proxy and
 * resolver ports on the gateway addresses; on the host, `table inet cagectl_<name>` does the same
 * for packets arriving from the cage's veth and drops anything forwarded to or from it.
 * nft/cage.nft and nft/host.nft are the readable form of exactly these rules.
 *
 * Every function returns 0 on success and a negative errno on failure; none of them prints.
 */
#ifndef CAGE_ENFORCE_NFT_H
#define CAGE_ENFORCE_NFT_H

#include <stdbool.h>
#include <stdint.h>

#define NFT_CAGE_TABLE       "cagectl"
#define NFT_HOST_TABLE_PREFIX "cagectl_"

struct nft_cage_spec {
	const char *name;         /* cage name, ^[a-z0-9][a-z0-9-]{0,62}$ */
	const char *host_ifname;  /* host end of the veth */
	uint32_t gw4, cage4;      /* network byte order */
	uint8_t gw6[16], cage6[16];
	bool ipv6;                /* false: no IPv6 accept rule at all (IPv6 is then dropped) */
	uint16_t proxy_port, explicit_port, dns_port;  /* host byte order */
};

/*
 * inside=true: `table inet cagectl` in netns_fd; false: `table inet cagectl_<name>` in netns_fd.
 * netns_fd -1 means the calling thread's netns. The table is created with NLM_F_EXCL in the same
 * batch as its chains, sets and rules, so on error nothing of it is left, and an existing table is
 * never adopted: -EEXIST. -EINVAL for a spec that fails validation.
 */
int nft_cage_apply(int netns_fd, const struct nft_cage_spec *spec, bool inside);

/* Deletes the table with everything in it; -ENOENT if it does not exist. */
int nft_cage_remove(int netns_fd, const char *name, bool inside);

/*
 * A cheap structural check: 0 if the table exists with exactly the chains (type, hook, priority,
 * policy) and per-chain rule counts that nft_cage_apply() would create for spec. -ENOENT if the
 * table is missing, -EPROTO if it differs.
 */
int nft_cage_verify(int netns_fd, const struct nft_cage_spec *spec, bool inside);

#endif
