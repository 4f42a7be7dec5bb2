// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/domain.h"
#include "lib/ipclass.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL
#define DOMAIN_MAX_LABELS ((DOMAIN_NAME_MAX + 1) / 2)

static bool is_label_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* WHATWG URL "ends in a number": such a host is parsed as IPv4 or rejected, never looked up. */
static bool last_label_is_number(const char *name, size_t len)
{
	const char *dot = memrchr(name, '.', len);
	const char *label = dot ? dot + 1 : name;
	size_t n = len - (size_t)(label - name), i = 0;

	if (n == 0)
		return false;
	if (n >= 2 && label[0] == '0' && label[1] == 'x') {
		for (i = 2; i < n && is_hex((unsigned char)label[i]); i++)
			;
		return i == n;
	}
	for (i = 0; i < n && label[i] >= '0' && label[i] <= '9'; i++)
		;
	return i == n;
}

int domain_canonicalize(const char *in, size_t len, char *out, size_t outlen)
{
	struct cage_addr addr;
	bool non_ascii = false, bad_byte = false;
	size_t label_len = 0;

	if (!in || len == 0)
		return -EINVAL;
	/* Checked on the raw text so "[::1]" and "127.1." are reported as addresses, not junk. */
	if (ip_literal_parse_mem(in, len, &addr) == 0)
		return -EADDRNOTAVAIL;
	if (in[len - 1] == '.')
		len--;
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x80)
			non_ascii = true;
		else if (c != '.' && !is_label_byte(c) && !(c >= 'A' && c <= 'Z'))
			bad_byte = true;
	}
	if (bad_byte)
		return -EINVAL;
	if (non_ascii)
		return -EILSEQ;
	if (len > DOMAIN_NAME_MAX)
		return -ENAMETOOLONG;
	if (outlen < len + 1)
		return -ENOSPC;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '.') {
			if (label_len == 0)
				return -EINVAL;
			label_len = 0;
		} else {
			if (label_len == 0 && c == '-')
				return -EINVAL;
			if (++label_len > DOMAIN_LABEL_MAX)
				return -ENAMETOOLONG;
		}
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	if (label_len == 0)
		return -EINVAL;
	out[len] = '\0';
	if (last_label_is_number(out, len)) {
		out[0] = '\0';
		return -EADDRNOTAVAIL;
	}
	return 0;
}

/*
 * One slot per distinct suffix: "example.com" and "*.example.com" share the slot of
 * "example.com" and differ only in which flag is set.
 */
struct domain_slot {
	char *name;
	uint64_t hash;
	uint16_t len;
	bool has_apex, has_wild;
	uint32_t apex_id, wild_id;
};

struct domain_set {
	struct domain_slot *slots;
	size_t cap;       /* power of two */
	size_t used;      /* occupied slots */
	size_t patterns;
	/* Bit n set: some slot has a name of length n. Skips most probes for free. */
	uint64_t len_bits[(DOMAIN_NAME_MAX + 64) / 64];
};

struct domain_set *domain_set_new(void)
{
	struct domain_set *set = calloc(1, sizeof(*set));

	if (!set)
		return NULL;
	set->cap = 64;
	set->slots = calloc(set->cap, sizeof(*set->slots));
	if (!set->slots) {
		free(set);
		return NULL;
	}
	return set;
}

void domain_set_free(struct domain_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i].name);
	free(set->slots);
	free(set);
}

size_t domain_set_count(const struct domain_set *set)
{
	return set->patterns;
}

/* The hash runs from the last byte to the first so that a lookup hashes every suffix of a
 * name in one right-to-left pass. */
static uint64_t suffix_hash(const char *s, size_t len)
{
	uint64_t h = FNV_OFFSET;

	for (size_t i = len; i-- > 0;)
		h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
	return h;
}

static struct domain_slot *slot_find(const struct domain_set *set, uint64_t hash, const char *s,
				     size_t len)
{
	size_t mask = set->cap - 1;

	for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
		struct domain_slot *slot = &set->slots[i];

		if (!slot->name)
			return NULL;
		if (slot->hash == hash && slot->len == len && memcmp(slot->name, s, len) == 0)
			return slot;
	}
}

static struct domain_slot *slot_free_for(struct domain_slot *slots, size_t cap, uint64_t hash)
{
	size_t mask = cap - 1, i = (size_t)hash & mask;

	while (slots[i].name)
		i = (i + 1) & mask;
	return &slots[i];
}

static int set_grow(struct domain_set *set)
{
	size_t cap = set->cap * 2;
	struct domain_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < set->cap; i++)
		if (set->slots[i].name)
			*slot_free_for(slots, cap, set->slots[i].hash) = set->slots[i];
	free(set->slots);
	set->slots = slots;
	set->cap = cap;
	return 0;
}

int domain_set_add(struct domain_set *set, const char *pattern, uint32_t id)
{
	char canon[DOMAIN_BUF_SIZE];
	struct domain_slot *slot;
	bool wild = false;
	size_t len;
	uint64_t hash;
	int err;

	if (!pattern)
		return -EINVAL;
	len = strlen(pattern);
	if (len >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		wild = true;
		pattern += 2;
		len -= 2;
	}
	err = domain_canonicalize(pattern, len, canon, sizeof(canon));
	if (err)
		return err;
	len = strlen(canon);
	hash = suffix_hash(canon, len);
	slot = slot_find(set, hash, canon, len);
	if (!slot) {
		/* Keep the load under one half so that probe runs stay short. */
		if ((set->used + 1) * 2 > set->cap) {
			err = set_grow(set);
			if (err)
				return err;
		}
		slot = slot_free_for(set->slots, set->cap, hash);
		slot->name = strdup(canon);
		if (!slot->name)
			return -ENOMEM;
		slot->hash = hash;
		slot->len = (uint16_t)len;
		set->used++;
		set->len_bits[len / 64] |= 1ULL << (len % 64);
	}
	if (wild ? slot->has_wild : slot->has_apex)
		return -EEXIST;
	if (wild) {
		slot->has_wild = true;
		slot->wild_id = id;
	} else {
		slot->has_apex = true;
		slot->apex_id = id;
	}
	set->patterns++;
	return 0;
}

bool domain_set_match(const struct domain_set *set, const char *name, uint32_t *id_out)
{
	size_t len = strnlen(name, DOMAIN_NAME_MAX + 1), label_len = 0;
	uint64_t hash = FNV_OFFSET;
	bool found = false;
	uint32_t best = 0;

	if (len == 0 || len > DOMAIN_NAME_MAX)
		return false;
	/* Shortest suffix first, so each later hit is more specific and replaces the earlier. */
	for (size_t i = len; i-- > 0;) {
		unsigned char c = (unsigned char)name[i];
		const struct domain_slot *slot;
		size_t suffix_len = len - i;

		if (c == '.') {
			if (label_len == 0 || i == 0)
				return false;
			label_len = 0;
		} else if (!is_label_byte(c) || ++label_len > DOMAIN_LABEL_MAX) {
			return false;
		}
		hash = (hash ^ c) * FNV_PRIME;
		if (i > 0 && name[i - 1] != '.')
			continue;
		if (!(set->len_bits[suffix_len / 64] & (1ULL << (suffix_len % 64))))
			continue;
		slot = slot_find(set, hash, name + i, suffix_len);
		if (!slot)
			continue;
		if (slot->has_apex) {
			best = slot->apex_id;
			found = true;
		} else if (slot->has_wild && i > 0) {
			best = slot->wild_id;
			found = true;
		}
	}
	if (found && id_out)
		*id_out = best;
	return found;
}

/* Wildcard DNS services: any name below them resolves to the address spelt in its labels. */
static const char *const wildcard_services[] = {
	"nip.io", "sslip.io", "xip.io", "traefik.me", "nip.direct", "backname.io",
};

/* Names that resolve to loopback by standard (RFC 6761) or by long-standing public setup. */
static const char *const loopback_names[] = {
	"localhost", "lvh.me", "localtest.me", "vcap.me",
};

static bool name_is_or_below(const char *name, size_t len, const char *zone)
{
	size_t zlen = strlen(zone);

	if (len == zlen)
		return memcmp(name, zone, len) == 0;
	return len > zlen && name[len - zlen - 1] == '.' && memcmp(name + len - zlen, zone, zlen) == 0;
}

static bool name_under_any(const char *name, size_t len, const char *const *zones, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (name_is_or_below(name, len, zones[i]))
			return true;
	return false;
}

static bool v4_private(uint32_t host_order)
{
	struct cage_addr a;

	ip_from_v4(&a, host_order);
	return !ip_is_public(&a);
}

struct span {
	const char *p;
	size_t len;
};

static size_t split(const char *s, size_t len, char sep, struct span *out, size_t max)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= len && n < max; i++) {
		if (i < len && s[i] != sep)
			continue;
		out[n].p = s + start;
		out[n].len = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

/* Any four consecutive spans that read as IPv4 octets and make a non-public address. */
static bool quad_window_private(const struct span *parts, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i++) {
		uint32_t addr = 0, v;
		size_t k;

		for (k = 0; k < 4; k++) {
			if (ip_v4_part_parse(parts[i + k].p, parts[i + k].len, &v) < 0 || v > 255)
				break;
			addr = addr << 8 | v;
		}
		if (k == 4 && v4_private(addr))
			return true;
	}
	return false;
}

static bool hex_segment_private(const struct span *seg, bool bare_hex)
{
	uint32_t v;
	size_t i;

	if (seg->len > 2 && seg->p[0] == '0' && seg->p[1] == 'x')
		return seg->len <= 10 && ip_v4_part_parse(seg->p, seg->len, &v) == 0 && v4_private(v);
	if (!bare_hex || seg->len != 8)
		return false;
	/* nip.io reads a bare 8-digit hex label as an address: "0a000001" is 10.0.0.1. */
	v = 0;
	for (i = 0; i < 8; i++) {
		unsigned char c = (unsigned char)seg->p[i];

		if (!is_hex(c))
			return false;
		v = v << 4 | (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return v4_private(v);
}

/* sslip.io spells IPv6 with '-' for ':' ("--1" is ::1, "fe80--1" is fe80::1). */
static bool dashed_v6_private(const struct span *label)
{
	char text[DOMAIN_LABEL_MAX + 1];
	struct cage_addr addr;

	/* Callers may hand us names that were never canonicalized: labels can be long. */
	if (label->len < 2 || label->len > DOMAIN_LABEL_MAX || !memchr(label->p, '-', label->len))
		return false;
	for (size_t i = 0; i < label->len; i++)
		text[i] = label->p[i] == '-' ? ':' : label->p[i];
	text[label->len] = '\0';
	return ip_literal_parse(text, &addr) == 0 && addr.family == CAGE_AF_INET6 &&
	       !ip_is_public(&addr);
}

static bool label_private(const struct span *label, bool known_service)
{
	struct span segs[DOMAIN_LABEL_MAX / 2 + 1];
	size_t n = split(label->p, label->len, '-', segs, sizeof(segs) / sizeof(segs[0]));

	if (quad_window_private(segs, n))
		return true;
	for (size_t i = 0; i < n; i++)
		if (hex_segment_private(&segs[i], known_service))
			return true;
	return known_service && dashed_v6_private(label);
}

bool domain_encodes_private_ip(const char *name)
{
	struct span labels[DOMAIN_MAX_LABELS];
	struct cage_addr addr;
	size_t len, n;
	bool known_service;

	if (!name)
		return false;
	len = strnlen(name, DOMAIN_NAME_MAX + 1);
	if (len == 0 || len > DOMAIN_NAME_MAX)
		return false;
	if (ip_literal_parse_mem(name, len, &addr) == 0)
		return !ip_is_public(&addr);
	if (name_under_any(name, len, loopback_names,
			   sizeof(loopback_names) / sizeof(loopback_names[0])))
		return true;
	known_service = name_under_any(name, len, wildcard_services,
				       sizeof(wildcard_services) / sizeof(wildcard_services[0]));
	n = split(name, len, '.', labels, DOMAIN_MAX_LABELS);
	if (quad_window_private(labels, n))
		return true;
	for (size_t i = 0; i < n; i++)
		if (label_private(&labels[i], known_service))
			return true;
	return false;
}
