// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft/cage.nft and nft/host.nft, rule for rule. Keep the order of rules here and in those files
 * the same: tests/integration/nft_rules.sh compares `nft list` of both.
 *
 * Nothing here matches on conntrack state. A `ct state established accept` would let a flow that
 * was open before the table existed live on (escapes.md S35); every rule is decided by addresses,
 * ports and interfaces of the packet itself.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/table.h>

#include "enforce/nft_expr.h"
#include "enforce/nft_netlink.h"
#include "enforce/nft_rules.h"

/* The loopback device has ifindex 1 in every network namespace. */
#define NFT_LOOPBACK_IFINDEX  1
#define NFT_HOST_PRIORITY     (-10)  /* before the host's own filter chains at priority 0 */
#define NFT_FAIL_CHAIN        "cagectl-test-missing-chain"

unsigned int nft_test_fail_at_rule;

struct nft_table_ctx {
	struct nft_batch *batch;
	const struct nft_cage_spec *spec;
	struct nft_table_shape *shape;
	struct nft_chain_shape *chain;  /* the chain rules are being added to */
	unsigned int rules_built;
};

static bool nft_name_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strlen(name);
	if (len == 0 || len > NFT_NAME_MAX || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* Stricter than the kernel: the name also ends up quoted in nft(8) listings and files. */
static bool nft_ifname_valid(const char *ifname)
{
	size_t len;

	if (!ifname)
		return false;
	len = strlen(ifname);
	if (len == 0 || len >= 16)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = ifname[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

int nft_spec_check(const struct nft_cage_spec *spec)
{
	static const uint8_t unspecified6[16];

	if (!spec || !nft_name_valid(spec->name) || !nft_ifname_valid(spec->host_ifname))
		return -EINVAL;
	if (!spec->proxy_port || !spec->explicit_port || !spec->dns_port || !spec->gw4)
		return -EINVAL;
	if (spec->ipv6 && memcmp(spec->gw6, unspecified6, sizeof(unspecified6)) == 0)
		return -EINVAL;
	return 0;
}

int nft_table_name(char *buf, size_t len, const char *name, bool inside)
{
	int n;

	if (inside)
		n = snprintf(buf, len, "%s", NFT_CAGE_TABLE);
	else if (nft_name_valid(name))
		n = snprintf(buf, len, "%s%s", NFT_HOST_TABLE_PREFIX, name);
	else
		return -EINVAL;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int nft_add_table(struct nft_batch *batch, const char *name)
{
	struct nftnl_table *table = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!table)
		return -ENOMEM;
	nftnl_table_set_str(table, NFTNL_TABLE_NAME, name);
	nftnl_table_set_u32(table, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	/* EXCL: an existing table is an error for the caller to decide on, never adopted. */
	nlh = nft_batch_msg(batch, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, table);
		nft_batch_next(batch);
	}
	nftnl_table_free(table);
	return batch->err;
}

static int nft_add_chain(struct nft_table_ctx *ctx, const char *name, uint32_t hooknum,
			 int32_t prio, uint32_t policy)
{
	struct nft_table_shape *shape = ctx->shape;
	struct nft_chain_shape *c;
	struct nftnl_chain *chain;
	struct nlmsghdr *nlh;

	if (shape->nchains >= NFT_CHAINS_MAX)
		return -E2BIG;
	c = &shape->chains[shape->nchains++];
	*c = (struct nft_chain_shape){ .name = name, .hooknum = hooknum, .prio = prio,
				       .policy = policy };
	ctx->chain = c;

	chain = nftnl_chain_alloc();
	if (!chain)
		return -ENOMEM;
	nftnl_chain_set_str(chain, NFTNL_CHAIN_TABLE, shape->name);
	nftnl_chain_set_str(chain, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(chain, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(chain, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(chain, NFTNL_CHAIN_HOOKNUM, hooknum);
	nftnl_chain_set_s32(chain, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(chain, NFTNL_CHAIN_POLICY, policy);
	nlh = nft_batch_msg(ctx->batch, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, chain);
		nft_batch_next(ctx->batch);
	}
	nftnl_chain_free(chain);
	return ctx->batch->err;
}

static void nft_rule_start(struct nft_table_ctx *ctx, struct nft_rule_builder *rb)
{
	nft_rule_begin(rb, ctx->batch, ctx->shape->name, ctx->chain->name);
}

static int nft_rule_end(struct nft_table_ctx *ctx, struct nft_rule_builder *rb)
{
	if (nft_test_fail_at_rule && ++ctx->rules_built == nft_test_fail_at_rule) {
		nft_test_fail_at_rule = 0;
		nft_stmt_jump(rb, NFT_FAIL_CHAIN);
	}
	ctx->chain->rules++;
	return nft_rule_commit(rb);
}

/* oif "lo" accept / iif "lo" accept */
static int nft_rule_loopback(struct nft_table_ctx *ctx, bool input)
{
	struct nft_rule_builder rb;

	nft_rule_start(ctx, &rb);
	if (input)
		nft_match_iif(&rb, NFT_LOOPBACK_IFINDEX);
	else
		nft_match_oif(&rb, NFT_LOOPBACK_IFINDEX);
	nft_stmt_verdict(&rb, NF_ACCEPT);
	return nft_rule_end(ctx, &rb);
}

/*
 * The proxy and resolver on the gateway, per family:
 *   [iifname IF] ip daddr GW tcp dport { PROXY, EXPLICIT, DNS } accept
 *   [iifname IF] ip daddr GW udp dport DNS accept
 * reply=true matches the replies coming back instead (saddr, sport).
 */
static int nft_rules_gateway(struct nft_table_ctx *ctx, const char *iifname, bool reply)
{
	const struct nft_cage_spec *spec = ctx->spec;
	const uint16_t tcp_ports[] = { spec->proxy_port, spec->explicit_port, spec->dns_port };
	const uint8_t l4protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	int families = spec->ipv6 ? 2 : 1;
	int err;

	for (int f = 0; f < families; f++) {
		for (size_t p = 0; p < sizeof(l4protos); p++) {
			struct nft_rule_builder rb;

			nft_rule_start(ctx, &rb);
			if (iifname)
				nft_match_iifname(&rb, iifname);
			if (f == 0)
				nft_match_ip_addr(&rb, reply, spec->gw4);
			else
				nft_match_ip6_addr(&rb, reply, spec->gw6);
			if (l4protos[p] == IPPROTO_TCP)
				nft_match_ports(&rb, IPPROTO_TCP, reply, tcp_ports, 3);
			else
				nft_match_ports(&rb, IPPROTO_UDP, reply, &spec->dns_port, 1);
			nft_stmt_verdict(&rb, NF_ACCEPT);
			err = nft_rule_end(ctx, &rb);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Neighbour discovery, without which IPv6 on the veth cannot resolve the gateway. */
static int nft_rule_icmpv6_nd(struct nft_table_ctx *ctx, const char *iifname, bool input)
{
	static const uint8_t sent[] = { ND_ROUTER_SOLICIT, ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT };
	static const uint8_t received[] = { ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT };
	struct nft_rule_builder rb;

	if (!ctx->spec->ipv6)
		return 0;
	nft_rule_start(ctx, &rb);
	if (iifname)
		nft_match_iifname(&rb, iifname);
	if (input)
		nft_match_icmpv6_types(&rb, received, sizeof(received));
	else
		nft_match_icmpv6_types(&rb, sent, sizeof(sent));
	nft_stmt_verdict(&rb, NF_ACCEPT);
	return nft_rule_end(ctx, &rb);
}

/* [iifname IF | oifname IF] counter drop: the counter makes every drop visible in `nft list`. */
static int nft_rule_counter_drop(struct nft_table_ctx *ctx, const char *iifname,
				 const char *oifname)
{
	struct nft_rule_builder rb;

	nft_rule_start(ctx, &rb);
	if (iifname)
		nft_match_iifname(&rb, iifname);
	if (oifname)
		nft_match_oifname(&rb, oifname);
	nft_stmt_counter(&rb);
	nft_stmt_verdict(&rb, NF_DROP);
	return nft_rule_end(ctx, &rb);
}

/* nft/cage.nft */
static int nft_build_cage_table(struct nft_table_ctx *ctx)
{
	int err;

	err = nft_add_chain(ctx, "output", NF_INET_LOCAL_OUT, 0, NF_DROP);
	if (!err)
		err = nft_rule_loopback(ctx, false);
	if (!err)
		err = nft_rules_gateway(ctx, NULL, false);
	if (!err)
		err = nft_rule_icmpv6_nd(ctx, NULL, false);
	if (!err)
		err = nft_rule_counter_drop(ctx, NULL, NULL);
	if (err)
		return err;

	err = nft_add_chain(ctx, "input", NF_INET_LOCAL_IN, 0, NF_DROP);
	if (!err)
		err = nft_rule_loopback(ctx, true);
	if (!err)
		err = nft_rules_gateway(ctx, NULL, true);
	if (!err)
		err = nft_rule_icmpv6_nd(ctx, NULL, true);
	if (!err)
		err = nft_rule_counter_drop(ctx, NULL, NULL);
	if (err)
		return err;

	err = nft_add_chain(ctx, "forward", NF_INET_FORWARD, 0, NF_DROP);
	if (!err)
		err = nft_rule_counter_drop(ctx, NULL, NULL);
	return err;
}

/* nft/host.nft: accept policies, so only packets of the cage's veth are touched. */
static int nft_build_host_table(struct nft_table_ctx *ctx)
{
	const char *ifname = ctx->spec->host_ifname;
	int err;

	err = nft_add_chain(ctx, "input", NF_INET_LOCAL_IN, NFT_HOST_PRIORITY, NF_ACCEPT);
	if (!err)
		err = nft_rules_gateway(ctx, ifname, false);
	if (!err)
		err = nft_rule_icmpv6_nd(ctx, ifname, false);
	if (!err)
		err = nft_rule_counter_drop(ctx, ifname, NULL);
	if (err)
		return err;

	err = nft_add_chain(ctx, "forward", NF_INET_FORWARD, NFT_HOST_PRIORITY, NF_ACCEPT);
	if (!err)
		err = nft_rule_counter_drop(ctx, ifname, NULL);
	if (!err)
		err = nft_rule_counter_drop(ctx, NULL, ifname);
	return err;
}

int nft_build_table(struct nft_batch *batch, const struct nft_cage_spec *spec, bool inside,
		    struct nft_table_shape *shape)
{
	struct nft_table_shape local;
	struct nft_table_ctx ctx = { .batch = batch, .spec = spec, .shape = shape ? shape : &local };
	int err;

	err = nft_spec_check(spec);
	if (err)
		return err;
	memset(ctx.shape, 0, sizeof(*ctx.shape));
	err = nft_table_name(ctx.shape->name, sizeof(ctx.shape->name), spec->name, inside);
	if (err)
		return err;
	err = nft_add_table(batch, ctx.shape->name);
	if (err)
		return err;
	return inside ? nft_build_cage_table(&ctx) : nft_build_host_table(&ctx);
}
