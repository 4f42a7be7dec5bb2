// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scan nodes: a Vectorscan stream plus the detector that turns base64 / base64url / hex /
 * base32 runs of 16 characters or more into decoded child streams while they stream by, two
 * levels deep (base64 of hex of a secret is found; a third layer is not). Runs continue across
 * CR/LF after 16 or more characters (MIME line wrapping) and end at any other byte, '=' included, so "d=<base64>" starts
 * its run on the right quantum. A run is decoded at its own alignment only: the encoders an
 * agent uses start at the first byte of the value.
 *
 * Escaped text (JSON "\/", a form's "%2F"): once a decoded view starts, at the first escape,
 * it takes over the raw view's run in progress (decoders and child streams copied) and
 * decodes the runs of the unescaped text from there on, so a base64 string cut by escapes is
 * one run, decoded from its first character, as the server will decode it. The raw view then
 * only measures its runs (dlp.ctype_base64) and scans its bytes; it no longer decodes the
 * pieces between escapes, which began at an escape's letter and were misaligned anyway.
 *
 * Speed (docs/inspectors.md, Speed): the alphabet test and the base64 decode take 16 bytes
 * per step with SSE2 on x86-64 (part of the base ISA, no compiler flag) and 8 or 64 at a
 * time in plain C elsewhere; both give exactly the bytes and runs of the per-byte tables.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "inspect/inspect_internal.h"

#define C_B64 1u
#define C_HEX 2u
#define C_B32 4u
#define C_WS 8u

static uint8_t cls[256];
static int8_t val[RUN_CODECS][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	memset(val, -1, sizeof(val));
	for (int i = 0; i < 64; i++) {
		cls[(uint8_t)b64[i]] |= C_B64;
		val[RUN_BASE64][(uint8_t)b64[i]] = (int8_t)i;
	}
	cls['-'] |= C_B64;
	cls['_'] |= C_B64;
	val[RUN_BASE64]['-'] = 62;
	val[RUN_BASE64]['_'] = 63;
	for (int c = 0; c < 256; c++) {
		int h = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
						   : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
		int b = (c >= 'A' && c <= 'Z') ? c - 'A' : (c >= 'a' && c <= 'z') ? c - 'a'
						: (c >= '2' && c <= '7') ? c - '2' + 26 : -1;

		if (h >= 0) {
			cls[c] |= C_HEX;
			val[RUN_HEX][c] = (int8_t)h;
		}
		if (b >= 0) {
			cls[c] |= C_B32;
			val[RUN_BASE32][c] = (int8_t)b;
		}
	}
	cls['\r'] = C_WS;
	cls['\n'] = C_WS;
}

/* Decoded bytes waiting for the child stream: RUN_OUT_BYTES, plus room for the whole-word
 * stores of the bulk base64 decoder, which write a few bytes past the ones they produce. */
#define OUT_SLACK 16

#if defined(__SSE2__)
/* SSE2 is part of x86-64 itself, so none of this needs a compiler flag. Byte ranges are
 * signed compares after a bias (SSE2 has no unsigned byte compare). */
static inline __m128i in_range(__m128i x, char lo, char count)
{
	return _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - lo))),
			      _mm_set1_epi8((char)(0x80 + count)));
}

/* The C_B64 class of 16 bytes (0xff where in the alphabet) and their 6-bit values. */
static inline __m128i b64_class16(__m128i x, __m128i *vals)
{
	const __m128i upper = in_range(x, 'A', 26), lower = in_range(x, 'a', 26);
	const __m128i digit = in_range(x, '0', 10);
	const __m128i plus = _mm_cmpeq_epi8(x, _mm_set1_epi8('+'));
	const __m128i dash = _mm_cmpeq_epi8(x, _mm_set1_epi8('-'));
	const __m128i slash = _mm_cmpeq_epi8(x, _mm_set1_epi8('/'));
	const __m128i under = _mm_cmpeq_epi8(x, _mm_set1_epi8('_'));

	/* value = byte + the offset of its range; '+' '-' are 62 and '/' '_' 63. */
	__m128i off = _mm_and_si128(upper, _mm_set1_epi8(-'A'));

	off = _mm_or_si128(off, _mm_and_si128(lower, _mm_set1_epi8(26 - 'a')));
	off = _mm_or_si128(off, _mm_and_si128(digit, _mm_set1_epi8(52 - '0')));
	off = _mm_or_si128(off, _mm_and_si128(plus, _mm_set1_epi8(62 - '+')));
	off = _mm_or_si128(off, _mm_and_si128(dash, _mm_set1_epi8(62 - '-')));
	off = _mm_or_si128(off, _mm_and_si128(slash, _mm_set1_epi8(63 - '/')));
	off = _mm_or_si128(off, _mm_and_si128(under, _mm_set1_epi8(63 - '_')));
	*vals = _mm_add_epi8(x, off);
	return _mm_or_si128(_mm_or_si128(_mm_or_si128(upper, lower), digit),
			    _mm_or_si128(_mm_or_si128(plus, dash), _mm_or_si128(slash, under)));
}

/* The same class with fewer operations, for the scans that need no values: '+' to '9' is
 * one range less ',' and '.', and c | 0x20 folds A-Z onto a-z and no other byte into it. */
static inline uint64_t alphabet_mask16(const uint8_t *p)
{
	const __m128i x = _mm_loadu_si128((const __m128i *)p);
	const __m128i letter = in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 26);
	const __m128i sym = _mm_andnot_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(',')),
							  _mm_cmpeq_epi8(x, _mm_set1_epi8('.'))),
					     in_range(x, '+', 15));

	return (uint16_t)_mm_movemask_epi8(
		_mm_or_si128(_mm_or_si128(letter, sym), _mm_cmpeq_epi8(x, _mm_set1_epi8('_'))));
}

/* Bit b set when p[b] is in the base64 alphabet (the C_B64 class of tables_init). */
static inline uint64_t alphabet_mask64(const uint8_t *p)
{
	return alphabet_mask16(p) | alphabet_mask16(p + 16) << 16 | alphabet_mask16(p + 32) << 32 |
	       alphabet_mask16(p + 48) << 48;
}

/*
 * Sixteen base64 characters from a quantum boundary to twelve bytes at out (two 8-byte
 * stores: 14 bytes written, hence OUT_SLACK), false without writing if any of them is
 * outside the alphabet.
 * Lane arithmetic: per 16-bit word a<<6|b, per 32-bit word (a<<6|b)<<12|(c<<6|d) by
 * multiply-add, then each word's three low bytes, high first, packed together.
 */
static inline bool b64_decode16(const uint8_t *p, uint8_t *out)
{
	__m128i v, w, bs;

	if (_mm_movemask_epi8(b64_class16(_mm_loadu_si128((const __m128i *)p), &v)) != 0xffff)
		return false;
	w = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(v, _mm_set1_epi16(0xff)), 6),
			 _mm_srli_epi16(v, 8));
	w = _mm_madd_epi16(w, _mm_set1_epi32(0x00011000));
	/* Byte-swap each 32-bit word (x = 0 b2 b1 b0 -> b2 b1 b0 0), then drop its spare byte:
	 * in each 64-bit half, word 0's three bytes then word 1's. */
	bs = _mm_or_si128(_mm_slli_epi16(w, 8), _mm_srli_epi16(w, 8));
	bs = _mm_shufflehi_epi16(_mm_shufflelo_epi16(bs, 0xb1), 0xb1);
	bs = _mm_srli_epi32(bs, 8);
	bs = _mm_or_si128(_mm_and_si128(bs, _mm_set1_epi64x(0xffffff)),
			  _mm_slli_epi64(_mm_srli_epi64(bs, 32), 24));
	_mm_storel_epi64((__m128i *)out, bs);
	_mm_storel_epi64((__m128i *)(out + 6), _mm_srli_si128(bs, 8));
	return true;
}
#else
/* Bit b set when p[b] is in the base64 alphabet. */
static inline uint64_t alphabet_mask64(const uint8_t *p)
{
	uint64_t m = 0;

	for (int b = 0; b < 64; b++)
		m |= (uint64_t)(cls[p[b]] & C_B64) << b;
	return m;
}

/* Portable form of the above: two groups of eight characters, six bytes each. */
static inline bool b64_decode16(const uint8_t *p, uint8_t *out)
{
	const uint8_t *vt = (const uint8_t *)val[RUN_BASE64];
	uint64_t g[2];

	for (int h = 0; h < 2; h++) {
		const uint8_t *q = p + 8 * h;
		uint64_t c0 = vt[q[0]], c1 = vt[q[1]], c2 = vt[q[2]], c3 = vt[q[3]];
		uint64_t c4 = vt[q[4]], c5 = vt[q[5]], c6 = vt[q[6]], c7 = vt[q[7]];

		/* Outside the alphabet is 0xff in the table: bit 7 of any of the eight. */
		if ((c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7) & 0x80)
			return false;
		g[h] = c0 << 42 | c1 << 36 | c2 << 30 | c3 << 24 | c4 << 18 | c5 << 12 | c6 << 6 | c7;
	}
	for (int h = 0; h < 2; h++)
		for (int b = 0; b < 6; b++)
			out[6 * h + b] = (uint8_t)(g[h] >> (40 - 8 * b));
	return true;
}
#endif

static const char *const codec_name[RUN_CODECS] = { "base64", "hex", "base32" };
static const uint8_t codec_bits[RUN_CODECS] = { 6, 4, 5 };
static const uint8_t codec_cls[RUN_CODECS] = { C_B64, C_HEX, C_B32 };

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
		    unsigned int flags, void *ctx)
{
	struct scan_node *n = ctx;

	(void)from;
	(void)flags;
	/* The split view rescans recent values: only a match that takes in new bytes is news,
	 * and each pass looks for one kind of rule (session.c, split_step). */
	if (n == n->s->split_node &&
	    (to <= n->s->split_skip || id >= n->s->db->n_rules ||
	     n->s->db->rules[id].known != (n->s->split_pass == SPLIT_PASS_KNOWN)))
		return 0;
	session_rule_hit(n->s, id, n->decoders);
	return 0;
}

struct scan_node *scan_node_new(struct inspect_session *s, unsigned depth, const char *decoders)
{
	struct scan_node *n = calloc(1, sizeof(*n));

	pthread_once(&tables_once, tables_init);
	if (!n)
		return NULL;
	n->s = s;
	n->depth = depth;
	snprintf(n->decoders, sizeof(n->decoders), "%s", decoders);
	if (hs_open_stream(s->db->hs, 0, &n->hs) != HS_SUCCESS) {
		free(n);
		return NULL;
	}
	return n;
}

void scan_node_free(struct scan_node *n)
{
	if (!n)
		return;
	for (int c = 0; c < RUN_CODECS; c++) {
		scan_node_free(n->dec[c].child);
		free(n->dec[c].out);
	}
	/* Closing without scratch reports nothing: the session is going away. */
	hs_close_stream(n->hs, NULL, NULL, NULL);
	free(n);
}

/* The child stream of n's codec, made on first use. */
static struct scan_node *dec_child(struct scan_node *n, struct run_decoder *d, int codec)
{
	char name[40];

	if (d->child)
		return d->child;
	snprintf(name, sizeof(name), "%s%s%s", n->decoders, n->decoders[0] ? ">" : "",
		 codec_name[codec]);
	d->child = scan_node_new(n->s, n->depth + 1, name);
	return d->child;
}

static int dec_flush(struct scan_node *n, struct run_decoder *d, int codec)
{
	int err;

	if (!d->olen)
		return 0;
	if (!dec_child(n, d, codec))
		return -ENOMEM;
	err = scan_node_feed(d->child, d->out, d->olen);
	d->olen = 0;
	return err;
}

static int dec_put(struct scan_node *n, int codec, uint8_t c)
{
	struct run_decoder *d = &n->dec[codec];

	d->acc = d->acc << codec_bits[codec] | (uint8_t)val[codec][c];
	d->bits = (uint8_t)(d->bits + codec_bits[codec]);
	if (d->bits < 8)
		return 0;
	d->bits = (uint8_t)(d->bits - 8);
	d->out[d->olen++] = (uint8_t)(d->acc >> d->bits);
	return d->olen == RUN_OUT_BYTES ? dec_flush(n, d, codec) : 0;
}

static int dec_stop(struct scan_node *n, int codec)
{
	struct run_decoder *d = &n->dec[codec];
	int err = dec_flush(n, d, codec);

	d->live = false;
	if (!err && d->child)
		err = scan_node_end(d->child);
	return err;
}

static int run_end(struct scan_node *n)
{
	int err = 0;

	for (int c = 0; c < RUN_CODECS; c++)
		if (n->dec[c].live && !err)
			err = dec_stop(n, c);
	n->run_len = 0;
	return err;
}

static int run_start_decoders(struct scan_node *n)
{
	uint8_t mask = 0xff;
	int err = 0;

	for (int k = 0; k < SCAN_RUN_MIN; k++)
		mask &= cls[n->pend[k]];
	n->run_mask = mask;
	n->run_image = -1;
	for (int c = 0; c < RUN_CODECS; c++) {
		struct run_decoder *d = &n->dec[c];

		if (!(mask & codec_cls[c]))
			continue;
		if (!d->out && !(d->out = malloc(RUN_OUT_BYTES + OUT_SLACK)))
			return -ENOMEM;
		d->live = true;
		d->acc = 0;
		d->bits = 0;
		d->olen = 0;
		for (int k = 0; k < SCAN_RUN_MIN && !err; k++)
			err = dec_put(n, c, n->pend[k]);
	}
	return err;
}

/* Feeds seg[0..len) of one run to a live codec a character at a time; stops the codec at
 * the first byte outside its alphabet (the run goes on for the others). */
static int dec_chars(struct scan_node *n, int codec, const uint8_t *seg, size_t len)
{
	struct run_decoder *d = &n->dec[codec];
	const int8_t *vt = val[codec];
	const unsigned w = codec_bits[codec];
	uint32_t acc = d->acc;
	unsigned bits = d->bits;
	size_t olen = d->olen;
	int err = 0;

	for (size_t k = 0; k < len; k++) {
		int v = vt[seg[k]];

		if (v < 0) {
			d->acc = acc;
			d->bits = (uint8_t)bits;
			d->olen = olen;
			return dec_stop(n, codec);
		}
		acc = acc << w | (uint32_t)v;
		bits += w;
		if (bits >= 8) {
			bits -= 8;
			d->out[olen++] = (uint8_t)(acc >> bits);
			if (olen == RUN_OUT_BYTES) {
				d->olen = olen;
				err = dec_flush(n, d, codec);
				if (err)
					break;
				olen = 0;
			}
		}
	}
	d->acc = acc;
	d->bits = (uint8_t)bits;
	d->olen = olen;
	return err;
}

/*
 * base64 from a quantum boundary (no pending bits), sixteen characters to twelve bytes with
 * no per-character state or branch. Returns the characters taken, a multiple of 16; it
 * stops before the first group holding a character outside the alphabet, so the caller
 * takes the rest character by character and the bytes out are the ones dec_chars would
 * have made.
 */
static size_t b64_bulk(struct scan_node *n, const uint8_t *seg, size_t len, int *err)
{
	struct run_decoder *d = &n->dec[RUN_BASE64];
	size_t k = 0, olen = d->olen;

	*err = 0;
	for (; k + 16 <= len; k += 16) {
		if (olen + 12 > RUN_OUT_BYTES) {
			d->olen = olen;
			*err = dec_flush(n, d, RUN_BASE64);
			if (*err)
				return k;
			olen = 0;
		}
		if (!b64_decode16(seg + k, d->out + olen))
			break;
		olen += 12;
	}
	/* The pending bits are none, whatever acc holds. */
	d->olen = olen;
	return k;
}

/* Feeds seg[0..len) of one run to a live codec; stops the codec at the first byte outside
 * its alphabet (the run goes on for the others). base64 - the common case - reaches a
 * quantum boundary character by character (two bits per character: pending 6, 4 or 2 bits
 * need 3, 2 or 1 more) and goes sixteen at a time from there, wherever the chunk cut the run. */
static int dec_segment(struct scan_node *n, int codec, const uint8_t *seg, size_t len)
{
	struct run_decoder *d = &n->dec[codec];
	size_t k = 0;
	int err = 0;

	if (codec == RUN_BASE64) {
		size_t head = d->bits / 2u < len ? d->bits / 2u : len;

		err = dec_chars(n, codec, seg, head);
		k = head;
		if (err || !d->live)
			return err;
		k += b64_bulk(n, seg + k, len - k, &err);
		if (err)
			return err;
	}
	return dec_chars(n, codec, seg + k, len - k);
}

/*
 * One block of width bytes, m its alphabet mask (bits from width up clear), run the run
 * carried into it: "16 ones in a row" by shift-and. True with *at the byte where a run
 * reaches SCAN_RUN_MIN; false with *run the run at the block's end.
 */
static inline bool block_hit(uint64_t m, unsigned width, uint32_t *run, size_t *at)
{
	unsigned lead = m == ~0ull ? 64 : (unsigned)__builtin_ctzll(~m);
	uint64_t k = m;

	if (*run + lead >= SCAN_RUN_MIN) {
		*at = SCAN_RUN_MIN - *run - 1;
		return true;
	}
	k &= k >> 1;
	k &= k >> 2;
	k &= k >> 4;
	k &= k >> 8;
	if (k) {
		*at = (size_t)__builtin_ctzll(k) + SCAN_RUN_MIN - 1;
		return true;
	}
	/* Here lead < width unless the whole block is a run too short to hit. */
	*run = lead == width ? *run + width : (uint32_t)__builtin_clzll(~(m << (64 - width)));
	return false;
}

/*
 * Short runs (under 16 bytes) are counted without branches: text and binary are made of
 * them, and a mispredicted branch per byte would cost more than the Vectorscan scan. Returns
 * the index just after the byte where the run reached 16, or len (with pend holding the run
 * so far, which may continue in the next chunk).
 */
static size_t run_count_short(struct scan_node *n, const uint8_t *p, size_t len)
{
	uint32_t old = n->run_len, run = old;
	size_t i = 0, hit = SIZE_MAX, at;

	/* 64 bytes at a time; a last partial block is padded with NULs, outside the alphabet
	 * (the decoded pieces of short runs are all partial blocks). */
	for (; i < len; i += 64) {
		unsigned w = len - i < 64 ? (unsigned)(len - i) : 64;
		uint64_t m;

		if (w == 64) {
			m = alphabet_mask64(p + i);
		} else {
			uint8_t pad[64] = { 0 };

			memcpy(pad, p + i, w);
			m = alphabet_mask64(pad);
		}
		if (block_hit(m, w, &run, &at)) {
			hit = i + at;
			break;
		}
	}
	if (hit == SIZE_MAX) {
		if (run == old + len)
			memcpy(n->pend + old, p, len);
		else if (run)
			memcpy(n->pend, p + len - run, run);
		n->run_len = run;
		return len;
	}
	/* The run's first 16 bytes: all in this chunk, or the carried part and then ours. */
	if (hit + 1 >= SCAN_RUN_MIN)
		memcpy(n->pend, p + hit + 1 - SCAN_RUN_MIN, SCAN_RUN_MIN);
	else
		memcpy(n->pend + old, p, hit + 1);
	n->run_len = SCAN_RUN_MIN;
	return hit + 1;
}

/*
 * A long run that only base64 can still decode (the usual one: hex and base32 stop at its
 * first character outside their smaller alphabets) is decoded and measured in one pass.
 * Returns the characters taken, all in the alphabet and decoded; the caller measures and
 * decodes the rest of the stretch as usual. 0 when another codec is live or the stretch is
 * too short to be worth it.
 */
static size_t b64_ahead(struct scan_node *n, const uint8_t *p, size_t len, int *err)
{
	struct run_decoder *d = &n->dec[RUN_BASE64];
	size_t head = d->bits / 2u;

	*err = 0;
	if (!d->live || n->dec[RUN_HEX].live || n->dec[RUN_BASE32].live || head + 16 > len)
		return 0;
	/* Up to the quantum boundary by hand, and only over alphabet bytes: a byte outside it
	 * ends the stretch, which is run_feed's business, not the codec's. */
	for (size_t k = 0; k < head; k++)
		if (!(cls[p[k]] & C_B64))
			return 0;
	*err = dec_chars(n, RUN_BASE64, p, head);
	if (*err)
		return head;
	return head + b64_bulk(n, p + head, len - head, err);
}

/* Whether the current run opens like a base64 image, looked at only when the run is about to
 * be the longest so far (escaped text cuts a base64 string into thousands of runs a
 * location). pend holds the run's first SCAN_RUN_MIN characters until it ends. */
static bool run_image(struct scan_node *n)
{
	if (n->run_image < 0)
		n->run_image = ctype_base64_image(n->pend, SCAN_RUN_MIN);
	return n->run_image;
}

/*
 * One block of run_measure: the width bytes (at most 64) at blk, a their alphabet mask (bits
 * from width up clear), from *pos on. Returns where a short run reached SCAN_RUN_MIN (its
 * 16th character, *pos just after it), or -1 at the end of the block.
 */
static int measure_block(struct scan_node *n, const uint8_t *blk, uint64_t a, unsigned width,
			 unsigned *pos)
{
	const uint64_t out = ~a & (width == 64 ? ~0ull : (1ull << width) - 1);

	while (*pos < width) {
		uint32_t run = n->run_len;
		unsigned k;
		size_t at;

		if (run < SCAN_RUN_MIN) {
			/* Short: CR/LF end it like any byte outside the alphabet. */
			if (block_hit(a >> *pos, width - *pos, &run, &at)) {
				*pos += (unsigned)at + 1;
				return (int)(*pos - 1);
			}
			n->run_len = run;
			break;
		}
		/* Long: up to the next byte outside the alphabet; CR/LF are skipped, anything
		 * else ends the run. */
		k = out >> *pos ? (unsigned)__builtin_ctzll(out >> *pos) : width - *pos;
		n->run_len += k;
		if (n->run_len > n->max_run && !run_image(n))
			n->max_run = n->run_len;
		if (*pos + k >= width)
			break;
		*pos += k + 1;
		if (!(cls[blk[*pos - 1]] & C_WS))
			n->run_len = 0;
	}
	*pos = width;
	return -1;
}

/*
 * A whole block that holds a byte outside the alphabet, once the longest run is 64 or more:
 * a run that starts and ends inside the block is shorter than that and changes nothing, so
 * only the run coming in (it ends here) and the one going out count - two bit counts and no
 * branch per run. False, with nothing changed, when measure_block must see the block: the
 * run coming in could be the longest yet, or CR/LF could carry a long run on.
 */
static bool measure_block_quick(struct scan_node *n, const uint8_t *blk, uint64_t a)
{
	const unsigned lead = (unsigned)__builtin_ctzll(~a), trail = (unsigned)__builtin_clzll(~a);
	uint8_t first[SCAN_RUN_MIN];

	if (n->run_len + lead > n->max_run || (cls[blk[lead]] & C_WS) ||
	    (cls[blk[63 - trail]] & C_WS))
		return false;
	/* The run going out is new (it follows the last byte outside the alphabet); its first
	 * 16 characters are in pend once it is long, as run_measure keeps them. */
	memcpy(first, trail >= SCAN_RUN_MIN ? blk + 64 - trail : n->pend, sizeof(first));
	memcpy(n->pend, first, sizeof(first));
	n->run_image = trail >= SCAN_RUN_MIN ? -1 : n->run_image;
	n->run_len = trail;
	return true;
}

/*
 * The runs of a node whose runs are decoded elsewhere (the raw view of escaped text, where a
 * short run ends every few dozen bytes): the same run_len, pend and max_run as run_feed
 * gives, from one mask per 64 bytes and no per-character or per-codec work.
 */
static void run_measure(struct scan_node *n, const uint8_t *p, size_t len)
{
	uint32_t old = n->run_len < SCAN_RUN_MIN ? n->run_len : SCAN_RUN_MIN;

	for (size_t i = 0; i < len; i += 64) {
		unsigned w = len - i < 64 ? (unsigned)(len - i) : 64, pos = 0;
		uint8_t pad[64];
		const uint8_t *blk = p + i;
		uint64_t a;
		int hit;

		if (w < 64) {
			memset(pad, 0, sizeof(pad));
			memcpy(pad, blk, w);
			blk = pad;
		}
		a = alphabet_mask64(blk);
		if (w == 64 && n->max_run >= 64) {
			if (~a && measure_block_quick(n, blk, a))
				continue;
			/* All 64 in the alphabet: a long run goes on, still not the longest. */
			if (!~a && n->run_len >= SCAN_RUN_MIN && n->run_len + 64 <= n->max_run) {
				n->run_len += 64;
				continue;
			}
		}
		while ((hit = measure_block(n, blk, a, w, &pos)) >= 0) {
			size_t q = i + (size_t)hit;

			/* The run's first 16 characters: all here, or the carried part and then
			 * these (as run_count_short keeps them). */
			if (q + 1 >= SCAN_RUN_MIN)
				memcpy(n->pend, p + q + 1 - SCAN_RUN_MIN, SCAN_RUN_MIN);
			else
				memcpy(n->pend + old, p, q + 1);
			n->run_len = SCAN_RUN_MIN;
			n->run_image = -1;
			if (n->max_run < SCAN_RUN_MIN && !run_image(n))
				n->max_run = SCAN_RUN_MIN;
		}
	}
	/* A short run at the end waits in pend for the next chunk. */
	if (n->run_len && n->run_len < SCAN_RUN_MIN) {
		if (n->run_len == old + len)
			memcpy(n->pend + old, p, len);
		else
			memcpy(n->pend, p + len - n->run_len, n->run_len);
	}
}

/*
 * Long runs are taken a stretch at a time and handed to the live codecs in one loop each
 * (base64 alone: measured and decoded in the same pass by b64_ahead).
 */
static int run_feed(struct scan_node *n, const uint8_t *p, size_t len)
{
	size_t i = 0;
	int err = 0;

	while (i < len && !err) {
		size_t start, done;

		if (n->run_len < SCAN_RUN_MIN) {
			i += run_count_short(n, p + i, len - i);
			if (n->run_len < SCAN_RUN_MIN)
				break;
			err = run_start_decoders(n);
			if (n->max_run < SCAN_RUN_MIN && !run_image(n))
				n->max_run = SCAN_RUN_MIN;
			continue;
		}
		start = i;
		i += done = b64_ahead(n, p + i, len - i, &err);
		while (i + 64 <= len) {
			uint64_t m = alphabet_mask64(p + i);

			if (m != ~0ull) {
				i += (size_t)__builtin_ctzll(~m);
				goto stretch_end;
			}
			i += 64;
		}
		while (i < len && (cls[p[i]] & C_B64))
			i++;
stretch_end:
		if (i > start) {
			n->run_len += (uint32_t)(i - start);
			for (int k = 0; k < RUN_CODECS && !err; k++)
				if (n->dec[k].live)
					err = dec_segment(n, k, p + start + done,
							  i - start - done);
			/* A base64 image is a payload, not the blob dlp.ctype_base64 is about. */
			if (n->run_len > n->max_run && !run_image(n))
				n->max_run = n->run_len;
		}
		if (i == len || err)
			break;
		/* p[i] ends the stretch. Line breaks continue a long run (MIME wrapping); a short
		 * word before a blank line ("base64\r\n\r\n<data>") was never long. */
		if (!(cls[p[i]] & C_WS))
			err = run_end(n);
		i++;
	}
	return err;
}

/* The Vectorscan half of a feed. */
static int node_scan(struct scan_node *n, const uint8_t *data, size_t len)
{
	if (!len)
		return 0;
	n->dirty = true;
	if (hs_scan_stream(n->hs, (const char *)data, (unsigned)len, 0, n->s->scratch, on_match,
			   n) != HS_SUCCESS)
		return -EIO;
	return 0;
}

/* The run detector half. */
static int node_runs(struct scan_node *n, const uint8_t *data, size_t len)
{
	if (!len || n->depth >= SCAN_MAX_DEPTH)
		return 0;
	if (n->measure_only) {
		run_measure(n, data, len);
		return 0;
	}
	return run_feed(n, data, len);
}

int scan_node_feed(struct scan_node *n, const uint8_t *data, size_t len)
{
	int err = node_scan(n, data, len);

	return err ? err : node_runs(n, data, len);
}

int scan_node_end(struct scan_node *n)
{
	int err;

	if (!n->dirty)
		return 0;
	err = run_end(n);
	if (hs_reset_stream(n->hs, 0, n->s->scratch, on_match, n) != HS_SUCCESS && !err)
		err = -EIO;
	n->dirty = false;
	return err;
}

/* Drops whatever a previous, abandoned location left in the streams, without reporting it. */
static void scan_node_discard(struct scan_node *n)
{
	for (int c = 0; c < RUN_CODECS; c++) {
		n->dec[c].live = false;
		n->dec[c].olen = 0;
		if (n->dec[c].child)
			scan_node_discard(n->dec[c].child);
	}
	n->run_len = 0;
	n->max_run = 0;
	n->measure_only = false;
	if (n->dirty)
		hs_reset_stream(n->hs, 0, NULL, NULL, NULL);
	n->dirty = false;
}

/*
 * to (a node of a fresh location, its decoders idle) takes on from's run in progress: the
 * run so far, each live codec's pending bits and bytes, and its child stream (Vectorscan
 * state copied, and the child's own runs) - as if to had read what from read.
 */
static int node_copy_runs(struct scan_node *to, const struct scan_node *from)
{
	int err = 0;

	to->run_len = from->run_len;
	to->run_image = from->run_image;
	to->run_mask = from->run_mask;
	memcpy(to->pend, from->pend, sizeof(to->pend));
	to->dirty = true;
	for (int c = 0; c < RUN_CODECS && !err; c++) {
		const struct run_decoder *f = &from->dec[c];
		struct run_decoder *t = &to->dec[c];

		if (!f->live)
			continue;
		if (!t->out && !(t->out = malloc(RUN_OUT_BYTES + OUT_SLACK)))
			return -ENOMEM;
		t->live = true;
		t->acc = f->acc;
		t->bits = f->bits;
		t->olen = f->olen;
		memcpy(t->out, f->out, f->olen);
		if (!f->child || !f->child->dirty)
			continue;
		if (!dec_child(to, t, c))
			return -ENOMEM;
		/* No callback: nothing of to's child is reported, it was idle. */
		if (hs_reset_and_copy_stream(t->child->hs, f->child->hs, NULL, NULL, NULL) !=
		    HS_SUCCESS)
			return -EIO;
		err = node_copy_runs(t->child, f->child);
	}
	return err;
}

/* n's runs are decoded elsewhere from now on (node_copy_runs took them): its codecs stop
 * without reporting (the copies report), and its runs are only measured. */
static void node_hand_over(struct scan_node *n)
{
	for (int c = 0; c < RUN_CODECS; c++) {
		n->dec[c].live = false;
		n->dec[c].olen = 0;
		if (n->dec[c].child)
			scan_node_discard(n->dec[c].child);
	}
	n->measure_only = true;
}

int scan_views_init(struct scan_views *v, struct inspect_session *s)
{
	memset(v, 0, sizeof(*v));
	v->raw = scan_node_new(s, 0, "");
	v->pct = scan_node_new(s, 0, "percent");
	v->json = scan_node_new(s, 0, "json");
	if (!v->raw || !v->pct || !v->json) {
		scan_views_free(v);
		return -ENOMEM;
	}
	return 0;
}

void scan_views_free(struct scan_views *v)
{
	scan_node_free(v->raw);
	scan_node_free(v->pct);
	scan_node_free(v->json);
	free(v->keep);
	v->raw = v->pct = v->json = NULL;
	v->keep = NULL;
}

void scan_views_begin(struct scan_views *v, bool pct, bool plus_is_space, bool json)
{
	v->use_pct = pct;
	v->use_json = json;
	v->pct_on = v->json_on = false;
	v->tail_len = 0;
	pct_init(&v->pctd, plus_is_space);
	json_init(&v->jsond);
	scan_node_discard(v->raw);
	scan_node_discard(v->pct);
	scan_node_discard(v->json);
}

static const uint8_t *first_escape(const struct scan_views *v, bool json, const uint8_t *p,
				   size_t len)
{
	const uint8_t *a, *b;

	if (json)
		return memchr(p, '\\', len);
	a = memchr(p, '%', len);
	if (!v->pctd.plus_is_space)
		return a;
	b = memchr(p, '+', a ? (size_t)(a - p) : len);
	return b ? b : a;
}

/* The raw bytes just before data[j] to the view's Vectorscan stream: the end of the tail,
 * then data[0..j). Not to its runs, which it took over whole (node_copy_runs). */
static int replay(struct scan_views *v, struct scan_node *n, const uint8_t *data, size_t j)
{
	size_t from_tail;
	int err;

	if (j >= SCAN_VIEW_TAIL)
		return node_scan(n, data + j - SCAN_VIEW_TAIL, SCAN_VIEW_TAIL);
	from_tail = v->tail_len < SCAN_VIEW_TAIL - j ? v->tail_len : SCAN_VIEW_TAIL - j;
	err = node_scan(n, v->tail + v->tail_len - from_tail, from_tail);
	return err ? err : node_scan(n, data, j);
}

/* The view starts at data[j], its first escape: the raw runs so far and the raw tail. */
static int view_on(struct scan_views *v, bool json, const uint8_t *data, size_t j)
{
	struct scan_node *n = json ? v->json : v->pct;
	int err = node_copy_runs(n, v->raw);

	if (!err)
		err = replay(v, n, data, j);
	*(json ? &v->json_on : &v->pct_on) = true;
	return err;
}

/* data[0..len) through a view that is on. A form body's runs read the text with its literal
 * '+' kept; everything else reads one text. */
static int view_feed(struct scan_views *v, bool json, const uint8_t *data, size_t len)
{
	const size_t step = sizeof(v->buf) - TEXTDEC_SLACK;
	struct scan_node *n = json ? v->json : v->pct;
	int err = 0;

	for (size_t off = 0; !err && off < len; off += step) {
		size_t k = len - off < step ? len - off : step, o;

		if (json) {
			o = json_decode(&v->jsond, data + off, k, v->buf);
		} else if (v->pctd.plus_is_space) {
			if (!v->keep && !(v->keep = malloc(sizeof(v->buf))))
				return -ENOMEM;
			o = pct_decode_keep(&v->pctd, data + off, k, v->buf, v->keep);
			err = node_scan(n, v->buf, o);
			if (!err)
				err = node_runs(n, v->keep, o);
			continue;
		} else {
			o = pct_decode(&v->pctd, data + off, k, v->buf);
		}
		err = scan_node_feed(n, v->buf, o);
	}
	return err;
}

static void tail_update(struct scan_views *v, const uint8_t *data, size_t len)
{
	size_t keep;

	if (len >= SCAN_VIEW_TAIL) {
		memcpy(v->tail, data + len - SCAN_VIEW_TAIL, SCAN_VIEW_TAIL);
		v->tail_len = SCAN_VIEW_TAIL;
		return;
	}
	keep = v->tail_len < SCAN_VIEW_TAIL - len ? v->tail_len : SCAN_VIEW_TAIL - len;
	memmove(v->tail, v->tail + v->tail_len - keep, keep);
	memcpy(v->tail + keep, data, len);
	v->tail_len = keep + len;
}

/* Where a view that is still off starts in data[0..len): its first escape, or len. */
static size_t view_start(const struct scan_views *v, bool json, const uint8_t *data, size_t len)
{
	const uint8_t *e;

	if (!(json ? v->use_json && !v->json_on : v->use_pct && !v->pct_on))
		return len;
	e = first_escape(v, json, data, len);
	return e ? (size_t)(e - data) : len;
}

/*
 * The raw runs are decoded up to the first escape of each view that is still off, where
 * that view takes them over; once every view in use is on, the raw view only measures its
 * runs. Then each view that is on decodes its part of the chunk.
 */
int scan_views_feed(struct scan_views *v, const uint8_t *data, size_t len)
{
	size_t pos = 0, pct_from = 0, json_from = 0;
	int err = node_scan(v->raw, data, len);

	while (!err) {
		size_t p = pos + view_start(v, false, data + pos, len - pos);
		size_t j = pos + view_start(v, true, data + pos, len - pos);
		size_t at = p < j ? p : j;

		err = node_runs(v->raw, data + pos, at - pos);
		if (err || at == len)
			break;
		if (at == p) {
			err = view_on(v, false, data, at);
			pct_from = at;
		}
		if (!err && at == j) {
			err = view_on(v, true, data, at);
			json_from = at;
		}
		if ((!v->use_pct || v->pct_on) && (!v->use_json || v->json_on))
			node_hand_over(v->raw);
		pos = at;
	}
	if (!err && v->pct_on)
		err = view_feed(v, false, data + pct_from, len - pct_from);
	if (!err && v->json_on)
		err = view_feed(v, true, data + json_from, len - json_from);
	if ((v->use_pct && !v->pct_on) || (v->use_json && !v->json_on))
		tail_update(v, data, len);
	return err;
}

int scan_views_end(struct scan_views *v)
{
	int err = 0;

	if (v->use_pct)
		err = scan_node_feed(v->pct, v->buf, pct_finish(&v->pctd, v->buf));
	if (!err && v->use_json)
		err = scan_node_feed(v->json, v->buf, json_finish(&v->jsond, v->buf));
	if (!err)
		err = scan_node_end(v->raw);
	if (!err)
		err = scan_node_end(v->pct);
	if (!err)
		err = scan_node_end(v->json);
	return err;
}
