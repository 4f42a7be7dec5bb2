// SPDX-License-Identifier: GPL-2.0-only
/*
 * Speed of the chain on a 5 MB body of each common shape in 64 KiB chunks (target ≤ 10 ms;
 * agentcage's Python chain takes 50-300 ms), escaped base64 included (a JSON encoder's "\/",
 * a form's "%2F"), and the per-request cost of a small API call with ten headers.
 *
 *   inspect_bench                      cmocka: the best and the median of 5 rounds per shape as
 *                                      TAP comments, a loose 10x bound on the medians so an
 *                                      accidental quadratic path fails while a slow CI does not
 *   inspect_bench --write-bodies DIR   writes the bodies (DIR/<shape>.body), DIR/shapes.tsv
 *                                      (shape, Content-Type or "-", label) and DIR/patterns.tsv
 *                                      (family, regex) for the peer of make bench's scenario 9
 *   inspect_bench --tsv DIR [REPS]     scans the bodies of DIR: per shape one untimed scan, then
 *                                      REPS (5) timed; prints "shape<TAB>median ms". Exits
 *                                      non-zero when anything cannot be measured.
 *
 * The bodies are read back from DIR rather than regenerated, so cagectl and the peer scan the
 * very same bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#if __has_include(<hs.h>)
#include <errno.h>
#include <time.h>

#include "inspect/inspect_internal.h"
#include "test_inspect_util.h"

#define BODY (5u << 20)
#define MAX_REPS 101

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

/* One random base64 character (xorshift), for the two escaped shapes below. */
static char b64_next(uint32_t *x)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return a[*x & 63];
}

/* The base64 shape as JSON encoders that escape '/' write it (PHP's json_encode): every '/'
 * of the string is "\/", about one in 64 characters. */
static void make_base64_json_esc(char *p, size_t n)
{
	uint32_t x = 2463534242u;
	size_t i = 9;

	memcpy(p, "{\"data\":\"", 9);
	while (i < n - 2) {
		char c = b64_next(&x);

		if (c == '/' && i + 2 <= n - 2) {
			p[i++] = '\\';
			p[i++] = '/';
		} else if (c != '/') {
			p[i++] = c;
		}
	}
	memcpy(p + n - 2, "\"}", 2);
}

/* An HTML form upload (application/x-www-form-urlencoded): a name field, then a base64 file
 * whose '+', '/' and '=' are percent-escaped, about one escape in 32 characters. */
static void make_form_b64_pct(char *p, size_t n)
{
	static const char head[] = "name=photo.png&kind=image&file=";
	uint32_t x = 88172645u;
	size_t i = sizeof(head) - 1;

	memcpy(p, head, i);
	while (i < n - 6) {
		char c = b64_next(&x);

		if ((c == '+' || c == '/') && i + 3 <= n - 6) {
			memcpy(p + i, c == '+' ? "%2B" : "%2F", 3);
			i += 3;
		} else if (c != '+' && c != '/') {
			p[i++] = c;
		}
	}
	memcpy(p + n - 6, "%3D%3D", 6);
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

static const struct shape {
	const char *slug, *name, *ctype;
	void (*make)(char *, size_t);
} shapes[] = {
	{ "json", "json text", "application/json", make_json },
	{ "base64_json", "base64 in json", "application/json", make_base64 },
	{ "binary", "random binary", "application/octet-stream", make_binary },
	{ "json_untyped", "json text, untyped", NULL, make_json },
	{ "base64_json_esc", "base64 in json, \\/", "application/json", make_base64_json_esc },
	{ "form_b64_pct", "base64 form, %2F %2B", "application/x-www-form-urlencoded",
	  make_form_b64_pct },
};
#define N_SHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* One full message through the session: request start, 64 KiB chunks, end. */
static int scan_once(struct inspect_session *s, const char *ctype, const char *body, size_t len,
		     double *ms)
{
	double t0 = now_ms();
	int rc = run_body(s, ECHO_HOST, ctype, body, len, 0, 65536);

	*ms = now_ms() - t0;
	/* A block would end the scan early and time less than the whole body. */
	return rc == INSPECT_ABSTAIN || rc == INSPECT_FLAG ? 0 : rc < 0 ? rc : -EPERM;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of n sorted figures. */
static double median_of(const double *ms, int n)
{
	return n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
}

#define ROUNDS 5

/* ROUNDS timed scans of one body: *best and *median of them, in ms. */
static void time_body(struct inspect_session *s, const char *ctype, const char *body,
		      double *best, double *median)
{
	double ms[ROUNDS];

	for (int round = 0; round < ROUNDS; round++)
		assert_int_equal(scan_once(s, ctype, body, BODY, &ms[round]), 0);
	qsort(ms, ROUNDS, sizeof(ms[0]), cmp_double);
	*best = ms[0];
	*median = median_of(ms, ROUNDS);
}

static void test_5mb(void **state)
{
	struct inspect_chain *c = chain_with(NULL);
	struct inspect_session *s = inspect_session_new(c);
	char *body = malloc(BODY);
	double worst = 0;

	assert_non_null(body);
	for (size_t i = 0; i < N_SHAPES; i++) {
		double best, median;

		shapes[i].make(body, BODY);
		time_body(s, shapes[i].ctype, body, &best, &median);
		fprintf(stdout, "# 5 MB %-22s best %7.2f ms, median %7.2f ms (%.0f MB/s)\n",
			shapes[i].name, best, median, BODY / 1e6 / (median / 1e3));
		if (median > worst)
			worst = median;
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

static int write_file(const char *dir, const char *name, const void *p, size_t len)
{
	char path[4096];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	if (fwrite(p, 1, len, f) != len)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* Appends "a<TAB>b<TAB>c\n" to a growing text (the two manifests). */
static int add_line(char **text, size_t *len, const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + (c ? strlen(c) + 1 : 0) + 3;
	char *t = realloc(*text, *len + n);

	if (!t)
		return -ENOMEM;
	*text = t;
	*len += (size_t)snprintf(t + *len, n, c ? "%s\t%s\t%s\n" : "%s\t%s\n", a, b, c);
	return 0;
}

static int write_bodies(const char *dir)
{
	char *body = malloc(BODY), *list = NULL, *pats = NULL, name[64];
	size_t list_len = 0, pats_len = 0;
	int err = body ? 0 : -ENOMEM;

	for (size_t i = 0; i < N_SHAPES && !err; i++) {
		shapes[i].make(body, BODY);
		snprintf(name, sizeof(name), "%s.body", shapes[i].slug);
		err = write_file(dir, name, body, BODY);
		if (!err)
			err = add_line(&list, &list_len, shapes[i].slug,
				       shapes[i].ctype ? shapes[i].ctype : "-", shapes[i].name);
	}
	/* The peer runs cagectl's own regexes; it checks its translation against these. */
	for (size_t i = 0; i < secret_family_count && !err; i++)
		err = add_line(&pats, &pats_len, secret_families[i].name, secret_families[i].regex,
			       NULL);
	if (!err)
		err = write_file(dir, "shapes.tsv", list, list_len);
	if (!err)
		err = write_file(dir, "patterns.tsv", pats, pats_len);
	if (err)
		fprintf(stderr, "inspect_bench: writing bodies to %s: %s\n", dir, strerror(-err));
	free(pats);
	free(list);
	free(body);
	return err ? 1 : 0;
}

static int read_body(const char *dir, const char *slug, char *body, size_t *len)
{
	char path[4096];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s/%s.body", dir, slug);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	*len = fread(body, 1, BODY, f);
	if (ferror(f) || !*len)
		err = -EIO;
	fclose(f);
	return err;
}

static int tsv_run(const char *dir, int reps)
{
	struct inspect_chain *c = NULL;
	struct inspect_session *s = NULL;
	char *body = malloc(BODY);
	double ms[MAX_REPS];
	size_t len;
	int err = body ? 0 : -ENOMEM;

	if (reps < 1 || reps > MAX_REPS) {
		fprintf(stderr, "inspect_bench: REPS must be 1..%d\n", MAX_REPS);
		free(body);
		return 2;
	}
	if (!err && !(c = chain_with(NULL)))
		err = -EINVAL;
	if (!err && !(s = inspect_session_new(c)))
		err = -ENOMEM;
	for (size_t i = 0; i < N_SHAPES && !err; i++) {
		const char *what = "reading";

		err = read_body(dir, shapes[i].slug, body, &len);
		/* The first scan warms caches and grows buffers; the peer gets the same. */
		for (int r = -1; r < reps && !err; r++) {
			what = "scanning";
			err = scan_once(s, shapes[i].ctype, body, len, &ms[r < 0 ? 0 : r]);
		}
		if (err) {
			fprintf(stderr, "inspect_bench: %s %s/%s.body: %s\n", what, dir, shapes[i].slug,
				err == -EPERM ? "the chain blocked it" : strerror(-err));
			break;
		}
		qsort(ms, (size_t)reps, sizeof(ms[0]), cmp_double);
		printf("%s\t%.3f\n", shapes[i].slug, median_of(ms, reps));
	}
	if (err == -EINVAL)
		fprintf(stderr, "inspect_bench: cannot build the default chain\n");
	else if (err == -ENOMEM && !s)
		fprintf(stderr, "inspect_bench: out of memory\n");
	inspect_session_free(s);
	inspect_chain_free(c);
	free(body);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_5mb),
		cmocka_unit_test(test_per_request),
	};

	if (argc >= 3 && strcmp(argv[1], "--write-bodies") == 0)
		return write_bodies(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "--tsv") == 0)
		return tsv_run(argv[2], argc > 3 ? atoi(argv[3]) : 5);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
#include <stdio.h>

int main(int argc, char **argv)
{
	/* make bench must not pass a missing scanner off as a fast one. */
	if (argc >= 2 && argv[1][0] == '-') {
		fprintf(stderr, "inspect_bench: built without Vectorscan (libhs): cagectl's chain cannot be measured\n");
		return 1;
	}
	puts("1..1\nok 1 # SKIP libhs not in PKGS");
	return 0;
}
#endif
