// SPDX-License-Identifier: GPL-2.0-only
/*
 * Speed of the chain: a 5 MB body of each common shape in 64 KiB chunks (target ≤ 10 ms,
 * agentcage's Python chain takes 50-300 ms) and the per-request cost of a small API call with
 * ten headers. Numbers go to the TAP log as comments; the assertion is a loose 10x bound so a
 * slow CI machine does not fail, while an accidental quadratic path does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#if __has_include(<hs.h>)
#include <time.h>

#include "test_inspect_util.h"

#define BODY (5u << 20)

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void make_json(char *p, size_t n)
{
	static const char rec[] = "{\"id\":12345,\"name\":\"example item\",\"tags\":[\"a\",\"b\"],"
				  "\"text\":\"The quick brown fox jumps over the lazy dog.\"},\n";
	for (size_t i = 0; i < n; i++)
		p[i] = rec[i % (sizeof(rec) - 1)];
}

static void make_base64(char *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t x = 2463534242u;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = a[x & 63];
	}
	memcpy(p, "{\"data\":\"", 9);
	memcpy(p + n - 2, "\"}", 2);
}

static void make_binary(char *p, size_t n)
{
	uint32_t x = 88172645u;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (char)x;
	}
}

static double time_body(struct inspect_session *s, const char *ctype, const char *body)
{
	double best = 1e9;

	for (int round = 0; round < 5; round++) {
		double t0 = now_ms();
		int rc = run_body(s, ECHO_HOST, ctype, body, BODY, 0, 65536);

		assert_true(rc == INSPECT_ABSTAIN || rc == INSPECT_FLAG);
		if (now_ms() - t0 < best)
			best = now_ms() - t0;
	}
	return best;
}

static void test_5mb(void **state)
{
	static const struct { const char *name, *ctype; void (*make)(char *, size_t); } shapes[] = {
		{ "json text", "application/json", make_json },
		{ "base64 in json", "application/json", make_base64 },
		{ "random binary", "application/octet-stream", make_binary },
		{ "json text, untyped", NULL, make_json },
	};
	struct inspect_chain *c = chain_with(NULL);
	struct inspect_session *s = inspect_session_new(c);
	char *body = malloc(BODY);
	double worst = 0;

	assert_non_null(body);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		double ms;

		shapes[i].make(body, BODY);
		ms = time_body(s, shapes[i].ctype, body);
		fprintf(stdout, "# 5 MB %-20s %7.2f ms (%.0f MB/s)\n", shapes[i].name, ms,
			BODY / 1e6 / (ms / 1e3));
		if (ms > worst)
			worst = ms;
	}
#ifndef SANITIZED
	assert_true(worst < 100);
#endif
	free(body);
	inspect_session_free(s);
	inspect_chain_free(c);
}

static void test_per_request(void **state)
{
	static const char *const names[] = { "Host", "User-Agent", "Accept", "Accept-Encoding",
					     "Content-Type", "Authorization", "X-Request-Id",
					     "Anthropic-Version", "Connection", "Content-Length" };
	static const char *const values[] = { "api.allowed.test", "curl/8.5.0", "*/*", "gzip, br",
					      "application/json", "Bearer PLACEHOLDER_0123456789",
					      "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b", "2023-06-01",
					      "keep-alive", "27" };
	struct inspect_header h[10];
	struct inspect_chain *c = chain_with(NULL);
	struct inspect_session *s = inspect_session_new(c);
	const int n = 20000;
	double t0, per_req, per_sess;

	for (int i = 0; i < 10; i++)
		h[i] = (struct inspect_header){ names[i], strlen(names[i]), values[i], strlen(values[i]) };
	t0 = now_ms();
	for (int i = 0; i < n; i++)
		assert_int_equal(run_req(s, "api.allowed.test", "/v1/messages?beta=true", h, 10,
					 "{\"model\":\"x\",\"n\":1}", 19, 0, 0), INSPECT_ABSTAIN);
	per_req = (now_ms() - t0) * 1e3 / n;
	t0 = now_ms();
	for (int i = 0; i < 1000; i++)
		inspect_session_free(inspect_session_new(c));
	per_sess = (now_ms() - t0) * 1e3 / 1000;
	fprintf(stdout, "# small request (10 headers, 19-byte body): %.2f us; new session: %.2f us\n",
		per_req, per_sess);
#ifndef SANITIZED
	assert_true(per_req < 1000);
#endif
	inspect_session_free(s);
	inspect_chain_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_5mb),
		cmocka_unit_test(test_per_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
	puts("1..1\nok 1 # SKIP libhs not in PKGS");
	return 0;
}
#endif
