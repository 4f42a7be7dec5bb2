// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pieces of the nftables-only mode that need no namespace: the BPF probe and its test hook,
 * and the conntrack fallback of the original-destination lookup on a connection nothing
 * redirected (tests/integration/guest_init_nft.sh covers the redirected case).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "enforce/nft_only.h"
#include "enforce/origdst.h"

static void test_probe_hook_reports_every_program_type(void **state)
{
	char missing[256];
	bool maps_ok;

	(void)state;
	setenv("CAGECTL_GUEST_NO_BPF", "1", 1);
	assert_false(nft_only_bpf_probe(missing, sizeof(missing), &maps_ok));
	unsetenv("CAGECTL_GUEST_NO_BPF");
	for (const char *const *p = (const char *const[]){ "prog:cgroup_sock_addr", "prog:cgroup_sock",
							    "prog:cgroup_skb", "prog:sock_ops", NULL };
	     *p; p++)
		assert_non_null(strstr(missing, *p));
}

static void test_probe_output_is_bounded(void **state)
{
	char missing[8];
	bool maps_ok;

	(void)state;
	setenv("CAGECTL_GUEST_NO_BPF", "1", 1);
	nft_only_bpf_probe(missing, sizeof(missing), &maps_ok);
	unsetenv("CAGECTL_GUEST_NO_BPF");
	assert_true(strlen(missing) < sizeof(missing));
}

/* A loopback connection that no NAT touched: conntrack knows no other destination. */
static void test_conntrack_fallback_without_nat(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct cage_orig orig;
	int l, c, a;

	(void)state;
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &len), 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(origdst_conntrack(a, (struct sockaddr *)&sa, &orig), -ENOENT);
	close(a);
	close(c);
	close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_hook_reports_every_program_type),
		cmocka_unit_test(test_probe_output_is_bounded),
		cmocka_unit_test(test_conntrack_fallback_without_nat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
