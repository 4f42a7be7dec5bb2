/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IP literals in every spelling a URL parser, inet_aton() or getaddrinfo() accepts, and the one
 * definition of "public address" that cage-proxy, cage-dns and the loader share. Pure functions,
 * no allocation, safe from any thread.
 */
#ifndef CAGE_LIB_IPCLASS_H
#define CAGE_LIB_IPCLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cage/maps.h"

/* Big enough for any ip_format() result, including the NUL. */
#define IP_FORMAT_MAX 46

/*
 * Parses s as an IP literal: IPv4 as inet_aton() and the WHATWG URL parser read it (1 to 4
 * parts, each decimal, octal with a leading 0 or hex with 0x; "127.1", "2130706433",
 * "0x7f000001", "0177.0.0.1", "0x7f.1", one trailing dot), IPv6 with or without brackets and
 * with an optional zone ("fe80::1%eth0", "[fe80::1%25eth0]"). IPv4-mapped IPv6 is returned as
 * AF_INET. Returns 0 and fills *out, or -EINVAL if s is not an IP literal.
 */
int ip_literal_parse(const char *s, struct cage_addr *out);

/* Same as ip_literal_parse() on the first len bytes of s (which need not be NUL-terminated). */
int ip_literal_parse_mem(const char *s, size_t len, struct cage_addr *out);

/*
 * Parses one inet_aton() number part ("10", "012", "0xa"): returns 0 and the value, -EINVAL if
 * the text is not a number, -ERANGE if it does not fit in 32 bits.
 */
int ip_v4_part_parse(const char *s, size_t len, uint32_t *value);

/*
 * False for every address a cage must never reach through the proxy or learn from the resolver:
 * IPv4 0/8, 10/8, 100.64/10 (CGNAT), 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.168/16,
 * 198.18/15, 224/4 and 240/4 (which holds 255.255.255.255); IPv6 ::, ::1, ::/96 (deprecated
 * IPv4-compatible), 100::/64 (discard), fc00::/7, fec0::/10, fe80::/10, ff00::/8,
 * 64:ff9b:1::/48 (local NAT64), and 64:ff9b::/96 or 2002::/16 when the embedded IPv4 address is
 * not public. IPv4-mapped IPv6 is judged as the IPv4 address.
 *
 * The documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32
 * count as PUBLIC on purpose: the test lab uses them as its fake internet, and on the real
 * internet nobody routes them, so allowing them opens nothing.
 */
bool ip_is_public(const struct cage_addr *a);

/* Writes a in the usual text form. Returns buf, or NULL if len < IP_FORMAT_MAX or the family
 * is unknown (buf then holds "?" when len allows). */
const char *ip_format(const struct cage_addr *a, char *buf, size_t len);

/* Builds an AF_INET cage_addr from a host-order IPv4 address. */
void ip_from_v4(struct cage_addr *out, uint32_t host_order);

/* Compares two addresses (family and bytes). */
bool ip_equal(const struct cage_addr *a, const struct cage_addr *b);

#endif
