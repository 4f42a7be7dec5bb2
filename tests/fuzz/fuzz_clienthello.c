// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzzes the ClientHello parser. The first input byte picks a mode: raw bytes as the client
 * would send them, or the rest wrapped as a handshake message into records of a chosen size
 * (so the fuzzer reaches the extensions through fragmented records). Invariants: a prefix
 * answers NEED_MORE or exactly what the whole input answers; the need hint never overshoots
 * the prefix where a valid hello completes; reported lengths stay inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/clienthello.h"

static uint8_t wrapped[CLIENTHELLO_MAX_WIRE * 2];
static size_t needs[CLIENTHELLO_MAX_WIRE * 2 + 1];

static size_t wrap_in_records(const uint8_t *hs, size_t len, size_t frag)
{
	size_t n = 0;

	for (size_t off = 0; off < len && n + 5 + frag <= sizeof(wrapped); off += frag) {
		size_t k = len - off < frag ? len - off : frag;

		wrapped[n++] = 0x16, wrapped[n++] = 0x03, wrapped[n++] = 0x01;
		wrapped[n++] = (uint8_t)(k >> 8), wrapped[n++] = (uint8_t)k;
		memcpy(wrapped + n, hs + off, k);
		n += k;
	}
	return n;
}

static void check_sane(const struct clienthello *ch, size_t len)
{
	if (ch->wire_len > len || ch->wire_len > CLIENTHELLO_MAX_WIRE)
		abort();
	if (ch->has_sni) {
		if (ch->sni_len == 0 || strlen(ch->sni) != ch->sni_len)
			abort();
		for (unsigned i = 0; i < ch->sni_len; i++)
			if ((uint8_t)ch->sni[i] <= 0x20 || (uint8_t)ch->sni[i] >= 0x7f)
				abort();
	} else if (ch->sni_len) {
		abort();
	}
	for (unsigned i = 0; i < ch->n_alpn; i++)
		if (ch->alpn[i].len == 0 || ch->alpn[i].off + ch->alpn[i].len > CLIENTHELLO_ALPN_DATA_MAX)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct clienthello full, part;
	enum clienthello_result want, r;
	const uint8_t *buf = data + 1;
	size_t len, need, first_final, step;

	if (size < 1)
		return 0;
	len = size - 1;
	if (data[0] & 1) {
		size_t frag = size >= 2 ? (size_t)data[1] * 4 + 1 : 1;

		buf = wrapped;
		len = wrap_in_records(data + 2 < data + size ? data + 2 : data + size,
				      size >= 2 ? size - 2 : 0, frag);
	}
	if (len >= sizeof(needs) / sizeof(needs[0]))
		return 0;
	want = clienthello_parse(buf, len, &full, &need);
	if (want >= CH_RESULT_MAX)
		abort();
	if (want == CH_OK)
		check_sane(&full, len);

	/* The first prefix with a final answer: answers are monotonic, so search upward. */
	step = len > 2048 ? len / 512 : 1;
	first_final = len + 1;
	for (size_t i = 0; i <= len; i += step) {
		r = clienthello_parse(buf, i, &part, &needs[i]);
		if (r != CH_NEED_MORE) {
			if (r != want)
				abort();
			if (want == CH_OK && memcmp(&part, &full, sizeof(full)))
				abort();
			if (first_final > i)
				first_final = i;
		} else if (first_final <= len || needs[i] == 0) {
			abort(); /* NEED_MORE after a final answer */
		}
	}
	/* The hint promises bytes a valid hello still needs; garbage may be refused sooner. */
	if (want == CH_OK)
		for (size_t i = 0; i < first_final; i += step)
			if (i + needs[i] > first_final)
				abort();
	clienthello_result_name(want);
	return 0;
}
