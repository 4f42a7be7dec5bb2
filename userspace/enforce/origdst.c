// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

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

int origdst_lookup_fd(int map_fd, int accepted_fd, struct cage_orig *out)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);

	if (getpeername(accepted_fd, (struct sockaddr *)&peer, &plen) ||
	    getsockname(accepted_fd, (struct sockaddr *)&local, &llen))
		return -errno;
	return origdst_lookup(map_fd, (struct sockaddr *)&peer, (struct sockaddr *)&local, out);
}
