// SPDX-License-Identifier: GPL-2.0-only
/*
 * The decoders in front of the scanner: percent and JSON escapes (streaming, any split gives
 * the same bytes), base64 / hex / base32, and Content-Encoding gzip, deflate (zlib and raw),
 * br and zstd through the chain, with the bomb caps (row 99), corrupt and truncated streams
 * and stacked or unknown codings all blocked. Escaped base64 (JSON "\/", a form's "%2F")
 * is one run once unescaped: a secret in it is found wherever the body is cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#if __has_include(<hs.h>)
#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include "inspect/content_decode.h"
#include "inspect/textdec.h"
#include "test_inspect_util.h"

#define CANARY_GH "ghp_R3dT3amC4nary00000000000000000000000"
#define CANARY_AWS "AKIAIOSFODNN7EXAMPLE"

static void check_pct(const char *in, bool plus, const char *want)
{
	uint8_t out[256], out2[256];
	size_t n = pct_decode_all((const uint8_t *)in, strlen(in), plus, out);

	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
	/* every split gives the same bytes */
	for (size_t cut = 0; cut <= strlen(in); cut++) {
		struct pct_decoder d;
		size_t o;

		pct_init(&d, plus);
		o = pct_decode(&d, (const uint8_t *)in, cut, out2);
		o += pct_decode(&d, (const uint8_t *)in + cut, strlen(in) - cut, out2 + o);
		o += pct_finish(&d, out2 + o);
		assert_int_equal(o, n);
		assert_memory_equal(out2, out, n);
	}
}

static void test_percent(void **state)
{
	check_pct("a%20b+c", true, "a b c");
	check_pct("a%20b+c", false, "a b+c");
	check_pct("%67hp%5f", false, "ghp_");
	check_pct("100%", false, "100%");
	check_pct("%zz%4", false, "%zz%4");
	check_pct("%%41", false, "%A");
}

static int ref_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decoding one byte at a time, for the long inputs: a "%XX" with two hex digits is
 * a byte, anything else is itself. */
static size_t ref_pct(const uint8_t *in, size_t n, bool plus, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (in[i] == '%' && i + 2 < n && ref_hex(in[i + 1]) >= 0 && ref_hex(in[i + 2]) >= 0) {
			out[o++] = (uint8_t)(ref_hex(in[i + 1]) << 4 | ref_hex(in[i + 2]));
			i += 2;
		} else {
			out[o++] = plus && in[i] == '+' ? ' ' : in[i];
		}
	}
	return o;
}

/* Bodies of a few hundred bytes, so the 64-byte block decoders run as well as the state
 * machine: any cut and one byte at a time give the reference bytes, and pct_decode_keep's
 * second text is the decoding with '+' kept. */
static void test_percent_long(void **state)
{
	static const char *const bits[] = { "%2F", "%2b", "%3D", "+", "%", "%%", "%4", "%zz",
					    "abc", "Z2hw", "&v=", "%4G" };
	uint8_t in[600], want[700], want_keep[700], out[700], keep[700];
	uint32_t x = 7;

	for (int round = 0; round < 40; round++) {
		size_t n = 0, wn, wk;

		while (n < sizeof(in) - 8) {
			const char *b;

			x = x * 1103515245u + 12345u;
			b = bits[(x >> 16) % (round % 2 ? 12 : 4)];
			memcpy(in + n, b, strlen(b));
			n += strlen(b);
			/* plain stretches of every length, so escapes land anywhere in a block */
			for (unsigned k = (x >> 8) % 70; k && n < sizeof(in) - 8; k--)
				in[n++] = (uint8_t)('a' + k % 26);
		}
		wn = ref_pct(in, n, true, want);
		wk = ref_pct(in, n, false, want_keep);
		assert_int_equal(wn, wk);
		for (size_t cut = 0; cut <= n; cut += 1 + cut / 64) {
			struct pct_decoder d;
			size_t o, f;

			pct_init(&d, true);
			o = pct_decode_keep(&d, in, cut, out, keep);
			o += pct_decode_keep(&d, in + cut, n - cut, out + o, keep + o);
			/* what was held back ("%4" at the end) holds no '+': one text for both */
			f = pct_finish(&d, out + o);
			memcpy(keep + o, out + o, f);
			o += f;
			assert_int_equal(o, wn);
			assert_memory_equal(out, want, wn);
			assert_memory_equal(keep, want_keep, wk);
		}
		{
			struct pct_decoder d;
			size_t o = 0;

			pct_init(&d, false);
			for (size_t i = 0; i < n; i++)
				o += pct_decode(&d, in + i, 1, out + o);
			o += pct_finish(&d, out + o);
			assert_int_equal(o, wk);
			assert_memory_equal(out, want_keep, wk);
		}
	}
}

static void check_json(const char *in, const char *want)
{
	uint8_t out[256], out2[256];
	size_t n = json_decode_all((const uint8_t *)in, strlen(in), out);

	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
	for (size_t cut = 0; cut <= strlen(in); cut++) {
		struct json_decoder d;
		size_t o;

		json_init(&d);
		o = json_decode(&d, (const uint8_t *)in, cut, out2);
		o += json_decode(&d, (const uint8_t *)in + cut, strlen(in) - cut, out2 + o);
		o += json_finish(&d, out2 + o);
		assert_int_equal(o, n);
		assert_memory_equal(out2, out, n);
	}
}

static void test_json(void **state)
{
	check_json("\\u0067hp", "ghp");
	check_json("a\\nb\\t\\\"\\\\\\/", "a\nb\t\"\\/");
	check_json("\\ud83d\\ude00", "\xf0\x9f\x98\x80");
	check_json("\\ud83dx", "\xef\xbf\xbdx");          /* lone high surrogate */
	check_json("\\ude00", "\xef\xbf\xbd");             /* lone low surrogate */
	check_json("\\u00e9", "\xc3\xa9");
	check_json("\\u12", "\\u12");                     /* truncated: literal */
	check_json("\\x41", "\\x41");
	check_json("\\u004G", "\\u004G");
}

/* JSON strings of a few hundred bytes with one-letter escapes, "\u00XX" and malformed
 * ones, through the 64-byte block decoder and the state machine, cut anywhere. */
static void test_json_long(void **state)
{
	static const char *const esc[][2] = {
		{ "\\/", "/" }, { "\\n", "\n" }, { "\\\"", "\"" }, { "\\\\", "\\" },
		{ "\\u0041", "A" }, { "\\x", "\\x" }, { "\\t", "\t" }, { "\\u00e9", "\xc3\xa9" },
	};
	char in[700], want[700];
	uint8_t out[800];
	uint32_t x = 11;

	for (int round = 0; round < 40; round++) {
		size_t n = 0, w = 0;

		while (n < 600) {
			unsigned e;

			x = x * 1103515245u + 12345u;
			e = (x >> 16) % (round % 2 ? 8 : 1);
			memcpy(in + n, esc[e][0], strlen(esc[e][0]));
			n += strlen(esc[e][0]);
			memcpy(want + w, esc[e][1], strlen(esc[e][1]));
			w += strlen(esc[e][1]);
			for (unsigned k = (x >> 8) % 90; k; k--) {
				in[n++] = (char)('A' + k % 26);
				want[w++] = (char)('A' + k % 26);
			}
		}
		for (size_t cut = 0; cut <= n; cut += 1 + cut / 64) {
			struct json_decoder d;
			size_t o;

			json_init(&d);
			o = json_decode(&d, (const uint8_t *)in, cut, out);
			o += json_decode(&d, (const uint8_t *)in + cut, n - cut, out + o);
			o += json_finish(&d, out + o);
			assert_int_equal(o, w);
			assert_memory_equal(out, want, w);
		}
	}
}

static void test_runs(void **state)
{
	uint8_t out[64];

	assert_int_equal(base64_decode("Z2hwXw==", 8, out, sizeof(out)), 4);
	assert_memory_equal(out, "ghp_", 4);
	assert_int_equal(base64_decode("-_-_", 4, out, sizeof(out)), 3);
	assert_int_equal(hex_decode("6768705f", 8, out, sizeof(out)), 4);
	assert_memory_equal(out, "ghp_", 4);
	assert_int_equal(hex_decode("676", 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(base32_decode("M5UHAXY=", 8, out, sizeof(out)), 4);
	assert_memory_equal(out, "ghp_", 4);
	assert_int_equal(base32_decode("M5UH!", 5, out, sizeof(out)), -EINVAL);
}

static int run_encoded(const char *enc, const void *body, size_t len, size_t split)
{
	struct inspect_header h[2] = {
		{ "Content-Type", 12, "application/json", 16 },
		{ "Content-Encoding", 16, enc, strlen(enc) },
	};

	return run_req(sess, ECHO_HOST, "/upload", h, 2, body, len, 0, split);
}

static size_t zlib_pack(const char *in, size_t len, uint8_t *out, size_t cap, int wbits)
{
	z_stream z = { 0 };
	size_t n;

	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	n = cap - z.avail_out;
	deflateEnd(&z);
	return n;
}

static const char json_body[] = "{\"prompt\":\"hello\",\"token\":\"" CANARY_GH "\"}";

static void expect_hit(int rc, const char *dec)
{
	const struct inspect_finding *f = find_rule(inspect_verdict(sess), "github_token", "body");

	if (rc != INSPECT_BLOCK)
		assert_int_equal(rc, INSPECT_BLOCK);
	assert_non_null(f);
	assert_string_equal(f->decoders, dec);
}

static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);

		out[o++] = a[v >> 18];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[o] = 0;
	return o;
}

/*
 * base64 of: 450 zero bytes (600 'A's, so the run began further back than the 512 bytes a
 * view replays when it starts at its first escape), bytes whose base64 is "+/+/" (escapes
 * from here on), the secret between spaces, more of the same.
 */
static size_t escaped_b64(const char *secret, char *out)
{
	uint8_t raw[600];
	size_t n = 0;

	memset(raw, 0, 450);
	n = 450;
	for (int k = 0; k < 4; k++, n += 3)
		memcpy(raw + n, "\xfb\xff\xbf", 3);
	raw[n++] = ' ';
	memcpy(raw + n, secret, strlen(secret));
	n += strlen(secret);
	raw[n++] = ' ';
	for (int k = 0; k < 4; k++, n += 3)
		memcpy(raw + n, "\xfb\xff\xbf", 3);
	raw[n++] = '!';
	return b64_encode(raw, n, out);
}

/* out = prefix, then b64 with each byte in from[] written as to[] (NUL-terminated). */
static size_t escape_into(char *out, const char *prefix, const char *b64, const char *from,
			  const char *const *to, const char *suffix)
{
	size_t o = strlen(prefix);

	memcpy(out, prefix, o);
	for (const char *c = b64; *c; c++) {
		const char *hit = strchr(from, *c);
		const char *w = hit ? to[hit - from] : NULL;

		if (w) {
			memcpy(out + o, w, strlen(w));
			o += strlen(w);
		} else {
			out[o++] = *c;
		}
	}
	memcpy(out + o, suffix, strlen(suffix) + 1);
	return o + strlen(suffix);
}

/* Blocked with rule found through decoders dec whether the body comes whole, cut in two at
 * every byte, or one byte at a time. */
static void expect_every_cut(const char *ctype, const char *body, size_t len, const char *rule,
			     const char *dec)
{
	for (size_t cut = 0; cut <= len; cut++) {
		int rc = cut < len ? run_body(sess, ECHO_HOST, ctype, body, len, cut, 0)
				   : run_body(sess, ECHO_HOST, ctype, body, len, 0, 1);
		const struct inspect_finding *f = find_rule(inspect_verdict(sess), rule, "body");

		if (rc != INSPECT_BLOCK || !f || strcmp(f->decoders, dec)) {
			fprintf(stderr, "# %s: cut at %zu of %zu (%zu: one byte at a time)\n", ctype,
				cut, len, len);
			dump_verdict(inspect_verdict(sess));
			fail();
		}
	}
}

/* A JSON encoder that escapes '/' (PHP's json_encode): the base64 string is cut by "\/"
 * every few dozen characters in the raw bytes, whole in the JSON view. */
static void test_escaped_base64_json(void **state)
{
	static const char *const slash[] = { "\\/" };
	char b64[1024], body[1400];
	size_t n;

	escaped_b64(CANARY_GH, b64);
	n = escape_into(body, "{\"name\":\"a.bin\",\"data\":\"", b64, "/", slash, "\"}");
	expect_every_cut("application/json", body, n, "github_token", "json>base64");
	escaped_b64(CANARY_AWS, b64);
	n = escape_into(body, "{\"data\":\"", b64, "/", slash, "\"}");
	expect_every_cut("application/json", body, n, "aws_access_key", "json>base64");
	/* untyped bodies get the JSON view too */
	expect_every_cut(NULL, body, n, "aws_access_key", "json>base64");
}

/* An HTML form upload: '+', '/' and '=' of the base64 value percent-escaped. And curl -d
 * "file=$(base64 f)", which escapes nothing: a '+' means a space to the server, but the run
 * detector reads the value with its '+' kept. */
static void test_escaped_base64_form(void **state)
{
	static const char *const pct[] = { "%2B", "%2F", "%3D" };
	static const char *const none[] = { NULL, NULL, NULL };
	static const char form[] = "application/x-www-form-urlencoded";
	char b64[1024], body[2400];
	size_t n;

	escaped_b64(CANARY_AWS, b64);
	n = escape_into(body, "name=a.bin&kind=raw&file=", b64, "+/=", pct, "&x=1");
	expect_every_cut(form, body, n, "aws_access_key", "percent>base64");
	escaped_b64(CANARY_GH, b64);
	n = escape_into(body, "file=", b64, "+/=", pct, "");
	expect_every_cut(form, body, n, "github_token", "percent>base64");
	n = escape_into(body, "file=", b64, "+/=", none, "");
	expect_every_cut(form, body, n, "github_token", "percent>base64");
}

/* Once a view took the runs over, the raw view still measures its own for dlp.ctype_base64,
 * and a base64 secret after the escape is found in the view. */
static void test_view_takes_runs(void **state)
{
	char body[1200], b64[1024];
	size_t n = 0;

	n += (size_t)sprintf(body, "{\"note\":\"line\\nnext\",\"d\":\"");
	for (int k = 0; k < 300; k++)
		body[n++] = "QUJDRE"[k % 6];
	n += (size_t)sprintf(body + n, "\"}");
	assert_int_equal(run_body(sess, ECHO_HOST, "application/json", body, n, 0, 0), INSPECT_FLAG);
	assert_non_null(find_rule(inspect_verdict(sess), "dlp.ctype_base64", "body"));
	b64_encode((const uint8_t *)"key " CANARY_GH " end", strlen(CANARY_GH) + 8, b64);
	n = (size_t)sprintf(body, "{\"note\":\"a\\tb\",\"k\":\"%s\"}", b64);
	expect_every_cut("application/json", body, n, "github_token", "json>base64");
}

static void test_gzip_deflate(void **state)
{
	uint8_t buf[512];
	size_t n;

	n = zlib_pack(json_body, strlen(json_body), buf, sizeof(buf), 16 + 15);
	for (size_t split = 1; split <= n; split++)
		expect_hit(run_encoded("gzip", buf, n, split), "gzip");
	expect_hit(run_encoded("x-gzip", buf, n, 0), "gzip");
	n = zlib_pack(json_body, strlen(json_body), buf, sizeof(buf), 15);
	expect_hit(run_encoded("deflate", buf, n, 3), "deflate");
	n = zlib_pack(json_body, strlen(json_body), buf, sizeof(buf), -15);
	expect_hit(run_encoded("deflate", buf, n, 0), "deflate");
	/* a clean compressed body passes */
	n = zlib_pack("{\"a\":1}", 7, buf, sizeof(buf), 16 + 15);
	assert_int_equal(run_encoded("gzip", buf, n, 0), INSPECT_ABSTAIN);
}

static void test_brotli_zstd(void **state)
{
	uint8_t buf[512];
	size_t n = sizeof(buf);

	assert_true(BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, strlen(json_body),
					  (const uint8_t *)json_body, &n, buf));
	for (size_t split = 1; split <= n; split += 2)
		expect_hit(run_encoded("br", buf, n, split), "br");
	n = ZSTD_compress(buf, sizeof(buf), json_body, strlen(json_body), 3);
	assert_false(ZSTD_isError(n));
	for (size_t split = 1; split <= n; split += 2)
		expect_hit(run_encoded("zstd", buf, n, split), "zstd");
}

static void test_compressed_base64(void **state)
{
	static const char b[] = "{\"d\":\"Z2hwX1IzZFQzYW1DNG5hcnkwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMA==\"}";
	uint8_t buf[512];
	size_t n = zlib_pack(b, strlen(b), buf, sizeof(buf), 16 + 15);

	expect_hit(run_encoded("gzip", buf, n, 5), "gzip>base64");
}

/* Row 99: zeros inflate far past the ratio cap; the verdict is limit.inflate, 413. */
static void test_bomb(void **state)
{
	size_t zlen = 8u << 20, cap = 64u << 10;
	char *zeros = calloc(1, zlen);
	uint8_t *buf = malloc(cap);
	size_t n;
	int rc;

	assert_non_null(zeros);
	assert_non_null(buf);
	n = zlib_pack(zeros, zlen, buf, cap, 16 + 15);
	rc = run_encoded("gzip", buf, n, 1024);
	assert_int_equal(rc, INSPECT_BLOCK);
	assert_non_null(find_rule(inspect_verdict(sess), "limit.inflate", "body"));
	assert_int_equal(inspect_verdict(sess)->status, 413);
	n = ZSTD_compress(buf, cap, zeros, zlen, 1);
	assert_int_equal(run_encoded("zstd", buf, n, 0), INSPECT_BLOCK);
	assert_non_null(find_rule(inspect_verdict(sess), "limit.inflate", "body"));
	free(zeros);
	free(buf);
}

static void test_bad_streams(void **state)
{
	uint8_t buf[512];
	size_t n = zlib_pack(json_body, strlen(json_body), buf, sizeof(buf), 16 + 15);

	/* truncated */
	n = zlib_pack("{\"a\":\"hello hello hello\"}", 25, buf, sizeof(buf), 16 + 15);
	assert_int_equal(run_encoded("gzip", buf, n - 6, 0), INSPECT_BLOCK);
	assert_non_null(find_rule(inspect_verdict(sess), "decode.failed", "body"));
	/* corrupt */
	assert_int_equal(run_encoded("br", "not brotli at all", 17, 0), INSPECT_BLOCK);
	assert_non_null(find_rule(inspect_verdict(sess), "decode.failed", "body"));
	/* bytes after the end of the stream */
	memcpy(buf + n, "tail", 4);
	n = zlib_pack("{}", 2, buf, sizeof(buf), 15);
	memcpy(buf + n, CANARY_GH, 10);
	assert_int_equal(run_encoded("deflate", buf, n + 10, 0), INSPECT_BLOCK);
	/* stacked and unknown codings */
	assert_int_equal(run_encoded("gzip, br", "x", 1, 0), INSPECT_BLOCK);
	assert_non_null(find_rule(inspect_verdict(sess), "decode.unsupported", "body"));
	assert_int_equal(run_encoded("compress", "x", 1, 0), INSPECT_BLOCK);
	assert_int_equal(run_encoded("identity", "{}", 2, 0), INSPECT_ABSTAIN);
}

static int count_sink(void *ctx, const uint8_t *p, size_t len)
{
	*(size_t *)ctx += len;
	return 0;
}

static void test_inflater_caps(void **state)
{
	struct inflater *inf;
	uint8_t buf[4096];
	char text[3000];
	size_t n, got = 0;

	memset(text, 'a', sizeof(text));
	n = zlib_pack(text, sizeof(text), buf, sizeof(buf), 16 + 15);
	assert_int_equal(inflater_new(INFLATE_GZIP, 1000, 0, &inf), 0);
	assert_int_equal(inflater_feed(inf, buf, n, count_sink, &got), -EFBIG);
	inflater_free(inf);
	got = 0;
	assert_int_equal(inflater_new(INFLATE_GZIP, 1u << 20, 0, &inf), 0);
	assert_int_equal(inflater_feed(inf, buf, n, count_sink, &got), 0);
	assert_int_equal(inflater_finish(inf, count_sink, &got), 0);
	assert_int_equal(got, sizeof(text));
	inflater_free(inf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_percent_long),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_long),
		cmocka_unit_test(test_runs),
		cmocka_unit_test(test_escaped_base64_json),
		cmocka_unit_test(test_escaped_base64_form),
		cmocka_unit_test(test_view_takes_runs),
		cmocka_unit_test(test_gzip_deflate),
		cmocka_unit_test(test_brotli_zstd),
		cmocka_unit_test(test_compressed_base64),
		cmocka_unit_test(test_bomb),
		cmocka_unit_test(test_bad_streams),
		cmocka_unit_test(test_inflater_caps),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
#else
int main(void)
{
	puts("1..1\nok 1 # SKIP libhs not in PKGS");
	return 0;
}
#endif
