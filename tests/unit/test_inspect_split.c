// SPDX-License-Identifier: GPL-2.0-only
/*
 * Across requests and sessions: a token split into short query values (escapes.md row 67,
 * `fold -w5`) flagged dlp.split per destination host, benign short values left alone, values
 * ageing out of the window; a known value sent in order in pieces blocked (dec=split); a
 * session reused across requests and across a reload (inspect_session_reuse) carrying nothing
 * over; and the known-value exemption following the secrets engine's strict mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#if __has_include(<hs.h>)
#include <time.h>
#include <unistd.h>

#include "secrets/secrets.h"
#include "test_inspect_util.h"

#define CANARY_GH "ghp_R3dT3amC4nary00000000000000000000000"
#define VALUE "s3cr3t-Value-0123456789abcdefXYZ"
/* a github_token shape without repeated 5-byte pieces (repeats are recorded once) */
#define SPLIT_GH "ghp_NqVwYS81VP7Hb1DX8pPd5khxE3pyIgKpaUnA"

static struct inspect_chain *entropy_chain(const char *yaml)
{
	static struct cage_inspector ins[2];
	static struct cage_config_file cfg;

	memset(&cfg, 0, sizeof(cfg));
	ins[0] = (struct cage_inspector){ .name = "entropy", .enabled = true,
					  .config_yaml = (char *)yaml };
	ins[1] = (struct cage_inspector){ .name = "rate_limit", .enabled = false };
	cfg.inspectors = ins;
	cfg.n_inspectors = 2;
	return chain_with(&cfg);
}

static int get(struct inspect_session *s, const char *host, const char *target)
{
	return run_req(s, host, target, NULL, 0, "", 0, 0, 0);
}

/* 40 random base62 characters, like the lab's CANARY_RAND. */
static void random_token(char *out, size_t len, unsigned *seed)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

	for (size_t i = 0; i < len; i++)
		out[i] = a[rand_r(seed) % 62];
	out[len] = 0;
}

/* Row 67: one request per 5-character piece; returns the request (1-based) that was flagged,
 * 0 when none was. */
static int send_pieces(struct inspect_session *s, const char *host, const char *tok)
{
	int flagged = 0;

	for (size_t off = 0; off < strlen(tok); off += 5) {
		char target[64];
		int rc;

		snprintf(target, sizeof(target), "/rt-67-1a2b3c4d?p=%.5s", tok + off);
		rc = get(s, host, target);
		assert_int_not_equal(rc, INSPECT_BLOCK);
		if (rc == INSPECT_FLAG && !flagged) {
			const struct inspect_finding *f = find_rule(inspect_verdict(s), "dlp.split",
								    "query");

			assert_non_null(f);
			assert_string_equal(f->rule, "cumulative_entropy");
			assert_int_equal(f->severity, INSPECT_SEV_WARNING);
			flagged = (int)(off / 5) + 1;
		}
	}
	return flagged;
}

static void test_split_entropy(void **state)
{
	struct inspect_chain *c = entropy_chain(NULL);
	struct inspect_session *s = c ? inspect_session_new(c) : NULL;
	unsigned seed = 67, caught = 0;
	char tok[41];

	(void)state;
	assert_non_null(s);
	/* Default budget 32 bytes: flagged by the 7th piece (35 bytes; sooner when the path's
	 * nonce segment joins in), each try on a host of its own (the table is per host). */
	for (int i = 0; i < 200; i++) {
		char host[64];
		int at;

		random_token(tok, 40, &seed);
		snprintf(host, sizeof(host), "h%d.echo.allowed.test", i);
		at = send_pieces(s, host, tok);
		caught += at && at <= 7;
	}
	printf("# row 67: %u of 200 split tokens flagged by the 7th piece\n", caught);
	assert_true(caught >= 196);

	/* Benign: ordinary short query values, many requests to one host, nothing flagged. */
	static const char *const benign[] = {
		"/search?q=vectorscan&page=2&per_page=50", "/search?q=streaming+regex&page=3",
		"/repos/cagectl/cagectl/issues?state=open&sort=created&direction=desc",
		"/repos/cagectl/cagectl/commits/3f2b8c1e?per_page=100",
		"/api/v1/users/1234/orders?status=shipped&limit=20&offset=40",
		"/v2/library/debian/manifests/bookworm-slim", "/simple/requests/?format=json",
		"/packages/npm/left-pad/1.3.0?lang=en-US&tz=Europe%2FBerlin",
		"/issues/4711/comments?since=2026-11-27T06%3A46%3A50Z",
		"/cdn/img/logo.png?v=20261127&w=256&h=256&fit=crop",
		"/search?q=rust+async+trait&page=1", "/search?q=linux+cgroup+v2&page=1",
		"/sessions?_=1764226010123", "/sessions?_=1764226010987",
	};
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof(benign) / sizeof(benign[0]); i++) {
			int rc = get(s, "api.allowed.test", benign[i]);

			if (rc != INSPECT_ABSTAIN) {
				fprintf(stderr, "# round %d: %s\n", round, benign[i]);
				dump_verdict(inspect_verdict(s));
			}
			assert_int_equal(rc, INSPECT_ABSTAIN);
		}
	inspect_session_free(s);
	inspect_chain_free(c);

	/* The window: pieces older than split_window no longer count. */
	c = entropy_chain("split_window: 0.2\nsplit_budget: 20\n");
	s = c ? inspect_session_new(c) : NULL;
	assert_non_null(s);
	/* ...and until they are that old, the chain is not settled (proxy.idle_exit waits). */
	assert_true(inspect_chain_settled(c, 0));
	assert_int_equal(get(s, ECHO_HOST, "/x?p=ab3De"), INSPECT_ABSTAIN);
	assert_false(inspect_chain_settled(c, 0));
	assert_true(inspect_chain_settled(c, 0.3));
	usleep(300 * 1000);
	random_token(tok, 40, &seed);
	for (int i = 0; i < 8; i++) {
		char target[64];

		if (i && i % 3 == 0)
			usleep(300 * 1000);   /* at most three pieces (15 bytes) per window */
		snprintf(target, sizeof(target), "/x?p=%.5s", tok + 5 * i);
		assert_int_equal(get(s, ECHO_HOST, target), INSPECT_ABSTAIN);
	}
	/* ...and in one window the budget of 20 is reached on the 4th piece; a block when asked. */
	inspect_session_free(s);
	inspect_chain_free(c);
	c = entropy_chain("split_budget: 20\nsplit_action: block\n");
	s = c ? inspect_session_new(c) : NULL;
	assert_non_null(s);
	random_token(tok, 40, &seed);
	for (int i = 0; i < 4; i++) {
		char target[64];

		snprintf(target, sizeof(target), "/x?p=%.5s", tok + 5 * i);
		assert_int_equal(get(s, ECHO_HOST, target), i < 3 ? INSPECT_ABSTAIN : INSPECT_BLOCK);
	}
	assert_non_null(find_rule(inspect_verdict(s), "dlp.split", "query"));
	/* a form body counts like a query */
	random_token(tok, 40, &seed);
	for (int i = 0; i < 4; i++) {
		char body[32];
		int rc;

		snprintf(body, sizeof(body), "t=%.5s", tok + 5 * i);
		rc = run_body(s, "form.allowed.test", "application/x-www-form-urlencoded", body,
			      strlen(body), 3, 0);
		assert_int_equal(rc, i < 3 ? INSPECT_ABSTAIN : INSPECT_BLOCK);
	}
	assert_non_null(find_rule(inspect_verdict(s), "dlp.split", "body"));
	inspect_session_free(s);
	inspect_chain_free(c);

	/* Off with split_budget 0; refused keys. */
	c = entropy_chain("split_budget: 0\n");
	s = c ? inspect_session_new(c) : NULL;
	assert_non_null(s);
	random_token(tok, 40, &seed);
	assert_int_equal(send_pieces(s, ECHO_HOST, tok), 0);
	inspect_session_free(s);
	inspect_chain_free(c);
	assert_null(entropy_chain("split_min_bytes: 0\n"));
	assert_null(entropy_chain("split_budget: 1000\n"));
}

static struct inspect_chain *known_chain(bool inject_body, char **hdrs, size_t n_hdrs)
{
	static const char *const values[] = { VALUE };
	static char *rule_to[] = { "api.allowed.test" };
	static struct cage_secret_rule rule;
	static struct cage_inspector no_rate = { .name = "rate_limit", .enabled = false };
	static struct cage_config_file cfg;
	struct inspect_chain *c;

	rule = (struct cage_secret_rule){
		.name = "MY_TOKEN", .inject_to = { rule_to, 1 }, .inject_headers = { hdrs, n_hdrs },
		.inject_body = inject_body,
	};
	cfg = (struct cage_config_file){ .secrets = &rule, .n_secrets = 1, .inspectors = &no_rate,
					 .n_inspectors = 1 };
	c = chain_with(&cfg);
	assert_non_null(c);
	assert_int_equal(inspect_set_known_values(c, values, 1), 0);
	return c;
}

static void test_split_known(void **state)
{
	struct inspect_chain *c = known_chain(false, NULL, 0);
	struct inspect_session *s = inspect_session_new(c);
	const struct inspect_finding *f;
	char target[64];
	int blocked_at = 0;

	(void)state;
	assert_non_null(s);
	/* In order, 5 bytes a request (entropy off: the known-value view needs no opt-in). */
	for (size_t off = 0; off < strlen(VALUE); off += 5) {
		int rc;

		snprintf(target, sizeof(target), "/rt-67?p=%.5s", &VALUE[off]);
		rc = get(s, ECHO_HOST, target);
		if (rc == INSPECT_BLOCK && !blocked_at) {
			blocked_at = (int)(off / 5) + 1;
			f = find_rule(inspect_verdict(s), "known_value:MY_TOKEN", "query");
			assert_non_null(f);
			assert_string_equal(f->decoders, "split");
			assert_int_equal(f->severity, INSPECT_SEV_CRITICAL);
		}
		/* once 12 bytes are joined, every later piece completes another fragment (the
		 * last, 2 bytes, is under split_min_bytes) */
		if (blocked_at && off + 5 <= strlen(VALUE))
			assert_int_equal(rc, INSPECT_BLOCK);
	}
	assert_int_equal(blocked_at, 3);   /* 15 bytes: the first 12-byte fragment */
	/* A value found once does not block later requests to the host. */
	assert_int_equal(get(s, ECHO_HOST, "/rt-67?p=hello"), INSPECT_ABSTAIN);
	assert_int_equal(get(s, ECHO_HOST, "/rt-67?q=world&page=2"), INSPECT_ABSTAIN);
	/* Several pieces in one request, and a family pattern (ghp_...) in pieces. */
	assert_int_equal(get(s, "other.allowed.test", "/x?a=s3cr3t&b=-Valu&c=e-0123"),
			 INSPECT_BLOCK);
	for (size_t off = 0; off < strlen(SPLIT_GH); off += 5) {
		int rc;

		snprintf(target, sizeof(target), "/gh?p=%.5s", &SPLIT_GH[off]);
		rc = get(s, "third.allowed.test", target);
		if (off + 5 >= strlen(SPLIT_GH))
			assert_int_equal(rc, INSPECT_BLOCK);
	}
	assert_non_null(find_rule(inspect_verdict(s), "github_token", "query"));
	/* Bound with inject_body: its own host may receive it anywhere, pieces included. */
	inspect_session_free(s);
	inspect_chain_free(c);
	c = known_chain(true, NULL, 0);
	s = inspect_session_new(c);
	assert_non_null(s);
	for (size_t off = 0; off < strlen(VALUE); off += 5) {
		snprintf(target, sizeof(target), "/x?p=%.5s", &VALUE[off]);
		assert_int_equal(get(s, "api.allowed.test", target), INSPECT_ABSTAIN);
	}
	inspect_session_free(s);
	inspect_chain_free(c);
}

/* Strict mode: exempt in a credential-named header on the bound host, as injection would do. */
static void test_known_strict_mode(void **state)
{
	static const struct {
		const char *host, *name, *value;
		int expect;
	} cases[] = {
		{ "api.allowed.test", "Authorization", "Bearer " VALUE, INSPECT_ABSTAIN },
		{ "api.allowed.test", "authorization", VALUE, INSPECT_ABSTAIN },
		{ "api.allowed.test", "X-Api-Key", VALUE, INSPECT_ABSTAIN },
		{ "api.allowed.test", "X-Auth-Token", VALUE, INSPECT_ABSTAIN },
		{ "api.allowed.test", "PRIVATE-TOKEN", VALUE, INSPECT_ABSTAIN },
		{ "api.allowed.test", "X-Custom", VALUE, INSPECT_BLOCK },     /* not listed */
		{ "api.allowed.test", "X-Debug", VALUE, INSPECT_ABSTAIN },    /* inject_headers */
		{ "api.allowed.test", "X-Auth-" VALUE, "1", INSPECT_BLOCK },  /* a header name */
		{ ECHO_HOST, "Authorization", "Bearer " VALUE, INSPECT_BLOCK }, /* unbound host */
	};
	char *hdrs[] = { "x-debug" };
	struct inspect_chain *c = known_chain(false, hdrs, 1);
	struct inspect_session *s = inspect_session_new(c);

	(void)state;
	assert_non_null(s);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct inspect_header h = { cases[i].name, strlen(cases[i].name), cases[i].value,
					    strlen(cases[i].value) };
		int rc = run_req(s, cases[i].host, "/", &h, 1, "", 0, 0, 0);

		if (rc != cases[i].expect)
			fprintf(stderr, "# case %zu (%s): %d\n", i, cases[i].name, rc);
		assert_int_equal(rc, cases[i].expect);
		if (rc == INSPECT_BLOCK)
			assert_non_null(find_rule(inspect_verdict(s), "known_value:MY_TOKEN", NULL));
	}
	/* the body and the query of the bound host stay closed in strict mode */
	assert_int_equal(run_body(s, "api.allowed.test", "text/plain", VALUE, strlen(VALUE), 0, 0),
			 INSPECT_BLOCK);
	assert_int_equal(get(s, "api.allowed.test", "/x?k=" VALUE), INSPECT_BLOCK);
	inspect_session_free(s);
	inspect_chain_free(c);

	/* The one rule, as the injection engine sees it. */
	assert_true(secrets_location_bound(SECRETS_LOC_HEADER, "Proxy-Authorization", 19, NULL, 0,
					   false));
	assert_false(secrets_location_bound(SECRETS_LOC_HEADER, "X-Custom", 8, NULL, 0, false));
	assert_false(secrets_location_bound(SECRETS_LOC_BODY, "", 0, NULL, 0, false));
	assert_true(secrets_location_bound(SECRETS_LOC_BODY, "", 0, NULL, 0, true));
	assert_false(secrets_location_bound(SECRETS_LOC_HEADER_NAME, "Authorization", 13, NULL, 0,
					    true));
}

/* Reuse: a finished or abandoned message leaves nothing; a reload rebinds the database. */
static void test_session_reuse(void **state)
{
	static const char *const values[] = { VALUE };
	struct inspect_chain *c = chain_with(NULL), *c2;
	struct inspect_session *s;
	struct inspect_request req = { "POST", ECHO_HOST, "/", 1, NULL, 0 };
	static const char half[] = "token=" CANARY_GH;

	(void)state;
	assert_non_null(c);
	s = inspect_session_new(c);
	assert_non_null(s);
	assert_int_equal(run_body(s, ECHO_HOST, "text/plain", half, strlen(half), 9, 0),
			 INSPECT_BLOCK);
	assert_int_equal(inspect_session_reuse(s, c), 0);
	assert_int_equal(inspect_verdict(s)->n, 0);
	/* A message abandoned after the first half of a secret: the next one starts clean. */
	assert_true(inspect_request_start(s, &req) >= 0);
	assert_int_equal(inspect_body_chunk(s, half, 20), INSPECT_ABSTAIN);
	assert_int_equal(inspect_session_reuse(s, c), 0);
	assert_int_equal(run_body(s, ECHO_HOST, "text/plain", half + 20, strlen(half) - 20, 0, 0),
			 INSPECT_ABSTAIN);
	/* A WebSocket on it, then a plain request again. */
	assert_int_equal(inspect_ws_start(s, ECHO_HOST, 0), 0);
	assert_int_equal(inspect_session_reuse(s, c), 0);
	assert_int_equal(inspect_ws_feed(s, true, "x", 1), -EINVAL);
	assert_int_equal(run_body(s, ECHO_HOST, "text/plain", "hello", 5, 0, 0), INSPECT_ABSTAIN);

	/* Reload: known values on the same chain (a new database), then a new chain. */
	assert_int_equal(run_body(s, ECHO_HOST, "text/plain", VALUE, strlen(VALUE), 0, 0),
			 INSPECT_ABSTAIN);
	assert_int_equal(inspect_set_known_values(c, values, 1), 0);
	assert_int_equal(inspect_session_reuse(s, c), 0);
	assert_int_equal(run_body(s, ECHO_HOST, "text/plain", VALUE, strlen(VALUE), 0, 0),
			 INSPECT_BLOCK);
	c2 = entropy_chain(NULL);
	assert_non_null(c2);
	assert_int_equal(inspect_session_reuse(s, c2), 0);
	inspect_chain_free(c);   /* the session no longer holds the old chain */
	assert_int_equal(run_body(s, ECHO_HOST, "text/plain", VALUE, strlen(VALUE), 0, 0),
			 INSPECT_ABSTAIN);
	assert_int_equal(run_body(s, ECHO_HOST, "text/plain", CANARY_GH, strlen(CANARY_GH), 0, 0),
			 INSPECT_BLOCK);
	inspect_session_free(s);
	inspect_chain_free(c2);

	/* Cost: new session per request vs one reused. */
	c = chain_with(NULL);
	struct timespec t0, t1, t2;
	const int n = 2000;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		s = inspect_session_new(c);
		run_body(s, ECHO_HOST, "application/json", "{\"a\":1}", 7, 0, 0);
		inspect_session_free(s);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = inspect_session_new(c);
	for (int i = 0; i < n; i++) {
		assert_int_equal(inspect_session_reuse(s, c), 0);
		run_body(s, ECHO_HOST, "application/json", "{\"a\":1}", 7, 0, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	inspect_session_free(s);
	inspect_chain_free(c);
	printf("# per request: new session %.1f us, reused %.1f us\n",
	       ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n / 1e3,
	       ((t2.tv_sec - t1.tv_sec) * 1e9 + (t2.tv_nsec - t1.tv_nsec)) / n / 1e3);
}

/* Known values given at build time: one database, same verdicts as set afterwards. */
static void test_known_at_build(void **state)
{
	static const char *const values[] = { VALUE };
	char *rule_to[] = { "api.allowed.test" };
	struct cage_secret_rule rule = { .name = "MY_TOKEN", .inject_to = { rule_to, 1 } };
	struct cage_inspector no_rate = { .name = "rate_limit", .enabled = false };
	struct cage_config_file cfg = { .secrets = &rule, .n_secrets = 1, .inspectors = &no_rate,
					.n_inspectors = 1 };
	struct inspect_options opt = { .known_values = values, .n_known = 1 };
	struct inspect_header auth = { "Authorization", 13, "Bearer " VALUE, 7 + strlen(VALUE) };
	struct inspect_chain *c = NULL;
	struct inspect_session *s;
	char err[160];

	(void)state;
	assert_int_equal(inspect_chain_new(&cfg, &opt, &c, err, sizeof(err)), 0);
	s = inspect_session_new(c);
	assert_non_null(s);
	assert_int_equal(run_body(s, ECHO_HOST, "text/plain", VALUE, strlen(VALUE), 0, 0),
			 INSPECT_BLOCK);
	assert_non_null(find_rule(inspect_verdict(s), "known_value:MY_TOKEN", "body"));
	assert_int_equal(run_req(s, "api.allowed.test", "/", &auth, 1, "", 0, 0, 0),
			 INSPECT_ABSTAIN);
	inspect_session_free(s);
	inspect_chain_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_entropy),
		cmocka_unit_test(test_split_known),
		cmocka_unit_test(test_known_strict_mode),
		cmocka_unit_test(test_session_reuse),
		cmocka_unit_test(test_known_at_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
	printf("1..0 # SKIP Vectorscan headers missing\n");
	return 0;
}
#endif
