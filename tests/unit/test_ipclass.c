// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/ipclass.h"

struct literal_case {
	const char *text;
	int err;             /* 0 or -EINVAL */
	const char *formatted; /* expected ip_format() of the result */
};

/* Every spelling of escapes.md S16 and the ones URL parsers and inet_aton() add. */
static const struct literal_case literal_cases[] = {
	{ "127.0.0.1", 0, "127.0.0.1" },
	{ "127.1", 0, "127.0.0.1" },
	{ "127.0.1", 0, "127.0.0.1" },
	{ "2130706433", 0, "127.0.0.1" },
	{ "0x7f000001", 0, "127.0.0.1" },
	{ "0X7F000001", 0, "127.0.0.1" },
	{ "0177.0.0.1", 0, "127.0.0.1" },
	{ "0177.1", 0, "127.0.0.1" },
	{ "0x7f.1", 0, "127.0.0.1" },
	{ "0x7f.0x0.0x0.0x1", 0, "127.0.0.1" },
	{ "017700000001", 0, "127.0.0.1" },
	{ "0", 0, "0.0.0.0" },
	{ "0x", 0, "0.0.0.0" },
	{ "127.0.0.1.", 0, "127.0.0.1" },
	{ "169.254.169.254", 0, "169.254.169.254" },
	{ "0xa9fea9fe", 0, "169.254.169.254" },
	{ "2852039166", 0, "169.254.169.254" },
	{ "10.0.0.1", 0, "10.0.0.1" },
	{ "255.255.255.255", 0, "255.255.255.255" },
	{ "4294967295", 0, "255.255.255.255" },
	{ "1.2.65535", 0, "1.2.255.255" },
	{ "1.16777215", 0, "1.255.255.255" },
	{ "::1", 0, "::1" },
	{ "[::1]", 0, "::1" },
	{ "::", 0, "::" },
	{ "::ffff:127.0.0.1", 0, "127.0.0.1" },
	{ "[::ffff:7f00:1]", 0, "127.0.0.1" },
	{ "::FFFF:10.0.0.1", 0, "10.0.0.1" },
	{ "fe80::1%eth0", 0, "fe80::1" },
	{ "[fe80::1%25eth0]", 0, "fe80::1" },
	{ "2001:db8:51::10", 0, "2001:db8:51::10" },
	{ "2001:DB8:51::10", 0, "2001:db8:51::10" },
	{ "0000:0000:0000:0000:0000:0000:0000:0001", 0, "::1" },
	/* not IP literals */
	{ "", -EINVAL, NULL },
	{ ".", -EINVAL, NULL },
	{ "localhost", -EINVAL, NULL },
	{ "localhost.", -EINVAL, NULL },
	{ "127.0.0.1.nip.io", -EINVAL, NULL },
	{ "1.2.3.4.5", -EINVAL, NULL },
	{ "256.0.0.1", -EINVAL, NULL },
	{ "1.2.3.256", -EINVAL, NULL },
	{ "1.2.65536", -EINVAL, NULL },
	{ "1.16777216", -EINVAL, NULL },
	{ "4294967296", -EINVAL, NULL },
	{ "08.0.0.1", -EINVAL, NULL },
	{ "0x1g", -EINVAL, NULL },
	{ "1..1", -EINVAL, NULL },
	{ "127.0.0.1..", -EINVAL, NULL },
	{ " 127.0.0.1", -EINVAL, NULL },
	{ "127.0.0.1 ", -EINVAL, NULL },
	{ "[127.0.0.1]", -EINVAL, NULL },
	{ "[::1", -EINVAL, NULL },
	{ "::1]", -EINVAL, NULL },
	{ "[]", -EINVAL, NULL },
	{ "fe80::1%", -EINVAL, NULL },
	{ ":::1", -EINVAL, NULL },
	{ "1:2:3:4:5:6:7:8:9", -EINVAL, NULL },
	{ "10-0-0-1", -EINVAL, NULL },
	{ "example.com", -EINVAL, NULL },
};

static void test_literal_table(void **state)
{
	for (size_t i = 0; i < sizeof(literal_cases) / sizeof(literal_cases[0]); i++) {
		const struct literal_case *c = &literal_cases[i];
		struct cage_addr a;
		char buf[IP_FORMAT_MAX];
		int err = ip_literal_parse(c->text, &a);

		if (err != c->err)
			fail_msg("ip_literal_parse(\"%s\") = %d, want %d", c->text, err, c->err);
		if (err)
			continue;
		if (!ip_format(&a, buf, sizeof(buf)) || strcmp(buf, c->formatted) != 0)
			fail_msg("\"%s\" formats as %s, want %s", c->text, buf, c->formatted);
	}
}

static void test_literal_mem_not_terminated(void **state)
{
	const char text[] = "127.0.0.1xyz";
	struct cage_addr a;
	char buf[IP_FORMAT_MAX];

	assert_int_equal(ip_literal_parse_mem(text, 9, &a), 0);
	assert_string_equal(ip_format(&a, buf, sizeof(buf)), "127.0.0.1");
	assert_int_equal(ip_literal_parse_mem("1\0002", 3, &a), -EINVAL);
	assert_int_equal(ip_literal_parse(NULL, &a), -EINVAL);
}

struct public_case {
	const char *text;
	bool is_public;
};

static const struct public_case public_cases[] = {
	{ "0.0.0.0", false },
	{ "0.1.2.3", false },
	{ "10.0.0.1", false },
	{ "10.200.0.1", false },
	{ "100.64.0.1", false },
	{ "100.127.255.255", false },
	{ "100.63.255.255", true },
	{ "100.128.0.0", true },
	{ "127.0.0.1", false },
	{ "127.255.255.254", false },
	{ "169.254.169.254", false },
	{ "172.16.0.1", false },
	{ "172.31.255.255", false },
	{ "172.15.255.255", true },
	{ "172.32.0.0", true },
	{ "192.0.0.8", false },
	{ "192.168.1.1", false },
	{ "198.18.0.1", false },
	{ "198.19.255.255", false },
	{ "198.20.0.0", true },
	{ "224.0.0.1", false },
	{ "239.255.255.250", false },
	{ "240.0.0.1", false },
	{ "255.255.255.255", false },
	{ "8.8.8.8", true },
	{ "93.184.216.34", true },
	{ "1.1.1.1", true },
	/* documentation ranges are the lab's fake internet: public on purpose */
	{ "192.0.2.1", true },
	{ "198.51.100.10", true },
	{ "198.51.100.20", true },
	{ "203.0.113.5", true },
	{ "2001:db8:51::10", true },
	{ "2001:db8::1", true },
	{ "2001:4860:4860::8888", true },
	{ "::", false },
	{ "::1", false },
	{ "::127.0.0.1", false },
	{ "::ffff:127.0.0.1", false },
	{ "::ffff:8.8.8.8", true },
	{ "::ffff:0:10.0.0.1", false },
	{ "::ffff:0:8.8.8.8", true },
	{ "fc00::1", false },
	{ "fd12:3456::1", false },
	{ "fe80::1", false },
	{ "febf::1", false },
	{ "fec0::1", false },
	{ "ff02::1", false },
	{ "64:ff9b::a9fe:a9fe", false },
	{ "64:ff9b::7f00:1", false },
	{ "64:ff9b::808:808", true },
	{ "64:ff9b:1::1", false },
	{ "2002:7f00:1::1", false },
	{ "2002:a00:1::1", false },
	{ "2002:808:808::1", true },
	{ "100::1", false },
	{ "2606:4700::1111", true },
};

static void test_public_table(void **state)
{
	for (size_t i = 0; i < sizeof(public_cases) / sizeof(public_cases[0]); i++) {
		struct cage_addr a;

		if (ip_literal_parse(public_cases[i].text, &a) != 0)
			fail_msg("%s does not parse", public_cases[i].text);
		if (ip_is_public(&a) != public_cases[i].is_public)
			fail_msg("ip_is_public(%s) != %d", public_cases[i].text,
				 public_cases[i].is_public);
	}
}

static void test_public_mapped_stored_as_v6(void **state)
{
	/* Someone else's code may build a mapped address by hand: it is still judged as IPv4. */
	struct cage_addr a = { .family = CAGE_AF_INET6 };
	uint8_t b[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 };

	memcpy(a.ip, b, 16);
	assert_false(ip_is_public(&a));
	a.family = 0;
	assert_false(ip_is_public(&a));
}

static void test_format_limits(void **state)
{
	struct cage_addr a;
	char small[8], buf[IP_FORMAT_MAX];

	ip_from_v4(&a, 0x7f000001);
	assert_null(ip_format(&a, small, sizeof(small)));
	assert_string_equal(small, "?");
	assert_string_equal(ip_format(&a, buf, sizeof(buf)), "127.0.0.1");
	a.family = 99;
	assert_null(ip_format(&a, buf, sizeof(buf)));
}

static void test_equal(void **state)
{
	struct cage_addr a, b;

	assert_int_equal(ip_literal_parse("127.1", &a), 0);
	assert_int_equal(ip_literal_parse("::ffff:127.0.0.1", &b), 0);
	assert_true(ip_equal(&a, &b));
	assert_int_equal(ip_literal_parse("::1", &b), 0);
	assert_false(ip_equal(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_table),
		cmocka_unit_test(test_literal_mem_not_terminated),
		cmocka_unit_test(test_public_table),
		cmocka_unit_test(test_public_mapped_stored_as_v6),
		cmocka_unit_test(test_format_limits),
		cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
