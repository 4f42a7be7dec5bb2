// SPDX-License-Identifier: GPL-2.0-only
/*
 * Upstream TLS sessions kept for resumption, as nginx (proxy_ssl_session_reuse) and haproxy do
 * towards their servers: the next connection to the same host and port skips the certificate
 * chain, its verification and the server's signature. A session is stored only after a handshake
 * that verified the chain and the host name, and it is handed out again only for that exact host
 * and port, so resumption never stands in for a check it would have skipped.
 *
 * One entry per key (the newest ticket), taken out when used: TLS 1.3 tickets are meant for one
 * connection (RFC 8446, C.4). A small array with a mutex: lookups happen once per upstream dial,
 * and a linear scan of 64 short keys costs less than the lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/tls.h"

struct session_entry {
	char key[TLS_SESSION_KEY_MAX];
	SSL_SESSION *sess;      /* NULL: free slot */
	uint64_t stored;        /* insertion order, for eviction */
};

struct tls_session_cache {
	pthread_mutex_t lock;
	size_t max;
	uint64_t clock;
	struct tls_session_stats stats;
	struct session_entry e[];
};

int tls_session_cache_new(size_t max, struct tls_session_cache **out)
{
	struct tls_session_cache *c;

	if (!max)
		return -EINVAL;
	c = calloc(1, sizeof(*c) + max * sizeof(c->e[0]));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->max = max;
	*out = c;
	return 0;
}

void tls_session_cache_free(struct tls_session_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->max; i++)
		SSL_SESSION_free(c->e[i].sess);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The slot holding key, or NULL. Called with the lock held. */
static struct session_entry *find(struct tls_session_cache *c, const char *key)
{
	for (size_t i = 0; i < c->max; i++)
		if (c->e[i].sess && !strcmp(c->e[i].key, key))
			return &c->e[i];
	return NULL;
}

void tls_session_cache_put(struct tls_session_cache *c, const char *key, SSL_SESSION *sess)
{
	struct session_entry *slot, *old = NULL;
	SSL_SESSION *drop = NULL;

	if (strlen(key) >= TLS_SESSION_KEY_MAX) {
		SSL_SESSION_free(sess);
		return;
	}
	pthread_mutex_lock(&c->lock);
	slot = find(c, key);
	for (size_t i = 0; !slot && i < c->max; i++) {
		if (!c->e[i].sess) {
			slot = &c->e[i];
			break;
		}
		if (!old || c->e[i].stored < old->stored)
			old = &c->e[i];
	}
	if (!slot) {
		slot = old;
		c->stats.evictions++;
	}
	drop = slot->sess;
	snprintf(slot->key, sizeof(slot->key), "%s", key);
	slot->sess = sess;
	slot->stored = ++c->clock;
	c->stats.stored++;
	pthread_mutex_unlock(&c->lock);
	SSL_SESSION_free(drop);
}

SSL_SESSION *tls_session_cache_take(struct tls_session_cache *c, const char *key)
{
	struct session_entry *slot;
	SSL_SESSION *sess = NULL;

	pthread_mutex_lock(&c->lock);
	slot = find(c, key);
	if (slot) {
		sess = slot->sess;
		slot->sess = NULL;
		c->stats.taken++;
	}
	pthread_mutex_unlock(&c->lock);
	return sess;
}

void tls_session_cache_stats(struct tls_session_cache *c, struct tls_session_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	out->entries = 0;
	for (size_t i = 0; i < c->max; i++)
		out->entries += c->e[i].sess != NULL;
	pthread_mutex_unlock(&c->lock);
}
