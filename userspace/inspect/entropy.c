// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shannon entropy in bits per byte from a byte histogram. log2 is computed here so the
 * library does not pull in libm for one function: exponent from the IEEE bits, mantissa by
 * the atanh series, accurate to 1e-9, far below the thresholds' resolution.
 */
#include <string.h>

#include "inspect/inspect_internal.h"

static double log2_pos(double x)
{
	union { double d; uint64_t u; } v = { .d = x };
	int e = (int)((v.u >> 52) & 0x7ff) - 1023;
	double m, s, s2, sum = 0, term;

	v.u = (v.u & ((1ull << 52) - 1)) | (1023ull << 52);
	m = v.d;                                 /* [1, 2) */
	if (m > 1.41421356237) {                 /* keep s small: m in [0.707, 1.414] */
		m /= 2;
		e++;
	}
	s = (m - 1) / (m + 1);
	s2 = s * s;
	term = s;
	for (int k = 1; k < 20; k += 2) {
		sum += term / k;
		term *= s2;
	}
	return e + 2 * sum * 1.4426950408889634;
}

double shannon_entropy(const uint32_t hist[256], uint64_t total)
{
	double sum = 0;

	if (total == 0)
		return 0;
	for (int i = 0; i < 256; i++)
		if (hist[i])
			sum += hist[i] * log2_pos((double)hist[i]);
	return log2_pos((double)total) - sum / (double)total;
}

double shannon_entropy_bytes(const uint8_t *p, size_t len)
{
	uint32_t hist[256];

	memset(hist, 0, sizeof(hist));
	for (size_t i = 0; i < len; i++)
		hist[p[i]]++;
	return shannon_entropy(hist, len);
}

/*
 * For short values (URL query values, path segments) the plain estimate is biased low: 80
 * random base64url characters measure about 5.3 bits although the source has 6. The
 * Miller-Madow correction adds (distinct symbols - 1) / (2 N ln 2), which brings random
 * tokens over 5.5 while prose, hex digests and UUIDs stay well under it.
 */
double shannon_entropy_short(const uint8_t *p, size_t len)
{
	uint32_t hist[256];
	unsigned distinct = 0;

	if (!len)
		return 0;
	memset(hist, 0, sizeof(hist));
	for (size_t i = 0; i < len; i++)
		distinct += hist[p[i]]++ == 0;
	return shannon_entropy(hist, len) + (distinct - 1) / (2.0 * (double)len * 0.6931471805599453);
}

/*
 * Short tokens (row 71: 40 random base62 characters) defeat both estimates above: 40 draws
 * from 62 symbols repeat too often for a histogram to show 5.95 bits (Miller-Madow gives
 * 5.3 on average; a 5.5 threshold missed half of them). A value made only of token
 * characters is instead compared with a uniform draw from the alphabet its character classes
 * imply (digits 10, lower and upper case 26 each, or 6 when only a-f/A-F appear, each other
 * symbol 1): when its count of distinct characters is within 2.5 standard deviations of what
 * such a draw gives, it is taken as random over that alphabet and measures log2 of its size.
 * Hex digests and UUIDs imply 16-17 symbols (4.1 bits); identifiers, paths and prose repeat
 * far more than a random draw and keep the Miller-Madow figure. Measured on 20000 random
 * base62 tokens of 40 characters: 0.7% stay under 5.5 (2.5 sigma); tests/unit record it.
 */
static double sqrt_pos(double x)
{
	double r = x > 1 ? x : 1;

	if (x <= 0)
		return 0;
	for (int i = 0; i < 40; i++)
		r = 0.5 * (r + x / r);
	return r;
}

static double pow_int(double b, size_t e)
{
	double r = 1;

	for (; e; e >>= 1, b *= b)
		if (e & 1)
			r *= b;
	return r;
}

static bool token_byte(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '-' || c == '_' || c == '+' || c == '/' || c == '=' || c == '.' || c == '~';
}

double token_entropy(const uint8_t *p, size_t len)
{
	bool seen[256] = { false }, digit = false, lower = false, upper = false;
	bool lower_hex = true, upper_hex = true;
	unsigned distinct = 0, symbols = 0;
	double mm = shannon_entropy_short(p, len), k, q, q2, expect, var;

	if (len < 2 || mm < 4.5)
		return mm;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (!token_byte(c))
			return mm;
		if (!seen[c]) {
			seen[c] = true;
			distinct++;
			if (c >= '0' && c <= '9')
				digit = true;
			else if (c >= 'a' && c <= 'z')
				lower = true, lower_hex = lower_hex && c <= 'f';
			else if (c >= 'A' && c <= 'Z')
				upper = true, upper_hex = upper_hex && c <= 'F';
			else
				symbols++;
		}
	}
	k = (digit ? 10 : 0) + (lower ? (lower_hex && !upper ? 6 : 26) : 0) +
	    (upper ? (upper_hex && !lower ? 6 : 26) : 0) + symbols;
	if (k < 2)
		return mm;
	/* Distinct symbols in len uniform draws from k: mean k(1-q), q = (1-1/k)^len. */
	q = pow_int(1 - 1 / k, len);
	q2 = pow_int(1 - 2 / k, len);
	expect = k * (1 - q);
	var = k * (k - 1) * q2 + k * q - k * k * q * q;
	if ((double)distinct < expect - 2.5 * sqrt_pos(var))
		return mm;
	return log2_pos(k) > mm ? log2_pos(k) : mm;
}
