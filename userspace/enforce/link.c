// SPDX-License-Identifier: GPL-2.0-only
#include "enforce/link.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "enforce/netns.h"

/* Large enough for an RTM_NEWLINK reply with every attribute a link reports (stats, af_spec). */
#define RTNL_BUF_SIZE 32768

/* One rtnetlink conversation: a socket opened inside the target netns (a netlink socket acts in
 * the netns it was created in) and the buffer requests and replies share. */
struct rtnl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	char buf[RTNL_BUF_SIZE];
};

static int rtnl_open_here(struct rtnl *nl)
{
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return err;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned int)time(NULL);
	return 0;
}

static int rtnl_open(struct rtnl *nl, int netns_fd)
{
	int saved, err, leave_err;

	if (netns_fd < 0)
		return rtnl_open_here(nl);
	err = netns_enter(netns_fd, &saved);
	if (err)
		return err;
	err = rtnl_open_here(nl);
	leave_err = netns_leave(saved);
	if (leave_err && !err) {
		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		err = leave_err;
	}
	return err;
}

static void rtnl_close(struct rtnl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

static struct nlmsghdr *rtnl_msg(struct rtnl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++nl->seq;
	return nlh;
}

/* Sends nlh and reads until the kernel's ACK or error; cb (may be NULL) sees each reply. */
static int rtnl_talk(struct rtnl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	unsigned int seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(nl->buf, (size_t)n, seq, nl->portid, cb, data);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -errno : 0;
}

static int ifname_valid(const char *ifname)
{
	size_t len = ifname ? strnlen(ifname, IFNAMSIZ) : 0;

	return len > 0 && len < IFNAMSIZ && !strchr(ifname, '/');
}

static int link_index_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == RTM_NEWLINK)
		*(int *)data = ifi->ifi_index;
	return MNL_CB_OK;
}

/* RTM_GETLINK by IFLA_IFNAME: the kernel looks the name up itself, no dump needed. */
static int rtnl_link_index(struct rtnl *nl, const char *ifname)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int index = 0, err;

	if (!ifname_valid(ifname))
		return -EINVAL;
	nlh = rtnl_msg(nl, RTM_GETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	err = rtnl_talk(nl, nlh, link_index_cb, &index);
	if (err)
		return err;
	return index > 0 ? index : -ENODEV;
}

int link_index(int netns_fd, const char *ifname)
{
	struct rtnl nl;
	int ret;

	ret = rtnl_open(&nl, netns_fd);
	if (ret)
		return ret;
	ret = rtnl_link_index(&nl, ifname);
	rtnl_close(&nl);
	return ret;
}

int link_exists(int netns_fd, const char *ifname)
{
	int index = link_index(netns_fd, ifname);

	if (index == -ENODEV)
		return 0;
	return index < 0 ? index : 1;
}

int link_veth_create(int netns_fd, const char *host_if, const char *peer_if, int peer_netns_fd)
{
	struct nlattr *linkinfo, *info_data, *peer;
	struct ifinfomsg *ifi, *peer_ifi;
	struct nlmsghdr *nlh;
	struct rtnl nl;
	int err;

	if (!ifname_valid(host_if) || !ifname_valid(peer_if))
		return -EINVAL;
	err = rtnl_open(&nl, netns_fd);
	if (err)
		return err;

	nlh = rtnl_msg(&nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host_if);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	info_data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* VETH_INFO_PEER carries a whole link request: an ifinfomsg, then the peer's attributes. */
	peer_ifi = (struct ifinfomsg *)((char *)nlh + nlh->nlmsg_len);
	memset(peer_ifi, 0, MNL_ALIGN(sizeof(*peer_ifi)));
	peer_ifi->ifi_family = AF_UNSPEC;
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*peer_ifi));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_if);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, info_data);
	mnl_attr_nest_end(nlh, linkinfo);

	err = rtnl_talk(&nl, nlh, NULL, NULL);
	rtnl_close(&nl);
	return err;
}

int link_delete(int netns_fd, const char *ifname)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;
	struct rtnl nl;
	int err;

	if (!ifname_valid(ifname))
		return -EINVAL;
	err = rtnl_open(&nl, netns_fd);
	if (err)
		return err;
	nlh = rtnl_msg(&nl, RTM_DELLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	err = rtnl_talk(&nl, nlh, NULL, NULL);
	rtnl_close(&nl);
	return err;
}

int link_set_up(int netns_fd, const char *ifname)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;
	struct rtnl nl;
	int err;

	if (!ifname_valid(ifname))
		return -EINVAL;
	err = rtnl_open(&nl, netns_fd);
	if (err)
		return err;
	nlh = rtnl_msg(&nl, RTM_SETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	err = rtnl_talk(&nl, nlh, NULL, NULL);
	rtnl_close(&nl);
	return err;
}

static int addr_add(int netns_fd, const char *ifname, int family, const void *addr,
		    size_t addr_len, int prefixlen, uint32_t flags)
{
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;
	struct rtnl nl;
	int index, err;

	if (prefixlen < 0 || (size_t)prefixlen > addr_len * 8)
		return -EINVAL;
	err = rtnl_open(&nl, netns_fd);
	if (err)
		return err;
	index = rtnl_link_index(&nl, ifname);
	if (index < 0) {
		err = index;
		goto out_close;
	}
	nlh = rtnl_msg(&nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)prefixlen;
	ifa->ifa_flags = (uint8_t)flags;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)index;
	mnl_attr_put(nlh, IFA_LOCAL, addr_len, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, addr_len, addr);
	if (flags)
		mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
	err = rtnl_talk(&nl, nlh, NULL, NULL);
out_close:
	rtnl_close(&nl);
	return err;
}

int addr_add4(int netns_fd, const char *ifname, uint32_t addr, int prefixlen)
{
	return addr_add(netns_fd, ifname, AF_INET, &addr, sizeof(addr), prefixlen, 0);
}

int addr_add6(int netns_fd, const char *ifname, const uint8_t addr[16], int prefixlen, bool nodad)
{
	return addr_add(netns_fd, ifname, AF_INET6, addr, 16, prefixlen, nodad ? IFA_F_NODAD : 0);
}

static int route_add_default(int netns_fd, int family, const void *gw, size_t gw_len,
			     const char *ifname)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct rtnl nl;
	int index, err;

	err = rtnl_open(&nl, netns_fd);
	if (err)
		return err;
	index = rtnl_link_index(&nl, ifname);
	if (index < 0) {
		err = index;
		goto out_close;
	}
	nlh = rtnl_msg(&nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, gw_len, gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	err = rtnl_talk(&nl, nlh, NULL, NULL);
out_close:
	rtnl_close(&nl);
	return err;
}

int route_add_default4(int netns_fd, uint32_t gw, const char *ifname)
{
	return route_add_default(netns_fd, AF_INET, &gw, sizeof(gw), ifname);
}

int route_add_default6(int netns_fd, const uint8_t gw[16], const char *ifname)
{
	return route_add_default(netns_fd, AF_INET6, gw, 16, ifname);
}
