// SPDX-License-Identifier: GPL-2.0-only
/* cage-proxy's host and address policy, table-driven (tests/unit/domain_cases.h + its own). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "domain_cases.h"
#include "lib/domain.h"
#include "lib/ipclass.h"
#include "proxy/policy.h"

static struct cage_domain doms_a[16], doms_b[16], doms_p[16];

/* A config with these lists and the lab ports: inspect 80/443, passthrough 8443. */
static struct proxy_policy *build(const char *const *allow, const char *const *block,
				  const char *const *pass)
{
	static uint16_t inspect[] = { 80, 443 }, passthrough[] = { 8443 };
	struct cage_config_file cfg;
	struct proxy_policy *p = NULL;
	size_t n;

	memset(&cfg, 0, sizeof(cfg));
	/* A domain_cases pattern list is full (8) or NULL-terminated. */
	for (n = 0; allow && n < DOMAIN_CASE_MAX_PATTERNS && allow[n]; n++)
		doms_a[n] = (struct cage_domain){ .pattern = (char *)allow[n] };
	cfg.allow = (struct cage_domain_list){ doms_a, n };
	for (n = 0; block && block[n]; n++)
		doms_b[n] = (struct cage_domain){ .pattern = (char *)block[n] };
	cfg.block = (struct cage_domain_list){ doms_b, n };
	for (n = 0; pass && pass[n]; n++)
		doms_p[n] = (struct cage_domain){ .pattern = (char *)pass[n] };
	cfg.passthrough = (struct cage_domain_list){ doms_p, n };
	cfg.tcp_inspect = (struct cage_port_list){ inspect, 2 };
	cfg.tcp_passthrough = (struct cage_port_list){ passthrough, 1 };
	assert_int_equal(policy_build(&cfg, &p), 0);
	return p;
}

/* Every shared domain case: the proxy reaches the same verdict as cage-dns will. */
static void test_domain_cases(void **state)
{
	for (size_t i = 0; i < DOMAIN_CASES_N; i++) {
		const struct domain_case *dc = &domain_cases[i];
		struct proxy_policy *p = build(dc->patterns, NULL, NULL);
		struct policy_verdict v;
		char canon[DOMAIN_BUF_SIZE];
		bool private_name = !domain_canonicalize(dc->name, strlen(dc->name), canon, sizeof(canon)) &&
				    domain_encodes_private_ip(canon);

		policy_check_host(p, dc->name, strlen(dc->name), 443, &v);
		if (dc->allowed && private_name) {
			/* e.g. an allow entry "localhost": the name still points at loopback. */
			assert_int_equal(v.reason, POLICY_PRIVATE_NAME);
		} else if ((v.reason == POLICY_OK) != dc->allowed) {
			print_error("case %zu '%s': reason %s, want %s\n", i, dc->name,
				    policy_reason_name(v.reason), dc->allowed ? "ok" : "a denial");
			fail();
		}
		policy_put(p);
	}
}

struct host_case {
	const char *name;
	uint16_t port;
	enum policy_reason reason;
	enum policy_mode mode;
	const char *canonical;
};

static const char *const lab_allow[] = { "api.allowed.test", "echo.allowed.test", "*.wild.allowed.test",
					 "*.nip.io", "secret.allowed.test", NULL };
static const char *const lab_block[] = { "secret.allowed.test", "bad.wild.allowed.test", NULL };
static const char *const lab_pass[] = { "pinned.example", NULL };

static const struct host_case host_cases[] = {
	{ "api.allowed.test", 443, POLICY_OK, POLICY_MODE_INSPECT, "api.allowed.test" },
	{ "API.Allowed.TEST.", 80, POLICY_OK, POLICY_MODE_INSPECT, "api.allowed.test" },
	{ "api.allowed.test", 22, POLICY_PORT_DENIED, POLICY_MODE_INSPECT, NULL },
	{ "api.allowed.test", 8443, POLICY_OK, POLICY_MODE_PASSTHROUGH, NULL },
	{ "api.allowed.test", 0, POLICY_PORT_DENIED, POLICY_MODE_INSPECT, NULL },
	/* block wins over an allow entry, also under a wildcard */
	{ "secret.allowed.test", 443, POLICY_BLOCKED, POLICY_MODE_INSPECT, NULL },
	{ "x.secret.allowed.test", 443, POLICY_BLOCKED, POLICY_MODE_INSPECT, NULL },
	{ "bad.wild.allowed.test", 443, POLICY_BLOCKED, POLICY_MODE_INSPECT, NULL },
	{ "good.wild.allowed.test", 443, POLICY_OK, POLICY_MODE_INSPECT, NULL },
	/* passthrough list */
	{ "pinned.example", 443, POLICY_OK, POLICY_MODE_PASSTHROUGH, NULL },
	{ "www.pinned.example", 443, POLICY_OK, POLICY_MODE_PASSTHROUGH, NULL },
	{ "pinned.example", 22, POLICY_PORT_DENIED, POLICY_MODE_PASSTHROUGH, NULL },
	/* not allowed, boundaries (rows 31, 45) */
	{ "evil.test", 443, POLICY_NOT_ALLOWED, POLICY_MODE_INSPECT, NULL },
	{ "evilallowed.test", 443, POLICY_NOT_ALLOWED, POLICY_MODE_INSPECT, NULL },
	{ "api.allowed.test.rt-1.evil.test", 443, POLICY_NOT_ALLOWED, POLICY_MODE_INSPECT, NULL },
	{ "dns.google", 443, POLICY_NOT_ALLOWED, POLICY_MODE_INSPECT, NULL },
	/* IP literals in every spelling (rows 2, 32) */
	{ "198.51.100.20", 443, POLICY_IP_LITERAL, POLICY_MODE_INSPECT, NULL },
	{ "0xc6336414", 443, POLICY_IP_LITERAL, POLICY_MODE_INSPECT, NULL },
	{ "3325256724", 443, POLICY_IP_LITERAL, POLICY_MODE_INSPECT, NULL },
	{ "2001:db8:51::20", 443, POLICY_IP_LITERAL, POLICY_MODE_INSPECT, NULL },
	{ "169.254.169.254", 80, POLICY_IP_LITERAL, POLICY_MODE_INSPECT, NULL },
	/* names that encode private addresses, under an allowed *.nip.io */
	{ "169-254-169-254.nip.io", 443, POLICY_PRIVATE_NAME, POLICY_MODE_INSPECT, NULL },
	{ "10.0.0.1.nip.io", 443, POLICY_PRIVATE_NAME, POLICY_MODE_INSPECT, NULL },
	{ "93-184-216-34.nip.io", 443, POLICY_OK, POLICY_MODE_INSPECT, NULL },
	/* IDN: raw UTF-8 is refused; the A-label is just another name (row 41) */
	{ "\xd0\xb0pi.allowed.test", 443, POLICY_NON_ASCII_HOST, POLICY_MODE_INSPECT, NULL },
	{ "xn--pi-7kc.allowed.test", 443, POLICY_NOT_ALLOWED, POLICY_MODE_INSPECT, NULL },
	/* junk */
	{ "", 443, POLICY_BAD_HOST, POLICY_MODE_INSPECT, NULL },
	{ "api.allowed.test\r\nX: y", 443, POLICY_BAD_HOST, POLICY_MODE_INSPECT, NULL },
};

static void test_host_cases(void **state)
{
	struct proxy_policy *p = build(lab_allow, lab_block, lab_pass);

	for (size_t i = 0; i < sizeof(host_cases) / sizeof(host_cases[0]); i++) {
		const struct host_case *hc = &host_cases[i];
		struct policy_verdict v;

		policy_check_host(p, hc->name, strlen(hc->name), hc->port, &v);
		if (v.reason != hc->reason || (v.reason == POLICY_OK && v.mode != hc->mode) ||
		    (hc->canonical && strcmp(v.host, hc->canonical))) {
			print_error("case %zu '%s':%u: got %s/%d '%s', want %s/%d\n", i, hc->name, hc->port,
				    policy_reason_name(v.reason), v.mode, v.host,
				    policy_reason_name(hc->reason), hc->mode);
			fail();
		}
	}
	policy_put(p);
}

static void test_addresses(void **state)
{
	struct proxy_policy *p = build(lab_allow, NULL, NULL);
	struct cage_addr gw, a;
	static const struct { const char *ip; enum policy_reason r; } cases[] = {
		{ "198.51.100.10", POLICY_OK },         { "2001:db8:51::10", POLICY_OK },
		{ "10.200.0.1", POLICY_DST_GATEWAY },   { "127.0.0.1", POLICY_DST_PRIVATE },
		{ "169.254.169.254", POLICY_DST_PRIVATE }, { "10.0.0.1", POLICY_DST_PRIVATE },
		{ "100.64.0.1", POLICY_DST_PRIVATE },   { "::1", POLICY_DST_PRIVATE },
		{ "fe80::1", POLICY_DST_PRIVATE },      { "::ffff:127.0.0.1", POLICY_DST_PRIVATE },
		{ "fd00:200::1", POLICY_DST_GATEWAY },
	};

	assert_int_equal(ip_literal_parse("10.200.0.1", &gw), 0);
	policy_add_gateway(p, &gw);
	assert_int_equal(ip_literal_parse("fd00:200::1", &gw), 0);
	policy_add_gateway(p, &gw);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ip_literal_parse(cases[i].ip, &a), 0);
		if (policy_check_addr(p, &a) != cases[i].r) {
			print_error("%s: got %s\n", cases[i].ip, policy_reason_name(policy_check_addr(p, &a)));
			fail();
		}
	}
	policy_put(p);
}

static void test_dns_upstream(void **state)
{
	struct proxy_policy *p = build(lab_allow, NULL, NULL);

	assert_int_equal(policy_set_dns_upstream(p, "8.8.8.8"), 0);
	assert_int_equal(p->dns_upstream.ss_family, AF_INET);
	assert_int_equal(policy_set_dns_upstream(p, "[2001:4860:4860::8888]:5353"), 0);
	assert_int_equal(p->dns_upstream.ss_family, AF_INET6);
	assert_int_equal(policy_set_dns_upstream(p, "2001:4860:4860::8888"), 0);
	assert_int_equal(policy_set_dns_upstream(p, "dns.google"), -EINVAL);
	assert_int_equal(policy_set_dns_upstream(p, "8.8.8.8:0"), -EINVAL);
	policy_put(p);
}

static void test_refcount(void **state)
{
	struct proxy_policy *p = build(lab_allow, NULL, NULL);

	policy_get(p);
	policy_put(p);
	assert_int_equal(atomic_load(&p->refs), 1);
	policy_put(p); /* freed: ASan checks the rest */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_cases),
		cmocka_unit_test(test_host_cases),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_dns_upstream),
		cmocka_unit_test(test_refcount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
