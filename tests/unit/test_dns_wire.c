// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns/wire.h"
#include "domain_cases.h"
#include "lib/domain.h"
#include "lib/ipclass.h"

/* A small packet builder, so each crafted message reads as what it is. */
struct pkt {
	uint8_t b[4096];
	size_t n;
};

static void p_u8(struct pkt *p, unsigned v)
{
	assert_true(p->n < sizeof(p->b));
	p->b[p->n++] = (uint8_t)v;
}

static void p_u16(struct pkt *p, unsigned v)
{
	p_u8(p, v >> 8);
	p_u8(p, v & 0xff);
}

static void p_u32(struct pkt *p, uint32_t v)
{
	p_u16(p, v >> 16);
	p_u16(p, v & 0xffff);
}

static void p_mem(struct pkt *p, const void *src, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, src, n);
	p->n += n;
}

static void p_label(struct pkt *p, const char *label, size_t n)
{
	p_u8(p, (unsigned)n);
	p_mem(p, label, n);
}

/* "a.b.c" as labels plus the root; no escapes (see p_name_dig for those). */
static void p_name(struct pkt *p, const char *name)
{
	const char *s = name;

	while (*s) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);

		p_label(p, s, n);
		s += n + (dot ? 1 : 0);
	}
	p_u8(p, 0);
}

/* Encodes a name the way dig reads its argument: "\." and "\DDD" stay inside a label.
 * Returns false for names with an empty label, which no client can send. */
static bool p_name_dig(struct pkt *p, const char *name)
{
	char label[256];
	size_t n = 0, len = strlen(name);

	if (len > 0 && name[len - 1] == '.' && (len < 2 || name[len - 2] != '\\'))
		len--;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			if (n == 0 || n > 63)
				return false;
			p_label(p, label, n);
			n = 0;
			continue;
		}
		if (name[i] == '\\' && i + 3 < len && name[i + 1] >= '0' && name[i + 1] <= '9') {
			label[n++] = (char)((name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 +
					    (name[i + 3] - '0'));
			i += 3;
		} else if (name[i] == '\\' && i + 1 < len) {
			label[n++] = name[++i];
		} else {
			label[n++] = name[i];
		}
		if (n >= sizeof(label))
			return false;
	}
	p_u8(p, 0);
	return true;
}

static void p_header(struct pkt *p, unsigned id, unsigned flags, unsigned qd, unsigned an,
		     unsigned ns, unsigned ar)
{
	p->n = 0;
	p_u16(p, id);
	p_u16(p, flags);
	p_u16(p, qd);
	p_u16(p, an);
	p_u16(p, ns);
	p_u16(p, ar);
}

static void p_opt(struct pkt *p, unsigned udp, bool do_bit)
{
	p_u8(p, 0);
	p_u16(p, DNS_TYPE_OPT);
	p_u16(p, udp);
	p_u32(p, do_bit ? 0x8000 : 0);
	p_u16(p, 0);
}

static void make_query(struct pkt *p, unsigned id, const char *name, unsigned qtype, bool edns)
{
	p_header(p, id, DNS_FLAG_RD, 1, 0, 0, edns ? 1 : 0);
	p_name(p, name);
	p_u16(p, qtype);
	p_u16(p, DNS_CLASS_IN);
	if (edns)
		p_opt(p, 4096, true);
}

static struct dns_query query;
static struct dns_response resp;

static void test_query_simple(void **state)
{
	struct pkt p;

	make_query(&p, 0xbeef, "api.allowed.test", DNS_TYPE_A, false);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	assert_int_equal(query.id, 0xbeef);
	assert_true(query.flags & DNS_FLAG_RD);
	assert_true(query.has_question);
	assert_int_equal(query.qtype, DNS_TYPE_A);
	assert_int_equal(query.qclass, DNS_CLASS_IN);
	assert_string_equal(query.qname_text, "api.allowed.test");
	assert_false(query.qname.has_odd_bytes);
	assert_int_equal(query.qname.labels, 3);
	assert_int_equal(query.qname.len, 18);
	assert_false(query.edns.present);
	assert_int_equal(dns_query_max_response(&query, false), 512);
	assert_int_equal(dns_query_max_response(&query, true), 65535);
}

static void test_query_case_and_root(void **state)
{
	struct pkt p;

	make_query(&p, 1, "ApI.AlLoWeD.TeSt", DNS_TYPE_AAAA, false);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	assert_string_equal(query.qname_text, "api.allowed.test");
	assert_memory_equal(query.qname.wire, "\3ApI", 4);
	assert_false(query.qname.has_odd_bytes);

	make_query(&p, 1, "", DNS_TYPE_NS, false);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	assert_string_equal(query.qname_text, ".");
	assert_int_equal(query.qname.len, 1);
}

static void test_query_odd_bytes(void **state)
{
	static const struct {
		const char *dig;
		const char *text;
	} cases[] = {
		{ "api\\.allowed.test", "api\\046allowed.test" },
		{ "api\\000.allowed.test", "api\\000.allowed.test" },
		{ "a\\032b.test", "a\\032b.test" },
		{ "\\*.test", "\\042.test" },
		{ "x\\255.test", "x\\255.test" },
		{ "x\\\\y.test", "x\\092y.test" },
		{ "x\\@y.test", "x\\064y.test" },
	};
	char canon[DOMAIN_BUF_SIZE];
	struct pkt p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p_header(&p, 7, 0, 1, 0, 0, 0);
		assert_true(p_name_dig(&p, cases[i].dig));
		p_u16(&p, DNS_TYPE_A);
		p_u16(&p, DNS_CLASS_IN);
		assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
		if (!query.qname.has_odd_bytes || strcmp(query.qname_text, cases[i].text) != 0)
			fail_msg("%s: text %s, odd %d", cases[i].dig, query.qname_text,
				 query.qname.has_odd_bytes);
		/* Whatever the text, policy cannot read it as another name. */
		assert_int_not_equal(domain_canonicalize(query.qname_text, strlen(query.qname_text),
							 canon, sizeof(canon)),
				     0);
	}
}

static void test_query_edns(void **state)
{
	struct pkt p;

	make_query(&p, 2, "a.test", DNS_TYPE_A, true);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	assert_true(query.edns.present);
	assert_int_equal(query.edns.udp_size, 4096);
	assert_true(query.edns.do_bit);
	assert_int_equal(query.edns.version, 0);
	assert_int_equal(dns_query_max_response(&query, false), DNS_UDP_OURS);

	/* A small advertised size never goes below 512; a mid one is honoured. */
	p_header(&p, 2, 0, 1, 0, 0, 1);
	p_name(&p, "a.test");
	p_u16(&p, DNS_TYPE_A);
	p_u16(&p, DNS_CLASS_IN);
	p_opt(&p, 100, false);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	assert_false(query.edns.do_bit);
	assert_int_equal(dns_query_max_response(&query, false), 512);
	p.b[p.n - 8] = 0x03; /* udp size 0x0364 = 868 */
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	assert_int_equal(dns_query_max_response(&query, false), 868);

	/* EDNS options (a cookie) are walked and accepted; version 1 is reported. */
	p_header(&p, 2, 0, 1, 0, 0, 1);
	p_name(&p, "a.test");
	p_u16(&p, DNS_TYPE_A);
	p_u16(&p, DNS_CLASS_IN);
	p_u8(&p, 0);
	p_u16(&p, DNS_TYPE_OPT);
	p_u16(&p, 1232);
	p_u32(&p, 0x00010000);
	p_u16(&p, 12);
	p_u16(&p, 10);
	p_u16(&p, 8);
	p_mem(&p, "cookie!!", 8);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	assert_int_equal(query.edns.version, 1);
}

/* A query with a valid compressed record in the additional section. */
static void test_query_pointer_ok(void **state)
{
	struct pkt p;

	p_header(&p, 3, 0, 1, 0, 0, 1);
	p_name(&p, "a.test");
	p_u16(&p, DNS_TYPE_A);
	p_u16(&p, DNS_CLASS_IN);
	p_u8(&p, 1);
	p_u8(&p, 'x');
	p_u16(&p, 0xc000 | 12);
	p_u16(&p, DNS_TYPE_A);
	p_u16(&p, DNS_CLASS_IN);
	p_u32(&p, 0);
	p_u16(&p, 4);
	p_u32(&p, 0x01020304);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
}

struct bad_query {
	const char *what;
	int err;
	void (*build)(struct pkt *p);
};

static void q_start(struct pkt *p, unsigned qd, unsigned ar)
{
	p_header(p, 0x1234, DNS_FLAG_RD, qd, 0, 0, ar);
}

static void q_tail(struct pkt *p)
{
	p_u16(p, DNS_TYPE_A);
	p_u16(p, DNS_CLASS_IN);
}

static void build_empty(struct pkt *p) { p->n = 0; }
static void build_short_header(struct pkt *p) { make_query(p, 1, "a.test", 1, false); p->n = 11; }
static void build_qr_set(struct pkt *p) { make_query(p, 1, "a.test", 1, false); p->b[2] |= 0x80; }
static void build_opcode_status(struct pkt *p) { make_query(p, 1, "a.test", 1, false); p->b[2] |= 2 << 3; }
static void build_opcode_update(struct pkt *p) { make_query(p, 1, "a.test", 1, false); p->b[2] |= 5 << 3; }
static void build_qd0(struct pkt *p) { q_start(p, 0, 0); }

static void build_qd2(struct pkt *p)
{
	q_start(p, 2, 0);
	p_name(p, "a.test");
	q_tail(p);
	p_name(p, "b.test");
	q_tail(p);
}

static void build_an1(struct pkt *p)
{
	make_query(p, 1, "a.test", 1, false);
	p->b[7] = 1;
}

static void build_ptr_self(struct pkt *p)
{
	q_start(p, 1, 0);
	p_u16(p, 0xc000 | 12);
	q_tail(p);
}

static void build_ptr_after_label_to_itself(struct pkt *p)
{
	q_start(p, 1, 0);
	p_label(p, "a", 1);
	p_u16(p, 0xc000 | 14);
	q_tail(p);
}

static void build_ptr_back_to_own_label(struct pkt *p)
{
	q_start(p, 1, 0);
	p_label(p, "a", 1);
	p_u16(p, 0xc000 | 12);
	q_tail(p);
}

static void build_ptr_into_header(struct pkt *p)
{
	q_start(p, 1, 0);
	p_u16(p, 0xc000 | 4);
	q_tail(p);
}

static void build_ptr_past_end(struct pkt *p)
{
	q_start(p, 1, 0);
	p_u16(p, 0xc000 | 0x3fff);
	q_tail(p);
}

static void build_ptr_truncated(struct pkt *p)
{
	q_start(p, 1, 0);
	p_u8(p, 0xc0);
}

/* Two additional-record names that point at each other: the second jump would go forward. */
static void build_ptr_loop_pair(struct pkt *p)
{
	size_t first;

	q_start(p, 1, 2);
	p_name(p, "a.test");
	q_tail(p);
	first = p->n;
	p_u16(p, 0xc000 | (unsigned)(first + 2 + 10 + 4));
	p_u16(p, DNS_TYPE_A);
	p_u16(p, DNS_CLASS_IN);
	p_u32(p, 0);
	p_u16(p, 4);
	p_u32(p, 0);
	p_u16(p, 0xc000 | (unsigned)first);
	p_u16(p, DNS_TYPE_A);
	p_u16(p, DNS_CLASS_IN);
	p_u32(p, 0);
	p_u16(p, 4);
	p_u32(p, 0);
}

static void build_label_64(struct pkt *p)
{
	char l[64];

	memset(l, 'a', sizeof(l));
	q_start(p, 1, 0);
	p_label(p, l, 64);
	p_u8(p, 0);
	q_tail(p);
}

static void build_label_binary(struct pkt *p)
{
	q_start(p, 1, 0);
	p_u8(p, 0x81);
	p_u8(p, 'a');
	p_u8(p, 0);
	q_tail(p);
}

static void p_long_name(struct pkt *p, size_t last)
{
	char l[63];

	memset(l, 'a', sizeof(l));
	for (int i = 0; i < 3; i++)
		p_label(p, l, 63);
	p_label(p, l, last);
	p_u8(p, 0);
}

static void build_name_255(struct pkt *p)
{
	q_start(p, 1, 0);
	p_long_name(p, 61); /* 3*64 + 62 + 1 = 255 */
	q_tail(p);
}

static void build_name_256(struct pkt *p)
{
	q_start(p, 1, 0);
	p_long_name(p, 62); /* 3*64 + 63 + 1 = 256 */
	q_tail(p);
}

/* 250 bytes in the question, then a record whose name adds a label in front of it. */
static void build_name_long_by_pointer(struct pkt *p)
{
	q_start(p, 1, 1);
	p_long_name(p, 56);
	q_tail(p);
	p_label(p, "abcdefgh", 8);
	p_u16(p, 0xc000 | 12);
	p_u16(p, DNS_TYPE_A);
	p_u16(p, DNS_CLASS_IN);
	p_u32(p, 0);
	p_u16(p, 0);
}

static void build_label_past_end(struct pkt *p)
{
	q_start(p, 1, 0);
	p_u8(p, 10);
	p_mem(p, "abc", 3);
}

static void build_no_qtype(struct pkt *p)
{
	q_start(p, 1, 0);
	p_name(p, "a.test");
	p_u16(p, DNS_TYPE_A);
}

static void build_opt_twice(struct pkt *p)
{
	q_start(p, 1, 2);
	p_name(p, "a.test");
	q_tail(p);
	p_opt(p, 1232, false);
	p_opt(p, 1232, false);
}

static void build_opt_named(struct pkt *p)
{
	q_start(p, 1, 1);
	p_name(p, "a.test");
	q_tail(p);
	p_label(p, "x", 1);
	p_u8(p, 0);
	p_u16(p, DNS_TYPE_OPT);
	p_u16(p, 1232);
	p_u32(p, 0);
	p_u16(p, 0);
}

static void build_opt_option_overrun(struct pkt *p)
{
	q_start(p, 1, 1);
	p_name(p, "a.test");
	q_tail(p);
	p_u8(p, 0);
	p_u16(p, DNS_TYPE_OPT);
	p_u16(p, 1232);
	p_u32(p, 0);
	p_u16(p, 6);
	p_u16(p, 10);
	p_u16(p, 8);
	p_u16(p, 0);
}

static void build_rdlen_past_end(struct pkt *p)
{
	q_start(p, 1, 1);
	p_name(p, "a.test");
	q_tail(p);
	p_u8(p, 0);
	p_u16(p, DNS_TYPE_A);
	p_u16(p, DNS_CLASS_IN);
	p_u32(p, 0);
	p_u16(p, 40);
	p_u32(p, 0);
}

static void build_ar_missing(struct pkt *p)
{
	make_query(p, 1, "a.test", 1, false);
	p->b[11] = 1;
}

static void build_trailing_byte(struct pkt *p)
{
	make_query(p, 1, "a.test", 1, false);
	p_u8(p, 0);
}

static const struct bad_query bad_queries[] = {
	{ "empty", -EMSGSIZE, build_empty },
	{ "truncated header", -EMSGSIZE, build_short_header },
	{ "QR set", -EINVAL, build_qr_set },
	{ "opcode STATUS", -ENOTSUP, build_opcode_status },
	{ "opcode UPDATE", -ENOTSUP, build_opcode_update },
	{ "QDCOUNT 0", -EBADMSG, build_qd0 },
	{ "QDCOUNT 2", -EBADMSG, build_qd2 },
	{ "ANCOUNT 1", -EBADMSG, build_an1 },
	{ "pointer to itself", -EBADMSG, build_ptr_self },
	{ "pointer after label to itself", -EBADMSG, build_ptr_after_label_to_itself },
	{ "pointer back to own label", -EBADMSG, build_ptr_back_to_own_label },
	{ "pointer into header", -EBADMSG, build_ptr_into_header },
	{ "pointer past end", -EBADMSG, build_ptr_past_end },
	{ "pointer truncated", -EBADMSG, build_ptr_truncated },
	{ "pointer loop pair", -EBADMSG, build_ptr_loop_pair },
	{ "label 64", -EBADMSG, build_label_64 },
	{ "binary label", -EBADMSG, build_label_binary },
	{ "name 256", -EBADMSG, build_name_256 },
	{ "name > 255 via pointer", -EBADMSG, build_name_long_by_pointer },
	{ "label past end", -EBADMSG, build_label_past_end },
	{ "question without qclass", -EBADMSG, build_no_qtype },
	{ "OPT twice", -EBADMSG, build_opt_twice },
	{ "OPT with a name", -EBADMSG, build_opt_named },
	{ "OPT option overrun", -EBADMSG, build_opt_option_overrun },
	{ "rdlength past end", -EBADMSG, build_rdlen_past_end },
	{ "ARCOUNT without record", -EBADMSG, build_ar_missing },
	{ "trailing byte", -EBADMSG, build_trailing_byte },
};

static void test_query_malicious(void **state)
{
	struct pkt p;

	for (size_t i = 0; i < sizeof(bad_queries) / sizeof(bad_queries[0]); i++) {
		int err;

		bad_queries[i].build(&p);
		err = dns_query_parse(p.b, p.n, &query);
		if (err != bad_queries[i].err)
			fail_msg("%s: got %d, want %d", bad_queries[i].what, err, bad_queries[i].err);
	}
	build_name_255(&p);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	assert_int_equal(query.qname.len, 255);
	assert_int_equal(dns_query_parse(NULL, 0, &query), -EMSGSIZE);
}

/* FORMERR for a bad query: the ID comes back, and the question only when it was readable. */
static void test_formerr(void **state)
{
	uint8_t out[512];
	struct pkt p;
	int n;

	build_qd2(&p);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), -EBADMSG);
	n = dns_write_rcode(&query, DNS_RCODE_FORMERR, out, sizeof(out));
	assert_int_equal(n, 12);
	assert_int_equal(dns_response_parse(out, (size_t)n, &resp), 0);
	assert_int_equal(resp.id, 0x1234);
	assert_int_equal(resp.rcode, DNS_RCODE_FORMERR);
	assert_false(resp.has_question);

	build_opt_twice(&p);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), -EBADMSG);
	assert_true(query.has_question);
	n = dns_write_rcode(&query, DNS_RCODE_FORMERR, out, sizeof(out));
	assert_true(n > 12);
	assert_int_equal(dns_response_parse(out, (size_t)n, &resp), 0);
	assert_true(resp.has_question);
	assert_true(resp.edns.present); /* the first OPT was fine, so EDNS is spoken */

	build_opcode_update(&p);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), -ENOTSUP);
	n = dns_write_rcode(&query, DNS_RCODE_NOTIMP, out, sizeof(out));
	assert_int_equal(n, 12);
	assert_int_equal(out[2] >> 3 & 0xf, 5);
	assert_int_equal(out[3] & 0xf, DNS_RCODE_NOTIMP);
}

static void test_write_rcodes(void **state)
{
	static const unsigned rcodes[] = { DNS_RCODE_NXDOMAIN, DNS_RCODE_REFUSED, DNS_RCODE_SERVFAIL,
					   DNS_RCODE_FORMERR };
	uint8_t out[512];
	struct pkt p;

	for (int edns = 0; edns < 2; edns++) {
		for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
			int n;

			make_query(&p, 0x4242, "SeCrEt.evil.test", DNS_TYPE_TXT, edns);
			p.b[3] |= DNS_FLAG_CD;
			assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
			n = dns_write_rcode(&query, rcodes[i], out, sizeof(out));
			assert_true(n > 0);
			assert_int_equal(dns_response_parse(out, (size_t)n, &resp), 0);
			assert_int_equal(resp.id, 0x4242);
			assert_int_equal(resp.rcode, rcodes[i]);
			assert_true(resp.flags & DNS_FLAG_QR);
			assert_true(resp.flags & DNS_FLAG_RA);
			assert_true(resp.flags & DNS_FLAG_RD);
			assert_true(resp.flags & DNS_FLAG_CD);
			assert_false(resp.flags & DNS_FLAG_AA);
			assert_int_equal(resp.ancount, 0);
			assert_int_equal(resp.qtype, DNS_TYPE_TXT);
			/* The question comes back in the client's own letter case. */
			assert_memory_equal(out + 12, p.b + 12, query.qname.len);
			assert_int_equal(resp.edns.present, edns);
			if (edns)
				assert_true(resp.edns.do_bit);
		}
	}
	/* BADVERS needs the OPT record for its upper bits. */
	make_query(&p, 9, "a.test", DNS_TYPE_A, true);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	assert_int_equal(dns_response_parse(out, (size_t)dns_write_rcode(&query, DNS_RCODE_BADVERS,
									  out, sizeof(out)),
					    &resp),
			 0);
	assert_int_equal(resp.rcode, DNS_RCODE_BADVERS);
	make_query(&p, 9, "a.test", DNS_TYPE_A, false);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	assert_int_equal(dns_write_rcode(&query, DNS_RCODE_BADVERS, out, sizeof(out)), -EINVAL);
	assert_int_equal(dns_write_rcode(&query, DNS_RCODE_NXDOMAIN, out, 20), -ENOSPC);
}

static void test_write_sinkhole(void **state)
{
	struct cage_addr addrs[2];
	uint8_t out[512];
	struct pkt p;
	int n;

	assert_int_equal(ip_literal_parse("192.0.2.1", &addrs[0]), 0);
	assert_int_equal(ip_literal_parse("2001:db8::1", &addrs[1]), 0);

	make_query(&p, 5, "Blocked.Example", DNS_TYPE_A, false);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	n = dns_write_addresses(&query, addrs, 2, 60, out, sizeof(out));
	assert_int_equal(dns_response_parse(out, (size_t)n, &resp), 0);
	assert_int_equal(resp.ancount, 1);
	assert_int_equal(resp.an[0].type, DNS_TYPE_A);
	assert_int_equal(resp.an[0].ttl, 60);
	assert_true(ip_equal(&resp.an[0].addr, &addrs[0]));
	assert_true(dns_name_equal(&resp.an[0].name, &query.qname));

	make_query(&p, 5, "blocked.example", DNS_TYPE_AAAA, true);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	n = dns_write_addresses(&query, addrs, 2, 60, out, sizeof(out));
	assert_int_equal(dns_response_parse(out, (size_t)n, &resp), 0);
	assert_int_equal(resp.ancount, 1);
	assert_true(ip_equal(&resp.an[0].addr, &addrs[1]));
	assert_true(resp.edns.present);

	make_query(&p, 5, "blocked.example", DNS_TYPE_MX, false);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	n = dns_write_addresses(&query, addrs, 2, 60, out, sizeof(out));
	assert_int_equal(dns_response_parse(out, (size_t)n, &resp), 0);
	assert_int_equal(resp.ancount, 0);
	assert_int_equal(resp.rcode, DNS_RCODE_NOERROR);
}

static void p_rr_head(struct pkt *p, unsigned name_ptr, unsigned type, uint32_t ttl, unsigned rdlen)
{
	p_u16(p, 0xc000 | name_ptr);
	p_u16(p, type);
	p_u16(p, DNS_CLASS_IN);
	p_u32(p, ttl);
	p_u16(p, rdlen);
}

/*
 * api.allowed.test CNAME cdn.example.net; cdn A 198.51.100.10, A 10.0.0.1, AAAA 2001:db8::10;
 * api TXT; api HTTPS 1 . alpn=h2 ech=...; authority SOA; OPT.
 */
static void make_upstream_answer(struct pkt *p, unsigned id, unsigned rcode)
{
	size_t cdn;

	p_header(p, id, DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA | rcode, 1, 6, 1, 1);
	p_name(p, "api.allowed.test");
	p_u16(p, DNS_TYPE_A);
	p_u16(p, DNS_CLASS_IN);
	p_rr_head(p, 12, DNS_TYPE_CNAME, 300, 17);
	cdn = p->n;
	p_name(p, "cdn.example.net");
	p_rr_head(p, (unsigned)cdn, DNS_TYPE_A, 0x80000005, 4); /* top bit: TTL reads as 0 */
	p_u32(p, 0xc633640a);
	p_rr_head(p, (unsigned)cdn, DNS_TYPE_A, 60, 4);
	p_u32(p, 0x0a000001);
	p_rr_head(p, (unsigned)cdn, DNS_TYPE_AAAA, 60, 16);
	p_mem(p, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x10", 16);
	p_rr_head(p, 12, DNS_TYPE_TXT, 60, 4);
	p_mem(p, "\3abc", 4);
	p_rr_head(p, 12, DNS_TYPE_HTTPS, 60, 2 + 1 + 4 + 3 + 4 + 3);
	p_u16(p, 1);
	p_u8(p, 0);
	p_u16(p, 1);
	p_u16(p, 3);
	p_mem(p, "\2h2", 3);
	p_u16(p, DNS_SVC_PARAM_ECH);
	p_u16(p, 3);
	p_mem(p, "ECH", 3);
	/* authority: allowed.test SOA ns. host. serial refresh retry expire minimum=30 */
	p_u16(p, 0xc000 | 16);
	p_u16(p, DNS_TYPE_SOA);
	p_u16(p, DNS_CLASS_IN);
	p_u32(p, 100);
	p_u16(p, 4 + 6 + 20);
	p_name(p, "ns");
	p_name(p, "host");
	p_u32(p, 1);
	p_u32(p, 2);
	p_u32(p, 3);
	p_u32(p, 4);
	p_u32(p, 30);
	p_opt(p, 1232, false);
}

static void test_response_parse(void **state)
{
	char text[DNS_NAME_TEXT_MAX];
	struct dns_name want;
	struct pkt p, q;

	make_upstream_answer(&p, 0x7777, DNS_RCODE_NOERROR);
	assert_int_equal(dns_response_parse(p.b, p.n, &resp), 0);
	assert_int_equal(resp.id, 0x7777);
	assert_int_equal(resp.rcode, 0);
	assert_int_equal(resp.ancount, 6);
	assert_int_equal(resp.neg_ttl, 30);
	assert_true(resp.edns.present);
	assert_int_equal(resp.an[0].type, DNS_TYPE_CNAME);
	assert_int_equal(dns_name_to_text(&resp.an[0].target, text, sizeof(text)), 15);
	assert_string_equal(text, "cdn.example.net");
	assert_int_equal(resp.an[1].ttl, 0);
	assert_int_equal(resp.an[1].addr.family, CAGE_AF_INET);
	assert_true(ip_is_public(&resp.an[1].addr));
	assert_false(ip_is_public(&resp.an[2].addr));
	assert_int_equal(resp.an[3].addr.family, CAGE_AF_INET6);
	assert_int_equal(resp.an[4].type, DNS_TYPE_TXT);
	assert_int_equal(resp.an[4].rdlen, 4);
	assert_int_equal(resp.an[5].type, DNS_TYPE_HTTPS);
	assert_true(resp.an[5].svc_has_ech);
	assert_int_equal(resp.an[5].svc_priority, 1);

	make_query(&q, 1, "api.allowed.test", DNS_TYPE_A, false);
	assert_int_equal(dns_query_parse(q.b, q.n, &query), 0);
	want = query.qname;
	assert_true(dns_response_matches(&resp, 0x7777, &want, DNS_TYPE_A));
	assert_false(dns_response_matches(&resp, 0x7778, &want, DNS_TYPE_A));
	assert_false(dns_response_matches(&resp, 0x7777, &want, DNS_TYPE_AAAA));
	make_query(&q, 1, "API.allowed.TEST", DNS_TYPE_A, false);
	assert_int_equal(dns_query_parse(q.b, q.n, &query), 0);
	assert_true(dns_response_matches(&resp, 0x7777, &query.qname, DNS_TYPE_A));
	make_query(&q, 1, "api.allowed.tes", DNS_TYPE_A, false);
	assert_int_equal(dns_query_parse(q.b, q.n, &query), 0);
	assert_false(dns_response_matches(&resp, 0x7777, &query.qname, DNS_TYPE_A));

	/* AAAA holding a mapped IPv4 address is IPv4 to the cage. */
	p_header(&p, 1, DNS_FLAG_QR, 1, 1, 0, 0);
	p_name(&p, "a.test");
	p_u16(&p, DNS_TYPE_AAAA);
	p_u16(&p, DNS_CLASS_IN);
	p_rr_head(&p, 12, DNS_TYPE_AAAA, 5, 16);
	p_mem(&p, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f\0\0\1", 16);
	assert_int_equal(dns_response_parse(p.b, p.n, &resp), 0);
	assert_int_equal(resp.an[0].addr.family, CAGE_AF_INET);
	assert_false(ip_is_public(&resp.an[0].addr));
}

struct bad_response {
	const char *what;
	int err;
	unsigned type;
	const char *rdata;
	unsigned rdlen;
};

static const struct bad_response bad_responses[] = {
	{ "A with 5 bytes", -EBADMSG, DNS_TYPE_A, "\1\2\3\4\5", 5 },
	{ "A with 3 bytes", -EBADMSG, DNS_TYPE_A, "\1\2\3", 3 },
	{ "AAAA with 4 bytes", -EBADMSG, DNS_TYPE_AAAA, "\1\2\3\4", 4 },
	{ "CNAME running past rdata", -EBADMSG, DNS_TYPE_CNAME, "\3abc\0", 3 },
	{ "CNAME with bytes after it", -EBADMSG, DNS_TYPE_CNAME, "\1a\0\0", 4 },
	{ "CNAME pointing forward", -EBADMSG, DNS_TYPE_CNAME, "\xc0\xff", 2 },
	{ "HTTPS keys out of order", -EBADMSG, DNS_TYPE_HTTPS, "\0\1\0\0\5\0\0\0\1\0\0", 11 },
	{ "HTTPS ech twice", -EBADMSG, DNS_TYPE_HTTPS, "\0\1\0\0\5\0\0\0\5\0\0", 11 },
	{ "HTTPS param overrun", -EBADMSG, DNS_TYPE_HTTPS, "\0\1\0\0\1\0\x09\0", 8 },
	{ "HTTPS compressed target", -EBADMSG, DNS_TYPE_HTTPS, "\0\1\xc0\x0c", 4 },
	{ "SVCB too short", -EBADMSG, DNS_TYPE_SVCB, "\0\1", 2 },
	{ "OPT in answers", -EBADMSG, DNS_TYPE_OPT, "", 0 },
	{ "TXT fine", 0, DNS_TYPE_TXT, "\1x", 2 },
	{ "HTTPS alias fine", 0, DNS_TYPE_HTTPS, "\0\0\1a\0", 5 },
};

static void test_response_malicious(void **state)
{
	struct pkt p;

	for (size_t i = 0; i < sizeof(bad_responses) / sizeof(bad_responses[0]); i++) {
		const struct bad_response *b = &bad_responses[i];
		int err;

		p_header(&p, 1, DNS_FLAG_QR, 1, 1, 0, 0);
		p_name(&p, "a.test");
		p_u16(&p, DNS_TYPE_A);
		p_u16(&p, DNS_CLASS_IN);
		p_rr_head(&p, 12, b->type, 5, b->rdlen);
		p_mem(&p, b->rdata, b->rdlen);
		err = dns_response_parse(p.b, p.n, &resp);
		if (err != b->err)
			fail_msg("%s: got %d, want %d", b->what, err, b->err);
	}
	make_upstream_answer(&p, 1, 0);
	p.b[2] &= (uint8_t)~0x80;
	assert_int_equal(dns_response_parse(p.b, p.n, &resp), -EINVAL);
	make_upstream_answer(&p, 1, 0);
	p.b[7] = 65;
	assert_int_equal(dns_response_parse(p.b, p.n, &resp), -E2BIG);
	make_upstream_answer(&p, 1, 0);
	p.b[5] = 2;
	assert_int_equal(dns_response_parse(p.b, p.n, &resp), -EBADMSG);
	make_upstream_answer(&p, 1, 0);
	assert_int_equal(dns_response_parse(p.b, p.n - 1, &resp), -EBADMSG);
	assert_int_equal(dns_response_parse(p.b, 11, &resp), -EMSGSIZE);
	/* A refusal from upstream without a question is still a response. */
	p_header(&p, 1, DNS_FLAG_QR | DNS_RCODE_REFUSED, 0, 0, 0, 0);
	assert_int_equal(dns_response_parse(p.b, p.n, &resp), 0);
	assert_false(resp.has_question);
	assert_int_equal(resp.rcode, DNS_RCODE_REFUSED);
}

/* Keeps public addresses and every CNAME/HTTPS; counts what it was shown. */
static bool keep_public(void *ctx, const struct dns_rr *rr, uint32_t *ttl)
{
	int *seen = ctx;

	(*seen)++;
	if (*ttl > 120)
		*ttl = 120;
	if (rr->type == DNS_TYPE_A || rr->type == DNS_TYPE_AAAA)
		return ip_is_public(&rr->addr);
	return true;
}

static void test_write_filtered(void **state)
{
	static struct dns_response up;
	uint8_t out[DNS_TCP_MAX];
	struct pkt p, q;
	int n, seen = 0;

	make_upstream_answer(&p, 0x7777, DNS_RCODE_NOERROR);
	assert_int_equal(dns_response_parse(p.b, p.n, &up), 0);
	make_query(&q, 0x0102, "aPi.AlLoWeD.tEsT", DNS_TYPE_A, true);
	q.b[3] |= DNS_FLAG_CD;
	assert_int_equal(dns_query_parse(q.b, q.n, &query), 0);

	n = dns_write_filtered(&query, &up, keep_public, &seen,
			       dns_query_max_response(&query, false), out, sizeof(out));
	assert_true(n > 0);
	/* TXT never reaches the callback; CNAME, 2 A, AAAA and HTTPS do. */
	assert_int_equal(seen, 5);
	assert_int_equal(dns_response_parse(out, (size_t)n, &resp), 0);
	assert_int_equal(resp.id, 0x0102);
	assert_true(resp.flags & DNS_FLAG_RA);
	assert_true(resp.flags & DNS_FLAG_RD);
	assert_true(resp.flags & DNS_FLAG_CD);
	assert_false(resp.flags & DNS_FLAG_TC);
	assert_memory_equal(out + 12, q.b + 12, query.qname.len);
	assert_int_equal(resp.ancount, 4);
	assert_int_equal(resp.an[0].type, DNS_TYPE_CNAME);
	assert_int_equal(resp.an[0].ttl, 120); /* lowered by the callback from 300 */
	assert_true(dns_name_equal(&resp.an[0].target, &up.an[0].target));
	assert_int_equal(resp.an[1].type, DNS_TYPE_A);
	assert_true(ip_equal(&resp.an[1].addr, &up.an[1].addr));
	assert_int_equal(resp.an[2].type, DNS_TYPE_AAAA);
	assert_int_equal(resp.an[3].type, DNS_TYPE_HTTPS);
	assert_false(resp.an[3].svc_has_ech);
	assert_int_equal(resp.an[3].rdlen, 2 + 1 + 4 + 3);
	assert_memory_equal(resp.an[3].rdata + 3, "\0\1\0\3\2h2", 7);
	assert_true(resp.edns.present);
	assert_int_equal(resp.neg_ttl, 0);

	/* Nothing approved: an empty NOERROR. */
	n = dns_write_filtered(&query, &up, NULL, NULL, 512, out, sizeof(out));
	assert_int_equal(dns_response_parse(out, (size_t)n, &resp), 0);
	assert_int_equal(resp.ancount, 0);

	/* Too big for the client: TC, no answers, the question and OPT still there. */
	seen = 0;
	n = dns_write_filtered(&query, &up, keep_public, &seen, 60, out, sizeof(out));
	assert_true(n > 0 && n <= 60);
	assert_int_equal(dns_response_parse(out, (size_t)n, &resp), 0);
	assert_true(resp.flags & DNS_FLAG_TC);
	assert_int_equal(resp.ancount, 0);
	assert_true(resp.has_question);
	assert_int_equal(dns_write_filtered(&query, &up, keep_public, &seen, 20, out, sizeof(out)),
			 -ENOSPC);

	/* NXDOMAIN passes through as NXDOMAIN. */
	make_upstream_answer(&p, 0x7777, DNS_RCODE_NXDOMAIN);
	assert_int_equal(dns_response_parse(p.b, p.n, &up), 0);
	n = dns_write_filtered(&query, &up, keep_public, &seen, 512, out, sizeof(out));
	assert_int_equal(dns_response_parse(out, (size_t)n, &resp), 0);
	assert_int_equal(resp.rcode, DNS_RCODE_NXDOMAIN);
}

static void test_upstream_query(void **state)
{
	static const char *const bad[] = {
		"", "API.allowed.test", "a..b", ".a", "a.", "a\\.b", "a b", "a*b",
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234.x",
	};
	char canon[DOMAIN_BUF_SIZE], longname[300];
	struct dns_name qname;
	uint8_t out[512];
	uint16_t ids[8];
	bool differ = false;
	struct pkt p;
	int n;

	/* The client's 0x20 spelling goes through policy's canonical form on its way up. */
	make_query(&p, 0x5555, "ApI.aLLoWeD.TeSt", DNS_TYPE_AAAA, false);
	assert_int_equal(dns_query_parse(p.b, p.n, &query), 0);
	assert_int_equal(domain_canonicalize(query.qname_text, strlen(query.qname_text), canon,
					     sizeof(canon)),
			 0);
	for (int i = 0; i < 8; i++) {
		n = dns_write_upstream_query(canon, query.qtype, &ids[i], &qname, out, sizeof(out));
		assert_true(n > 0);
		differ |= ids[i] != ids[0];
	}
	assert_true(differ);
	assert_int_equal(dns_query_parse(out, (size_t)n, &query), 0);
	assert_int_equal(query.id, ids[7]);
	assert_true(query.flags & DNS_FLAG_RD);
	assert_true(query.edns.present);
	assert_int_equal(query.edns.udp_size, DNS_UDP_OURS);
	assert_int_equal(query.qtype, DNS_TYPE_AAAA);
	assert_memory_equal(query.qname.wire, "\3api\7allowed\4test\0", 18);
	assert_true(dns_name_equal(&qname, &query.qname));

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dns_write_upstream_query(bad[i], DNS_TYPE_A, NULL, NULL, out, sizeof(out)) !=
		    -EINVAL)
			fail_msg("upstream query for \"%s\" was built", bad[i]);
	memset(longname, 'a', sizeof(longname));
	for (int i = 63; i < 260; i += 64)
		longname[i] = '.';
	longname[253] = '\0';
	assert_true(dns_write_upstream_query(longname, DNS_TYPE_A, NULL, NULL, out, sizeof(out)) > 0);
	longname[253] = 'a';
	longname[254] = '\0';
	assert_int_equal(dns_write_upstream_query(longname, DNS_TYPE_A, NULL, NULL, out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(dns_write_upstream_query("a.test", DNS_TYPE_A, NULL, NULL, out, 20), -ENOSPC);
}

static void test_tcp_framing(void **state)
{
	uint8_t buf[64] = { 0, 12 };
	const uint8_t *msg = NULL;
	size_t len = 0;

	assert_int_equal(dns_tcp_frame_parse(buf, 0, &msg, &len), 0);
	assert_int_equal(dns_tcp_frame_parse(buf, 1, &msg, &len), 0);
	assert_int_equal(dns_tcp_frame_parse(buf, 13, &msg, &len), 0);
	assert_int_equal(dns_tcp_frame_parse(buf, 14, &msg, &len), 14);
	assert_ptr_equal(msg, buf + 2);
	assert_int_equal(len, 12);
	assert_int_equal(dns_tcp_frame_parse(buf, 40, &msg, &len), 14);
	buf[1] = 11;
	assert_int_equal(dns_tcp_frame_parse(buf, 40, &msg, &len), -EBADMSG);
	buf[0] = 0xff;
	buf[1] = 0xff;
	assert_int_equal(dns_tcp_frame_parse(buf, 40, &msg, &len), 0);
	assert_int_equal(dns_tcp_prefix_put(buf, 300), 0);
	assert_int_equal(buf[0], 1);
	assert_int_equal(buf[1], 44);
	assert_int_equal(dns_tcp_prefix_put(buf, 65535), 0);
	assert_int_equal(dns_tcp_prefix_put(buf, 65536), -EMSGSIZE);
}

/* The shared allowlist table, asked the way a DNS client asks it. */
static void test_shared_table_over_dns(void **state)
{
	for (size_t i = 0; i < DOMAIN_CASES_N; i++) {
		const struct domain_case *c = &domain_cases[i];
		struct domain_set *set = domain_set_new();
		char canon[DOMAIN_BUF_SIZE];
		bool allowed = false;
		struct pkt p;

		for (size_t k = 0; k < DOMAIN_CASE_MAX_PATTERNS && c->patterns[k]; k++)
			assert_int_equal(domain_set_add(set, c->patterns[k], 1), 0);
		p_header(&p, 1, 0, 1, 0, 0, 0);
		if (p_name_dig(&p, c->name)) {
			p_u16(&p, DNS_TYPE_A);
			p_u16(&p, DNS_CLASS_IN);
			if (dns_query_parse(p.b, p.n, &query) == 0 && !query.qname.has_odd_bytes &&
			    domain_canonicalize(query.qname_text, strlen(query.qname_text), canon,
						sizeof(canon)) == 0)
				allowed = domain_set_match(set, canon, NULL);
		}
		domain_set_free(set);
		if (allowed != c->allowed)
			fail_msg("case %zu \"%s\" over DNS: want %s", i, c->name,
				 c->allowed ? "allowed" : "denied");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_simple),
		cmocka_unit_test(test_query_case_and_root),
		cmocka_unit_test(test_query_odd_bytes),
		cmocka_unit_test(test_query_edns),
		cmocka_unit_test(test_query_pointer_ok),
		cmocka_unit_test(test_query_malicious),
		cmocka_unit_test(test_formerr),
		cmocka_unit_test(test_write_rcodes),
		cmocka_unit_test(test_write_sinkhole),
		cmocka_unit_test(test_response_parse),
		cmocka_unit_test(test_response_malicious),
		cmocka_unit_test(test_write_filtered),
		cmocka_unit_test(test_upstream_query),
		cmocka_unit_test(test_tcp_framing),
		cmocka_unit_test(test_shared_table_over_dns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
