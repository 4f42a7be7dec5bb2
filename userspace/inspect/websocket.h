/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * RFC 6455 frames, parsed incrementally in either direction: any split of the wire bytes gives
 * the same callbacks. Payloads are unmasked on the way out; nothing is buffered but the frame
 * header (at most 14 bytes) and a control frame's payload (at most 125). Errors are protocol
 * violations the proxy answers with a close 1002: reserved bits other than RSV1 on a
 * permessage-deflate message, reserved opcodes, fragmented or oversized control frames, a
 * continuation with no message open, a new data frame inside a message, a client frame
 * without a mask or a server frame with one, a 64-bit length with the top bit set or a
 * non-minimal length encoding.
 */
#ifndef CAGE_INSPECT_WEBSOCKET_H
#define CAGE_INSPECT_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
	WS_OP_CONT = 0x0, WS_OP_TEXT = 0x1, WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8, WS_OP_PING = 0x9, WS_OP_PONG = 0xa,
};

#define WS_CLOSE_POLICY_VIOLATION 1008
#define WS_CLOSE_PROTOCOL_ERROR   1002
#define WS_CLOSE_TOO_BIG          1009

struct ws_callbacks {
	/* A data message begins (first frame); compressed = RSV1. */
	int (*message_start)(void *ctx, enum ws_opcode op, bool compressed);
	int (*message_data)(void *ctx, const uint8_t *data, size_t len);
	int (*message_end)(void *ctx);
	/* A whole control frame (payload ≤ 125 bytes, unmasked). */
	int (*control)(void *ctx, enum ws_opcode op, const uint8_t *data, size_t len);
};

struct ws_parser {
	bool from_client;      /* frames must be masked */
	bool allow_rsv1;       /* permessage-deflate negotiated */
	bool in_message;
	bool failed;
	uint8_t state;         /* 0 header, 1 payload */
	uint8_t hdr[14];
	uint8_t hlen, hneed;
	uint8_t opcode;
	bool fin, masked;
	uint8_t mask[4];
	uint64_t remaining, done;
	uint8_t ctl[125];
	uint8_t ctl_len;
};

void ws_parser_init(struct ws_parser *p, bool from_client, bool allow_rsv1);
/* 0, the first non-zero callback return, or -EPROTO. */
int ws_parser_feed(struct ws_parser *p, const uint8_t *data, size_t len,
		   const struct ws_callbacks *cb, void *ctx);

/* A close frame with code and reason (≤ 123 bytes, truncated). mask == NULL for a server
 * frame; a client frame needs 4 mask bytes. Returns the frame length or -ENOSPC. */
long ws_build_close(uint8_t *out, size_t outlen, uint16_t code, const char *reason,
		    const uint8_t *mask);

/*
 * Removes every permessage-deflate offer (with its parameters) from a
 * Sec-WebSocket-Extensions value, keeping the other extensions. Returns the new length
 * (0: drop the header), or -ENOSPC. Extension names compare case-insensitively; quoted
 * parameter values may contain ',' and ';'.
 */
long ws_strip_extension(const char *value, size_t len, const char *name, char *out,
			size_t outlen);

#endif
