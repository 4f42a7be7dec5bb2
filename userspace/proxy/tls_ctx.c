// SPDX-License-Identifier: GPL-2.0-only
/*
 * The two SSL_CTX objects of cage-proxy, built once and shared by every worker thread: the agent
 * side (a server presenting cage-CA leaves) and the upstream side (a client that verifies the
 * real server). One agent context serves every host; each SSL gets its host's cached leaf, so the
 * cache holds certificates, not contexts, and a new connection costs SSL_new plus one reference.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "proxy/tls.h"

struct proxy_tls {
	struct proxy_leaf_factory *leaves;
	SSL_CTX *agent_ctx;
	SSL_CTX *upstream_ctx;
	X509 *cage_ca;          /* never a trust anchor upstream: that would let the proxy trust itself */
	/* The system bundle, opened at start and parsed on the first upstream dial (see below). */
	int bundle_fd;
	atomic_bool bundle_loaded;
	pthread_mutex_t bundle_lock;
	struct tls_session_cache *sessions;
};

/* Each upstream SSL carries its session key ("host:port") for the new-session callback. */
static int session_key_idx = -1;
static pthread_once_t session_key_once = PTHREAD_ONCE_INIT;

static void session_key_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			     void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	free(ptr);
}

static void session_key_init(void)
{
	session_key_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, session_key_free);
}

/*
 * Only handshakes that verified chain and name get here: a failed one ends before any ticket.
 * The cache keeps a copy: OpenSSL marks the connection's own session object unresumable when
 * the connection is freed without a close_notify, which is how most upstream connections end.
 */
static int upstream_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct proxy_tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	const char *key = SSL_get_ex_data(ssl, session_key_idx);
	SSL_SESSION *copy;

	if (!t || !key || !SSL_SESSION_is_resumable(sess) ||
	    SSL_get_verify_result(ssl) != X509_V_OK)
		return 0;
	copy = SSL_SESSION_dup(sess);
	if (copy)
		tls_session_cache_put(t->sessions, key, copy);
	return 0;
}

#define HOST_MAX 253

/* Both sides: forward secrecy and AEAD only (Mozilla "intermediate" for TLS 1.2). */
#define UPSTREAM_CIPHERS_TLS12                                                                     \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                               \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
/* Our leaves are ECDSA, so only the ECDSA suites can ever be chosen on the agent side. */
#define AGENT_CIPHERS_TLS12                                                                        \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"

static const unsigned char alpn_http11[] = "\x08http/1.1";

/*
 * The proxy parses HTTP/1.1 only: select it when offered, otherwise send no ALPN at all (the client
 * then falls back to HTTP/1.1 or gives up) rather than pretend to speak h2.
 */
static int agent_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
			     const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int i = 0;

	while (i < inlen) {
		unsigned int n = in[i];

		if (n == 0 || n > inlen - i - 1)
			break;
		if (n == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
			*out = in + i + 1;
			*outlen = 8;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + n;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

/* Settings both sides share: TLS 1.2-1.3, no renegotiation or compression, small idle memory. */
static int ctx_common(SSL_CTX *ctx, const char *ciphers12)
{
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION))
		return -EIO;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	/* Release buffers: an idle connection holds no 16 KiB record buffers. Moving buffers: the
	 * event loop may retry a write from a different buffer address after WANT_WRITE. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* One read() fills the record buffer (several records, or a whole one) instead of a
	 * 5-byte header read and a body read per record. The event loop reads a side whose
	 * SSL_has_pending() is true without waiting for an edge (conn.c, px_side_fill). */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (!SSL_CTX_set_cipher_list(ctx, ciphers12) || !SSL_CTX_set1_groups_list(ctx, TLS_GROUPS))
		return -EIO;
	return 0;
}

static int agent_ctx_new(SSL_CTX **out)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int err;

	if (!ctx)
		return -ENOMEM;
	err = ctx_common(ctx, AGENT_CIPHERS_TLS12);
	if (err)
		goto err_free;
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
	SSL_CTX_set_alpn_select_cb(ctx, agent_alpn_select, NULL);
	/* Resumption through stateless tickets only: a server-side session cache would grow with
	 * every client, and the proxy must stay small. One ticket per handshake is enough. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (!SSL_CTX_set_num_tickets(ctx, 1)) {
		err = -EIO;
		goto err_free;
	}
	*out = ctx;
	return 0;

err_free:
	SSL_CTX_free(ctx);
	return err;
}

/*
 * Runs for every certificate of the upstream chain. Refuses the cage CA as an anchor even when a
 * misconfigured store contains it, and leaves the X509 reason ("hostname mismatch") in the error
 * queue, where the handshake failure alone would only say "certificate verify failed".
 */
static int upstream_verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct proxy_tls *t = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
	X509 *cert = X509_STORE_CTX_get_current_cert(sctx);

	if (ok && t && cert && X509_cmp(cert, t->cage_ca) == 0) {
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REJECTED);
		ok = 0;
	}
	if (!ok)
		ERR_raise_data(ERR_LIB_USER, 1, "%s",
			       X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx)));
	return ok;
}

/* OpenSSL's hashed-name form: 8 hex digits, a dot, a sequence number ("5ed36f99.0"). */
static bool is_hash_link(const char *name)
{
	size_t i;

	for (i = 0; i < 8; i++)
		if (!isxdigit((unsigned char)name[i]))
			return false;
	if (name[8] != '.' || !isdigit((unsigned char)name[9]))
		return false;
	for (i = 10; name[i]; i++)
		if (!isdigit((unsigned char)name[i]))
			return false;
	return true;
}

/*
 * The system roots through the hashed directory are read on demand, one file per issuer a server
 * actually chains to; the bundle file parses all ~150 roots at once (about 0.9 MB of RSS). The
 * directory alone is enough when it is populated and nobody pointed SSL_CERT_FILE somewhere.
 */
static bool system_roots_lazy(void)
{
	const char *dir = getenv(X509_get_default_cert_dir_env());
	bool found = false;
	struct dirent *de;
	DIR *d;

	if (getenv(X509_get_default_cert_file_env()))
		return false;
	if (!dir || !*dir || strchr(dir, ':'))
		dir = X509_get_default_cert_dir();
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (de = readdir(d)))
		found = is_hash_link(de->d_name);
	closedir(d);
	return found;
}

/*
 * When the roots come as one bundle file (SSL_CERT_FILE set, or no hashed directory), parsing it
 * takes ~20 ms and ~1 MB for ~150 roots: most of the proxy's start and of its idle memory, spent
 * before anyone dials out. The file is opened at start (as root, so what is readable is decided
 * then, as before) and parsed on the first upstream dial instead, exactly as
 * SSL_CTX_set_default_verify_paths() would have: every certificate and CRL in it, a bad entry
 * ending the load without failing it.
 */
static void bundle_open(struct proxy_tls *t)
{
	const char *file = getenv(X509_get_default_cert_file_env());

	if (!file || !*file)
		file = X509_get_default_cert_file();
	t->bundle_fd = open(file, O_RDONLY | O_CLOEXEC);
}

static void bundle_parse(struct proxy_tls *t)
{
	X509_STORE *store = SSL_CTX_get_cert_store(t->upstream_ctx);
	STACK_OF(X509_INFO) *infos = NULL;
	BIO *bio, *fd_bio;

	if (lseek(t->bundle_fd, 0, SEEK_SET) < 0)
		return;
	/*
	 * A buffer in front of the fd: the PEM reader asks for a line at a time, and a bare fd BIO
	 * answers that with one read(2) per byte (220,000 system calls, ~150 ms, for Debian's
	 * bundle; 4 KiB reads now).
	 */
	fd_bio = BIO_new_fd(t->bundle_fd, BIO_NOCLOSE);
	bio = fd_bio ? BIO_new(BIO_f_buffer()) : NULL;
	if (bio)
		bio = BIO_push(bio, fd_bio);
	else
		BIO_free(fd_bio);
	if (bio)
		infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, "");
	for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *info = sk_X509_INFO_value(infos, i);

		if (info->x509)
			X509_STORE_add_cert(store, info->x509);
		if (info->crl)
			X509_STORE_add_crl(store, info->crl);
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free_all(bio);
	ERR_clear_error();
}

/* Every upstream SSL is made after this, so no verification ever runs on a half-filled store. */
static void bundle_load_once(struct proxy_tls *t)
{
	if (t->bundle_fd < 0 || atomic_load_explicit(&t->bundle_loaded, memory_order_acquire))
		return;
	pthread_mutex_lock(&t->bundle_lock);
	if (!atomic_load_explicit(&t->bundle_loaded, memory_order_relaxed)) {
		bundle_parse(t);
		atomic_store_explicit(&t->bundle_loaded, true, memory_order_release);
	}
	pthread_mutex_unlock(&t->bundle_lock);
}

static int upstream_ctx_new(struct proxy_tls *t, const char *extra_ca_file, SSL_CTX **out)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int err;

	if (!ctx)
		return -ENOMEM;
	err = ctx_common(ctx, UPSTREAM_CIPHERS_TLS12);
	if (err)
		goto err_free;
	SSL_CTX_set_app_data(ctx, t);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, upstream_verify_cb);
	err = -EIO;
	/* The hashed directory is read on demand either way; the bundle only when there is one. */
	if (!SSL_CTX_set_default_verify_dir(ctx))
		goto err_free;
	if (!system_roots_lazy())
		bundle_open(t);
	if (extra_ca_file && !SSL_CTX_load_verify_locations(ctx, extra_ca_file, NULL)) {
		err = access(extra_ca_file, R_OK) < 0 ? -errno : -EBADMSG;
		goto err_free;
	}
	/* set_alpn_protos returns 0 on success, unlike the rest of the API. */
	if (SSL_CTX_set_alpn_protos(ctx, alpn_http11, sizeof(alpn_http11) - 1) != 0)
		goto err_free;
	/* Sessions live in our cache, keyed by host and port, not in OpenSSL's by session id. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, upstream_new_session);
	*out = ctx;
	return 0;

err_free:
	SSL_CTX_free(ctx);
	return err;
}

int proxy_tls_new(struct proxy_ca *ca, const char *extra_upstream_ca_file, size_t leaf_cache_max,
		  struct proxy_tls **out)
{
	struct proxy_tls *t;
	int err;

	/* Explicitly, while openssl.cnf is still reachable (before chroot/seccomp). */
	if (!OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL))
		return -EIO;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->bundle_fd = -1;
	pthread_mutex_init(&t->bundle_lock, NULL);
	t->cage_ca = proxy_ca_cert(ca);
	X509_up_ref(t->cage_ca);
	pthread_once(&session_key_once, session_key_init);
	err = session_key_idx < 0 ? -ENOMEM : 0;
	if (!err)
		err = tls_session_cache_new(PROXY_TLS_SESSION_CACHE, &t->sessions);
	if (!err)
		err = proxy_leaf_factory_new(ca, leaf_cache_max, &t->leaves);
	if (!err)
		err = agent_ctx_new(&t->agent_ctx);
	if (!err)
		err = upstream_ctx_new(t, extra_upstream_ca_file, &t->upstream_ctx);
	if (err)
		goto err_free;
	ERR_clear_error();
	*out = t;
	return 0;

err_free:
	proxy_tls_free(t);
	return err;
}

void proxy_tls_free(struct proxy_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->agent_ctx);
	SSL_CTX_free(t->upstream_ctx);
	proxy_leaf_factory_free(t->leaves);
	tls_session_cache_free(t->sessions);
	X509_free(t->cage_ca);
	if (t->bundle_fd >= 0)
		close(t->bundle_fd);
	pthread_mutex_destroy(&t->bundle_lock);
	free(t);
}

int proxy_tls_leaf_cert(struct proxy_tls *t, const char *host, X509 **out)
{
	return proxy_leaf_get(t->leaves, host, out);
}

void proxy_tls_leaf_stats(struct proxy_tls *t, struct proxy_tls_leaf_stats *out)
{
	proxy_leaf_factory_stats(t->leaves, out);
}

SSL *proxy_tls_agent_ssl(struct proxy_tls *t, int fd, const char *sni)
{
	X509 *leaf;
	SSL *ssl;
	int err;

	err = proxy_leaf_get(t->leaves, sni, &leaf);
	if (err) {
		ERR_raise_data(ERR_LIB_USER, 1, "no leaf certificate: %s", strerror(-err));
		return NULL;
	}
	ssl = SSL_new(t->agent_ctx);
	if (!ssl)
		goto out_free_leaf;
	if (!SSL_use_cert_and_key(ssl, leaf, proxy_leaf_factory_key(t->leaves), NULL, 1) ||
	    !SSL_set_fd(ssl, fd)) {
		SSL_free(ssl);
		ssl = NULL;
		goto out_free_leaf;
	}
	SSL_set_accept_state(ssl);
out_free_leaf:
	X509_free(leaf);
	return ssl;
}

/*
 * host without brackets or trailing dot into buf; *is_ip says whether it is an address literal,
 * which is verified against the iPAddress SAN and never sent as SNI (RFC 6066 3).
 */
static int upstream_host_parse(const char *host, char *buf, size_t len, bool *is_ip)
{
	size_t n = strlen(host);
	unsigned char addr[16];

	if (n && host[n - 1] == '.')
		n--;
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n > HOST_MAX || n >= len)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)host[i] <= 0x20 || (unsigned char)host[i] >= 0x7f)
			return -EINVAL;
	memcpy(buf, host, n);
	buf[n] = '\0';
	*is_ip = inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
	return 0;
}

/* The peer's port: sessions are kept per host and port. 0 when fd is not an inet socket. */
static unsigned peer_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* Tags ssl with its session key and offers the session kept for it, if any. */
static int offer_session(struct proxy_tls *t, SSL *ssl, int fd, const char *name)
{
	char key[TLS_SESSION_KEY_MAX];
	SSL_SESSION *sess;
	char *dup;

	snprintf(key, sizeof(key), "%s:%u", name, peer_port(fd));
	dup = strdup(key);
	if (!dup || !SSL_set_ex_data(ssl, session_key_idx, dup)) {
		free(dup);
		return -ENOMEM;
	}
	sess = tls_session_cache_take(t->sessions, key);
	if (sess) {
		/* A session that no longer fits (expired, other version) means a full handshake. */
		SSL_set_session(ssl, sess);
		SSL_SESSION_free(sess);
	}
	return 0;
}

void proxy_tls_session_stats(struct proxy_tls *t, struct tls_session_stats *out)
{
	tls_session_cache_stats(t->sessions, out);
}

SSL *proxy_tls_upstream_ssl(struct proxy_tls *t, int fd, const char *host)
{
	char name[HOST_MAX + 1];
	X509_VERIFY_PARAM *param;
	bool is_ip;
	SSL *ssl;

	if (upstream_host_parse(host, name, sizeof(name), &is_ip) < 0) {
		ERR_raise_data(ERR_LIB_USER, 1, "invalid upstream host");
		return NULL;
	}
	bundle_load_once(t);
	ssl = SSL_new(t->upstream_ctx);
	if (!ssl)
		return NULL;
	param = SSL_get0_param(ssl);
	if (is_ip) {
		if (!X509_VERIFY_PARAM_set1_ip_asc(param, name))
			goto err_free;
	} else {
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (!X509_VERIFY_PARAM_set1_host(param, name, 0) ||
		    !SSL_set_tlsext_host_name(ssl, name))
			goto err_free;
	}
	if (!SSL_set_fd(ssl, fd) || offer_session(t, ssl, fd, name))
		goto err_free;
	SSL_set_connect_state(ssl);
	return ssl;

err_free:
	SSL_free(ssl);
	return NULL;
}

/* Peer alerts arrive as "sslv3 alert bad certificate" or "tlsv1 alert unknown ca": keep the alert. */
static const char *strip_alert_prefix(const char *reason)
{
	static const char *const prefixes[] = { "sslv3 alert ", "tlsv1 alert ", "tlsv13 alert " };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);

		if (strncmp(reason, prefixes[i], n) == 0)
			return reason + n;
	}
	return reason;
}

/* Audit-safe: lower-case printable ASCII, nothing else. */
static void copy_compact(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; *src && i + 1 < len; src++) {
		char c = *src;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			c = ' ';
		dst[i++] = c;
	}
	dst[i] = '\0';
}

const char *proxy_tls_last_error(char *buf, size_t len)
{
	char reason[96] = "", detail[96] = "";
	const char *data;
	unsigned long e;
	int flags;

	if (!buf || len == 0)
		return buf;
	/* The outermost (last) library error names the failure; our own entry adds the detail. */
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if (ERR_GET_LIB(e) == ERR_LIB_USER) {
			if (!detail[0] && data && (flags & ERR_TXT_STRING))
				copy_compact(detail, sizeof(detail), data);
			continue;
		}
		const char *r = ERR_reason_error_string(e);

		if (r)
			copy_compact(reason, sizeof(reason), strip_alert_prefix(r));
		else
			snprintf(reason, sizeof(reason), "openssl error %lx", e);
	}
	if (reason[0] && detail[0])
		snprintf(buf, len, "%s: %s", reason, detail);
	else if (reason[0] || detail[0])
		snprintf(buf, len, "%s", reason[0] ? reason : detail);
	else
		snprintf(buf, len, "unknown");
	return buf;
}
