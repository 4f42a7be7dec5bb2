// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/common.h>

#include "enforce/netns.h"
#include "enforce/nft_netlink.h"

/* Our batches are a few KiB; the limit only guards against a builder bug. The buffer is twice the
 * limit because libmnl builds the message that crosses the limit past it. */
#define NFT_BATCH_LIMIT (64 * 1024)
/* Kernel dumps can fill up to 32 KiB per recv; a smaller buffer would truncate them. */
#define NFT_RECV_SIZE   (32 * 1024)

int nft_batch_init(struct nft_batch *b)
{
	memset(b, 0, sizeof(*b));
	b->buf = calloc(2, NFT_BATCH_LIMIT);
	if (!b->buf)
		return -ENOMEM;
	b->mnl = mnl_nlmsg_batch_start(b->buf, NFT_BATCH_LIMIT);
	if (!b->mnl) {
		free(b->buf);
		b->buf = NULL;
		return -ENOMEM;
	}
	/* A per-batch starting point keeps acks of an older request on a reused socket apart. */
	b->seq = (uint32_t)time(NULL);
	nftnl_batch_begin(mnl_nlmsg_batch_current(b->mnl), b->seq++);
	mnl_nlmsg_batch_next(b->mnl);
	return 0;
}

void nft_batch_fini(struct nft_batch *b)
{
	if (b->mnl)
		mnl_nlmsg_batch_stop(b->mnl);
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

struct nlmsghdr *nft_batch_msg(struct nft_batch *b, uint16_t type, uint16_t flags)
{
	if (b->err)
		return NULL;
	b->acks++;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->mnl), type, NFPROTO_INET,
				     flags | NLM_F_ACK, b->seq++);
}

void nft_batch_next(struct nft_batch *b)
{
	if (!b->err && !mnl_nlmsg_batch_next(b->mnl))
		b->err = -E2BIG;
}

int nft_batch_close(struct nft_batch *b)
{
	if (b->err)
		return b->err;
	nftnl_batch_end(mnl_nlmsg_batch_current(b->mnl), b->seq++);
	nft_batch_next(b);
	return b->err;
}

int nft_sock_open(int netns_fd, struct mnl_socket **out)
{
	struct mnl_socket *nl;
	int fd, err;

	fd = netns_socket(netns_fd, AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
	if (fd < 0)
		return fd;
	nl = mnl_socket_fdopen(fd);
	if (!nl) {
		err = -errno;
		close(fd);
		return err;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(nl);
		return err;
	}
	*out = nl;
	return 0;
}

/* Counts the acks in one buffer of replies and keeps the first error the kernel reported. */
static void nft_acks_scan(const void *buf, size_t len, uint32_t *acks, int *first_err)
{
	const struct nlmsghdr *nlh = buf;
	int remaining = (int)len;

	while (mnl_nlmsg_ok(nlh, remaining)) {
		if (nlh->nlmsg_type == NLMSG_ERROR &&
		    nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(struct nlmsgerr))) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			(*acks)++;
			if (e->error && !*first_err)
				*first_err = e->error;
		}
		nlh = mnl_nlmsg_next(nlh, &remaining);
	}
}

int nft_sock_send_batch(struct mnl_socket *nl, struct nft_batch *b)
{
	uint32_t acks = 0;
	int first_err = 0, err = 0;
	char *buf;
	ssize_t n;

	buf = malloc(NFT_RECV_SIZE);
	if (!buf)
		return -ENOMEM;
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b->mnl), mnl_nlmsg_batch_size(b->mnl)) < 0) {
		err = -errno;
		goto out;
	}
	/*
	 * nfnetlink runs the whole transaction inside our sendmsg(), so every ack and error is
	 * already queued when it returns: drain without blocking, as nft(8) does. Waiting for a
	 * fixed count instead would hang if a failed batch reports only its failing message.
	 */
	for (;;) {
		n = recv(mnl_socket_get_fd(nl), buf, NFT_RECV_SIZE, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				err = -errno;
			break;
		}
		if (n == 0)
			break;
		nft_acks_scan(buf, (size_t)n, &acks, &first_err);
	}
	if (first_err)
		err = first_err;
	else if (!err && acks < b->acks)
		err = -EPROTO;  /* the kernel ignored part of the batch: do not claim success */
out:
	free(buf);
	return err;
}

int nft_sock_request(struct mnl_socket *nl, uint16_t type, uint16_t flags, const char *table,
		     mnl_cb_t cb, void *data)
{
	uint32_t seq = (uint32_t)time(NULL), portid = mnl_socket_get_portid(nl);
	struct nlmsghdr *nlh;
	char *buf;
	ssize_t n;
	int ret, err = 0;

	buf = malloc(NFT_RECV_SIZE);
	if (!buf)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags, seq);
	if (table) {
		switch (type) {
		case NFT_MSG_GETTABLE:
			mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, table);
			break;
		case NFT_MSG_GETRULE:
			mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table);
			break;
		default:
			break;  /* chain and set dumps are filtered by the caller */
		}
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	do {
		n = mnl_socket_recvfrom(nl, buf, NFT_RECV_SIZE);
		if (n < 0) {
			err = -errno;
			goto out;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
	} while (ret > 0);
	if (ret < 0)
		err = errno ? -errno : -EPROTO;
out:
	free(buf);
	return err;
}
