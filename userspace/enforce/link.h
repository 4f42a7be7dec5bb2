/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Links, addresses and default routes over rtnetlink (libmnl). Each function acts in the netns
 * given by netns_fd (-1: the caller's current netns). Addresses are in network byte order. All
 * return 0 (link_index: the ifindex; link_exists: 1 or 0) or a negative errno; none prints.
 * "Already exists" is -EEXIST, never ignored; an absent interface is -ENODEV.
 */
#ifndef CAGE_ENFORCE_LINK_H
#define CAGE_ENFORCE_LINK_H

#include <stdbool.h>
#include <stdint.h>

/* A veth pair: host_if in netns_fd, peer_if created directly inside peer_netns_fd (-1: beside
 * host_if), so the peer never exists in the host netns. */
int link_veth_create(int netns_fd, const char *host_if, const char *peer_if, int peer_netns_fd);
int link_delete(int netns_fd, const char *ifname);
int link_set_up(int netns_fd, const char *ifname);
int link_index(int netns_fd, const char *ifname);
int link_exists(int netns_fd, const char *ifname);

int addr_add4(int netns_fd, const char *ifname, uint32_t addr, int prefixlen);
/* nodad sets IFA_F_NODAD: the address is usable at once instead of after 1-2 s of DAD. */
int addr_add6(int netns_fd, const char *ifname, const uint8_t addr[16], int prefixlen, bool nodad);

/* The link must be up and hold an address on the gateway's subnet, or the kernel refuses the
 * gateway (-ENETUNREACH / -ENETDOWN). */
int route_add_default4(int netns_fd, uint32_t gw, const char *ifname);
int route_add_default6(int netns_fd, const uint8_t gw[16], const char *ifname);

#endif
