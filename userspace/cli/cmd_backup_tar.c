// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "cli/cmd_backup_tar.h"

#define BLOCK 512

struct tgz {
	gzFile gz;
	bool writing, failed;
	uint64_t pad;      /* bytes of padding after the current member (reader) */
};

struct ustar {
	char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], typeflag;
	char linkname[100], magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8];
	char prefix[155], pad[12];
};

_Static_assert(sizeof(struct ustar) == BLOCK, "ustar header is one block");

static unsigned checksum(const struct ustar *h)
{
	const unsigned char *b = (const unsigned char *)h;
	unsigned sum = 0;

	for (size_t i = 0; i < BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : b[i];
	return sum;
}

static int gz_write_all(struct tgz *t, const void *buf, size_t len)
{
	if (len && gzwrite(t->gz, buf, (unsigned)len) != (int)len) {
		t->failed = true;
		return -EIO;
	}
	return 0;
}

int tgz_create(const char *path, struct tgz **out)
{
	struct tgz *t = calloc(1, sizeof(*t));
	int fd;

	if (!t)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(t->gz = gzdopen(fd, "wb9"))) {
		int err = fd < 0 ? -errno : -ENOMEM;

		if (fd >= 0)
			close(fd);
		free(t);
		return err;
	}
	t->writing = true;
	*out = t;
	return 0;
}

static int write_header(struct tgz *t, const char *name, uint64_t size, unsigned mode)
{
	struct ustar h;

	if (strlen(name) >= sizeof(h.name))
		return -ENAMETOOLONG;
	memset(&h, 0, sizeof(h));
	memcpy(h.name, name, strlen(name));
	snprintf(h.mode, sizeof(h.mode), "%07o", mode & 07777);
	snprintf(h.uid, sizeof(h.uid), "%07o", 0);
	snprintf(h.gid, sizeof(h.gid), "%07o", 0);
	snprintf(h.size, sizeof(h.size), "%011llo", (unsigned long long)size);
	snprintf(h.mtime, sizeof(h.mtime), "%011llo", (unsigned long long)time(NULL));
	h.typeflag = '0';
	memcpy(h.magic, "ustar", 6);
	memcpy(h.version, "00", 2);
	snprintf(h.chksum, sizeof(h.chksum), "%06o", checksum(&h));
	h.chksum[7] = ' ';
	return gz_write_all(t, &h, sizeof(h));
}

static int write_pad(struct tgz *t, uint64_t size)
{
	static const char zero[BLOCK];

	return size % BLOCK ? gz_write_all(t, zero, BLOCK - size % BLOCK) : 0;
}

int tgz_add_mem(struct tgz *t, const char *name, const void *data, size_t len, unsigned mode)
{
	int err = write_header(t, name, len, mode);

	if (!err)
		err = gz_write_all(t, data, len);
	if (!err)
		err = write_pad(t, len);
	return err;
}

int tgz_add_file(struct tgz *t, const char *name, const char *path, unsigned mode)
{
	char buf[65536];
	struct stat sb;
	uint64_t left;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb)) {
		err = -errno;
		goto out;
	}
	/* A log that grows while we copy is cut at its size when we started: the header said so. */
	left = (uint64_t)sb.st_size;
	err = write_header(t, name, left, mode);
	while (!err && left) {
		ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));

		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		err = gz_write_all(t, buf, (size_t)n);
		left -= (uint64_t)n;
	}
	if (!err)
		err = write_pad(t, (uint64_t)sb.st_size);
out:
	close(fd);
	return err;
}

int tgz_finish(struct tgz *t)
{
	static const char zero[2 * BLOCK];
	int err = gz_write_all(t, zero, sizeof(zero));

	if (gzclose(t->gz) != Z_OK || t->failed)
		err = -EIO;
	free(t);
	return err;
}

int tgz_open(const char *path, struct tgz **out)
{
	struct tgz *t = calloc(1, sizeof(*t));
	int fd;

	if (!t)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !(t->gz = gzdopen(fd, "rb"))) {
		int err = fd < 0 ? -errno : -ENOMEM;

		if (fd >= 0)
			close(fd);
		free(t);
		return err;
	}
	/* zlib passes non-gzip input through unchanged; a backup is always compressed. */
	if (gzdirect(t->gz) && gzgetc(t->gz) >= 0) {
		gzclose(t->gz);
		free(t);
		return -EBADMSG;
	}
	gzrewind(t->gz);
	*out = t;
	return 0;
}

static int gz_read_all(struct tgz *t, void *buf, size_t len)
{
	int n = gzread(t->gz, buf, (unsigned)len);

	if (n < 0 || (size_t)n != len) {
		t->failed = true;
		return -EBADMSG;
	}
	return 0;
}

static uint64_t octal(const char *s, size_t len, bool *ok)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < len && s[i] == ' ')
		i++;
	if (i == len || s[i] < '0' || s[i] > '7')
		*ok = false;
	for (; i < len && s[i] >= '0' && s[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(s[i] - '0');
	for (; i < len; i++)
		if (s[i] != ' ' && s[i] != '\0')
			*ok = false;
	return v;
}

/* A relative path of plain components: no "..", ".", empty components or control characters. */
static bool safe_name(const char *name)
{
	const char *p = name;

	if (!*name || *name == '/')
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (!n || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return false;
		p += n;
		if (*p == '/' && !*++p)
			return false;
	}
	return true;
}

int tgz_next(struct tgz *t, char *name, size_t name_len, uint64_t *size)
{
	struct ustar h;
	static const char zero[BLOCK];
	bool ok = true;
	char buf[BLOCK];

	while (t->pad) {
		size_t n = t->pad < sizeof(buf) ? (size_t)t->pad : sizeof(buf);

		if (gz_read_all(t, buf, n))
			return -EBADMSG;
		t->pad -= n;
	}
	if (gz_read_all(t, &h, sizeof(h)))
		return -EBADMSG;
	if (!memcmp(&h, zero, BLOCK))
		return 0;
	if (octal(h.chksum, sizeof(h.chksum), &ok) != checksum(&h) || !ok)
		return -EBADMSG;
	if (h.typeflag != '0' && h.typeflag != '\0')
		return -EBADMSG;
	if (memchr(h.name, '\0', sizeof(h.name)) == NULL || h.prefix[0])
		return -EBADMSG;
	*size = octal(h.size, sizeof(h.size), &ok);
	if (!ok || !safe_name(h.name) || strlen(h.name) >= name_len)
		return -EBADMSG;
	snprintf(name, name_len, "%s", h.name);
	t->pad = *size % BLOCK ? BLOCK - *size % BLOCK : 0;
	return 1;
}

int tgz_read_mem(struct tgz *t, uint64_t size, char **data)
{
	char *buf;

	if (size > (64u << 20))
		return -EFBIG;
	buf = malloc((size_t)size + 1);
	if (!buf)
		return -ENOMEM;
	if (gz_read_all(t, buf, (size_t)size)) {
		free(buf);
		return -EBADMSG;
	}
	buf[size] = '\0';
	*data = buf;
	return 0;
}

int tgz_read_file(struct tgz *t, uint64_t size, const char *path, unsigned mode)
{
	char buf[65536];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode), err = 0;

	if (fd < 0)
		return -errno;
	while (size && !err) {
		size_t n = size < sizeof(buf) ? (size_t)size : sizeof(buf);

		err = gz_read_all(t, buf, n);
		if (!err && write(fd, buf, n) != (ssize_t)n)
			err = -EIO;
		size -= n;
	}
	if (close(fd) && !err)
		err = -errno;
	return err;
}

int tgz_close(struct tgz *t)
{
	char buf[BLOCK];
	int err = t->failed ? -EBADMSG : 0;

	/* Read to the end so zlib checks the CRC and length of the whole stream. */
	while (!err) {
		int n = gzread(t->gz, buf, sizeof(buf));

		if (n < 0)
			err = -EBADMSG;
		if (n <= 0)
			break;
	}
	if (gzclose(t->gz) != Z_OK && !err)
		err = -EBADMSG;
	free(t);
	return err;
}
