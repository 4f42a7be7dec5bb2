// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzzes the HTTP/1.1 parser on requests and responses. The first byte picks the kind, the
 * request method a response answers and tight limits; the rest is a byte stream fed once
 * whole and once in pieces chosen by a PRNG seeded from the input. Invariants: both runs see
 * the same messages, the same error and the same body bytes; an unedited header block
 * re-serialises to its own bytes and parses again to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http1.h"

#define MAX_MSGS 64

struct outcome {
	int error;
	unsigned messages;
	uint64_t body_len, body_hash;
	uint64_t msg_sig[MAX_MSGS];
};

static uint8_t stream[1 << 20];
static uint8_t reser[1 << 20];

static int on_body(void *ctx, const uint8_t *data, size_t len)
{
	struct outcome *o = ctx;

	if (len == 0)
		abort();
	for (size_t i = 0; i < len; i++)
		o->body_hash = (o->body_hash ^ data[i]) * 0x100000001b3ull;
	o->body_len += len;
	return 0;
}

static uint64_t signature(const struct http1_message *m)
{
	return (uint64_t)m->framing | (uint64_t)m->n_headers << 8 | (uint64_t)m->status << 16 |
	       (uint64_t)m->method << 32 | (uint64_t)m->host_mismatch << 40 |
	       (uint64_t)m->keep_alive << 41 | (uint64_t)m->upgrade << 42 |
	       (uint64_t)m->authority.port << 48;
}

/* An unedited block serialises to its own bytes and parses again to the same message. */
static void check_reserialise(const struct http1_parser *p, const uint8_t *buf)
{
	static struct http1_parser again;
	const struct http1_message *m = &p->msg;
	size_t want = m->header_len - m->start_line_off, used;
	ssize_t n = http1_serialize(m, buf, reser, sizeof(reser));

	if (n < 0 || (size_t)n != want || memcmp(reser, buf + m->start_line_off, want) ||
	    http1_serialized_len(m, buf) != want)
		abort();
	http1_init(&again, p->kind, &p->limits, NULL, NULL);
	http1_set_request_method(&again, p->request_method);
	if (http1_feed(&again, reser, (size_t)n, &used) != HTTP1_HEADERS || used != (size_t)n ||
	    signature(&again.msg) != signature(m))
		abort();
	for (unsigned i = 0; i < m->n_headers; i++)
		if (m->headers[i].line_off + m->headers[i].line_len > m->header_len ||
		    m->headers[i].value.off + m->headers[i].value.len > m->header_len)
			abort();
}

static void run(const uint8_t *in, size_t len, enum http1_kind kind, const struct http1_limits *lim,
		enum http1_method method, unsigned seed, struct outcome *o)
{
	static struct http1_parser p;
	size_t have = 0, off = 0;
	int r;

	memset(o, 0, sizeof(*o));
	http1_init(&p, kind, lim, on_body, o);
	http1_set_request_method(&p, method);
	for (;;) {
		size_t piece = len - off, used;

		if (seed && piece) {
			seed = seed * 1103515245u + 12345u;
			piece = (seed >> 16) % 64 + 1;
			if (piece > len - off)
				piece = len - off;
		}
		memcpy(stream + have, in + off, piece);
		have += piece;
		off += piece;
		for (;;) {
			r = http1_feed(&p, stream, have, &used);
			if (r < 0) {
				o->error = r;
				if (!strcmp(http1_error_name(r), "ok"))
					abort();
				return;
			}
			if (used > have)
				abort();
			if (r == HTTP1_HEADERS) {
				if (used != p.msg.header_len)
					abort();
				check_reserialise(&p, stream);
				if (o->messages < MAX_MSGS)
					o->msg_sig[o->messages] = signature(&p.msg);
			}
			memmove(stream, stream + used, have - used);
			have -= used;
			if (r == HTTP1_DONE) {
				o->messages++;
				if (p.msg.framing == HTTP1_BODY_TUNNEL)
					return;
				http1_reset(&p);
				continue;
			}
			if (r == HTTP1_HEADERS)
				continue;
			break;
		}
		if (off == len)
			break;
	}
	r = http1_finish(&p);
	if (r < 0)
		o->error = r;
	else if (r == HTTP1_DONE)
		o->messages++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum http1_method methods[] = { HTTP1_METHOD_GET, HTTP1_METHOD_HEAD,
						     HTTP1_METHOD_CONNECT, HTTP1_METHOD_POST };
	static struct outcome whole, split;
	struct http1_limits lim = { 0 };
	enum http1_kind kind;
	unsigned seed = 1;

	if (size < 1 || size > sizeof(stream))
		return 0;
	kind = data[0] & 1 ? HTTP1_RESPONSE : HTTP1_REQUEST;
	if (data[0] & 8) {
		lim.max_header_bytes = 256;
		lim.max_headers = 4;
		lim.max_chunk_line = 16;
	}
	for (size_t i = 0; i < size; i++)
		seed = seed * 31 + data[i];
	run(data + 1, size - 1, kind, &lim, methods[(data[0] >> 1) & 3], 0, &whole);
	run(data + 1, size - 1, kind, &lim, methods[(data[0] >> 1) & 3], seed | 1, &split);
	if (whole.error != split.error || whole.messages != split.messages ||
	    whole.body_len != split.body_len || whole.body_hash != split.body_hash ||
	    memcmp(whole.msg_sig, split.msg_sig, sizeof(whole.msg_sig)))
		abort();
	http1_error_status(whole.error);
	return 0;
}
