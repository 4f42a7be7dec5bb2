// SPDX-License-Identifier: GPL-2.0-only
/*
 * The nft layer against the real kernel, each test in a throwaway netns `cagetest-nft-<pid>`:
 * apply, verify, double apply (-EEXIST), remove, remove again (-ENOENT), a failure injected at
 * every rule (nothing left), and a changed table that verify notices. Tests that need root skip
 * without it.
 *
 * Run with arguments it is the driver of tests/integration/nft_rules.sh:
 *   test_nft apply|verify|remove NETNS_PATH cage|host NAME IFNAME GW4 GW6|- PROXY EXPLICIT DNS
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "enforce/nft.h"
#include "enforce/nft_netlink.h"
#include "enforce/nft_rules.h"

struct netns_fixture {
	char name[64];
	int fd;
};

static struct nft_cage_spec test_spec(bool ipv6)
{
	struct nft_cage_spec spec = {
		.name = "unit-test",
		.host_ifname = "cgt-unit0",
		.ipv6 = ipv6,
		.proxy_port = 15001,
		.explicit_port = 3128,
		.dns_port = 53,
	};

	inet_pton(AF_INET, "10.200.0.1", &spec.gw4);
	inet_pton(AF_INET, "10.200.0.2", &spec.cage4);
	inet_pton(AF_INET6, "fd00:200::1", spec.gw6);
	inet_pton(AF_INET6, "fd00:200::2", spec.cage6);
	return spec;
}

static int netns_setup(void **state)
{
	struct netns_fixture *ns;
	char cmd[128], path[128];

	if (geteuid() != 0)
		return 0;  /* the test itself skips */
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return -1;
	snprintf(ns->name, sizeof(ns->name), "cagetest-nft-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "ip netns add %s", ns->name);
	if (system(cmd) != 0) {
		free(ns);
		return -1;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", ns->name);
	ns->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns->fd < 0) {
		snprintf(cmd, sizeof(cmd), "ip netns del %s", ns->name);
		system(cmd);
		free(ns);
		return -1;
	}
	*state = ns;
	return 0;
}

static int netns_teardown(void **state)
{
	struct netns_fixture *ns = *state;
	char cmd[128];

	if (!ns)
		return 0;
	close(ns->fd);
	snprintf(cmd, sizeof(cmd), "ip netns del %s", ns->name);
	system(cmd);
	free(ns);
	*state = NULL;
	return 0;
}

static struct netns_fixture *need_netns(void **state)
{
	if (geteuid() != 0)
		skip();
	return *state;
}

/* Runs `nft CMD` inside the fixture's netns. */
static int nft_in(const struct netns_fixture *ns, const char *nft_args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "ip netns exec %s nft %s >/dev/null 2>&1", ns->name, nft_args);
	return system(cmd);
}

static void test_malformed_spec_rejected(void **state)
{
	static const char *bad_names[] = {
		"", "-lead", "Upper", "under_score", "dot.ted", "sp ace",
		"a123456789012345678901234567890123456789012345678901234567890123",  /* 64 chars */
	};
	static const char *bad_ifnames[] = { "", "a234567890123456", "has space", "quo\"te" };
	struct nft_cage_spec spec;

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		spec = test_spec(true);
		spec.name = bad_names[i];
		assert_int_equal(nft_cage_apply(-1, &spec, false), -EINVAL);
		assert_int_equal(nft_cage_remove(-1, bad_names[i], false), -EINVAL);
	}
	for (size_t i = 0; i < sizeof(bad_ifnames) / sizeof(bad_ifnames[0]); i++) {
		spec = test_spec(true);
		spec.host_ifname = bad_ifnames[i];
		assert_int_equal(nft_cage_apply(-1, &spec, true), -EINVAL);
	}
	spec = test_spec(true);
	spec.dns_port = 0;
	assert_int_equal(nft_cage_apply(-1, &spec, true), -EINVAL);
	spec = test_spec(true);
	memset(spec.gw6, 0, sizeof(spec.gw6));
	assert_int_equal(nft_cage_apply(-1, &spec, true), -EINVAL);
	spec.ipv6 = false;  /* the IPv6 gateway only matters when the cage has IPv6 */
	assert_int_equal(nft_spec_check(&spec), 0);
	spec = test_spec(true);
	spec.name = NULL;
	assert_int_equal(nft_cage_verify(-1, &spec, true), -EINVAL);
	assert_int_equal(nft_cage_apply(-1, NULL, true), -EINVAL);

	/* 63 characters is the longest valid name. */
	char table[NFT_TABLE_NAME_MAX];
	assert_int_equal(nft_table_name(table, sizeof(table),
		"a12345678901234567890123456789012345678901234567890123456789012", false), 0);
	assert_string_equal(table,
		"cagectl_a12345678901234567890123456789012345678901234567890123456789012");
}

static void expect_shape(bool ipv6, bool inside, const unsigned int *rules, unsigned int nchains)
{
	struct nft_cage_spec spec = test_spec(ipv6);
	struct nft_table_shape shape;
	struct nft_batch batch;

	assert_int_equal(nft_batch_init(&batch), 0);
	assert_int_equal(nft_build_table(&batch, &spec, inside, &shape), 0);
	assert_int_equal(nft_batch_close(&batch), 0);
	nft_batch_fini(&batch);
	assert_int_equal(shape.nchains, nchains);
	for (unsigned int i = 0; i < nchains; i++)
		assert_int_equal(shape.chains[i].rules, rules[i]);
}

static void test_shape_counts(void **state)
{
	/* output, input, forward: lo, (tcp, udp) per family, ND with IPv6, counter drop */
	expect_shape(true, true, (const unsigned int[]){ 7, 7, 1 }, 3);
	expect_shape(false, true, (const unsigned int[]){ 4, 4, 1 }, 3);
	/* input, forward */
	expect_shape(true, false, (const unsigned int[]){ 6, 2 }, 2);
	expect_shape(false, false, (const unsigned int[]){ 3, 2 }, 2);
}

static void lifecycle(void **state, bool inside)
{
	struct netns_fixture *ns = need_netns(state);
	struct nft_cage_spec spec = test_spec(true);

	assert_int_equal(nft_cage_verify(ns->fd, &spec, inside), -ENOENT);
	assert_int_equal(nft_cage_apply(ns->fd, &spec, inside), 0);
	assert_int_equal(nft_cage_verify(ns->fd, &spec, inside), 0);
	assert_int_equal(nft_cage_apply(ns->fd, &spec, inside), -EEXIST);
	assert_int_equal(nft_cage_verify(ns->fd, &spec, inside), 0);
	/* A spec with a different shape does not pass for this table. */
	spec.ipv6 = false;
	assert_int_equal(nft_cage_verify(ns->fd, &spec, inside), -EPROTO);
	assert_int_equal(nft_cage_remove(ns->fd, spec.name, inside), 0);
	assert_int_equal(nft_cage_remove(ns->fd, spec.name, inside), -ENOENT);
	assert_int_equal(nft_cage_verify(ns->fd, &spec, inside), -ENOENT);
	assert_int_equal(nft_in(ns, "list tables | grep -q ."), 256);  /* grep found nothing */
}

static void test_cage_table_lifecycle(void **state)
{
	lifecycle(state, true);
}

static void test_host_table_lifecycle(void **state)
{
	lifecycle(state, false);
}

static void test_both_tables_coexist(void **state)
{
	struct netns_fixture *ns = need_netns(state);
	struct nft_cage_spec spec = test_spec(false);

	assert_int_equal(nft_cage_apply(ns->fd, &spec, true), 0);
	assert_int_equal(nft_cage_apply(ns->fd, &spec, false), 0);
	assert_int_equal(nft_cage_verify(ns->fd, &spec, true), 0);
	assert_int_equal(nft_cage_verify(ns->fd, &spec, false), 0);
	assert_int_equal(nft_cage_remove(ns->fd, spec.name, true), 0);
	assert_int_equal(nft_cage_verify(ns->fd, &spec, false), 0);
	assert_int_equal(nft_cage_remove(ns->fd, spec.name, false), 0);
}

static void test_verify_notices_extra_rule(void **state)
{
	struct netns_fixture *ns = need_netns(state);
	struct nft_cage_spec spec = test_spec(true);

	assert_int_equal(nft_cage_apply(ns->fd, &spec, true), 0);
	assert_int_equal(nft_in(ns, "add rule inet cagectl output accept"), 0);
	assert_int_equal(nft_cage_verify(ns->fd, &spec, true), -EPROTO);
	assert_int_equal(nft_cage_remove(ns->fd, spec.name, true), 0);

	assert_int_equal(nft_cage_apply(ns->fd, &spec, true), 0);
	assert_int_equal(nft_in(ns, "chain inet cagectl output '{ policy accept; }'"), 0);
	assert_int_equal(nft_cage_verify(ns->fd, &spec, true), -EPROTO);
	assert_int_equal(nft_cage_remove(ns->fd, spec.name, true), 0);

	assert_int_equal(nft_cage_apply(ns->fd, &spec, false), 0);
	assert_int_equal(nft_in(ns, "add chain inet cagectl_unit-test extra"), 0);
	assert_int_equal(nft_cage_verify(ns->fd, &spec, false), -EPROTO);
	assert_int_equal(nft_cage_remove(ns->fd, spec.name, false), 0);
}

static void test_existing_table_not_adopted(void **state)
{
	struct netns_fixture *ns = need_netns(state);
	struct nft_cage_spec spec = test_spec(true);

	assert_int_equal(nft_in(ns, "add table inet cagectl"), 0);
	assert_int_equal(nft_cage_apply(ns->fd, &spec, true), -EEXIST);
	/* Still the empty table someone else made: no chain of ours was added to it. */
	assert_int_equal(nft_cage_verify(ns->fd, &spec, true), -EPROTO);
	assert_int_equal(nft_in(ns, "list chain inet cagectl output"), 256);
	assert_int_equal(nft_cage_remove(ns->fd, spec.name, true), 0);
}

/* The kernel rejects rule N of the batch; the table and everything before rule N must be gone. */
static void test_failure_at_every_rule_leaves_nothing(void **state)
{
	struct netns_fixture *ns = need_netns(state);
	struct nft_cage_spec spec = test_spec(true);
	const unsigned int total[2] = { 6 + 2, 7 + 7 + 1 };  /* host, cage */

	for (int inside = 0; inside <= 1; inside++) {
		for (unsigned int n = 1; n <= total[inside]; n++) {
			nft_test_fail_at_rule = n;
			assert_int_not_equal(nft_cage_apply(ns->fd, &spec, inside), 0);
			assert_int_equal(nft_test_fail_at_rule, 0);
			assert_int_equal(nft_cage_verify(ns->fd, &spec, inside), -ENOENT);
		}
		assert_int_equal(nft_in(ns, "list tables | grep -q ."), 256);
		assert_int_equal(nft_cage_apply(ns->fd, &spec, inside), 0);
		assert_int_equal(nft_cage_remove(ns->fd, spec.name, inside), 0);
	}
}

/* netns_fd -1 is the calling thread's netns: try it in a child that has a netns of its own. */
static void test_current_netns(void **state)
{
	struct nft_cage_spec spec = test_spec(true);
	int status;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) != 0)
			_exit(2);
		if (nft_cage_apply(-1, &spec, true) != 0 || nft_cage_verify(-1, &spec, true) != 0 ||
		    nft_cage_remove(-1, spec.name, true) != 0)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int driver_usage(void)
{
	fprintf(stderr, "usage: test_nft apply|verify|remove NETNS_PATH cage|host NAME IFNAME "
			"GW4 GW6|- PROXY EXPLICIT DNS\n");
	return 2;
}

/* The integration test's way into the C API: one call, the result as an exit status. */
static int driver(int argc, char **argv)
{
	struct nft_cage_spec spec = { 0 };
	bool inside;
	int fd, err;

	if (argc != 11)
		return driver_usage();
	inside = strcmp(argv[3], "cage") == 0;
	spec.name = argv[4];
	spec.host_ifname = argv[5];
	if (inet_pton(AF_INET, argv[6], &spec.gw4) != 1)
		return driver_usage();
	spec.ipv6 = strcmp(argv[7], "-") != 0;
	if (spec.ipv6 && inet_pton(AF_INET6, argv[7], spec.gw6) != 1)
		return driver_usage();
	spec.proxy_port = (uint16_t)atoi(argv[8]);
	spec.explicit_port = (uint16_t)atoi(argv[9]);
	spec.dns_port = (uint16_t)atoi(argv[10]);

	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "test_nft: can't open netns %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (strcmp(argv[1], "apply") == 0)
		err = nft_cage_apply(fd, &spec, inside);
	else if (strcmp(argv[1], "verify") == 0)
		err = nft_cage_verify(fd, &spec, inside);
	else if (strcmp(argv[1], "remove") == 0)
		err = nft_cage_remove(fd, spec.name, inside);
	else
		err = -EINVAL;
	close(fd);
	if (err) {
		fprintf(stderr, "test_nft: %s %s table: %s\n", argv[1], argv[3], strerror(-err));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed_spec_rejected),
		cmocka_unit_test(test_shape_counts),
		cmocka_unit_test_setup_teardown(test_cage_table_lifecycle, netns_setup, netns_teardown),
		cmocka_unit_test_setup_teardown(test_host_table_lifecycle, netns_setup, netns_teardown),
		cmocka_unit_test_setup_teardown(test_both_tables_coexist, netns_setup, netns_teardown),
		cmocka_unit_test_setup_teardown(test_verify_notices_extra_rule, netns_setup,
						netns_teardown),
		cmocka_unit_test_setup_teardown(test_existing_table_not_adopted, netns_setup,
						netns_teardown),
		cmocka_unit_test_setup_teardown(test_failure_at_every_rule_leaves_nothing,
						netns_setup, netns_teardown),
		cmocka_unit_test(test_current_netns),
	};

	if (argc > 1)
		return driver(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
