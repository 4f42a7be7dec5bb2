// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLS layer tests: the cage CA on disk, leaves checked by OpenSSL's own chain verification, the
 * LRU bound, concurrent minting, and real handshakes over socketpairs for both sides of the proxy:
 * an agent that trusts only the cage CA, and upstream servers signed by a throwaway test CA.
 * Timings are printed as TAP comments (run with VERBOSE=1 under tests/run to see them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "proxy/tls.h"

static char root[64];          /* per-run scratch dir, removed at the end */

static void path_in_root(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", root, rel);
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

/* CPU time of this thread: test machines are shared, and wall time measures the neighbours. */
static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Creates and loads a CA in <root>/<cage>/ca (the layout cagectl uses). */
static struct proxy_ca *make_ca(const char *cage)
{
	char dir[256], ca_dir[256];
	struct proxy_ca *ca = NULL;

	path_in_root(dir, sizeof(dir), cage);
	snprintf(ca_dir, sizeof(ca_dir), "%s/ca", dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return NULL;
	if (proxy_ca_create(ca_dir) < 0)
		return NULL;
	if (proxy_ca_load(ca_dir, &ca) < 0)
		return NULL;
	return ca;
}

static void write_file(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	fchmod(fd, mode);
	close(fd);
}

static void copy_file(const char *from, const char *to)
{
	char buf[8192];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	assert_true(in >= 0);
	out = open(to, O_WRONLY | O_TRUNC);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

static void test_ca_create_and_load(void **state)
{
	char dir[256], key[300], crt[300], cn[128];
	struct proxy_ca *ca = NULL;
	struct stat st;
	X509 *cert;
	int crit = -1;

	path_in_root(dir, sizeof(dir), "alpha");
	assert_int_equal(mkdir(dir, 0755), 0);
	strcat(dir, "/ca");
	assert_int_equal(proxy_ca_create(dir), 0);
	assert_int_equal(proxy_ca_create(dir), -EEXIST);

	snprintf(key, sizeof(key), "%s/ca.key", dir);
	snprintf(crt, sizeof(crt), "%s/ca.crt", dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(crt, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	assert_int_equal(proxy_ca_load(dir, &ca), 0);
	cert = proxy_ca_cert(ca);
	X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "cagectl alpha CA");
	X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_organizationName, cn, sizeof(cn));
	assert_string_equal(cn, "cagectl");
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)), 0);
	assert_int_equal(X509_check_ca(cert), 1);
	assert_int_equal(X509_get_ext_by_critical(cert, 1, -1) >= 0, 1);

	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(cert, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_true(bc->ca);
	assert_int_equal(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING *ku = X509_get_ext_d2i(cert, NID_key_usage, &crit, NULL);
	assert_non_null(ku);
	assert_int_equal(crit, 1);
	ASN1_BIT_STRING_free(ku);
	assert_int_equal(X509_get_key_usage(cert), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_non_null(X509_get0_subject_key_id(cert));

	EVP_PKEY *pk = proxy_ca_key(ca);
	char group[32];
	size_t glen;
	assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof(group), &glen), 1);
	assert_string_equal(group, "prime256v1");

	BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	assert_true(BN_num_bits(serial) > 64 && BN_num_bits(serial) <= 128);
	assert_false(BN_is_negative(serial));
	BN_free(serial);

	/* Ten years, give or take the hour of backdating and leap days. */
	int days, secs;
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert),
					X509_get0_notAfter(cert)), 1);
	assert_true(days >= 3650 && days <= 3653);
	proxy_ca_free(ca);
}

static void test_ca_load_errors(void **state)
{
	char a[256], b[256], file[300], other[300];
	struct proxy_ca *ca = NULL, *ca_a, *ca_b;

	path_in_root(a, sizeof(a), "nothing");
	assert_int_equal(mkdir(a, 0700), 0);
	assert_int_equal(proxy_ca_load(a, &ca), -ENOENT);
	path_in_root(a, sizeof(a), "missing-dir/ca");
	assert_int_equal(proxy_ca_load(a, &ca), -ENOENT);

	ca_a = make_ca("mis-a");
	ca_b = make_ca("mis-b");
	assert_non_null(ca_a);
	assert_non_null(ca_b);
	proxy_ca_free(ca_a);
	proxy_ca_free(ca_b);
	path_in_root(a, sizeof(a), "mis-a/ca");
	path_in_root(b, sizeof(b), "mis-b/ca");

	/* A certificate from another CA next to this key. */
	snprintf(file, sizeof(file), "%s/ca.crt", a);
	snprintf(other, sizeof(other), "%s/ca.crt", b);
	copy_file(other, file);
	assert_int_equal(proxy_ca_load(a, &ca), -EBADMSG);

	/* Loose permissions on the key. */
	snprintf(file, sizeof(file), "%s/ca.key", b);
	assert_int_equal(chmod(file, 0640), 0);
	assert_int_equal(proxy_ca_load(b, &ca), -EPERM);

	/* A corrupt key, and a key file that is not PEM at all. */
	write_file(file, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0600);
	assert_int_equal(proxy_ca_load(b, &ca), -EBADMSG);
	write_file(file, "not a key", 0600);
	assert_int_equal(proxy_ca_load(b, &ca), -EBADMSG);
	assert_int_equal(proxy_ca_create(b), -EEXIST);

	/* No key = no CA, whatever ca.crt says; create then succeeds. */
	assert_int_equal(unlink(file), 0);
	assert_int_equal(proxy_ca_load(b, &ca), -ENOENT);
	assert_int_equal(proxy_ca_create(b), 0);
	assert_int_equal(proxy_ca_load(b, &ca), 0);
	proxy_ca_free(ca);
	assert_int_equal(ERR_peek_error(), 0);
}

static struct proxy_ca *cage_ca;
static struct proxy_tls *cage_tls;

static X509_STORE *store_with(X509 *anchor)
{
	X509_STORE *store = X509_STORE_new();

	assert_non_null(store);
	assert_int_equal(X509_STORE_add_cert(store, anchor), 1);
	return store;
}

/* OpenSSL's chain verification as a TLS client would run it: only the cage CA trusted. */
static int verify_leaf(X509 *leaf, const char *host, const char *ip)
{
	X509_STORE *store = store_with(proxy_ca_cert(cage_ca));
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	int rc;

	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
	if (host)
		X509_VERIFY_PARAM_set1_host(param, host, 0);
	if (ip)
		X509_VERIFY_PARAM_set1_ip_asc(param, ip);
	rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

static void test_leaf_verifies(void **state)
{
	X509 *leaf, *again;
	X509 *ca = proxy_ca_cert(cage_ca);
	time_t now = time(NULL);
	char cn[128];

	assert_int_equal(proxy_tls_leaf_cert(cage_tls, "api.example.test", &leaf), 0);
	assert_int_equal(verify_leaf(leaf, "api.example.test", NULL), X509_V_OK);
	assert_int_equal(verify_leaf(leaf, "other.example.test", NULL), X509_V_ERR_HOSTNAME_MISMATCH);
	assert_int_equal(verify_leaf(leaf, "example.test", NULL), X509_V_ERR_HOSTNAME_MISMATCH);
	assert_int_equal(X509_check_host(leaf, "api.example.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ca(leaf), 0);

	assert_true(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE);
	assert_int_equal(X509_get_extended_key_usage(leaf), XKU_SSL_SERVER);
	assert_int_equal(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(ca)), 0);
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
					       X509_get0_subject_key_id(ca)), 0);
	assert_non_null(X509_get0_subject_key_id(leaf));
	X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "api.example.test");

	/* From an hour ago to thirty days ahead. */
	assert_true(X509_cmp_time(X509_get0_notBefore(leaf), &(time_t){ now - 3600 + 5 }) < 0);
	assert_true(X509_cmp_time(X509_get0_notBefore(leaf), &(time_t){ now - 3600 - 5 }) > 0);
	assert_true(X509_cmp_time(X509_get0_notAfter(leaf), &(time_t){ now + 30 * 86400 - 5 }) > 0);
	assert_true(X509_cmp_time(X509_get0_notAfter(leaf), &(time_t){ now + 30 * 86400 + 5 }) < 0);

	/* One entry per name: case and a trailing dot do not mint again. */
	assert_int_equal(proxy_tls_leaf_cert(cage_tls, "API.Example.Test.", &again), 0);
	assert_ptr_equal(leaf, again);
	X509_free(again);
	X509_free(leaf);

	/* An IP literal gets an iPAddress SAN, not a dNSName. */
	assert_int_equal(proxy_tls_leaf_cert(cage_tls, "192.0.2.7", &leaf), 0);
	assert_int_equal(verify_leaf(leaf, NULL, "192.0.2.7"), X509_V_OK);
	GENERAL_NAMES *san = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 1);
	assert_int_equal(sk_GENERAL_NAME_value(san, 0)->type, GEN_IPADD);
	GENERAL_NAMES_free(san);
	X509_free(leaf);
	assert_int_equal(proxy_tls_leaf_cert(cage_tls, "[2001:db8::1]", &leaf), 0);
	assert_int_equal(verify_leaf(leaf, NULL, "2001:db8::1"), X509_V_OK);
	X509_free(leaf);

	/* A 64+ byte name has no CN; the SAN alone carries it, critical. */
	const char *longname = "a123456789b123456789c123456789d123456789e123456789f12345.example.test";
	assert_int_equal(proxy_tls_leaf_cert(cage_tls, longname, &leaf), 0);
	assert_int_equal(verify_leaf(leaf, longname, NULL), X509_V_OK);
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(leaf)), 0);
	X509_free(leaf);

	static const char *const bad[] = { "", ".", "a..b.test", ".a.test", "*.a.test", "a b.test",
					   "a/b.test", "a,DNS:evil.test", "caf\xc3\xa9.test", "[1.2.3.4]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(proxy_tls_leaf_cert(cage_tls, bad[i], &leaf), -EINVAL);
	assert_null(proxy_tls_agent_ssl(cage_tls, -1, "*.evil.test"));
	char why[128];
	assert_string_equal(proxy_tls_last_error(why, sizeof(why)),
			    "no leaf certificate: invalid argument");
}

static void test_leaf_lru_bound(void **state)
{
	struct proxy_tls *t;
	struct proxy_tls_leaf_stats st;
	char host[32];
	X509 *leaf, *first;

	assert_int_equal(proxy_tls_new(cage_ca, NULL, 4, &t), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(host, sizeof(host), "h%d.test", i);
		assert_int_equal(proxy_tls_leaf_cert(t, host, &leaf), 0);
		if (i == 0)
			first = leaf;
		else
			X509_free(leaf);
	}
	/* Touch h0: h1 becomes the least recently used and goes first. */
	assert_int_equal(proxy_tls_leaf_cert(t, "h0.test", &leaf), 0);
	assert_ptr_equal(leaf, first);
	X509_free(leaf);
	assert_int_equal(proxy_tls_leaf_cert(t, "h4.test", &leaf), 0);
	X509_free(leaf);
	proxy_tls_leaf_stats(t, &st);
	assert_int_equal(st.entries, 4);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.misses, 5);
	assert_int_equal(st.hits, 1);

	assert_int_equal(proxy_tls_leaf_cert(t, "h0.test", &leaf), 0);
	assert_ptr_equal(leaf, first);
	X509_free(leaf);
	assert_int_equal(proxy_tls_leaf_cert(t, "h1.test", &leaf), 0);
	X509_free(leaf);
	proxy_tls_leaf_stats(t, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 6);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.entries, 4);

	/* An evicted leaf still held by a connection stays valid after the cache dropped it. */
	for (int i = 0; i < 50; i++) {
		snprintf(host, sizeof(host), "churn%d.test", i);
		assert_int_equal(proxy_tls_leaf_cert(t, host, &leaf), 0);
		X509_free(leaf);
	}
	assert_int_equal(verify_leaf(first, "h0.test", NULL), X509_V_OK);
	X509_free(first);
	proxy_tls_free(t);
}

#define THREADS 4
#define THREAD_ROUNDS 300

struct thread_arg {
	struct proxy_tls *t;
	int id;
	X509 *shared;            /* the leaf this thread saw for the shared host */
	int failures;
};

static void *mint_thread(void *p)
{
	struct thread_arg *a = p;
	char host[64];
	X509 *leaf;

	for (int i = 0; i < THREAD_ROUNDS; i++) {
		/* Alternate the host everybody wants, hosts private to this thread, and hosts shared
		 * by all threads that fall out of the bound (the cache holds 32). */
		switch (i % 3) {
		case 0:
			snprintf(host, sizeof(host), "same.test");
			break;
		case 1:
			snprintf(host, sizeof(host), "t%d-%d.test", a->id, i % 10);
			break;
		default:
			snprintf(host, sizeof(host), "shared-%d.test", i % 40);
			break;
		}
		if (proxy_tls_leaf_cert(a->t, host, &leaf) != 0 ||
		    X509_check_host(leaf, host, 0, 0, NULL) != 1) {
			a->failures++;
			continue;
		}
		if (i % 3 == 0 && !a->shared)
			a->shared = leaf;
		else if (i % 3 == 0 && a->shared != leaf)
			a->failures++, X509_free(leaf);
		else
			X509_free(leaf);
	}
	return NULL;
}

static void test_leaf_concurrent(void **state)
{
	struct thread_arg args[THREADS];
	pthread_t tids[THREADS];
	struct proxy_tls_leaf_stats st;
	struct proxy_tls *t;

	assert_int_equal(proxy_tls_new(cage_ca, NULL, 32, &t), 0);
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct thread_arg){ .t = t, .id = i };
		assert_int_equal(pthread_create(&tids[i], NULL, mint_thread, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(tids[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(args[i].failures, 0);
		/* Everybody presents the same leaf for the shared host (it stays hot in the LRU). */
		assert_ptr_equal(args[i].shared, args[0].shared);
	}
	for (int i = 0; i < THREADS; i++)
		X509_free(args[i].shared);
	proxy_tls_leaf_stats(t, &st);
	assert_true(st.entries <= 32);
	assert_int_equal(st.hits + st.misses, THREADS * THREAD_ROUNDS);
	assert_true(st.evictions > 0);
	proxy_tls_free(t);
}

/* Both ends of a handshake on one thread over a non-blocking socketpair. */
struct side {
	SSL *ssl;
	int state;               /* 0 running, 1 done, -1 failed */
	char why[128];
};

static void step(struct side *s)
{
	int rc, e;

	if (s->state)
		return;
	rc = SSL_do_handshake(s->ssl);
	if (rc == 1) {
		s->state = 1;
		return;
	}
	e = SSL_get_error(s->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return;
	s->state = -1;
	proxy_tls_last_error(s->why, sizeof(s->why));
}

static void handshake(struct side *client, struct side *server)
{
	for (int round = 0; round < 100 && (!client->state || !server->state); round++) {
		step(client);
		step(server);
		/* A side that failed sent its alert; the other needs a few rounds to read it. */
		if ((client->state < 0 || server->state < 0) && round > 20)
			break;
	}
}

static void make_pair(int fds[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
}

/* An agent: trusts only `anchor`, offers `alpn`, checks `host`. */
static SSL *agent_client(X509 *anchor, const char *host, const unsigned char *alpn, size_t alpn_len,
			 int max_version, int fd)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;

	assert_non_null(ctx);
	SSL_CTX_set_cert_store(ctx, store_with(anchor));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (max_version) {
		SSL_CTX_set_min_proto_version(ctx, max_version);
		SSL_CTX_set_max_proto_version(ctx, max_version);
		/* TLS 1.1 needs security level 0 on a modern OpenSSL even to try. */
		SSL_CTX_set_security_level(ctx, 0);
	}
	if (alpn)
		assert_int_equal(SSL_CTX_set_alpn_protos(ctx, alpn, (unsigned)alpn_len), 0);
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	SSL_set_tlsext_host_name(ssl, host);
	SSL_set1_host(ssl, host);
	SSL_set_fd(ssl, fd);
	SSL_set_connect_state(ssl);
	return ssl;
}

static void alpn_of(SSL *ssl, char *buf, size_t len)
{
	const unsigned char *p;
	unsigned int n;

	SSL_get0_alpn_selected(ssl, &p, &n);
	snprintf(buf, len, "%.*s", (int)n, p ? (const char *)p : "");
}

static void test_agent_handshake(void **state)
{
	static const unsigned char h2_h11[] = "\x02h2\x08http/1.1";
	static const unsigned char h2_only[] = "\x02h2";
	X509 *anchor = proxy_ca_cert(cage_ca);
	struct side c, s;
	char alpn[32], buf[16];
	int fds[2];

	make_pair(fds);
	c = (struct side){ .ssl = agent_client(anchor, "api.example.test", h2_h11,
					      sizeof(h2_h11) - 1, 0, fds[1]) };
	s = (struct side){ .ssl = proxy_tls_agent_ssl(cage_tls, fds[0], "api.example.test") };
	assert_non_null(s.ssl);
	handshake(&c, &s);
	assert_int_equal(c.state, 1);
	assert_int_equal(s.state, 1);
	assert_int_equal(SSL_get_verify_result(c.ssl), X509_V_OK);
	assert_int_equal(SSL_version(c.ssl), TLS1_3_VERSION);
	alpn_of(c.ssl, alpn, sizeof(alpn));
	assert_string_equal(alpn, "http/1.1");
	alpn_of(s.ssl, alpn, sizeof(alpn));
	assert_string_equal(alpn, "http/1.1");
	assert_int_equal(SSL_write(c.ssl, "GET / HTTP/1.1\r\n", 16), 16);
	int n = -1;
	for (int i = 0; i < 10 && n <= 0; i++)
		n = SSL_read(s.ssl, buf, sizeof(buf));
	assert_int_equal(n, 16);
	assert_memory_equal(buf, "GET / HTTP/1.1\r\n", 16);
	SSL_free(c.ssl);
	SSL_free(s.ssl);
	close(fds[0]);
	close(fds[1]);

	/* h2 only: no ALPN at all rather than a protocol the proxy cannot parse. TLS 1.2 works. */
	make_pair(fds);
	c = (struct side){ .ssl = agent_client(anchor, "api.example.test", h2_only,
					      sizeof(h2_only) - 1, TLS1_2_VERSION, fds[1]) };
	s = (struct side){ .ssl = proxy_tls_agent_ssl(cage_tls, fds[0], "api.example.test") };
	handshake(&c, &s);
	assert_int_equal(c.state, 1);
	assert_int_equal(s.state, 1);
	assert_int_equal(SSL_version(c.ssl), TLS1_2_VERSION);
	assert_string_equal(SSL_get_cipher_name(c.ssl), "ECDHE-ECDSA-AES128-GCM-SHA256");
	alpn_of(c.ssl, alpn, sizeof(alpn));
	assert_string_equal(alpn, "");
	SSL_free(c.ssl);
	SSL_free(s.ssl);
	close(fds[0]);
	close(fds[1]);

	/* TLS 1.1 is refused. */
	make_pair(fds);
	c = (struct side){ .ssl = agent_client(anchor, "api.example.test", NULL, 0, TLS1_1_VERSION,
					      fds[1]) };
	s = (struct side){ .ssl = proxy_tls_agent_ssl(cage_tls, fds[0], "api.example.test") };
	handshake(&c, &s);
	assert_int_equal(s.state, -1);
	assert_int_not_equal(c.state, 1);
	printf("# tls 1.1 client -> server says: %s\n", s.why);
	assert_string_equal(s.why, "unsupported protocol");
	SSL_free(c.ssl);
	SSL_free(s.ssl);
	close(fds[0]);
	close(fds[1]);

	/* An agent that does not trust the cage CA: its alert is the server's audit reason. */
	struct proxy_ca *stranger = make_ca("stranger");
	assert_non_null(stranger);
	make_pair(fds);
	c = (struct side){ .ssl = agent_client(proxy_ca_cert(stranger), "api.example.test", NULL, 0,
					      0, fds[1]) };
	s = (struct side){ .ssl = proxy_tls_agent_ssl(cage_tls, fds[0], "api.example.test") };
	handshake(&c, &s);
	assert_int_equal(c.state, -1);
	assert_int_equal(s.state, -1);
	printf("# untrusting agent: client says \"%s\", server says \"%s\"\n", c.why, s.why);
	assert_string_equal(s.why, "unknown ca");
	SSL_free(c.ssl);
	SSL_free(s.ssl);
	close(fds[0]);
	close(fds[1]);
	proxy_ca_free(stranger);

	/* Plain HTTP on the TLS port. */
	make_pair(fds);
	s = (struct side){ .ssl = proxy_tls_agent_ssl(cage_tls, fds[0], "api.example.test") };
	assert_int_equal(write(fds[1], "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27), 27);
	handshake(&(struct side){ .state = 1 }, &s);
	assert_int_equal(s.state, -1);
	assert_string_equal(s.why, "http request");
	SSL_free(s.ssl);
	close(fds[0]);
	close(fds[1]);
}

/* An upstream server: a leaf for `host` from a proxy_tls built on the test CA. */
static struct proxy_tls *lab_tls;
static char lab_ca_file[300], cage_ca_file[300];

static struct proxy_ca *lab_ca;

/* A server whose certificate names exactly `dns` (wildcards included), signed by the lab CA. */
static SSL *server_named(const char *dns, int fd)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *v = ASN1_IA5STRING_new();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL *ssl;

	assert_non_null(key);
	assert_non_null(ctx);
	ASN1_STRING_set(v, dns, -1);
	GENERAL_NAME_set0_value(gn, GEN_DNS, v);
	sk_GENERAL_NAME_push(names, gn);
	X509_set_version(cert, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 42);
	X509_set_issuer_name(cert, X509_get_subject_name(proxy_ca_cert(lab_ca)));
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, key);
	X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT);
	assert_true(X509_sign(cert, proxy_ca_key(lab_ca), EVP_sha256()) > 0);
	assert_int_equal(SSL_CTX_use_certificate(ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_accept_state(ssl);
	SSL_CTX_free(ctx);
	GENERAL_NAMES_free(names);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ssl;
}

static void upstream_case(struct proxy_tls *t, const char *server_host, const char *dial_host,
			  struct proxy_tls *server_tls, struct side *c, struct side *s, char *sni,
			  size_t sni_len)
{
	int fds[2];
	const char *name;

	make_pair(fds);
	*s = (struct side){ .ssl = server_tls ? proxy_tls_agent_ssl(server_tls, fds[0], server_host)
					      : server_named(server_host, fds[0]) };
	*c = (struct side){ .ssl = proxy_tls_upstream_ssl(t, fds[1], dial_host) };
	assert_non_null(s->ssl);
	assert_non_null(c->ssl);
	handshake(c, s);
	name = SSL_get_servername(s->ssl, TLSEXT_NAMETYPE_host_name);
	snprintf(sni, sni_len, "%s", name ? name : "");
	close(fds[0]);
	close(fds[1]);
}

static void free_sides(struct side *c, struct side *s)
{
	SSL_free(c->ssl);
	SSL_free(s->ssl);
}

static void test_upstream_verification(void **state)
{
	struct proxy_tls *with_lab, *system_only, *self_trusting, *t;
	struct side c, s;
	char sni[300], alpn[32];

	assert_int_equal(proxy_tls_new(cage_ca, lab_ca_file, 16, &with_lab), 0);
	assert_int_equal(proxy_tls_new(cage_ca, NULL, 16, &system_only), 0);
	assert_int_equal(proxy_tls_new(cage_ca, cage_ca_file, 16, &self_trusting), 0);
	char missing[320];
	snprintf(missing, sizeof(missing), "%s.missing", lab_ca_file);
	assert_int_equal(proxy_tls_new(cage_ca, missing, 16, &t), -ENOENT);
	assert_int_equal(proxy_tls_new(cage_ca, "/etc/hostname", 16, &t), -EBADMSG);

	upstream_case(with_lab, "upstream.test", "upstream.test", lab_tls, &c, &s, sni, sizeof(sni));
	assert_int_equal(c.state, 1);
	assert_int_equal(s.state, 1);
	assert_int_equal(SSL_get_verify_result(c.ssl), X509_V_OK);
	assert_string_equal(sni, "upstream.test");
	alpn_of(c.ssl, alpn, sizeof(alpn));
	assert_string_equal(alpn, "http/1.1");
	free_sides(&c, &s);

	/* A trailing dot is not sent in SNI (RFC 6066) but still verified. */
	upstream_case(with_lab, "upstream.test", "upstream.test.", lab_tls, &c, &s, sni, sizeof(sni));
	assert_int_equal(c.state, 1);
	assert_string_equal(sni, "upstream.test");
	free_sides(&c, &s);

	/* The lab CA is not a system root. */
	upstream_case(system_only, "upstream.test", "upstream.test", lab_tls, &c, &s, sni,
		      sizeof(sni));
	assert_int_equal(c.state, -1);
	printf("# untrusted upstream: %s (server: %s)\n", c.why, s.why);
	assert_string_equal(c.why, "certificate verify failed: unable to get local issuer certificate");
	free_sides(&c, &s);

	/* Right CA, wrong name. */
	upstream_case(with_lab, "upstream.test", "other.test", lab_tls, &c, &s, sni, sizeof(sni));
	assert_int_equal(c.state, -1);
	assert_string_equal(c.why, "certificate verify failed: hostname mismatch");
	assert_string_equal(sni, "other.test");
	free_sides(&c, &s);

	/* A wildcard covers one label, never two, and never part of a label. */
	upstream_case(with_lab, "*.wild.test", "a.wild.test", NULL, &c, &s, sni, sizeof(sni));
	assert_int_equal(c.state, 1);
	free_sides(&c, &s);
	upstream_case(with_lab, "*.wild.test", "a.b.wild.test", NULL, &c, &s, sni, sizeof(sni));
	assert_int_equal(c.state, -1);
	assert_string_equal(c.why, "certificate verify failed: hostname mismatch");
	free_sides(&c, &s);
	upstream_case(with_lab, "f*.wild.test", "foo.wild.test", NULL, &c, &s, sni, sizeof(sni));
	assert_int_equal(c.state, -1);
	assert_string_equal(c.why, "certificate verify failed: hostname mismatch");
	free_sides(&c, &s);

	/* An IP literal: verified against the iPAddress SAN, and no SNI at all. */
	upstream_case(with_lab, "127.0.0.1", "127.0.0.1", lab_tls, &c, &s, sni, sizeof(sni));
	assert_int_equal(c.state, 1);
	assert_string_equal(sni, "");
	free_sides(&c, &s);
	upstream_case(with_lab, "127.0.0.1", "127.0.0.2", lab_tls, &c, &s, sni, sizeof(sni));
	assert_int_equal(c.state, -1);
	assert_string_equal(c.why, "certificate verify failed: ip address mismatch");
	free_sides(&c, &s);

	/* The cage CA is never an upstream anchor, even when the extra file holds it: otherwise
	 * a connection looped back into the proxy would verify against itself. */
	upstream_case(self_trusting, "upstream.test", "upstream.test", cage_tls, &c, &s, sni,
		      sizeof(sni));
	assert_int_equal(c.state, -1);
	assert_string_equal(c.why, "certificate verify failed: certificate rejected");
	free_sides(&c, &s);

	assert_null(proxy_tls_upstream_ssl(with_lab, -1, "bad host"));
	assert_string_equal(proxy_tls_last_error(sni, sizeof(sni)), "invalid upstream host");
	assert_string_equal(proxy_tls_last_error(sni, sizeof(sni)), "unknown");

	proxy_tls_free(with_lab);
	proxy_tls_free(system_only);
	proxy_tls_free(self_trusting);
}

/* A handshake, then one read on the client so that it takes the server's ticket. */
static int resumed_dial(struct proxy_tls *t, const char *server_host, const char *dial_host)
{
	struct side c, s;
	char byte;
	int fds[2], reused;

	make_pair(fds);
	s = (struct side){ .ssl = proxy_tls_agent_ssl(lab_tls, fds[0], server_host) };
	c = (struct side){ .ssl = proxy_tls_upstream_ssl(t, fds[1], dial_host) };
	assert_non_null(s.ssl);
	assert_non_null(c.ssl);
	handshake(&c, &s);
	if (c.state != 1 || s.state != 1) {
		reused = -1;
	} else {
		assert_true(SSL_read(c.ssl, &byte, 1) <= 0);
		ERR_clear_error();
		reused = SSL_session_reused(c.ssl);
		assert_int_equal(SSL_get_verify_result(c.ssl), X509_V_OK);
	}
	close(fds[0]);
	close(fds[1]);
	free_sides(&c, &s);
	return reused;
}

/*
 * Upstream resumption: the second dial to a host resumes the first one's session, a ticket is
 * used once, and a session is never offered to another host name, even one the same server's
 * certificate would cover.
 */
static void test_upstream_resumption(void **state)
{
	struct proxy_tls *t;
	struct tls_session_stats st;

	assert_int_equal(proxy_tls_new(cage_ca, lab_ca_file, 16, &t), 0);
	assert_int_equal(resumed_dial(t, "upstream.test", "upstream.test"), 0);
	proxy_tls_session_stats(t, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(resumed_dial(t, "upstream.test", "upstream.test"), 1);
	assert_int_equal(resumed_dial(t, "upstream.test", "upstream.test"), 1);
	/* Another name: a full handshake, verified (and failing) as if nothing were cached. */
	assert_int_equal(resumed_dial(t, "upstream.test", "other.test"), -1);
	assert_int_equal(resumed_dial(t, "other.test", "other.test"), 0);
	proxy_tls_session_stats(t, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.taken, 2);
	proxy_tls_free(t);

	/* The cache: one entry per key, the oldest goes when full, a taken entry is gone. */
	struct tls_session_cache *c;
	char key[32];

	assert_int_equal(tls_session_cache_new(4, &c), 0);
	for (int i = 0; i < 6; i++) {
		snprintf(key, sizeof(key), "h%d:443", i);
		tls_session_cache_put(c, key, SSL_SESSION_new());
	}
	tls_session_cache_put(c, "h5:443", SSL_SESSION_new());
	tls_session_cache_stats(c, &st);
	assert_int_equal(st.entries, 4);
	assert_int_equal(st.evictions, 2);
	assert_null(tls_session_cache_take(c, "h0:443"));
	SSL_SESSION *sess = tls_session_cache_take(c, "h5:443");

	assert_non_null(sess);
	SSL_SESSION_free(sess);
	assert_null(tls_session_cache_take(c, "h5:443"));
	tls_session_cache_free(c);
}

static void test_timings(void **state)
{
	struct proxy_tls *t;
	X509 *leaf;
	char host[64];
	double t0, mint, hit, ssl_new, hs;
	const int mints = 300, hits = 200000, news = 20000, handshakes = 200;

	assert_int_equal(proxy_tls_new(cage_ca, NULL, 1024, &t), 0);
	t0 = now_sec();
	for (int i = 0; i < mints; i++) {
		snprintf(host, sizeof(host), "m%d.timing.test", i);
		assert_int_equal(proxy_tls_leaf_cert(t, host, &leaf), 0);
		X509_free(leaf);
	}
	mint = (now_sec() - t0) / mints;
	t0 = now_sec();
	for (int i = 0; i < hits; i++) {
		assert_int_equal(proxy_tls_leaf_cert(t, "m7.timing.test", &leaf), 0);
		X509_free(leaf);
	}
	hit = (now_sec() - t0) / hits;
	t0 = now_sec();
	for (int i = 0; i < news; i++)
		SSL_free(proxy_tls_agent_ssl(t, -1, "m7.timing.test"));
	ssl_new = (now_sec() - t0) / news;

	t0 = now_sec();
	for (int i = 0; i < handshakes; i++) {
		struct side c, s;
		int fds[2];

		make_pair(fds);
		c = (struct side){ .ssl = agent_client(proxy_ca_cert(cage_ca), "m7.timing.test", NULL, 0,
						      0, fds[1]) };
		s = (struct side){ .ssl = proxy_tls_agent_ssl(t, fds[0], "m7.timing.test") };
		handshake(&c, &s);
		assert_int_equal(c.state + s.state, 2);
		free_sides(&c, &s);
		close(fds[0]);
		close(fds[1]);
	}
	hs = (now_sec() - t0) / handshakes;
	printf("# timing (cpu): mint %.3f ms, cached lookup %.2f us, agent SSL_new+cert %.2f us, "
	       "TLS 1.3 handshake, both ends on one thread %.3f ms\n",
	       mint * 1e3, hit * 1e6, ssl_new * 1e6, hs * 1e3);
	proxy_tls_free(t);
}

static int setup(void **state)
{
	char dir[256];

	snprintf(root, sizeof(root), "/tmp/test_tls.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	cage_ca = make_ca("cage");
	lab_ca = make_ca("lab");
	if (!cage_ca || !lab_ca)
		return -1;
	path_in_root(dir, sizeof(dir), "cage/ca/ca.crt");
	snprintf(cage_ca_file, sizeof(cage_ca_file), "%s", dir);
	path_in_root(dir, sizeof(dir), "lab/ca/ca.crt");
	snprintf(lab_ca_file, sizeof(lab_ca_file), "%s", dir);
	if (proxy_tls_new(cage_ca, NULL, 1024, &cage_tls) < 0 ||
	    proxy_tls_new(lab_ca, NULL, 64, &lab_tls) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	proxy_tls_free(cage_tls);
	proxy_tls_free(lab_tls);
	proxy_ca_free(cage_ca);
	proxy_ca_free(lab_ca);
	if (root[0])
		nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_create_and_load),
		cmocka_unit_test(test_ca_load_errors),
		cmocka_unit_test(test_leaf_verifies),
		cmocka_unit_test(test_leaf_lru_bound),
		cmocka_unit_test(test_leaf_concurrent),
		cmocka_unit_test(test_agent_handshake),
		cmocka_unit_test(test_upstream_verification),
		cmocka_unit_test(test_upstream_resumption),
		cmocka_unit_test(test_timings),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
