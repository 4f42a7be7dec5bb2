// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>

#include "enforce/nft_expr.h"
#include "enforce/nft_netlink.h"

/* nft(8)'s datatype ids and byte order tags; `nft list` uses them to print set elements. */
#define NFT_DATATYPE_INET_SERVICE  13
#define NFT_DATATYPE_ICMP6_TYPE    29
#define NFT_UDATA_BIG_ENDIAN       2
#define NFT_ANON_SET_NAME          "__set%d"  /* the kernel picks the number */
#define NFT_SET_ELEMS_MAX          8

static struct nftnl_expr *nft_expr_add(struct nft_rule_builder *rb, const char *name)
{
	struct nftnl_expr *e;

	if (rb->err)
		return NULL;
	e = nftnl_expr_alloc(name);
	if (!e) {
		rb->err = -ENOMEM;
		return NULL;
	}
	nftnl_rule_add_expr(rb->rule, e);
	return e;
}

static void nft_load_meta(struct nft_rule_builder *rb, uint32_t key)
{
	struct nftnl_expr *e = nft_expr_add(rb, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

static void nft_load_payload(struct nft_rule_builder *rb, uint32_t base, uint32_t offset,
			     uint32_t len)
{
	struct nftnl_expr *e = nft_expr_add(rb, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
}

static void nft_cmp_eq(struct nft_rule_builder *rb, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nft_expr_add(rb, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void nft_match_meta_u8(struct nft_rule_builder *rb, uint32_t key, uint8_t val)
{
	nft_load_meta(rb, key);
	nft_cmp_eq(rb, &val, sizeof(val));
}

/*
 * An anonymous constant set, created in the same batch just before the rule that looks it up. The
 * rule names it by the id, because the kernel only turns "__set%d" into a real name on creation.
 */
static void nft_lookup_anon_set(struct nft_rule_builder *rb, uint32_t key_type, uint32_t key_len,
				const void *elems, unsigned int n)
{
	struct nftnl_udata_buf *udata = NULL;
	struct nftnl_set *set = NULL;
	struct nftnl_expr *lookup;
	struct nlmsghdr *nlh;
	uint32_t id;

	if (rb->err)
		return;
	id = ++rb->batch->set_id;
	set = nftnl_set_alloc();
	udata = nftnl_udata_buf_alloc(64);
	if (!set || !udata) {
		rb->err = -ENOMEM;
		goto out;
	}
	nftnl_set_set_str(set, NFTNL_SET_TABLE, rb->table);
	nftnl_set_set_str(set, NFTNL_SET_NAME, NFT_ANON_SET_NAME);
	nftnl_set_set_u32(set, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(set, NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT);
	nftnl_set_set_u32(set, NFTNL_SET_KEY_TYPE, key_type);
	nftnl_set_set_u32(set, NFTNL_SET_KEY_LEN, key_len);
	nftnl_set_set_u32(set, NFTNL_SET_ID, id);
	nftnl_set_set_u32(set, NFTNL_SET_DESC_SIZE, n);
	if (!nftnl_udata_put_u32(udata, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_UDATA_BIG_ENDIAN)) {
		rb->err = -ENOMEM;
		goto out;
	}
	nftnl_set_set_data(set, NFTNL_SET_USERDATA, nftnl_udata_buf_data(udata),
			   nftnl_udata_buf_len(udata));

	nlh = nft_batch_msg(rb->batch, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL);
	if (!nlh) {
		rb->err = rb->batch->err;
		goto out;
	}
	nftnl_set_nlmsg_build_payload(nlh, set);
	nft_batch_next(rb->batch);

	for (unsigned int i = 0; i < n; i++) {
		struct nftnl_set_elem *elem = nftnl_set_elem_alloc();

		if (!elem) {
			rb->err = -ENOMEM;
			goto out;
		}
		nftnl_set_elem_set(elem, NFTNL_SET_ELEM_KEY, (const char *)elems + i * key_len,
				   key_len);
		nftnl_set_elem_add(set, elem);
	}
	nlh = nft_batch_msg(rb->batch, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL);
	if (!nlh) {
		rb->err = rb->batch->err;
		goto out;
	}
	nftnl_set_elems_nlmsg_build_payload(nlh, set);
	nft_batch_next(rb->batch);
	if (rb->batch->err) {
		rb->err = rb->batch->err;
		goto out;
	}

	lookup = nft_expr_add(rb, "lookup");
	if (!lookup)
		goto out;
	nftnl_expr_set_u32(lookup, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(lookup, NFTNL_EXPR_LOOKUP_SET, NFT_ANON_SET_NAME);
	nftnl_expr_set_u32(lookup, NFTNL_EXPR_LOOKUP_SET_ID, id);
out:
	if (udata)
		nftnl_udata_buf_free(udata);
	if (set)
		nftnl_set_free(set);
}

void nft_rule_begin(struct nft_rule_builder *rb, struct nft_batch *batch, const char *table,
		    const char *chain)
{
	memset(rb, 0, sizeof(*rb));
	rb->batch = batch;
	rb->table = table;
	rb->err = batch->err;
	if (rb->err)
		return;
	rb->rule = nftnl_rule_alloc();
	if (!rb->rule) {
		rb->err = -ENOMEM;
		return;
	}
	nftnl_rule_set_u32(rb->rule, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(rb->rule, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(rb->rule, NFTNL_RULE_CHAIN, chain);
}

int nft_rule_commit(struct nft_rule_builder *rb)
{
	struct nlmsghdr *nlh;

	if (!rb->err) {
		nlh = nft_batch_msg(rb->batch, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
		if (nlh) {
			nftnl_rule_nlmsg_build_payload(nlh, rb->rule);
			nft_batch_next(rb->batch);
		}
		rb->err = rb->batch->err;
	}
	if (rb->rule)
		nftnl_rule_free(rb->rule);
	rb->rule = NULL;
	return rb->err;
}

static void nft_match_meta_u32(struct nft_rule_builder *rb, uint32_t key, uint32_t val)
{
	nft_load_meta(rb, key);
	nft_cmp_eq(rb, &val, sizeof(val));
}

void nft_match_oif(struct nft_rule_builder *rb, uint32_t ifindex)
{
	nft_match_meta_u32(rb, NFT_META_OIF, ifindex);
}

void nft_match_iif(struct nft_rule_builder *rb, uint32_t ifindex)
{
	nft_match_meta_u32(rb, NFT_META_IIF, ifindex);
}

/* Interface names compare as IFNAMSIZ zero-padded bytes, which makes the match exact. */
static void nft_match_meta_ifname(struct nft_rule_builder *rb, uint32_t key, const char *ifname)
{
	char name[IFNAMSIZ] = { 0 };

	if (strlen(ifname) >= sizeof(name)) {
		if (!rb->err)
			rb->err = -EINVAL;
		return;
	}
	memcpy(name, ifname, strlen(ifname));
	nft_load_meta(rb, key);
	nft_cmp_eq(rb, name, sizeof(name));
}

void nft_match_iifname(struct nft_rule_builder *rb, const char *ifname)
{
	nft_match_meta_ifname(rb, NFT_META_IIFNAME, ifname);
}

void nft_match_oifname(struct nft_rule_builder *rb, const char *ifname)
{
	nft_match_meta_ifname(rb, NFT_META_OIFNAME, ifname);
}

void nft_match_ip_addr(struct nft_rule_builder *rb, bool src, uint32_t addr)
{
	nft_match_meta_u8(rb, NFT_META_NFPROTO, NFPROTO_IPV4);
	nft_load_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, src ? 12 : 16, sizeof(addr));
	nft_cmp_eq(rb, &addr, sizeof(addr));
}

void nft_match_ip6_addr(struct nft_rule_builder *rb, bool src, const uint8_t addr[16])
{
	nft_match_meta_u8(rb, NFT_META_NFPROTO, NFPROTO_IPV6);
	nft_load_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, src ? 8 : 24, 16);
	nft_cmp_eq(rb, addr, 16);
}

void nft_match_ports(struct nft_rule_builder *rb, uint8_t l4proto, bool src,
		     const uint16_t *ports, unsigned int n)
{
	uint16_t uniq[NFT_SET_ELEMS_MAX];
	unsigned int nuniq = 0;

	if (n == 0 || n > NFT_SET_ELEMS_MAX) {
		if (!rb->err)
			rb->err = -EINVAL;
		return;
	}
	/* `{ 53, 53 }` would be a duplicate element; the set holds each port once. */
	for (unsigned int i = 0; i < n; i++) {
		bool seen = false;

		for (unsigned int j = 0; j < nuniq; j++)
			seen |= uniq[j] == htons(ports[i]);
		if (!seen)
			uniq[nuniq++] = htons(ports[i]);
	}
	nft_match_meta_u8(rb, NFT_META_L4PROTO, l4proto);
	nft_load_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, src ? 0 : 2, sizeof(uint16_t));
	if (nuniq == 1)
		nft_cmp_eq(rb, &uniq[0], sizeof(uniq[0]));
	else
		nft_lookup_anon_set(rb, NFT_DATATYPE_INET_SERVICE, sizeof(uint16_t), uniq, nuniq);
}

void nft_match_icmpv6_types(struct nft_rule_builder *rb, const uint8_t *types, unsigned int n)
{
	nft_match_meta_u8(rb, NFT_META_NFPROTO, NFPROTO_IPV6);
	nft_match_meta_u8(rb, NFT_META_L4PROTO, IPPROTO_ICMPV6);
	nft_load_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
	nft_lookup_anon_set(rb, NFT_DATATYPE_ICMP6_TYPE, 1, types, n);
}

void nft_stmt_counter(struct nft_rule_builder *rb)
{
	nft_expr_add(rb, "counter");
}

void nft_stmt_verdict(struct nft_rule_builder *rb, int verdict)
{
	struct nftnl_expr *e = nft_expr_add(rb, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
}

void nft_stmt_jump(struct nft_rule_builder *rb, const char *chain)
{
	struct nftnl_expr *e = nft_expr_add(rb, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NFT_JUMP);
	nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}
