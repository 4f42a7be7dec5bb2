// SPDX-License-Identifier: GPL-2.0-only
/*
 * The WebSocket relay's framing core (userspace/proxy/ws_relay.c) without sockets: frames in,
 * the hooks in the documented order, re-framed frames out. Every case is fed at every split
 * of the wire bytes, because TLS records and TCP segments cut frames anywhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/ws_relay.h"
#include "ws_frame_util.h"

/* ---- building and reading frames --------------------------------------------------------- */

static size_t frame(uint8_t *out, bool masked, bool fin, uint8_t op, const void *p, size_t len)
{
	static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };

	return ws_wire_frame(out, fin, false, op, p, len, masked ? key : NULL);
}

struct wire_frame {
	uint8_t b0;
	bool masked;
	size_t len;
	uint8_t *payload;
};

/* Splits a relay output into frames (asserting the header is well formed). */
static size_t read_frames(const struct px_buf *b, struct wire_frame *fr, size_t max)
{
	size_t at = b->start, n = 0;

	while (at < b->end) {
		const uint8_t *d = b->data + at;
		size_t h = 2, len = d[1] & 0x7f;
		uint8_t key[4] = { 0 };

		assert_true(n < max);
		if (len == 126) {
			len = (size_t)d[2] << 8 | d[3];
			h = 4;
		} else if (len == 127) {
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | d[2 + i];
			h = 10;
		}
		fr[n].masked = d[1] & 0x80;
		if (fr[n].masked) {
			memcpy(key, d + h, 4);
			h += 4;
		}
		assert_true(at + h + len <= b->end);
		fr[n].b0 = d[0];
		fr[n].len = len;
		fr[n].payload = malloc(len + 1);
		for (size_t i = 0; i < len; i++)
			fr[n].payload[i] = d[h + i] ^ key[i & 3];
		at += h + len;
		n++;
	}
	return n;
}

static void free_frames(struct wire_frame *fr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(fr[i].payload);
}

/* ---- hooks that record and rewrite --------------------------------------------------------- */

struct rec {
	char log[4096];
	size_t log_len;
	const char *block_on;     /* on_ws_frame blocks a piece containing this */
	bool grow;                /* filter_ws: every 'X' becomes "YYYY" */
	bool fat_control;         /* filter_ws: a control payload grows past 125 */
};

__attribute__((format(printf, 2, 3)))
static void note(struct rec *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r->log_len += (size_t)vsnprintf(r->log + r->log_len, sizeof(r->log) - r->log_len, fmt, ap);
	va_end(ap);
}

static enum proxy_verdict rec_frame(void *ctx, void *txn, bool from_agent, uint8_t op,
				    const uint8_t *p, size_t len, struct proxy_block *blk)
{
	struct rec *r = ctx;

	(void)txn;
	(void)from_agent;
	if (!p)
		note(r, "end%u;", op);
	else if (!len && !(op & 8))
		note(r, "start%u;", op);
	else
		note(r, "%s%u:%.*s;", op & 8 ? "ctl" : "data", op, (int)len, (const char *)p);
	if (r->block_on && p && len && memmem(p, len, r->block_on, strlen(r->block_on))) {
		snprintf(blk->reason, sizeof(blk->reason), "dlp.hit");
		snprintf(blk->detail, sizeof(blk->detail), "rule=test loc=ws-frame");
		return PROXY_BLOCK;
	}
	return PROXY_ALLOW;
}

static enum proxy_verdict rec_filter(void *ctx, void *txn, bool from_agent, uint8_t op,
				     const uint8_t *p, size_t len, proxy_emit_fn emit, void *arg,
				     struct proxy_block *blk)
{
	struct rec *r = ctx;
	uint8_t fat[200];

	(void)txn;
	(void)from_agent;
	(void)blk;
	if ((op & 8) && r->fat_control) {
		memset(fat, 'F', sizeof(fat));
		return emit(arg, fat, sizeof(fat)) ? PROXY_BLOCK : PROXY_ALLOW;
	}
	for (size_t i = 0; p && i < len; i++) {
		int rc = r->grow && p[i] == 'X' ? emit(arg, "YYYY", 4) : emit(arg, p + i, 1);

		if (rc)
			return PROXY_BLOCK;
	}
	return PROXY_ALLOW;
}

/* Feeds wire in two pieces cut at `cut`; returns the feed result. */
static int feed_cut(struct px_ws_flow *f, const uint8_t *wire, size_t n, size_t cut)
{
	int err = px_ws_flow_feed(f, wire, cut);

	return err ? err : px_ws_flow_feed(f, wire + cut, n - cut);
}

/* ---- cases ------------------------------------------------------------------------------- */

/* No hooks: a single-frame message comes out as one frame, masked again toward the server. */
static void test_passthrough_one_frame(void **state)
{
	uint8_t wire[64];
	size_t n = frame(wire, true, true, WS_OP_TEXT, "hello", 5);

	(void)state;
	for (size_t cut = 0; cut <= n; cut++) {
		struct px_buf out = { 0 };
		struct proxy_block blk = { 0 };
		struct px_ws_flow f;
		struct wire_frame fr[4];
		size_t k;

		px_ws_flow_init(&f, true, NULL, NULL, &out, &blk);
		assert_int_equal(feed_cut(&f, wire, n, cut), 0);
		k = read_frames(&out, fr, 4);
		assert_int_equal(k, 1);
		assert_int_equal(fr[0].b0, 0x80 | WS_OP_TEXT);
		assert_true(fr[0].masked);
		assert_int_equal(fr[0].len, 5);
		assert_memory_equal(fr[0].payload, "hello", 5);
		free_frames(fr, k);
		px_ws_flow_free(&f);
		free(out.data);
	}
}

/* Fragments stay fragments, a ping between them passes in place, hooks see the documented
 * order; the server direction comes out unmasked. */
static void test_fragments_and_control_order(void **state)
{
	uint8_t wire[128];
	size_t n = 0;

	(void)state;
	n += frame(wire + n, false, false, WS_OP_TEXT, "ab", 2);
	n += frame(wire + n, false, true, WS_OP_PING, "p", 1);
	n += frame(wire + n, false, true, WS_OP_CONT, "cd", 2);
	for (size_t cut = 0; cut <= n; cut++) {
		struct rec r = { 0 };
		struct proxy_hooks h = { .ctx = &r, .on_ws_frame = rec_frame };
		struct px_buf out = { 0 };
		struct proxy_block blk = { 0 };
		struct px_ws_flow f;
		struct wire_frame fr[8];
		size_t k;

		px_ws_flow_init(&f, false, &h, NULL, &out, &blk);
		assert_int_equal(feed_cut(&f, wire, n, cut), 0);
		k = read_frames(&out, fr, 8);
		assert_int_equal(k, 3);
		assert_int_equal(fr[0].b0, WS_OP_TEXT);
		assert_int_equal(fr[1].b0, 0x80 | WS_OP_PING);
		assert_int_equal(fr[2].b0, 0x80 | WS_OP_CONT);
		assert_false(fr[0].masked || fr[1].masked || fr[2].masked);
		assert_memory_equal(fr[0].payload, "ab", 2);
		assert_memory_equal(fr[2].payload, "cd", 2);
		/* A cut inside a payload splits it into two pieces; joined, the log is the same. */
		if (cut == 0 || cut == n)
			assert_string_equal(r.log, "start1;data1:ab;ctl9:p;data1:cd;end1;");
		free_frames(fr, k);
		px_ws_flow_free(&f);
		free(out.data);
	}
}

/* A filter that changes the length: the relay re-frames (new lengths, fresh masks). */
static void test_filter_resizes(void **state)
{
	uint8_t wire[256];
	size_t n = 0;

	(void)state;
	n += frame(wire + n, true, false, WS_OP_BINARY, "aXb", 3);
	n += frame(wire + n, true, true, WS_OP_CONT, "XX", 2);
	for (size_t cut = 0; cut <= n; cut++) {
		struct rec r = { .grow = true };
		struct proxy_hooks h = { .ctx = &r, .filter_ws = rec_filter };
		struct px_buf out = { 0 };
		struct proxy_block blk = { 0 };
		struct px_ws_flow f;
		struct wire_frame fr[8];
		char joined[64] = "";
		size_t k, jl = 0;

		px_ws_flow_init(&f, true, &h, NULL, &out, &blk);
		assert_int_equal(feed_cut(&f, wire, n, cut), 0);
		k = read_frames(&out, fr, 8);
		assert_int_equal(k, 2);
		assert_int_equal(fr[0].b0, WS_OP_BINARY);
		assert_int_equal(fr[1].b0, 0x80 | WS_OP_CONT);
		for (size_t i = 0; i < k; i++) {
			assert_true(fr[i].masked);
			memcpy(joined + jl, fr[i].payload, fr[i].len);
			jl += fr[i].len;
		}
		assert_int_equal(jl, 14);
		assert_memory_equal(joined, "aYYYYbYYYYYYYY", 14);
		free_frames(fr, k);
		px_ws_flow_free(&f);
		free(out.data);
	}
}

/* A large frame streams: several fragments of at most PX_WS_FRAME_MAX, memory bounded. */
static void test_large_message_streams(void **state)
{
	size_t len = 300000, n;
	uint8_t *msg = malloc(len), *wire = malloc(len + 16), *back = malloc(len);
	struct px_buf out = { 0 };
	struct proxy_block blk = { 0 };
	struct px_ws_flow f;
	struct wire_frame *fr = calloc(64, sizeof(*fr));
	size_t k, at = 0, max_stage = 0;

	(void)state;
	for (size_t i = 0; i < len; i++)
		msg[i] = (uint8_t)(i * 7);
	n = frame(wire, true, true, WS_OP_BINARY, msg, len);
	px_ws_flow_init(&f, true, NULL, NULL, &out, &blk);
	for (size_t off = 0; off < n; off += 1000) {
		assert_int_equal(px_ws_flow_feed(&f, wire + off, n - off < 1000 ? n - off : 1000), 0);
		if (f.stage.cap > max_stage)
			max_stage = f.stage.cap;
	}
	assert_true(max_stage <= PX_WS_FRAME_MAX);
	k = read_frames(&out, fr, 64);
	assert_true(k > 1);
	for (size_t i = 0; i < k; i++) {
		assert_int_equal(fr[i].b0 & 0x0f, i ? WS_OP_CONT : WS_OP_BINARY);
		assert_int_equal(!!(fr[i].b0 & 0x80), i == k - 1);
		assert_true(fr[i].len <= PX_WS_FRAME_MAX);
		memcpy(back + at, fr[i].payload, fr[i].len);
		at += fr[i].len;
	}
	assert_int_equal(at, len);
	assert_memory_equal(back, msg, len);
	free_frames(fr, k);
	free(fr);
	px_ws_flow_free(&f);
	free(out.data);
	free(msg);
	free(wire);
	free(back);
}

/* A block stops the message: nothing of it is framed, the reason is the hook's. */
static void test_block_frames_nothing(void **state)
{
	uint8_t wire[128];
	size_t n = 0;

	(void)state;
	n += frame(wire + n, true, false, WS_OP_TEXT, "ghp_", 4);
	n += frame(wire + n, true, true, WS_OP_CONT, "SECRET", 6);
	{
		struct rec r = { .block_on = "SECRET" };
		struct proxy_hooks h = { .ctx = &r, .on_ws_frame = rec_frame, .filter_ws = rec_filter };
		struct px_buf out = { 0 };
		struct proxy_block blk = { 0 };
		struct px_ws_flow f;
		struct wire_frame fr[4];
		size_t k;

		px_ws_flow_init(&f, true, &h, NULL, &out, &blk);
		assert_int_equal(px_ws_flow_feed(&f, wire, n), -EACCES);
		assert_string_equal(blk.reason, "dlp.hit");
		/* The first fragment went out (it was allowed); the blocked one did not. */
		k = read_frames(&out, fr, 4);
		assert_int_equal(k, 1);
		assert_memory_equal(fr[0].payload, "ghp_", 4);
		free_frames(fr, k);
		px_ws_flow_free(&f);
		free(out.data);
	}
}

static void test_protocol_errors(void **state)
{
	uint8_t wire[64];
	size_t n;
	struct px_buf out = { 0 };
	struct proxy_block blk = { 0 };
	struct px_ws_flow f;

	(void)state;
	/* An unmasked frame from the agent. */
	n = frame(wire, false, true, WS_OP_TEXT, "x", 1);
	px_ws_flow_init(&f, true, NULL, NULL, &out, &blk);
	assert_int_equal(px_ws_flow_feed(&f, wire, n), -EPROTO);
	px_ws_flow_free(&f);
	/* RSV1 (permessage-deflate) when no extension was negotiated. */
	n = frame(wire, true, true, WS_OP_TEXT, "x", 1);
	wire[0] |= 0x40;
	px_ws_flow_init(&f, true, NULL, NULL, &out, &blk);
	assert_int_equal(px_ws_flow_feed(&f, wire, n), -EPROTO);
	px_ws_flow_free(&f);
	/* A masked frame from the server. */
	n = frame(wire, true, true, WS_OP_TEXT, "x", 1);
	px_ws_flow_init(&f, false, NULL, NULL, &out, &blk);
	assert_int_equal(px_ws_flow_feed(&f, wire, n), -EPROTO);
	px_ws_flow_free(&f);
	assert_int_equal(out.end, 0);
	free(out.data);
}

static void test_control_too_big(void **state)
{
	uint8_t wire[64];
	size_t n = frame(wire, true, true, WS_OP_PING, "p", 1);
	struct rec r = { .fat_control = true };
	struct proxy_hooks h = { .ctx = &r, .filter_ws = rec_filter };
	struct px_buf out = { 0 };
	struct proxy_block blk = { 0 };
	struct px_ws_flow f;

	(void)state;
	px_ws_flow_init(&f, true, &h, NULL, &out, &blk);
	assert_int_equal(px_ws_flow_feed(&f, wire, n), -EMSGSIZE);
	assert_int_equal(out.end, 0);
	px_ws_flow_free(&f);
	free(out.data);
}

/* Empty messages and a close frame keep their shape. */
static void test_empty_and_close(void **state)
{
	uint8_t wire[64], close_payload[2] = { 0x03, 0xe8 };
	size_t n = 0, k;
	struct px_buf out = { 0 };
	struct proxy_block blk = { 0 };
	struct px_ws_flow f;
	struct wire_frame fr[4];

	(void)state;
	n += frame(wire + n, true, true, WS_OP_TEXT, "", 0);
	n += frame(wire + n, true, true, WS_OP_CLOSE, close_payload, 2);
	px_ws_flow_init(&f, true, NULL, NULL, &out, &blk);
	assert_int_equal(px_ws_flow_feed(&f, wire, n), 0);
	assert_true(f.close_seen);
	k = read_frames(&out, fr, 4);
	assert_int_equal(k, 2);
	assert_int_equal(fr[0].b0, 0x80 | WS_OP_TEXT);
	assert_int_equal(fr[0].len, 0);
	assert_int_equal(fr[1].b0, 0x80 | WS_OP_CLOSE);
	assert_memory_equal(fr[1].payload, close_payload, 2);
	free_frames(fr, k);
	px_ws_flow_free(&f);
	free(out.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passthrough_one_frame),
		cmocka_unit_test(test_fragments_and_control_order),
		cmocka_unit_test(test_filter_resizes),
		cmocka_unit_test(test_large_message_streams),
		cmocka_unit_test(test_block_frames_nothing),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_control_too_big),
		cmocka_unit_test(test_empty_and_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
