// SPDX-License-Identifier: GPL-2.0-only
/*
 * The substitution engine: policy before substitution, strict header mode, Basic auth, streams
 * cut at every byte boundary, longest-first redaction of overlapping values, encoded forms.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "secrets/internal.h"
#include "secrets/secrets.h"

#define PH_A "cagectl:secret:GH:0123456789abcdef0123456789abcdef"
#define REAL_A "ghp_REALVALUEabcdefghijklmnopqrstuvwxyz0123"
#define PH_B "cagectl:secret:BODYKEY:fedcba9876543210fedcba9876543210"
#define REAL_B "sk-bodyvalue-ABCDEFGHIJKLMNOP/+="
#define PH_C "sk-placeholder-000000"
#define REAL_C "custom-real-value-XYZ12345"

static struct secrets_ruleset *make_rules(enum secrets_action misdirected)
{
	struct secrets_policy pol = { .misdirected = misdirected };
	char *api[] = { "api.allowed.test" }, *other[] = { "*.other.test" }, *hdr[] = { "X-Custom" };
	struct cage_strv to_api = { api, 1 }, to_other = { other, 1 }, hdrs = { hdr, 1 };
	struct secrets_rule_spec a = { .key = "GH", .placeholder = PH_A,
				       .value = (const unsigned char *)REAL_A,
				       .value_len = strlen(REAL_A), .inject_to = &to_api };
	struct secrets_rule_spec b = { .key = "BODYKEY", .placeholder = PH_B,
				       .value = (const unsigned char *)REAL_B,
				       .value_len = strlen(REAL_B), .inject_to = &to_api,
				       .inject_body = true };
	struct secrets_rule_spec c = { .key = "CUSTOM", .placeholder = PH_C,
				       .value = (const unsigned char *)REAL_C,
				       .value_len = strlen(REAL_C), .inject_to = &to_other,
				       .inject_headers = &hdrs };
	struct secrets_rule_spec d = { .key = "UNSET", .placeholder = "cagectl:secret:UNSET:00",
				       .inject_to = &to_api };
	struct secrets_ruleset *rs = secrets_ruleset_new(&pol);

	assert_non_null(rs);
	assert_int_equal(secrets_ruleset_add(rs, &a), 0);
	assert_int_equal(secrets_ruleset_add(rs, &b), 0);
	assert_int_equal(secrets_ruleset_add(rs, &c), 0);
	assert_int_equal(secrets_ruleset_add(rs, &d), 0);
	assert_int_equal(secrets_ruleset_add(rs, &a), -EEXIST);
	assert_int_equal(secrets_ruleset_compile(rs), 0);
	return rs;
}

static const struct secrets_upstream API = { .https = true, .host = "api.allowed.test", .port = 443 };
static const struct secrets_upstream ECHO = { .https = true, .host = "echo.allowed.test", .port = 443 };
static const struct secrets_upstream API_HTTP = { .https = false, .host = "api.allowed.test", .port = 80 };
static const struct secrets_upstream OTHER = { .https = true, .host = "x.other.test", .port = 443 };

#define H(n, v) { n, sizeof(n) - 1, v, sizeof(v) - 1 }

static void head(const struct secrets_ruleset *rs, const struct secrets_upstream *up,
		 const char *target, const struct secrets_header *h, size_t n,
		 struct secrets_verdict *v, struct secrets_head_rewrite *rw)
{
	assert_int_equal(secrets_request_head(rs, up, target, strlen(target), h, n, v, rw), 0);
}

static void expect_block(const struct secrets_ruleset *rs, const struct secrets_upstream *up,
			 const char *target, const struct secrets_header *h, size_t n,
			 const char *reason, const char *detail, const char *where)
{
	struct secrets_head_rewrite rw;
	struct secrets_verdict v;

	head(rs, up, target, h, n, &v, &rw);
	assert_int_equal(v.action, SECRETS_BLOCK);
	assert_string_equal(v.reason, reason);
	if (detail)
		assert_string_equal(v.detail, detail);
	else
		assert_null(v.detail);
	assert_string_equal(v.where, where);
	assert_null(rw.target.buf);
	assert_null(rw.values);
	assert_int_equal(v.injected, 0);
	secrets_head_rewrite_free(&rw);
}

static void test_bound_header_injected(void **state)
{
	struct secrets_ruleset *rs = make_rules(SECRETS_BLOCK);
	struct secrets_header h[] = { H("Host", "api.allowed.test"),
				      H("Authorization", "Bearer " PH_A),
				      H("X-Api-Token", PH_A) };
	struct secrets_head_rewrite rw;
	struct secrets_verdict v;
	char names[64];

	(void)state;
	head(rs, &API, "/headers", h, 3, &v, &rw);
	assert_int_equal(v.action, SECRETS_PASS);
	assert_null(rw.target.buf);
	assert_null(rw.values[0].buf);
	assert_string_equal(rw.values[1].buf, "Bearer " REAL_A);
	assert_int_equal(rw.values[1].len, strlen("Bearer " REAL_A));
	assert_string_equal(rw.values[2].buf, REAL_A);
	assert_int_equal(v.injected, 1u);
	secrets_mask_names(rs, v.injected, names, sizeof(names));
	assert_string_equal(names, "GH");
	secrets_head_rewrite_free(&rw);
	secrets_ruleset_put(rs);
}

static void test_misdirected(void **state)
{
	struct secrets_ruleset *rs = make_rules(SECRETS_BLOCK);
	struct secrets_header auth[] = { H("Authorization", "Bearer " PH_A) };
	struct secrets_header echo[] = { H("Authorization", "Bearer " PH_A), H("X-Echo", PH_A) };
	struct secrets_header in_name[] = { H(PH_A, "x") };
	struct secrets_header unset[] = { H("Authorization", "cagectl:secret:UNSET:00") };

	(void)state;
	/* Row 73: an allowed host the rule does not bind. */
	expect_block(rs, &ECHO, "/", auth, 1, "secret.placeholder_misdirected", "unbound_host",
		     "header");
	/* Row 79's other half: the proxy hands the dialled identity; plain http is not enough. */
	expect_block(rs, &API_HTTP, "/", auth, 1, "secret.placeholder_misdirected", "plain_http",
		     "header");
	/* Row 77: bound host, locations strict mode does not allow. */
	expect_block(rs, &API, "/", echo, 2, "secret.placeholder_misdirected", "location", "header");
	expect_block(rs, &API, "/q/" PH_A, auth, 1, "secret.placeholder_misdirected", "location",
		     "target");
	expect_block(rs, &API, "/q?key=" PH_A, auth, 1, "secret.placeholder_misdirected",
		     "location", "target");
	expect_block(rs, &API, "/", in_name, 1, "secret.placeholder_misdirected", "location",
		     "header_name");
	expect_block(rs, &API, "/", unset, 1, "secret.value_missing", NULL, "header");
	secrets_ruleset_put(rs);
}

static void test_unknown_shapes(void **state)
{
	struct secrets_ruleset *rs = make_rules(SECRETS_BLOCK);
	static const char *const shapes[] = {
		"cagectl:secret:NOPE:0123",
		"Bearer cagectl:secret:",
		"CAGECTL:SECRET:GH:0123456789abcdef0123456789abcdef",  /* a known one in other case */
		"cagectl:secret:GH:0123456789abcdef0123456789abcdeX",  /* last digit changed */
		"x=cagectl%3Asecret%3AGH%3A0123",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct secrets_header h[] = { { "Authorization", 13, shapes[i], strlen(shapes[i]) } };

		expect_block(rs, &API, "/", h, 1, "secret.placeholder_unknown", NULL, "header");
		expect_block(rs, &ECHO, "/", h, 1, "secret.placeholder_unknown", NULL, "header");
	}
	{
		struct secrets_header ok[] = { H("Authorization", "Bearer " PH_A) };

		expect_block(rs, &API, "/?cagectl:secret:x", ok, 1, "secret.placeholder_unknown",
			     NULL, "target");
	}
	secrets_ruleset_put(rs);
}

static void test_flag_mode(void **state)
{
	struct secrets_ruleset *rs = make_rules(SECRETS_FLAG);
	struct secrets_header h[] = { H("Authorization", "Bearer " PH_A), H("X-Echo", PH_A) };
	struct secrets_head_rewrite rw;
	struct secrets_verdict v;

	(void)state;
	head(rs, &API, "/", h, 2, &v, &rw);
	assert_int_equal(v.action, SECRETS_FLAG);
	assert_string_equal(v.reason, "secret.placeholder_misdirected");
	assert_string_equal(v.detail, "location");
	/* The bound copy is injected, the misdirected copy stays a worthless placeholder. */
	assert_string_equal(rw.values[0].buf, "Bearer " REAL_A);
	assert_null(rw.values[1].buf);
	secrets_head_rewrite_free(&rw);
	secrets_ruleset_put(rs);
}

static void test_inject_body_everywhere(void **state)
{
	struct secrets_ruleset *rs = make_rules(SECRETS_BLOCK);
	struct secrets_header h[] = { H("X-Echo", "v=" PH_B), H("Cookie", PH_B) };
	struct secrets_head_rewrite rw;
	struct secrets_verdict v;

	(void)state;
	head(rs, &API, "/q/" PH_B "?key=" PH_B, h, 2, &v, &rw);
	assert_int_equal(v.action, SECRETS_PASS);
	assert_string_equal(rw.target.buf, "/q/" REAL_B "?key=" REAL_B);
	assert_string_equal(rw.values[0].buf, "v=" REAL_B);
	assert_string_equal(rw.values[1].buf, REAL_B);
	assert_int_equal(v.injected, 2u);
	secrets_head_rewrite_free(&rw);
	secrets_ruleset_put(rs);
}

static void test_custom_header_and_placeholder(void **state)
{
	struct secrets_ruleset *rs = make_rules(SECRETS_BLOCK);
	struct secrets_header h[] = { H("X-Custom", PH_C) };
	struct secrets_header bad[] = { H("X-Other", PH_C) };
	struct secrets_head_rewrite rw;
	struct secrets_verdict v;

	(void)state;
	head(rs, &OTHER, "/", h, 1, &v, &rw);
	assert_int_equal(v.action, SECRETS_PASS);
	assert_string_equal(rw.values[0].buf, REAL_C);
	secrets_head_rewrite_free(&rw);
	expect_block(rs, &OTHER, "/", bad, 1, "secret.placeholder_misdirected", "location", "header");
	/* "*.other.test" does not bind other.test itself. */
	{
		struct secrets_upstream apex = { .https = true, .host = "other.test", .port = 443 };

		expect_block(rs, &apex, "/", h, 1, "secret.placeholder_misdirected", "unbound_host",
			     "header");
	}
	secrets_ruleset_put(rs);
}

static char *b64(const char *s)
{
	char *out = malloc(b64_encoded_len(strlen(s)) + 1);

	assert_non_null(out);
	b64_encode((const unsigned char *)s, strlen(s), out, false, true);
	return out;
}

static void test_basic_auth(void **state)
{
	struct secrets_ruleset *rs = make_rules(SECRETS_BLOCK);
	char *in = b64("x-access-token:" PH_A), *want = b64("x-access-token:" REAL_A), val[256];
	char *plain = b64("user:password");
	struct secrets_header h[1];
	struct secrets_head_rewrite rw;
	struct secrets_verdict v;

	(void)state;
	snprintf(val, sizeof(val), "Basic %s", in);
	h[0] = (struct secrets_header){ "Authorization", 13, val, strlen(val) };
	head(rs, &API, "/", h, 1, &v, &rw);
	assert_int_equal(v.action, SECRETS_PASS);
	assert_int_equal(v.injected, 1u);
	assert_memory_equal(rw.values[0].buf, "Basic ", 6);
	assert_string_equal(rw.values[0].buf + 6, want);
	secrets_head_rewrite_free(&rw);
	/* The same header to a host the rule does not bind is refused, decoded or not. */
	expect_block(rs, &ECHO, "/", h, 1, "secret.placeholder_misdirected", "unbound_host",
		     "header");
	/* Basic without a placeholder is left alone. */
	snprintf(val, sizeof(val), "basic  %s", plain);
	h[0].value_len = strlen(val);
	head(rs, &ECHO, "/", h, 1, &v, &rw);
	assert_int_equal(v.action, SECRETS_PASS);
	assert_null(rw.values[0].buf);
	secrets_head_rewrite_free(&rw);
	free(in);
	free(want);
	free(plain);
	secrets_ruleset_put(rs);
}

/* ---- streams ---- */

struct collect {
	struct obuf o;
};

static char *run_stream(struct secrets_ruleset *rs, const struct secrets_upstream *up,
			enum secrets_stream_kind kind, const char *in, size_t len,
			const size_t *cuts, size_t n_cuts, int *err_out, uint64_t *redacted)
{
	struct secrets_stream *s = secrets_stream_new(rs, up, kind);
	struct obuf o = { 0 };
	size_t prev = 0;
	int err = 0;
	char *ret;

	assert_non_null(s);
	for (size_t i = 0; i <= n_cuts && !err; i++) {
		size_t end = i < n_cuts ? cuts[i] : len;

		err = secrets_stream_feed(s, in + prev, end - prev, obuf_emit, &o);
		prev = end;
	}
	if (!err)
		err = secrets_stream_finish(s, obuf_emit, &o);
	*err_out = err;
	if (redacted)
		*redacted = secrets_stream_redacted(s);
	secrets_stream_free(s);
	ret = strdup(o.buf ? o.buf : "");
	obuf_free(&o);
	return ret;
}

/* Every split into two pieces, then every split into three, then byte by byte. */
static void check_all_cuts(struct secrets_ruleset *rs, const struct secrets_upstream *up,
			   enum secrets_stream_kind kind, const char *in, const char *want)
{
	size_t len = strlen(in), cuts[2];
	int err;
	char *out;

	for (size_t i = 0; i <= len; i++) {
		cuts[0] = i;
		out = run_stream(rs, up, kind, in, len, cuts, 1, &err, NULL);
		assert_int_equal(err, 0);
		assert_string_equal(out, want);
		free(out);
		for (size_t j = i; j <= len && len < 400; j += 7) {
			cuts[1] = j;
			out = run_stream(rs, up, kind, in, len, cuts, 2, &err, NULL);
			assert_string_equal(out, want);
			free(out);
		}
	}
	{
		size_t *all = malloc((len + 1) * sizeof(*all));

		for (size_t i = 0; i < len; i++)
			all[i] = i + 1;
		out = run_stream(rs, up, kind, in, len, all, len, &err, NULL);
		assert_int_equal(err, 0);
		assert_string_equal(out, want);
		free(out);
		free(all);
	}
}

static void test_body_every_boundary(void **state)
{
	struct secrets_ruleset *rs = make_rules(SECRETS_BLOCK);

	(void)state;
	check_all_cuts(rs, &API, SECRETS_STREAM_BODY, "a=" PH_B "&b=" PH_B PH_B "&c=cagectl:",
		       "a=" REAL_B "&b=" REAL_B REAL_B "&c=cagectl:");
	check_all_cuts(rs, &API, SECRETS_STREAM_WEBSOCKET, PH_B, REAL_B);
	check_all_cuts(rs, &API, SECRETS_STREAM_BODY, "nothing to see", "nothing to see");
	secrets_ruleset_put(rs);
}

static void test_body_blocks(void **state)
{
	struct secrets_ruleset *rs = make_rules(SECRETS_BLOCK);
	const char *in = "{\"content\":\"" PH_A "\"}";
	size_t len = strlen(in), cuts[1];
	int err;
	char *out;

	(void)state;
	for (size_t i = 0; i <= len; i++) {
		struct secrets_stream *s = secrets_stream_new(rs, &API, SECRETS_STREAM_BODY);
		struct obuf o = { 0 };

		cuts[0] = i;
		err = secrets_stream_feed(s, in, i, obuf_emit, &o) ?:
		      secrets_stream_feed(s, in + i, len - i, obuf_emit, &o) ?:
		      secrets_stream_finish(s, obuf_emit, &o);
		assert_int_equal(err, -EACCES);
		assert_int_equal(secrets_stream_verdict(s)->action, SECRETS_BLOCK);
		assert_string_equal(secrets_stream_verdict(s)->where, "body");
		/* Nothing from the placeholder on was emitted. */
		assert_true(o.len <= strlen("{\"content\":\""));
		secrets_stream_free(s);
		obuf_free(&o);
	}
	/* An unknown shape split across the boundary is still found. */
	in = "xx cagectl:secret:NOPE yy";
	len = strlen(in);
	for (size_t i = 0; i <= len; i++) {
		cuts[0] = i;
		out = run_stream(rs, &ECHO, SECRETS_STREAM_BODY, in, len, cuts, 1, &err, NULL);
		assert_int_equal(err, -EACCES);
		free(out);
	}
	secrets_ruleset_put(rs);
}

static void test_output_lag(void **state)
{
	struct secrets_ruleset *rs = make_rules(SECRETS_BLOCK);
	struct secrets_stream *s = secrets_stream_new(rs, &API, SECRETS_STREAM_BODY);
	struct obuf o = { 0 };
	size_t fed = 0;

	(void)state;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(secrets_stream_feed(s, "abcdefghijklmnopqrstuvwxyz", 26, obuf_emit, &o), 0);
		fed += 26;
		assert_true(fed - o.len < strlen(PH_B));
	}
	assert_int_equal(secrets_stream_finish(s, obuf_emit, &o), 0);
	assert_int_equal(o.len, fed);
	secrets_stream_free(s);
	obuf_free(&o);
	secrets_ruleset_put(rs);
}

static void test_redaction_every_boundary(void **state)
{
	struct secrets_ruleset *rs = make_rules(SECRETS_BLOCK);
	char *basic = b64("x-access-token:" REAL_A), in[1024], *one = NULL, *out;
	size_t cuts[1], one_len;
	uint64_t red;
	int err;

	(void)state;
	snprintf(in, sizeof(in), "{\"auth\":\"Bearer %s\",\"b\":\"%s\",\"basic\":\"Basic %s\","
		 "\"pct\":\"%s\"}", REAL_A, REAL_B, basic, "sk-bodyvalue-ABCDEFGHIJKLMNOP%2F%2B%3D");
	assert_int_equal(secrets_redact(rs, in, strlen(in), &one, &one_len, &red), 0);
	assert_non_null(one);
	assert_int_equal(red, 3u);
	assert_null(strstr(one, REAL_A));
	assert_null(strstr(one, REAL_B));
	assert_null(strstr(one, "sk-bodyvalue"));
	assert_null(strstr(one, basic + 20));  /* the encoded value's core is gone */
	assert_non_null(strstr(one, "Bearer " PH_A));
	for (size_t i = 0; i <= strlen(in); i++) {
		cuts[0] = i;
		out = run_stream(rs, NULL, SECRETS_STREAM_REDACT, in, strlen(in), cuts, 1, &err, &red);
		assert_int_equal(err, 0);
		assert_string_equal(out, one);
		assert_int_equal(red, 3u);
		free(out);
	}
	/* Nothing to redact: no copy. */
	assert_int_equal(secrets_redact(rs, "plain", 5, &out, &one_len, &red), 0);
	assert_null(out);
	assert_int_equal(red, 0);
	free(one);
	free(basic);
	secrets_ruleset_put(rs);
}

static void test_overlapping_values(void **state)
{
	struct secrets_ruleset *rs = secrets_ruleset_new(NULL);
	struct secrets_rule_spec x = { .key = "X", .placeholder = "<PH_X____>",
				       .value = (const unsigned char *)"abcdefgh12345678",
				       .value_len = 16 };
	struct secrets_rule_spec y = { .key = "Y", .placeholder = "<PH_Y____>",
				       .value = (const unsigned char *)"12345678ZZZZZZZZ",
				       .value_len = 16 };
	struct secrets_rule_spec z = { .key = "Z", .placeholder = "<PH_Z____>",
				       .value = (const unsigned char *)"abcdefgh", .value_len = 8 };
	static const struct {
		const char *in, *want;
	} cases[] = {
		/* Longest first: X, not Z followed by a bare fragment of X. */
		{ "[abcdefgh12345678]", "[<PH_X____>]" },
		{ "[abcdefgh]", "[<PH_Z____>]" },
		/* X and Y overlap: both replaced, no fragment of Y left behind. */
		{ "[abcdefgh12345678ZZZZZZZZ]", "[<PH_X____><PH_Y____>]" },
		{ "[abcdefgh12345678ZZZZZZZZ12345678ZZZZZZZZ]",
		  "[<PH_X____><PH_Y____><PH_Y____>]" },
		{ "abcdefgabcdefgh", "abcdefg<PH_Z____>" },
	};
	uint64_t red;
	size_t n;
	char *out;

	(void)state;
	assert_int_equal(secrets_ruleset_add(rs, &x), 0);
	assert_int_equal(secrets_ruleset_add(rs, &y), 0);
	assert_int_equal(secrets_ruleset_add(rs, &z), 0);
	assert_int_equal(secrets_ruleset_compile(rs), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(secrets_redact(rs, cases[i].in, strlen(cases[i].in), &out, &n, &red), 0);
		assert_string_equal(out, cases[i].want);
		free(out);
		check_all_cuts(rs, NULL, SECRETS_STREAM_REDACT, cases[i].in, cases[i].want);
	}
	secrets_ruleset_put(rs);
}

static void test_redirects(void **state)
{
	static const struct {
		const char *loc;
		bool may;
	} cases[] = {
		{ "/next", true },
		{ "next?x=1", true },
		{ "https://api.allowed.test/x", true },
		{ "https://API.allowed.test.:443/x", true },
		{ "https://echo.allowed.test/x", false },
		{ "http://api.allowed.test/x", false },
		{ "https://api.allowed.test:8443/x", false },
		{ "//echo.allowed.test/x", false },
		{ "https://api.allowed.test@evil.test/", false },
		{ "\\\\evil.test/x", false },
		{ "javascript:alert(1)", false },
		{ "https://api.allowed.test.evil.test/", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = secrets_redirect_may_carry(&API, cases[i].loc, strlen(cases[i].loc));

		if (got != cases[i].may)
			fail_msg("%s: got %d", cases[i].loc, got);
	}
}

static void test_reload_keeps_streams(void **state)
{
	struct secrets_ruleset *old = make_rules(SECRETS_BLOCK), *fresh = make_rules(SECRETS_BLOCK);
	struct secrets_stream *s;
	struct obuf o = { 0 };

	(void)state;
	secrets_current_set(old);
	s = secrets_stream_new(old, &API, SECRETS_STREAM_BODY);
	assert_int_equal(secrets_stream_feed(s, PH_B, 10, obuf_emit, &o), 0);
	secrets_current_set(fresh);  /* drops the current reference to old; the stream keeps one */
	assert_int_equal(secrets_stream_feed(s, &PH_B[10], strlen(PH_B) - 10, obuf_emit, &o), 0);
	assert_int_equal(secrets_stream_finish(s, obuf_emit, &o), 0);
	assert_string_equal(o.buf, REAL_B);
	secrets_stream_free(s);
	obuf_free(&o);
	secrets_current_set(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound_header_injected),
		cmocka_unit_test(test_misdirected),
		cmocka_unit_test(test_unknown_shapes),
		cmocka_unit_test(test_flag_mode),
		cmocka_unit_test(test_inject_body_everywhere),
		cmocka_unit_test(test_custom_header_and_placeholder),
		cmocka_unit_test(test_basic_auth),
		cmocka_unit_test(test_body_every_boundary),
		cmocka_unit_test(test_body_blocks),
		cmocka_unit_test(test_output_lag),
		cmocka_unit_test(test_redaction_every_boundary),
		cmocka_unit_test(test_overlapping_values),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_reload_keeps_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
