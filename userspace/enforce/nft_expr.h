/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rule building blocks that emit the same bytecode nft(8) emits for the matching nft syntax, so
 * that `nft list` prints a C-built rule exactly like its line in nft/cage.nft or nft/host.nft.
 * Errors are sticky in the builder: after the first failure every call is a no-op and
 * nft_rule_commit() reports it. Internal to the nft files of userspace/enforce.
 */
#ifndef CAGE_ENFORCE_NFT_EXPR_H
#define CAGE_ENFORCE_NFT_EXPR_H

#include <stdbool.h>
#include <stdint.h>

struct nft_batch;
struct nftnl_rule;

struct nft_rule_builder {
	struct nft_batch *batch;
	const char *table;
	struct nftnl_rule *rule;
	int err;
};

void nft_rule_begin(struct nft_rule_builder *rb, struct nft_batch *batch, const char *table,
		    const char *chain);
/* Appends the rule to the batch (NFT_MSG_NEWRULE) and frees it; returns the first error. */
int nft_rule_commit(struct nft_rule_builder *rb);

void nft_match_oif(struct nft_rule_builder *rb, uint32_t ifindex);             /* oif "lo" */
void nft_match_iif(struct nft_rule_builder *rb, uint32_t ifindex);             /* iif "lo" */
void nft_match_iifname(struct nft_rule_builder *rb, const char *ifname);       /* iifname "x" */
void nft_match_oifname(struct nft_rule_builder *rb, const char *ifname);       /* oifname "x" */
void nft_match_ip_addr(struct nft_rule_builder *rb, bool src, uint32_t addr);  /* ip daddr A */
void nft_match_ip6_addr(struct nft_rule_builder *rb, bool src, const uint8_t addr[16]);
/* tcp|udp dport P, or dport { P1, P2 } through an anonymous set when ports differ. */
void nft_match_ports(struct nft_rule_builder *rb, uint8_t l4proto, bool src,
		     const uint16_t *ports, unsigned int n);
/* icmpv6 type { T1, T2 } */
void nft_match_icmpv6_types(struct nft_rule_builder *rb, const uint8_t *types, unsigned int n);

void nft_stmt_counter(struct nft_rule_builder *rb);
void nft_stmt_verdict(struct nft_rule_builder *rb, int verdict);          /* NF_ACCEPT, NF_DROP */
/* `jump CHAIN`: used only to make a batch fail on purpose in tests. */
void nft_stmt_jump(struct nft_rule_builder *rb, const char *chain);

#endif
