/* SPDX-License-Identifier: GPL-2.0-only */
/* One RFC 6455 frame on the wire, for the WebSocket parser and relay tests: FIN, RSV1, opcode,
 * the shortest length encoding, and the payload masked with `mask` (NULL: unmasked). */
#ifndef CAGE_TEST_WS_FRAME_UTIL_H
#define CAGE_TEST_WS_FRAME_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline size_t ws_wire_frame(uint8_t *out, bool fin, bool rsv1, uint8_t op,
				   const void *payload, size_t len, const uint8_t *mask)
{
	size_t at = 2;

	out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op);
	if (len < 126) {
		out[1] = (uint8_t)len;
	} else if (len < 65536) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		at = 4;
	} else {
		out[1] = 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		at = 10;
	}
	if (mask) {
		out[1] |= 0x80;
		memcpy(out + at, mask, 4);
		at += 4;
	}
	for (size_t i = 0; i < len; i++)
		out[at + i] = ((const uint8_t *)payload)[i] ^ (mask ? mask[i & 3] : 0);
	return at + len;
}

#endif
