// SPDX-License-Identifier: GPL-2.0-only
/*
 * The decoders in front of the scanner: percent and JSON escapes (streaming, any split gives
 * the same bytes), base64 / hex / base32, and Content-Encoding gzip, deflate (zlib and raw),
 * br and zstd through the chain, with the bomb caps (row 99), corrupt and truncated streams
 * and stacked or unknown codings all blocked.
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
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_runs),
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
