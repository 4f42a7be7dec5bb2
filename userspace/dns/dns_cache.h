/* SPDX-License-Identifier: GPL-2.0-only
 *
 * A small, bounded answer cache for cage-dns: upstream responses keyed by canonical name and
 * type, kept for their TTL. All memory is taken once at creation (set-associative, no
 * allocation per query); a full set evicts the entry closest to expiry. Policy is never
 * cached: every hit is filtered again under the policy in force.
 */
#ifndef CAGE_DNS_DNS_CACHE_H
#define CAGE_DNS_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/wire.h"

#define DNS_CACHE_MSG_MAX 1232     /* larger responses (TCP fallback) are not cached */
#define DNS_CACHE_TTL_MAX 3600u
#define DNS_CACHE_NEG_TTL_MAX 300u /* NXDOMAIN/NODATA */

struct dns_cache;

struct dns_cache_hit {
	const uint8_t *msg;      /* valid until the next insert */
	size_t len;
	uint32_t age_s;          /* seconds since it was stored: subtract from every TTL */
};

/* `entries` is rounded up to a multiple of the associativity; 0 → 4096. */
struct dns_cache *dns_cache_new(size_t entries);
void dns_cache_free(struct dns_cache *c);

/* The TTL a response may be cached for, 0 = not at all (errors, TTL 0, truncated). */
uint32_t dns_cache_ttl(const struct dns_response *r);

/* Stores msg for ttl seconds (ttl 0 or len too big: nothing stored). */
void dns_cache_put(struct dns_cache *c, const char *name, uint16_t qtype, const uint8_t *msg, size_t len,
		   uint32_t ttl, uint64_t now_ns);
/* 0 and *hit, or -ENOENT. */
int dns_cache_get(struct dns_cache *c, const char *name, uint16_t qtype, uint64_t now_ns,
		  struct dns_cache_hit *hit);
size_t dns_cache_count(const struct dns_cache *c, uint64_t now_ns);
void dns_cache_clear(struct dns_cache *c);

#endif
