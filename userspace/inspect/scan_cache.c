// SPDX-License-Identifier: GPL-2.0-only
/*
 * Compiled Vectorscan databases on disk (see scan_cache.h). One file per key,
 * <dir>/scan-<hex key>.hsdb: a magic, the SHA-256 of the payload, then hs_serialize_database()'s
 * bytes. A file that is not ours, is open to others or fails its checksum is never deserialized;
 * the caller compiles instead. Files are written to a temporary name and renamed, so a reader
 * sees a whole entry or none.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "inspect/scan_cache.h"

#define MAGIC "CGHSDB01"
#define MAGIC_LEN 8
#define HEADER_LEN (MAGIC_LEN + SCAN_CACHE_KEY_LEN)
#define ENTRY_MAX (64u << 20)         /* far above any real database: a sanity bound */
#define PRUNE_SCAN_MAX 64

static char cache_dir[PATH_MAX];
static uid_t cache_uid;

int scan_cache_set_dir(const char *dir)
{
	struct stat sb;

	cache_dir[0] = '\0';
	if (!dir)
		return 0;
	if (strlen(dir) >= sizeof(cache_dir) - 80)
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &sb) < 0)
		return -errno;
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 077))
		return -EPERM;
	snprintf(cache_dir, sizeof(cache_dir), "%s", dir);
	cache_uid = geteuid();
	return 0;
}

/* Off, or we are no longer who set it up (a dropped daemon cannot write there anyway). */
static bool cache_on(void)
{
	return cache_dir[0] && geteuid() == cache_uid;
}

static int digest_add(EVP_MD_CTX *md, const void *p, size_t len)
{
	return EVP_DigestUpdate(md, p, len) == 1 ? 0 : -EIO;
}

int scan_cache_key(const char *const *exprs, const unsigned *flags, const unsigned *ids,
		   size_t n, unsigned mode, unsigned char key[SCAN_CACHE_KEY_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const char *version = hs_version();
	hs_platform_info_t plat;
	unsigned int len = 0;
	uint64_t n64 = n;
	int err = -EIO;

	if (!md)
		return -ENOMEM;
	memset(&plat, 0, sizeof(plat));
	if (hs_populate_platform(&plat) != HS_SUCCESS)
		goto out;
	/* Every string with its length in front, so no two different sets hash alike. */
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    digest_add(md, MAGIC, MAGIC_LEN) ||
	    digest_add(md, &(uint64_t){ strlen(version) }, sizeof(uint64_t)) ||
	    digest_add(md, version, strlen(version)) ||
	    digest_add(md, &plat.tune, sizeof(plat.tune)) ||
	    digest_add(md, &plat.cpu_features, sizeof(plat.cpu_features)) ||
	    digest_add(md, &mode, sizeof(mode)) || digest_add(md, &n64, sizeof(n64)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint64_t elen = strlen(exprs[i]);

		if (digest_add(md, &ids[i], sizeof(ids[i])) || digest_add(md, &flags[i], sizeof(flags[i])) ||
		    digest_add(md, &elen, sizeof(elen)) || digest_add(md, exprs[i], elen))
			goto out;
	}
	if (EVP_DigestFinal_ex(md, key, &len) == 1 && len == SCAN_CACHE_KEY_LEN)
		err = 0;
out:
	EVP_MD_CTX_free(md);
	return err;
}

static void entry_path(const unsigned char key[SCAN_CACHE_KEY_LEN], char *buf, size_t len)
{
	char hex[SCAN_CACHE_KEY_LEN * 2 + 1];

	for (size_t i = 0; i < SCAN_CACHE_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	snprintf(buf, len, "%s/scan-%s.hsdb", cache_dir, hex);
}

static int sha256(const void *p, size_t len, unsigned char out[SCAN_CACHE_KEY_LEN])
{
	unsigned int n = 0;

	return EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) == 1 && n == SCAN_CACHE_KEY_LEN ? 0 : -EIO;
}

static int read_all(int fd, unsigned char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t r = read(fd, buf + off, len - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EBADMSG;
		off += (size_t)r;
	}
	return 0;
}

int scan_cache_load(const unsigned char key[SCAN_CACHE_KEY_LEN], hs_database_t **out)
{
	unsigned char sum[SCAN_CACHE_KEY_LEN], *buf = NULL;
	char path[PATH_MAX];
	struct stat sb;
	int fd, err;

	if (!cache_on())
		return -ENOENT;
	entry_path(key, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -EBADMSG;
	err = -EBADMSG;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_uid != cache_uid ||
	    (sb.st_mode & 022) || sb.st_size <= HEADER_LEN || sb.st_size > ENTRY_MAX)
		goto out;
	buf = malloc((size_t)sb.st_size);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	if (read_all(fd, buf, (size_t)sb.st_size) || memcmp(buf, MAGIC, MAGIC_LEN) ||
	    sha256(buf + HEADER_LEN, (size_t)sb.st_size - HEADER_LEN, sum) ||
	    CRYPTO_memcmp(sum, buf + MAGIC_LEN, sizeof(sum)))
		goto out;
	if (hs_deserialize_database((const char *)buf + HEADER_LEN, (size_t)sb.st_size - HEADER_LEN,
				    out) != HS_SUCCESS)
		goto out;
	/* The modification time orders entries for pruning: this one was just used. */
	futimens(fd, NULL);
	err = 0;
out:
	free(buf);
	close(fd);
	return err;
}

static int write_all(int fd, const void *p, size_t len)
{
	const unsigned char *c = p;

	while (len) {
		ssize_t w = write(fd, c, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		c += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Keeps the SCAN_CACHE_MAX_ENTRIES most recently used entries. */
static void prune(void)
{
	struct { char name[96]; struct timespec mtime; } e[PRUNE_SCAN_MAX];
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(cache_dir);

	if (!d)
		return;
	while (n < PRUNE_SCAN_MAX && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct stat sb;

		if (strncmp(de->d_name, "scan-", 5) || len < 10 || len >= sizeof(e[0].name) ||
		    strcmp(de->d_name + len - 5, ".hsdb") ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		memcpy(e[n].name, de->d_name, len + 1);
		e[n].mtime = sb.st_mtim;
		n++;
	}
	while (n > SCAN_CACHE_MAX_ENTRIES) {
		size_t oldest = 0;

		for (size_t i = 1; i < n; i++)
			if (e[i].mtime.tv_sec < e[oldest].mtime.tv_sec ||
			    (e[i].mtime.tv_sec == e[oldest].mtime.tv_sec &&
			     e[i].mtime.tv_nsec < e[oldest].mtime.tv_nsec))
				oldest = i;
		unlinkat(dirfd(d), e[oldest].name, 0);
		e[oldest] = e[--n];
	}
	closedir(d);
}

void scan_cache_store(const unsigned char key[SCAN_CACHE_KEY_LEN], const hs_database_t *db)
{
	unsigned char sum[SCAN_CACHE_KEY_LEN];
	char path[PATH_MAX], tmp[PATH_MAX + 32], *bytes = NULL;
	size_t len = 0;
	int fd, err;

	if (!cache_on() || hs_serialize_database(db, &bytes, &len) != HS_SUCCESS)
		return;
	entry_path(key, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto out;
	/* No fsync: a torn entry after a crash fails its checksum and is compiled again. */
	err = sha256(bytes, len, sum);
	if (!err)
		err = write_all(fd, MAGIC, MAGIC_LEN);
	if (!err)
		err = write_all(fd, sum, sizeof(sum));
	if (!err)
		err = write_all(fd, bytes, len);
	if (close(fd) < 0 && !err)
		err = -errno;
	if (err || rename(tmp, path) < 0) {
		unlink(tmp);
		goto out;
	}
	prune();
out:
	free(bytes);
}
