// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "enforce/addrpool.h"

static char state_dir[64];

static void addrs_clear(void)
{
	char dir[128], file[512];
	struct dirent *entry;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/addrs", state_dir);
	d = opendir(dir);
	if (!d)
		return;
	while ((entry = readdir(d))) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, entry->d_name);
		unlink(file);
	}
	closedir(d);
}

static int group_setup(void **state)
{
	strcpy(state_dir, "/tmp/cagetest-addrpool-XXXXXX");
	return mkdtemp(state_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char dir[128];

	addrs_clear();
	snprintf(dir, sizeof(dir), "%s/addrs", state_dir);
	rmdir(dir);
	rmdir(state_dir);
	return 0;
}

/* Each test starts from an empty pool. */
static int test_setup(void **state)
{
	addrs_clear();
	return 0;
}

static void assert_v4(uint32_t addr, const char *text)
{
	char buf[INET_ADDRSTRLEN];

	assert_non_null(inet_ntop(AF_INET, &addr, buf, sizeof(buf)));
	assert_string_equal(buf, text);
}

static void assert_v6(const uint8_t addr[16], const char *text)
{
	char buf[INET6_ADDRSTRLEN];

	assert_non_null(inet_ntop(AF_INET6, addr, buf, sizeof(buf)));
	assert_string_equal(buf, text);
}

static void test_parse4(void **state)
{
	static const char *const bad[] = {
		"10.200.0.1/16", "10.200.0.0", "10.200.0.0/33", "10.200.0.0/", "10.200.0.0/1x",
		"/16", "300.1.1.1/8", "10.200.0.0/-1", "10.200.0.0/+16", "fd00::/48", "10.200.0.0/0016",
		"10.200.0.0 /16", "",
	};
	uint32_t net;
	size_t i;
	int prefix;

	assert_int_equal(addrpool_parse4("10.200.0.0/16", &net, &prefix), 0);
	assert_v4(net, "10.200.0.0");
	assert_int_equal(prefix, 16);
	assert_int_equal(addrpool_parse4("0.0.0.0/0", &net, &prefix), 0);
	assert_int_equal(addrpool_parse4("192.0.2.7/32", &net, &prefix), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(addrpool_parse4(bad[i], &net, &prefix), -EINVAL);
	assert_int_equal(addrpool_parse4(NULL, &net, &prefix), -EINVAL);
}

static void test_parse6(void **state)
{
	static const char *const bad[] = {
		"fd00:200::1/48", "fd00::/129", "10.0.0.0/8", "fd00::", "fd00::/ 48", "fd00::/",
		"fd00:::/48", "fd00::/4 8",
	};
	uint8_t net[16];
	size_t i;
	int prefix;

	assert_int_equal(addrpool_parse6("fd00:200::/48", net, &prefix), 0);
	assert_v6(net, "fd00:200::");
	assert_int_equal(prefix, 48);
	assert_int_equal(addrpool_parse6("::/0", net, &prefix), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(addrpool_parse6(bad[i], net, &prefix), -EINVAL);
}

static void test_default_index_math(void **state)
{
	struct cage_addrs a, b, c;

	assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, "alpha", &a), 0);
	assert_int_equal(a.index, 0);
	assert_v4(a.gw4, "10.200.0.1");
	assert_v4(a.cage4, "10.200.0.2");
	assert_int_equal(a.prefix4, 30);
	assert_v6(a.gw6, "fd00:200::1");
	assert_v6(a.cage6, "fd00:200::2");
	assert_int_equal(a.prefix6, 64);

	assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, "beta", &b), 0);
	assert_int_equal(b.index, 1);
	assert_v4(b.gw4, "10.200.0.5");
	assert_v4(b.cage4, "10.200.0.6");
	assert_v6(b.gw6, "fd00:200:0:1::1");
	assert_v6(b.cage6, "fd00:200:0:1::2");

	assert_int_equal(addrpool_alloc(ADDRPOOL_DEFAULT4, ADDRPOOL_DEFAULT6, state_dir, "gamma", &c),
			 0);
	assert_int_equal(c.index, 2);
	assert_v4(c.gw4, "10.200.0.9");
	assert_v6(c.cage6, "fd00:200:0:2::2");
}

static void test_other_pools(void **state)
{
	struct cage_addrs a;

	assert_int_equal(addrpool_alloc("192.168.8.0/24", "fd12:3456::/56", state_dir, "a", &a), 0);
	assert_int_equal(addrpool_alloc("192.168.8.0/24", "fd12:3456::/56", state_dir, "b", &a), 0);
	assert_int_equal(a.index, 1);
	assert_v4(a.gw4, "192.168.8.5");
	assert_v6(a.gw6, "fd12:3456:0:1::1");

	assert_int_equal(addrpool_alloc("10.0.0.0/30", "fd00::/64", state_dir, "c", &a), -ENOSPC);
	assert_int_equal(addrpool_alloc("10.0.0.0/31", NULL, state_dir, "c", &a), -EINVAL);
	assert_int_equal(addrpool_alloc(NULL, "fd00::/65", state_dir, "c", &a), -EINVAL);
	assert_int_equal(addrpool_alloc("10.0.0.1/24", NULL, state_dir, "c", &a), -EINVAL);
	/* "b" holds index 1, which a one-slot pool cannot address. */
	assert_int_equal(addrpool_alloc("10.0.0.0/30", NULL, state_dir, "b", &a), -ERANGE);
}

static void test_ifname(void **state)
{
	struct cage_addrs a, again, b;
	size_t i;

	assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, "alpha", &a), 0);
	assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, "beta", &b), 0);
	assert_int_equal(strlen(a.host_ifname), 10);
	assert_memory_equal(a.host_ifname, "cg", 2);
	for (i = 2; i < 10; i++)
		assert_non_null(strchr("0123456789abcdef", a.host_ifname[i]));
	assert_string_not_equal(a.host_ifname, b.host_ifname);
	/* Stable across runs: a fixed value for a fixed name (FNV-1a of "alpha"). */
	assert_int_equal(addrpool_release(state_dir, "alpha"), 0);
	assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, "alpha", &again), 0);
	assert_string_equal(again.host_ifname, a.host_ifname);
	assert_string_equal(a.host_ifname, "cg5d8b6dab");
}

static void test_persistence(void **state)
{
	struct cage_addrs a, b, d, again;
	char file[128], content[32];
	ssize_t n;
	int fd;

	assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, "alpha", &a), 0);
	assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, "beta", &b), 0);
	assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, "alpha", &again), 0);
	assert_int_equal(again.index, a.index);
	assert_memory_equal(&again, &a, sizeof(a));

	snprintf(file, sizeof(file), "%s/addrs/%u", state_dir, b.index);
	fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, content, sizeof(content) - 1);
	close(fd);
	assert_int_equal(n, 4);
	content[n] = '\0';
	assert_string_equal(content, "beta");

	/* A released index is the lowest free one and goes to the next new cage. */
	assert_int_equal(addrpool_release(state_dir, "alpha"), 0);
	assert_int_equal(addrpool_release(state_dir, "alpha"), -ENOENT);
	assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, "delta", &d), 0);
	assert_int_equal(d.index, a.index);
	assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, "beta", &again), 0);
	assert_int_equal(again.index, b.index);
}

static void test_abandoned_file_reclaimed(void **state)
{
	struct cage_addrs a;
	char file[128];
	int fd;

	assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, "alpha", &a), 0);
	assert_int_equal(addrpool_release(state_dir, "alpha"), 0);
	/* An empty index file is what a writer killed between create and write leaves. */
	snprintf(file, sizeof(file), "%s/addrs/0", state_dir);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, "beta", &a), 0);
	assert_int_equal(a.index, 0);
}

static void test_exhaustion(void **state)
{
	struct cage_addrs a;

	assert_int_equal(addrpool_alloc("10.9.0.0/29", NULL, state_dir, "one", &a), 0);
	assert_int_equal(addrpool_alloc("10.9.0.0/29", NULL, state_dir, "two", &a), 0);
	assert_int_equal(a.index, 1);
	assert_int_equal(addrpool_alloc("10.9.0.0/29", NULL, state_dir, "three", &a), -ENOSPC);
	assert_int_equal(addrpool_alloc("10.9.0.0/29", NULL, state_dir, "one", &a), 0);
	assert_int_equal(addrpool_release(state_dir, "one"), 0);
	assert_int_equal(addrpool_alloc("10.9.0.0/29", NULL, state_dir, "three", &a), 0);
	assert_int_equal(a.index, 0);
}

static void test_bad_names(void **state)
{
	static const char *const bad[] = {
		"", "Bad", "a/b", "-x", "a b", "a\n", "..",
		"a123456789012345678901234567890123456789012345678901234567890123",
	};
	struct cage_addrs a;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, bad[i], &a), -EINVAL);
		assert_int_equal(addrpool_release(state_dir, bad[i]), -EINVAL);
	}
	assert_int_equal(addrpool_alloc(NULL, NULL, state_dir, NULL, &a), -EINVAL);
}

/* Children race for indexes: every cage gets exactly one, no index is shared. */
static void test_concurrent_alloc(void **state)
{
	enum { CHILDREN = 8 };
	char dir[128], file[512], content[32];
	int counts[CHILDREN] = { 0 }, same = 0, files = 0, i, status;
	struct dirent *entry;
	pid_t pids[CHILDREN];
	DIR *d;

	for (i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct cage_addrs a;
			char name[16];

			snprintf(name, sizeof(name), "racer-%d", i);
			_exit(addrpool_alloc(NULL, NULL, state_dir, name, &a) ||
			      addrpool_alloc(NULL, NULL, state_dir, "shared", &a));
		}
	}
	for (i = 0; i < CHILDREN; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}

	snprintf(dir, sizeof(dir), "%s/addrs", state_dir);
	d = opendir(dir);
	assert_non_null(d);
	while ((entry = readdir(d))) {
		ssize_t n;
		int fd, racer;

		if (entry->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, entry->d_name);
		fd = open(file, O_RDONLY);
		assert_true(fd >= 0);
		n = read(fd, content, sizeof(content) - 1);
		close(fd);
		assert_true(n > 0);
		content[n] = '\0';
		files++;
		if (!strcmp(content, "shared"))
			same++;
		else if (sscanf(content, "racer-%d", &racer) == 1 && racer >= 0 && racer < CHILDREN)
			counts[racer]++;
	}
	closedir(d);
	assert_int_equal(files, CHILDREN + 1);
	assert_int_equal(same, 1);
	for (i = 0; i < CHILDREN; i++)
		assert_int_equal(counts[i], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse4),
		cmocka_unit_test(test_parse6),
		cmocka_unit_test_setup(test_default_index_math, test_setup),
		cmocka_unit_test_setup(test_other_pools, test_setup),
		cmocka_unit_test_setup(test_ifname, test_setup),
		cmocka_unit_test_setup(test_persistence, test_setup),
		cmocka_unit_test_setup(test_abandoned_file_reclaimed, test_setup),
		cmocka_unit_test_setup(test_exhaustion, test_setup),
		cmocka_unit_test_setup(test_bad_names, test_setup),
		cmocka_unit_test_setup(test_concurrent_alloc, test_setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
