// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzzes the RFC 6455 frame parser and the WebSocket path of an inspector session. The first
 * byte picks the direction, permessage-deflate and a split; invariants: the parser gives the
 * same messages and the same error whole and split; unmasked payload bytes never exceed the
 * input; the extension stripper at most doubles its input (", " joins) and is idempotent;
 * cage-proxy's relay (ws_relay.c), with a filter that changes payload lengths, fails exactly
 * where the parser does and writes frames that parse cleanly into the same messages.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if __has_include(<hs.h>)
#include "config/config.h"
#include "inspect/inspect.h"
#include "inspect/websocket.h"
#include "proxy/ws_relay.h"

struct rec {
	uint64_t bytes;
	uint32_t h;
	unsigned starts, ends, controls;
};

static void mix(struct rec *r, uint32_t v)
{
	r->h = (r->h ^ v) * 16777619u;
}

static int r_start(void *ctx, enum ws_opcode op, bool compressed)
{
	struct rec *r = ctx;

	r->starts++;
	mix(r, op | (unsigned)compressed << 8);
	return 0;
}

static int r_data(void *ctx, const uint8_t *p, size_t len)
{
	struct rec *r = ctx;

	if (!len)
		abort();
	r->bytes += len;
	for (size_t i = 0; i < len; i++)
		mix(r, p[i]);
	return 0;
}

static int r_end(void *ctx)
{
	struct rec *r = ctx;

	r->ends++;
	mix(r, 0x1000);
	return 0;
}

static int r_control(void *ctx, enum ws_opcode op, const uint8_t *p, size_t len)
{
	struct rec *r = ctx;

	if (len > 125)
		abort();
	r->controls++;
	mix(r, op << 16);
	return 0;
}

static const struct ws_callbacks cbs = { r_start, r_data, r_end, r_control };

static struct inspect_chain *chain;
static struct inspect_session *sess;

/* Every 'X' of a data payload becomes "XX": the relay has to re-frame. */
static enum proxy_verdict grow_filter(void *ctx, void *txn, bool from_agent, uint8_t op,
				      const uint8_t *p, size_t len, proxy_emit_fn emit, void *arg,
				      struct proxy_block *blk)
{
	(void)ctx;
	(void)txn;
	(void)from_agent;
	(void)blk;
	for (size_t i = 0; p && i < len; i++)
		if (emit(arg, p + i, 1) || (!(op & 8) && p[i] == 'X' && emit(arg, p + i, 1)))
			return PROXY_BLOCK;
	return PROXY_ALLOW;
}

/* The relay on the same bytes: same error as the parser, output that parses cleanly. */
static void check_relay(const uint8_t *data, size_t size, size_t cut, bool client, bool rsv1,
			int parser_err, const struct rec *parsed)
{
	struct proxy_hooks h = { .filter_ws = grow_filter };
	struct rec out_rec = { 0, 2166136261u, 0, 0, 0 };
	struct proxy_block blk = { 0 };
	struct px_buf out = { 0 };
	struct px_ws_flow f;
	struct ws_parser p;
	int err;

	px_ws_flow_init(&f, client, &h, NULL, &out, &blk);
	err = px_ws_flow_feed(&f, data, cut);
	if (!err)
		err = px_ws_flow_feed(&f, data + cut, size - cut);
	if (!rsv1 && err != parser_err)
		abort();
	ws_parser_init(&p, client, false);
	if (ws_parser_feed(&p, out.data, out.end, &cbs, &out_rec))
		abort();
	if (!rsv1 && !parser_err &&
	    (out_rec.ends != parsed->ends || out_rec.controls != parsed->controls))
		abort();
	px_ws_flow_free(&f);
	free(out.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec a = { 0, 2166136261u, 0, 0, 0 }, b = { 0, 2166136261u, 0, 0, 0 };
	struct ws_parser p;
	bool client, rsv1;
	size_t cut;
	int ea, eb;
	char ext[512], ext2[512];
	long n1, n2;

	if (size < 2)
		return 0;
	client = data[0] & 1;
	rsv1 = data[0] & 2;
	cut = data[1] % size;
	data += 2;
	size -= 2;
	if (cut > size)
		cut = size;

	ws_parser_init(&p, client, rsv1);
	ea = ws_parser_feed(&p, data, size, &cbs, &a);
	ws_parser_init(&p, client, rsv1);
	eb = ws_parser_feed(&p, data, cut, &cbs, &b);
	if (!eb)
		eb = ws_parser_feed(&p, data + cut, size - cut, &cbs, &b);
	if (ea != eb || a.h != b.h || a.bytes != b.bytes || a.bytes > size)
		abort();
	check_relay(data, size, cut, client, rsv1, ea, &a);

	n1 = ws_strip_extension((const char *)data, size < 400 ? size : 400, "permessage-deflate",
				ext, sizeof(ext));
	if (n1 > 0) {
		if ((size_t)n1 > 2 * (size < 400 ? size : 400))
			abort();
		n2 = ws_strip_extension(ext, (size_t)n1, "permessage-deflate", ext2, sizeof(ext2));
		if (n2 != n1 || memcmp(ext, ext2, (size_t)n1))
			abort();
	}

	if (!chain) {
		static struct cage_inspector no_rate = { .name = "rate_limit", .enabled = false };
		static struct cage_config_file cfg = { .inspectors = &no_rate, .n_inspectors = 1 };
		char err[128];

		if (inspect_chain_new(&cfg, NULL, &chain, err, sizeof(err)))
			abort();
		sess = inspect_session_new(chain);
		if (!sess)
			abort();
	}
	if (inspect_ws_start(sess, "echo.allowed.test", rsv1 ? INSPECT_WS_DEFLATE : 0))
		abort();
	if (inspect_ws_feed(sess, client, data, cut) >= 0)
		inspect_ws_feed(sess, client, data + cut, size - cut);
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Vectorscan is not linked yet (libhs missing from the Makefile's PKGS). */
	return 0;
}
#endif
