// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feeds arbitrary bytes to the DNS query and response parsers and, whenever one accepts them,
 * round-trips through every writer: what cage-dns writes must parse again and keep its
 * promises (same ID, the client's question bytes, no `ech`, only forwardable record types).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/wire.h"
#include "lib/domain.h"

#define CHECK(cond)                 \
	do {                        \
		if (!(cond))        \
			abort();    \
	} while (0)

static uint8_t out[DNS_TCP_MAX];
static struct dns_query query, reparsed_query;
static struct dns_response resp, reparsed;

static void check_echo(const struct dns_query *q, const uint8_t *msg, int n)
{
	CHECK(n >= DNS_HEADER_LEN);
	CHECK(msg[0] == q->id >> 8 && msg[1] == (q->id & 0xff));
	/* The response parser takes only opcode QUERY; a NOTIMP for another opcode stops here. */
	if (q->opcode != 0) {
		CHECK(n == DNS_HEADER_LEN + (q->edns.present ? 11 : 0));
		return;
	}
	CHECK(dns_response_parse(msg, (size_t)n, &reparsed) == 0);
	CHECK(reparsed.id == q->id);
	CHECK(reparsed.has_question == q->has_question);
	if (q->has_question) {
		CHECK(memcmp(msg + DNS_HEADER_LEN, q->qname.wire, q->qname.len) == 0);
		CHECK(reparsed.qtype == q->qtype);
	}
	CHECK(reparsed.edns.present == q->edns.present);
}

static void fuzz_query(const uint8_t *data, size_t size)
{
	static const unsigned rcodes[] = { DNS_RCODE_FORMERR, DNS_RCODE_SERVFAIL,
					   DNS_RCODE_NXDOMAIN, DNS_RCODE_NOTIMP,
					   DNS_RCODE_REFUSED };
	char canon[DOMAIN_BUF_SIZE], text[16];
	struct cage_addr sink[2] = { { .family = CAGE_AF_INET }, { .family = CAGE_AF_INET6 } };
	struct dns_name upstream_name;
	int err = dns_query_parse(data, size, &query), n;

	if (err != 0 && err != -EBADMSG && err != -ENOTSUP)
		return;
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		n = dns_write_rcode(&query, rcodes[i], out, sizeof(out));
		check_echo(&query, out, n);
		CHECK(query.opcode != 0 || reparsed.rcode == rcodes[i]);
	}
	n = dns_write_rcode(&query, DNS_RCODE_BADVERS, out, sizeof(out));
	if (query.edns.present)
		check_echo(&query, out, n);
	else
		CHECK(n == -EINVAL);
	if (err)
		return;

	/* A name without odd bytes has a text form of plain label bytes only. */
	if (!query.qname.has_odd_bytes)
		CHECK(strpbrk(query.qname_text, "\\ ") == NULL);
	CHECK(dns_name_to_text(&query.qname, text, sizeof(text)) <= (int)sizeof(text) - 1);

	n = dns_write_addresses(&query, sink, 2, 30, out, sizeof(out));
	check_echo(&query, out, n);
	CHECK(reparsed.ancount <= 1);

	/* Whatever reaches upstream is the canonical name, in lower case, nothing else. */
	if (domain_canonicalize(query.qname_text, strlen(query.qname_text), canon, sizeof(canon)))
		return;
	CHECK(!query.qname.has_odd_bytes);
	n = dns_write_upstream_query(canon, query.qtype, NULL, &upstream_name, out, sizeof(out));
	CHECK(n > 0);
	CHECK(dns_query_parse(out, (size_t)n, &reparsed_query) == 0);
	CHECK(dns_name_equal(&reparsed_query.qname, &query.qname));
	CHECK(strcmp(reparsed_query.qname_text, canon) == 0);
}

static bool keep_alternate(void *ctx, const struct dns_rr *rr, uint32_t *ttl)
{
	unsigned *count = ctx;

	*ttl = *count * 0x01010101u;
	return (*count)++ % 2 == 0;
}

static void fuzz_response(const uint8_t *data, size_t size)
{
	unsigned count = 0;
	int n;

	if (dns_response_parse(data, size, &resp) != 0 || !resp.has_question)
		return;
	memset(&query, 0, sizeof(query));
	query.id = (uint16_t)~resp.id;
	query.flags = DNS_FLAG_RD;
	query.has_question = true;
	query.qname = resp.qname;
	query.qtype = resp.qtype;
	query.qclass = resp.qclass;
	query.edns = resp.edns;
	for (size_t max = DNS_UDP_MIN; max <= DNS_TCP_MAX; max = max * 8 + 7) {
		n = dns_write_filtered(&query, &resp, keep_alternate, &count, max, out, sizeof(out));
		check_echo(&query, out, n);
		CHECK((size_t)n <= max);
		CHECK(reparsed.ancount <= resp.ancount);
		for (size_t i = 0; i < reparsed.ancount; i++) {
			const struct dns_rr *rr = &reparsed.an[i];

			CHECK(rr->type == DNS_TYPE_A || rr->type == DNS_TYPE_AAAA ||
			      rr->type == DNS_TYPE_CNAME || rr->type == DNS_TYPE_SVCB ||
			      rr->type == DNS_TYPE_HTTPS);
			CHECK(!rr->svc_has_ech);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *msg;
	size_t msg_len;

	fuzz_query(data, size);
	fuzz_response(data, size);
	if (dns_tcp_frame_parse(data, size, &msg, &msg_len) > 0)
		CHECK(msg_len + 2 <= size && msg == data + 2);
	return 0;
}
