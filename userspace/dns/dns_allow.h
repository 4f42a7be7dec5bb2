/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Writes the addresses cage-dns answers for allowed names into the pinned `dns_allow` map
 * (docs/bpf-maps.md), so that the proxy and the passthrough ports only reach addresses the
 * resolver handed out. An entry lives for the answer's TTL clamped to [floor, cap]; the answer
 * the cage sees never outlives its entry.
 */
#ifndef CAGE_DNS_ALLOW_H
#define CAGE_DNS_ALLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cage/maps.h"

#define DNS_ALLOW_TTL_FLOOR 30u    /* seconds: a TTL-0 answer still gets a usable entry */
#define DNS_ALLOW_TTL_CAP   3600u  /* seconds: and answers are never cached longer than this */

/*
 * The id cage-dns stores for a name: FNV-1a over the canonical name (domain_canonicalize()
 * form), never 0. Stable across restarts, so cage-proxy computes the same id from its SNI or
 * Host to check "this address was answered for this name".
 */
uint32_t dns_allow_name_id(const char *canonical_name);

/* The entry lifetime for a record TTL, in seconds. */
uint32_t dns_allow_lifetime(uint32_t ttl);

/*
 * Writes addr → {name_id, now + lifetime(ttl)} (BPF_ANY). A full map is swept of expired
 * entries once and the write retried. 0 or -errno.
 */
int dns_allow_put(int map_fd, const struct cage_addr *addr, uint32_t name_id, uint32_t ttl,
		  uint64_t now_boot_ns);

/* Deletes every expired entry; returns how many, or -errno. */
int dns_allow_sweep(int map_fd, uint64_t now_boot_ns);

#endif
