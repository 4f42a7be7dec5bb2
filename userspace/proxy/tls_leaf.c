// SPDX-License-Identifier: GPL-2.0-only
/*
 * Leaf certificates for the agent side, minted per SNI host by the cage CA and kept in a bounded
 * LRU. Every leaf shares one ECDSA P-256 key generated at start-up: minting is then one signature
 * (tens of microseconds), not a key generation, and the cache holds only certificates (about a
 * kilobyte each). The extensions that do not depend on the host are built once and copied in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "proxy/tls.h"

#define LEAF_BACKDATE_SECS 3600              /* tolerate agent clocks an hour behind */
#define LEAF_VALIDITY_SECS (30L * 86400)
#define LEAF_REFRESH_MARGIN_SECS 86400L      /* re-mint a cached leaf in its last day */
#define LEAF_HOST_MAX 253
#define LEAF_CN_MAX 64                       /* ub-common-name; longer names live in the SAN only */

struct lru_node {
	struct lru_node *prev, *next;
};

enum { EXT_BASIC, EXT_KEY_USAGE, EXT_EKU, EXT_SKID, EXT_AKID, EXT_STATIC_N };

struct leaf_entry {
	struct lru_node lru;            /* first: a node pointer is an entry pointer */
	struct leaf_entry *hash_next;
	uint64_t hash;
	time_t refresh_at;
	X509 *cert;
	char host[];
};

struct proxy_leaf_factory {
	EVP_PKEY *ca_key;
	X509 *ca_cert;
	time_t ca_not_before, ca_not_after;
	EVP_PKEY *leaf_key;
	X509_EXTENSION *static_ext[EXT_STATIC_N];

	pthread_mutex_t lock;
	uint64_t hash_seed;             /* names come from the agent: keep bucket choice unpredictable */
	size_t max, count, nbuckets;
	struct leaf_entry **buckets;
	struct lru_node lru;            /* sentinel: lru.next is the most recently used */
	struct proxy_tls_leaf_stats stats;
};

struct leaf_host {
	char name[LEAF_HOST_MAX + 1];
	size_t len;
	int ip_len;                     /* 4 or 16 for an IP literal, else 0 */
	unsigned char ip[16];
};

/*
 * The caller passes a canonical host; this is the last line of defence before the name goes into
 * a certificate: DNS characters only (LDH plus underscore, which real hosts use), no empty label,
 * no wildcard. Upper case is folded so the cache has one entry per name.
 */
static int leaf_host_parse(const char *host, struct leaf_host *h)
{
	size_t len = strlen(host);
	char ipbuf[64];

	memset(h, 0, sizeof(*h));
	if (len && host[len - 1] == '.')
		len--;
	if (len == 0 || len > LEAF_HOST_MAX)
		return -EINVAL;
	if (host[0] == '[' && len > 2 && host[len - 1] == ']' && len - 2 < sizeof(ipbuf)) {
		memcpy(ipbuf, host + 1, len - 2);
		ipbuf[len - 2] = '\0';
		if (inet_pton(AF_INET6, ipbuf, h->ip) != 1)
			return -EINVAL;
		h->ip_len = 16;
	} else if (len < sizeof(ipbuf)) {
		memcpy(ipbuf, host, len);
		ipbuf[len] = '\0';
		if (inet_pton(AF_INET, ipbuf, h->ip) == 1)
			h->ip_len = 4;
		else if (inet_pton(AF_INET6, ipbuf, h->ip) == 1)
			h->ip_len = 16;
	}
	if (h->ip_len) {
		/* One spelling per address, so "::1" and "0::1" share a cache entry. */
		inet_ntop(h->ip_len == 4 ? AF_INET : AF_INET6, h->ip, h->name, sizeof(h->name));
		h->len = strlen(h->name);
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		char c = host[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (i == 0 || host[i - 1] == '.')
				return -EINVAL;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
			return -EINVAL;
		}
		h->name[i] = c;
	}
	h->name[len] = '\0';
	h->len = len;
	return 0;
}

static uint64_t leaf_hash(const struct proxy_leaf_factory *f, const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ f->hash_seed;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

static int asn1_to_time_t(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(t, &tm))
		return -EBADMSG;
	*out = timegm(&tm);
	return 0;
}

static X509_EXTENSION *ext_from_conf(X509 *subject, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;

	X509V3_set_ctx(&ctx, issuer, subject, NULL, NULL, 0);
	return X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
}

/*
 * Extensions every leaf carries identically: they depend on the shared leaf key and the CA only.
 * Fixed strings: no agent input ever reaches the extension parser. A throwaway certificate holding
 * the leaf key lets the "hash" key-identifier method work.
 */
static int leaf_build_static_ext(struct proxy_leaf_factory *f)
{
	X509 *probe = X509_new();
	int err = -ENOMEM;

	if (!probe || !X509_set_pubkey(probe, f->leaf_key))
		goto out;
	f->static_ext[EXT_BASIC] = ext_from_conf(probe, f->ca_cert, NID_basic_constraints,
						 "critical,CA:FALSE");
	f->static_ext[EXT_KEY_USAGE] = ext_from_conf(probe, f->ca_cert, NID_key_usage,
						     "critical,digitalSignature");
	f->static_ext[EXT_EKU] = ext_from_conf(probe, f->ca_cert, NID_ext_key_usage, "serverAuth");
	f->static_ext[EXT_SKID] = ext_from_conf(probe, f->ca_cert, NID_subject_key_identifier, "hash");
	f->static_ext[EXT_AKID] = ext_from_conf(probe, f->ca_cert, NID_authority_key_identifier,
						"keyid:always");
	err = 0;
	for (int i = 0; i < EXT_STATIC_N; i++)
		if (!f->static_ext[i])
			err = -EIO;
out:
	X509_free(probe);
	return err;
}

/*
 * The shared leaf key. OpenSSL 3.0 puts a provider-native key into a certificate through its
 * generic encoder and decoder, about 300 us per X509_set_pubkey(); a key in the legacy EC_KEY form
 * takes the built-in encoder, about 7 us, which is most of the difference between a 350 us and a
 * 50 us mint. Without the deprecated API the provider key is used as is: slower, still correct.
 */
static EVP_PKEY *leaf_key_new(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
#ifndef OPENSSL_NO_DEPRECATED_3_0
	EVP_PKEY *legacy;
	EC_KEY *ec;

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
	if (!key)
		return NULL;
	ec = EVP_PKEY_get1_EC_KEY(key);
	legacy = ec ? EVP_PKEY_new() : NULL;
	if (legacy && EVP_PKEY_assign_EC_KEY(legacy, ec)) {
		EVP_PKEY_free(key);
		return legacy;
	}
	EVP_PKEY_free(legacy);
	EC_KEY_free(ec);
#pragma clang diagnostic pop
#endif
	return key;
}

static int leaf_add_san(X509 *cert, const struct leaf_host *h, bool critical)
{
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_STRING *value = NULL;
	int err = -ENOMEM;

	if (!names || !gn)
		goto out;
	if (h->ip_len) {
		value = ASN1_OCTET_STRING_new();
		if (!value || !ASN1_OCTET_STRING_set(value, h->ip, h->ip_len))
			goto out;
		GENERAL_NAME_set0_value(gn, GEN_IPADD, value);
	} else {
		value = ASN1_IA5STRING_new();
		if (!value || !ASN1_STRING_set(value, h->name, (int)h->len))
			goto out;
		GENERAL_NAME_set0_value(gn, GEN_DNS, value);
	}
	value = NULL;
	if (!sk_GENERAL_NAME_push(names, gn))
		goto out;
	gn = NULL;
	if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names, critical, X509V3_ADD_DEFAULT) == 1)
		err = 0;
out:
	ASN1_STRING_free(value);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	return err;
}

/* One leaf for h, valid from an hour ago for 30 days but never outside the CA's own validity. */
static int leaf_mint(struct proxy_leaf_factory *f, const struct leaf_host *h, X509 **out,
		     time_t *not_after_out)
{
	time_t now = time(NULL);
	time_t not_before = now - LEAF_BACKDATE_SECS, not_after = now + LEAF_VALIDITY_SECS;
	bool cn_fits = h->len <= LEAF_CN_MAX;
	X509 *cert;
	int err = -ENOMEM;

	if (not_before < f->ca_not_before)
		not_before = f->ca_not_before;
	if (not_after > f->ca_not_after)
		not_after = f->ca_not_after;
	if (not_after <= now)
		return -EKEYEXPIRED;

	cert = X509_new();
	if (!cert)
		return -ENOMEM;
	if (!X509_set_version(cert, X509_VERSION_3))
		goto err_free;
	err = proxy_tls_random_serial(cert);
	if (err)
		goto err_free;
	err = -ENOMEM;
	if (!X509_set_issuer_name(cert, X509_get_subject_name(f->ca_cert)))
		goto err_free;
	/* Clients match the SAN; the CN is for humans reading the certificate. */
	if (cn_fits && !X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
						   (const unsigned char *)h->name, (int)h->len, -1, 0))
		goto err_free;
	if (!ASN1_TIME_set(X509_getm_notBefore(cert), not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(cert), not_after) ||
	    !X509_set_pubkey(cert, f->leaf_key))
		goto err_free;
	for (int i = 0; i < EXT_STATIC_N; i++)
		if (!X509_add_ext(cert, f->static_ext[i], -1))
			goto err_free;
	/* RFC 5280 4.2.1.6: with an empty subject the SAN must be critical. */
	err = leaf_add_san(cert, h, !cn_fits);
	if (err)
		goto err_free;
	err = -EIO;
	if (!X509_sign(cert, f->ca_key, EVP_sha256()))
		goto err_free;
	*out = cert;
	*not_after_out = not_after;
	return 0;

err_free:
	X509_free(cert);
	return err;
}

static void lru_unlink(struct leaf_entry *e)
{
	e->lru.prev->next = e->lru.next;
	e->lru.next->prev = e->lru.prev;
}

static void lru_push_front(struct proxy_leaf_factory *f, struct leaf_entry *e)
{
	e->lru.prev = &f->lru;
	e->lru.next = f->lru.next;
	f->lru.next->prev = &e->lru;
	f->lru.next = &e->lru;
}

static struct leaf_entry **bucket_of(struct proxy_leaf_factory *f, uint64_t hash)
{
	return &f->buckets[hash & (f->nbuckets - 1)];
}

static struct leaf_entry *cache_find(struct proxy_leaf_factory *f, const struct leaf_host *h,
				     uint64_t hash)
{
	for (struct leaf_entry *e = *bucket_of(f, hash); e; e = e->hash_next)
		if (e->hash == hash && strcmp(e->host, h->name) == 0)
			return e;
	return NULL;
}

static void cache_remove(struct proxy_leaf_factory *f, struct leaf_entry *e)
{
	struct leaf_entry **pp = bucket_of(f, e->hash);

	while (*pp != e)
		pp = &(*pp)->hash_next;
	*pp = e->hash_next;
	lru_unlink(e);
	f->count--;
	X509_free(e->cert);
	free(e);
}

static int cache_insert(struct proxy_leaf_factory *f, const struct leaf_host *h, uint64_t hash,
			X509 *cert, time_t not_after)
{
	struct leaf_entry *e = malloc(sizeof(*e) + h->len + 1);
	struct leaf_entry **bucket = bucket_of(f, hash);

	if (!e)
		return -ENOMEM;
	memcpy(e->host, h->name, h->len + 1);
	e->hash = hash;
	e->refresh_at = not_after - LEAF_REFRESH_MARGIN_SECS;
	e->cert = cert;
	e->hash_next = *bucket;
	*bucket = e;
	lru_push_front(f, e);
	f->count++;
	while (f->count > f->max) {
		cache_remove(f, (struct leaf_entry *)f->lru.prev);
		f->stats.evictions++;
	}
	return 0;
}

/*
 * Looks up under the lock, mints outside it (a signature should not stall every other worker),
 * then inserts; when two threads mint the same host at once, the first insert wins and the other
 * certificate is dropped, so all connections for a host present one leaf.
 */
int proxy_leaf_get(struct proxy_leaf_factory *f, const char *host, X509 **out)
{
	struct leaf_host h;
	struct leaf_entry *e;
	time_t not_after;
	uint64_t hash;
	X509 *cert;
	int err;

	err = leaf_host_parse(host, &h);
	if (err)
		return err;
	hash = leaf_hash(f, h.name, h.len);

	pthread_mutex_lock(&f->lock);
	e = cache_find(f, &h, hash);
	if (e && time(NULL) < e->refresh_at) {
		lru_unlink(e);
		lru_push_front(f, e);
		X509_up_ref(e->cert);
		*out = e->cert;
		f->stats.hits++;
		pthread_mutex_unlock(&f->lock);
		return 0;
	}
	pthread_mutex_unlock(&f->lock);

	err = leaf_mint(f, &h, &cert, &not_after);
	if (err)
		return err;

	pthread_mutex_lock(&f->lock);
	f->stats.misses++;
	e = cache_find(f, &h, hash);
	if (e && time(NULL) < e->refresh_at) {
		X509_free(cert);
		cert = e->cert;
		lru_unlink(e);
		lru_push_front(f, e);
	} else {
		if (e)
			cache_remove(f, e);
		err = cache_insert(f, &h, hash, cert, not_after);
		if (err) {
			/* Still usable for this connection; just not remembered. */
			pthread_mutex_unlock(&f->lock);
			*out = cert;
			return 0;
		}
	}
	X509_up_ref(cert);
	*out = cert;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int proxy_leaf_factory_new(const struct proxy_ca *ca, size_t cache_max,
			   struct proxy_leaf_factory **out)
{
	struct proxy_leaf_factory *f;
	int err = -ENOMEM;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->lru.next = f->lru.prev = &f->lru;
	pthread_mutex_init(&f->lock, NULL);
	f->max = cache_max ? cache_max : 1;
	for (f->nbuckets = 16; f->nbuckets < f->max; f->nbuckets <<= 1)
		;
	f->buckets = calloc(f->nbuckets, sizeof(*f->buckets));
	if (!f->buckets)
		goto err_free;

	f->ca_key = proxy_ca_key(ca);
	f->ca_cert = proxy_ca_cert(ca);
	EVP_PKEY_up_ref(f->ca_key);
	X509_up_ref(f->ca_cert);
	err = asn1_to_time_t(X509_get0_notBefore(f->ca_cert), &f->ca_not_before);
	if (!err)
		err = asn1_to_time_t(X509_get0_notAfter(f->ca_cert), &f->ca_not_after);
	if (err)
		goto err_free;

	err = -EIO;
	if (RAND_bytes((unsigned char *)&f->hash_seed, sizeof(f->hash_seed)) != 1)
		goto err_free;
	f->leaf_key = leaf_key_new();
	if (!f->leaf_key)
		goto err_free;
	err = leaf_build_static_ext(f);
	if (err)
		goto err_free;
	*out = f;
	return 0;

err_free:
	proxy_leaf_factory_free(f);
	return err;
}

void proxy_leaf_factory_free(struct proxy_leaf_factory *f)
{
	if (!f)
		return;
	while (f->lru.next != &f->lru)
		cache_remove(f, (struct leaf_entry *)f->lru.next);
	free(f->buckets);
	for (int i = 0; i < EXT_STATIC_N; i++)
		X509_EXTENSION_free(f->static_ext[i]);
	EVP_PKEY_free(f->leaf_key);
	EVP_PKEY_free(f->ca_key);
	X509_free(f->ca_cert);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

EVP_PKEY *proxy_leaf_factory_key(const struct proxy_leaf_factory *f)
{
	return f->leaf_key;
}

void proxy_leaf_factory_stats(struct proxy_leaf_factory *f, struct proxy_tls_leaf_stats *out)
{
	pthread_mutex_lock(&f->lock);
	*out = f->stats;
	out->entries = f->count;
	pthread_mutex_unlock(&f->lock);
}
