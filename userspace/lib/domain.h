/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host names as policy sees them, shared by cage-proxy and cage-dns so that both layers agree
 * byte for byte: one canonical form, one pattern matcher, one "names that encode a private
 * address" check. tests/unit/domain_cases.h holds the table both daemons are tested against.
 */
#ifndef CAGE_LIB_DOMAIN_H
#define CAGE_LIB_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOMAIN_NAME_MAX  253
#define DOMAIN_LABEL_MAX 63
/* An out buffer of this size always suffices for domain_canonicalize(). */
#define DOMAIN_BUF_SIZE  (DOMAIN_NAME_MAX + 1)

/*
 * Writes the canonical form of in[0..len) to out: ASCII lower case, one trailing dot removed.
 * Labels hold [a-z0-9_-] only, and never start with '-'. Returns 0, or:
 *   -EINVAL        empty, empty label (leading dot, "..", two trailing dots), NUL or control
 *                  byte, whitespace, backslash or any other escape, '%', '@', '#', '/', ':',
 *                  '*', or any other punctuation;
 *   -ENAMETOOLONG  a label over 63 bytes or a name over 253 bytes;
 *   -EILSEQ        a byte >= 0x80 (UTF-8): the caller may refuse it or convert it to A-labels
 *                  with IDNA and canonicalize the result (only when no -EINVAL byte is present);
 *   -EADDRNOTAVAIL an IP literal in any spelling ip_literal_parse() knows ("127.1",
 *                  "0x7f000001", "[::1]"), or a name whose last label is a number ("1.2.3.999",
 *                  "foo.0x10"), which URL parsers treat as a broken IPv4 address;
 *   -ENOSPC        out is too small (DOMAIN_BUF_SIZE always fits).
 */
int domain_canonicalize(const char *in, size_t len, char *out, size_t outlen);

/*
 * A set of patterns with the one matching rule of cagectl:
 *   "example.com"    matches example.com and every name below it at a dot boundary;
 *   "*.example.com"  matches the names below example.com, not example.com itself;
 * never "evilexample.com" nor "example.com.evil.test". Patterns are canonicalized on add.
 *
 * A name may match both an allow set and a block set: callers evaluate the block set first,
 * and a block match wins whatever the allow set says.
 *
 * Lookups cost one hash probe per label of the name, whatever the number of patterns. A set
 * is read-only after it is built, so any number of threads may match concurrently; reload by
 * building a new set and swapping the pointer.
 */
struct domain_set;

struct domain_set *domain_set_new(void);
void domain_set_free(struct domain_set *set);

/* Adds a pattern. Returns 0, -EEXIST if the same pattern is already there (the first id
 * stays), -ENOMEM, or a domain_canonicalize() error for a malformed pattern. */
int domain_set_add(struct domain_set *set, const char *pattern, uint32_t id);

size_t domain_set_count(const struct domain_set *set);

/*
 * True if canonical_name (a domain_canonicalize() output) matches a pattern. *id_out (may be
 * NULL) gets the id of the most specific matching pattern: the one with the longest suffix;
 * where "x" and "*.x" both match, "x" wins. A name that is not canonical does not match.
 */
bool domain_set_match(const struct domain_set *set, const char *canonical_name, uint32_t *id_out);

/*
 * True if the name carries an address that is not public (ip_is_public() false) in a form
 * that wildcard DNS services resolve: dotted or dashed IPv4 in the labels
 * (127.0.0.1.nip.io, 169-254-169-254.nip.io, app-10-0-0-1.nip.io, 10.0.0.1.xip.io),
 * 0x-prefixed hex (0x7f000001.nip.io), and under the known services also bare hex
 * (0a000001.nip.io) and dashed IPv6 (--1.sslip.io); plus localhost, *.localhost and the
 * well-known names that point at loopback (lvh.me, localtest.me, vcap.me). Public
 * encodings (93-184-216-34.nip.io) and names that only look numeric (10-years.example.com)
 * are false.
 */
bool domain_encodes_private_ip(const char *canonical);

#endif
