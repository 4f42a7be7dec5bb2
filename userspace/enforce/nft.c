// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "enforce/nft.h"
#include "enforce/nft_netlink.h"
#include "enforce/nft_rules.h"

/* Sends a closed batch to the netns; the kernel applies all of it or none of it. */
static int nft_batch_commit(int netns_fd, struct nft_batch *batch)
{
	struct mnl_socket *nl;
	int err;

	err = nft_batch_close(batch);
	if (err)
		return err;
	err = nft_sock_open(netns_fd, &nl);
	if (err)
		return err;
	err = nft_sock_send_batch(nl, batch);
	mnl_socket_close(nl);
	return err;
}

int nft_cage_apply(int netns_fd, const struct nft_cage_spec *spec, bool inside)
{
	struct nft_batch batch;
	int err;

	err = nft_spec_check(spec);
	if (err)
		return err;
	err = nft_batch_init(&batch);
	if (err)
		return err;
	err = nft_build_table(&batch, spec, inside, NULL);
	if (!err)
		err = nft_batch_commit(netns_fd, &batch);
	nft_batch_fini(&batch);
	return err;
}

int nft_cage_remove(int netns_fd, const char *name, bool inside)
{
	char table_name[NFT_TABLE_NAME_MAX];
	struct nftnl_table *table = NULL;
	struct nft_batch batch;
	struct nlmsghdr *nlh;
	int err;

	err = nft_table_name(table_name, sizeof(table_name), name, inside);
	if (err)
		return err;
	err = nft_batch_init(&batch);
	if (err)
		return err;
	table = nftnl_table_alloc();
	if (!table) {
		err = -ENOMEM;
		goto out;
	}
	nftnl_table_set_str(table, NFTNL_TABLE_NAME, table_name);
	nftnl_table_set_u32(table, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	/* Deleting a table takes its chains, rules and sets with it in the same transaction. */
	nlh = nft_batch_msg(&batch, NFT_MSG_DELTABLE, 0);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, table);
		nft_batch_next(&batch);
	}
	err = nft_batch_commit(netns_fd, &batch);
out:
	if (table)
		nftnl_table_free(table);
	nft_batch_fini(&batch);
	return err;
}

struct nft_verify_ctx {
	const struct nft_table_shape *want;
	uint32_t rules[NFT_CHAINS_MAX];
	bool chain_seen[NFT_CHAINS_MAX];
	bool mismatch;
};

static int nft_shape_chain_index(const struct nft_table_shape *shape, const char *name)
{
	for (unsigned int i = 0; i < shape->nchains; i++)
		if (name && strcmp(shape->chains[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int nft_table_seen_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

static int nft_verify_chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nft_verify_ctx *ctx = data;
	const struct nft_chain_shape *want;
	struct nftnl_chain *chain;
	const char *type;
	int i;

	chain = nftnl_chain_alloc();
	if (!chain) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_chain_nlmsg_parse(nlh, chain) < 0) {
		nftnl_chain_free(chain);
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	if (strcmp(nftnl_chain_get_str(chain, NFTNL_CHAIN_TABLE) ?: "", ctx->want->name) != 0)
		goto out;
	i = nft_shape_chain_index(ctx->want, nftnl_chain_get_str(chain, NFTNL_CHAIN_NAME));
	if (i < 0 || ctx->chain_seen[i]) {
		ctx->mismatch = true;
		goto out;
	}
	ctx->chain_seen[i] = true;
	want = &ctx->want->chains[i];
	type = nftnl_chain_get_str(chain, NFTNL_CHAIN_TYPE);
	if (!nftnl_chain_is_set(chain, NFTNL_CHAIN_HOOKNUM) ||
	    nftnl_chain_get_u32(chain, NFTNL_CHAIN_HOOKNUM) != want->hooknum ||
	    nftnl_chain_get_s32(chain, NFTNL_CHAIN_PRIO) != want->prio ||
	    nftnl_chain_get_u32(chain, NFTNL_CHAIN_POLICY) != want->policy ||
	    !type || strcmp(type, "filter") != 0)
		ctx->mismatch = true;
out:
	nftnl_chain_free(chain);
	return MNL_CB_OK;
}

static int nft_verify_rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nft_verify_ctx *ctx = data;
	struct nftnl_rule *rule;
	int i;

	rule = nftnl_rule_alloc();
	if (!rule) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_rule_nlmsg_parse(nlh, rule) < 0) {
		nftnl_rule_free(rule);
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	if (strcmp(nftnl_rule_get_str(rule, NFTNL_RULE_TABLE) ?: "", ctx->want->name) == 0) {
		i = nft_shape_chain_index(ctx->want, nftnl_rule_get_str(rule, NFTNL_RULE_CHAIN));
		if (i < 0)
			ctx->mismatch = true;
		else
			ctx->rules[i]++;
	}
	nftnl_rule_free(rule);
	return MNL_CB_OK;
}

int nft_cage_verify(int netns_fd, const struct nft_cage_spec *spec, bool inside)
{
	struct nft_table_shape want;
	struct nft_verify_ctx ctx = { .want = &want };
	struct mnl_socket *nl = NULL;
	struct nft_batch batch;
	int err;

	/* The shape comes from the same builder apply uses, so the two cannot drift apart. */
	err = nft_batch_init(&batch);
	if (err)
		return err;
	err = nft_build_table(&batch, spec, inside, &want);
	nft_batch_fini(&batch);
	if (err)
		return err;

	err = nft_sock_open(netns_fd, &nl);
	if (err)
		return err;
	err = nft_sock_request(nl, NFT_MSG_GETTABLE, NLM_F_ACK, want.name, nft_table_seen_cb, NULL);
	if (err)
		goto out;
	err = nft_sock_request(nl, NFT_MSG_GETCHAIN, NLM_F_DUMP, want.name, nft_verify_chain_cb,
			       &ctx);
	if (err)
		goto out;
	err = nft_sock_request(nl, NFT_MSG_GETRULE, NLM_F_DUMP, want.name, nft_verify_rule_cb,
			       &ctx);
	if (err)
		goto out;
	for (unsigned int i = 0; i < want.nchains; i++)
		if (!ctx.chain_seen[i] || ctx.rules[i] != want.chains[i].rules)
			ctx.mismatch = true;
	err = ctx.mismatch ? -EPROTO : 0;
out:
	mnl_socket_close(nl);
	return err;
}
