// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_policy.h"
#include "lib/ipclass.h"

static int add_patterns(struct domain_set *set, const struct cage_domain_list *list, uint32_t first_id,
			int64_t now_unix, int64_t *next_expiry)
{
	for (size_t i = 0; i < list->n; i++) {
		const struct cage_domain *d = &list->v[i];
		int err;

		if (d->expires_at && d->expires_at <= now_unix)
			continue;
		if (d->expires_at && (!*next_expiry || d->expires_at < *next_expiry))
			*next_expiry = d->expires_at;
		err = domain_set_add(set, d->pattern, first_id + (uint32_t)i);
		if (err && err != -EEXIST)
			return err;
	}
	return 0;
}

static void sinkhole_parse(const char *text, struct cage_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (text && ip_literal_parse(text, out))
		memset(out, 0, sizeof(*out));
}

struct dns_policy *dns_policy_build(const struct cage_config_file *cfg, int64_t now_unix, int *err)
{
	struct dns_policy *p = calloc(1, sizeof(*p));

	*err = -ENOMEM;
	if (!p)
		return NULL;
	p->block = domain_set_new();
	p->allow = domain_set_new();
	if (!p->block || !p->allow)
		goto err_free;
	*err = add_patterns(p->block, &cfg->block, 1, now_unix, &p->next_expiry);
	if (*err)
		goto err_free;
	/* Passthrough names are allowed names for DNS; their ids follow the allow list's. */
	*err = add_patterns(p->allow, &cfg->allow, 1, now_unix, &p->next_expiry);
	if (!*err)
		*err = add_patterns(p->allow, &cfg->passthrough, 1 + (uint32_t)cfg->allow.n, now_unix,
				    &p->next_expiry);
	if (*err)
		goto err_free;
	p->deny = cfg->dns_deny;
	sinkhole_parse(cfg->dns_sinkhole4, &p->sink4);
	sinkhole_parse(cfg->dns_sinkhole6, &p->sink6);
	p->log_allowed = cfg->dns_log_allowed;
	p->ipv6 = cfg->ipv6;
	p->rate_limit = cfg->dns_rate_limit;
	p->label_max = cfg->dns_label_max ? cfg->dns_label_max : DNS_LABEL_MAX;
	*err = 0;
	return p;

err_free:
	dns_policy_free(p);
	return NULL;
}

void dns_policy_free(struct dns_policy *p)
{
	if (!p)
		return;
	domain_set_free(p->block);
	domain_set_free(p->allow);
	free(p);
}

/* log2 without libm (the daemons do not link it): exponent by halving, then
 * ln(m) = 2 atanh((m - 1) / (m + 1)) on [1, 2), where the series converges fast. */
static double log2_small(double x)
{
	double e = 0, z, z2, term, sum = 0;

	while (x >= 2) {
		x /= 2;
		e += 1;
	}
	z = (x - 1) / (x + 1);
	z2 = z * z;
	term = z;
	for (int k = 1; k < 30; k += 2) {
		sum += term / k;
		term *= z2;
	}
	return e + 2 * sum / 0.69314718055994530942;
}

double dns_label_entropy(const uint8_t *s, size_t n)
{
	unsigned counts[256] = { 0 };
	double h = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];

		counts[c >= 'A' && c <= 'Z' ? c + 32 : c]++;
	}
	for (unsigned c = 0; c < 256; c++) {
		double f;

		if (!counts[c])
			continue;
		f = (double)counts[c] / (double)n;
		h += f * (log2_small((double)n) - log2_small((double)counts[c]));
	}
	return h;
}

unsigned dns_exfil_check(const struct dns_name *name, unsigned *longest)
{
	unsigned flags = 0;
	size_t pos = 0;

	*longest = 0;
	while (pos < name->len && name->wire[pos]) {
		uint8_t n = name->wire[pos];
		const uint8_t *label = name->wire + pos + 1;
		unsigned f = 0;

		if (pos + 1 + n > name->len)
			break;
		if (n > DNS_EXFIL_LABEL_LONG)
			f |= DNS_EXFIL_LONG;
		if (n >= DNS_EXFIL_ENTROPY_MIN && dns_label_entropy(label, n) >= DNS_EXFIL_ENTROPY_BITS)
			f |= DNS_EXFIL_ENTROPY;
		if (f && n > *longest)
			*longest = n;
		flags |= f;
		pos += 1 + (size_t)n;
	}
	return flags;
}

static unsigned longest_label(const struct dns_name *name)
{
	unsigned longest = 0;
	size_t pos = 0;

	while (pos < name->len && name->wire[pos]) {
		if (name->wire[pos] > longest)
			longest = name->wire[pos];
		pos += 1 + (size_t)name->wire[pos];
	}
	return longest;
}

static void deny(struct dns_decision *d, enum dns_action action, const char *event, const char *reason)
{
	d->action = action;
	d->event = event;
	d->reason = reason;
}

void dns_policy_decide(const struct dns_policy *p, const struct dns_query *q, struct dns_decision *d)
{
	uint32_t id = 0;
	int err;

	memset(d, 0, sizeof(*d));
	d->exfil = dns_exfil_check(&q->qname, &d->exfil_label_len);
	if (q->qclass != DNS_CLASS_IN) {
		/* CHAOS version.bind and friends: nothing to resolve, nothing to forward. */
		deny(d, DNS_ACT_REFUSE, "dns.denied", "qclass_denied");
		return;
	}
	/* An escaped dot or odd byte is never reinterpreted as something the allowlist knows. */
	if (q->qname.has_odd_bytes) {
		deny(d, DNS_ACT_DENY_NAME, "dns.denied", "name_odd_bytes");
		return;
	}
	err = domain_canonicalize(q->qname_text, strlen(q->qname_text), d->name, sizeof(d->name));
	if (err) {
		d->name[0] = '\0';
		deny(d, DNS_ACT_DENY_NAME, "dns.denied", "name_invalid");
		return;
	}
	if (domain_set_match(p->block, d->name, NULL)) {
		deny(d, DNS_ACT_DENY_NAME, "dns.denied", "blocked");
		return;
	}
	if (!domain_set_match(p->allow, d->name, &id)) {
		deny(d, DNS_ACT_DENY_NAME, "dns.denied", "not_allowed");
		return;
	}
	d->pattern_id = id;
	if (domain_encodes_private_ip(d->name)) {
		deny(d, DNS_ACT_DENY_NAME, "dns.denied", "name_private_ip");
		return;
	}
	if (longest_label(&q->qname) > p->label_max) {
		deny(d, DNS_ACT_DENY_NAME, "dns.denied", "label_too_long");
		return;
	}
	switch (q->qtype) {
	case DNS_TYPE_A:
		d->action = DNS_ACT_FORWARD;
		return;
	case DNS_TYPE_AAAA:
		/* The cage cannot use IPv6: answer empty rather than hand out unusable addresses. */
		d->action = p->ipv6 ? DNS_ACT_FORWARD : DNS_ACT_NODATA;
		return;
	default:
		/* TXT, NULL, MX, CNAME, ANY, AXFR carry tunnels; HTTPS/SVCB carry ECH keys. */
		deny(d, DNS_ACT_REFUSE, "dns.qtype_denied", "qtype_denied");
		return;
	}
}

bool dns_policy_name_allowed(const struct dns_policy *p, const struct dns_name *name)
{
	char text[DNS_NAME_TEXT_MAX], canon[DOMAIN_BUF_SIZE];
	int n;

	if (name->has_odd_bytes)
		return false;
	n = dns_name_to_text(name, text, sizeof(text));
	if (n < 0 || domain_canonicalize(text, (size_t)n, canon, sizeof(canon)))
		return false;
	if (domain_set_match(p->block, canon, NULL))
		return false;
	return domain_set_match(p->allow, canon, NULL) && !domain_encodes_private_ip(canon);
}

const char *dns_qtype_name(uint16_t qtype, char *buf, size_t len)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
		{ DNS_TYPE_A, "A" },       { DNS_TYPE_NS, "NS" },       { DNS_TYPE_CNAME, "CNAME" },
		{ DNS_TYPE_SOA, "SOA" },   { DNS_TYPE_NULL, "NULL" },   { DNS_TYPE_PTR, "PTR" },
		{ DNS_TYPE_MX, "MX" },     { DNS_TYPE_TXT, "TXT" },     { DNS_TYPE_AAAA, "AAAA" },
		{ DNS_TYPE_SRV, "SRV" },   { DNS_TYPE_OPT, "OPT" },     { DNS_TYPE_SVCB, "SVCB" },
		{ DNS_TYPE_HTTPS, "HTTPS" }, { DNS_TYPE_IXFR, "IXFR" }, { DNS_TYPE_AXFR, "AXFR" },
		{ DNS_TYPE_ANY, "ANY" },   { 99, "SPF" },               { 43, "DS" },
		{ 46, "RRSIG" },           { 48, "DNSKEY" },            { 257, "CAA" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == qtype)
			return names[i].name;
	snprintf(buf, len, "TYPE%u", qtype);
	return buf;
}

void dns_rate_init(struct dns_rate *r, uint32_t rate, uint64_t now_ns)
{
	r->rate = rate;
	r->tokens = rate;
	r->last_ns = now_ns;
}

bool dns_rate_take(struct dns_rate *r, uint64_t now_ns)
{
	if (!r->rate)
		return true;
	if (now_ns > r->last_ns) {
		r->tokens += (double)(now_ns - r->last_ns) * r->rate / 1e9;
		if (r->tokens > r->rate)
			r->tokens = r->rate;
		r->last_ns = now_ns;
	}
	if (r->tokens < 1)
		return false;
	r->tokens -= 1;
	return true;
}
