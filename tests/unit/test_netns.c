// SPDX-License-Identifier: GPL-2.0-only
/*
 * Real-kernel tests for netns and link plumbing (root only). Everything happens in two network
 * namespaces this test creates under a private run directory: "host" plays the machine, "cage" the
 * cage; no packet touches the caller's netns and /run/netns is never used.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "enforce/link.h"
#include "enforce/netns.h"

#define HOST_IF "cgtest0"
#define CAGE_IF "eth0"
#define TIMING_ROUNDS 20

static struct {
	char base_dir[64];
	char run_dir[96];
	char host_name[64];
	char cage_name[64];
	int host_fd;
	uint32_t gw4, cage4;
	uint8_t gw6[16], cage6[16];
} t = { .host_fd = -1 };

static ino_t thread_netns_ino(void)
{
	struct stat st;

	assert_int_equal(stat("/proc/thread-self/ns/net", &st), 0);
	return st.st_ino;
}

static ino_t fd_ino(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static int group_setup(void **state)
{
	int pid = (int)getpid();

	if (geteuid() != 0) {
		fprintf(stderr, "test_netns needs root\n");
		return -1;
	}
	snprintf(t.base_dir, sizeof(t.base_dir), "/run/cagetest-%d", pid);
	snprintf(t.run_dir, sizeof(t.run_dir), "%s/netns", t.base_dir);
	snprintf(t.host_name, sizeof(t.host_name), "cagetest-%d-host", pid);
	snprintf(t.cage_name, sizeof(t.cage_name), "cagetest-%d", pid);
	if (mkdir(t.base_dir, 0700) < 0)
		return -1;
	inet_pton(AF_INET, "10.200.0.1", &t.gw4);
	inet_pton(AF_INET, "10.200.0.2", &t.cage4);
	inet_pton(AF_INET6, "fd00:200::1", t.gw6);
	inet_pton(AF_INET6, "fd00:200::2", t.cage6);
	return netns_create(t.host_name, t.run_dir, &t.host_fd) ? -1 : 0;
}

/* Deleting a netns takes every link inside it along, including the host end of its veths. */
static int group_teardown(void **state)
{
	char name[96];
	int i;

	if (t.host_fd >= 0)
		close(t.host_fd);
	netns_delete(t.host_name, t.run_dir);
	netns_delete(t.cage_name, t.run_dir);
	for (i = 0; i < TIMING_ROUNDS; i++) {
		snprintf(name, sizeof(name), "%s-t%d", t.cage_name, i);
		netns_delete(name, t.run_dir);
	}
	umount2(t.run_dir, MNT_DETACH);
	rmdir(t.run_dir);
	rmdir(t.base_dir);
	return 0;
}

static void test_create_keeps_caller_netns(void **state)
{
	ino_t before = thread_netns_ino();
	int fd = -1, fd2;

	assert_int_equal(netns_create(t.cage_name, t.run_dir, &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(thread_netns_ino(), before);
	assert_int_not_equal(fd_ino(fd), before);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	fd2 = netns_open(t.cage_name, t.run_dir);
	assert_true(fd2 >= 0);
	assert_int_equal(fd_ino(fd2), fd_ino(fd));
	close(fd2);

	assert_int_equal(netns_create(t.cage_name, t.run_dir, NULL), -EEXIST);
	assert_int_equal(netns_delete(t.cage_name, t.run_dir), 0);
	assert_int_equal(netns_delete(t.cage_name, t.run_dir), -ENOENT);
	assert_int_equal(netns_open(t.cage_name, t.run_dir), -ENOENT);
	assert_int_equal(netns_create("../escape", t.run_dir, NULL), -EINVAL);
	close(fd);
}

static void test_enter_leave(void **state)
{
	ino_t before = thread_netns_ino();
	int saved = -1;

	assert_int_equal(netns_enter(t.host_fd, &saved), 0);
	assert_int_equal(thread_netns_ino(), fd_ino(t.host_fd));
	assert_int_equal(netns_leave(saved), 0);
	assert_int_equal(thread_netns_ino(), before);
	assert_int_equal(netns_enter(-1, &saved), -EBADF);
	assert_int_equal(thread_netns_ino(), before);
}

static void test_socket_lands_in_netns(void **state)
{
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ino_t before = thread_netns_ino();
	int fd;

	/* A fresh netns has lo down, so 127.0.0.1 cannot be bound there until link_set_up. */
	fd = netns_socket(t.host_fd, AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(thread_netns_ino(), before);
	assert_int_equal(link_set_up(t.host_fd, "lo"), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&lo, sizeof(lo)), 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	fd = netns_socket(-1, AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	close(fd);
}

static void read_sysctl_in(int netns_fd, const char *file, char *buf, size_t len)
{
	int saved = -1, fd;
	ssize_t n;

	if (netns_fd >= 0)
		assert_int_equal(netns_enter(netns_fd, &saved), 0);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, len - 1);
	if (fd >= 0)
		close(fd);
	if (netns_fd >= 0)
		assert_int_equal(netns_leave(saved), 0);
	assert_true(n > 0);
	buf[n] = '\0';
}

static void test_sysctl_write(void **state)
{
	const char *file = "/proc/sys/net/ipv4/ping_group_range";
	char outside_before[64], outside_after[64], inside[64];

	read_sysctl_in(-1, file, outside_before, sizeof(outside_before));
	assert_int_equal(netns_sysctl_write(t.host_fd, "net/ipv4/ping_group_range", "1 0"), 0);
	read_sysctl_in(t.host_fd, file, inside, sizeof(inside));
	assert_string_equal(inside, "1\t0\n");
	read_sysctl_in(-1, file, outside_after, sizeof(outside_after));
	assert_string_equal(outside_before, outside_after);

	assert_int_equal(netns_sysctl_write(t.host_fd, "../../etc/passwd", "x"), -EINVAL);
	assert_int_equal(netns_sysctl_write(t.host_fd, "/net/ipv4/ip_forward", "1"), -EINVAL);
	assert_int_equal(netns_sysctl_write(t.host_fd, "net/ipv4/no_such_knob", "1"), -ENOENT);
}

static void test_link_current_netns(void **state)
{
	/* Read-only in the caller's netns: loopback is always ifindex 1. */
	assert_int_equal(link_index(-1, "lo"), 1);
	assert_int_equal(link_exists(-1, "lo"), 1);
	assert_int_equal(link_index(-1, "bad/name"), -EINVAL);
}

/* The `cagectl up` network path: netns, veth with the peer born inside it, addresses, links up,
 * default routes. The cage's loopback comes up too, as a workload expects. */
static int plumb_cage(const char *name, const char *host_if, int *cage_fd)
{
	int err;

	err = netns_create(name, t.run_dir, cage_fd);
	if (!err)
		err = link_veth_create(t.host_fd, host_if, CAGE_IF, *cage_fd);
	if (!err)
		err = addr_add4(t.host_fd, host_if, t.gw4, 30);
	if (!err)
		err = addr_add6(t.host_fd, host_if, t.gw6, 64, true);
	if (!err)
		err = addr_add4(*cage_fd, CAGE_IF, t.cage4, 30);
	if (!err)
		err = addr_add6(*cage_fd, CAGE_IF, t.cage6, 64, true);
	if (!err)
		err = link_set_up(t.host_fd, host_if);
	if (!err)
		err = link_set_up(*cage_fd, CAGE_IF);
	if (!err)
		err = link_set_up(*cage_fd, "lo");
	if (!err)
		err = route_add_default4(*cage_fd, t.gw4, CAGE_IF);
	if (!err)
		err = route_add_default6(*cage_fd, t.gw6, CAGE_IF);
	return err;
}

/* A UDP datagram from the cage address reaches a socket bound to the gateway address. */
static void udp_across(int cage_fd, int family, const void *gw, const void *cage)
{
	struct sockaddr_storage srv = { 0 }, cli = { 0 }, from;
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	socklen_t from_len = sizeof(from);
	struct pollfd pfd;
	char buf[32];
	int srv_fd, cli_fd;

	srv.ss_family = cli.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		memcpy(&((struct sockaddr_in *)&srv)->sin_addr, gw, 4);
		memcpy(&((struct sockaddr_in *)&cli)->sin_addr, cage, 4);
	} else {
		memcpy(&((struct sockaddr_in6 *)&srv)->sin6_addr, gw, 16);
		memcpy(&((struct sockaddr_in6 *)&cli)->sin6_addr, cage, 16);
	}
	srv_fd = netns_socket(t.host_fd, family, SOCK_DGRAM, 0);
	cli_fd = netns_socket(cage_fd, family, SOCK_DGRAM, 0);
	assert_true(srv_fd >= 0 && cli_fd >= 0);
	/* Binding proves the address is assigned and not tentative (IFA_F_NODAD). */
	assert_int_equal(bind(srv_fd, (struct sockaddr *)&srv, len), 0);
	assert_int_equal(bind(cli_fd, (struct sockaddr *)&cli, len), 0);
	assert_int_equal(getsockname(srv_fd, (struct sockaddr *)&srv, &len), 0);
	assert_int_equal(sendto(cli_fd, "cagetest", 8, 0, (struct sockaddr *)&srv, len), 8);

	pfd = (struct pollfd){ .fd = srv_fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_int_equal(recvfrom(srv_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_len), 8);
	assert_memory_equal(buf, "cagetest", 8);
	if (family == AF_INET)
		assert_memory_equal(&((struct sockaddr_in *)&from)->sin_addr, cage, 4);
	else
		assert_memory_equal(&((struct sockaddr_in6 *)&from)->sin6_addr, cage, 16);
	close(srv_fd);
	close(cli_fd);
}

/* connect() on a UDP socket only looks the route up; no packet is sent. The source address the
 * kernel picks for an off-link destination shows the default route is in place. */
static void default_route_used(int cage_fd, int family, const char *dst_text, const void *cage)
{
	struct sockaddr_storage dst = { 0 }, src;
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd;

	dst.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		((struct sockaddr_in *)&dst)->sin_port = htons(9);
		inet_pton(AF_INET, dst_text, &((struct sockaddr_in *)&dst)->sin_addr);
	} else {
		((struct sockaddr_in6 *)&dst)->sin6_port = htons(9);
		inet_pton(AF_INET6, dst_text, &((struct sockaddr_in6 *)&dst)->sin6_addr);
	}
	fd = netns_socket(cage_fd, family, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&dst, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&src, &len), 0);
	if (family == AF_INET)
		assert_memory_equal(&((struct sockaddr_in *)&src)->sin_addr, cage, 4);
	else
		assert_memory_equal(&((struct sockaddr_in6 *)&src)->sin6_addr, cage, 16);
	close(fd);
}

static void test_veth_addresses_routes(void **state)
{
	ino_t before = thread_netns_ino();
	int cage_fd = -1;

	assert_int_equal(plumb_cage(t.cage_name, HOST_IF, &cage_fd), 0);
	assert_int_equal(thread_netns_ino(), before);

	/* The peer was born inside the cage: it never existed beside the host end. */
	assert_int_equal(link_exists(t.host_fd, HOST_IF), 1);
	assert_int_equal(link_exists(t.host_fd, CAGE_IF), 0);
	assert_int_equal(link_exists(cage_fd, CAGE_IF), 1);
	assert_int_equal(link_exists(cage_fd, HOST_IF), 0);
	assert_true(link_index(cage_fd, CAGE_IF) > 1);

	udp_across(cage_fd, AF_INET, &t.gw4, &t.cage4);
	udp_across(cage_fd, AF_INET6, t.gw6, t.cage6);
	default_route_used(cage_fd, AF_INET, "203.0.113.7", &t.cage4);
	default_route_used(cage_fd, AF_INET6, "2001:db8:ffff::7", t.cage6);
	assert_int_equal(netns_sysctl_write(cage_fd, "net/ipv6/conf/eth0/accept_dad", "0"), 0);

	assert_int_equal(link_veth_create(t.host_fd, HOST_IF, "eth1", cage_fd), -EEXIST);
	assert_int_equal(link_veth_create(t.host_fd, "cgtest1", CAGE_IF, cage_fd), -EEXIST);
	assert_int_equal(link_exists(t.host_fd, "cgtest1"), 0);
	assert_int_equal(addr_add4(cage_fd, CAGE_IF, t.cage4, 30), -EEXIST);
	assert_int_equal(addr_add6(cage_fd, CAGE_IF, t.cage6, 64, true), -EEXIST);
	assert_int_equal(route_add_default4(cage_fd, t.gw4, CAGE_IF), -EEXIST);
	assert_int_equal(route_add_default6(cage_fd, t.gw6, CAGE_IF), -EEXIST);

	/* Deleting either end takes the pair. */
	assert_int_equal(link_delete(t.host_fd, HOST_IF), 0);
	assert_int_equal(link_exists(cage_fd, CAGE_IF), 0);
	assert_int_equal(link_delete(t.host_fd, HOST_IF), -ENODEV);
	close(cage_fd);
	assert_int_equal(netns_delete(t.cage_name, t.run_dir), 0);
	assert_int_equal(thread_netns_ino(), before);
}

static void test_missing_links(void **state)
{
	assert_int_equal(link_index(t.host_fd, "nosuch0"), -ENODEV);
	assert_int_equal(link_exists(t.host_fd, "nosuch0"), 0);
	assert_int_equal(link_delete(t.host_fd, "nosuch0"), -ENODEV);
	assert_int_equal(link_set_up(t.host_fd, "nosuch0"), -ENODEV);
	assert_int_equal(addr_add4(t.host_fd, "nosuch0", t.gw4, 30), -ENODEV);
	assert_int_equal(addr_add6(t.host_fd, "nosuch0", t.gw6, 64, true), -ENODEV);
	assert_int_equal(route_add_default4(t.host_fd, t.gw4, "nosuch0"), -ENODEV);
	assert_int_equal(route_add_default6(t.host_fd, t.gw6, "nosuch0"), -ENODEV);
	assert_int_equal(addr_add4(t.host_fd, "lo", t.gw4, 33), -EINVAL);
	assert_int_equal(link_veth_create(t.host_fd, "much-too-long-name", CAGE_IF, -1), -EINVAL);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void test_up_path_timing(void **state)
{
	double ms[TIMING_ROUNDS], start, median;
	char name[96];
	int i, cage_fd;

	for (i = 0; i < TIMING_ROUNDS; i++) {
		snprintf(name, sizeof(name), "%s-t%d", t.cage_name, i);
		cage_fd = -1;
		start = now_ms();
		assert_int_equal(plumb_cage(name, "cgtime0", &cage_fd), 0);
		ms[i] = now_ms() - start;
		close(cage_fd);
		assert_int_equal(link_delete(t.host_fd, "cgtime0"), 0);
		assert_int_equal(netns_delete(name, t.run_dir), 0);
	}
	qsort(ms, TIMING_ROUNDS, sizeof(ms[0]), cmp_double);
	median = (ms[TIMING_ROUNDS / 2 - 1] + ms[TIMING_ROUNDS / 2]) / 2;
	printf("# netns+veth+addresses+up+routes: median %.2f ms, min %.2f, max %.2f (%d rounds)\n",
	       median, ms[0], ms[TIMING_ROUNDS - 1], TIMING_ROUNDS);
	assert_true(median < 100.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_keeps_caller_netns),
		cmocka_unit_test(test_enter_leave),
		cmocka_unit_test(test_socket_lands_in_netns),
		cmocka_unit_test(test_sysctl_write),
		cmocka_unit_test(test_link_current_netns),
		cmocka_unit_test(test_veth_addresses_routes),
		cmocka_unit_test(test_missing_links),
		cmocka_unit_test(test_up_path_timing),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
