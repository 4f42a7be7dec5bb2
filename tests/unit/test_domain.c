// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "domain_cases.h"
#include "lib/domain.h"

struct canon_case {
	const char *in;
	int err;
	const char *out;
};

#define L63 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123"

static const struct canon_case canon_cases[] = {
	{ "example.com", 0, "example.com" },
	{ "Example.COM", 0, "example.com" },
	{ "example.com.", 0, "example.com" },
	{ "localhost.", 0, "localhost" },
	{ "_dmarc.example.com", 0, "_dmarc.example.com" },
	{ "a_b.example.com", 0, "a_b.example.com" },
	{ "xn--80ak6aa92e.com", 0, "xn--80ak6aa92e.com" },
	{ "a-.example.com", 0, "a-.example.com" },
	{ "10-years.example.com", 0, "10-years.example.com" },
	{ "1.2.3.example", 0, "1.2.3.example" },
	{ "123.com", 0, "123.com" },
	{ L63 ".com", 0, L63 ".com" },
	{ "", -EINVAL, NULL },
	{ ".", -EINVAL, NULL },
	{ "..", -EINVAL, NULL },
	{ "example.com..", -EINVAL, NULL },
	{ ".example.com", -EINVAL, NULL },
	{ "a..b", -EINVAL, NULL },
	{ "-a.example.com", -EINVAL, NULL },
	{ "a.-b.com", -EINVAL, NULL },
	{ "a\\.b.com", -EINVAL, NULL },
	{ "a%2eb.com", -EINVAL, NULL },
	{ "user@example.com", -EINVAL, NULL },
	{ "example.com#frag", -EINVAL, NULL },
	{ "example.com/x", -EINVAL, NULL },
	{ "example.com:443", -EINVAL, NULL },
	{ "exa mple.com", -EINVAL, NULL },
	{ "example.com\r", -EINVAL, NULL },
	{ "example.com\n", -EINVAL, NULL },
	{ "\x7f" "example.com", -EINVAL, NULL },
	{ "*.example.com", -EINVAL, NULL },
	{ "exa\"mple.com", -EINVAL, NULL },
	{ "ex\xc3\xa4mple.com", -EILSEQ, NULL },
	{ "\xd0\xb0pi.allowed.test", -EILSEQ, NULL },
	{ "\xff.com", -EILSEQ, NULL },
	{ "ex\xc3\xa4mple.com/", -EINVAL, NULL },
	{ L63 "x.com", -ENAMETOOLONG, NULL },
	/* S16 and friends: IP literals in every spelling */
	{ "127.1", -EADDRNOTAVAIL, NULL },
	{ "127.0.0.1", -EADDRNOTAVAIL, NULL },
	{ "127.0.0.1.", -EADDRNOTAVAIL, NULL },
	{ "2130706433", -EADDRNOTAVAIL, NULL },
	{ "0x7f000001", -EADDRNOTAVAIL, NULL },
	{ "0X7F000001", -EADDRNOTAVAIL, NULL },
	{ "0177.0.0.1", -EADDRNOTAVAIL, NULL },
	{ "0", -EADDRNOTAVAIL, NULL },
	{ "[::1]", -EADDRNOTAVAIL, NULL },
	{ "::1", -EADDRNOTAVAIL, NULL },
	{ "::ffff:127.0.0.1", -EADDRNOTAVAIL, NULL },
	{ "[fe80::1%25eth0]", -EADDRNOTAVAIL, NULL },
	{ "1.2.3.999", -EADDRNOTAVAIL, NULL },
	{ "4294967296", -EADDRNOTAVAIL, NULL },
	{ "foo.123", -EADDRNOTAVAIL, NULL },
	{ "foo.0x1f", -EADDRNOTAVAIL, NULL },
	{ "08.1", -EADDRNOTAVAIL, NULL },
};

static void test_canonicalize_table(void **state)
{
	for (size_t i = 0; i < sizeof(canon_cases) / sizeof(canon_cases[0]); i++) {
		const struct canon_case *c = &canon_cases[i];
		char out[DOMAIN_BUF_SIZE];
		int err = domain_canonicalize(c->in, strlen(c->in), out, sizeof(out));

		if (err != c->err)
			fail_msg("canonicalize(\"%s\") = %d, want %d", c->in, err, c->err);
		if (!err && strcmp(out, c->out) != 0)
			fail_msg("canonicalize(\"%s\") = \"%s\", want \"%s\"", c->in, out, c->out);
	}
}

static void test_canonicalize_lengths(void **state)
{
	char in[300], out[DOMAIN_BUF_SIZE];
	size_t n = 0;

	/* 63+1+63+1+63+1+61 = 253 bytes: the longest name. */
	n += (size_t)sprintf(in + n, "%s.%s.%s.", L63, L63, L63);
	memset(in + n, 'a', 61);
	n += 61;
	in[n] = '\0';
	assert_int_equal(n, 253);
	assert_int_equal(domain_canonicalize(in, n, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 253);
	/* With the root dot it is still fine; one more byte is not. */
	in[n] = '.';
	assert_int_equal(domain_canonicalize(in, n + 1, out, sizeof(out)), 0);
	in[n] = 'a';
	assert_int_equal(domain_canonicalize(in, n + 1, out, sizeof(out)), -ENAMETOOLONG);
	/* Too small an output buffer is reported, never overrun. */
	assert_int_equal(domain_canonicalize("example.com", 11, out, 11), -ENOSPC);
	assert_int_equal(domain_canonicalize("example.com", 11, out, 12), 0);
	/* Embedded NUL: len is what counts. */
	assert_int_equal(domain_canonicalize("a\0b.com", 7, out, sizeof(out)), -EINVAL);
	assert_int_equal(domain_canonicalize(NULL, 0, out, sizeof(out)), -EINVAL);
}

static void test_canonical_is_fixed_point(void **state)
{
	for (size_t i = 0; i < sizeof(canon_cases) / sizeof(canon_cases[0]); i++) {
		char once[DOMAIN_BUF_SIZE], twice[DOMAIN_BUF_SIZE];

		if (domain_canonicalize(canon_cases[i].in, strlen(canon_cases[i].in), once,
					sizeof(once)))
			continue;
		assert_int_equal(domain_canonicalize(once, strlen(once), twice, sizeof(twice)), 0);
		assert_string_equal(once, twice);
	}
}

static bool case_allowed(const struct domain_case *c)
{
	struct domain_set *set = domain_set_new();
	char canon[DOMAIN_BUF_SIZE];
	bool allowed = false;

	assert_non_null(set);
	for (size_t k = 0; k < DOMAIN_CASE_MAX_PATTERNS && c->patterns[k]; k++)
		assert_int_equal(domain_set_add(set, c->patterns[k], (uint32_t)k + 1), 0);
	if (domain_canonicalize(c->name, strlen(c->name), canon, sizeof(canon)) == 0)
		allowed = domain_set_match(set, canon, NULL);
	domain_set_free(set);
	return allowed;
}

static void test_shared_table(void **state)
{
	for (size_t i = 0; i < DOMAIN_CASES_N; i++)
		if (case_allowed(&domain_cases[i]) != domain_cases[i].allowed)
			fail_msg("case %zu \"%s\": want %s", i, domain_cases[i].name,
				 domain_cases[i].allowed ? "allowed" : "denied");
}

static void test_most_specific_id(void **state)
{
	struct domain_set *set = domain_set_new();
	uint32_t id = 0;

	assert_int_equal(domain_set_add(set, "com", 1), 0);
	assert_int_equal(domain_set_add(set, "example.com", 2), 0);
	assert_int_equal(domain_set_add(set, "*.example.com", 3), 0);
	assert_int_equal(domain_set_add(set, "*.api.example.com", 4), 0);
	assert_int_equal(domain_set_count(set), 4);
	assert_true(domain_set_match(set, "example.com", &id));
	assert_int_equal(id, 2);
	/* "x" and "*.x" both match below x: the plain pattern wins. */
	assert_true(domain_set_match(set, "www.example.com", &id));
	assert_int_equal(id, 2);
	assert_true(domain_set_match(set, "api.example.com", &id));
	assert_int_equal(id, 2);
	assert_true(domain_set_match(set, "v1.api.example.com", &id));
	assert_int_equal(id, 4);
	assert_true(domain_set_match(set, "other.com", &id));
	assert_int_equal(id, 1);
	assert_false(domain_set_match(set, "example.org", &id));
	domain_set_free(set);
}

static void test_add_errors(void **state)
{
	struct domain_set *set = domain_set_new();
	uint32_t id = 0;

	assert_int_equal(domain_set_add(set, "Example.com.", 7), 0);
	assert_int_equal(domain_set_add(set, "example.com", 8), -EEXIST);
	assert_true(domain_set_match(set, "example.com", &id));
	assert_int_equal(id, 7);
	assert_int_equal(domain_set_add(set, "*.example.com", 9), 0);
	assert_int_equal(domain_set_add(set, "*.EXAMPLE.com", 10), -EEXIST);
	assert_int_equal(domain_set_add(set, "*", 1), -EINVAL);
	assert_int_equal(domain_set_add(set, "*.", 1), -EINVAL);
	assert_int_equal(domain_set_add(set, "**.x.com", 1), -EINVAL);
	assert_int_equal(domain_set_add(set, "a.*.x.com", 1), -EINVAL);
	assert_int_equal(domain_set_add(set, "127.0.0.1", 1), -EADDRNOTAVAIL);
	assert_int_equal(domain_set_add(set, "bad..name", 1), -EINVAL);
	assert_int_equal(domain_set_add(set, NULL, 1), -EINVAL);
	assert_int_equal(domain_set_count(set), 2);
	domain_set_free(set);
	domain_set_free(NULL);
}

static void test_match_rejects_non_canonical(void **state)
{
	struct domain_set *set = domain_set_new();

	assert_int_equal(domain_set_add(set, "example.com", 1), 0);
	assert_false(domain_set_match(set, "EXAMPLE.com", NULL));
	assert_false(domain_set_match(set, "example.com.", NULL));
	assert_false(domain_set_match(set, ".example.com", NULL));
	assert_false(domain_set_match(set, "a..example.com", NULL));
	assert_false(domain_set_match(set, "a\\.example.com", NULL));
	assert_false(domain_set_match(set, "", NULL));
	assert_false(domain_set_match(set, L63 "x.example.com", NULL));
	assert_true(domain_set_match(set, L63 ".example.com", NULL));
	domain_set_free(set);
}

/* Hundreds of patterns: growth keeps every entry, and near misses stay misses. */
static void test_many_patterns(void **state)
{
	struct domain_set *set = domain_set_new();
	char name[64];
	uint32_t id;

	for (uint32_t i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "%s.host%u.example", i % 2 ? "*" : "svc", i);
		assert_int_equal(domain_set_add(set, name, i + 100), 0);
	}
	for (uint32_t i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "a.svc.host%u.example", i);
		id = 0;
		if (i % 2 == 0) {
			assert_true(domain_set_match(set, name, &id));
			assert_int_equal(id, i + 100);
		} else {
			/* "*.hostN.example" covers a.svc.hostN.example too. */
			assert_true(domain_set_match(set, name, &id));
			assert_int_equal(id, i + 100);
			snprintf(name, sizeof(name), "host%u.example", i);
			assert_false(domain_set_match(set, name, NULL));
		}
		snprintf(name, sizeof(name), "svc.host%uexample", i);
		assert_false(domain_set_match(set, name, NULL));
	}
	domain_set_free(set);
}

struct private_case {
	const char *name;
	bool encodes_private;
};

static const struct private_case private_cases[] = {
	{ "169-254-169-254.nip.io", true },
	{ "10-0-0-1.sslip.io", true },
	{ "127.0.0.1.nip.io", true },
	{ "0x7f000001.nip.io", true },
	{ "app-10-0-0-1.nip.io", true },
	{ "10.0.0.1.xip.io", true },
	{ "customer1.app.10.0.0.1.nip.io", true },
	{ "magic-127-0-0-1.nip.io", true },
	{ "www.192-168-1-250.sslip.io", true },
	{ "100-64-0-1.nip.io", true },
	{ "172-16-0-1.nip.io", true },
	{ "0a000001.nip.io", true },
	{ "app-7f000001.nip.io", true },
	{ "--1.sslip.io", true },
	{ "fe80--1.sslip.io", true },
	{ "127.0.0.1.example.com", true },
	{ "10-200-0-1.attacker.example", true },
	{ "x.0xa9fea9fe.attacker.example", true },
	{ "localhost", true },
	{ "api.localhost", true },
	{ "lvh.me", true },
	{ "foo.localtest.me", true },
	{ "127.0.0.1", true },
	{ "0.0.0.0.nip.io", true },
	/* look-alikes that must stay allowed */
	{ "93-184-216-34.nip.io", false },
	{ "93.184.216.34.nip.io", false },
	{ "8-8-8-8.sslip.io", false },
	{ "5db8d822.nip.io", false },
	{ "2606-4700--1111.sslip.io", false },
	{ "198-51-100-10.nip.io", false },
	{ "10-years.example.com", false },
	{ "10.years.example.com", false },
	{ "v10-0-0-1.example.com", false },
	{ "10-0-0.example.com", false },
	{ "10.0.0.example.com", false },
	{ "0a000001.example.com", false },
	{ "deadbeef.nip.io", false },
	{ "api.allowed.test", false },
	{ "nip.io", false },
	{ "sslip.io", false },
	{ "notlocalhost", false },
	{ "localhost.example.com", false },
	{ "1-2-3-4-5.example.com", false },
	{ "xn--80ak6aa92e.sslip.io", false },
	{ "", false },
};

static void test_encodes_private_ip(void **state)
{
	for (size_t i = 0; i < sizeof(private_cases) / sizeof(private_cases[0]); i++)
		if (domain_encodes_private_ip(private_cases[i].name) !=
		    private_cases[i].encodes_private)
			fail_msg("domain_encodes_private_ip(\"%s\") != %d", private_cases[i].name,
				 private_cases[i].encodes_private);
	assert_false(domain_encodes_private_ip(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonicalize_table),
		cmocka_unit_test(test_canonicalize_lengths),
		cmocka_unit_test(test_canonical_is_fixed_point),
		cmocka_unit_test(test_shared_table),
		cmocka_unit_test(test_most_specific_id),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_match_rejects_non_canonical),
		cmocka_unit_test(test_many_patterns),
		cmocka_unit_test(test_encodes_private_ip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
