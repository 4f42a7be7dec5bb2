// SPDX-License-Identifier: GPL-2.0-only
#include <brotli/decode.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#include "inspect/content_decode.h"

#define RATIO_GRACE (1u << 20)
#define OUT_CHUNK 16384

struct inflater {
	enum inflate_kind kind;
	uint64_t max_out, total_in, total_out;
	uint32_t max_ratio;
	bool done;             /* the compressed stream ended */
	bool sniffed;          /* INFLATE_DEFLATE: zlib header or raw decided */
	z_stream z;
	bool z_live;
	BrotliDecoderState *br;
	ZSTD_DStream *zs;
	uint8_t out[OUT_CHUNK];
};

int inflate_kind_parse(const char *value, size_t len, enum inflate_kind *kind)
{
	static const struct { const char *name; enum inflate_kind kind; } names[] = {
		{ "gzip", INFLATE_GZIP }, { "x-gzip", INFLATE_GZIP }, { "deflate", INFLATE_DEFLATE },
		{ "br", INFLATE_BROTLI }, { "zstd", INFLATE_ZSTD },
	};
	size_t b = 0, e = len;

	while (b < e && (value[b] == ' ' || value[b] == '\t'))
		b++;
	while (e > b && (value[e - 1] == ' ' || value[e - 1] == '\t'))
		e--;
	if (b == e || (e - b == 8 && strncasecmp(value + b, "identity", 8) == 0))
		return 1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == e - b && strncasecmp(value + b, names[i].name, e - b) == 0) {
			*kind = names[i].kind;
			return 0;
		}
	return -ENOTSUP;
}

const char *inflate_kind_name(enum inflate_kind kind)
{
	switch (kind) {
	case INFLATE_GZIP: return "gzip";
	case INFLATE_DEFLATE: return "deflate";
	case INFLATE_RAW: return "permessage-deflate";
	case INFLATE_BROTLI: return "br";
	case INFLATE_ZSTD: return "zstd";
	}
	return "?";
}

static int zinit(struct inflater *inf, int wbits)
{
	if (inf->z_live)
		inflateEnd(&inf->z);
	memset(&inf->z, 0, sizeof(inf->z));
	if (inflateInit2(&inf->z, wbits) != Z_OK)
		return -ENOMEM;
	inf->z_live = true;
	return 0;
}

int inflater_new(enum inflate_kind kind, uint64_t max_out, uint32_t max_ratio,
		 struct inflater **out)
{
	struct inflater *inf = calloc(1, sizeof(*inf));
	int err = 0;

	if (!inf)
		return -ENOMEM;
	inf->kind = kind;
	inf->max_out = max_out;
	inf->max_ratio = max_ratio;
	switch (kind) {
	case INFLATE_GZIP:
		err = zinit(inf, 16 + MAX_WBITS);
		break;
	case INFLATE_RAW:
		err = zinit(inf, -MAX_WBITS);
		break;
	case INFLATE_DEFLATE:
		break;   /* decided on the first byte */
	case INFLATE_BROTLI:
		inf->br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
		err = inf->br ? 0 : -ENOMEM;
		break;
	case INFLATE_ZSTD:
		inf->zs = ZSTD_createDStream();
		err = inf->zs ? 0 : -ENOMEM;
		if (!err && ZSTD_isError(ZSTD_initDStream(inf->zs)))
			err = -ENOMEM;
		/* The window a frame may demand is memory we would spend: keep it at 8 MiB. */
		if (!err)
			ZSTD_DCtx_setParameter(inf->zs, ZSTD_d_windowLogMax, 23);
		break;
	}
	if (err) {
		inflater_free(inf);
		return err;
	}
	*out = inf;
	return 0;
}

void inflater_free(struct inflater *inf)
{
	if (!inf)
		return;
	if (inf->z_live)
		inflateEnd(&inf->z);
	if (inf->br)
		BrotliDecoderDestroyInstance(inf->br);
	if (inf->zs)
		ZSTD_freeDStream(inf->zs);
	free(inf);
}

uint64_t inflater_total_out(const struct inflater *inf)
{
	return inf->total_out;
}

static int emit(struct inflater *inf, size_t n, inflate_sink sink, void *ctx)
{
	if (!n)
		return 0;
	inf->total_out += n;
	if (inf->total_out > inf->max_out)
		return -EFBIG;
	if (inf->max_ratio && inf->total_out > RATIO_GRACE &&
	    inf->total_out / (inf->total_in ? inf->total_in : 1) > inf->max_ratio)
		return -EFBIG;
	return sink(ctx, inf->out, n);
}

static int feed_zlib(struct inflater *inf, const uint8_t *data, size_t len, inflate_sink sink,
		     void *ctx)
{
	int err;

	inf->z.next_in = (Bytef *)data;
	inf->z.avail_in = (uInt)len;
	do {
		int rc;

		inf->z.next_out = inf->out;
		inf->z.avail_out = sizeof(inf->out);
		rc = inflate(&inf->z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
			return -EBADMSG;
		err = emit(inf, sizeof(inf->out) - inf->z.avail_out, sink, ctx);
		if (err)
			return err;
		if (rc == Z_STREAM_END && inf->kind == INFLATE_RAW) {
			/* A BFINAL block ends this sender's stream; a new one may follow. */
			if (inflateReset(&inf->z) != Z_OK)
				return -EBADMSG;
			if (!inf->z.avail_in)
				return 0;
			continue;
		}
		if (rc == Z_STREAM_END) {
			inf->done = true;
			/* gzip allows members back to back; anything else after the end is smuggling. */
			if (inf->z.avail_in && inf->kind == INFLATE_GZIP) {
				if (inflateReset(&inf->z) != Z_OK)
					return -EBADMSG;
				inf->done = false;
				continue;
			}
			return inf->z.avail_in ? -EBADMSG : 0;
		}
		if (rc == Z_BUF_ERROR && inf->z.avail_out)
			break;
	} while (inf->z.avail_in || inf->z.avail_out == 0);
	return 0;
}

static int feed_brotli(struct inflater *inf, const uint8_t *data, size_t len, inflate_sink sink,
		       void *ctx)
{
	const uint8_t *in = data;
	size_t avail_in = len;

	for (;;) {
		uint8_t *next_out = inf->out;
		size_t avail_out = sizeof(inf->out);
		BrotliDecoderResult r = BrotliDecoderDecompressStream(inf->br, &avail_in, &in,
								      &avail_out, &next_out, NULL);
		int err;

		if (r == BROTLI_DECODER_RESULT_ERROR)
			return -EBADMSG;
		err = emit(inf, sizeof(inf->out) - avail_out, sink, ctx);
		if (err)
			return err;
		if (r == BROTLI_DECODER_RESULT_SUCCESS) {
			inf->done = true;
			return avail_in ? -EBADMSG : 0;
		}
		if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
			return 0;
	}
}

static int feed_zstd(struct inflater *inf, const uint8_t *data, size_t len, inflate_sink sink,
		     void *ctx)
{
	ZSTD_inBuffer in = { data, len, 0 };

	for (;;) {
		ZSTD_outBuffer out = { inf->out, sizeof(inf->out), 0 };
		size_t r = ZSTD_decompressStream(inf->zs, &out, &in);
		int err;

		if (ZSTD_isError(r))
			return -EBADMSG;
		err = emit(inf, out.pos, sink, ctx);
		if (err)
			return err;
		/* r == 0: a frame ended; more frames may follow. */
		inf->done = r == 0;
		if (in.pos == in.size && out.pos < out.size)
			return 0;
	}
}

int inflater_feed(struct inflater *inf, const uint8_t *data, size_t len, inflate_sink sink,
		  void *ctx)
{
	int err;

	if (!len)
		return 0;
	inf->total_in += len;
	if (inf->kind == INFLATE_DEFLATE && !inf->sniffed) {
		/* RFC 9110 "deflate" is zlib-wrapped; a valid zlib header has CM 8 and a check. */
		bool zlib = (data[0] & 0x0f) == 8 && len >= 2 ? ((data[0] << 8 | data[1]) % 31 == 0)
							      : (data[0] & 0x0f) == 8;
		err = zinit(inf, zlib ? MAX_WBITS : -MAX_WBITS);
		if (err)
			return err;
		inf->sniffed = true;
	}
	if (inf->done && inf->kind != INFLATE_ZSTD && inf->kind != INFLATE_RAW)
		return -EBADMSG;
	switch (inf->kind) {
	case INFLATE_BROTLI:
		return feed_brotli(inf, data, len, sink, ctx);
	case INFLATE_ZSTD:
		return feed_zstd(inf, data, len, sink, ctx);
	default:
		return feed_zlib(inf, data, len, sink, ctx);
	}
}

int inflater_finish(struct inflater *inf, inflate_sink sink, void *ctx)
{
	if (inf->kind == INFLATE_RAW)
		return 0;
	if (inf->total_in == 0)
		return 0;   /* an empty body carries nothing to decode */
	return inf->done ? 0 : -EBADMSG;
}

int inflater_message_end(struct inflater *inf, int reset, inflate_sink sink, void *ctx)
{
	static const uint8_t tail[4] = { 0, 0, 0xff, 0xff };
	int err;

	inf->total_in += sizeof(tail);
	err = feed_zlib(inf, tail, sizeof(tail), sink, ctx);
	/* The ratio cap is per message; the size cap too. */
	inf->total_in = inf->total_out = 0;
	inf->done = false;
	if (!err && reset)
		err = inflateReset(&inf->z) == Z_OK ? 0 : -EBADMSG;
	return err;
}
