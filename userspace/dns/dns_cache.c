// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_cache.h"
#include "lib/domain.h"

#define WAYS 4

struct cache_entry {
	uint64_t stored_ns, expires_ns;  /* expires_ns 0: free */
	uint32_t hash;
	uint16_t qtype, len;
	char name[DOMAIN_BUF_SIZE];
	uint8_t msg[DNS_CACHE_MSG_MAX];
};

struct dns_cache {
	size_t sets;
	struct cache_entry *e;
};

static uint32_t key_hash(const char *name, uint16_t qtype)
{
	uint32_t h = 2166136261u ^ qtype;

	for (; *name; name++) {
		h ^= (uint8_t)*name;
		h *= 16777619u;
	}
	return h;
}

struct dns_cache *dns_cache_new(size_t entries)
{
	struct dns_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->sets = ((entries ? entries : 4096) + WAYS - 1) / WAYS;
	c->e = calloc(c->sets * WAYS, sizeof(*c->e));
	if (!c->e) {
		free(c);
		return NULL;
	}
	return c;
}

void dns_cache_free(struct dns_cache *c)
{
	if (!c)
		return;
	free(c->e);
	free(c);
}

void dns_cache_clear(struct dns_cache *c)
{
	for (size_t i = 0; i < c->sets * WAYS; i++)
		c->e[i].expires_ns = 0;
}

uint32_t dns_cache_ttl(const struct dns_response *r)
{
	uint32_t ttl = UINT32_MAX;

	if (r->truncated || (r->rcode != DNS_RCODE_NOERROR && r->rcode != DNS_RCODE_NXDOMAIN))
		return 0;
	for (size_t i = 0; i < r->ancount; i++)
		if (r->an[i].ttl < ttl)
			ttl = r->an[i].ttl;
	if (r->ancount == 0 || r->rcode == DNS_RCODE_NXDOMAIN) {
		/* Negative answers: the SOA's say, bounded; none means do not cache. */
		return r->neg_ttl < DNS_CACHE_NEG_TTL_MAX ? r->neg_ttl : DNS_CACHE_NEG_TTL_MAX;
	}
	return ttl < DNS_CACHE_TTL_MAX ? ttl : DNS_CACHE_TTL_MAX;
}

static struct cache_entry *find(struct dns_cache *c, const char *name, uint16_t qtype, uint32_t h)
{
	struct cache_entry *set = &c->e[(h % c->sets) * WAYS];

	for (int i = 0; i < WAYS; i++)
		if (set[i].expires_ns && set[i].hash == h && set[i].qtype == qtype &&
		    strcmp(set[i].name, name) == 0)
			return &set[i];
	return NULL;
}

void dns_cache_put(struct dns_cache *c, const char *name, uint16_t qtype, const uint8_t *msg, size_t len,
		   uint32_t ttl, uint64_t now_ns)
{
	uint32_t h = key_hash(name, qtype);
	struct cache_entry *slot = find(c, name, qtype, h), *set;

	if (!ttl || len > DNS_CACHE_MSG_MAX || strlen(name) >= DOMAIN_BUF_SIZE)
		return;
	if (!slot) {
		set = &c->e[(h % c->sets) * WAYS];
		slot = &set[0];
		for (int i = 0; i < WAYS; i++) {
			if (set[i].expires_ns <= now_ns) {
				slot = &set[i];
				break;
			}
			if (set[i].expires_ns < slot->expires_ns)
				slot = &set[i];
		}
	}
	slot->hash = h;
	slot->qtype = qtype;
	slot->len = (uint16_t)len;
	slot->stored_ns = now_ns;
	slot->expires_ns = now_ns + (uint64_t)ttl * 1000000000ull;
	strcpy(slot->name, name);
	memcpy(slot->msg, msg, len);
}

int dns_cache_get(struct dns_cache *c, const char *name, uint16_t qtype, uint64_t now_ns,
		  struct dns_cache_hit *hit)
{
	struct cache_entry *e = find(c, name, qtype, key_hash(name, qtype));

	if (!e)
		return -ENOENT;
	if (e->expires_ns <= now_ns) {
		e->expires_ns = 0;
		return -ENOENT;
	}
	hit->msg = e->msg;
	hit->len = e->len;
	hit->age_s = (uint32_t)((now_ns - e->stored_ns) / 1000000000ull);
	return 0;
}

size_t dns_cache_count(const struct dns_cache *c, uint64_t now_ns)
{
	size_t n = 0;

	for (size_t i = 0; i < c->sets * WAYS; i++)
		n += c->e[i].expires_ns > now_ns;
	return n;
}
