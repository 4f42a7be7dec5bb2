// SPDX-License-Identifier: GPL-2.0-only
/*
 * The streaming substituter against itself: whatever the bytes and wherever the chunks are cut,
 * the output (and the verdict) equals the one-shot substitution of the concatenated input. Both
 * directions: placeholders → values (injection, with blocks) and values → placeholders
 * (redaction, with overlapping values and their encoded forms). Redacted output never holds a
 * real value unless the input held a value's fragment that no whole match covered.
 */
#include <stdlib.h>
#include <string.h>

#include "secrets/internal.h"
#include "secrets/secrets.h"

#define CHECK(cond)                 \
	do {                        \
		if (!(cond))        \
			abort();    \
	} while (0)

static struct secrets_ruleset *rules;

static const struct secrets_upstream api = { .https = true, .host = "api.allowed.test", .port = 443 };

/* Short, overlapping values and placeholders so random inputs hit them often. */
static void build_rules(void)
{
	char *api_v[] = { "api.allowed.test" };
	struct cage_strv to = { api_v, 1 };
	static const struct {
		const char *key, *ph, *value;
		bool body;
	} r[] = {
		{ "A", "cagectl:secret:A:00", "abcabcab", true },
		{ "B", "cagectl:secret:B:01", "cabXYZ", true },
		{ "C", "PHC_____", "abc", false },
		{ "D", "cagectl:secret:D:0", "aaaa", true },
		{ "E", "cagectl:secret:E:0123", "aGVsbG8gd29ybGQgaGVsbG8=", true },
	};

	rules = secrets_ruleset_new(NULL);
	CHECK(rules);
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		struct secrets_rule_spec spec = {
			.key = r[i].key, .placeholder = r[i].ph,
			.value = (const unsigned char *)r[i].value, .value_len = strlen(r[i].value),
			.inject_to = &to, .inject_body = r[i].body,
		};

		CHECK(secrets_ruleset_add(rules, &spec) == 0);
	}
	CHECK(secrets_ruleset_compile(rules) == 0);
}

static void run(enum secrets_stream_kind kind, const uint8_t *cuts, size_t n_cuts,
		const uint8_t *data, size_t size, struct obuf *out, int *err, uint64_t *red)
{
	struct secrets_stream *s = secrets_stream_new(rules, &api, kind);
	size_t off = 0;

	CHECK(s);
	*err = 0;
	for (size_t i = 0; i < n_cuts && off < size && !*err; i++) {
		size_t n = cuts[i] % 17;

		if (n > size - off)
			n = size - off;
		*err = secrets_stream_feed(s, data + off, n, obuf_emit, out);
		off += n;
	}
	if (!*err && off < size)
		*err = secrets_stream_feed(s, data + off, size - off, obuf_emit, out);
	if (!*err)
		*err = secrets_stream_finish(s, obuf_emit, out);
	*red = secrets_stream_redacted(s);
	secrets_stream_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum secrets_stream_kind kinds[] = { SECRETS_STREAM_BODY, SECRETS_STREAM_REDACT };
	size_t n_cuts;

	if (!rules)
		build_rules();
	if (size < 1)
		return 0;
	n_cuts = data[0] % 32;
	if (n_cuts > size - 1)
		n_cuts = size - 1;
	for (size_t k = 0; k < 2; k++) {
		const uint8_t *body = data + 1 + n_cuts;
		size_t len = size - 1 - n_cuts;
		struct obuf chunked = { 0 }, whole = { 0 };
		uint64_t red_c, red_w;
		int err_c, err_w;

		run(kinds[k], data + 1, n_cuts, body, len, &chunked, &err_c, &red_c);
		run(kinds[k], NULL, 0, body, len, &whole, &err_w, &red_w);
		CHECK(err_c == err_w);
		CHECK(red_c == red_w);
		CHECK(chunked.len == whole.len);
		CHECK(!whole.len || memcmp(chunked.buf, whole.buf, whole.len) == 0);
		if (kinds[k] == SECRETS_STREAM_REDACT && whole.len) {
			/* "abcabcab" only survives where the input could not contain it whole. */
			CHECK(!memmem(whole.buf, whole.len, "abcabcab", 8));
			CHECK(!memmem(whole.buf, whole.len, "cabXYZ", 6));
		}
		obuf_free(&chunked);
		obuf_free(&whole);
	}
	return 0;
}
