// SPDX-License-Identifier: GPL-2.0-only
#include "enforce/addrpool.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Keeps the linear scan for a free index short even for a huge pool. */
#define ADDRPOOL_MAX_SLOTS (1u << 16)
#define CAGE_NAME_MAX 63

static int cidr_split(const char *cidr, char *addr, size_t addr_len, int max_prefix, int *prefix)
{
	const char *slash;
	char *end;
	long value;
	size_t len;

	if (!cidr)
		return -EINVAL;
	slash = strchr(cidr, '/');
	if (!slash)
		return -EINVAL;
	len = (size_t)(slash - cidr);
	if (len == 0 || len >= addr_len)
		return -EINVAL;
	memcpy(addr, cidr, len);
	addr[len] = '\0';
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	value = strtol(slash + 1, &end, 10);
	if (errno || *end || value < 0 || value > max_prefix || end - (slash + 1) > 3)
		return -EINVAL;
	*prefix = (int)value;
	return 0;
}

int addrpool_parse4(const char *cidr, uint32_t *net, int *prefix)
{
	char addr[INET_ADDRSTRLEN];
	struct in_addr in;
	uint32_t host_mask;
	int len, err;

	err = cidr_split(cidr, addr, sizeof(addr), 32, &len);
	if (err)
		return err;
	if (inet_pton(AF_INET, addr, &in) != 1)
		return -EINVAL;
	host_mask = len == 32 ? 0 : UINT32_MAX >> len;
	if (ntohl(in.s_addr) & host_mask)
		return -EINVAL;
	*net = in.s_addr;
	*prefix = len;
	return 0;
}

int addrpool_parse6(const char *cidr, uint8_t net[16], int *prefix)
{
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr in6;
	int len, bit, err;

	err = cidr_split(cidr, addr, sizeof(addr), 128, &len);
	if (err)
		return err;
	if (inet_pton(AF_INET6, addr, &in6) != 1)
		return -EINVAL;
	for (bit = len; bit < 128; bit++)
		if (in6.s6_addr[bit / 8] & (0x80 >> (bit % 8)))
			return -EINVAL;
	memcpy(net, in6.s6_addr, 16);
	*prefix = len;
	return 0;
}

/* The same pattern config.h enforces for cage names; it also keeps file contents one clean line. */
static bool cage_name_valid(const char *cage)
{
	size_t i, len = cage ? strlen(cage) : 0;

	if (len == 0 || len > CAGE_NAME_MAX || cage[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = cage[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* FNV-1a: stable across runs and builds, so a cage keeps its host interface name. */
static uint32_t cage_name_hash(const char *cage)
{
	uint32_t hash = 2166136261u;

	for (; *cage; cage++) {
		hash ^= (uint8_t)*cage;
		hash *= 16777619u;
	}
	return hash;
}

struct pool {
	uint32_t net4;
	int prefix4;
	uint8_t net6[16];
	int prefix6;
	unsigned slots;
};

static int pool_parse(const char *pool4, const char *pool6, struct pool *pool)
{
	unsigned slots4, slots6;
	int err;

	err = addrpool_parse4(pool4 ? pool4 : ADDRPOOL_DEFAULT4, &pool->net4, &pool->prefix4);
	if (err)
		return err;
	err = addrpool_parse6(pool6 ? pool6 : ADDRPOOL_DEFAULT6, pool->net6, &pool->prefix6);
	if (err)
		return err;
	if (pool->prefix4 > 30 || pool->prefix6 > 64)
		return -EINVAL;
	slots4 = 30 - pool->prefix4 >= 16 ? ADDRPOOL_MAX_SLOTS : 1u << (30 - pool->prefix4);
	slots6 = 64 - pool->prefix6 >= 16 ? ADDRPOOL_MAX_SLOTS : 1u << (64 - pool->prefix6);
	pool->slots = slots4 < slots6 ? slots4 : slots6;
	return 0;
}

/* Index i goes into bits [prefix6, 64) of the pool prefix, so for a /48 it is the fourth group. */
static void pool_subnet6(const struct pool *pool, unsigned index, uint8_t out[16])
{
	int bit;

	memcpy(out, pool->net6, 16);
	for (bit = 63; bit >= pool->prefix6 && index; bit--, index >>= 1)
		if (index & 1)
			out[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
}

static void pool_fill(const struct pool *pool, unsigned index, const char *cage,
		      struct cage_addrs *out)
{
	uint32_t base = ntohl(pool->net4) + 4 * index;

	memset(out, 0, sizeof(*out));
	out->gw4 = htonl(base + 1);
	out->cage4 = htonl(base + 2);
	out->prefix4 = 30;
	pool_subnet6(pool, index, out->gw6);
	memcpy(out->cage6, out->gw6, 16);
	out->gw6[15] = 1;
	out->cage6[15] = 2;
	out->prefix6 = 64;
	out->index = index;
	snprintf(out->host_ifname, sizeof(out->host_ifname), "cg%08x", cage_name_hash(cage));
}

/* Opens and locks <state_dir>/addrs. The lock serialises "find my index, else take a free one",
 * so one cage never gets two indexes; O_EXCL alone already keeps two cages off one index. */
static int addrs_dir_lock(const char *state_dir, bool create)
{
	char dir[PATH_MAX];
	int fd, n, err;

	n = snprintf(dir, sizeof(dir), "%s/addrs", state_dir);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	if (create) {
		if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static bool index_name_parse(const char *name, unsigned *index)
{
	char *end;
	unsigned long value;

	if (name[0] < '0' || name[0] > '9' || (name[0] == '0' && name[1]))
		return false;
	errno = 0;
	value = strtoul(name, &end, 10);
	if (errno || *end || value >= ADDRPOOL_MAX_SLOTS)
		return false;
	*index = (unsigned)value;
	return true;
}

/* Reads an index file; 0 bytes means a writer died between create and write (writers hold the
 * directory lock throughout, so under the lock an empty file is never in progress). */
static ssize_t index_file_read(int dir_fd, const char *name, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

/* Finds the index file naming this cage; -ENOENT if there is none. */
static int addrs_find(int dir_fd, const char *cage, unsigned *index)
{
	char content[CAGE_NAME_MAX + 2];
	struct dirent *entry;
	int found = -ENOENT;
	unsigned candidate;
	DIR *dir;
	int fd;

	fd = dup(dir_fd);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	rewinddir(dir);
	while ((entry = readdir(dir))) {
		if (!index_name_parse(entry->d_name, &candidate))
			continue;
		if (index_file_read(dir_fd, entry->d_name, content, sizeof(content)) < 0)
			continue;
		if (!strcmp(content, cage)) {
			*index = candidate;
			found = 0;
			break;
		}
	}
	closedir(dir);
	return found;
}

static int index_file_write(int fd, const char *cage)
{
	size_t len = strlen(cage);
	ssize_t n = write(fd, cage, len);

	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

static int addrs_claim(int dir_fd, const struct pool *pool, const char *cage, unsigned *index)
{
	char name[16], content[CAGE_NAME_MAX + 2];
	unsigned i;
	int fd, err;

	for (i = 0; i < pool->slots; i++) {
		snprintf(name, sizeof(name), "%u", i);
		fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 && errno == EEXIST && index_file_read(dir_fd, name, content,
								 sizeof(content)) == 0)
			fd = openat(dir_fd, name, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			return -errno;
		}
		err = index_file_write(fd, cage);
		close(fd);
		if (err) {
			unlinkat(dir_fd, name, 0);
			return err;
		}
		*index = i;
		return 0;
	}
	return -ENOSPC;
}

int addrpool_alloc(const char *pool4, const char *pool6, const char *state_dir, const char *cage,
		   struct cage_addrs *out)
{
	struct pool pool;
	unsigned index;
	int dir_fd, err;

	if (!state_dir || !out || !cage_name_valid(cage))
		return -EINVAL;
	err = pool_parse(pool4, pool6, &pool);
	if (err)
		return err;
	dir_fd = addrs_dir_lock(state_dir, true);
	if (dir_fd < 0)
		return dir_fd;

	err = addrs_find(dir_fd, cage, &index);
	if (err == -ENOENT)
		err = addrs_claim(dir_fd, &pool, cage, &index);
	/* An index kept from a larger pool than the one configured now has no addresses. */
	else if (!err && index >= pool.slots)
		err = -ERANGE;
	if (!err)
		pool_fill(&pool, index, cage, out);
	close(dir_fd);
	return err;
}

int addrpool_release(const char *state_dir, const char *cage)
{
	unsigned index;
	char name[16];
	int dir_fd, err;

	if (!state_dir || !cage_name_valid(cage))
		return -EINVAL;
	dir_fd = addrs_dir_lock(state_dir, false);
	if (dir_fd < 0)
		return dir_fd;
	err = addrs_find(dir_fd, cage, &index);
	if (!err) {
		snprintf(name, sizeof(name), "%u", index);
		if (unlinkat(dir_fd, name, 0) < 0)
			err = -errno;
	}
	close(dir_fd);
	return err;
}
