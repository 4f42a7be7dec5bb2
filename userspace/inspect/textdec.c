// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "inspect/textdec.h"

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void pct_init(struct pct_decoder *d, bool plus_is_space)
{
	memset(d, 0, sizeof(*d));
	d->plus_is_space = plus_is_space;
}

#if defined(__SSE2__)
/* Bit b set when p[b] == c. */
static inline uint64_t eq_mask64(const uint8_t *p, uint8_t c)
{
	uint64_t m = 0;

	for (int k = 0; k < 4; k++)
		m |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(
			     _mm_loadu_si128((const __m128i *)(p + 16 * k)), _mm_set1_epi8((char)c)))
		     << (16 * k);
	return m;
}

/* 64 bytes from in to out, '+' made ' ' when plus is set. */
static inline void copy64(uint8_t *out, const uint8_t *in, bool plus)
{
	for (int k = 0; k < 64; k += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(in + k));

		if (plus) {
			__m128i p = _mm_cmpeq_epi8(x, _mm_set1_epi8('+'));

			x = _mm_or_si128(_mm_andnot_si128(p, x), _mm_and_si128(p, _mm_set1_epi8(' ')));
		}
		_mm_storeu_si128((__m128i *)(out + k), x);
	}
}

/* A hex digit's value + 1; 0 for any other byte. */
#define H(c, v) [c] = (v) + 1
static const uint8_t hex1[256] = {
	H('0', 0), H('1', 1), H('2', 2), H('3', 3), H('4', 4), H('5', 5), H('6', 6), H('7', 7),
	H('8', 8), H('9', 9), H('a', 10), H('b', 11), H('c', 12), H('d', 13), H('e', 14),
	H('f', 15), H('A', 10), H('B', 11), H('C', 12), H('D', 13), H('E', 14), H('F', 15),
};
#undef H

/*
 * The bulk of escaped base64 (an escape every few dozen bytes), with no state pending:
 * 64 bytes are stored whole from each escape to the next (the next store overwrites what
 * went past it) and each whole "%XX" is decoded in place, so an escape costs a few
 * instructions and rarely a mispredicted branch. Stops 128 bytes before the end, or at an
 * escape it cannot decode whole (the caller's state machine takes that one). Output stays
 * within the caller's bound: it never runs ahead of the input by more than it did.
 */
static void pct_bulk(const uint8_t *in, size_t len, uint8_t *out, uint8_t *keep, bool plus,
		     size_t *ip, size_t *op)
{
	size_t i = *ip, o = *op;

	while (i + 128 <= len) {
		uint64_t m = eq_mask64(in + i, '%');
		unsigned e, h, l;

		copy64(out + o, in + i, plus);
		if (keep)
			copy64(keep + o, in + i, false);
		if (!m) {
			i += 64;
			o += 64;
			continue;
		}
		e = (unsigned)__builtin_ctzll(m);
		i += e;
		o += e;
		h = hex1[in[i + 1]];
		l = hex1[in[i + 2]];
		if (!h || !l)
			break;
		out[o] = (uint8_t)((h - 1) << 4 | (l - 1));
		if (keep)
			keep[o] = out[o];
		o++;
		i += 3;
	}
	*ip = i;
	*op = o;
}

/*
 * The bytes of in[0..len) before the first stop byte, copied to out (and keep, if not NULL)
 * sixteen at a time, with '+' made ' ' in out when plus is set; returns how many. Whole
 * blocks are stored, so up to 15 bytes past the count are written (never past out + len).
 * Escaped base64 has an escape every few dozen bytes, too often for memchr and memcpy calls
 * to pay.
 */
static size_t span16(const uint8_t *in, size_t len, uint8_t *out, uint8_t *keep, uint8_t stop,
		     bool plus)
{
	size_t k = 0;

	for (; k + 16 <= len; k += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(in + k));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8((char)stop)));

		if (keep)
			_mm_storeu_si128((__m128i *)(keep + k), x);
		if (plus) {
			__m128i p = _mm_cmpeq_epi8(x, _mm_set1_epi8('+'));

			x = _mm_or_si128(_mm_andnot_si128(p, x), _mm_and_si128(p, _mm_set1_epi8(' ')));
		}
		_mm_storeu_si128((__m128i *)(out + k), x);
		if (m)
			return k + (size_t)__builtin_ctz(m);
	}
	for (; k < len && in[k] != stop; k++) {
		if (keep)
			keep[k] = in[k];
		out[k] = plus && in[k] == '+' ? ' ' : in[k];
	}
	return k;
}
#endif

/* The bytes before the next escape are copied as they are ('+' aside): a block copy, not a
 * trip through the state machine per byte. keep, if not NULL, gets them with '+' as it is.
 * Returns how many. */
static size_t pct_span(const struct pct_decoder *d, const uint8_t *in, size_t len, uint8_t *out,
		       uint8_t *keep)
{
#if defined(__SSE2__)
	return span16(in, len, out, keep, '%', d->plus_is_space);
#else
	const uint8_t *e = memchr(in, '%', len);
	size_t n = e ? (size_t)(e - in) : len;

	if (keep)
		memcpy(keep, in, n);
	if (!d->plus_is_space) {
		memcpy(out, in, n);
		return n;
	}
	for (size_t k = 0; k < n; k++)
		out[k] = in[k] == '+' ? ' ' : in[k];
	return n;
#endif
}

/* One byte through the state machine of a pending "%X" (d->n > 0); returns the bytes it
 * writes to out (and keep), and *again when c must be looked at afresh. */
static size_t pct_pending(struct pct_decoder *d, uint8_t c, uint8_t *out, uint8_t *keep,
			  bool *again)
{
	size_t n = d->n;

	*again = false;
	if (hexval(c) < 0) {
		/* Not an escape: replay what was held, then look at c afresh. */
		memcpy(out, d->pend, n);
		if (keep)
			memcpy(keep, d->pend, n);
		d->n = 0;
		*again = true;
		return n;
	}
	if (d->n == 1) {
		d->pend[1] = c;
		d->n = 2;
		return 0;
	}
	out[0] = (uint8_t)(hexval(d->pend[1]) << 4 | hexval(c));
	if (keep)
		keep[0] = out[0];
	d->n = 0;
	return 1;
}

size_t pct_decode_keep(struct pct_decoder *d, const uint8_t *in, size_t len, uint8_t *out,
		       uint8_t *keep)
{
	size_t i = 0, o = 0;

	while (i < len) {
		bool again;

		if (d->n) {
			o += pct_pending(d, in[i], out + o, keep ? keep + o : NULL, &again);
			i += !again;
			continue;
		}
#if defined(__SSE2__)
		pct_bulk(in, len, out, keep, d->plus_is_space, &i, &o);
#endif
		{
			size_t n = pct_span(d, in + i, len - i, out + o, keep ? keep + o : NULL);

			o += n;
			i += n;
		}
		if (i == len)
			break;
		/* in[i] is '%'. A whole escape in view is decoded on the spot (base64 in a
		 * form value has one every 32 characters); a cut one waits in pend. */
		if (i + 2 < len && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
			out[o] = (uint8_t)(hexval(in[i + 1]) << 4 | hexval(in[i + 2]));
			if (keep)
				keep[o] = out[o];
			o++;
			i += 3;
		} else if (i + 1 < len && hexval(in[i + 1]) < 0) {
			out[o] = '%';
			if (keep)
				keep[o] = '%';
			o++;
			i++;
		} else {
			d->pend[0] = '%';
			d->n = 1;
			i++;
		}
	}
	return o;
}

size_t pct_decode(struct pct_decoder *d, const uint8_t *in, size_t len, uint8_t *out)
{
	return pct_decode_keep(d, in, len, out, NULL);
}

size_t pct_finish(struct pct_decoder *d, uint8_t *out)
{
	size_t n = d->n;

	memcpy(out, d->pend, n);
	d->n = 0;
	return n;
}

void json_init(struct json_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

static size_t put_utf8(uint32_t cp, uint8_t *out)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* A lone surrogate becomes U+FFFD, as JSON parsers that accept it do. */
static size_t flush_high(struct json_decoder *d, uint8_t *out)
{
	if (!d->high)
		return 0;
	d->high = 0;
	return put_utf8(0xfffd, out);
}

static size_t replay(struct json_decoder *d, uint8_t *out)
{
	size_t n = d->nraw;

	memcpy(out, d->raw, n);
	d->nraw = 0;
	d->state = 0;
	return n;
}

static const char simple_from[] = "\"\\/bfnrt";
static const char simple_to[] = "\"\\/\b\f\n\r\t";

#if defined(__SSE2__)
/* What a one-letter escape's letter stands for; 0 for the others ('u' and malformed). */
static const uint8_t simple1[256] = {
	['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b', ['f'] = '\f', ['n'] = '\n',
	['r'] = '\r', ['t'] = '\t',
};

/* pct_bulk for JSON strings: one-letter escapes decoded in place, a "\u" left to the state
 * machine. */
static void json_bulk(const uint8_t *in, size_t len, uint8_t *out, size_t *ip, size_t *op)
{
	size_t i = *ip, o = *op;

	while (i + 128 <= len) {
		uint64_t m = eq_mask64(in + i, '\\');
		unsigned e;
		uint8_t c;

		copy64(out + o, in + i, false);
		if (!m) {
			i += 64;
			o += 64;
			continue;
		}
		e = (unsigned)__builtin_ctzll(m);
		i += e;
		o += e;
		c = simple1[in[i + 1]];
		if (!c)
			break;
		out[o++] = c;
		i += 2;
	}
	*ip = i;
	*op = o;
}
#endif

size_t json_decode(struct json_decoder *d, const uint8_t *in, size_t len, uint8_t *out)
{
	const char *simple;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c;

		/* Plain text up to the next backslash is copied in one go (a pending high
		 * surrogate must meet the next byte in the state machine first). */
		if (d->state == 0 && !d->high) {
#if defined(__SSE2__)
			size_t n;

			json_bulk(in, len, out, &i, &o);
			n = span16(in + i, len - i, out + o, NULL, '\\', false);
#else
			const uint8_t *e = memchr(in + i, '\\', len - i);
			size_t n = (e ? (size_t)(e - in) : len) - i;

			memcpy(out + o, in + i, n);
#endif
			o += n;
			i += n;
			if (i == len)
				break;
		}
		c = in[i];
		/* A one-letter escape whose letter is in view ("\/" every 64 characters of a
		 * base64 string from PHP's json_encode) is decoded on the spot. */
		if (d->state == 0 && !d->high && c == '\\' && i + 1 < len &&
		    (simple = memchr(simple_from, in[i + 1], sizeof(simple_from) - 1))) {
			out[o++] = (uint8_t)simple_to[simple - simple_from];
			i++;
			continue;
		}
		switch (d->state) {
		case 0:
			if (c == '\\') {
				d->state = 1;
				d->raw[0] = c;
				d->nraw = 1;
			} else {
				o += flush_high(d, out + o);
				out[o++] = c;
			}
			break;
		case 1: {
			const char *p = c ? strchr(simple_from, c) : NULL;

			if (c == 'u') {
				d->raw[d->nraw++] = c;
				d->state = 2;
				d->nhex = 0;
				d->unit = 0;
			} else if (p) {
				o += flush_high(d, out + o);
				out[o++] = (uint8_t)simple_to[p - simple_from];
				d->state = 0;
				d->nraw = 0;
			} else {
				o += flush_high(d, out + o);
				o += replay(d, out + o);
				i--;
			}
			break;
		}
		case 2:
			if (hexval(c) < 0) {
				o += flush_high(d, out + o);
				o += replay(d, out + o);
				i--;
				break;
			}
			d->raw[d->nraw++] = c;
			d->unit = (uint16_t)(d->unit << 4 | hexval(c));
			if (++d->nhex < 4)
				break;
			d->state = 0;
			d->nraw = 0;
			if (d->unit >= 0xd800 && d->unit <= 0xdbff) {
				o += flush_high(d, out + o);
				d->high = d->unit;
			} else if (d->unit >= 0xdc00 && d->unit <= 0xdfff && d->high) {
				uint32_t cp = 0x10000 + ((uint32_t)(d->high - 0xd800) << 10) +
					      (d->unit - 0xdc00);
				d->high = 0;
				o += put_utf8(cp, out + o);
			} else {
				o += flush_high(d, out + o);
				o += put_utf8(d->unit >= 0xdc00 && d->unit <= 0xdfff ? 0xfffd : d->unit,
					      out + o);
			}
			break;
		}
	}
	return o;
}

size_t json_finish(struct json_decoder *d, uint8_t *out)
{
	size_t o = flush_high(d, out);

	o += replay(d, out + o);
	return o;
}

size_t pct_decode_all(const uint8_t *in, size_t len, bool plus_is_space, uint8_t *out)
{
	struct pct_decoder d;
	size_t o;

	pct_init(&d, plus_is_space);
	o = pct_decode(&d, in, len, out);
	return o + pct_finish(&d, out + o);
}

size_t json_decode_all(const uint8_t *in, size_t len, uint8_t *out)
{
	struct json_decoder d;
	size_t o;

	json_init(&d);
	o = json_decode(&d, in, len, out);
	return o + json_finish(&d, out + o);
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static int b32val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

static long bits_decode(const char *in, size_t len, uint8_t *out, size_t outlen,
			int (*val)(char), unsigned width)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	while (len && in[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int v = val(in[i]);

		if (v < 0)
			return -EINVAL;
		acc = acc << width | (uint32_t)v;
		bits += width;
		if (bits >= 8) {
			bits -= 8;
			if (o == outlen)
				return -ENOSPC;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (long)o;
}

long base64_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	return bits_decode(in, len, out, outlen, b64val, 6);
}

static int hexval_c(char c)
{
	return hexval((uint8_t)c);
}

long hex_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	return len % 2 ? -EINVAL : bits_decode(in, len, out, outlen, hexval_c, 4);
}

long base32_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	return bits_decode(in, len, out, outlen, b32val, 5);
}
