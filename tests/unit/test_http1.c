// SPDX-License-Identifier: GPL-2.0-only
/*
 * HTTP/1.1 parser tests. Every stream is driven the way the proxy drives it (header block
 * accumulated from its first byte, body bytes passed on, leftover kept for the next message)
 * and under several splits of the same bytes: whole, one byte at a time, at every single cut,
 * and random pieces. The verdict and the body bytes must not depend on the split.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/http1.h"

#define MAX_MSGS 8
#define STREAM_MAX (200 * 1024)

struct msg_summary {
	enum http1_method method;
	enum http1_target_form form;
	enum http1_framing framing;
	uint64_t content_length;
	uint16_t status, port, host_port;
	bool has_host, host_mismatch, keep_alive, interim, ipv6, transfer_coded;
	unsigned upgrade, n_headers, n_trailers;
	char authority[300], host[300], path[300];
	size_t body_len;
	size_t body_off; /* into outcome.body */
};

struct outcome {
	int error;
	unsigned messages;
	struct msg_summary msg[MAX_MSGS];
	uint8_t body[STREAM_MAX];
	size_t body_len;
};

static struct outcome whole, split;
static uint8_t stream_buf[STREAM_MAX];

static int collect_body(void *ctx, const uint8_t *data, size_t len)
{
	struct outcome *o = ctx;

	assert_true(len > 0);
	assert_true(o->body_len + len <= sizeof(o->body));
	memcpy(o->body + o->body_len, data, len);
	o->body_len += len;
	if (o->messages < MAX_MSGS)
		o->msg[o->messages].body_len += len;
	return 0;
}

static void copy_span(char *dst, size_t cap, const uint8_t *buf, struct http1_span s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;

	memcpy(dst, buf + s.off, n);
	dst[n] = '\0';
}

static void summarize(struct msg_summary *s, const struct http1_message *m, const uint8_t *buf)
{
	s->method = m->method;
	s->form = m->form;
	s->framing = m->framing;
	s->content_length = m->content_length;
	s->status = m->status;
	s->has_host = m->has_host;
	s->host_mismatch = m->host_mismatch;
	s->keep_alive = m->keep_alive;
	s->interim = m->interim;
	s->upgrade = m->upgrade;
	s->n_headers = m->n_headers;
	s->port = m->authority.port;
	s->ipv6 = m->authority.ipv6;
	s->host_port = m->host.port;
	s->transfer_coded = m->transfer_coded;
	copy_span(s->authority, sizeof(s->authority), buf, m->authority.host);
	copy_span(s->host, sizeof(s->host), buf, m->host.host);
	copy_span(s->path, sizeof(s->path), buf, m->path);
}

/*
 * Feeds in[0..len) arriving in pieces of the sizes cut() returns, like the proxy would:
 * header bytes accumulate in one buffer from the message start; leftovers after a message
 * start the next one.
 */
static void run(enum http1_kind kind, const struct http1_limits *lim, const void *in, size_t len,
		size_t (*cut)(size_t left, unsigned *seed), unsigned seed, struct outcome *o,
		const enum http1_method *methods)
{
	static struct http1_parser p;
	const uint8_t *src = in;
	size_t have = 0, off = 0;
	unsigned answered = 0;
	bool in_body = false;
	int r;

	memset(o, 0, sizeof(*o));
	http1_init(&p, kind, lim, collect_body, o);
	if (methods)
		http1_set_request_method(&p, methods[0]);
	while (off < len || have > 0) {
		size_t piece = off < len ? cut(len - off, &seed) : 0;
		size_t used;

		memcpy(stream_buf + have, src + off, piece);
		have += piece;
		off += piece;
		for (;;) {
			r = http1_feed(&p, stream_buf, have, &used);
			if (r < 0) {
				o->error = r;
				return;
			}
			if (r == HTTP1_HEADERS) {
				assert_true(o->messages < MAX_MSGS);
				summarize(&o->msg[o->messages], &p.msg, stream_buf);
			}
			memmove(stream_buf, stream_buf + used, have - used);
			have -= used;
			if (r == HTTP1_HEADERS) {
				o->msg[o->messages].body_off = o->body_len;
				in_body = true;
				continue;
			}
			if (r == HTTP1_DONE) {
				bool tunnel = p.msg.framing == HTTP1_BODY_TUNNEL;
				bool interim = p.msg.interim;

				o->msg[o->messages].n_trailers = p.msg.n_trailers;
				o->messages++;
				if (tunnel)
					return;
				http1_reset(&p);
				if (methods && !interim && ++answered < MAX_MSGS)
					http1_set_request_method(&p, methods[answered]);
				in_body = false;
				continue;
			}
			/* NEED_MORE: the body phase used everything; the header phase waits. */
			if (in_body)
				assert_int_equal(have, 0);
			break;
		}
		if (piece == 0)
			break;
	}
	r = http1_finish(&p);
	if (r < 0)
		o->error = r;
	else if (r == HTTP1_DONE)
		o->messages++;
}

static size_t cut_whole(size_t left, unsigned *seed)
{
	return left;
}

static size_t cut_one(size_t left, unsigned *seed)
{
	return 1;
}

static size_t cut_random(size_t left, unsigned *seed)
{
	size_t n = (size_t)rand_r(seed) % 23 + 1;

	return n < left ? n : left;
}

static size_t cut_at_point;
static size_t cut_once(size_t left, unsigned *seed)
{
	/* First call returns cut_at_point, the next one the rest. */
	if (*seed == 0) {
		*seed = 1;
		return cut_at_point < left ? cut_at_point : left;
	}
	return left;
}

static void assert_same_outcome(const struct outcome *a, const struct outcome *b, const char *how)
{
	if (a->error != b->error || a->messages != b->messages)
		fail_msg("%s: error %s/%s messages %u/%u", how, http1_error_name(a->error),
			 http1_error_name(b->error), a->messages, b->messages);
	assert_int_equal(a->body_len, b->body_len);
	assert_memory_equal(a->body, b->body, a->body_len);
	for (unsigned i = 0; i < a->messages && i < MAX_MSGS; i++) {
		assert_int_equal(a->msg[i].body_len, b->msg[i].body_len);
		assert_int_equal(a->msg[i].framing, b->msg[i].framing);
		assert_string_equal(a->msg[i].host, b->msg[i].host);
	}
}

/* Runs in under every split and checks they agree; leaves the whole-buffer result in `whole`. */
static void run_all_splits(enum http1_kind kind, const struct http1_limits *lim, const char *in,
			   size_t len, const enum http1_method *methods)
{
	run(kind, lim, in, len, cut_whole, 0, &whole, methods);
	run(kind, lim, in, len, cut_one, 0, &split, methods);
	assert_same_outcome(&whole, &split, "one byte at a time");
	for (unsigned seed = 1; seed < 20; seed++) {
		run(kind, lim, in, len, cut_random, seed, &split, methods);
		assert_same_outcome(&whole, &split, "random");
	}
	if (len < 4096) {
		for (cut_at_point = 1; cut_at_point < len; cut_at_point++) {
			run(kind, lim, in, len, cut_once, 0, &split, methods);
			assert_same_outcome(&whole, &split, "single cut");
		}
	}
}

#define S(lit) lit, sizeof(lit) - 1

struct req_case {
	const char *name;
	const char *in;
	size_t len;
	int want; /* 0: one complete message */
};

static void check_cases(enum http1_kind kind, const struct req_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		run_all_splits(kind, NULL, cases[i].in, cases[i].len, NULL);
		if (whole.error != cases[i].want || (cases[i].want == 0 && whole.messages != 1))
			fail_msg("%s: got %s (%u messages), want %s", cases[i].name,
				 http1_error_name(whole.error), whole.messages,
				 http1_error_name(cases[i].want));
	}
}

/* escapes.md S12 and rows 46/48/51: request smuggling and framing differentials. */
static void test_smuggling_inputs(void **state)
{
	static const struct req_case cases[] = {
		{ "CL.TE", S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n"
			     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nG"), HTTP1_E_CL_AND_TE },
		{ "TE.CL", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
			     "Content-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n"), HTTP1_E_CL_AND_TE },
		{ "CL: 0 with TE", S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
				     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), HTTP1_E_CL_AND_TE },
		{ "duplicate CL equal", S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
					  "Content-Length: 5\r\n\r\nhello"),
		  HTTP1_E_DUPLICATE_CONTENT_LENGTH },
		{ "duplicate CL different", S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
					      "Content-Length: 0\r\n\r\nhello"),
		  HTTP1_E_DUPLICATE_CONTENT_LENGTH },
		{ "CL list", S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello"),
		  HTTP1_E_BAD_CONTENT_LENGTH },
		{ "CL plus", S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello"),
		  HTTP1_E_BAD_CONTENT_LENGTH },
		{ "CL negative", S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"),
		  HTTP1_E_BAD_CONTENT_LENGTH },
		{ "CL hex", S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n"),
		  HTTP1_E_BAD_CONTENT_LENGTH },
		{ "CL empty", S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"),
		  HTTP1_E_BAD_CONTENT_LENGTH },
		{ "CL overflow", S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n"),
		  HTTP1_E_BAD_CONTENT_LENGTH },
		{ "TE chunked, identity", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n"),
		  HTTP1_E_BAD_TRANSFER_ENCODING },
		{ "TE identity", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n"),
		  HTTP1_E_BAD_TRANSFER_ENCODING },
		{ "TE gzip, chunked", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
		  HTTP1_E_BAD_TRANSFER_ENCODING },
		{ "TE xchunked", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n"),
		  HTTP1_E_BAD_TRANSFER_ENCODING },
		{ "TE twice", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
				"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), HTTP1_E_BAD_TRANSFER_ENCODING },
		{ "TE in HTTP/1.0", S("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
		  HTTP1_E_TE_IN_HTTP10 },
		{ "space before colon (TE)", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"),
		  HTTP1_E_SPACE_BEFORE_COLON },
		{ "tab before colon (Host)", S("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
		  HTTP1_E_SPACE_BEFORE_COLON },
		{ "obs-fold", S("GET / HTTP/1.1\r\nHost: a\r\nX-Foo: bar\r\n baz\r\n\r\n"), HTTP1_E_OBS_FOLD },
		{ "obs-fold tab", S("GET / HTTP/1.1\r\nHost: a\r\nX-Foo: bar\r\n\tbaz\r\n\r\n"), HTTP1_E_OBS_FOLD },
		{ "whitespace before first field", S("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), HTTP1_E_OBS_FOLD },
		{ "bare LF everywhere", S("GET / HTTP/1.1\nHost: a\n\n"), HTTP1_E_BARE_LF },
		{ "bare LF in fields", S("GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n"), HTTP1_E_BARE_LF },
		{ "bare LF end of block", S("GET / HTTP/1.1\r\nHost: a\r\n\n"), HTTP1_E_BARE_LF },
		{ "bare CR", S("GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n"), HTTP1_E_BARE_CR },
		{ "bare CR in start line", S("GET / HTTP/1.1\rHost: a\r\n\r\n"), HTTP1_E_BARE_CR },
		{ "NUL in value", S("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"), HTTP1_E_BAD_FIELD_VALUE },
		{ "SOH in value", S("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n"), HTTP1_E_BAD_FIELD_VALUE },
		{ "DEL in value", S("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n"), HTTP1_E_BAD_FIELD_VALUE },
		{ "NUL in Host", S("GET / HTTP/1.1\r\nHost: api.allowed.test\0.evil.test\r\n\r\n"),
		  HTTP1_E_BAD_FIELD_VALUE },
		{ "bad name byte", S("GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n"), HTTP1_E_BAD_FIELD_NAME },
		{ "empty name", S("GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n"), HTTP1_E_BAD_FIELD_NAME },
		{ "no colon", S("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"), HTTP1_E_BAD_FIELD_NAME },
		{ "duplicate Host (row 46)", S("GET / HTTP/1.1\r\nHost: api.allowed.test\r\n"
					       "Host: rt-1.evil.test\r\n\r\n"), HTTP1_E_DUPLICATE_HOST },
		{ "duplicate Host case", S("GET / HTTP/1.1\r\nHost: a\r\nhOST: a\r\n\r\n"), HTTP1_E_DUPLICATE_HOST },
		{ "HTTP/1.1 without Host", S("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"), HTTP1_E_MISSING_HOST },
		{ "Host with userinfo", S("GET / HTTP/1.1\r\nHost: api.allowed.test@evil.test\r\n\r\n"),
		  HTTP1_E_BAD_HOST },
		{ "Host empty", S("GET / HTTP/1.1\r\nHost:\r\n\r\n"), HTTP1_E_BAD_HOST },
		{ "Host with path", S("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), HTTP1_E_BAD_HOST },
		{ "Host with space", S("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), HTTP1_E_BAD_HOST },
		{ "h2 prior knowledge (row 48)", S("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), HTTP1_E_H2_PREFACE },
		{ "SSH banner (row 51)", S("SSH-2.0-rt-1\r\n"), HTTP1_E_BAD_START_LINE },
		{ "TLS on port 80 (row 51)", S("\x16\x03\x01\x02\x00\x01"), HTTP1_E_BAD_START_LINE },
		{ "nonce and newline (row 51)", S("rt-1\n\n"), HTTP1_E_BARE_LF },
		{ "HTTP/0.9", S("GET /\r\n\r\n"), HTTP1_E_BAD_START_LINE },
		{ "HTTP/1.2", S("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_VERSION },
		{ "HTTP/2.0 GET", S("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_VERSION },
		{ "lower-case version", S("GET / http/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_VERSION },
		{ "long version", S("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_VERSION },
		{ "two spaces", S("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_START_LINE },
		{ "trailing space", S("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), HTTP1_E_BAD_START_LINE },
		{ "tab separator", S("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_METHOD },
		{ "non-ASCII target", S("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_TARGET },
		{ "fragment in target", S("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_TARGET },
		{ "CONNECT with body", S("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 5\r\n\r\nhello"),
		  HTTP1_E_CONNECT_BODY },
		{ "CONNECT chunked", S("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: chunked\r\n\r\n"),
		  HTTP1_E_CONNECT_BODY },
	};

	check_cases(HTTP1_REQUEST, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_request_target_forms(void **state)
{
	static const struct req_case ok_cases[] = {
		{ "origin", S("GET /a/b?c=d HTTP/1.1\r\nHost: api.allowed.test\r\n\r\n"), 0 },
		{ "absolute http", S("GET http://api.allowed.test/x?y HTTP/1.1\r\nHost: api.allowed.test\r\n\r\n"), 0 },
		{ "absolute https port", S("GET HTTPS://Api.Allowed.Test:8443 HTTP/1.1\r\nHost: api.allowed.test:8443\r\n\r\n"), 0 },
		{ "authority", S("CONNECT api.allowed.test:443 HTTP/1.1\r\nHost: api.allowed.test:443\r\n\r\n"), 0 },
		{ "authority ipv6", S("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n"), 0 },
		{ "asterisk", S("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 0 },
		{ "HTTP/1.0 without Host", S("GET /rt-1 HTTP/1.0\r\n\r\n"), 0 },
	};
	static const struct req_case bad_cases[] = {
		{ "asterisk with GET", S("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_TARGET },
		{ "CONNECT origin-form", S("CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_TARGET },
		{ "CONNECT without port", S("CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "CONNECT absolute", S("CONNECT http://a:443/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "authority-form with GET", S("GET a:80 HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_TARGET },
		{ "other scheme", S("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_TARGET },
		{ "scheme only", S("GET http:/a HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_TARGET },
		/* escapes.md S15: URL parser differentials in the authority. */
		{ "userinfo", S("GET http://a@b/ HTTP/1.1\r\nHost: b\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "userinfo allowed@evil", S("GET http://api.allowed.test@evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n"),
		  HTTP1_E_BAD_AUTHORITY },
		{ "backslash", S("GET http://evil.test\\@api.allowed.test/ HTTP/1.1\r\nHost: a\r\n\r\n"),
		  HTTP1_E_BAD_AUTHORITY },
		{ "backslash alone", S("GET http://evil.test\\api.allowed.test/ HTTP/1.1\r\nHost: a\r\n\r\n"),
		  HTTP1_E_BAD_AUTHORITY },
		{ "hash then at", S("GET http://evil.test#@api.allowed.test/ HTTP/1.1\r\nHost: a\r\n\r\n"),
		  HTTP1_E_BAD_TARGET },
		{ "percent in host", S("GET http://api%2eallowed.test/ HTTP/1.1\r\nHost: a\r\n\r\n"),
		  HTTP1_E_BAD_AUTHORITY },
		{ "empty host", S("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "empty host with port", S("GET http://:80/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "port zero", S("GET http://a:0/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "port 65536", S("GET http://a:65536/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "port leading zero", S("GET http://a:080/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "port not digits", S("GET http://a:8o/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "port empty", S("GET http://a:/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "two ports", S("GET http://a:80:81/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "unbracketed ipv6", S("GET http://2001:db8::1/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "unclosed bracket", S("GET http://[2001:db8::1/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "zone id", S("GET http://[fe80::1%25eth0]/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "ipvfuture", S("GET http://[v1.x]/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "junk after bracket", S("GET http://[::1]x/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "ipv4 in brackets", S("GET http://[1.2.3.4]/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "sub-delims in host", S("GET http://a!b/ HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "CONNECT userinfo", S("CONNECT u@a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
		{ "CONNECT query", S("CONNECT a:443?x HTTP/1.1\r\nHost: a:443\r\n\r\n"), HTTP1_E_BAD_AUTHORITY },
	};
	const struct msg_summary *m = &whole.msg[0];

	check_cases(HTTP1_REQUEST, ok_cases, sizeof(ok_cases) / sizeof(ok_cases[0]));
	check_cases(HTTP1_REQUEST, bad_cases, sizeof(bad_cases) / sizeof(bad_cases[0]));

	run_all_splits(HTTP1_REQUEST, NULL, S("GET /a/b?c=d HTTP/1.1\r\nHost: API.allowed.test.:80\r\n\r\n"), NULL);
	assert_int_equal(m->form, HTTP1_FORM_ORIGIN);
	assert_string_equal(m->path, "/a/b?c=d");
	assert_string_equal(m->host, "API.allowed.test."); /* raw: canonicalised by the caller */
	assert_int_equal(m->host_port, 80);
	assert_int_equal(m->framing, HTTP1_BODY_NONE);
	assert_true(m->keep_alive);

	run_all_splits(HTTP1_REQUEST, NULL, S("GET HTTPS://Api.Allowed.Test:8443 HTTP/1.1\r\nHost: api.allowed.test:8443\r\n\r\n"), NULL);
	assert_int_equal(m->form, HTTP1_FORM_ABSOLUTE);
	assert_string_equal(m->authority, "Api.Allowed.Test");
	assert_int_equal(m->port, 8443);
	assert_string_equal(m->path, "");
	assert_false(m->host_mismatch);

	run_all_splits(HTTP1_REQUEST, NULL, S("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\nTLS bytes"), NULL);
	assert_int_equal(whole.error, 0);
	assert_int_equal(m->form, HTTP1_FORM_AUTHORITY);
	assert_int_equal(m->framing, HTTP1_BODY_TUNNEL);
	assert_string_equal(m->authority, "2001:db8::1");
	assert_true(m->ipv6);
	assert_int_equal(m->port, 443);
	assert_false(m->host_mismatch);

	run_all_splits(HTTP1_REQUEST, NULL, S("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), NULL);
	assert_int_equal(m->form, HTTP1_FORM_ASTERISK);
	assert_int_equal(m->method, HTTP1_METHOD_OPTIONS);

	run_all_splits(HTTP1_REQUEST, NULL, S("GET /rt-1 HTTP/1.0\r\n\r\n"), NULL);
	assert_false(m->has_host);
	assert_false(m->keep_alive);
}

/* Rows 35 and 39: Host against SNI is the proxy's check; Host against the target is ours. */
static void test_host_and_authority(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		bool mismatch;
	} cases[] = {
		{ S("GET http://rt-1.evil.test/ HTTP/1.1\r\nHost: api.allowed.test\r\nConnection: close\r\n\r\n"), true },
		{ S("GET http://api.allowed.test/rt-1 HTTP/1.1\r\nHost: evil.test\r\n\r\n"), true },
		{ S("GET http://api.allowed.test/ HTTP/1.1\r\nHost: API.ALLOWED.TEST:80\r\n\r\n"), false },
		{ S("GET http://api.allowed.test/ HTTP/1.1\r\nHost: api.allowed.test:8080\r\n\r\n"), true },
		{ S("GET https://api.allowed.test/ HTTP/1.1\r\nHost: api.allowed.test:443\r\n\r\n"), false },
		{ S("GET https://api.allowed.test/ HTTP/1.1\r\nHost: api.allowed.test:80\r\n\r\n"), true },
		{ S("GET http://api.allowed.test./ HTTP/1.1\r\nHost: api.allowed.test\r\n\r\n"), true },
		{ S("CONNECT api.allowed.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n"), true },
		{ S("CONNECT api.allowed.test:443 HTTP/1.1\r\nHost: api.allowed.test:22\r\n\r\n"), true },
		{ S("CONNECT api.allowed.test:443 HTTP/1.1\r\nHost: api.allowed.test\r\n\r\n"), false },
		{ S("CONNECT [::1]:443 HTTP/1.1\r\nHost: ::1\r\n\r\n"), false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_all_splits(HTTP1_REQUEST, NULL, cases[i].in, cases[i].len, NULL);
		if (i == 10) {
			/* An unbracketed IPv6 Host is not a host[:port]. */
			assert_int_equal(whole.error, HTTP1_E_BAD_HOST);
			continue;
		}
		assert_int_equal(whole.error, 0);
		if (whole.msg[0].host_mismatch != cases[i].mismatch)
			fail_msg("case %zu: host_mismatch %d", i, whole.msg[0].host_mismatch);
	}
	/* Row 35: origin-form; the Host is exposed for the proxy to hold against the SNI. */
	run_all_splits(HTTP1_REQUEST, NULL, S("GET /rt-1 HTTP/1.1\r\nHost: evil.test\r\n\r\n"), NULL);
	assert_int_equal(whole.error, 0);
	assert_string_equal(whole.msg[0].host, "evil.test");
	assert_false(whole.msg[0].host_mismatch);
}

static void test_upgrade_and_connection(void **state)
{
	const struct msg_summary *m = &whole.msg[0];

	/* Row 48, second half: Upgrade: h2c is parsed and exposed so the proxy strips it. */
	run_all_splits(HTTP1_REQUEST, NULL,
		       S("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
			 "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"), NULL);
	assert_int_equal(whole.error, 0);
	assert_int_equal(m->upgrade, HTTP1_UPGRADE_H2C);
	run_all_splits(HTTP1_REQUEST, NULL,
		       S("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
			 "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"), NULL);
	assert_int_equal(m->upgrade, HTTP1_UPGRADE_WEBSOCKET);
	run_all_splits(HTTP1_REQUEST, NULL, S("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), NULL);
	assert_false(m->keep_alive);
	run_all_splits(HTTP1_REQUEST, NULL, S("GET / HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n"), NULL);
	assert_true(m->keep_alive);
	run_all_splits(HTTP1_REQUEST, NULL, S("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: foo/2, websocket\r\n\r\n"), NULL);
	assert_int_equal(m->upgrade, HTTP1_UPGRADE_WEBSOCKET | HTTP1_UPGRADE_OTHER);
}

static void test_header_limits(void **state)
{
	static char big[STREAM_MAX];
	struct http1_limits lim = { .max_header_bytes = 200, .max_headers = 3 };
	size_t n;

	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(big + n, "X-%d: v\r\n", i);
	n += (size_t)sprintf(big + n, "\r\n");
	run(HTTP1_REQUEST, NULL, big, n, cut_whole, 0, &whole, NULL);
	assert_int_equal(whole.error, HTTP1_E_TOO_MANY_HEADERS);
	assert_int_equal(http1_error_status(whole.error), 431);

	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < 99; i++)
		n += (size_t)sprintf(big + n, "X-%d: v\r\n", i);
	n += (size_t)sprintf(big + n, "\r\n");
	run(HTTP1_REQUEST, NULL, big, n, cut_random, 7, &whole, NULL);
	assert_int_equal(whole.error, 0);
	assert_int_equal(whole.msg[0].n_headers, 100);

	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
	memset(big + n, 'a', 70 * 1024);
	n += 70 * 1024;
	n += (size_t)sprintf(big + n, "\r\n\r\n");
	run(HTTP1_REQUEST, NULL, big, n, cut_random, 3, &whole, NULL);
	assert_int_equal(whole.error, HTTP1_E_HEADERS_TOO_BIG);
	assert_int_equal(http1_error_status(whole.error), 431);

	/* The limit counts bytes, not lines: a block of exactly the limit passes. */
	run_all_splits(HTTP1_REQUEST, &lim, S("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"), NULL);
	assert_int_equal(whole.error, 0);
	run_all_splits(HTTP1_REQUEST, &lim, S("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), NULL);
	assert_int_equal(whole.error, HTTP1_E_TOO_MANY_HEADERS);
	lim.max_header_bytes = 38;
	run_all_splits(HTTP1_REQUEST, &lim, S("GET / HTTP/1.1\r\nHost: a\r\nA: 123456\r\n\r\n"), NULL);
	assert_int_equal(whole.error, 0);
	lim.max_header_bytes = 37;
	run_all_splits(HTTP1_REQUEST, &lim, S("GET / HTTP/1.1\r\nHost: a\r\nA: 123456\r\n\r\n"), NULL);
	assert_int_equal(whole.error, HTTP1_E_HEADERS_TOO_BIG);
}

static const char chunked_req[] =
	"POST /upload HTTP/1.1\r\nHost: api.allowed.test\r\nTransfer-Encoding: Chunked\r\n\r\n"
	"7\r\nMozilla\r\n"
	"9;name=\"quoted; value\"\r\nDeveloper\r\n"
	"0000007 ; ext ;x=y\r\nNetwork\r\n"
	"1\r\n\r\r\n"
	"A\r\n\n\n\n\n\n\n\n\n\n\n\r\n"
	"0\r\nX-Checksum: abc\r\nX-Other:\tv\r\n\r\n";
static const char chunked_payload[] = "MozillaDeveloperNetwork\r\n\n\n\n\n\n\n\n\n\n";

static void test_chunked_every_split(void **state)
{
	run_all_splits(HTTP1_REQUEST, NULL, chunked_req, sizeof(chunked_req) - 1, NULL);
	assert_int_equal(whole.error, 0);
	assert_int_equal(whole.messages, 1);
	assert_int_equal(whole.msg[0].framing, HTTP1_BODY_CHUNKED);
	assert_int_equal(whole.msg[0].n_trailers, 2);
	assert_int_equal(whole.body_len, sizeof(chunked_payload) - 1);
	assert_memory_equal(whole.body, chunked_payload, whole.body_len);
}

static void test_chunked_errors(void **state)
{
	static const struct req_case cases[] = {
		{ "space after size", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n"),
		  HTTP1_E_BAD_CHUNK },
		{ "not hex", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\ng\r\n"), HTTP1_E_BAD_CHUNK },
		{ "0x prefix", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n"), HTTP1_E_BAD_CHUNK },
		{ "negative", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n"), HTTP1_E_BAD_CHUNK },
		{ "empty size", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n"), HTTP1_E_BAD_CHUNK },
		{ "overflow", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000001\r\n"),
		  HTTP1_E_BAD_CHUNK },
		{ "size wraps 64 bits", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n"),
		  HTTP1_E_BAD_CHUNK },
		{ "data longer than size", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n"),
		  HTTP1_E_BAD_CHUNK },
		{ "bare LF after size", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n"),
		  HTTP1_E_BARE_LF },
		{ "bare LF after data", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n"),
		  HTTP1_E_BARE_LF },
		{ "CR without LF after data", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\rX"),
		  HTTP1_E_BARE_CR },
		{ "control in extension", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\x01\r\n"),
		  HTTP1_E_BAD_CHUNK },
		{ "obs-fold in trailer", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n"),
		  HTTP1_E_OBS_FOLD },
		{ "NUL in trailer", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\0\r\n\r\n"),
		  HTTP1_E_BAD_FIELD_VALUE },
		{ "space before colon in trailer", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX : a\r\n\r\n"),
		  HTTP1_E_SPACE_BEFORE_COLON },
		{ "missing final CRLF", S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"),
		  HTTP1_E_TRUNCATED },
	};
	static char big[4096];
	size_t n;

	check_cases(HTTP1_REQUEST, cases, sizeof(cases) / sizeof(cases[0]));

	n = (size_t)sprintf(big, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;");
	memset(big + n, 'e', 2000);
	n += 2000;
	n += (size_t)sprintf(big + n, "\r\nhello\r\n0\r\n\r\n");
	run(HTTP1_REQUEST, NULL, big, n, cut_random, 5, &whole, NULL);
	assert_int_equal(whole.error, HTTP1_E_CHUNK_LINE_TOO_LONG);
	n = (size_t)sprintf(big, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
	memset(big + n, '0', 1100);
	n += 1100;
	n += (size_t)sprintf(big + n, "\r\n\r\n");
	run(HTTP1_REQUEST, NULL, big, n, cut_random, 5, &whole, NULL);
	assert_int_equal(whole.error, HTTP1_E_CHUNK_LINE_TOO_LONG);
}

static void test_pipelined_requests(void **state)
{
	static const char in[] =
		"\r\nGET /a HTTP/1.1\r\nHost: a\r\n\r\n"
		"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"
		"PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
		"POST /d HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
		"GET /e HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

	run_all_splits(HTTP1_REQUEST, NULL, in, sizeof(in) - 1, NULL);
	assert_int_equal(whole.error, 0);
	assert_int_equal(whole.messages, 5);
	assert_int_equal(whole.msg[1].framing, HTTP1_BODY_LENGTH);
	assert_int_equal(whole.msg[1].body_len, 11);
	assert_int_equal(whole.msg[2].body_len, 3);
	assert_int_equal(whole.msg[3].body_len, 0);
	assert_memory_equal(whole.body, "hello worldabc", 14);
	assert_string_equal(whole.msg[4].path, "/e");
	assert_false(whole.msg[4].keep_alive);

	/* A message cut short is an error at EOF, an idle connection is not. */
	run(HTTP1_REQUEST, NULL, S("POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello"),
	    cut_whole, 0, &whole, NULL);
	assert_int_equal(whole.error, HTTP1_E_TRUNCATED);
	run(HTTP1_REQUEST, NULL, S("GET /a HTTP/1.1\r\nHost: a\r\n\r\n"), cut_whole, 0, &whole, NULL);
	assert_int_equal(whole.error, 0);
	assert_int_equal(whole.messages, 1);
}

static void test_large_body_streamed(void **state)
{
	static char in[STREAM_MAX];
	size_t n = (size_t)sprintf(in, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 150000\r\n\r\n");

	for (size_t i = 0; i < 150000; i++)
		in[n + i] = (char)(i * 7);
	run(HTTP1_REQUEST, NULL, in, n + 150000, cut_random, 9, &whole, NULL);
	assert_int_equal(whole.error, 0);
	assert_int_equal(whole.body_len, 150000);
	assert_memory_equal(whole.body, in + n, 150000);
}

static void test_responses(void **state)
{
	/* The methods of the requests answered, in order; 1xx answers do not move along. */
	static const enum http1_method get5[MAX_MSGS] = { HTTP1_METHOD_GET, HTTP1_METHOD_GET,
							  HTTP1_METHOD_GET, HTTP1_METHOD_GET,
							  HTTP1_METHOD_GET };
	static const enum http1_method head_get[MAX_MSGS] = { HTTP1_METHOD_HEAD, HTTP1_METHOD_GET };
	static const enum http1_method connect[MAX_MSGS] = { HTTP1_METHOD_CONNECT };
	static const char keepalive[] =
		"HTTP/1.1 100 Continue\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
		"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"
		"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
		"HTTP/1.1 200\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nGZIP\r\n0\r\n\r\n"
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok";

	run_all_splits(HTTP1_RESPONSE, NULL, keepalive, sizeof(keepalive) - 1, get5);
	assert_int_equal(whole.error, 0);
	assert_int_equal(whole.messages, 6);
	assert_true(whole.msg[0].interim);
	assert_int_equal(whole.msg[0].status, 100);
	assert_int_equal(whole.msg[1].body_len, 5);
	assert_int_equal(whole.msg[2].framing, HTTP1_BODY_NONE);
	assert_int_equal(whole.msg[3].framing, HTTP1_BODY_NONE);
	assert_int_equal(whole.msg[4].framing, HTTP1_BODY_CHUNKED);
	assert_true(whole.msg[4].transfer_coded);
	assert_true(whole.msg[5].keep_alive);
	assert_memory_equal(whole.body, "helloGZIPok", 11);

	/* HEAD: Content-Length describes the resource, no body follows. */
	run_all_splits(HTTP1_RESPONSE, NULL,
		       S("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
		       head_get);
	assert_int_equal(whole.error, 0);
	assert_int_equal(whole.messages, 2);
	assert_int_equal(whole.body_len, 1);

	/* Read until close. */
	run_all_splits(HTTP1_RESPONSE, NULL, S("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nall of it\r\n\r\n"), get5);
	assert_int_equal(whole.error, 0);
	assert_int_equal(whole.messages, 1);
	assert_int_equal(whole.msg[0].framing, HTTP1_BODY_UNTIL_CLOSE);
	assert_false(whole.msg[0].keep_alive);
	assert_memory_equal(whole.body, "all of it\r\n\r\n", 13);
	run_all_splits(HTTP1_RESPONSE, NULL, S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz"), get5);
	assert_int_equal(whole.msg[0].framing, HTTP1_BODY_UNTIL_CLOSE);
	assert_true(whole.msg[0].transfer_coded);

	/* 101 and 2xx to CONNECT end HTTP on the connection. */
	run_all_splits(HTTP1_RESPONSE, NULL,
		       S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"),
		       get5);
	assert_int_equal(whole.error, 0);
	assert_int_equal(whole.msg[0].framing, HTTP1_BODY_TUNNEL);
	assert_int_equal(whole.msg[0].upgrade, HTTP1_UPGRADE_WEBSOCKET);
	run_all_splits(HTTP1_RESPONSE, NULL, S("HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03"), connect);
	assert_int_equal(whole.msg[0].framing, HTTP1_BODY_TUNNEL);

	static const struct req_case bad[] = {
		{ "CL and TE", S("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
		  HTTP1_E_CL_AND_TE },
		{ "duplicate CL", S("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
		  HTTP1_E_DUPLICATE_CONTENT_LENGTH },
		{ "chunked not last", S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
		  HTTP1_E_BAD_TRANSFER_ENCODING },
		{ "chunked twice", S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
		  HTTP1_E_BAD_TRANSFER_ENCODING },
		{ "empty coding", S("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked\r\n\r\n"),
		  HTTP1_E_BAD_TRANSFER_ENCODING },
		{ "HTTP/2 status", S("HTTP/2 200\r\n\r\n"), HTTP1_E_BAD_STATUS },
		{ "HTTP/1.2 status", S("HTTP/1.2 200 OK\r\n\r\n"), HTTP1_E_BAD_VERSION },
		{ "two-digit status", S("HTTP/1.1 20 OK\r\n\r\n"), HTTP1_E_BAD_STATUS },
		{ "status 600", S("HTTP/1.1 600 OK\r\n\r\n"), HTTP1_E_BAD_STATUS },
		{ "no space after status", S("HTTP/1.1 200OK\r\n\r\n"), HTTP1_E_BAD_STATUS },
		{ "not HTTP", S("SSH-2.0-x\r\n"), HTTP1_E_BAD_STATUS },
		{ "bare LF", S("HTTP/1.1 200 OK\nContent-Length: 0\n\n"), HTTP1_E_BARE_LF },
		{ "obs-fold", S("HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"), HTTP1_E_OBS_FOLD },
		{ "truncated body", S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), HTTP1_E_TRUNCATED },
	};
	check_cases(HTTP1_RESPONSE, bad, sizeof(bad) / sizeof(bad[0]));
}

static void test_reserialise(void **state)
{
	static const char req[] =
		"GET http://api.allowed.test/x?y=1 HTTP/1.1\r\n"
		"Host: api.allowed.test\r\n"
		"X-Odd:   spaced  value\t \r\n"
		"Proxy-Connection: keep-alive\r\n"
		"Authorization: Bearer PLACEHOLDER\r\n"
		"accept: */*\r\n\r\n";
	static const char want[] =
		"GET /x?y=1 HTTP/1.1\r\n"
		"Host: api.allowed.test\r\n"
		"X-Odd:   spaced  value\t \r\n"
		"Authorization: Bearer real-value\r\n"
		"accept: */*\r\n"
		"Via: 1.1 cagectl\r\n\r\n";
	static struct http1_parser p;
	uint8_t out[512];
	size_t used;
	int idx;

	http1_init(&p, HTTP1_REQUEST, NULL, NULL, NULL);
	assert_int_equal(http1_feed(&p, (const uint8_t *)req, sizeof(req) - 1, &used), HTTP1_HEADERS);
	assert_int_equal(used, sizeof(req) - 1);
	assert_int_equal(p.msg.header_len, used);
	/* Untouched, it comes back byte for byte. */
	assert_int_equal(http1_serialize(&p.msg, (const uint8_t *)req, out, sizeof(out)), sizeof(req) - 1);
	assert_memory_equal(out, req, sizeof(req) - 1);

	idx = http1_header_find(&p.msg, (const uint8_t *)req, "proxy-connection", 0);
	assert_int_equal(idx, 2);
	assert_int_equal(http1_header_remove(&p.msg, (unsigned)idx), 0);
	idx = http1_header_find(&p.msg, (const uint8_t *)req, "AUTHORIZATION", 0);
	assert_int_equal(idx, 3);
	assert_int_equal(http1_header_replace(&p.msg, (unsigned)idx, "Bearer real-value", 17), 0);
	assert_int_equal(http1_header_add(&p.msg, "Via", "1.1 cagectl"), 0);
	assert_int_equal(http1_set_target(&p.msg, "/x?y=1", 6), 0);
	assert_int_equal(http1_serialized_len(&p.msg, (const uint8_t *)req), sizeof(want) - 1);
	assert_int_equal(http1_serialize(&p.msg, (const uint8_t *)req, out, sizeof(out)), sizeof(want) - 1);
	assert_memory_equal(out, want, sizeof(want) - 1);
	assert_int_equal(http1_serialize(&p.msg, (const uint8_t *)req, out, 10), -ENOSPC);

	/* Edits cannot inject lines or bytes the parser would refuse. */
	assert_int_equal(http1_header_replace(&p.msg, 1, "a\r\nHost: evil.test", 18), -EINVAL);
	assert_int_equal(http1_header_replace(&p.msg, 1, "a\0b", 3), -EINVAL);
	assert_int_equal(http1_header_add(&p.msg, "Bad Name", "v"), -EINVAL);
	assert_int_equal(http1_header_add(&p.msg, "X", "v\n"), -EINVAL);
	assert_int_equal(http1_header_add(&p.msg, "", "v"), -EINVAL);
	assert_int_equal(http1_set_target(&p.msg, "/a b", 4), -EINVAL);
	assert_int_equal(http1_header_remove(&p.msg, 99), -ERANGE);
	for (unsigned i = p.msg.n_edits; i < HTTP1_MAX_HEADER_EDITS; i++)
		assert_int_equal(http1_header_add(&p.msg, "X", "v"), 0);
	assert_int_equal(http1_header_add(&p.msg, "X", "v"), -ENOSPC);
}

static int refuse_body(void *ctx, const uint8_t *data, size_t len)
{
	return -1;
}

static void test_callback_abort_and_sticky_errors(void **state)
{
	static const char req[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
	static struct http1_parser p;
	size_t used, hdr;

	http1_init(&p, HTTP1_REQUEST, NULL, refuse_body, NULL);
	assert_int_equal(http1_feed(&p, (const uint8_t *)req, sizeof(req) - 1, &hdr), HTTP1_HEADERS);
	assert_int_equal(http1_feed(&p, (const uint8_t *)req + hdr, sizeof(req) - 1 - hdr, &used),
			 HTTP1_E_ABORTED);
	assert_int_equal(http1_feed(&p, (const uint8_t *)req + hdr, 1, &used), HTTP1_E_ABORTED);
	assert_int_equal(http1_finish(&p), HTTP1_E_ABORTED);
	http1_reset(&p);
	assert_int_equal(http1_feed(&p, (const uint8_t *)req, 5, &used), HTTP1_NEED_MORE);
	/* The header buffer may only grow between calls. */
	assert_int_equal(http1_feed(&p, (const uint8_t *)req, 3, &used), HTTP1_E_USAGE);
}

static void test_names_and_statuses(void **state)
{
	assert_string_equal(http1_error_name(HTTP1_E_CL_AND_TE), "cl_and_te");
	assert_string_equal(http1_error_name(HTTP1_E_USAGE), "usage");
	assert_string_equal(http1_error_name(0), "ok");
	assert_int_equal(http1_error_status(HTTP1_E_BAD_VERSION), 505);
	assert_int_equal(http1_error_status(HTTP1_E_BAD_TRANSFER_ENCODING), 501);
	assert_int_equal(http1_error_status(HTTP1_E_OBS_FOLD), 400);
	assert_int_equal(http1_error_status(HTTP1_E_H2_PREFACE), 0);
	assert_string_equal(http1_method_name(HTTP1_METHOD_CONNECT), "CONNECT");
	for (int e = -1; e >= HTTP1_E_MIN; e--)
		assert_string_not_equal(http1_error_name(e), "ok");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smuggling_inputs),
		cmocka_unit_test(test_request_target_forms),
		cmocka_unit_test(test_host_and_authority),
		cmocka_unit_test(test_upgrade_and_connection),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_chunked_every_split),
		cmocka_unit_test(test_chunked_errors),
		cmocka_unit_test(test_pipelined_requests),
		cmocka_unit_test(test_large_body_streamed),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_reserialise),
		cmocka_unit_test(test_callback_abort_and_sticky_errors),
		cmocka_unit_test(test_names_and_statuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
