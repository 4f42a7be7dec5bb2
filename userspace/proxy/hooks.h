/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where the inspector and secrets modules plug into cage-proxy's inspect path. Every hook is
 * optional (NULL = allow) and runs on a worker thread, possibly on many threads at once; `ctx`
 * is shared, `*txn` is per request (set it in on_request_headers, free it in on_end).
 *
 * Order per request: on_request_headers, on_request_body* (dechunked pieces, before they are
 * forwarded), on_response_headers (also for 1xx), on_response_body*, on_end.
 *
 * WebSocket: after a 101 the proxy parses RFC 6455 frames both ways (ws_relay.c) and keeps
 * the request's txn until the connection ends. Each data message, per direction, is one
 * on_ws_frame(opcode, p, 0) (start; opcode TEXT or BINARY), then on_ws_frame(opcode, piece,
 * len) for each unmasked piece of its payload as it arrives (a frame may come in several
 * pieces, a message in several frames; the opcode stays the message's), then
 * on_ws_frame(opcode, NULL, 0) (end). A control frame (CLOSE, PING, PONG) is one call with
 * its whole payload (at most 125 bytes), possibly between two pieces of a message. When
 * filter_ws is set it gets the same calls right after on_ws_frame, and what it emits replaces
 * the payload (the proxy re-frames, masking with a fresh key toward the server; a control
 * frame's replacement is emitted during its one call and must stay within 125 bytes). BLOCK
 * from either ends the connection: a close 1008 to the agent (and to the server), audited
 * as proxy.websocket with blk->reason and blk->detail.
 *
 * Verdicts: ALLOW forwards; BLOCK stops the message (the agent gets blk->status, default 403,
 * with the JSON deny body when nothing of the response was sent yet, otherwise the connection
 * is closed) and nothing more of it is forwarded; EDIT is only meaningful for the header
 * hooks: the hook has queued edits on `m` with http1_header_*() and the message is
 * re-serialised with them. EDIT from a body hook acts as ALLOW.
 *
 * Body filters: after a header hook allowed a message with a body, body_mode() may ask for
 * the body to go through filter_body() instead of on_*_body: the filter's output (emit) is
 * forwarded instead of the body. PROXY_BODY_FILTER keeps the length (Content-Length framing
 * is kept; a hold-back is fine); PROXY_BODY_RESIZE may change it, and the proxy re-frames the
 * message as chunked (a response to an HTTP/1.0 request: until close). data NULL = the end
 * of the body: flush what was held back.
 */
#ifndef CAGE_PROXY_HOOKS_H
#define CAGE_PROXY_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/http1.h"

enum proxy_verdict { PROXY_ALLOW = 0, PROXY_BLOCK = 1, PROXY_EDIT = 2 };

/* What the proxy knows about the request; strings stay valid until on_end. */
struct proxy_msg_info {
	const char *cage;
	const char *host;        /* canonical */
	uint16_t port;
	bool tls;                /* the agent spoke TLS to us */
	bool upstream_tls;       /* we dial host:port with TLS (the scheme the policy checked) */
	const char *mode;        /* "inspect" */
	uint32_t pid;            /* of the agent process, 0 when unknown */
	const char *comm;
};

/* Filled by a hook that blocks. */
struct proxy_block {
	int status;              /* 0 → 403 */
	char reason[64];         /* audit reason, e.g. "dlp.hit" */
	char detail[128];        /* audit detail (names and locations, never values); optional */
};

enum proxy_body_mode { PROXY_BODY_PASS = 0, PROXY_BODY_FILTER, PROXY_BODY_RESIZE };

/* Output of a body filter: nonzero aborts (the message is then blocked). */
typedef int (*proxy_emit_fn)(void *arg, const void *buf, size_t len);

struct proxy_hooks {
	void *ctx;
	enum proxy_verdict (*on_request_headers)(void *ctx, void **txn, const struct proxy_msg_info *info,
						 struct http1_message *m, const uint8_t *buf,
						 struct proxy_block *blk);
	enum proxy_verdict (*on_request_body)(void *ctx, void *txn, const uint8_t *data, size_t len,
					      struct proxy_block *blk);
	enum proxy_verdict (*on_response_headers)(void *ctx, void *txn, struct http1_message *m,
						  const uint8_t *buf, struct proxy_block *blk);
	enum proxy_verdict (*on_response_body)(void *ctx, void *txn, const uint8_t *data, size_t len,
					       struct proxy_block *blk);
	enum proxy_verdict (*on_ws_frame)(void *ctx, void *txn, bool from_agent, uint8_t opcode,
					  const uint8_t *payload, size_t len, struct proxy_block *blk);
	enum proxy_verdict (*filter_ws)(void *ctx, void *txn, bool from_agent, uint8_t opcode,
					const uint8_t *payload, size_t len, proxy_emit_fn emit, void *arg,
					struct proxy_block *blk);
	enum proxy_body_mode (*body_mode)(void *ctx, void *txn, bool response);
	enum proxy_verdict (*filter_body)(void *ctx, void *txn, bool response, const uint8_t *data,
					  size_t len, proxy_emit_fn emit, void *arg,
					  struct proxy_block *blk);
	/* complete: the response ended normally (false: blocked, reset, timed out). */
	void (*on_end)(void *ctx, void *txn, bool complete);
};

/* Installs the hooks before the workers start (not thread-safe afterwards). NULL = none. */
void proxy_hooks_set(const struct proxy_hooks *hooks);
const struct proxy_hooks *proxy_hooks_get(void);

#endif
