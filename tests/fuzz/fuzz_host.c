// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host names from hostile input: canonicalization must be a fixed point that yields plain
 * label bytes and never an IP literal; IP literals must survive a format/parse round trip and
 * always be refused as names; the matcher never matches across a non-dot boundary.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/wire.h"
#include "lib/domain.h"
#include "lib/ipclass.h"

#define CHECK(cond)                 \
	do {                        \
		if (!(cond))        \
			abort();    \
	} while (0)

/* The reference rule: the pattern itself, or anything ending in "." + pattern. */
static bool naive_match(const char *name, const char *pattern)
{
	size_t n = strlen(name), p = strlen(pattern);

	if (n == p)
		return strcmp(name, pattern) == 0;
	return n > p && name[n - p - 1] == '.' && strcmp(name + n - p, pattern) == 0;
}

static void check_derived(const struct domain_set *set, const char *pattern, const char *name)
{
	char canon[DOMAIN_BUF_SIZE];

	if (domain_canonicalize(name, strlen(name), canon, sizeof(canon)) != 0)
		return;
	CHECK(domain_set_match(set, canon, NULL) == naive_match(canon, pattern));
}

static void check_canonical(const char *canon)
{
	char again[DOMAIN_BUF_SIZE], longer[2 * DOMAIN_BUF_SIZE], wild[DOMAIN_BUF_SIZE + 2];
	size_t len = strlen(canon);
	struct cage_addr addr;
	struct domain_set *set;
	uint8_t wire[512];
	uint32_t id = 0;

	CHECK(len > 0 && len <= DOMAIN_NAME_MAX);
	CHECK(strspn(canon, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == len);
	CHECK(domain_canonicalize(canon, len, again, sizeof(again)) == 0);
	CHECK(strcmp(canon, again) == 0);
	CHECK(ip_literal_parse(canon, &addr) == -EINVAL);
	(void)domain_encodes_private_ip(canon);
	CHECK(dns_write_upstream_query(canon, DNS_TYPE_A, NULL, NULL, wire, sizeof(wire)) > 0);

	set = domain_set_new();
	CHECK(set);
	CHECK(domain_set_add(set, canon, 1) == 0);
	snprintf(wild, sizeof(wild), "*.%s", canon);
	CHECK(domain_set_add(set, wild, 2) == 0);
	CHECK(domain_set_match(set, canon, &id) && id == 1);
	/* Derived names match exactly when the slow, obvious rule says so. */
	snprintf(longer, sizeof(longer), "x%s", canon);
	check_derived(set, canon, longer);
	snprintf(longer, sizeof(longer), "%s.x", canon);
	check_derived(set, canon, longer);
	snprintf(longer, sizeof(longer), "x.%s", canon);
	check_derived(set, canon, longer);
	snprintf(longer, sizeof(longer), "%s%s", canon, canon);
	check_derived(set, canon, longer);
	domain_set_free(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char canon[DOMAIN_BUF_SIZE], formatted[IP_FORMAT_MAX];
	struct cage_addr addr, again;
	int err;

	err = domain_canonicalize(text, size, canon, sizeof(canon));
	CHECK(err == 0 || err == -EINVAL || err == -EILSEQ || err == -ENAMETOOLONG ||
	      err == -EADDRNOTAVAIL);
	if (err == 0)
		check_canonical(canon);

	if (ip_literal_parse_mem(text, size, &addr) == 0) {
		CHECK(err == -EADDRNOTAVAIL);
		CHECK(addr.family == CAGE_AF_INET || addr.family == CAGE_AF_INET6);
		CHECK(ip_format(&addr, formatted, sizeof(formatted)));
		CHECK(ip_literal_parse(formatted, &again) == 0 && ip_equal(&addr, &again));
		CHECK(ip_is_public(&addr) == ip_is_public(&again));
	}
	if (size <= DOMAIN_NAME_MAX) {
		char copy[DOMAIN_NAME_MAX + 1];

		memcpy(copy, data, size);
		copy[size] = '\0';
		(void)domain_encodes_private_ip(copy);
	}
	return 0;
}
