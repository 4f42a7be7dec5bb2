// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>

#include "dns/wire.h"

#define DNS_PTR_MASK 0xc0
#define DNS_RR_FIXED 10 /* type, class, ttl, rdlength after the owner name */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool is_plain_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static uint8_t ascii_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
}

/*
 * Reads the name at *pos. A compression pointer must point strictly below the start of the
 * stretch of labels it ends, and never into the header: every jump goes backwards, so loops,
 * self-pointers and forward pointers all fail, and the walk is bounded by the message length.
 * On success *pos is just past the name where it started (after the first pointer, if any).
 */
static int name_read(const uint8_t *msg, size_t len, size_t *pos, bool allow_pointers,
		     struct dns_name *name)
{
	size_t p = *pos, segment_start = *pos, resume = 0;
	bool jumped = false;

	name->len = 0;
	name->labels = 0;
	name->has_odd_bytes = false;
	for (;;) {
		uint8_t c;

		if (p >= len)
			return -EBADMSG;
		c = msg[p];
		if ((c & DNS_PTR_MASK) == DNS_PTR_MASK) {
			size_t target;

			if (!allow_pointers || p + 1 >= len)
				return -EBADMSG;
			target = (size_t)(c & ~DNS_PTR_MASK) << 8 | msg[p + 1];
			if (target >= segment_start || target < DNS_HEADER_LEN)
				return -EBADMSG;
			if (!jumped)
				resume = p + 2;
			jumped = true;
			segment_start = target;
			p = target;
			continue;
		}
		/* 0x40 and 0x80 are the extended and binary label types nobody deployed. */
		if (c & DNS_PTR_MASK)
			return -EBADMSG;
		if (c == 0) {
			if (name->len + 1 > DNS_NAME_WIRE_MAX)
				return -EBADMSG;
			name->wire[name->len++] = 0;
			p++;
			break;
		}
		/* The label, its length byte and the root byte still to come must fit in 255. */
		if (p + 1 + c > len || name->len + 1 + c + 1 > DNS_NAME_WIRE_MAX)
			return -EBADMSG;
		name->wire[name->len++] = c;
		for (size_t i = 0; i < c; i++) {
			uint8_t b = msg[p + 1 + i];

			if (!is_plain_byte(b))
				name->has_odd_bytes = true;
			name->wire[name->len++] = b;
		}
		name->labels++;
		p += 1 + (size_t)c;
	}
	*pos = jumped ? resume : p;
	return 0;
}

int dns_name_to_text(const struct dns_name *name, char *buf, size_t len)
{
	size_t o = 0, i = 0;

	if (len < 2)
		return -ENOSPC;
	if (name->len <= 1) {
		memcpy(buf, ".", 2);
		return 1;
	}
	while (i < name->len && name->wire[i] != 0) {
		uint8_t n = name->wire[i++];

		if (o > 0) {
			if (o + 1 >= len)
				return -ENOSPC;
			buf[o++] = '.';
		}
		for (uint8_t k = 0; k < n; k++, i++) {
			uint8_t b = name->wire[i];

			if (is_plain_byte(b)) {
				if (o + 1 >= len)
					return -ENOSPC;
				buf[o++] = (char)ascii_lower(b);
			} else {
				/* \DDD for everything else, '.' included: an escaped dot stays inside
				 * its label and canonicalization refuses the backslash. */
				if (o + 4 >= len)
					return -ENOSPC;
				buf[o++] = '\\';
				buf[o++] = (char)('0' + b / 100);
				buf[o++] = (char)('0' + b / 10 % 10);
				buf[o++] = (char)('0' + b % 10);
			}
		}
	}
	buf[o] = '\0';
	return (int)o;
}

bool dns_name_equal(const struct dns_name *a, const struct dns_name *b)
{
	if (a->len != b->len)
		return false;
	/* Length bytes are <= 63 and so unchanged by ascii_lower(). */
	for (size_t i = 0; i < a->len; i++)
		if (ascii_lower(a->wire[i]) != ascii_lower(b->wire[i]))
			return false;
	return true;
}

/* Parses the fixed part of a record after its owner name and bounds-checks its rdata. */
static int rr_fixed_read(const uint8_t *msg, size_t len, size_t *pos, uint16_t *type,
			 uint16_t *rclass, uint32_t *ttl, uint16_t *rdlen)
{
	size_t p = *pos;

	if (len - p < DNS_RR_FIXED)
		return -EBADMSG;
	*type = get16(msg + p);
	*rclass = get16(msg + p + 2);
	*ttl = get32(msg + p + 4);
	*rdlen = get16(msg + p + 8);
	p += DNS_RR_FIXED;
	if (len - p < *rdlen)
		return -EBADMSG;
	*pos = p;
	return 0;
}

/* OPT (RFC 6891): owner is the root, class is the UDP size, TTL carries the flags, and the
 * options must fill the rdata exactly. */
static int opt_read(const struct dns_name *owner, uint16_t rclass, uint32_t ttl,
		    const uint8_t *rdata, uint16_t rdlen, struct dns_edns *edns)
{
	size_t p = 0;

	if (edns->present)
		return -EBADMSG;
	if (owner->len != 1)
		return -EBADMSG;
	while (p < rdlen) {
		if (rdlen - p < 4 || rdlen - p - 4 < get16(rdata + p + 2))
			return -EBADMSG;
		p += 4 + (size_t)get16(rdata + p + 2);
	}
	edns->present = true;
	edns->udp_size = rclass;
	edns->ext_rcode = (uint8_t)(ttl >> 24);
	edns->version = (uint8_t)(ttl >> 16);
	edns->do_bit = (ttl & 0x8000) != 0;
	return 0;
}

/* Parses a whole record for a section that is only validated (and OPT, SOA picked out). */
static int rr_skip(const uint8_t *msg, size_t len, size_t *pos, bool additional,
		   struct dns_edns *edns, uint32_t *neg_ttl)
{
	struct dns_name owner, scratch;
	uint16_t type, rclass, rdlen;
	uint32_t ttl;
	size_t p = *pos, rd;
	int err;

	err = name_read(msg, len, &p, true, &owner);
	if (err)
		return err;
	err = rr_fixed_read(msg, len, &p, &type, &rclass, &ttl, &rdlen);
	if (err)
		return err;
	rd = p;
	if (type == DNS_TYPE_OPT) {
		if (!additional || !edns)
			return -EBADMSG;
		err = opt_read(&owner, rclass, ttl, msg + rd, rdlen, edns);
		if (err)
			return err;
	} else if (type == DNS_TYPE_SOA && neg_ttl) {
		size_t q = rd;

		/* MNAME and RNAME may be compressed; then five 32-bit fields end the rdata. */
		if (name_read(msg, rd + rdlen, &q, true, &scratch) ||
		    name_read(msg, rd + rdlen, &q, true, &scratch) || rd + rdlen - q != 20)
			return -EBADMSG;
		ttl = ttl & 0x80000000u ? 0 : ttl;
		*neg_ttl = ttl < get32(msg + q + 16) ? ttl : get32(msg + q + 16);
	}
	*pos = rd + rdlen;
	return 0;
}

int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q)
{
	uint16_t qdcount, ancount, nscount, arcount;
	size_t pos = DNS_HEADER_LEN;
	int err;

	memset(q, 0, sizeof(*q));
	if (!msg || len < DNS_HEADER_LEN)
		return -EMSGSIZE;
	q->id = get16(msg);
	q->flags = get16(msg + 2);
	q->opcode = (uint8_t)(q->flags >> 11 & 0xf);
	if (q->flags & DNS_FLAG_QR)
		return -EINVAL;
	if (q->opcode != 0)
		return -ENOTSUP;
	qdcount = get16(msg + 4);
	ancount = get16(msg + 6);
	nscount = get16(msg + 8);
	arcount = get16(msg + 10);
	if (qdcount != 1 || ancount != 0 || nscount != 0)
		return -EBADMSG;
	err = name_read(msg, len, &pos, true, &q->qname);
	if (err)
		return err;
	if (len - pos < 4)
		return -EBADMSG;
	q->qtype = get16(msg + pos);
	q->qclass = get16(msg + pos + 2);
	pos += 4;
	if (dns_name_to_text(&q->qname, q->qname_text, sizeof(q->qname_text)) < 0)
		return -EBADMSG;
	q->has_question = true;
	for (unsigned i = 0; i < arcount; i++) {
		err = rr_skip(msg, len, &pos, true, &q->edns, NULL);
		if (err)
			return err;
	}
	/* Bytes after the last record mean the counts lie: refuse rather than guess. */
	if (pos != len)
		return -EBADMSG;
	return 0;
}

size_t dns_query_max_response(const struct dns_query *q, bool tcp)
{
	if (tcp)
		return DNS_TCP_MAX;
	if (!q->edns.present || q->edns.udp_size <= DNS_UDP_MIN)
		return DNS_UDP_MIN;
	return q->edns.udp_size < DNS_UDP_OURS ? q->edns.udp_size : DNS_UDP_OURS;
}

static int svcb_read(const uint8_t *msg, size_t rd, uint16_t rdlen, struct dns_rr *rr)
{
	size_t end = rd + rdlen, p = rd + 2;
	int last_key = -1;

	if (rdlen < 3)
		return -EBADMSG;
	rr->svc_priority = get16(msg + rd);
	/* RFC 9460 2.2: the target name is never compressed. */
	if (name_read(msg, end, &p, false, &rr->target))
		return -EBADMSG;
	while (p < end) {
		uint16_t key, vlen;

		if (end - p < 4)
			return -EBADMSG;
		key = get16(msg + p);
		vlen = get16(msg + p + 2);
		/* Keys strictly increase (RFC 9460 2.2), so a second `ech` cannot hide behind one. */
		if ((int)key <= last_key || end - p - 4 < vlen)
			return -EBADMSG;
		last_key = key;
		if (key == DNS_SVC_PARAM_ECH)
			rr->svc_has_ech = true;
		p += 4 + (size_t)vlen;
	}
	return 0;
}

static int answer_read(const uint8_t *msg, size_t len, size_t *pos, struct dns_rr *rr)
{
	size_t p = *pos, rd;
	int err;

	memset(rr, 0, sizeof(*rr));
	err = name_read(msg, len, &p, true, &rr->name);
	if (err)
		return err;
	err = rr_fixed_read(msg, len, &p, &rr->type, &rr->rclass, &rr->ttl, &rr->rdlen);
	if (err)
		return err;
	rd = p;
	rr->rdata = msg + rd;
	if (rr->ttl & 0x80000000u)
		rr->ttl = 0;
	switch (rr->type) {
	case DNS_TYPE_A:
		if (rr->rdlen != 4)
			return -EBADMSG;
		rr->addr.family = CAGE_AF_INET;
		memcpy(&rr->addr.ip[0], rr->rdata, 4);
		break;
	case DNS_TYPE_AAAA: {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (rr->rdlen != 16)
			return -EBADMSG;
		/* Mapped IPv4 counts as IPv4 everywhere in cagectl, here too. */
		if (memcmp(rr->rdata, mapped, sizeof(mapped)) == 0) {
			rr->addr.family = CAGE_AF_INET;
			memcpy(&rr->addr.ip[0], rr->rdata + 12, 4);
		} else {
			rr->addr.family = CAGE_AF_INET6;
			memcpy(rr->addr.ip, rr->rdata, 16);
		}
		break;
	}
	case DNS_TYPE_CNAME: {
		size_t q = rd;

		/* The target may be compressed, but must end exactly where the rdata ends. */
		if (name_read(msg, rd + rr->rdlen, &q, true, &rr->target) || q != rd + rr->rdlen)
			return -EBADMSG;
		break;
	}
	case DNS_TYPE_SVCB:
	case DNS_TYPE_HTTPS:
		if (svcb_read(msg, rd, rr->rdlen, rr))
			return -EBADMSG;
		break;
	case DNS_TYPE_OPT:
		return -EBADMSG;
	default:
		break;
	}
	*pos = rd + rr->rdlen;
	return 0;
}

int dns_response_parse(const uint8_t *msg, size_t len, struct dns_response *r)
{
	uint16_t qdcount, ancount, nscount, arcount;
	size_t pos = DNS_HEADER_LEN;
	int err;

	memset(r, 0, offsetof(struct dns_response, an));
	r->neg_ttl = 0;
	memset(&r->edns, 0, sizeof(r->edns));
	r->msg = msg;
	r->msg_len = len;
	if (!msg || len < DNS_HEADER_LEN)
		return -EMSGSIZE;
	r->id = get16(msg);
	r->flags = get16(msg + 2);
	if (!(r->flags & DNS_FLAG_QR) || (r->flags >> 11 & 0xf) != 0)
		return -EINVAL;
	r->rcode = r->flags & 0xf;
	r->truncated = (r->flags & DNS_FLAG_TC) != 0;
	qdcount = get16(msg + 4);
	ancount = get16(msg + 6);
	nscount = get16(msg + 8);
	arcount = get16(msg + 10);
	if (qdcount > 1)
		return -EBADMSG;
	if (ancount > DNS_MAX_ANSWERS)
		return -E2BIG;
	if (qdcount == 1) {
		err = name_read(msg, len, &pos, true, &r->qname);
		if (err)
			return err;
		if (len - pos < 4)
			return -EBADMSG;
		r->qtype = get16(msg + pos);
		r->qclass = get16(msg + pos + 2);
		pos += 4;
		r->has_question = true;
	}
	for (unsigned i = 0; i < ancount; i++) {
		err = answer_read(msg, len, &pos, &r->an[i]);
		if (err)
			return err;
		r->ancount = i + 1;
	}
	for (unsigned i = 0; i < nscount; i++) {
		err = rr_skip(msg, len, &pos, false, NULL, &r->neg_ttl);
		if (err)
			return err;
	}
	for (unsigned i = 0; i < arcount; i++) {
		err = rr_skip(msg, len, &pos, true, &r->edns, NULL);
		if (err)
			return err;
	}
	if (pos != len)
		return -EBADMSG;
	if (r->edns.present)
		r->rcode |= (uint8_t)(r->edns.ext_rcode << 4);
	return 0;
}

bool dns_response_matches(const struct dns_response *r, uint16_t id, const struct dns_name *qname,
			  uint16_t qtype)
{
	return r->has_question && r->id == id && r->qtype == qtype && r->qclass == DNS_CLASS_IN &&
	       dns_name_equal(&r->qname, qname);
}

/* A bounded writer: an overflow is remembered and checked once at the end. */
struct wbuf {
	uint8_t *p;
	size_t cap, len;
	bool overflow;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
	if (w->overflow || w->cap - w->len < n) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(w, b, 2);
}

static void put32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	put(w, b, 4);
}

static void patch16(struct wbuf *w, size_t at, uint16_t v)
{
	if (w->overflow || at + 2 > w->len)
		return;
	w->p[at] = (uint8_t)(v >> 8);
	w->p[at + 1] = (uint8_t)v;
}

/* Header and question of an answer to q; counts other than QDCOUNT are patched later. */
static void put_reply_head(struct wbuf *w, const struct dns_query *q, unsigned rcode)
{
	uint16_t flags = DNS_FLAG_QR | DNS_FLAG_RA | (uint16_t)(q->opcode << 11) |
			 (q->flags & (DNS_FLAG_RD | DNS_FLAG_CD)) | (rcode & 0xf);

	put16(w, q->id);
	put16(w, flags);
	put16(w, q->has_question ? 1 : 0);
	put16(w, 0);
	put16(w, 0);
	put16(w, 0);
	if (q->has_question) {
		/* The client's own bytes, letter case included: 0x20 checks on its side hold. */
		put(w, q->qname.wire, q->qname.len);
		put16(w, q->qtype);
		put16(w, q->qclass);
	}
}

static void put_opt(struct wbuf *w, const struct dns_query *q, unsigned rcode)
{
	put(w, "", 1);
	put16(w, DNS_TYPE_OPT);
	put16(w, DNS_UDP_OURS);
	put32(w, (uint32_t)(rcode >> 4 & 0xff) << 24 | (q->edns.do_bit ? 0x8000u : 0));
	put16(w, 0);
}

static int reply_finish(struct wbuf *w, const struct dns_query *q, unsigned rcode,
			uint16_t ancount)
{
	if (q->edns.present)
		put_opt(w, q, rcode);
	if (w->overflow)
		return -ENOSPC;
	patch16(w, 6, ancount);
	patch16(w, 10, q->edns.present ? 1 : 0);
	return (int)w->len;
}

int dns_write_rcode(const struct dns_query *q, unsigned rcode, uint8_t *out, size_t cap)
{
	struct wbuf w = { .p = out, .cap = cap };

	/* Extended rcodes live partly in the OPT record; without one they cannot be said. */
	if (rcode > 0xfff || (rcode > 0xf && !q->edns.present))
		return -EINVAL;
	put_reply_head(&w, q, rcode);
	return reply_finish(&w, q, rcode, 0);
}

int dns_write_addresses(const struct dns_query *q, const struct cage_addr *addrs, size_t n,
			uint32_t ttl, uint8_t *out, size_t cap)
{
	struct wbuf w = { .p = out, .cap = cap };
	uint16_t ancount = 0;

	if (!q->has_question)
		return -EINVAL;
	put_reply_head(&w, q, DNS_RCODE_NOERROR);
	for (size_t i = 0; i < n && ancount < UINT16_MAX; i++) {
		bool v4 = addrs[i].family == CAGE_AF_INET;

		if (!((v4 && q->qtype == DNS_TYPE_A) ||
		      (addrs[i].family == CAGE_AF_INET6 && q->qtype == DNS_TYPE_AAAA)))
			continue;
		put16(&w, 0xc000 | DNS_HEADER_LEN);
		put16(&w, q->qtype);
		put16(&w, DNS_CLASS_IN);
		put32(&w, ttl);
		put16(&w, v4 ? 4 : 16);
		put(&w, addrs[i].ip, v4 ? 4 : 16);
		ancount++;
	}
	return reply_finish(&w, q, DNS_RCODE_NOERROR, ancount);
}

/* SVCB/HTTPS rdata without the `ech` parameter; the rest is copied as it came. */
static void put_svcb_without_ech(struct wbuf *w, const struct dns_rr *rr)
{
	const uint8_t *rd = rr->rdata;
	size_t p = 2 + rr->target.len, end = rr->rdlen;

	put(w, rd, 2);
	put(w, rr->target.wire, rr->target.len);
	while (p + 4 <= end) {
		uint16_t key = get16(rd + p), vlen = get16(rd + p + 2);

		if (key != DNS_SVC_PARAM_ECH)
			put(w, rd + p, 4 + (size_t)vlen);
		p += 4 + (size_t)vlen;
	}
}

static bool rr_type_forwardable(uint16_t type)
{
	return type == DNS_TYPE_A || type == DNS_TYPE_AAAA || type == DNS_TYPE_CNAME ||
	       type == DNS_TYPE_SVCB || type == DNS_TYPE_HTTPS;
}

static void put_answer(struct wbuf *w, const struct dns_query *q, const struct dns_rr *rr,
		       uint32_t ttl)
{
	size_t rdlen_at;

	/* Records owned by the question name point back at it: the one compression we do. */
	if (q->has_question && dns_name_equal(&rr->name, &q->qname))
		put16(w, 0xc000 | DNS_HEADER_LEN);
	else
		put(w, rr->name.wire, rr->name.len);
	put16(w, rr->type);
	put16(w, rr->rclass);
	put32(w, ttl & 0x7fffffffu);
	rdlen_at = w->len;
	put16(w, 0);
	switch (rr->type) {
	case DNS_TYPE_CNAME:
		put(w, rr->target.wire, rr->target.len);
		break;
	case DNS_TYPE_SVCB:
	case DNS_TYPE_HTTPS:
		put_svcb_without_ech(w, rr);
		break;
	default:
		put(w, rr->rdata, rr->rdlen);
		break;
	}
	patch16(w, rdlen_at, (uint16_t)(w->len - rdlen_at - 2));
}

int dns_write_filtered(const struct dns_query *q, const struct dns_response *up, dns_rr_keep_fn keep,
		       void *ctx, size_t max_len, uint8_t *out, size_t cap)
{
	struct wbuf w = { .p = out, .cap = cap < max_len ? cap : max_len };
	unsigned rcode = up->rcode;
	uint16_t ancount = 0;
	size_t question_end;
	int len;

	if (!q->has_question)
		return -EINVAL;
	/* An extended rcode the client cannot receive becomes a plain failure. */
	if (rcode > 0xf && !q->edns.present)
		rcode = DNS_RCODE_SERVFAIL;
	put_reply_head(&w, q, rcode);
	question_end = w.len;
	for (size_t i = 0; i < up->ancount; i++) {
		const struct dns_rr *rr = &up->an[i];
		uint32_t ttl = rr->ttl;

		if (rr->rclass != DNS_CLASS_IN || !rr_type_forwardable(rr->type))
			continue;
		if (!keep || !keep(ctx, rr, &ttl))
			continue;
		put_answer(&w, q, rr, ttl);
		ancount++;
	}
	len = reply_finish(&w, q, rcode, ancount);
	if (len >= 0)
		return len;
	/* Too big for the client: an empty answer with TC tells it to retry over TCP. */
	w.overflow = false;
	w.len = question_end;
	len = reply_finish(&w, q, rcode, 0);
	if (len < 0)
		return len;
	out[2] |= DNS_FLAG_TC >> 8;
	return len;
}

int dns_write_upstream_query(const char *canonical_name, uint16_t qtype, uint16_t *id_out,
			     struct dns_name *qname_out, uint8_t *out, size_t cap)
{
	struct wbuf w = { .p = out, .cap = cap };
	struct dns_name name = { .len = 0 };
	size_t n = strnlen(canonical_name, DNS_NAME_WIRE_MAX), start = 0;
	uint16_t id;

	if (n == 0 || n >= DNS_NAME_WIRE_MAX - 1)
		return -EINVAL;
	for (size_t i = 0; i <= n; i++) {
		size_t label_len = i - start;

		if (i < n && canonical_name[i] != '.') {
			uint8_t c = (uint8_t)canonical_name[i];

			/* Lower case only: whatever case games the client played stay here. */
			if (!is_plain_byte(c) || (c >= 'A' && c <= 'Z'))
				return -EINVAL;
			continue;
		}
		if (label_len == 0 || label_len > DNS_LABEL_MAX)
			return -EINVAL;
		name.wire[name.len++] = (uint8_t)label_len;
		memcpy(name.wire + name.len, canonical_name + start, label_len);
		name.len = (uint8_t)(name.len + label_len);
		name.labels++;
		start = i + 1;
	}
	name.wire[name.len++] = 0;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		return errno ? -errno : -EIO;
	put16(&w, id);
	put16(&w, DNS_FLAG_RD);
	put16(&w, 1);
	put16(&w, 0);
	put16(&w, 0);
	put16(&w, 1);
	put(&w, name.wire, name.len);
	put16(&w, qtype);
	put16(&w, DNS_CLASS_IN);
	put(&w, "", 1);
	put16(&w, DNS_TYPE_OPT);
	put16(&w, DNS_UDP_OURS);
	put32(&w, 0);
	put16(&w, 0);
	if (w.overflow)
		return -ENOSPC;
	if (id_out)
		*id_out = id;
	if (qname_out)
		*qname_out = name;
	return (int)w.len;
}

int dns_tcp_frame_parse(const uint8_t *buf, size_t have, const uint8_t **msg, size_t *msg_len)
{
	size_t n;

	if (have < 2)
		return 0;
	n = get16(buf);
	if (n < DNS_HEADER_LEN)
		return -EBADMSG;
	if (have - 2 < n)
		return 0;
	*msg = buf + 2;
	*msg_len = n;
	return (int)(2 + n);
}

int dns_tcp_prefix_put(uint8_t out[2], size_t msg_len)
{
	if (msg_len > DNS_TCP_MAX)
		return -EMSGSIZE;
	out[0] = (uint8_t)(msg_len >> 8);
	out[1] = (uint8_t)msg_len;
	return 0;
}
