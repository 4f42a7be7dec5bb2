/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Streaming text decoders that run in front of the secret scanner: percent-decoding (URL
 * path, query, form bodies, RFC 5987 filename*) and JSON string escapes (\uXXXX with
 * surrogate pairs, \n, \/ ...). State carries across calls, so any split of the input gives
 * the same output. Malformed escapes are passed through literally: the raw view is scanned
 * too, so nothing is lost by not guessing.
 */
#ifndef CAGE_INSPECT_TEXTDEC_H
#define CAGE_INSPECT_TEXTDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output never exceeds input length + TEXTDEC_SLACK bytes per call, and out must have room
 * for that much: the copies between escapes store whole blocks (SSE2), past the bytes
 * returned but never past that bound. */
#define TEXTDEC_SLACK 16

struct pct_decoder {
	bool plus_is_space;   /* application/x-www-form-urlencoded and queries */
	uint8_t n;            /* bytes of a pending "%X" */
	uint8_t pend[2];
};

struct json_decoder {
	uint8_t state;        /* 0 plain, 1 after '\', 2 in \uXXXX */
	uint8_t nhex;
	uint16_t unit;
	uint16_t high;        /* a pending high surrogate, 0 if none */
	uint8_t raw[12];      /* the escape text so far, replayed if it turns out malformed */
	uint8_t nraw;
};

void pct_init(struct pct_decoder *d, bool plus_is_space);
size_t pct_decode(struct pct_decoder *d, const uint8_t *in, size_t len, uint8_t *out);
/* pct_decode, and the same bytes with every literal '+' kept into keep (same length): the
 * text the base64 run detector reads in a form body, where "+" means a space to the server
 * but an unescaped base64 value (curl -d "v=$(base64 f)") still carries its '+'. */
size_t pct_decode_keep(struct pct_decoder *d, const uint8_t *in, size_t len, uint8_t *out,
		       uint8_t *keep);
size_t pct_finish(struct pct_decoder *d, uint8_t *out);

void json_init(struct json_decoder *d);
size_t json_decode(struct json_decoder *d, const uint8_t *in, size_t len, uint8_t *out);
size_t json_finish(struct json_decoder *d, uint8_t *out);

/* Whole-buffer forms (out must hold len + TEXTDEC_SLACK bytes). */
size_t pct_decode_all(const uint8_t *in, size_t len, bool plus_is_space, uint8_t *out);
size_t json_decode_all(const uint8_t *in, size_t len, uint8_t *out);

/* Run decoders used by the scanner, exposed for tests: return bytes written or -EINVAL. */
long base64_decode(const char *in, size_t len, uint8_t *out, size_t outlen);
long hex_decode(const char *in, size_t len, uint8_t *out, size_t outlen);
long base32_decode(const char *in, size_t len, uint8_t *out, size_t outlen);

#endif
