// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns/dns_allow.h"
#include "dns/resolver.h"
#include "lib/ipclass.h"

#define CHAIN_MAX 8  /* CNAME hops followed; a longer chain is refused like a denied target */

struct keep_ctx {
	const struct dns_response *up;
	const bool *keep;
};

static bool keep_marked(void *arg, const struct dns_rr *rr, uint32_t *ttl)
{
	const struct keep_ctx *k = arg;

	/* No client may cache an address longer than its dns_allow entry lives. */
	if (*ttl > DNS_ALLOW_TTL_CAP)
		*ttl = DNS_ALLOW_TTL_CAP;
	return k->keep[rr - k->up->an];
}

int dnsd_deny_answer(const struct resolver *r, const struct dns_query *q, uint8_t *out, size_t cap)
{
	const struct dns_policy *p = r->policy;
	struct cage_addr sinks[2];
	size_t n = 0;

	switch (p->deny) {
	case DNS_DENY_REFUSED:
		return dns_write_rcode(q, DNS_RCODE_REFUSED, out, cap);
	case DNS_DENY_SINKHOLE:
		if (!q->has_question)
			break;
		if (p->sink4.family)
			sinks[n++] = p->sink4;
		if (p->sink6.family)
			sinks[n++] = p->sink6;
		return dns_write_addresses(q, sinks, n, 60, out, cap);
	default:
		break;
	}
	return dns_write_rcode(q, DNS_RCODE_NXDOMAIN, out, cap);
}

static bool in_chain(const struct dns_name *chain, size_t n, const struct dns_name *name)
{
	for (size_t i = 0; i < n; i++)
		if (dns_name_equal(&chain[i], name))
			return true;
	return false;
}

/*
 * Follows the CNAME chain from the question name. Every target must itself be an allowed
 * name; otherwise an allowed alias would hand out the addresses of a denied one.
 * Returns the chain length, or -EACCES.
 */
static int follow_chain(const struct resolver *r, const struct dns_query *q, const struct dns_response *up,
			struct dns_name *chain, bool *keep)
{
	size_t n = 1;

	chain[0] = q->qname;
	for (bool moved = true; moved;) {
		moved = false;
		for (size_t i = 0; i < up->ancount; i++) {
			const struct dns_rr *rr = &up->an[i];

			if (rr->type != DNS_TYPE_CNAME || keep[i] || !dns_name_equal(&rr->name, &chain[n - 1]))
				continue;
			if (n >= CHAIN_MAX || in_chain(chain, n, &rr->target) ||
			    !dns_policy_name_allowed(r->policy, &rr->target))
				return -EACCES;
			keep[i] = true;
			chain[n++] = rr->target;
			moved = true;
		}
	}
	return (int)n;
}

int dnsd_answer(struct resolver *r, const struct dns_query *q, const char *name, struct dns_response *up,
	       const struct res_client *cl, uint8_t *out, size_t cap)
{
	struct dns_name chain[CHAIN_MAX];
	bool keep[DNS_MAX_ANSWERS] = { false };
	struct keep_ctx k = { .up = up, .keep = keep };
	uint64_t now = dnsd_now_ns();
	uint32_t name_id = dns_allow_name_id(name);
	unsigned dropped = 0;
	int n, err;

	n = follow_chain(r, q, up, chain, keep);
	if (n < 0) {
		dns_audit_query(r, "dns.denied", "deny", "cname_target_denied", q, cl, NULL);
		r->stats.denied++;
		return dnsd_deny_answer(r, q, out, cap);
	}
	for (size_t i = 0; i < up->ancount; i++) {
		const struct dns_rr *rr = &up->an[i];

		if (rr->type != q->qtype || rr->rclass != DNS_CLASS_IN || !in_chain(chain, (size_t)n, &rr->name))
			continue;
		/* Rebinding: an allowed public name must never lead the cage inwards. */
		if (!ip_is_public(&rr->addr)) {
			dropped++;
			continue;
		}
		keep[i] = true;
	}
	if (dropped)
		dns_audit_query(r, "dns.rebind_denied", "drop", "answer_not_public", q, cl, NULL);
	/* Bind before answering: once the cage has the address, the proxy must already know it. */
	for (size_t i = 0; i < up->ancount; i++) {
		if (!keep[i] || up->an[i].type == DNS_TYPE_CNAME)
			continue;
		err = dns_allow_put(r->map_fd, &up->an[i].addr, name_id, up->an[i].ttl, now);
		if (err) {
			char why[64];

			snprintf(why, sizeof(why), "dns_allow_write: %s", strerror(-err));
			dns_audit_query(r, "dns.servfail", "error", why, q, cl, NULL);
			r->stats.servfail++;
			return dns_write_rcode(q, DNS_RCODE_SERVFAIL, out, cap);
		}
	}
	if (r->policy->log_allowed)
		dns_audit_allowed(r, q, cl, up, keep);
	return dns_write_filtered(q, up, keep_marked, &k,
				  dns_query_max_response(q, cl->kind == CLIENT_TCP), out, cap);
}
