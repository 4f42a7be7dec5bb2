/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The original destination of a redirected connection, for cage-proxy and cage-dns: what the
 * agent passed to connect() before the cgroup program rewrote it. Keyed by the connection as the
 * accepting side sees it (peer = the cage's address and port, local = our listener).
 */
#ifndef CAGE_ENFORCE_ORIGDST_H
#define CAGE_ENFORCE_ORIGDST_H

#include <sys/socket.h>

#include "cage/maps.h"

/* Opens <pin_dir>/orig_dst read-only. fd or -errno. */
int origdst_open(const char *pin_dir);
/*
 * Looks up an accepted socket's original destination: 0 and *out filled, -ENOENT if the
 * connection was not redirected (explicit proxy port, or the entry was evicted), -errno.
 */
int origdst_lookup_fd(int map_fd, int accepted_fd, struct cage_orig *out);
/*
 * The original destination kept by conntrack when nftables DNATed the connection to our
 * listener (SO_ORIGINAL_DST): the nftables-only mode of a guest without cgroup BPF.
 * origdst_lookup_fd falls back to it when the map has no entry. -ENOENT if not NATed.
 */
int origdst_conntrack(int accepted_fd, const struct sockaddr *local, struct cage_orig *out);
/* The same from addresses (peer as returned by accept(), local by getsockname()). */
int origdst_lookup(int map_fd, const struct sockaddr *peer, const struct sockaddr *local,
		   struct cage_orig *out);
/* Fills a cage_addr from a sockaddr, folding IPv4-mapped IPv6 into IPv4. */
int cage_addr_from_sockaddr(const struct sockaddr *sa, struct cage_addr *out, __u16 *port);

#endif
