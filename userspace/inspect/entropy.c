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
