/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The WebSocket relay of the inspect path: after a 101 both directions are parsed as RFC 6455
 * frames (inspect/websocket.h), every data message and control frame goes through the hooks
 * (hooks.h: on_ws_frame, filter_ws), and what is allowed is re-framed: payloads toward the
 * server are masked again with a fresh key, so a filter may change their length. Nothing is
 * buffered but a frame header, one control payload and at most PX_WS_FRAME_MAX bytes of
 * payload per direction: a message of any size streams. Extensions (permessage-deflate) are
 * never negotiated: the offer is removed from the upgrade request, so every payload is the
 * plain bytes the hooks must judge.
 */
#ifndef CAGE_PROXY_WS_RELAY_H
#define CAGE_PROXY_WS_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inspect/websocket.h"
#include "proxy/hooks.h"
#include "proxy/http1.h"
#include "proxy/proxy.h"

/* Payload of one re-framed data frame: a longer run is sent as several fragments. */
#define PX_WS_FRAME_MAX PX_BUF_SIZE

/* One direction: parse, hooks, re-frame into *out. No sockets (unit-tested on its own). */
struct px_ws_flow {
	struct ws_parser p;
	bool from_agent;             /* frames come masked from the agent, go masked to the server */
	const struct proxy_hooks *h; /* NULL: relay only */
	void *txn;
	struct proxy_block *blk;     /* filled when a hook blocks */
	struct px_buf *out;          /* the other side's output buffer */
	struct px_buf stage;         /* filtered payload of the open message, not framed yet */
	uint8_t msg_op;              /* TEXT or BINARY of the open message */
	bool out_started;            /* a frame of it went out: the next one is a continuation */
	uint8_t ctl[125];            /* a control frame's filtered payload */
	size_t ctl_len;
	int emit_err;                /* why an emit failed (the filter then reports a block) */
	bool close_seen;             /* a close frame went through in this direction */
	uint64_t messages;
};

void px_ws_flow_init(struct px_ws_flow *f, bool from_agent, const struct proxy_hooks *h,
		     void *txn, struct px_buf *out, struct proxy_block *blk);
/*
 * Wire bytes of this direction, any split. 0; -EPROTO (an RFC 6455 violation); -EACCES (a hook
 * blocked, blk says why; nothing of the blocked piece was framed); -EMSGSIZE (a filtered control
 * payload over 125 bytes); -ENOMEM.
 */
int px_ws_flow_feed(struct px_ws_flow *f, const uint8_t *data, size_t len);
void px_ws_flow_free(struct px_ws_flow *f);

/* Appends one frame with header byte b0 (FIN, RSV, opcode): masked with a fresh random key
 * when to_server. 0 or -ENOMEM. */
int px_ws_put_frame(struct px_buf *out, bool to_server, uint8_t b0, const uint8_t *payload,
		    size_t len);

/* The upgrade request: drops Sec-WebSocket-Extensions (we read every payload in clear). */
void px_ws_prepare_request(struct http1_message *m, const uint8_t *buf);
/* A 101 we can relay: it names no extension (we offered none). */
bool px_ws_response_ok(const struct http1_message *m, const uint8_t *buf);

/* After the 101 was queued for the agent: the connection becomes a WebSocket relay. 0 or -errno
 * (the upgrade request has not been forwarded whole: refuse the upgrade). */
int px_ws_begin(struct px_conn *c);
/* Drives the relay (from px_http_step while c->ws is set). True on progress. */
bool px_ws_step(struct px_conn *c);
void px_ws_free(struct px_conn *c);

#endif
