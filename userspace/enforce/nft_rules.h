/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The two cage rulesets as batch builders (nft/cage.nft and nft/host.nft in C), and the shape
 * each one has: its chains and how many rules each holds, which nft_cage_verify() compares with
 * what the kernel lists. Internal to userspace/enforce/nft*.c and its unit test.
 */
#ifndef CAGE_ENFORCE_NFT_RULES_H
#define CAGE_ENFORCE_NFT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enforce/nft.h"

#define NFT_NAME_MAX        63
#define NFT_TABLE_NAME_MAX  (sizeof(NFT_HOST_TABLE_PREFIX) + NFT_NAME_MAX)
#define NFT_CHAINS_MAX      3

struct nft_batch;

struct nft_chain_shape {
	const char *name;
	uint32_t hooknum;  /* NF_INET_* */
	int32_t prio;
	uint32_t policy;   /* NF_ACCEPT or NF_DROP */
	uint32_t rules;
};

struct nft_table_shape {
	char name[NFT_TABLE_NAME_MAX];
	unsigned int nchains;
	struct nft_chain_shape chains[NFT_CHAINS_MAX];
};

/* -EINVAL unless name and host_ifname are well formed and every port is non-zero. */
int nft_spec_check(const struct nft_cage_spec *spec);

/* "cagectl" inside the cage, "cagectl_<name>" on the host; -EINVAL for a malformed name. */
int nft_table_name(char *buf, size_t len, const char *name, bool inside);

/* Adds the table, its chains, sets and rules to batch; fills shape (which may be NULL). */
int nft_build_table(struct nft_batch *batch, const struct nft_cage_spec *spec, bool inside,
		    struct nft_table_shape *shape);

/*
 * Test hook: when non-zero, rule number N (1-based) of the next build jumps to a chain that does
 * not exist, so the kernel rejects the batch half way through. Tests use it to prove atomicity.
 */
extern unsigned int nft_test_fail_at_rule;

#endif
