// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "lib/ipclass.h"

/* Longer than any IPv6 literal with a zone that we would ever accept. */
#define IP_TEXT_MAX 128

void ip_from_v4(struct cage_addr *out, uint32_t host_order)
{
	memset(out, 0, sizeof(*out));
	out->family = CAGE_AF_INET;
	out->ip[0] = htonl(host_order);
}

bool ip_equal(const struct cage_addr *a, const struct cage_addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == CAGE_AF_INET)
		return a->ip[0] == b->ip[0];
	return memcmp(a->ip, b->ip, sizeof(a->ip)) == 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ip_v4_part_parse(const char *s, size_t len, uint32_t *value)
{
	uint64_t v = 0;
	unsigned base = 10;
	size_t i = 0;

	if (len == 0)
		return -EINVAL;
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		/* WHATWG reads a bare "0x" as zero; inet_aton refuses it. Either way it is no name. */
		base = 16;
		i = 2;
	} else if (len >= 2 && s[0] == '0') {
		base = 8;
		i = 1;
	}
	for (; i < len; i++) {
		int d = hex_digit(s[i]);

		if (d < 0 || (unsigned)d >= base)
			return -EINVAL;
		v = v * base + (unsigned)d;
		if (v > UINT32_MAX) {
			/* Keep scanning so that "99999999999x" is "not a number", not "too big". */
			for (i++; i < len; i++) {
				d = hex_digit(s[i]);
				if (d < 0 || (unsigned)d >= base)
					return -EINVAL;
			}
			return -ERANGE;
		}
	}
	*value = (uint32_t)v;
	return 0;
}

static int v4_parse(const char *s, size_t len, struct cage_addr *out)
{
	uint32_t parts[4], addr = 0;
	size_t nparts = 0, start = 0;

	/* WHATWG drops one trailing dot: "127.0.0.1." is 127.0.0.1. */
	if (len > 1 && s[len - 1] == '.')
		len--;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (nparts == 4)
			return -EINVAL;
		if (ip_v4_part_parse(s + start, i - start, &parts[nparts]) < 0)
			return -EINVAL;
		nparts++;
		start = i + 1;
	}
	for (size_t i = 0; i + 1 < nparts; i++) {
		if (parts[i] > 255)
			return -EINVAL;
		addr |= parts[i] << (24 - 8 * i);
	}
	/* The last part fills every byte the earlier parts left: "127.1" is 127.0.0.1. */
	if (nparts > 1 && parts[nparts - 1] >= (1ULL << (8 * (5 - nparts))))
		return -EINVAL;
	addr |= parts[nparts - 1];
	ip_from_v4(out, addr);
	return 0;
}

static bool v6_is_v4_mapped(const uint8_t b[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(b, prefix, sizeof(prefix)) == 0;
}

static int v6_parse(const char *s, size_t len, struct cage_addr *out)
{
	char text[IP_TEXT_MAX];
	uint8_t b[16];
	const char *zone;

	if (len >= sizeof(text))
		return -EINVAL;
	memcpy(text, s, len);
	text[len] = '\0';
	zone = memchr(text, '%', len);
	if (zone) {
		/* A zone must name something: "fe80::1%" is malformed, "fe80::1%25eth0" is not. */
		if (zone[1] == '\0')
			return -EINVAL;
		text[zone - text] = '\0';
	}
	if (inet_pton(AF_INET6, text, b) != 1)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (v6_is_v4_mapped(b)) {
		out->family = CAGE_AF_INET;
		memcpy(&out->ip[0], b + 12, 4);
		return 0;
	}
	out->family = CAGE_AF_INET6;
	memcpy(out->ip, b, 16);
	return 0;
}

int ip_literal_parse_mem(const char *s, size_t len, struct cage_addr *out)
{
	if (!s || len == 0)
		return -EINVAL;
	if (memchr(s, '\0', len))
		return -EINVAL;
	if (s[0] == '[') {
		if (len < 3 || s[len - 1] != ']')
			return -EINVAL;
		return v6_parse(s + 1, len - 2, out);
	}
	if (memchr(s, ':', len))
		return v6_parse(s, len, out);
	return v4_parse(s, len, out);
}

int ip_literal_parse(const char *s, struct cage_addr *out)
{
	if (!s)
		return -EINVAL;
	return ip_literal_parse_mem(s, strlen(s), out);
}

static bool v4_in(uint32_t addr, uint32_t net, unsigned prefix)
{
	uint32_t mask = prefix == 0 ? 0 : ~0U << (32 - prefix);

	return (addr & mask) == net;
}

static bool v4_is_public(uint32_t a)
{
	static const struct {
		uint32_t net;
		unsigned prefix;
	} closed[] = {
		{ 0x00000000, 8 },  /* "this network"; 0.0.0.0 reaches the local host */
		{ 0x0a000000, 8 },  /* RFC 1918 */
		{ 0x64400000, 10 }, /* CGNAT */
		{ 0x7f000000, 8 },  /* loopback */
		{ 0xa9fe0000, 16 }, /* link-local, cloud metadata */
		{ 0xac100000, 12 }, /* RFC 1918 */
		{ 0xc0000000, 24 }, /* IETF protocol assignments */
		{ 0xc0a80000, 16 }, /* RFC 1918 */
		{ 0xc6120000, 15 }, /* benchmarking */
		{ 0xe0000000, 4 },  /* multicast */
		{ 0xf0000000, 4 },  /* reserved and limited broadcast */
	};

	for (size_t i = 0; i < sizeof(closed) / sizeof(closed[0]); i++)
		if (v4_in(a, closed[i].net, closed[i].prefix))
			return false;
	return true;
}

static uint32_t v4_at(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool v6_is_public(const uint8_t b[16])
{
	static const uint8_t zero[16];
	static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	static const uint8_t discard[8] = { 0x01, 0x00 };
	static const uint8_t siit[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 };

	if (v6_is_v4_mapped(b) || memcmp(b, siit, sizeof(siit)) == 0)
		return v4_is_public(v4_at(b + 12));
	/* ::/96 holds ::, ::1 and the deprecated IPv4-compatible addresses: none is a peer. */
	if (memcmp(b, zero, 12) == 0)
		return false;
	if (memcmp(b, discard, sizeof(discard)) == 0)
		return false;
	if ((b[0] & 0xfe) == 0xfc)                 /* fc00::/7 unique local */
		return false;
	if (b[0] == 0xfe && (b[1] & 0x80) == 0x80) /* fe80::/10 link-local, fec0::/10 site-local */
		return false;
	if (b[0] == 0xff)                          /* multicast */
		return false;
	if (memcmp(b, nat64, sizeof(nat64)) == 0)  /* 64:ff9b::/96 translates to the IPv4 inside */
		return v4_is_public(v4_at(b + 12));
	if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0x00 &&
	    b[5] == 0x01)                          /* 64:ff9b:1::/48 local-use NAT64 */
		return false;
	if (b[0] == 0x20 && b[1] == 0x02)          /* 6to4 carries an IPv4 address in bits 16-47 */
		return v4_is_public(v4_at(b + 2));
	return true;
}

bool ip_is_public(const struct cage_addr *a)
{
	uint8_t b[16];

	if (a->family == CAGE_AF_INET) {
		memcpy(b, &a->ip[0], 4);
		return v4_is_public(v4_at(b));
	}
	if (a->family == CAGE_AF_INET6) {
		memcpy(b, a->ip, 16);
		return v6_is_public(b);
	}
	return false;
}

const char *ip_format(const struct cage_addr *a, char *buf, size_t len)
{
	int af = a->family == CAGE_AF_INET ? AF_INET : a->family == CAGE_AF_INET6 ? AF_INET6 : -1;

	if (len < IP_FORMAT_MAX || af < 0) {
		if (len >= 2)
			memcpy(buf, "?", 2);
		return NULL;
	}
	if (!inet_ntop(af, a->ip, buf, (socklen_t)len))
		return NULL;
	return buf;
}
