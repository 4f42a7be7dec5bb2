// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "dns/resolver.h"
#include "lib/ipclass.h"

#define QNAME_AUDIT_MAX 255

static void common_fields(struct json_buf *jb, const struct dns_query *q, const struct res_client *cl)
{
	char tbuf[16], client[INET6_ADDRSTRLEN + 8];

	/* qname_text is already escaped DNS text (\DDD); the JSON writer escapes it again. */
	jb_strn(jb, "qname", q->qname_text, strnlen(q->qname_text, QNAME_AUDIT_MAX));
	jb_str(jb, "qtype", dns_qtype_name(q->qtype, tbuf, sizeof(tbuf)));
	jb_str(jb, "proto", cl->kind == CLIENT_TCP ? "tcp" : "udp");
	dnsd_client_text(cl, client, sizeof(client));
	jb_str(jb, "client", client);
}

void dns_audit_query(struct resolver *r, const char *event, const char *decision, const char *reason,
		     const struct dns_query *q, const struct res_client *cl, const char *answer)
{
	struct json_buf *jb = audit_begin(r->audit, "dns", event, decision, reason ? reason : event);

	if (!jb)
		return;
	jb_str(jb, "reason", reason);
	if (q->has_question)
		common_fields(jb, q, cl);
	if (answer)
		jb_str(jb, "answer", answer);
	audit_commit(r->audit);
}

void dns_audit_exfil(struct resolver *r, const struct dns_decision *d, const struct dns_query *q,
		     const struct res_client *cl)
{
	struct json_buf *jb = audit_begin(r->audit, "dns", "dns.exfil_suspect",
					  d->action == DNS_ACT_FORWARD ? "flag" : "deny", "dns.exfil_suspect");

	if (!jb)
		return;
	jb_str(jb, "reason", d->exfil & DNS_EXFIL_LONG ? "label_long" : "label_entropy");
	jb_uint(jb, "label_len", d->exfil_label_len);
	common_fields(jb, q, cl);
	audit_commit(r->audit);
}

void dns_audit_allowed(struct resolver *r, const struct dns_query *q, const struct res_client *cl,
		       const struct dns_response *up, const bool *keep)
{
	struct json_buf *jb = audit_begin(r->audit, "dns", "dns.allowed", "allow", "dns.allowed");
	char ip[IP_FORMAT_MAX], rc[8];

	if (!jb)
		return;
	common_fields(jb, q, cl);
	snprintf(rc, sizeof(rc), "%u", up->rcode);
	jb_str(jb, "rcode", up->rcode == DNS_RCODE_NOERROR ? "NOERROR" :
			    up->rcode == DNS_RCODE_NXDOMAIN ? "NXDOMAIN" : rc);
	jb_key(jb, "answers");
	jb_array_open(jb);
	for (size_t i = 0; i < up->ancount; i++)
		if (keep[i] && up->an[i].type != DNS_TYPE_CNAME && ip_format(&up->an[i].addr, ip, sizeof(ip)))
			jb_array_str(jb, ip);
	jb_array_close(jb);
	audit_commit(r->audit);
}

void dns_audit_rate(struct resolver *r)
{
	struct json_buf *jb;

	if (!r->rate_refused)
		return;
	jb = audit_begin(r->audit, "dns", "limit.dns_rate", "refuse", "limit.dns_rate");
	if (jb) {
		jb_str(jb, "reason", "dns_rate");
		jb_uint(jb, "refused", r->rate_refused);
		jb_uint(jb, "limit_per_sec", r->policy->rate_limit);
		audit_commit(r->audit);
	}
	r->rate_refused = 0;
}
