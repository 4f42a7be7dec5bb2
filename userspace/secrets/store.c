// SPDX-License-Identifier: GPL-2.0-only
/*
 * <state_dir>/secrets/<KEY>: one file per value, 0600, replaced atomically, optionally sealed
 * with AES-256-GCM under <state_root>/host.key. Layout (docs/secrets.md):
 *
 *   0  "CGSECRET"   8  version (1)   9  flags (bit 0: sealed)   10  reserved (0, 2 bytes)
 *   12 nonce (12)   24 GCM tag (16)  40 value, or its ciphertext
 *
 * The first 12 bytes and the key name are the GCM associated data, so a sealed file copied
 * over another key's name, or a header edited from sealed to plain, does not verify.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "secrets/internal.h"

#define MAGIC "CGSECRET"
#define VERSION 1
#define FLAG_SEALED 0x01
#define HDR_FIXED 12
#define NONCE_LEN 12
#define TAG_LEN 16
#define HDR_LEN (HDR_FIXED + NONCE_LEN + TAG_LEN)

bool secrets_key_valid(const char *key)
{
	size_t n = key ? strlen(key) : 0;

	if (!n || n > SECRETS_KEY_MAX || (key[0] >= '0' && key[0] <= '9'))
		return false;
	return strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int state_secrets_dir(const char *state_dir, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/secrets", state_dir);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int mkdir_p(const char *dir, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, dir, n + 1);
	/* Parents must stay traversable: the daemons reach the cage's config through them. */
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int store_dir_open(const char *state_dir, bool create)
{
	char dir[PATH_MAX];
	int err = state_secrets_dir(state_dir, dir, sizeof(dir)), fd;

	if (err)
		return err;
	if (create) {
		err = mkdir_p(dir, 0700);
		if (err)
			return err;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * temp file in the same directory, write, fsync, rename (or link, when the name must not exist
 * yet), fsync the directory. The file gets the directory's owner: `cagectl up` hands the
 * secrets directory to the proxy user, and every later write follows.
 */
int store_write_atomic(int dir_fd, const char *name, const void *data, size_t len, bool exclusive)
{
	char tmp[SECRETS_KEY_MAX + 32];
	unsigned char rnd[6];
	struct stat dst;
	size_t off = 0;
	int fd, err = 0;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	snprintf(tmp, sizeof(tmp), ".%s.%02x%02x%02x%02x%02x%02x.tmp", name, rnd[0], rnd[1], rnd[2],
		 rnd[3], rnd[4], rnd[5]);
	fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (geteuid() == 0 && fstat(dir_fd, &dst) == 0 && fchown(fd, dst.st_uid, dst.st_gid) < 0) {
		err = -errno;
		goto err_unlink;
	}
	while (off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			goto err_unlink;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		err = -errno;
		goto err_unlink;
	}
	close(fd);
	fd = -1;
	if (exclusive) {
		/* link() fails with EEXIST instead of replacing what a concurrent writer made. */
		if (linkat(dir_fd, tmp, dir_fd, name, 0) < 0)
			err = -errno;
		unlinkat(dir_fd, tmp, 0);
		if (err)
			return err;
	} else if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
		err = -errno;
		goto err_unlink;
	}
	return fsync(dir_fd) < 0 ? -errno : 0;

err_unlink:
	if (fd >= 0)
		close(fd);
	unlinkat(dir_fd, tmp, 0);
	return err;
}

/* Reads a whole small regular file (no symlinks) into locked memory. */
int store_read_file(int dir_fd, const char *name, size_t max, unsigned char **out, size_t *len)
{
	unsigned char *buf;
	struct stat st;
	size_t off = 0;
	int fd, err = 0;

	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = -EBADMSG;
		goto out_close;
	}
	if ((size_t)st.st_size > max) {
		err = -EFBIG;
		goto out_close;
	}
	buf = secure_alloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out_close;
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			secure_free(buf, (size_t)st.st_size + 1);
			err = n < 0 ? -errno : -EIO;
			goto out_close;
		}
		off += (size_t)n;
	}
	*out = buf;
	*len = off;
out_close:
	close(fd);
	return err;
}

static int gcm(bool seal, const unsigned char *key, const unsigned char *nonce,
	       const unsigned char *aad, size_t aad_len, const char *name,
	       const unsigned char *in, size_t len, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, ok, err = -EBADMSG;

	if (!ctx)
		return -ENOMEM;
	ok = (seal ? EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL)
		   : EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL)) &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) &&
	     (seal ? EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce)
		   : EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce));
	ok = ok && (seal ? EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) &&
				   EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)name,
						     (int)strlen(name))
			 : EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) &&
				   EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)name,
						     (int)strlen(name)));
	if (ok && len)
		ok = seal ? EVP_EncryptUpdate(ctx, out, &n, in, (int)len)
			  : EVP_DecryptUpdate(ctx, out, &n, in, (int)len);
	if (ok && seal)
		ok = EVP_EncryptFinal_ex(ctx, out + len, &n) &&
		     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag);
	else if (ok)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) &&
		     EVP_DecryptFinal_ex(ctx, out + len, &n) > 0;
	if (ok)
		err = 0;
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

int secrets_store_write(const char *state_dir, const char *key, const void *value, size_t len,
			const struct secrets_hostkey *hk)
{
	size_t total = HDR_LEN + len;
	unsigned char *file;
	int dir_fd, err;

	if (!secrets_key_valid(key))
		return -EINVAL;
	if (!len || len > SECRETS_VALUE_MAX)
		return -EMSGSIZE;
	if (hk && !hk->loaded)
		return -ENOKEY;
	file = secure_alloc(total);
	if (!file)
		return -ENOMEM;
	memcpy(file, MAGIC, 8);
	file[8] = VERSION;
	file[9] = hk ? FLAG_SEALED : 0;
	if (hk) {
		if (getrandom(file + HDR_FIXED, NONCE_LEN, 0) != NONCE_LEN) {
			err = -EIO;
			goto out_free;
		}
		err = gcm(true, hk->key, file + HDR_FIXED, file, HDR_FIXED, key, value, len,
			  file + HDR_LEN, file + HDR_FIXED + NONCE_LEN);
		if (err)
			goto out_free;
	} else {
		memcpy(file + HDR_LEN, value, len);
	}
	dir_fd = store_dir_open(state_dir, true);
	if (dir_fd < 0) {
		err = dir_fd;
		goto out_free;
	}
	err = store_write_atomic(dir_fd, key, file, total, false);
	close(dir_fd);
out_free:
	secure_free(file, total);
	return err;
}

int secrets_store_read(const char *state_dir, const char *key, const struct secrets_hostkey *hk,
		       unsigned char **value, size_t *len)
{
	unsigned char *file = NULL, *out;
	size_t n = 0, vlen;
	int dir_fd, err;

	if (!secrets_key_valid(key))
		return -EINVAL;
	dir_fd = store_dir_open(state_dir, false);
	if (dir_fd < 0)
		return dir_fd;
	err = store_read_file(dir_fd, key, HDR_LEN + SECRETS_VALUE_MAX, &file, &n);
	close(dir_fd);
	if (err)
		return err;
	if (n <= HDR_LEN || memcmp(file, MAGIC, 8) != 0 || file[8] != VERSION ||
	    (file[9] & ~FLAG_SEALED) || file[10] || file[11]) {
		err = -EBADMSG;
		goto out_free;
	}
	vlen = n - HDR_LEN;
	if (!(file[9] & FLAG_SEALED)) {
		/* A plain file has an all-zero nonce and tag: a sealed file with its flag bit
		 * flipped must not pass for plain text. */
		for (size_t i = HDR_FIXED; i < HDR_LEN; i++)
			if (file[i]) {
				err = -EBADMSG;
				goto out_free;
			}
	}
	if ((file[9] & FLAG_SEALED) && (!hk || !hk->loaded)) {
		err = -ENOKEY;
		goto out_free;
	}
	out = secure_alloc(vlen + 16);
	if (!out) {
		err = -ENOMEM;
		goto out_free;
	}
	if (file[9] & FLAG_SEALED) {
		err = gcm(false, hk->key, file + HDR_FIXED, file, HDR_FIXED, key, file + HDR_LEN,
			  vlen, out, file + HDR_FIXED + NONCE_LEN);
		if (err) {
			secure_free(out, vlen + 16);
			goto out_free;
		}
	} else {
		memcpy(out, file + HDR_LEN, vlen);
	}
	*value = out;
	*len = vlen;
out_free:
	secure_free(file, n + 1);
	return err;
}

void secrets_value_free(unsigned char *value, size_t len)
{
	secure_free(value, len + 16);
}

bool secrets_store_has(const char *state_dir, const char *key)
{
	int dir_fd = secrets_key_valid(key) ? store_dir_open(state_dir, false) : -EINVAL;
	struct stat st;
	bool has;

	if (dir_fd < 0)
		return false;
	has = fstatat(dir_fd, key, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	      st.st_size > HDR_LEN;
	close(dir_fd);
	return has;
}

int secrets_store_remove(const char *state_dir, const char *key)
{
	char meta[SECRETS_KEY_MAX + 8];
	int dir_fd, removed = 0, err = 0;

	if (!secrets_key_valid(key))
		return -EINVAL;
	dir_fd = store_dir_open(state_dir, false);
	if (dir_fd < 0)
		return dir_fd;
	snprintf(meta, sizeof(meta), "%s.meta", key);
	if (unlinkat(dir_fd, key, 0) == 0)
		removed++;
	else if (errno != ENOENT)
		err = -errno;
	if (unlinkat(dir_fd, meta, 0) == 0)
		removed++;
	else if (errno != ENOENT && !err)
		err = -errno;
	if (!err && removed && fsync(dir_fd) < 0)
		err = -errno;
	close(dir_fd);
	if (!err && !removed)
		err = -ENOENT;
	return err;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int secrets_store_list(const char *state_dir, char ***keys, size_t *n)
{
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	int dir_fd, err = 0;
	DIR *d;

	*keys = NULL;
	*n = 0;
	dir_fd = store_dir_open(state_dir, false);
	if (dir_fd == -ENOENT)
		return 0;
	if (dir_fd < 0)
		return dir_fd;
	d = fdopendir(dir_fd);
	if (!d) {
		close(dir_fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		char name[SECRETS_KEY_MAX + 8];
		size_t len = strlen(de->d_name);
		bool dup = false;

		if (de->d_name[0] == '.' || len >= sizeof(name))
			continue;  /* temp files and . / .. */
		memcpy(name, de->d_name, len + 1);
		if (len > 5 && strcmp(name + len - 5, ".meta") == 0)
			name[len - 5] = '\0';
		if (!secrets_key_valid(name))
			continue;
		for (size_t i = 0; i < cnt && !dup; i++)
			dup = strcmp(v[i], name) == 0;
		if (dup)
			continue;
		if (cnt == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[cnt] = strdup(name);
		if (!v[cnt]) {
			err = -ENOMEM;
			break;
		}
		cnt++;
	}
	closedir(d);
	if (err) {
		secrets_keys_free(v, cnt);
		return err;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), by_name);
	*keys = v;
	*n = cnt;
	return 0;
}

void secrets_keys_free(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

int secrets_hostkey_load(const char *state_root, bool create, struct secrets_hostkey *hk)
{
	unsigned char *buf = NULL, fresh[SECRETS_HOSTKEY_LEN];
	struct stat st;
	size_t n = 0;
	int dir_fd, err;

	memset(hk, 0, sizeof(*hk));
	if (create && (err = mkdir_p(state_root, 0711)))
		return err;
	dir_fd = open(state_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return -errno;
	err = store_read_file(dir_fd, "host.key", SECRETS_HOSTKEY_LEN, &buf, &n);
	if (err == -ENOENT && create) {
		if (getrandom(fresh, sizeof(fresh), 0) != (ssize_t)sizeof(fresh)) {
			err = -EIO;
			goto out_close;
		}
		err = store_write_atomic(dir_fd, "host.key", fresh, sizeof(fresh), true);
		OPENSSL_cleanse(fresh, sizeof(fresh));
		if (err && err != -EEXIST)
			goto out_close;
		err = store_read_file(dir_fd, "host.key", SECRETS_HOSTKEY_LEN, &buf, &n);
	}
	if (err)
		goto out_close;
	if (n != SECRETS_HOSTKEY_LEN) {
		err = -EBADMSG;
		goto out_free;
	}
	if (fstatat(dir_fd, "host.key", &st, AT_SYMLINK_NOFOLLOW) < 0 || (st.st_mode & 077)) {
		err = -EPERM;  /* a key others can read protects nothing */
		goto out_free;
	}
	memcpy(hk->key, buf, SECRETS_HOSTKEY_LEN);
	(void)mlock(hk, sizeof(*hk));
	hk->loaded = true;
out_free:
	secure_free(buf, n + 1);
out_close:
	close(dir_fd);
	return err;
}

void secrets_hostkey_clear(struct secrets_hostkey *hk)
{
	OPENSSL_cleanse(hk, sizeof(*hk));
}
