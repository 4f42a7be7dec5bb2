// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

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

/* The bytes before the next escape are copied as they are ('+' aside): a block copy, not a
 * trip through the state machine per byte. Returns how many. */
static size_t pct_span(const struct pct_decoder *d, const uint8_t *in, size_t len, uint8_t *out)
{
	const uint8_t *e = memchr(in, '%', len);
	size_t n = e ? (size_t)(e - in) : len;

	if (!d->plus_is_space) {
		memcpy(out, in, n);
		return n;
	}
	for (size_t k = 0; k < n; k++)
		out[k] = in[k] == '+' ? ' ' : in[k];
	return n;
}

size_t pct_decode(struct pct_decoder *d, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c;

		if (d->n == 0) {
			size_t n = pct_span(d, in + i, len - i, out + o);

			o += n;
			i += n;
			if (i == len)
				break;
		}
		c = in[i];
		if (d->n == 0) {
			if (c == '%') {
				d->pend[0] = c;
				d->n = 1;
			} else {
				out[o++] = (c == '+' && d->plus_is_space) ? ' ' : c;
			}
			continue;
		}
		if (hexval(c) < 0) {
			/* Not an escape: replay what was held, then look at c afresh. */
			memcpy(out + o, d->pend, d->n);
			o += d->n;
			d->n = 0;
			i--;
			continue;
		}
		if (d->n == 1) {
			d->pend[1] = c;
			d->n = 2;
			continue;
		}
		out[o++] = (uint8_t)(hexval(d->pend[1]) << 4 | hexval(c));
		d->n = 0;
	}
	return o;
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

size_t json_decode(struct json_decoder *d, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c;

		/* Plain text up to the next backslash is copied in one go (a pending high
		 * surrogate must meet the next byte in the state machine first). */
		if (d->state == 0 && !d->high) {
			const uint8_t *e = memchr(in + i, '\\', len - i);
			size_t n = (e ? (size_t)(e - in) : len) - i;

			memcpy(out + o, in + i, n);
			o += n;
			i += n;
			if (i == len)
				break;
		}
		c = in[i];
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
			static const char from[] = "\"\\/bfnrt";
			static const char to[] = "\"\\/\b\f\n\r\t";
			const char *p = c ? strchr(from, c) : NULL;

			if (c == 'u') {
				d->raw[d->nraw++] = c;
				d->state = 2;
				d->nhex = 0;
				d->unit = 0;
			} else if (p) {
				o += flush_high(d, out + o);
				out[o++] = (uint8_t)to[p - from];
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
