// SPDX-License-Identifier: GPL-2.0-only
/* cage-dns policy, exfiltration heuristics, rate limit, answer cache and dns_allow helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dns_allow.h"
#include "dns/dns_cache.h"
#include "dns/dns_policy.h"
#include "dns/wire.h"
#include "domain_cases.h"

/* A query for `name` (dots separate labels; "\\." is a literal dot inside a label). */
static size_t build_query(uint8_t *b, const char *name, uint16_t qtype, uint16_t qclass)
{
	size_t n = 0, len_at;

	memcpy(b, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	n = 12;
	len_at = n++;
	b[len_at] = 0;
	for (const char *s = name; *s; s++) {
		if (s[0] == '\\' && s[1] == '.') {
			b[n++] = '.';
			b[len_at]++;
			s++;
		} else if (*s == '.') {
			if (!s[1])
				break;
			len_at = n++;
			b[len_at] = 0;
		} else {
			b[n++] = (uint8_t)*s;
			b[len_at]++;
		}
	}
	if (b[len_at])
		b[n++] = 0;
	b[n++] = (uint8_t)(qtype >> 8);
	b[n++] = (uint8_t)qtype;
	b[n++] = (uint8_t)(qclass >> 8);
	b[n++] = (uint8_t)qclass;
	return n;
}

struct fixture {
	struct cage_config_file cfg;
	struct cage_domain allow[DOMAIN_CASE_MAX_PATTERNS], block[2], pass[2];
	struct dns_policy *p;
};

static struct fixture fx;

static void policy_with(const char *const *allow, const char *const *block, const char *const *pass)
{
	int err;

	dns_policy_free(fx.p);
	memset(&fx, 0, sizeof(fx));
	/* The shared table's pattern arrays are NULL-terminated only when not full. */
	for (; allow && fx.cfg.allow.n < DOMAIN_CASE_MAX_PATTERNS && *allow; allow++)
		fx.allow[fx.cfg.allow.n++].pattern = (char *)*allow;
	for (; block && *block; block++)
		fx.block[fx.cfg.block.n++].pattern = (char *)*block;
	for (; pass && *pass; pass++)
		fx.pass[fx.cfg.passthrough.n++].pattern = (char *)*pass;
	fx.cfg.allow.v = fx.allow;
	fx.cfg.block.v = fx.block;
	fx.cfg.passthrough.v = fx.pass;
	fx.cfg.ipv6 = true;
	fx.cfg.dns_rate_limit = 200;
	fx.cfg.dns_label_max = 63;
	fx.p = dns_policy_build(&fx.cfg, 1000, &err);
	assert_non_null(fx.p);
}

static const char *const lab_allow[] = { "api.allowed.test", "echo.allowed.test", "alias.allowed.test",
					 "*.wild.allowed.test", NULL };

static void decide(const char *name, uint16_t qtype, struct dns_decision *d)
{
	uint8_t b[600];
	struct dns_query q;
	size_t n = build_query(b, name, qtype, DNS_CLASS_IN);

	assert_int_equal(dns_query_parse(b, n, &q), 0);
	dns_policy_decide(fx.p, &q, d);
}

static void test_rows_16_19_29(void **state)
{
	struct dns_decision d;
	static const struct {
		const char *name;
		uint16_t qtype;
		enum dns_action action;
		const char *reason;
	} cases[] = {
		{ "api.allowed.test", DNS_TYPE_A, DNS_ACT_FORWARD, NULL },
		{ "API.ALLOWED.TEST.", DNS_TYPE_AAAA, DNS_ACT_FORWARD, NULL },
		{ "ApI.aLLowed.tEST", DNS_TYPE_A, DNS_ACT_FORWARD, NULL },
		{ "x.wild.allowed.test", DNS_TYPE_A, DNS_ACT_FORWARD, NULL },
		{ "wild.allowed.test", DNS_TYPE_A, DNS_ACT_DENY_NAME, "not_allowed" },
		{ "rt-1-abc.evil.test", DNS_TYPE_A, DNS_ACT_DENY_NAME, "not_allowed" },
		{ "rt-1-abc.evil.test", DNS_TYPE_TXT, DNS_ACT_DENY_NAME, "not_allowed" },
		{ "evilallowed.test", DNS_TYPE_A, DNS_ACT_DENY_NAME, "not_allowed" },
		{ "api.allowed.test.rt-1.evil.test", DNS_TYPE_A, DNS_ACT_DENY_NAME, "not_allowed" },
		{ "api\\.allowed.test", DNS_TYPE_A, DNS_ACT_DENY_NAME, "name_odd_bytes" },
		{ "api.allowed.test", DNS_TYPE_TXT, DNS_ACT_REFUSE, "qtype_denied" },
		{ "api.allowed.test", DNS_TYPE_NULL, DNS_ACT_REFUSE, "qtype_denied" },
		{ "api.allowed.test", DNS_TYPE_ANY, DNS_ACT_REFUSE, "qtype_denied" },
		{ "api.allowed.test", DNS_TYPE_MX, DNS_ACT_REFUSE, "qtype_denied" },
		{ "api.allowed.test", DNS_TYPE_SRV, DNS_ACT_REFUSE, "qtype_denied" },
		{ "api.allowed.test", DNS_TYPE_CNAME, DNS_ACT_REFUSE, "qtype_denied" },
		{ "api.allowed.test", DNS_TYPE_AXFR, DNS_ACT_REFUSE, "qtype_denied" },
		{ "api.allowed.test", DNS_TYPE_HTTPS, DNS_ACT_REFUSE, "qtype_denied" },
		{ "api.allowed.test", DNS_TYPE_SVCB, DNS_ACT_REFUSE, "qtype_denied" },
		{ "127.0.0.1.api.allowed.test", DNS_TYPE_A, DNS_ACT_DENY_NAME, "name_private_ip" },
		{ "1.2.3.4", DNS_TYPE_A, DNS_ACT_DENY_NAME, "name_invalid" },
		{ "a b.allowed.test", DNS_TYPE_A, DNS_ACT_DENY_NAME, "name_odd_bytes" },
	};

	(void)state;
	policy_with(lab_allow, NULL, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		decide(cases[i].name, cases[i].qtype, &d);
		if (d.action != cases[i].action)
			fail_msg("%s type %u: action %d, want %d", cases[i].name, cases[i].qtype, d.action,
				 cases[i].action);
		if (cases[i].reason)
			assert_string_equal(d.reason, cases[i].reason);
		else
			assert_null(d.reason);
	}
	decide("API.Allowed.Test", DNS_TYPE_A, &d);
	assert_string_equal(d.name, "api.allowed.test");
}

static void test_block_wins_and_passthrough(void **state)
{
	static const char *const allow[] = { "allowed.test", NULL };
	static const char *const block[] = { "bad.allowed.test", NULL };
	static const char *const pass[] = { "git.example", NULL };
	struct dns_decision d;

	(void)state;
	policy_with(allow, block, pass);
	decide("x.bad.allowed.test", DNS_TYPE_A, &d);
	assert_int_equal(d.action, DNS_ACT_DENY_NAME);
	assert_string_equal(d.reason, "blocked");
	decide("ok.allowed.test", DNS_TYPE_A, &d);
	assert_int_equal(d.action, DNS_ACT_FORWARD);
	decide("git.example", DNS_TYPE_AAAA, &d);
	assert_int_equal(d.action, DNS_ACT_FORWARD);
	assert_int_equal(d.pattern_id, 2);
}

static void test_ipv6_off_and_class(void **state)
{
	struct dns_decision d;
	uint8_t b[600];
	struct dns_query q;
	size_t n;

	(void)state;
	policy_with(lab_allow, NULL, NULL);
	fx.p->ipv6 = false;
	decide("api.allowed.test", DNS_TYPE_AAAA, &d);
	assert_int_equal(d.action, DNS_ACT_NODATA);
	n = build_query(b, "version.bind", DNS_TYPE_TXT, 3);
	assert_int_equal(dns_query_parse(b, n, &q), 0);
	dns_policy_decide(fx.p, &q, &d);
	assert_int_equal(d.action, DNS_ACT_REFUSE);
	assert_string_equal(d.reason, "qclass_denied");
}

/* The shared table: a DNS question must reach the proxy's verdict for every spelling that
 * DNS can carry at all. */
static void test_shared_domain_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(domain_cases) / sizeof(domain_cases[0]); i++) {
		const struct domain_case *c = &domain_cases[i];
		uint8_t b[600];
		struct dns_query q;
		struct dns_decision d;
		size_t n;
		bool empty_label = c->name[0] == '.' || strstr(c->name, "..") || !c->name[0];

		if (empty_label || strlen(c->name) > 250 || strchr(c->name, '\\'))
			continue;  /* not a name DNS can carry: the wire parser's tests cover those */
		policy_with((const char *const *)c->patterns, NULL, NULL);
		n = build_query(b, c->name, DNS_TYPE_A, DNS_CLASS_IN);
		if (dns_query_parse(b, n, &q))
			continue;
		dns_policy_decide(fx.p, &q, &d);
		/* DNS also refuses names that encode private addresses: only "allowed" may differ. */
		if ((d.action == DNS_ACT_FORWARD) != c->allowed && !(c->allowed && d.reason &&
								    !strcmp(d.reason, "name_private_ip")))
			fail_msg("case %zu '%s': dns says %s, table says %s", i, c->name,
				 d.action == DNS_ACT_FORWARD ? "allowed" : d.reason, c->allowed ? "allowed" : "denied");
	}
}

static void test_exfil(void **state)
{
	struct dns_decision d;
	char name[300];

	(void)state;
	policy_with(lab_allow, NULL, NULL);
	/* Row 17: base32 of a canary in 60-character labels. */
	snprintf(name, sizeof(name), "%s.%s.rt-17-abcd.evil.test",
		 "m5ugc3dpmfxgk3tjnzsxe5dfon2gk3lzmfzxi2lonfxgo2lvmvzgk43uob2w", "gzlnnzsxe5dfon2gk");
	decide(name, DNS_TYPE_TXT, &d);
	assert_int_equal(d.action, DNS_ACT_DENY_NAME);
	assert_true(d.exfil & DNS_EXFIL_LONG);
	assert_int_equal(d.exfil_label_len, 60);
	decide("x9f3kq7vz2mb8wt4yh6rj1pc5ng0ls.wild.allowed.test", DNS_TYPE_A, &d);
	assert_int_equal(d.action, DNS_ACT_FORWARD);
	assert_true(d.exfil & DNS_EXFIL_ENTROPY);
	decide("my-load-balancer.wild.allowed.test", DNS_TYPE_A, &d);
	assert_int_equal(d.exfil, 0);
	decide("rt-16-0a1b2c3d.evil.test", DNS_TYPE_A, &d);
	assert_int_equal(d.exfil, 0);
	/* label_max blocks allowed names with longer labels. */
	fx.p->label_max = 40;
	decide("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.wild.allowed.test", DNS_TYPE_A, &d);
	assert_int_equal(d.action, DNS_ACT_DENY_NAME);
	assert_string_equal(d.reason, "label_too_long");
	assert_true(dns_label_entropy((const uint8_t *)"aaaa", 4) < 0.001);
	assert_true(dns_label_entropy((const uint8_t *)"abcd", 4) > 1.999 &&
		    dns_label_entropy((const uint8_t *)"abcd", 4) < 2.001);
	assert_true(dns_label_entropy((const uint8_t *)"ABab", 4) > 0.999 &&
		    dns_label_entropy((const uint8_t *)"ABab", 4) < 1.001);
}

static void test_cname_targets(void **state)
{
	struct dns_name n = { .len = 0 };
	uint8_t b[600];
	struct dns_query q;

	(void)state;
	policy_with(lab_allow, NULL, NULL);
	assert_int_equal(dns_query_parse(b, build_query(b, "Echo.Allowed.Test", 1, 1), &q), 0);
	assert_true(dns_policy_name_allowed(fx.p, &q.qname));
	assert_int_equal(dns_query_parse(b, build_query(b, "evil.test", 1, 1), &q), 0);
	assert_false(dns_policy_name_allowed(fx.p, &q.qname));
	n.wire[0] = 0;
	n.len = 1;
	assert_false(dns_policy_name_allowed(fx.p, &n));
}

static void test_rate(void **state)
{
	struct dns_rate r;
	int passed = 0;

	(void)state;
	dns_rate_init(&r, 100, 0);
	for (int i = 0; i < 1000; i++)
		passed += dns_rate_take(&r, 1000);
	assert_int_equal(passed, 100);
	assert_false(dns_rate_take(&r, 1000 + 5000000));   /* 5 ms: half a token */
	assert_true(dns_rate_take(&r, 1000 + 10000000));   /* 10 ms: one */
	dns_rate_init(&r, 0, 0);
	for (int i = 0; i < 1000; i++)
		assert_true(dns_rate_take(&r, 0));
}

static void test_cache(void **state)
{
	struct dns_cache *c = dns_cache_new(8);
	struct dns_cache_hit hit;
	const uint64_t s = 1000000000ull;
	char name[32];

	(void)state;
	assert_non_null(c);
	dns_cache_put(c, "api.allowed.test", 1, (const uint8_t *)"abc", 3, 30, 10 * s);
	assert_int_equal(dns_cache_get(c, "api.allowed.test", 1, 15 * s, &hit), 0);
	assert_int_equal(hit.len, 3);
	assert_int_equal(hit.age_s, 5);
	assert_memory_equal(hit.msg, "abc", 3);
	assert_int_equal(dns_cache_get(c, "api.allowed.test", 28, 15 * s, &hit), -ENOENT);
	assert_int_equal(dns_cache_get(c, "api.allowed.test", 1, 40 * s, &hit), -ENOENT);
	/* TTL 0 and oversized messages are not kept. */
	dns_cache_put(c, "zero.test", 1, (const uint8_t *)"x", 1, 0, 10 * s);
	assert_int_equal(dns_cache_get(c, "zero.test", 1, 10 * s, &hit), -ENOENT);
	/* Bounded: many names never grow it past its size. */
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%d.test", i);
		dns_cache_put(c, name, 1, (const uint8_t *)"y", 1, 60, 100 * s);
	}
	assert_true(dns_cache_count(c, 100 * s) <= 8);
	assert_int_equal(dns_cache_get(c, "n999.test", 1, 100 * s, &hit), 0);
	dns_cache_clear(c);
	assert_int_equal(dns_cache_count(c, 100 * s), 0);
	dns_cache_free(c);
}

static void test_dns_allow_helpers(void **state)
{
	char tbuf[16];

	(void)state;
	assert_int_equal(dns_allow_lifetime(0), DNS_ALLOW_TTL_FLOOR);
	assert_int_equal(dns_allow_lifetime(300), 300);
	assert_int_equal(dns_allow_lifetime(86400), DNS_ALLOW_TTL_CAP);
	assert_int_not_equal(dns_allow_name_id("api.allowed.test"), 0);
	assert_int_equal(dns_allow_name_id("api.allowed.test"), dns_allow_name_id("api.allowed.test"));
	assert_int_not_equal(dns_allow_name_id("api.allowed.test"), dns_allow_name_id("echo.allowed.test"));
	assert_string_equal(dns_qtype_name(65, tbuf, sizeof(tbuf)), "HTTPS");
	assert_string_equal(dns_qtype_name(4242, tbuf, sizeof(tbuf)), "TYPE4242");
}

static int teardown(void **state)
{
	(void)state;
	dns_policy_free(fx.p);
	fx.p = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_16_19_29),
		cmocka_unit_test(test_block_wins_and_passthrough),
		cmocka_unit_test(test_ipv6_off_and_class),
		cmocka_unit_test(test_shared_domain_cases),
		cmocka_unit_test(test_exfil),
		cmocka_unit_test(test_cname_targets),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_dns_allow_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
