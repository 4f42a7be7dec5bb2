// SPDX-License-Identifier: GPL-2.0-only
/*
 * The per-cage CA: created once by `cagectl up`, loaded by cage-proxy. The key never leaves
 * ca.key (0600) and this process; nothing here logs or prints it, and buffers that held it are
 * cleansed before they are freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "proxy/tls.h"

struct proxy_ca {
	EVP_PKEY *key;
	X509 *cert;
};

#define CA_VALIDITY_DAYS 3652      /* ten years, leap days included */
#define CA_BACKDATE_SECS 3600      /* tolerate clocks an hour behind ours */
#define CA_FILE_MAX 65536          /* a PEM key or certificate is a few hundred bytes */
#define CA_CN_MAX 64               /* ub-common-name */

X509 *proxy_ca_cert(const struct proxy_ca *ca)
{
	return ca->cert;
}

EVP_PKEY *proxy_ca_key(const struct proxy_ca *ca)
{
	return ca->key;
}

void proxy_ca_free(struct proxy_ca *ca)
{
	if (!ca)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca);
}

/*
 * "cagectl <name> CA": the name is the cage's, so the CA is recognisable in a trust store. The CA
 * lives in <state_dir>/ca, whose basename says nothing; then the parent's basename is the cage.
 */
static void ca_common_name(const char *dir, char *cn, size_t len)
{
	char path[PATH_MAX];
	const char *base = "cage";
	size_t n;
	char *slash;

	snprintf(path, sizeof(path), "%s", dir);
	for (n = strlen(path); n > 1 && path[n - 1] == '/'; n--)
		path[n - 1] = '\0';
	slash = strrchr(path, '/');
	if (slash && strcmp(slash + 1, "ca") == 0 && slash != path) {
		*slash = '\0';
		slash = strrchr(path, '/');
	}
	if (slash && slash[1])
		base = slash + 1;
	else if (!slash && path[0])
		base = path;
	/* "cagectl " + " CA" leave 53 bytes of name within the 64-byte bound. */
	snprintf(cn, len, "cagectl %.*s CA", CA_CN_MAX - 11, base);
}

/* 128 random bits, positive and non-zero, as RFC 5280 4.1.2.2 asks. */
int proxy_tls_random_serial(X509 *x)
{
	unsigned char raw[16];
	BIGNUM *bn = NULL;
	int err = -EIO;

	do {
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return -EIO;
		BN_free(bn);
		bn = BN_bin2bn(raw, sizeof(raw), NULL);
		if (!bn)
			return -ENOMEM;
	} while (BN_is_zero(bn));
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		err = 0;
	BN_free(bn);
	return err;
}

/* Fixed strings only: no caller input ever reaches the extension parser. */
static int ca_add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -EIO;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -ENOMEM;
}

static int ca_build_cert(EVP_PKEY *key, const char *cn, X509 **out)
{
	X509 *cert;
	X509_NAME *name;
	int err = -ENOMEM;

	cert = X509_new();
	if (!cert)
		return -ENOMEM;
	if (!X509_set_version(cert, X509_VERSION_3))
		goto err_free;
	err = proxy_tls_random_serial(cert);
	if (err)
		goto err_free;
	err = -ENOMEM;
	name = X509_get_subject_name(cert);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"cagectl", -1,
					-1, 0) ||
	    !X509_set_issuer_name(cert, name))
		goto err_free;
	if (!X509_gmtime_adj(X509_getm_notBefore(cert), -CA_BACKDATE_SECS) ||
	    !X509_time_adj_ex(X509_getm_notAfter(cert), CA_VALIDITY_DAYS, 0, NULL))
		goto err_free;
	if (!X509_set_pubkey(cert, key))
		goto err_free;
	/* pathlen:0: this CA signs leaves, never another CA. */
	err = ca_add_ext(cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
	if (!err)
		err = ca_add_ext(cert, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (!err)
		err = ca_add_ext(cert, NID_subject_key_identifier, "hash");
	if (err)
		goto err_free;
	err = -EIO;
	if (!X509_sign(cert, key, EVP_sha256()))
		goto err_free;
	*out = cert;
	return 0;

err_free:
	X509_free(cert);
	return err;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A temp file in the same directory, written and fsynced, then renamed over `name` (replace) or
 * linked to it (no replace: -EEXIST if `name` appeared meanwhile). A crash leaves either the old
 * state or the new one, plus at most a stray temp file.
 */
static int write_file_atomic(int dirfd, const char *name, const char *data, size_t len, mode_t mode,
			     bool replace)
{
	char tmp[64];
	int fd, err;

	for (int tries = 0;; tries++) {
		unsigned char rnd[6];

		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return -EIO;
		snprintf(tmp, sizeof(tmp), ".%s.%02x%02x%02x%02x%02x%02x", name, rnd[0], rnd[1], rnd[2],
			 rnd[3], rnd[4], rnd[5]);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries > 8)
			return -errno;
	}
	/* The umask may have narrowed mode; a certificate must stay world-readable. */
	if (fchmod(fd, mode) < 0) {
		err = -errno;
		goto err_close;
	}
	err = write_all(fd, data, len);
	if (err)
		goto err_close;
	if (fsync(fd) < 0) {
		err = -errno;
		goto err_close;
	}
	if (close(fd) < 0) {
		err = -errno;
		goto err_unlink;
	}
	if (replace) {
		if (renameat(dirfd, tmp, dirfd, name) < 0) {
			err = -errno;
			goto err_unlink;
		}
	} else {
		if (linkat(dirfd, tmp, dirfd, name, 0) < 0) {
			err = -errno;
			goto err_unlink;
		}
		unlinkat(dirfd, tmp, 0);
	}
	if (fsync(dirfd) < 0)
		return -errno;
	return 0;

err_close:
	close(fd);
err_unlink:
	unlinkat(dirfd, tmp, 0);
	return err;
}

static int open_ca_dir(const char *dir, bool create)
{
	int fd;

	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fd;
}

/* PEM from a memory BIO, as one contiguous buffer the caller frees (and cleanses, for keys). */
static int bio_take(BIO *bio, char **data, size_t *len)
{
	char *mem;
	long n = BIO_get_mem_data(bio, &mem);

	if (n <= 0)
		return -EIO;
	*data = malloc((size_t)n);
	if (!*data)
		return -ENOMEM;
	memcpy(*data, mem, (size_t)n);
	*len = (size_t)n;
	return 0;
}

int proxy_ca_create(const char *dir)
{
	char cn[CA_CN_MAX + 1];
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	BIO *key_bio = NULL, *cert_bio = NULL;
	char *key_pem = NULL, *cert_pem = NULL;
	size_t key_len = 0, cert_len = 0;
	int dirfd, err;

	dirfd = open_ca_dir(dir, true);
	if (dirfd < 0)
		return dirfd;
	/* The CA dir holds the key: owner only, whatever mode it was made with. */
	if (fchmod(dirfd, 0700) < 0) {
		err = -errno;
		goto out_close;
	}
	if (faccessat(dirfd, PROXY_CA_KEY_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		err = -EEXIST;
		goto out_close;
	}

	err = -EIO;
	key = EVP_EC_gen("P-256");
	if (!key)
		goto out_close;
	ca_common_name(dir, cn, sizeof(cn));
	err = ca_build_cert(key, cn, &cert);
	if (err)
		goto out_free;

	err = -ENOMEM;
	key_bio = BIO_new(BIO_s_secmem());
	cert_bio = BIO_new(BIO_s_mem());
	if (!key_bio || !cert_bio)
		goto out_free;
	err = -EIO;
	if (!PEM_write_bio_PrivateKey(key_bio, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509(cert_bio, cert))
		goto out_free;
	err = bio_take(key_bio, &key_pem, &key_len);
	if (!err)
		err = bio_take(cert_bio, &cert_pem, &cert_len);
	if (err)
		goto out_free;

	/* Certificate first, key last: the key's appearance is the commit point of the CA. */
	err = write_file_atomic(dirfd, PROXY_CA_CERT_FILE, cert_pem, cert_len, 0644, true);
	if (!err)
		err = write_file_atomic(dirfd, PROXY_CA_KEY_FILE, key_pem, key_len, 0600, false);

out_free:
	if (key_pem)
		OPENSSL_cleanse(key_pem, key_len);
	free(key_pem);
	free(cert_pem);
	BIO_free(key_bio);
	BIO_free(cert_bio);
	X509_free(cert);
	EVP_PKEY_free(key);
out_close:
	close(dirfd);
	return err;
}

/* Reads a whole small file; *st gets its metadata for permission checks. */
static int read_small_file(int dirfd, const char *name, char **data, size_t *len, struct stat *st)
{
	char *buf = NULL;
	size_t got = 0;
	int fd, err;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	if (fstat(fd, st) < 0) {
		err = -errno;
		goto err_close;
	}
	err = -EBADMSG;
	if (!S_ISREG(st->st_mode) || st->st_size <= 0 || st->st_size > CA_FILE_MAX)
		goto err_close;
	err = -ENOMEM;
	buf = malloc((size_t)st->st_size);
	if (!buf)
		goto err_close;
	while (got < (size_t)st->st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st->st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EBADMSG;
			goto err_free;
		}
		got += (size_t)n;
	}
	close(fd);
	*data = buf;
	*len = got;
	return 0;

err_free:
	OPENSSL_cleanse(buf, got);
	free(buf);
err_close:
	close(fd);
	return err;
}

/* An encrypted key would make OpenSSL prompt on the terminal; a daemon must fail instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

static int ca_check_validity(X509 *cert)
{
	if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0 ||
	    X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
		return -EKEYEXPIRED;
	return 0;
}

int proxy_ca_load(const char *dir, struct proxy_ca **out)
{
	struct proxy_ca *ca = NULL;
	char *key_pem = NULL, *cert_pem = NULL;
	size_t key_len = 0, cert_len = 0;
	struct stat st;
	BIO *bio;
	int dirfd, err;

	dirfd = open_ca_dir(dir, false);
	if (dirfd < 0)
		return dirfd;
	err = read_small_file(dirfd, PROXY_CA_KEY_FILE, &key_pem, &key_len, &st);
	if (err)
		goto out_close;
	if (st.st_mode & 077) {
		err = -EPERM;
		goto out_free;
	}
	err = read_small_file(dirfd, PROXY_CA_CERT_FILE, &cert_pem, &cert_len, &st);
	if (err)
		goto out_free;

	err = -ENOMEM;
	ca = calloc(1, sizeof(*ca));
	if (!ca)
		goto out_free;
	err = -EBADMSG;
	bio = BIO_new_mem_buf(key_pem, (int)key_len);
	if (!bio)
		goto out_free_ca;
	ca->key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	bio = BIO_new_mem_buf(cert_pem, (int)cert_len);
	if (!bio)
		goto out_free_ca;
	ca->cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!ca->key || !ca->cert)
		goto out_free_ca;
	if (X509_check_private_key(ca->cert, ca->key) != 1 || X509_check_ca(ca->cert) != 1)
		goto out_free_ca;
	err = ca_check_validity(ca->cert);
	if (err)
		goto out_free_ca;
	/* A failed parse or check leaves entries behind; they are not this caller's business. */
	ERR_clear_error();
	*out = ca;
	ca = NULL;
	err = 0;
	goto out_free;

out_free_ca:
	ERR_clear_error();
	proxy_ca_free(ca);
out_free:
	if (key_pem)
		OPENSSL_cleanse(key_pem, key_len);
	free(key_pem);
	free(cert_pem);
out_close:
	close(dirfd);
	return err;
}
