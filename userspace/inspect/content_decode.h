/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Bounded streaming decompression for Content-Encoding (gzip, x-gzip, deflate, br, zstd) and
 * WebSocket permessage-deflate. Output goes to a callback in pieces; nothing is buffered
 * beyond the decoder's own window. Two caps stop bombs: total output (max_out) and the
 * output/input ratio once more than 1 MiB has come out. Exceeding either is -EFBIG
 * (→ limit.inflate), corrupt input is -EBADMSG, input after the end of the stream or a
 * truncated stream at finish is -EBADMSG too: the caller blocks, it never forwards bytes it
 * could not scan.
 */
#ifndef CAGE_INSPECT_CONTENT_DECODE_H
#define CAGE_INSPECT_CONTENT_DECODE_H

#include <stddef.h>
#include <stdint.h>

enum inflate_kind {
	INFLATE_GZIP,        /* gzip, x-gzip */
	INFLATE_DEFLATE,     /* "deflate": zlib-wrapped, or raw as some servers send it */
	INFLATE_RAW,         /* permessage-deflate: raw, message ends with 00 00 ff ff */
	INFLATE_BROTLI,
	INFLATE_ZSTD,
};

struct inflater;

typedef int (*inflate_sink)(void *ctx, const uint8_t *data, size_t len);

/* Parses a Content-Encoding value: 0 with *kind, 1 for identity / empty, -ENOTSUP otherwise
 * (several codings stacked, or an unknown one). */
int inflate_kind_parse(const char *value, size_t len, enum inflate_kind *kind);
const char *inflate_kind_name(enum inflate_kind kind);

int inflater_new(enum inflate_kind kind, uint64_t max_out, uint32_t max_ratio,
		 struct inflater **out);
void inflater_free(struct inflater *inf);
int inflater_feed(struct inflater *inf, const uint8_t *data, size_t len, inflate_sink sink,
		  void *ctx);
/* End of the body: -EBADMSG if the stream is incomplete (not for INFLATE_RAW). */
int inflater_finish(struct inflater *inf, inflate_sink sink, void *ctx);
/* permessage-deflate: end of one message (feeds the 00 00 ff ff tail); reset drops the
 * window (no_context_takeover). */
int inflater_message_end(struct inflater *inf, int reset, inflate_sink sink, void *ctx);
uint64_t inflater_total_out(const struct inflater *inf);

#endif
