// SPDX-License-Identifier: GPL-2.0-only
/*
 * Chain mechanics and the non-secret inspectors: fixed order and first block wins, body size
 * (Content-Length and streamed, per-host override; row 98), header size (row 97), rate limit,
 * entropy (opt-in, body and URL, signature allowlist; row 71), content type (row 69 and the
 * text-type flags), domain lists, per-inspector exempt hosts, configuration errors, the 403
 * JSON, and a custom plugin built from tests/plugins/example_plugin.c with cc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#if __has_include(<hs.h>)
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scaffolds/scaffolds.h"
#include "test_inspect_util.h"

#define CANARY_GH "ghp_R3dT3amC4nary00000000000000000000000"

/* cagectl's main.c defines it; the scaffold code reaches it through the CLI's file helpers. */
bool json_output;

static struct inspect_chain *chain_yaml(const char *name, const char *yaml)
{
	static struct cage_inspector ins[2];
	static struct cage_config_file cfg;

	memset(&cfg, 0, sizeof(cfg));
	ins[0] = (struct cage_inspector){ .name = (char *)name, .enabled = true,
					  .config_yaml = (char *)yaml };
	ins[1] = (struct cage_inspector){ .name = "rate_limit", .enabled = false };
	cfg.inspectors = ins;
	cfg.n_inspectors = strcmp(name, "rate_limit") ? 2 : 1;
	return chain_with(&cfg);
}

static void test_body_size(void **state)
{
	struct inspect_chain *c = chain_yaml("body_size", "max_bytes: 1000\nhost_max_bytes:\n"
					     "  big.allowed.test: 5000\n");
	struct inspect_session *s = inspect_session_new(c);
	static char body[6000];
	const struct inspect_header cl[] = { { "Content-Length", 14, "2000", 4 } };

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = "lorem ipsum "[i % 12];
	assert_int_equal(run_body(s, ECHO_HOST, "text/plain", body, 1000, 0, 100), INSPECT_ABSTAIN);
	assert_int_equal(run_body(s, ECHO_HOST, "text/plain", body, 1001, 0, 100), INSPECT_BLOCK);
	assert_int_equal(inspect_verdict(s)->status, 413);
	assert_non_null(find_rule(inspect_verdict(s), "limit.body", "body"));
	/* declared too big: refused before any body byte */
	assert_int_equal(run_req(s, ECHO_HOST, "/", cl, 1, "", 0, 0, 0), INSPECT_BLOCK);
	assert_int_equal(run_body(s, "big.allowed.test", "text/plain", body, 5000, 0, 999),
			 INSPECT_ABSTAIN);
	assert_int_equal(run_body(s, "big.allowed.test", "text/plain", body, 5001, 0, 999),
			 INSPECT_BLOCK);
	inspect_session_free(s);
	inspect_chain_free(c);
}

static void test_header_size(void **state)
{
	struct inspect_chain *c = chain_with(NULL);
	struct inspect_session *s = inspect_session_new(c);
	static char big[70000];
	const struct inspect_header h[] = { { "X-A", 3, big, sizeof(big) - 1 },
					    { "X-B", 3, CANARY_GH, strlen(CANARY_GH) } };

	memset(big, 'a', sizeof(big) - 1);
	assert_int_equal(run_req(s, ECHO_HOST, "/", h, 2, "", 0, 0, 0), INSPECT_BLOCK);
	/* the canary at the end was scanned too: whichever inspector comes first reports */
	assert_non_null(find_rule(inspect_verdict(s), "github_token", "header:x-b"));
	assert_int_equal(run_req(s, ECHO_HOST, "/", h, 1, "", 0, 0, 0), INSPECT_BLOCK);
	assert_int_equal(inspect_verdict(s)->status, 431);
	inspect_session_free(s);
	inspect_chain_free(c);
}

static void test_rate_limit(void **state)
{
	struct inspect_chain *c = chain_yaml("rate_limit", "rate: 0.001\nburst: 5\nhost_rate:\n"
					     "  fast.allowed.test: { rate: 1000, burst: 100 }\n");
	struct inspect_session *s = inspect_session_new(c);
	int blocked = 0;

	for (int i = 0; i < 10; i++)
		blocked += run_req(s, ECHO_HOST, "/", NULL, 0, "", 0, 0, 0) == INSPECT_BLOCK;
	assert_int_equal(blocked, 5);
	assert_int_equal(inspect_verdict(s)->status, 429);
	assert_non_null(find_rule(inspect_verdict(s), "limit.rate", NULL));
	for (int i = 0; i < 50; i++)
		assert_int_equal(run_req(s, "fast.allowed.test", "/", NULL, 0, "", 0, 0, 0),
				 INSPECT_ABSTAIN);
	inspect_session_free(s);
	inspect_chain_free(c);
}

/*
 * proxy.idle_exit waits for inspect_chain_settled: every bucket back at its burst. A fresh chain
 * grants a full burst, so a proxy restarted before that would grant more than it should.
 */
static void test_rate_limit_settled(void **state)
{
	struct inspect_chain *c = chain_yaml("rate_limit", "rate: 10\nburst: 5\nhost_rate:\n"
					     "  slow.allowed.test: { rate: 0.5, burst: 2 }\n");
	struct inspect_session *s = inspect_session_new(c);

	assert_true(inspect_chain_settled(c, 0));          /* nothing taken yet */
	assert_int_equal(run_req(s, ECHO_HOST, "/", NULL, 0, "", 0, 0, 0), INSPECT_ABSTAIN);
	assert_false(inspect_chain_settled(c, 0));         /* 4 of 5 left */
	assert_true(inspect_chain_settled(c, 0.2));        /* +10/s: full again in 0.1 s */
	assert_int_equal(run_req(s, "slow.allowed.test", "/", NULL, 0, "", 0, 0, 0), INSPECT_ABSTAIN);
	assert_false(inspect_chain_settled(c, 1.5));       /* 1 of 2 left, +0.5/s: 2 s */
	assert_true(inspect_chain_settled(c, 2.1));
	inspect_session_free(s);
	inspect_chain_free(c);
}

/*
 * The built-in scaffolds raise the rate limit for package registries only: an install's burst
 * of requests passes, an API host keeps the default (burst 50), and the secrets inspector stays
 * on beside the rate_limit entry.
 */
static void test_scaffold_rates(void **state)
{
	static const char *const scaffolds[] = { "claude-code", "codex", "generic" };

	for (size_t k = 0; k < sizeof(scaffolds) / sizeof(*scaffolds); k++) {
		struct cage_config_file *cfg = NULL;
		struct cage_config_diag diag = { 0 };
		char *text = NULL;
		int blocked = 0;

		assert_int_equal(scaffold_render(scaffolds[k], "t", &text), 0);
		assert_int_equal(cage_config_parse(scaffolds[k], text, strlen(text), &cfg, &diag,
						   NULL, NULL), 0);
		struct inspect_chain *c = chain_with(cfg);
		struct inspect_session *s = inspect_session_new(c);

		assert_non_null(s);
		for (int i = 0; i < 500; i++)
			assert_int_equal(run_req(s, "registry.npmjs.org", "/left-pad", NULL, 0, "",
						 0, 0, 0), INSPECT_ABSTAIN);
		for (int i = 0; i < 60; i++)
			blocked += run_req(s, "github.com", "/", NULL, 0, "", 0, 0, 0) == INSPECT_BLOCK;
		assert_in_range(blocked, 9, 10);
		assert_int_equal(run_req(s, "pypi.org", "/simple/", NULL, 0, CANARY_GH,
					 strlen(CANARY_GH), 0, 0), INSPECT_BLOCK);
		assert_non_null(find_rule(inspect_verdict(s), "github_token", NULL));
		inspect_session_free(s);
		inspect_chain_free(c);
		cage_config_free(cfg);
		free(text);
	}
}

static void fill_random(char *p, size_t n, const char *alphabet, unsigned seed)
{
	size_t k = strlen(alphabet);

	for (size_t i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		p[i] = alphabet[seed % k];
	}
	p[n] = 0;
}

static void test_entropy(void **state)
{
	struct inspect_chain *off = chain_with(NULL);
	struct inspect_chain *c = chain_yaml("entropy", "action: flag\n");
	struct inspect_session *s0 = inspect_session_new(off), *s = inspect_session_new(c);
	static uint8_t rnd[4096];
	char t[256], v[100];
	unsigned x = 1;

	for (size_t i = 0; i < sizeof(rnd); i++) {
		x = x * 1103515245u + 12345u;
		rnd[i] = (uint8_t)(x >> 16);
	}
	/* opt-in: off by default */
	assert_int_equal(run_body(s0, ECHO_HOST, "application/x-foo", rnd, sizeof(rnd), 0, 0),
			 INSPECT_ABSTAIN);
	assert_int_equal(run_body(s, ECHO_HOST, "application/x-foo", rnd, sizeof(rnd), 0, 0),
			 INSPECT_FLAG);
	assert_non_null(find_rule(inspect_verdict(s), "dlp.entropy", "body"));
	/* exempt types, and short bodies */
	assert_int_equal(run_body(s, ECHO_HOST, "image/jpeg", "\xff\xd8\xff", 3, 0, 0),
			 INSPECT_ABSTAIN);
	assert_int_equal(run_body(s, ECHO_HOST, "application/x-foo", rnd, 200, 0, 0),
			 INSPECT_ABSTAIN);
	/* a 64+ byte high-entropy query value; the same as an S3 signature passes */
	fill_random(v, 80, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 7);
	snprintf(t, sizeof(t), "/x?t=%s", v);
	assert_int_equal(run_req(s, ECHO_HOST, t, NULL, 0, "", 0, 0, 0), INSPECT_FLAG);
	assert_non_null(find_rule(inspect_verdict(s), "dlp.entropy", "query"));
	snprintf(t, sizeof(t), "/x?X-Amz-Signature=%s", v);
	assert_int_equal(run_req(s, "bucket.s3.amazonaws.com", t, NULL, 0, "", 0, 0, 0),
			 INSPECT_ABSTAIN);
	/* benign: UUID and sha256 in the query */
	assert_int_equal(run_req(s, ECHO_HOST, "/x?id=3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b&h="
				 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
				 NULL, 0, "", 0, 0, 0), INSPECT_ABSTAIN);
	inspect_session_free(s0);
	inspect_session_free(s);
	inspect_chain_free(off);
	inspect_chain_free(c);
}

static void test_content_type(void **state)
{
	struct inspect_chain *c = chain_with(NULL);
	struct inspect_session *s = inspect_session_new(c);
	static const char png_canary[] = "\x89PNG\r\n\x1a\n" CANARY_GH;
	static const char fake_png[] = "just text pretending to be an image";
	static char b64[1200];
	static uint8_t rnd[2048];
	unsigned x = 3;

	/* row 69: magic bytes match, the text region is scanned anyway */
	assert_int_equal(run_body(s, ECHO_HOST, "image/png", png_canary, sizeof(png_canary) - 1, 0,
				  0), INSPECT_BLOCK);
	assert_non_null(find_rule(inspect_verdict(s), "github_token", "body"));
	assert_int_equal(run_body(s, ECHO_HOST, "image/png", fake_png, strlen(fake_png), 0, 0),
			 INSPECT_BLOCK);
	assert_non_null(find_rule(inspect_verdict(s), "dlp.ctype_mismatch", "body"));
	assert_int_equal(run_body(s, ECHO_HOST, "image/png", "\x89PNG\r\n\x1a\nIHDR", 12, 0, 0),
			 INSPECT_ABSTAIN);
	/* text types: high entropy, long base64 runs → flag */
	for (size_t i = 0; i < sizeof(rnd); i++) {
		x = x * 1103515245u + 12345u;
		rnd[i] = (uint8_t)(x >> 16);
	}
	assert_int_equal(run_body(s, ECHO_HOST, "text/plain", rnd, sizeof(rnd), 0, 0), INSPECT_FLAG);
	assert_non_null(find_rule(inspect_verdict(s), "dlp.ctype_entropy", "body"));
	fill_random(b64, 1000, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 9);
	memcpy(b64, "{\"d\":\"", 6);
	memcpy(b64 + 994, "\"}", 3);
	assert_int_equal(run_body(s, ECHO_HOST, "application/json", b64, strlen(b64), 0, 0),
			 INSPECT_FLAG);
	assert_non_null(find_rule(inspect_verdict(s), "dlp.ctype_base64", "body"));
	/* a base64 PNG thumbnail (benign control) is a payload, not a blob: no flag */
	memcpy(b64 + 6, "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg", 44);
	assert_int_equal(run_body(s, ECHO_HOST, "application/json", b64, strlen(b64), 0, 7),
			 INSPECT_ABSTAIN);
	inspect_session_free(s);
	inspect_chain_free(c);
}

static bool form_flagged(struct inspect_session *s, const char *name, const char *value,
			 size_t split)
{
	static char body[2200];
	const char *ct = "application/x-www-form-urlencoded";
	int n = snprintf(body, sizeof(body), "a=1&%s=%s&b=2", name, value);
	int rc = run_body(s, ECHO_HOST, ct, body, (size_t)n, 0, split);

	assert_true(rc == INSPECT_ABSTAIN || rc == INSPECT_FLAG);
	return find_rule(inspect_verdict(s), "form_value", "body") != NULL;
}

/*
 * Row 71: an unknown high-entropy token in a form body (`curl -d "t=$CANARY_RAND"`, 40
 * random base62 characters) with the URL-value threshold 5.5 and min_url_bytes 32, and the
 * false-positive rate on benign values. The rates are printed for the record.
 */
static void test_entropy_tokens(void **state)
{
	static const char *const benign[] = {
		"3f2b8c1e-9a4d-4e1f-8b7a-2c5d6e7f8a9b",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"da39a3ee5e6b4b0d3255bfef95601890afd80709",
		"src/components/UserProfile/index.tsx",
		"getUserAccountSettingsForOrganization2",
		"node_modules/@types/react-dom/index.d.ts",
		"https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz",
		"feature/JIRA-1234-add-user-profile-endpoint",
		"/api/v1/repos/octocat/Hello-World/pulls/1347/comments",
		"com.example.myapp.MainActivity.onCreate",
		"ThisIsAVeryLongVariableNameThatSomeoneWrote",
		"user.name%2Btag%40example-domain.co.uk",
		"The+quick+brown+fox+jumps+over+the+lazy+dog+2024%2C+again.",
		"2024-01-15T10%3A30%3A00.000Z%2F2024-01-16T10%3A30%3A00.000Z",
		"application%2Fvnd.github.v3%2Bjson%3B+charset%3Dutf-8",
	};
	static const char b62[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct inspect_chain *c = chain_yaml("entropy", "action: flag\nmin_url_bytes: 32\n");
	struct inspect_chain *d = chain_yaml("entropy", "action: flag\n");
	struct inspect_session *s = inspect_session_new(c), *sd = inspect_session_new(d);
	static char tok[2100];
	unsigned hits = 0, fp = 0, runs = 1000;

	assert_non_null(s);
	assert_non_null(sd);
	for (unsigned i = 0; i < runs; i++) {
		fill_random(tok, 40, b62, 1000 + i * 7919);
		hits += form_flagged(s, "t", tok, 0);
	}
	printf("# row 71: %u of %u random 40-char base62 form values flagged (%.1f%%)\n", hits,
	       runs, 100.0 * hits / runs);
	assert_true(hits >= runs * 97 / 100);
	for (size_t i = 0; i < sizeof(benign) / sizeof(benign[0]); i++) {
		bool f = form_flagged(s, "v", benign[i], 0);
		char t[300];

		snprintf(t, sizeof(t), "/x?v=%s", benign[i]);
		assert_int_equal(run_req(s, ECHO_HOST, t, NULL, 0, "", 0, 0, 0), INSPECT_ABSTAIN);
		if (f)
			printf("# benign value flagged: %s\n", benign[i]);
		fp += f;
	}
	printf("# row 71: %u of %zu benign values flagged\n", fp, sizeof(benign) / sizeof(benign[0]));
	assert_int_equal(fp, 0);
	/* split anywhere: byte by byte */
	fill_random(tok, 40, b62, 4242);
	assert_true(form_flagged(s, "t", tok, 1));
	/* a signature parameter on its host is not a leak */
	{
		char body[80];
		int n = snprintf(body, sizeof(body), "X-Amz-Signature=%s", tok);

		assert_int_equal(run_body(s, "bucket.s3.amazonaws.com",
					  "application/x-www-form-urlencoded", body, (size_t)n, 0, 0),
				 INSPECT_ABSTAIN);
	}
	/* base64 of random bytes is flagged; a base64 PNG thumbnail is not */
	fill_random(tok, 1200, b64, 77);
	assert_true(form_flagged(s, "thumb", tok, 0));
	memcpy(tok, "iVBORw0KGgoAAAANSUhEUg", 22);
	assert_false(form_flagged(s, "thumb", tok, 0));
	memcpy(tok, "data%3Aimage%2Fpng%3Bbase64%2CiVBORw0KGgo", 41);
	assert_false(form_flagged(s, "thumb", tok, 0));
	/* the default min_url_bytes (64) leaves a 40-character value alone */
	fill_random(tok, 40, b62, 4242);
	assert_false(form_flagged(sd, "t", tok, 0));
	fill_random(tok, 80, b62, 4243);
	assert_true(form_flagged(sd, "t", tok, 0));
	inspect_session_free(s);
	inspect_session_free(sd);
	inspect_chain_free(c);
	inspect_chain_free(d);
}

static void test_domain_and_order(void **state)
{
	struct cage_domain allow[] = { { "allowed.test", 0 } }, block[] = { { "bad.allowed.test", 0 } };
	struct cage_inspector ins[] = {
		{ .name = "rate_limit", .enabled = false },
		{ .name = "secrets", .enabled = true, .config_yaml = "exempt_hosts: [trusted.allowed.test]\n" },
	};
	struct cage_config_file cfg = { .allow = { allow, 1 }, .block = { block, 1 },
					.inspectors = ins, .n_inspectors = 2 };
	struct inspect_chain *c = chain_with(&cfg);
	struct inspect_session *s = inspect_session_new(c);
	const char *t = "/?q=" CANARY_GH;

	assert_int_equal(run_req(s, "x.allowed.test", "/", NULL, 0, "", 0, 0, 0), INSPECT_ABSTAIN);
	assert_int_equal(run_req(s, "evil.test", "/", NULL, 0, "", 0, 0, 0), INSPECT_BLOCK);
	assert_non_null(find_rule(inspect_verdict(s), "domain.not_allowed", "url"));
	/* first block ends the chain: the secret in the URL is not looked at */
	assert_int_equal(run_req(s, "bad.allowed.test", t, NULL, 0, "", 0, 0, 0), INSPECT_BLOCK);
	assert_int_equal(inspect_verdict(s)->n, 1);
	assert_non_null(find_rule(inspect_verdict(s), "domain.blocked", "url"));
	assert_int_equal(run_req(s, "trusted.allowed.test", t, NULL, 0, "", 0, 0, 0),
			 INSPECT_ABSTAIN);
	assert_int_equal(run_req(s, "x.allowed.test", t, NULL, 0, "", 0, 0, 0), INSPECT_BLOCK);
	{
		char json[512];

		assert_true(inspect_verdict_json(inspect_verdict(s), json, sizeof(json)) > 0);
		assert_non_null(strstr(json, "\"rule\":\"github_token\""));
		assert_non_null(strstr(json, "\"location\":\"query\""));
		assert_null(strstr(json, "R3dT3am"));
	}
	inspect_session_free(s);
	inspect_chain_free(c);
}

static void test_config_errors(void **state)
{
	static const struct { const char *name, *yaml; } bad[] = {
		{ "body_size", "max_bytes: -1\n" },
		{ "body_size", "max_bytes: lots\n" },
		{ "entropy", "threshold: 9\n" },
		{ "entropy", "exempt_content_types: image/\n" },
		{ "content_type", "detect_base64: perhaps\n" },
		{ "rate_limit", "rate: 0\n" },
		{ "secrets", "extra_patterns:\n  - name: x\n    env: FOO\n" },
		{ "nosuch", "" },
		{ "custom:/nonexistent/x.so", "" },
	};
	struct inspect_chain *c;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cage_inspector ins = { .name = (char *)bad[i].name, .enabled = true,
					      .config_yaml = (char *)bad[i].yaml };
		struct cage_config_file cfg = { .inspectors = &ins, .n_inspectors = 1 };

		err[0] = 0;
		assert_true(inspect_chain_new(&cfg, NULL, &c, err, sizeof(err)) < 0);
		assert_true(err[0] != 0);
	}
}

static void test_plugin(void **state)
{
	char dir[] = "/tmp/cage-insp-plugin.XXXXXX", so[256], cmd[768], yaml[] = "forbidden_word: EXFIL\n";
	struct inspect_options opt = { .plugin_dir = dir };
	struct inspect_chain *c;
	struct inspect_session *s;
	char name[300], err[256];
	int rc;

	if (system("command -v cc >/dev/null 2>&1") != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(so, sizeof(so), "%s/example_plugin.so", dir);
	snprintf(cmd, sizeof(cmd), "cc -shared -fPIC -O1 -Iuserspace -Iinclude -o %s "
		 "tests/plugins/example_plugin.c", so);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	chmod(so, 0644);
	snprintf(name, sizeof(name), "custom:%s", so);
	{
		struct cage_inspector ins[] = {
			{ .name = "rate_limit", .enabled = false },
			{ .name = name, .enabled = true, .config_yaml = yaml },
		};
		struct cage_config_file cfg = { .inspectors = ins, .n_inspectors = 2 };
		const struct inspect_header ua[] = { { "User-Agent", 10, "curl", 4 } };

		/* outside the allowed directory: refused */
		assert_int_equal(inspect_chain_new(&cfg, NULL, &c, err, sizeof(err)), -EPERM);
		opt.plugin_dir = "/usr/lib";
		assert_int_equal(inspect_chain_new(&cfg, &opt, &c, err, sizeof(err)), -EPERM);
		opt.plugin_dir = dir;
		rc = inspect_chain_new(&cfg, &opt, &c, err, sizeof(err));
		if (rc)
			fprintf(stderr, "# %s\n", err);
		assert_int_equal(rc, 0);
		s = inspect_session_new(c);
		assert_non_null(s);
		assert_int_equal(run_req(s, ECHO_HOST, "/", ua, 1, "data EXFIL data", 15, 7, 0),
				 INSPECT_BLOCK);
		assert_non_null(find_rule(inspect_verdict(s), "example.forbidden_word", "body"));
		assert_int_equal(run_req(s, ECHO_HOST, "/", ua, 1, "fine", 4, 0, 0), INSPECT_ABSTAIN);
		assert_int_equal(run_req(s, ECHO_HOST, "/", NULL, 0, "fine", 4, 0, 0), INSPECT_FLAG);
		assert_non_null(find_rule(inspect_verdict(s), "example.no_user_agent", NULL));
		inspect_session_free(s);
		inspect_chain_free(c);
	}
	unlink(so);
	rmdir(dir);
}


/* A config on the heap, freed right after the chain is built: the chain must own its copy. */
static struct cage_config_file *heap_cfg(void)
{
	struct cage_config_file *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(cfg);
	cfg->secrets = calloc(1, sizeof(*cfg->secrets));
	assert_non_null(cfg->secrets);
	cfg->n_secrets = 1;
	cfg->secrets[0].name = strdup("MY_TOKEN");
	cfg->secrets[0].inject_to.v = calloc(1, sizeof(char *));
	cfg->secrets[0].inject_to.v[0] = strdup("api.allowed.test");
	cfg->secrets[0].inject_to.n = 1;
	cfg->secrets[0].inject_headers.v = calloc(1, sizeof(char *));
	cfg->secrets[0].inject_headers.v[0] = strdup("Authorization");
	cfg->secrets[0].inject_headers.n = 1;
	cfg->inspectors = calloc(1, sizeof(*cfg->inspectors));
	cfg->inspectors[0] = (struct cage_inspector){ .name = strdup("rate_limit") };
	cfg->n_inspectors = 1;
	return cfg;
}

static const char reload_value[] = "s3cr3t-Value-0123456789abcdefXYZ";

/* What cage-proxy does on SIGHUP: build, load the known values, swap under a lock, drop. */
static struct inspect_chain *build_reloaded(void)
{
	const char *vals[] = { reload_value };
	struct cage_config_file *cfg = heap_cfg();
	struct inspect_chain *c = chain_with(cfg);

	cage_config_free(cfg);
	assert_non_null(c);
	assert_int_equal(inspect_chain_secret_count(c), 1);
	assert_string_equal(inspect_chain_secret_name(c, 0), "MY_TOKEN");
	assert_int_equal(inspect_set_known_values(c, vals, 1), 0);
	return c;
}

static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;
static struct inspect_chain *cur;
static atomic_bool reload_stop;
static atomic_int reload_bad, reload_reqs;

static void *reload_worker(void *arg)
{
	const struct inspect_header auth[] = {
		{ "Authorization", 13, "Bearer s3cr3t-Value-0123456789abcdefXYZ", 39 },
	};

	(void)arg;
	while (!atomic_load(&reload_stop)) {
		struct inspect_chain *c;
		struct inspect_session *s;

		pthread_mutex_lock(&cur_lock);
		c = inspect_chain_get(cur);
		pthread_mutex_unlock(&cur_lock);
		s = inspect_session_new(c);
		inspect_chain_free(c);
		if (!s) {
			atomic_fetch_add(&reload_bad, 1);
			continue;
		}
		/* the known value: blocked in a body, allowed in its bound header */
		if (run_body(s, ECHO_HOST, "text/plain", reload_value, sizeof(reload_value) - 1, 7, 0) !=
			    INSPECT_BLOCK ||
		    run_req(s, "api.allowed.test", "/", auth, 1, "", 0, 0, 0) != INSPECT_ABSTAIN)
			atomic_fetch_add(&reload_bad, 1);
		atomic_fetch_add(&reload_reqs, 1);
		inspect_session_free(s);
	}
	return NULL;
}

static void test_reload_under_load(void **state)
{
	pthread_t th[2];

	(void)state;
	cur = build_reloaded();
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reload_worker, NULL), 0);
	for (int r = 0; r < 3; r++) {
		struct inspect_chain *c = build_reloaded(), *old;

		pthread_mutex_lock(&cur_lock);
		old = cur;
		cur = c;
		pthread_mutex_unlock(&cur_lock);
		inspect_chain_free(old); /* sessions on it keep it alive */
	}
	atomic_store(&reload_stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	inspect_chain_free(cur);
	assert_int_equal(atomic_load(&reload_bad), 0);
	assert_true(atomic_load(&reload_reqs) > 0);
	printf("# %d requests across 3 reloads\n", atomic_load(&reload_reqs));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_size),
		cmocka_unit_test(test_header_size),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_rate_limit_settled),
		cmocka_unit_test(test_scaffold_rates),
		cmocka_unit_test(test_entropy),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_entropy_tokens),
		cmocka_unit_test(test_domain_and_order),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_plugin),
		cmocka_unit_test(test_reload_under_load),
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
