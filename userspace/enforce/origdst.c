// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <linux/netfilter_ipv4.h>

#include <bpf/bpf.h>

#include "enforce/bpf_loader.h"
#include "enforce/origdst.h"

int origdst_open(const char *pin_dir)
{
	return cage_bpf_map_open(pin_dir, CAGE_PIN_ORIG_DST, true);
}

int cage_addr_from_sockaddr(const struct sockaddr *sa, struct cage_addr *out, __u16 *port)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		out->family = CAGE_AF_INET;
		out->ip[0] = in->sin_addr.s_addr;
		*port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			out->family = CAGE_AF_INET;
			memcpy(&out->ip[0], &in6->sin6_addr.s6_addr[12], 4);
		} else {
			out->family = CAGE_AF_INET6;
			memcpy(out->ip, &in6->sin6_addr, 16);
		}
		*port = ntohs(in6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

int origdst_lookup(int map_fd, const struct sockaddr *peer, const struct sockaddr *local,
		   struct cage_orig *out)
{
	struct cage_tuple key;
	struct cage_addr unused;
	int err;

	memset(&key, 0, sizeof(key));
	err = cage_addr_from_sockaddr(peer, &key.client, &key.client_port);
	if (!err)
		err = cage_addr_from_sockaddr(local, &unused, &key.server_port);
	if (err)
		return err;
	if (bpf_map_lookup_elem(map_fd, &key, out))
		return -errno;
	return 0;
}

/* IP6T_SO_ORIGINAL_DST, without pulling in the ip6tables header. */
#define CAGE_IP6_SO_ORIGINAL_DST 80

int origdst_conntrack(int accepted_fd, const struct sockaddr *local, struct cage_orig *out)
{
	struct sockaddr_storage orig;
	socklen_t olen = sizeof(orig);
	struct cage_addr here;
	__u16 here_port;
	int err;

	memset(&orig, 0, sizeof(orig));
	if (local->sa_family == AF_INET)
		err = getsockopt(accepted_fd, SOL_IP, SO_ORIGINAL_DST, &orig, &olen);
	else
		err = getsockopt(accepted_fd, SOL_IPV6, CAGE_IP6_SO_ORIGINAL_DST, &orig, &olen);
	if (err)
		return errno == ENOENT || errno == ENOPROTOOPT ? -ENOENT : -errno;
	memset(out, 0, sizeof(*out));
	err = cage_addr_from_sockaddr((struct sockaddr *)&orig, &out->dst, &out->dport);
	if (!err)
		err = cage_addr_from_sockaddr(local, &here, &here_port);
	if (err)
		return err;
	/* An entry that was not NATed names our own listener: nothing was redirected. */
	if (here_port == out->dport && !memcmp(&here, &out->dst, sizeof(here)))
		return -ENOENT;
	out->proto = CAGE_PROTO_TCP;
	return 0;
}

int origdst_lookup_fd(int map_fd, int accepted_fd, struct cage_orig *out)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	int err;

	if (getpeername(accepted_fd, (struct sockaddr *)&peer, &plen) ||
	    getsockname(accepted_fd, (struct sockaddr *)&local, &llen))
		return -errno;
	err = origdst_lookup(map_fd, (struct sockaddr *)&peer, (struct sockaddr *)&local, out);
	/* nftables-only cages (a guest kernel without cgroup BPF) redirect with DNAT instead. */
	if (err == -ENOENT)
		err = origdst_conntrack(accepted_fd, (struct sockaddr *)&local, out);
	return err;
}
