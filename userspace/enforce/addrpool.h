/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-cage addresses from an IPv4 and an IPv6 pool. Index i of the pool owns the i-th /30 of the
 * IPv4 pool (gateway .1, cage .2 within it) and the i-th /64 of the IPv6 pool (::1, ::2).
 * Allocations persist as one file per index under <state_dir>/addrs/ holding the cage name.
 * Addresses are in network byte order; functions return 0 or a negative errno and never print.
 */
#ifndef CAGE_ENFORCE_ADDRPOOL_H
#define CAGE_ENFORCE_ADDRPOOL_H

#include <stdint.h>

#define ADDRPOOL_DEFAULT4 "10.200.0.0/16"
#define ADDRPOOL_DEFAULT6 "fd00:200::/48"
#define ADDRPOOL_CAGE_IFNAME "eth0"

struct cage_addrs {
	uint32_t gw4, cage4;
	int prefix4;
	uint8_t gw6[16], cage6[16];
	int prefix6;
	unsigned index;
	char host_ifname[16];   /* "cg" + 8 hex digits of a hash of the cage name */
};

/* "10.200.0.0/16" / "fd00:200::/48"; host bits must be zero. -EINVAL otherwise. */
int addrpool_parse4(const char *cidr, uint32_t *net, int *prefix);
int addrpool_parse6(const char *cidr, uint8_t net[16], int *prefix);

/* The cage's existing allocation, or the lowest free index; NULL pools mean the defaults.
 * -ENOSPC when the pool is full, -EINVAL for a bad pool or cage name. */
int addrpool_alloc(const char *pool4, const char *pool6, const char *state_dir, const char *cage,
		   struct cage_addrs *out);

/* Frees the cage's index; -ENOENT if it holds none. */
int addrpool_release(const char *state_dir, const char *cage);

#endif
