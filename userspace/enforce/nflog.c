// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "enforce/netns.h"
#include "enforce/nflog.h"

/* Enough of each packet for its IP and transport headers. */
#define NFLOG_COPY_BYTES 80

struct nflog {
	struct mnl_socket *nl;
	uint16_t group;
};

static int config(struct nflog *l, uint8_t family, const void *attr, uint16_t type, size_t len)
{
	char buf[8192];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	int n;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(l->group);
	mnl_attr_put(nlh, type, len, attr);
	if (mnl_socket_sendto(l->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = (int)mnl_socket_recvfrom(l->nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(l->nl), NULL, NULL) < 0 ? -errno : 0;
}

int nflog_open(int netns_fd, uint16_t group, struct nflog **out)
{
	struct nfulnl_msg_config_cmd bind = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = { .copy_range = htonl(NFLOG_COPY_BYTES),
					       .copy_mode = NFULNL_COPY_PACKET };
	struct nflog *l = calloc(1, sizeof(*l));
	int fd, err;

	if (!l)
		return -ENOMEM;
	l->group = group;
	fd = netns_socket(netns_fd, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0) {
		free(l);
		return fd;
	}
	l->nl = mnl_socket_fdopen(fd);
	if (!l->nl || mnl_socket_bind(l->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		if (!l->nl)
			close(fd);
		goto fail;
	}
	err = config(l, AF_UNSPEC, &bind, NFULA_CFG_CMD, sizeof(bind));
	if (!err)
		err = config(l, AF_UNSPEC, &mode, NFULA_CFG_MODE, sizeof(mode));
	if (err)
		goto fail;
	if (fcntl(mnl_socket_get_fd(l->nl), F_SETFL, O_NONBLOCK)) {
		err = -errno;
		goto fail;
	}
	*out = l;
	return 0;
fail:
	nflog_close(l);
	return err;
}

int nflog_fd(const struct nflog *l)
{
	return mnl_socket_get_fd(l->nl);
}

static void parse_payload(const uint8_t *p, size_t len, struct nflog_packet *pkt)
{
	size_t l4 = 0;

	if (len >= 20 && (p[0] >> 4) == 4) {
		pkt->family = AF_INET;
		pkt->proto = p[9];
		memcpy(pkt->dst, p + 16, 4);
		l4 = (size_t)(p[0] & 0x0f) * 4;
	} else if (len >= 40 && (p[0] >> 4) == 6) {
		pkt->family = AF_INET6;
		pkt->proto = p[6];  /* extension headers are not walked: such a packet shows no port */
		memcpy(pkt->dst, p + 24, 16);
		l4 = 40;
	}
	if ((pkt->proto == IPPROTO_TCP || pkt->proto == IPPROTO_UDP) && l4 && len >= l4 + 4)
		pkt->dport = (uint16_t)(p[l4 + 2] << 8 | p[l4 + 3]);
}

struct drain_ctx {
	void (*cb)(const struct nflog_packet *p, void *arg);
	void *arg;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type > 0 && type <= NFULA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFULA_MAX + 1] = { 0 };
	struct drain_ctx *ctx = data;
	struct nflog_packet pkt;

	if ((nlh->nlmsg_type & 0xff) != NFULNL_MSG_PACKET)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb);
	memset(&pkt, 0, sizeof(pkt));
	if (tb[NFULA_PAYLOAD])
		parse_payload(mnl_attr_get_payload(tb[NFULA_PAYLOAD]),
			      mnl_attr_get_payload_len(tb[NFULA_PAYLOAD]), &pkt);
	if (tb[NFULA_UID]) {
		pkt.has_uid = true;
		pkt.uid = ntohl(mnl_attr_get_u32(tb[NFULA_UID]));
	}
	if (tb[NFULA_PREFIX]) {
		size_t n = mnl_attr_get_payload_len(tb[NFULA_PREFIX]);

		if (n >= sizeof(pkt.prefix))
			n = sizeof(pkt.prefix) - 1;
		memcpy(pkt.prefix, mnl_attr_get_payload(tb[NFULA_PREFIX]), n);
		pkt.prefix[n] = '\0';
	}
	if (pkt.family)
		ctx->cb(&pkt, ctx->arg);
	return MNL_CB_OK;
}

int nflog_drain(struct nflog *l, void (*cb)(const struct nflog_packet *p, void *arg), void *arg)
{
	struct drain_ctx ctx = { cb, arg };
	char buf[32768];

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(l->nl, buf, sizeof(buf));

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		/* Packet messages carry no sequence number of ours: accept any. */
		if (mnl_cb_run(buf, (size_t)n, 0, 0, packet_cb, &ctx) < 0 && errno != ESRCH)
			return -errno;
	}
}

void nflog_close(struct nflog *l)
{
	if (!l)
		return;
	if (l->nl)
		mnl_socket_close(l->nl);
	free(l);
}
