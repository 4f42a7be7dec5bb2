// SPDX-License-Identifier: GPL-2.0-only
/*
 * WebSocket frames after a 101 on the inspect path (ws_relay.h). A proxy that forwards frames
 * it does not parse forwards a tunnel, so both directions go through a parser; the hooks see
 * every payload piece in order before any of it is framed for the other side, and the output
 * is built anew (header, fresh mask) from what they allowed or emitted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "proxy/ws_relay.h"

/* Output queued for a side beyond this: stop reading the other side until it drains. */
#define WS_BACKLOG (4 * PX_BUF_SIZE)

struct px_ws {
	struct px_ws_flow to_server, to_agent;
	struct proxy_block blk;
	int emit_err;
};

static const uint8_t no_payload[1];

static size_t buf_len(const struct px_buf *b)
{
	return b->end - b->start;
}

int px_ws_put_frame(struct px_buf *out, bool to_server, uint8_t b0, const uint8_t *payload,
		    size_t len)
{
	uint8_t hdr[14], mask[4];
	size_t h = 2;
	uint8_t *d;

	hdr[0] = b0;
	if (len < 126) {
		hdr[1] = (uint8_t)len;
	} else if (len < 65536) {
		hdr[1] = 126;
		hdr[2] = (uint8_t)(len >> 8);
		hdr[3] = (uint8_t)len;
		h = 4;
	} else {
		hdr[1] = 127;
		for (int i = 0; i < 8; i++)
			hdr[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		h = 10;
	}
	if (to_server) {
		/* RFC 6455 5.3: a fresh, unpredictable key per frame. */
		if (RAND_bytes(mask, sizeof(mask)) != 1)
			return -EIO;
		hdr[1] |= 0x80;
		memcpy(hdr + h, mask, sizeof(mask));
		h += sizeof(mask);
	}
	if (!px_buf_reserve(out, h + len, buf_len(out) + h + len + PX_BUF_SIZE))
		return -ENOMEM;
	d = out->data + out->end;
	memcpy(d, hdr, h);
	if (to_server) {
		for (size_t i = 0; i < len; i++)
			d[h + i] = payload[i] ^ mask[i & 3];
	} else if (len) {
		memcpy(d + h, payload, len);
	}
	out->end += h + len;
	return 0;
}

/* ---- one direction ------------------------------------------------------------------------ */

/* The staged payload as one frame: a continuation once the message has started going out. */
static int flush_stage(struct px_ws_flow *f, bool fin)
{
	size_t n = buf_len(&f->stage);
	uint8_t b0 = (uint8_t)((fin ? 0x80 : 0) | (f->out_started ? WS_OP_CONT : f->msg_op));
	int err;

	if (!n && !fin)
		return 0;
	err = px_ws_put_frame(f->out, f->from_agent, b0, n ? f->stage.data + f->stage.start : NULL, n);
	if (err)
		return f->emit_err = err;
	if (n)
		OPENSSL_cleanse(f->stage.data + f->stage.start, n); /* may hold an injected value */
	f->stage.start = f->stage.end = 0;
	f->out_started = !fin;
	return 0;
}

/* Emit callback of a data message: full frames of PX_WS_FRAME_MAX go out at once, so the
 * stage never holds more. Nonzero aborts the filter (the proxy then closes). */
static int emit_stage(void *arg, const void *buf, size_t len)
{
	struct px_ws_flow *f = arg;
	const uint8_t *p = buf;

	while (len) {
		size_t room = PX_WS_FRAME_MAX - buf_len(&f->stage), n = len < room ? len : room;
		int err;

		if (!px_buf_reserve(&f->stage, n, PX_WS_FRAME_MAX))
			return f->emit_err = -ENOMEM;
		memcpy(f->stage.data + f->stage.end, p, n);
		f->stage.end += n;
		p += n;
		len -= n;
		if (buf_len(&f->stage) == PX_WS_FRAME_MAX && (err = flush_stage(f, false)))
			return err;
	}
	return 0;
}

static int emit_control(void *arg, const void *buf, size_t len)
{
	struct px_ws_flow *f = arg;

	if (f->ctl_len + len > sizeof(f->ctl))
		return f->emit_err = -EMSGSIZE;
	memcpy(f->ctl + f->ctl_len, buf, len);
	f->ctl_len += len;
	return 0;
}

/*
 * on_ws_frame, then filter_ws (or the piece as it is). An emit failure inside the filter is
 * reported as that error, not as the filter's block.
 */
static int run_hooks(struct px_ws_flow *f, uint8_t op, const uint8_t *p, size_t len,
		     proxy_emit_fn emit)
{
	const struct proxy_hooks *h = f->h;

	if (h && h->on_ws_frame &&
	    h->on_ws_frame(h->ctx, f->txn, f->from_agent, op, p, len, f->blk) == PROXY_BLOCK)
		goto blocked;
	f->emit_err = 0;
	if (h && h->filter_ws) {
		enum proxy_verdict v = h->filter_ws(h->ctx, f->txn, f->from_agent, op, p, len, emit,
						    f, f->blk);

		if (f->emit_err)
			return f->emit_err;
		if (v != PROXY_BLOCK)
			return 0;
		goto blocked;
	}
	return p && len ? emit(f, p, len) : 0;
blocked:
	if (!f->blk->reason[0])
		snprintf(f->blk->reason, sizeof(f->blk->reason), "ws.blocked");
	return -EACCES;
}

static int cb_message_start(void *ctx, enum ws_opcode op, bool compressed)
{
	struct px_ws_flow *f = ctx;

	(void)compressed; /* never set: RSV1 is refused, no extension was negotiated */
	f->msg_op = (uint8_t)op;
	f->out_started = false;
	f->stage.start = f->stage.end = 0;
	f->messages++;
	return run_hooks(f, (uint8_t)op, no_payload, 0, emit_stage);
}

static int cb_message_data(void *ctx, const uint8_t *data, size_t len)
{
	struct px_ws_flow *f = ctx;
	int err = run_hooks(f, f->msg_op, data, len, emit_stage);

	if (err)
		return err;
	/* The parser counts the piece before handing it on: remaining 0 ends the frame. Ending a
	 * non-final frame there keeps the sender's fragmentation (and its timing). */
	if (f->p.remaining == 0 && !f->p.fin)
		return flush_stage(f, false);
	return 0;
}

static int cb_message_end(void *ctx)
{
	struct px_ws_flow *f = ctx;
	int err = run_hooks(f, f->msg_op, NULL, 0, emit_stage);

	return err ? err : flush_stage(f, true);
}

static int cb_control(void *ctx, enum ws_opcode op, const uint8_t *data, size_t len)
{
	struct px_ws_flow *f = ctx;
	int err;

	f->ctl_len = 0;
	err = run_hooks(f, (uint8_t)op, data, len, emit_control);
	if (err)
		return err;
	if (op == WS_OP_CLOSE)
		f->close_seen = true;
	return px_ws_put_frame(f->out, f->from_agent, (uint8_t)(0x80 | op), f->ctl, f->ctl_len);
}

static const struct ws_callbacks flow_cbs = {
	.message_start = cb_message_start,
	.message_data = cb_message_data,
	.message_end = cb_message_end,
	.control = cb_control,
};

void px_ws_flow_init(struct px_ws_flow *f, bool from_agent, const struct proxy_hooks *h,
		     void *txn, struct px_buf *out, struct proxy_block *blk)
{
	memset(f, 0, sizeof(*f));
	ws_parser_init(&f->p, from_agent, false);
	f->from_agent = from_agent;
	f->h = h;
	f->txn = txn;
	f->out = out;
	f->blk = blk;
}

int px_ws_flow_feed(struct px_ws_flow *f, const uint8_t *data, size_t len)
{
	return ws_parser_feed(&f->p, data, len, &flow_cbs, f);
}

void px_ws_flow_free(struct px_ws_flow *f)
{
	if (f->stage.data) {
		OPENSSL_cleanse(f->stage.data, f->stage.cap);
		free(f->stage.data);
	}
	memset(&f->stage, 0, sizeof(f->stage));
}

/* ---- the upgrade ------------------------------------------------------------------------- */

void px_ws_prepare_request(struct http1_message *m, const uint8_t *buf)
{
	static const char name[] = "Sec-WebSocket-Extensions";

	for (int i = http1_header_find(m, buf, name, 0); i >= 0;
	     i = http1_header_find(m, buf, name, (unsigned)i + 1))
		http1_header_remove(m, (unsigned)i);
}

bool px_ws_response_ok(const struct http1_message *m, const uint8_t *buf)
{
	/* RFC 6455 4.1: an extension the client did not offer fails the connection. */
	return http1_header_find(m, buf, "Sec-WebSocket-Extensions", 0) < 0;
}

/* ---- the connection ---------------------------------------------------------------------- */

int px_ws_begin(struct px_conn *c)
{
	const struct proxy_hooks *h = proxy_hooks_get();
	struct px_ws *ws;

	/* Bytes of the request still on their way would be read as frames. */
	if (c->rq != RQ_WAIT || c->cl.fwd || c->up.fwd)
		return -EPROTO;
	ws = calloc(1, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	px_ws_flow_init(&ws->to_server, true, h, c->txn, &c->up.out, &ws->blk);
	px_ws_flow_init(&ws->to_agent, false, h, c->txn, &c->cl.out, &ws->blk);
	c->ws = ws;
	c->header_deadline_ms = 0;
	c->rs = RS_IDLE;
	return 0;
}

void px_ws_free(struct px_conn *c)
{
	if (!c->ws)
		return;
	px_ws_flow_free(&c->ws->to_server);
	px_ws_flow_free(&c->ws->to_agent);
	free(c->ws);
	c->ws = NULL;
}

static void ws_audit(struct px_conn *c, const char *decision, const char *reason,
		     const char *detail, int status)
{
	struct px_audit a = {
		.event = "proxy.websocket", .decision = decision, .reason = reason, .detail = detail,
		.mode = "inspect", .method = c->method, .host = c->up_host, .port = c->up_port,
		.path = c->path[0] ? c->path : NULL, .status = status,
	};

	if (c->up_addr_known) {
		a.have_dst = true;
		a.dst = c->up_addr;
		a.dport = c->up_port;
	}
	px_audit(c, &a);
}

/*
 * Ends the relay after a block or a protocol error: a close frame to the agent after what it
 * was already given, one to the server (best effort, the upstream is closed right after), an
 * audit line, then the closing path.
 */
static bool ws_fail(struct px_conn *c, bool from_agent, int err)
{
	struct px_ws *ws = c->ws;
	uint8_t frame[2 + 125];
	char why[96], detail[sizeof(ws->blk.detail) + 32];
	const char *reason;
	uint16_t code;
	long n;

	switch (err) {
	case -EACCES:
		code = WS_CLOSE_POLICY_VIOLATION;
		reason = ws->blk.reason;
		break;
	case -EPROTO:
		code = WS_CLOSE_PROTOCOL_ERROR;
		reason = "ws.protocol";
		break;
	case -EMSGSIZE:
		code = WS_CLOSE_TOO_BIG;
		reason = "ws.control_too_big";
		break;
	default:
		code = 1011; /* internal error */
		reason = "proxy.ws_relay_failed";
	}
	snprintf(why, sizeof(why), "cagectl: %s", reason);
	snprintf(detail, sizeof(detail), "%s%sfrom=%s", ws->blk.detail,
		 ws->blk.detail[0] ? " " : "", from_agent ? "agent" : "server");
	ws_audit(c, "blocked", reason, detail, err == -EACCES && ws->blk.status ? ws->blk.status : 0);

	/* The close payload (code, reason) of an unmasked frame; each side gets its own framing. */
	n = ws_build_close(frame, sizeof(frame), code, why, NULL);
	if (n > 2 && !c->cl.wr_shut)
		px_ws_put_frame(&c->cl.out, false, frame[0], frame + 2, (size_t)n - 2);
	if (n > 2 && c->up.fd >= 0 && !c->up.wr_shut &&
	    px_ws_put_frame(&c->up.out, true, frame[0], frame + 2, (size_t)n - 2) == 0)
		px_side_flush(c, &c->up, NULL);
	c->audited = true;
	c->phase = PH_CLOSING;
	return true;
}

/* Everything readable from src through its flow into the other side's output. */
static int feed_from(struct px_side *src, struct px_ws_flow *f, bool *progress)
{
	struct px_buf *b = &src->in;
	size_t n = buf_len(b);
	int err;

	if (!n)
		return 0;
	err = px_ws_flow_feed(f, b->data + b->start, n);
	b->start = b->end = 0; /* the parser keeps what it needs (a header, a control payload) */
	*progress = true;
	return err;
}

bool px_ws_step(struct px_conn *c)
{
	struct px_ws *ws = c->ws;
	bool progress = false;
	int err;

	if (buf_len(&c->up.out) <= WS_BACKLOG)
		progress |= px_side_fill(c, &c->cl, PX_BUF_SIZE);
	if ((err = feed_from(&c->cl, &ws->to_server, &progress)))
		return ws_fail(c, true, err);
	progress |= px_side_flush(c, &c->up, NULL);
	if (buf_len(&c->cl.out) <= WS_BACKLOG)
		progress |= px_side_fill(c, &c->up, PX_BUF_SIZE);
	if ((err = feed_from(&c->up, &ws->to_agent, &progress)))
		return ws_fail(c, false, err);
	progress |= px_side_flush(c, &c->cl, NULL);

	/* A half-close passes through once what came before it has been delivered. */
	if (c->cl.rd_eof && !buf_len(&c->up.out) && !c->up.wr_shut) {
		px_side_shutdown_write(&c->up);
		progress = true;
	}
	if (c->up.rd_eof && !buf_len(&c->cl.out) && !c->cl.wr_shut) {
		px_side_shutdown_write(&c->cl);
		progress = true;
	}
	if ((c->cl.rd_eof || c->up.wr_shut) && (c->up.rd_eof || c->cl.wr_shut) &&
	    (!buf_len(&c->up.out) || c->up.wr_shut) && (!buf_len(&c->cl.out) || c->cl.wr_shut)) {
		char detail[64];

		snprintf(detail, sizeof(detail), "messages_out=%llu messages_in=%llu",
			 (unsigned long long)ws->to_server.messages,
			 (unsigned long long)ws->to_agent.messages);
		ws_audit(c, "allowed", "closed", detail, 0);
		c->audited = true;
		c->phase = PH_CLOSING;
		return true;
	}
	return progress;
}
