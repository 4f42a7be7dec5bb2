// SPDX-License-Identifier: GPL-2.0-only
/*
 * The original-destination lookup API against a real BPF map of the same shape as the pinned
 * orig_dst: the key the proxy builds from accept()'s addresses must be the key sockops wrote.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <cmocka.h>

#include "enforce/origdst.h"

static struct sockaddr_in sin4(const char *ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &sa.sin_addr);
	return sa;
}

static struct sockaddr_in6 sin6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	inet_pton(AF_INET6, ip, &sa.sin6_addr);
	return sa;
}

static void test_sockaddr_folding(void **state)
{
	struct sockaddr_in6 mapped = sin6("::ffff:10.200.0.2", 40000), v6 = sin6("fd00:200::2", 40001);
	struct sockaddr_in v4 = sin4("10.200.0.2", 40000);
	struct cage_addr a, b;
	__u16 pa, pb;

	(void)state;
	assert_int_equal(cage_addr_from_sockaddr((struct sockaddr *)&mapped, &a, &pa), 0);
	assert_int_equal(cage_addr_from_sockaddr((struct sockaddr *)&v4, &b, &pb), 0);
	assert_memory_equal(&a, &b, sizeof(a));  /* IPv4-mapped IPv6 is IPv4 */
	assert_int_equal(pa, 40000);
	assert_int_equal(a.family, CAGE_AF_INET);
	assert_int_equal(cage_addr_from_sockaddr((struct sockaddr *)&v6, &a, &pa), 0);
	assert_int_equal(a.family, CAGE_AF_INET6);
	assert_int_equal(pa, 40001);
}

static void test_lookup_in_map(void **state)
{
	struct sockaddr_in peer = sin4("10.200.0.2", 40000), local = sin4("10.200.0.1", 15001);
	struct sockaddr_in6 peer6 = sin6("fd00:200::2", 40001), local6 = sin6("fd00:200::1", 15001);
	struct sockaddr_in6 mapped_peer = sin6("::ffff:10.200.0.2", 40000);
	struct cage_tuple key;
	struct cage_orig val, got;
	int fd;

	(void)state;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "test_orig", sizeof(key), sizeof(val), 16, NULL);
	if (fd < 0)
		fail_msg("bpf_map_create: %s (the test needs root)", strerror(errno));

	memset(&key, 0, sizeof(key));
	key.client.family = CAGE_AF_INET;
	inet_pton(AF_INET, "10.200.0.2", &key.client.ip[0]);
	key.client_port = 40000;
	key.server_port = 15001;
	memset(&val, 0, sizeof(val));
	val.dst.family = CAGE_AF_INET;
	inet_pton(AF_INET, "198.51.100.10", &val.dst.ip[0]);
	val.dport = 443;
	val.mode = PORT_MODE_INSPECT;
	val.pid = 42;
	assert_int_equal(bpf_map_update_elem(fd, &key, &val, BPF_ANY), 0);

	assert_int_equal(origdst_lookup(fd, (struct sockaddr *)&peer, (struct sockaddr *)&local, &got), 0);
	assert_memory_equal(&got, &val, sizeof(val));
	/* A dual-stack listener sees the same connection as ::ffff:10.200.0.2. */
	assert_int_equal(origdst_lookup(fd, (struct sockaddr *)&mapped_peer, (struct sockaddr *)&local, &got), 0);
	assert_int_equal(got.dport, 443);
	/* Another client port, or the explicit listener's port, is not this connection. */
	peer.sin_port = htons(40002);
	assert_int_equal(origdst_lookup(fd, (struct sockaddr *)&peer, (struct sockaddr *)&local, &got), -ENOENT);
	peer.sin_port = htons(40000);
	local.sin_port = htons(3128);
	assert_int_equal(origdst_lookup(fd, (struct sockaddr *)&peer, (struct sockaddr *)&local, &got), -ENOENT);

	memset(&key, 0, sizeof(key));
	key.client.family = CAGE_AF_INET6;
	inet_pton(AF_INET6, "fd00:200::2", key.client.ip);
	key.client_port = 40001;
	key.server_port = 15001;
	val.dst.family = CAGE_AF_INET6;
	inet_pton(AF_INET6, "2001:db8:51::10", val.dst.ip);
	assert_int_equal(bpf_map_update_elem(fd, &key, &val, BPF_ANY), 0);
	assert_int_equal(origdst_lookup(fd, (struct sockaddr *)&peer6, (struct sockaddr *)&local6, &got), 0);
	assert_memory_equal(&got.dst, &val.dst, sizeof(val.dst));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sockaddr_folding),
		cmocka_unit_test(test_lookup_in_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
