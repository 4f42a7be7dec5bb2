/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * RFC 1035 wire format for cage-dns: a strict parser for the queries a cage sends and the
 * answers upstream returns, and the writers for every answer cage-dns gives. No sockets, no
 * allocation; every function works on caller buffers and may run on any thread.
 *
 * Strictness is the point: a cage is hostile, so anything that is not a plain, well-formed
 * query (pointer loops, forward pointers, labels > 63, names > 255, QDCOUNT != 1, two OPT
 * records, trailing bytes) is refused, and the text form of a name never lets an escaped dot
 * pass as a label separator.
 */
#ifndef CAGE_DNS_WIRE_H
#define CAGE_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cage/maps.h"

#define DNS_HEADER_LEN    12
#define DNS_NAME_WIRE_MAX 255   /* RFC 1035 2.3.4, root byte included */
#define DNS_LABEL_MAX     63
/* Text form: every byte may become \DDD, plus dots and the NUL. */
#define DNS_NAME_TEXT_MAX 1024
#define DNS_UDP_MIN       512    /* a client without EDNS gets at most this */
#define DNS_UDP_OURS      1232   /* the EDNS size we advertise (DNS flag day 2020) */
#define DNS_TCP_MAX       65535
#define DNS_MAX_ANSWERS   64     /* answer records kept from one upstream response */

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_NULL = 10,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_SVCB = 64,
	DNS_TYPE_HTTPS = 65,
	DNS_TYPE_IXFR = 251,
	DNS_TYPE_AXFR = 252,
	DNS_TYPE_ANY = 255,
};

#define DNS_CLASS_IN 1

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_BADVERS = 16,  /* extended: needs an OPT record to carry the upper bits */
};

/* Header flag bits of the 16-bit flags word. */
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_AA 0x0400
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_FLAG_AD 0x0020
#define DNS_FLAG_CD 0x0010

#define DNS_SVC_PARAM_ECH 5

/* A name, decompressed, in wire form with the sender's original letter case. */
struct dns_name {
	uint8_t wire[DNS_NAME_WIRE_MAX];
	uint8_t len;          /* bytes in wire, root byte included: 1 for the root */
	uint8_t labels;
	/* A label holds '.' or a byte outside [A-Za-z0-9_-]: the text form carries \DDD, and
	 * policy must refuse the name rather than reinterpret it. */
	bool has_odd_bytes;
};

struct dns_edns {
	bool present;
	uint16_t udp_size;    /* as sent */
	uint8_t version;
	uint8_t ext_rcode;
	bool do_bit;
};

struct dns_query {
	uint16_t id;
	uint16_t flags;       /* the header flags word as received */
	uint8_t opcode;
	bool has_question;    /* question parsed: answers echo it; otherwise they carry none */
	struct dns_name qname;
	uint16_t qtype, qclass;
	/* Lower case, no trailing dot ("." for the root), odd bytes as \DDD. */
	char qname_text[DNS_NAME_TEXT_MAX];
	struct dns_edns edns;
};

/*
 * Parses a query from a client. Returns 0, or:
 *   -EMSGSIZE  shorter than a header: drop it, there is no ID to answer;
 *   -EINVAL    the QR bit is set (a response sent to the resolver): drop it;
 *   -ENOTSUP   opcode is not QUERY: answer NOTIMP;
 *   -EBADMSG   malformed after the header (QDCOUNT != 1, bad name, two OPT, bytes past the
 *              end, ...): answer FORMERR. q->id, q->flags and q->has_question are valid.
 */
int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q);

/* The largest response to send: 65535 over TCP; over UDP the client's EDNS size clamped to
 * [512, DNS_UDP_OURS] (larger datagrams fragment), or 512 without EDNS. */
size_t dns_query_max_response(const struct dns_query *q, bool tcp);

/* One resource record of an upstream answer section. */
struct dns_rr {
	struct dns_name name;
	uint16_t type, rclass;
	uint32_t ttl;              /* a TTL with the top bit set reads as 0 (RFC 2181 8) */
	uint16_t rdlen;
	const uint8_t *rdata;      /* points into the parsed message */
	struct cage_addr addr;     /* A and AAAA */
	struct dns_name target;    /* CNAME target, SVCB/HTTPS target name */
	uint16_t svc_priority;     /* SVCB/HTTPS */
	bool svc_has_ech;
};

struct dns_response {
	uint16_t id;
	uint16_t flags;
	uint8_t rcode;             /* header rcode (extended bits folded in when an OPT says so) */
	bool truncated;
	bool has_question;
	struct dns_name qname;
	uint16_t qtype, qclass;
	size_t ancount;
	struct dns_rr an[DNS_MAX_ANSWERS];
	/* Negative-caching TTL from an SOA in the authority section (min of TTL and MINIMUM);
	 * 0 when there is none. */
	uint32_t neg_ttl;
	struct dns_edns edns;
	const uint8_t *msg;        /* the parsed message; must outlive the response */
	size_t msg_len;
};

/*
 * Parses an upstream response. Returns 0, -EMSGSIZE (shorter than a header), -EINVAL (QR
 * clear or opcode not QUERY), -E2BIG (more than DNS_MAX_ANSWERS answers) or -EBADMSG.
 * A, AAAA, CNAME, SVCB and HTTPS rdata are validated and decoded; other types stay opaque.
 * The caller checks that id and question match what it sent (dns_response_matches()).
 */
int dns_response_parse(const uint8_t *msg, size_t len, struct dns_response *r);

/* True if r answers the question (qname, case-insensitive; qtype; class IN) with this id. */
bool dns_response_matches(const struct dns_response *r, uint16_t id, const struct dns_name *qname,
			  uint16_t qtype);

/* Text form of a name (see dns_query.qname_text). Returns the length, or -ENOSPC. */
int dns_name_to_text(const struct dns_name *name, char *buf, size_t len);

/* Case-insensitive equality of two wire names. */
bool dns_name_equal(const struct dns_name *a, const struct dns_name *b);

/*
 * Writes an answer with no records and the given rcode (NXDOMAIN, REFUSED, SERVFAIL, FORMERR,
 * NOTIMP, BADVERS): the query's ID, opcode, RD and CD, RA set, its question in the client's
 * own bytes (when it had one), and an OPT if the query had one (needed for rcodes > 15).
 * Returns the length written, or -ENOSPC.
 */
int dns_write_rcode(const struct dns_query *q, unsigned rcode, uint8_t *out, size_t cap);

/*
 * Writes a NOERROR answer holding one record per address whose family matches the query type
 * (A ↔ AF_INET, AAAA ↔ AF_INET6); none matching gives an empty NOERROR (NODATA). For the
 * sinkhole. Returns the length or -ENOSPC.
 */
int dns_write_addresses(const struct dns_query *q, const struct cage_addr *addrs, size_t n,
			uint32_t ttl, uint8_t *out, size_t cap);

/*
 * Decides, for each CNAME, A, AAAA, SVCB or HTTPS record of an upstream answer, whether it
 * reaches the client. *ttl starts as the record's TTL; the callback may change it, so that a
 * client never caches an address longer than its dns_allow entry lives.
 */
typedef bool (*dns_rr_keep_fn)(void *ctx, const struct dns_rr *rr, uint32_t *ttl);

/*
 * Writes the client's copy of an upstream answer: the client's ID, RD, CD and question bytes,
 * RA set, upstream's rcode; the answer records of type CNAME, A, AAAA, SVCB and HTTPS that
 * keep() approves (SVCB/HTTPS without their `ech` parameter), every other record and the
 * authority and additional sections dropped; an OPT if the client sent one. If the result
 * exceeds max_len (dns_query_max_response()), the answer section is left empty and TC is set.
 * Returns the length, or -ENOSPC when out cannot hold even the truncated form.
 */
int dns_write_filtered(const struct dns_query *q, const struct dns_response *up, dns_rr_keep_fn keep,
		       void *ctx, size_t max_len, uint8_t *out, size_t cap);

/*
 * Writes the query cage-dns sends upstream for canonical_name (a domain_canonicalize() result:
 * [a-z0-9_-] labels only, anything else is -EINVAL): a fresh random ID from getrandom(), RD
 * set, class IN, and an OPT advertising DNS_UDP_OURS. The client's bytes, letter case and ID
 * never reach upstream. *qname_out (may be NULL) gets the wire name for dns_response_matches().
 * Returns the length, -EINVAL, -ENOSPC or a getrandom() error.
 */
int dns_write_upstream_query(const char *canonical_name, uint16_t qtype, uint16_t *id_out,
			     struct dns_name *qname_out, uint8_t *out, size_t cap);

/*
 * TCP framing (RFC 1035 4.2.2). dns_tcp_frame_parse() looks at the bytes read so far: it
 * returns 0 when more are needed, -EBADMSG when the prefix announces fewer than 12 bytes, or
 * the length of the whole frame (2 + message) with *msg and *msg_len set.
 */
int dns_tcp_frame_parse(const uint8_t *buf, size_t have, const uint8_t **msg, size_t *msg_len);

/* Writes the 2-byte prefix for a message of msg_len bytes; -EMSGSIZE above 65535. */
int dns_tcp_prefix_put(uint8_t out[2], size_t msg_len);

#endif
