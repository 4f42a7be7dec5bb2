// SPDX-License-Identifier: GPL-2.0-only
/*
 * WebSocket (row 68): the frame parser on its own (masking, lengths, fragmentation, control
 * frames between fragments, every split of the wire bytes, protocol errors), the close
 * builder and the extension stripper, then messages through the chain: a secret in a text
 * frame, split over fragments, in a ping, and inside permessage-deflate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#if __has_include(<hs.h>)
#include <zlib.h>

#include "inspect/websocket.h"
#include "test_inspect_util.h"
#include "ws_frame_util.h"

#define CANARY_GH "ghp_R3dT3amC4nary00000000000000000000000"

static const uint8_t MASK[4] = { 0x37, 0xfa, 0x21, 0x3d };

struct rec {
	char data[70000];
	size_t len;
	int starts, ends, controls;
};

static int r_start(void *ctx, enum ws_opcode op, bool compressed)
{
	((struct rec *)ctx)->starts++;
	return 0;
}

static int r_data(void *ctx, const uint8_t *p, size_t len)
{
	struct rec *r = ctx;

	memcpy(r->data + r->len, p, len);
	r->len += len;
	return 0;
}

static int r_end(void *ctx)
{
	((struct rec *)ctx)->ends++;
	return 0;
}

static int r_control(void *ctx, enum ws_opcode op, const uint8_t *p, size_t len)
{
	((struct rec *)ctx)->controls++;
	return 0;
}

static const struct ws_callbacks rec_cbs = { r_start, r_data, r_end, r_control };

static void test_parser_splits(void **state)
{
	static uint8_t wire[80000];
	static struct rec whole, part;
	static char big[66000];
	size_t n = 0;
	struct ws_parser p;

	memset(big, 'x', sizeof(big));
	n += ws_wire_frame(wire + n, false, false, WS_OP_TEXT, "hel", 3, MASK);
	n += ws_wire_frame(wire + n, true, false, WS_OP_PING, "pi", 2, MASK);
	n += ws_wire_frame(wire + n, true, false, WS_OP_CONT, "lo", 2, MASK);
	n += ws_wire_frame(wire + n, true, false, WS_OP_BINARY, big, 300, MASK);
	n += ws_wire_frame(wire + n, true, false, WS_OP_BINARY, big, sizeof(big), MASK);
	n += ws_wire_frame(wire + n, true, false, WS_OP_TEXT, "", 0, MASK);
	memset(&whole, 0, sizeof(whole));
	ws_parser_init(&p, true, false);
	assert_int_equal(ws_parser_feed(&p, wire, n, &rec_cbs, &whole), 0);
	assert_int_equal(whole.starts, 4);
	assert_int_equal(whole.ends, 4);
	assert_int_equal(whole.controls, 1);
	assert_int_equal(whole.len, 5 + 300 + sizeof(big));
	assert_memory_equal(whole.data, "hello", 5);
	for (size_t cut = 1; cut < 40; cut++) {
		memset(&part, 0, sizeof(part));
		ws_parser_init(&p, true, false);
		for (size_t off = 0; off < n; off += cut)
			assert_int_equal(ws_parser_feed(&p, wire + off, n - off < cut ? n - off : cut,
							&rec_cbs, &part), 0);
		assert_int_equal(part.len, whole.len);
		assert_memory_equal(part.data, whole.data, whole.len);
		assert_int_equal(part.ends, 4);
	}
}

static void expect_proto(const uint8_t *wire, size_t n, bool from_client, bool rsv1)
{
	struct ws_parser p;
	struct rec r = { .len = 0 };

	ws_parser_init(&p, from_client, rsv1);
	assert_int_equal(ws_parser_feed(&p, wire, n, &rec_cbs, &r), -EPROTO);
	assert_int_equal(ws_parser_feed(&p, wire, 1, &rec_cbs, &r), -EPROTO);
}

static void test_parser_errors(void **state)
{
	uint8_t w[300];
	char big[200] = { 0 };

	expect_proto(w, ws_wire_frame(w, true, false, WS_OP_TEXT, "a", 1, NULL), true, false);  /* no mask */
	expect_proto(w, ws_wire_frame(w, true, false, WS_OP_TEXT, "a", 1, MASK), false, false); /* masked */
	expect_proto(w, ws_wire_frame(w, true, false, WS_OP_CONT, "a", 1, MASK), true, false);
	expect_proto(w, ws_wire_frame(w, true, true, WS_OP_TEXT, "a", 1, MASK), true, false);   /* rsv1 */
	expect_proto(w, ws_wire_frame(w, false, false, WS_OP_PING, "a", 1, MASK), true, false);
	expect_proto(w, ws_wire_frame(w, true, false, WS_OP_PING, big, 126, MASK), true, false);
	expect_proto(w, ws_wire_frame(w, true, false, 0x3, "a", 1, MASK), true, false);
	w[0] = 0xa1;   /* RSV2 */
	expect_proto(w, 7, true, true);
	/* 16-bit length that fits in 7 bits */
	memcpy(w, "\x81\xfe\x00\x05", 4);
	expect_proto(w, 8, true, false);
	/* a new data frame inside a fragmented message */
	size_t n = ws_wire_frame(w, false, false, WS_OP_TEXT, "a", 1, MASK);
	n += ws_wire_frame(w + n, true, false, WS_OP_TEXT, "b", 1, MASK);
	expect_proto(w, n, true, false);
}

static void test_close_and_strip(void **state)
{
	uint8_t out[200];
	char ext[128];
	long n = ws_build_close(out, sizeof(out), WS_CLOSE_POLICY_VIOLATION, "dlp.hit", NULL);
	struct ws_parser p;
	struct rec r = { .len = 0 };

	assert_int_equal(n, 2 + 2 + 7);
	assert_int_equal(out[0], 0x88);
	assert_int_equal(out[2] << 8 | out[3], 1008);
	ws_parser_init(&p, false, false);
	assert_int_equal(ws_parser_feed(&p, out, (size_t)n, &rec_cbs, &r), 0);
	assert_int_equal(r.controls, 1);
	n = ws_build_close(out, sizeof(out), 1008, "x", MASK);
	ws_parser_init(&p, true, false);
	assert_int_equal(ws_parser_feed(&p, out, (size_t)n, &rec_cbs, &r), 0);
	assert_int_equal(ws_build_close(out, 5, 1008, "long reason", NULL), -ENOSPC);

#define STRIP(in, want) do { \
		long l = ws_strip_extension(in, strlen(in), "permessage-deflate", ext, sizeof(ext)); \
		assert_int_equal(l, (long)strlen(want)); \
		assert_string_equal(ext, want); \
	} while (0)
	STRIP("permessage-deflate; client_max_window_bits", "");
	STRIP("permessage-deflate", "");
	STRIP("x-foo, Permessage-Deflate; server_no_context_takeover, x-bar; a=\"1,2\"",
	      "x-foo, x-bar; a=\"1,2\"");
	STRIP("x-webkit-deflate-frame", "x-webkit-deflate-frame");
	STRIP("permessage-deflate;a=1 , permessage-deflate", "");
}

static int feed_all(const uint8_t *w, size_t n, size_t split)
{
	int rc = 0;

	for (size_t off = 0; off < n && rc != INSPECT_BLOCK; off += split) {
		rc = inspect_ws_feed(sess, true, w + off, n - off < split ? n - off : split);
		if (rc < 0)
			return rc;
	}
	return rc;
}

static void test_chain_frames(void **state)
{
	static const char msg[] = "{\"type\":\"chat\",\"text\":\"" CANARY_GH "\"}";
	uint8_t w[512];
	size_t n, len = strlen(msg);

	/* one text frame, any split of the wire */
	n = ws_wire_frame(w, true, false, WS_OP_TEXT, msg, len, MASK);
	for (size_t split = 1; split <= n; split += 3) {
		assert_int_equal(inspect_ws_start(sess, ECHO_HOST, 0), 0);
		assert_int_equal(feed_all(w, n, split), INSPECT_BLOCK);
		assert_non_null(find_rule(inspect_verdict(sess), "github_token", "ws-frame"));
	}
	/* fragmented at every byte of the message, with a ping in the middle */
	for (size_t cut = 1; cut < len; cut++) {
		n = ws_wire_frame(w, false, false, WS_OP_TEXT, msg, cut, MASK);
		n += ws_wire_frame(w + n, true, false, WS_OP_PING, "p", 1, MASK);
		n += ws_wire_frame(w + n, true, false, WS_OP_CONT, msg + cut, len - cut, MASK);
		assert_int_equal(inspect_ws_start(sess, ECHO_HOST, 0), 0);
		assert_int_equal(feed_all(w, n, n), INSPECT_BLOCK);
	}
	/* in a ping payload */
	n = ws_wire_frame(w, true, false, WS_OP_PING, CANARY_GH, strlen(CANARY_GH), MASK);
	assert_int_equal(inspect_ws_start(sess, ECHO_HOST, 0), 0);
	assert_int_equal(feed_all(w, n, n), INSPECT_BLOCK);
	/* benign traffic and inbound frames pass; inbound is not scanned */
	assert_int_equal(inspect_ws_start(sess, ECHO_HOST, 0), 0);
	n = ws_wire_frame(w, true, false, WS_OP_TEXT, "{\"hello\":1}", 11, MASK);
	assert_int_equal(feed_all(w, n, 4), INSPECT_ABSTAIN);
	n = ws_wire_frame(w, true, false, WS_OP_TEXT, msg, len, NULL);
	assert_int_equal(inspect_ws_feed(sess, false, w, n), INSPECT_ABSTAIN);
	/* a protocol error blocks */
	n = ws_wire_frame(w, true, false, WS_OP_TEXT, "x", 1, NULL);
	assert_int_equal(inspect_ws_feed(sess, true, w, n), INSPECT_BLOCK);
	assert_non_null(find_rule(inspect_verdict(sess), "ws.protocol", "ws-frame"));
}

/* permessage-deflate: compress with a sync flush and strip the 00 00 ff ff tail (RFC 7692). */
static size_t pmd(z_stream *z, const char *msg, size_t len, uint8_t *out, size_t cap)
{
	size_t n;

	z->next_in = (Bytef *)msg;
	z->avail_in = (uInt)len;
	z->next_out = out;
	z->avail_out = (uInt)cap;
	assert_int_equal(deflate(z, Z_SYNC_FLUSH), Z_OK);
	n = cap - z->avail_out;
	assert_memory_equal(out + n - 4, "\0\0\xff\xff", 4);
	return n - 4;
}

static void test_chain_deflate(void **state)
{
	static const char m1[] = "{\"text\":\"hello there, nothing to see\"}";
	static const char m2[] = "{\"text\":\"" CANARY_GH "\"}";
	uint8_t c[256], w[512];
	z_stream z = { 0 };
	size_t n, cn;

	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	assert_int_equal(inspect_ws_start(sess, ECHO_HOST, INSPECT_WS_DEFLATE), 0);
	cn = pmd(&z, m1, strlen(m1), c, sizeof(c));
	n = ws_wire_frame(w, true, true, WS_OP_TEXT, c, cn, MASK);
	assert_int_equal(feed_all(w, n, 5), INSPECT_ABSTAIN);
	/* second message uses the first one's window (context takeover), fragmented */
	cn = pmd(&z, m2, strlen(m2), c, sizeof(c));
	n = ws_wire_frame(w, false, true, WS_OP_TEXT, c, cn / 2, MASK);
	n += ws_wire_frame(w + n, true, false, WS_OP_CONT, c + cn / 2, cn - cn / 2, MASK);
	assert_int_equal(feed_all(w, n, 7), INSPECT_BLOCK);
	assert_non_null(find_rule(inspect_verdict(sess), "github_token", "ws-frame"));
	deflateEnd(&z);
	/* RSV1 without the extension negotiated */
	assert_int_equal(inspect_ws_start(sess, ECHO_HOST, 0), 0);
	assert_int_equal(feed_all(w, n, n), INSPECT_BLOCK);
	assert_non_null(find_rule(inspect_verdict(sess), "ws.protocol", "ws-frame"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parser_splits),
		cmocka_unit_test(test_parser_errors),
		cmocka_unit_test(test_close_and_strip),
		cmocka_unit_test(test_chain_frames),
		cmocka_unit_test(test_chain_deflate),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
#else
int main(void)
{
	puts("1..1\nok 1 # SKIP libhs not in PKGS");
	return 0;
}
#endif
