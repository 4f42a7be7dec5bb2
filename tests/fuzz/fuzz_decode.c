// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzzes the decoders in front of the secret scanner. The first byte picks the target and a
 * split point: percent / JSON decoding (whole and split must give the same bytes, output
 * within the documented bound; the form view with literal '+' kept matches both spellings), the bounded inflaters (any input; caps hold), and whole
 * request bodies through an inspector session with a chosen Content-Type and
 * Content-Encoding (whole and split must reach the same action).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if __has_include(<hs.h>)
#include "config/config.h"
#include "inspect/content_decode.h"
#include "inspect/inspect.h"
#include "inspect/textdec.h"

static uint8_t out1[1 << 17], out2[1 << 17], keep1[1 << 17], keep2[1 << 17];

/*
 * pct_decode_keep, split at cut: its output is pct_decode's with '+' as a space, and its second
 * output the same bytes with every literal '+' kept, i.e. pct_decode's with '+' as itself.
 */
static void pct_keep(const uint8_t *d, size_t n, size_t cut)
{
	struct pct_decoder pd;
	size_t a, b, k;

	a = pct_decode_all(d, n, true, out1);
	k = pct_decode_all(d, n, false, keep1);
	pct_init(&pd, true);
	b = pct_decode_keep(&pd, d, cut, out2, keep2);
	b += pct_decode_keep(&pd, d + cut, n - cut, out2 + b, keep2 + b);
	/* The tail still pending is a cut escape: '%' and hex digits, the same in both. */
	memcpy(keep2 + b, pd.pend, pd.n);
	b += pct_finish(&pd, out2 + b);
	if (a != b || k != b || memcmp(out1, out2, a) || memcmp(keep1, keep2, k))
		abort();
}

static void text_decoders(const uint8_t *d, size_t n, size_t cut, int json, bool plus)
{
	size_t a, b;

	if (n > sizeof(out1) - 2 * TEXTDEC_SLACK)
		return;
	if (json) {
		struct json_decoder jd;

		a = json_decode_all(d, n, out1);
		json_init(&jd);
		b = json_decode(&jd, d, cut, out2);
		b += json_decode(&jd, d + cut, n - cut, out2 + b);
		b += json_finish(&jd, out2 + b);
	} else {
		struct pct_decoder pd;

		a = pct_decode_all(d, n, plus, out1);
		pct_init(&pd, plus);
		b = pct_decode(&pd, d, cut, out2);
		b += pct_decode(&pd, d + cut, n - cut, out2 + b);
		b += pct_finish(&pd, out2 + b);
	}
	if (a != b || memcmp(out1, out2, a) || a > n + TEXTDEC_SLACK)
		abort();
	if (!json)
		pct_keep(d, n, cut);
}

struct count {
	uint64_t n;
	uint32_t h;
};

static int sink(void *ctx, const uint8_t *p, size_t len)
{
	struct count *c = ctx;

	c->n += len;
	for (size_t i = 0; i < len; i++)
		c->h = (c->h ^ p[i]) * 16777619u;
	return 0;
}

static void inflaters(const uint8_t *d, size_t n, size_t cut, enum inflate_kind kind)
{
	struct count c1 = { 0, 2166136261u }, c2 = { 0, 2166136261u };
	struct inflater *inf;
	int e1, e2;

	if (inflater_new(kind, 1u << 20, 100, &inf))
		return;
	e1 = inflater_feed(inf, d, n, sink, &c1);
	if (!e1)
		e1 = kind == INFLATE_RAW ? inflater_message_end(inf, 0, sink, &c1)
					 : inflater_finish(inf, sink, &c1);
	inflater_free(inf);
	if (c1.n > 1u << 20)
		abort();
	if (inflater_new(kind, 1u << 20, 100, &inf))
		return;
	e2 = inflater_feed(inf, d, cut, sink, &c2);
	if (!e2)
		e2 = inflater_feed(inf, d + cut, n - cut, sink, &c2);
	if (!e2)
		e2 = kind == INFLATE_RAW ? inflater_message_end(inf, 0, sink, &c2)
					 : inflater_finish(inf, sink, &c2);
	inflater_free(inf);
	/* The ratio cap depends on how much input was seen when it tripped: compare only
	 * streams that decoded without hitting a cap. */
	if (e1 != -EFBIG && e2 != -EFBIG && (!e1 != !e2 || (!e1 && (c1.n != c2.n || c1.h != c2.h))))
		abort();
}

static struct inspect_chain *chain;
static struct inspect_session *sess;

static int run(const char *ctype, const char *enc, const uint8_t *d, size_t n, size_t cut)
{
	struct inspect_header h[2] = { { "Content-Type", 12, ctype, strlen(ctype) },
				       { "Content-Encoding", 16, enc, strlen(enc) } };
	struct inspect_request req = { "POST", "echo.allowed.test", "/x?a=%41", 8, h, 2 };
	int rc = inspect_request_start(sess, &req);

	if (rc == INSPECT_BLOCK || rc < 0)
		return rc;
	if (cut && (rc = inspect_body_chunk(sess, d, cut)) != INSPECT_ABSTAIN &&
	    rc != INSPECT_FLAG)
		return rc;
	if ((rc = inspect_body_chunk(sess, d + cut, n - cut)) == INSPECT_BLOCK || rc < 0)
		return rc;
	return inspect_end(sess);
}

static void chain_body(const uint8_t *d, size_t n, size_t cut, unsigned sel)
{
	static const char *const ctypes[] = { "application/json", "text/plain",
					      "application/x-www-form-urlencoded", "image/png",
					      "multipart/form-data; boundary=x", "" };
	static const char *const encs[] = { "", "gzip", "deflate", "br", "zstd" };
	const char *ct = ctypes[sel % 6], *enc = encs[(sel / 6) % 5];
	int a, b;

	if (!chain) {
		/* entropy on (flag only): form values stream through the token estimator too */
		static struct cage_inspector ins[] = {
			{ .name = "rate_limit", .enabled = false },
			{ .name = "entropy", .enabled = true,
			  .config_yaml = "action: flag\nmin_url_bytes: 16\n" },
		};
		static struct cage_config_file cfg = { .inspectors = ins, .n_inspectors = 2 };
		char err[128];

		if (inspect_chain_new(&cfg, NULL, &chain, err, sizeof(err)))
			abort();
		sess = inspect_session_new(chain);
		if (!sess)
			abort();
	}
	a = run(ct, enc, d, n, 0);
	b = run(ct, enc, d, n, cut);
	/* A block may come earlier or later; whether there is one may not depend on the split.
	 * (Ratio caps are the exception: they depend on how much input preceded the output.) */
	if ((a == INSPECT_BLOCK) != (b == INSPECT_BLOCK) && enc[0] == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut;
	unsigned sel;

	if (size < 2)
		return 0;
	sel = data[0];
	cut = size > 2 ? data[1] % (size - 1) : 0;
	data += 2;
	size -= 2;
	if (cut > size)
		cut = size;
	switch (sel & 3) {
	case 0:
		text_decoders(data, size, cut, (sel >> 2) & 1, (sel >> 3) & 1);
		break;
	case 1:
		inflaters(data, size, cut, (enum inflate_kind)((sel >> 2) % 5));
		break;
	default:
		chain_body(data, size, cut, sel >> 2);
		break;
	}
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Vectorscan is not linked yet (libhs missing from the Makefile's PKGS). */
	return 0;
}
#endif
