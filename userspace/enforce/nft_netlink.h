/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The netlink side of the nft layer: an nfnetlink batch in one buffer, a NETLINK_NETFILTER socket
 * opened inside a given netns, and the two ways of talking to it (a batch whose every message is
 * acknowledged, and a dump). Internal to userspace/enforce/nft*.c.
 */
#ifndef CAGE_ENFORCE_NFT_NETLINK_H
#define CAGE_ENFORCE_NFT_NETLINK_H

#include <stdint.h>
#include <libmnl/libmnl.h>

struct nft_batch {
	char *buf;
	struct mnl_nlmsg_batch *mnl;
	uint32_t seq;      /* sequence number of the next message */
	uint32_t acks;     /* messages that ask the kernel for an ack */
	uint32_t set_id;   /* last anonymous set id handed out in this batch */
	int err;           /* first error while building; later messages are not added */
};

/* Opens the batch (writes NFNL_MSG_BATCH_BEGIN). */
int nft_batch_init(struct nft_batch *b);
void nft_batch_fini(struct nft_batch *b);

/*
 * Room for the next message of type NFT_MSG_* (family inet, NLM_F_ACK added), or NULL once the
 * batch has failed. The caller writes the payload and then calls nft_batch_next().
 */
struct nlmsghdr *nft_batch_msg(struct nft_batch *b, uint16_t type, uint16_t flags);
void nft_batch_next(struct nft_batch *b);

/* Writes NFNL_MSG_BATCH_END; returns the first build error, if any. */
int nft_batch_close(struct nft_batch *b);

/* A bound NETLINK_NETFILTER socket living in netns_fd (-1: the calling thread's netns). */
int nft_sock_open(int netns_fd, struct mnl_socket **out);

/* Sends the closed batch and collects every ack; the first error the kernel reports, or 0. */
int nft_sock_send_batch(struct mnl_socket *nl, struct nft_batch *b);

/*
 * Sends one request of type NFT_MSG_GET* for family inet and runs cb on every reply until the
 * kernel is done. table (may be NULL) narrows rule dumps and names the object for plain gets.
 */
int nft_sock_request(struct mnl_socket *nl, uint16_t type, uint16_t flags, const char *table,
		     mnl_cb_t cb, void *data);

#endif
