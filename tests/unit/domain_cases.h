/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one table of "is this host allowed" cases that cage-proxy and cage-dns are both tested
 * against, so the two layers cannot drift apart. A case passes when
 *     domain_canonicalize(name) == 0 && domain_set_match(set of patterns, canonical)
 * equals `allowed`; a layer that carries the name in its own syntax (a DNS question, a Host
 * header, an SNI, a CONNECT authority) must reach the same verdict. Names are raw, as a client
 * spells them: canonicalization is part of what is tested.
 */
#ifndef CAGE_TESTS_DOMAIN_CASES_H
#define CAGE_TESTS_DOMAIN_CASES_H

#include <stdbool.h>
#include <stddef.h>

#define DOMAIN_CASE_MAX_PATTERNS 8

struct domain_case {
	const char *patterns[DOMAIN_CASE_MAX_PATTERNS]; /* NULL-terminated */
	const char *name;
	bool allowed;
};

/* The lab allowlist of escapes.md section 0. */
#define LAB_ALLOW                                                                            \
	{ "api.allowed.test", "echo.allowed.test", "doh.allowed.test", "proxy.allowed.test",   \
	  "rebind.allowed.test", "flip.allowed.test", "alias.allowed.test",                     \
	  "*.wild.allowed.test" }

static const struct domain_case domain_cases[] = {
	/* exact names and letter case (escapes rows 29, 43) */
	{ LAB_ALLOW, "api.allowed.test", true },
	{ LAB_ALLOW, "API.ALLOWED.TEST.", true },
	{ LAB_ALLOW, "Api.Allowed.Test", true },
	{ LAB_ALLOW, "EVIL.test", false },
	{ LAB_ALLOW, "allowed.test", false },
	/* subdomains of a plain pattern match at a dot boundary */
	{ LAB_ALLOW, "v2.api.allowed.test", true },
	{ LAB_ALLOW, "a.b.c.api.allowed.test", true },
	/* suffix and prefix over-match (rows 29, 45) */
	{ LAB_ALLOW, "evilallowed.test", false },
	{ LAB_ALLOW, "evilapi.allowed.test", false },
	{ LAB_ALLOW, "api.allowed.test.evil.test", false },
	{ LAB_ALLOW, "api.allowed.test.rt-1234.evil.test", false },
	{ LAB_ALLOW, "allowed.test.evil.test", false },
	{ LAB_ALLOW, "api.allowed.testevil", false },
	{ LAB_ALLOW, "api-allowed.test", false },
	/* wildcard: subdomains only */
	{ LAB_ALLOW, "wild.allowed.test", false },
	{ LAB_ALLOW, "x.wild.allowed.test", true },
	{ LAB_ALLOW, "X.Y.WILD.allowed.test.", true },
	{ LAB_ALLOW, "xwild.allowed.test", false },
	/* trailing dots: one is the root, two is malformed (S14) */
	{ LAB_ALLOW, "api.allowed.test..", false },
	{ LAB_ALLOW, ".api.allowed.test", false },
	{ LAB_ALLOW, "api..allowed.test", false },
	/* escapes and separators that must never become a dot or vanish (rows 29, S15) */
	{ LAB_ALLOW, "api\\.allowed.test", false },
	{ LAB_ALLOW, "api\\046allowed.test", false },
	{ LAB_ALLOW, "api%2eallowed.test", false },
	{ LAB_ALLOW, "evil.test@api.allowed.test", false },
	{ LAB_ALLOW, "evil.test#api.allowed.test", false },
	{ LAB_ALLOW, "evil.test/api.allowed.test", false },
	{ LAB_ALLOW, "api.allowed.test:443", false },
	{ LAB_ALLOW, "api.allowed.test ", false },
	{ LAB_ALLOW, " api.allowed.test", false },
	{ LAB_ALLOW, "api.allowed.test\t", false },
	{ LAB_ALLOW, "*.wild.allowed.test", false },
	/* non-ASCII: homoglyph (Cyrillic a), fullwidth (row 41) */
	{ LAB_ALLOW, "\xd0\xb0pi.allowed.test", false },
	{ LAB_ALLOW, "\xef\xbd\x81\xef\xbd\x90\xef\xbd\x89.allowed.test", false },
	/* IP literals never match a name pattern (S16) */
	{ LAB_ALLOW, "198.51.100.10", false },
	{ LAB_ALLOW, "127.1", false },
	{ LAB_ALLOW, "[::1]", false },
	/* most specific pattern and block-style lists */
	{ { "example.com", NULL }, "example.com", true },
	{ { "example.com", NULL }, "www.example.com", true },
	{ { "example.com", NULL }, "wwwexample.com", false },
	{ { "example.com", NULL }, "example.com.", true },
	{ { "example.com", NULL }, "example.co", false },
	{ { "example.com", NULL }, "xample.com", false },
	{ { "*.example.com", NULL }, "example.com", false },
	{ { "*.example.com", NULL }, "a.example.com", true },
	{ { "*.example.com", "example.com", NULL }, "example.com", true },
	{ { "Example.COM.", NULL }, "www.example.com", true },
	{ { "com", NULL }, "anything.com", true },
	{ { "com", NULL }, "anything.co", false },
	{ { "localhost", NULL }, "localhost.", true },
	{ { "_dmarc.example.com", NULL }, "_dmarc.example.com", true },
	{ { NULL }, "example.com", false },
};

#define DOMAIN_CASES_N (sizeof(domain_cases) / sizeof(domain_cases[0]))

#endif
