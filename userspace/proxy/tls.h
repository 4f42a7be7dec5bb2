/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TLS layer of cage-proxy (OpenSSL 3): the per-cage CA, leaf certificates minted per SNI host
 * and kept in a bounded LRU, and the SSL objects for both sides of an inspected connection.
 * Errors are negative errno values; SSL constructors return NULL and leave the reason in the
 * OpenSSL error queue, which proxy_tls_last_error() turns into a short audit string.
 * See docs/tls.md.
 */
#ifndef CAGE_PROXY_TLS_H
#define CAGE_PROXY_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

/* The per-cage CA: an ECDSA P-256 key and its self-signed certificate. */
struct proxy_ca;

#define PROXY_CA_KEY_FILE "ca.key"
#define PROXY_CA_CERT_FILE "ca.crt"

/*
 * Writes <dir>/ca.key (0600) and <dir>/ca.crt (0644), each atomically (temp file, fsync, then
 * rename; the key is committed last, with a no-replace link, so "no ca.key" always means "no CA").
 * Creates dir 0700 if missing (its parent must exist). -EEXIST if ca.key exists. The files belong
 * to the caller: chown them to the proxy user, or have the proxy load the CA before dropping root.
 */
int proxy_ca_create(const char *dir);

/*
 * -ENOENT if ca.key or ca.crt is missing; -EBADMSG if either is unreadable, the key does not match
 * the certificate, or the certificate is not a CA; -EPERM if ca.key is readable by group or
 * others; -EKEYEXPIRED if the CA certificate is outside its validity period.
 */
int proxy_ca_load(const char *dir, struct proxy_ca **out);
void proxy_ca_free(struct proxy_ca *ca);

/* Borrowed pointers, valid while ca lives (for building the workload's CA bundle and for tests). */
X509 *proxy_ca_cert(const struct proxy_ca *ca);
EVP_PKEY *proxy_ca_key(const struct proxy_ca *ca);

/* Thread-safe: one per proxy process, shared by all worker threads. */
struct proxy_tls;

#define PROXY_TLS_LEAF_CACHE_DEFAULT 1024u

/*
 * Takes its own references to the CA's key and certificate: ca may be freed afterwards.
 * extra_upstream_ca_file (PEM, may hold several certificates) is trusted upstream in addition to
 * the system roots; NULL = system roots only. The cage CA itself is never trusted upstream.
 * Call it before the seccomp filter goes on: it reads openssl.cnf and the CA files.
 */
int proxy_tls_new(struct proxy_ca *ca, const char *extra_upstream_ca_file, size_t leaf_cache_max,
		  struct proxy_tls **out);
void proxy_tls_free(struct proxy_tls *t);

/*
 * Agent-facing server side on a connected non-blocking fd: presents a leaf for `sni` (canonical host
 * name, already allowed by policy; an IP literal gets an iPAddress SAN) minted by the cage CA and
 * cached in an LRU; ALPN: selects http/1.1 only (no h2 yet); TLS 1.2-1.3. The caller drives
 * SSL_accept() in its event loop and SSL_free()s the result. NULL on error.
 */
SSL *proxy_tls_agent_ssl(struct proxy_tls *t, int fd, const char *sni);

/*
 * Upstream client side: SNI = host (hostnames only, never IP literals), full chain verification
 * against the system roots + extra CA, hostname (or IP) verification, ALPN http/1.1, TLS 1.2+.
 * Resumes a session from an earlier verified handshake with the same host and port when the
 * server gave one (tls_sessions.c).
 * The caller drives SSL_connect() and SSL_free()s the result. NULL on error.
 */
SSL *proxy_tls_upstream_ssl(struct proxy_tls *t, int fd, const char *host);

/*
 * A short lower-case reason for audit lines after a failed handshake, taken from this thread's
 * OpenSSL error queue, which it empties: "unknown ca", "wrong version number",
 * "certificate verify failed: hostname mismatch", "unknown" when the queue was empty.
 * The caller prefixes the side ("client_tls_failed: ..."). Returns buf.
 */
const char *proxy_tls_last_error(char *buf, size_t len);

/* Counters for tests and the status page. */
struct proxy_tls_leaf_stats {
	size_t entries;
	uint64_t hits;
	uint64_t misses;     /* lookups that minted */
	uint64_t evictions;
};
void proxy_tls_leaf_stats(struct proxy_tls *t, struct proxy_tls_leaf_stats *out);

/* Upstream sessions kept for resumption (tls_sessions.c). */
struct tls_session_stats {
	size_t entries;
	uint64_t stored;        /* sessions the servers sent after a verified handshake */
	uint64_t taken;         /* offered for resumption on a later dial */
	uint64_t evictions;
};
void proxy_tls_session_stats(struct proxy_tls *t, struct tls_session_stats *out);

/* The leaf the agent side would present for host (cached or minted); the caller X509_free()s it. */
int proxy_tls_leaf_cert(struct proxy_tls *t, const char *host, X509 **out);

/* Between the tls_*.c files only. */
int proxy_tls_random_serial(X509 *x);
struct proxy_leaf_factory;
int proxy_leaf_factory_new(const struct proxy_ca *ca, size_t cache_max,
			   struct proxy_leaf_factory **out);
void proxy_leaf_factory_free(struct proxy_leaf_factory *f);
EVP_PKEY *proxy_leaf_factory_key(const struct proxy_leaf_factory *f);
int proxy_leaf_get(struct proxy_leaf_factory *f, const char *host, X509 **out);
void proxy_leaf_factory_stats(struct proxy_leaf_factory *f, struct proxy_tls_leaf_stats *out);

/* "host:port", the only key a session is offered again for. */
#define TLS_SESSION_KEY_MAX 264
#define PROXY_TLS_SESSION_CACHE 64u
struct tls_session_cache;
int tls_session_cache_new(size_t max, struct tls_session_cache **out);
void tls_session_cache_free(struct tls_session_cache *c);
/* Takes over one reference to sess; replaces key's entry, or the oldest when full. */
void tls_session_cache_put(struct tls_session_cache *c, const char *key, SSL_SESSION *sess);
/* key's session, removed from the cache (one use per ticket); NULL if none. Caller frees it. */
SSL_SESSION *tls_session_cache_take(struct tls_session_cache *c, const char *key);
void tls_session_cache_stats(struct tls_session_cache *c, struct tls_session_stats *out);

#endif
