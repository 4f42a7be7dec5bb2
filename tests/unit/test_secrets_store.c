// SPDX-License-Identifier: GPL-2.0-only
/* The secrets store: atomic 0600 files, AES-256-GCM sealing, tamper and wrong-key detection. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "secrets/secrets.h"

#define VALUE "ghp_unitTestValue0123456789abcdefXYZ"

static char root[128], state_dir[192];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_secrets_store.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(state_dir, sizeof(state_dir), "%s/cage1", root);
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/secrets/%s", state_dir, name);
}

static size_t file_bytes(const char *name, unsigned char *buf, size_t cap)
{
	char p[256];
	FILE *f;
	size_t n;

	path_of(p, sizeof(p), name);
	f = fopen(p, "rb");
	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void put_bytes(const char *name, const unsigned char *buf, size_t n)
{
	char p[256];
	FILE *f;

	path_of(p, sizeof(p), name);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
}

static bool contains(const unsigned char *hay, size_t n, const char *needle)
{
	return memmem(hay, n, needle, strlen(needle)) != NULL;
}

static void read_expect(const char *key, const struct secrets_hostkey *hk, const char *want)
{
	unsigned char *v = NULL;
	size_t n = 0;

	assert_int_equal(secrets_store_read(state_dir, key, hk, &v, &n), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(v, want, n);
	secrets_value_free(v, n);
}

static void test_plain_round_trip_and_modes(void **state)
{
	char p[256];
	struct stat st;
	char **keys;
	size_t n;

	(void)state;
	assert_int_equal(secrets_store_write(state_dir, "GITHUB_TOKEN", VALUE, strlen(VALUE), NULL), 0);
	read_expect("GITHUB_TOKEN", NULL, VALUE);
	path_of(p, sizeof(p), "GITHUB_TOKEN");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(p, sizeof(p), "%s/secrets", state_dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	/* Overwrite: the new value replaces the old one whole; no temp file stays behind. */
	assert_int_equal(secrets_store_write(state_dir, "GITHUB_TOKEN", "second-value", 12, NULL), 0);
	read_expect("GITHUB_TOKEN", NULL, "second-value");
	assert_int_equal(secrets_store_list(state_dir, &keys, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0], "GITHUB_TOKEN");
	secrets_keys_free(keys, n);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "ls -A '%s/secrets' | grep -q tmp", state_dir);
		assert_int_not_equal(system(cmd), 0);
	}
	assert_true(secrets_store_has(state_dir, "GITHUB_TOKEN"));
	assert_int_equal(secrets_store_remove(state_dir, "GITHUB_TOKEN"), 0);
	assert_false(secrets_store_has(state_dir, "GITHUB_TOKEN"));
	assert_int_equal(secrets_store_remove(state_dir, "GITHUB_TOKEN"), -ENOENT);
	assert_int_equal(secrets_store_read(state_dir, "GITHUB_TOKEN", NULL, &(unsigned char *){ 0 },
					    &n), -ENOENT);
}

static void test_bad_names_and_sizes(void **state)
{
	(void)state;
	assert_int_equal(secrets_store_write(state_dir, "../x", "v", 1, NULL), -EINVAL);
	assert_int_equal(secrets_store_write(state_dir, "A.meta", "v", 1, NULL), -EINVAL);
	assert_int_equal(secrets_store_write(state_dir, "1A", "v", 1, NULL), -EINVAL);
	assert_int_equal(secrets_store_write(state_dir, "A", "", 0, NULL), -EMSGSIZE);
	assert_false(secrets_key_valid(""));
	assert_true(secrets_key_valid("_A1"));
}

static void test_sealed_round_trip(void **state)
{
	struct secrets_hostkey hk, again;
	unsigned char buf[512], *v = NULL;
	char p[256];
	struct stat st;
	size_t n;

	(void)state;
	assert_int_equal(secrets_hostkey_load(root, false, &hk), -ENOENT);
	assert_int_equal(secrets_hostkey_load(root, true, &hk), 0);
	snprintf(p, sizeof(p), "%s/host.key", root);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, SECRETS_HOSTKEY_LEN);
	/* Created once: a second load (even with create) reads the same key. */
	assert_int_equal(secrets_hostkey_load(root, true, &again), 0);
	assert_memory_equal(hk.key, again.key, SECRETS_HOSTKEY_LEN);

	assert_int_equal(secrets_store_write(state_dir, "API_KEY", VALUE, strlen(VALUE), &hk), 0);
	n = file_bytes("API_KEY", buf, sizeof(buf));
	assert_false(contains(buf, n, VALUE));
	assert_false(contains(buf, n, "ghp_"));
	read_expect("API_KEY", &hk, VALUE);
	/* Sealed, no key loaded. */
	assert_int_equal(secrets_store_read(state_dir, "API_KEY", NULL, &v, &n), -ENOKEY);
	secrets_hostkey_clear(&again);
	secrets_hostkey_clear(&hk);
}

static void test_tamper_and_wrong_key(void **state)
{
	struct secrets_hostkey hk, other;
	unsigned char good[512], bad[512], *v = NULL;
	size_t n, vn;

	(void)state;
	assert_int_equal(secrets_hostkey_load(root, true, &hk), 0);
	assert_int_equal(secrets_store_write(state_dir, "API_KEY", VALUE, strlen(VALUE), &hk), 0);
	n = file_bytes("API_KEY", good, sizeof(good));
	assert_true(n > 40);

	/* Every single-bit flip anywhere in the file is refused: header, nonce, tag, ciphertext. */
	for (size_t i = 0; i < n; i++) {
		memcpy(bad, good, n);
		bad[i] ^= 0x01;
		put_bytes("API_KEY", bad, n);
		assert_int_not_equal(secrets_store_read(state_dir, "API_KEY", &hk, &v, &vn), 0);
	}
	/* Truncated. */
	put_bytes("API_KEY", good, n - 1);
	assert_int_equal(secrets_store_read(state_dir, "API_KEY", &hk, &v, &vn), -EBADMSG);
	/* Copied over another key's name: the name is authenticated. */
	put_bytes("OTHER_KEY", good, n);
	assert_int_equal(secrets_store_read(state_dir, "OTHER_KEY", &hk, &v, &vn), -EBADMSG);
	/* A different host key. */
	put_bytes("API_KEY", good, n);
	memcpy(&other, &hk, sizeof(other));
	other.key[0] ^= 0x80;
	assert_int_equal(secrets_store_read(state_dir, "API_KEY", &other, &v, &vn), -EBADMSG);
	read_expect("API_KEY", &hk, VALUE);
	secrets_hostkey_clear(&hk);
	secrets_hostkey_clear(&other);
}

static void test_hostkey_mode_refused(void **state)
{
	struct secrets_hostkey hk;
	char p[256];

	(void)state;
	assert_int_equal(secrets_hostkey_load(root, true, &hk), 0);
	snprintf(p, sizeof(p), "%s/host.key", root);
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(secrets_hostkey_load(root, false, &hk), -EPERM);
	assert_false(hk.loaded);
}

static void test_meta_and_placeholders(void **state)
{
	struct secrets_meta m = { 0 }, back;
	char ph[SECRETS_PLACEHOLDER_MAX + 1], ph2[sizeof(ph)], again[sizeof(ph)];
	char *to[] = { "api.github.com", "*.example.com" };

	(void)state;
	assert_int_equal(secrets_placeholder_generate("GITHUB_TOKEN", ph, sizeof(ph)), 0);
	assert_int_equal(strlen(ph), strlen("cagectl:secret:GITHUB_TOKEN:") + 32);
	assert_memory_equal(ph, "cagectl:secret:GITHUB_TOKEN:", 28);
	assert_int_equal(strspn(ph + 28, "0123456789abcdef"), 32);
	assert_int_equal(secrets_placeholder_generate("GITHUB_TOKEN", ph2, sizeof(ph2)), 0);
	assert_string_not_equal(ph, ph2);
	assert_true(secrets_placeholder_valid(ph));
	assert_false(secrets_placeholder_valid("short"));
	assert_false(secrets_placeholder_valid("has space in it"));

	snprintf(m.placeholder, sizeof(m.placeholder), "%s", ph);
	m.inject_to.v = to;
	m.inject_to.n = 2;
	assert_int_equal(secrets_meta_write(state_dir, "GITHUB_TOKEN", &m), 0);
	assert_int_equal(secrets_meta_read(state_dir, "GITHUB_TOKEN", &back), 0);
	assert_string_equal(back.placeholder, ph);
	assert_int_equal(back.inject_to.n, 2);
	assert_string_equal(back.inject_to.v[1], "*.example.com");
	secrets_meta_free(&back);

	/* Stable across "restarts": the stored one is returned, a new key gets one stored. */
	assert_int_equal(secrets_placeholder_for(NULL, state_dir, "GITHUB_TOKEN", again, sizeof(again)), 0);
	assert_string_equal(again, ph);
	assert_int_equal(secrets_placeholder_for(NULL, state_dir, "NEW_KEY", ph2, sizeof(ph2)), 0);
	assert_int_equal(secrets_placeholder_for(NULL, state_dir, "NEW_KEY", again, sizeof(again)), 0);
	assert_string_equal(again, ph2);
}

static void test_check_config(void **state)
{
	struct cage_secret_rule rules[2] = {
		{ .name = "GITHUB_TOKEN" },
		{ .name = "OPENAI_API_KEY", .placeholder = "sk-placeholder-000000" },
	};
	struct cage_config_file cfg = { .name = "dev", .secrets = rules, .n_secrets = 2 };
	char msg[512];

	(void)state;
	assert_int_equal(secrets_check_config(&cfg, state_dir, msg, sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, "cagectl secret set dev GITHUB_TOKEN"));
	assert_non_null(strstr(msg, "cagectl secret set dev OPENAI_API_KEY"));
	assert_int_equal(secrets_store_write(state_dir, "GITHUB_TOKEN", "v1-value", 8, NULL), 0);
	assert_int_equal(secrets_check_config(&cfg, state_dir, msg, sizeof(msg)), -ENOENT);
	assert_null(strstr(msg, "GITHUB_TOKEN"));
	assert_int_equal(secrets_store_write(state_dir, "OPENAI_API_KEY", "v2-value", 8, NULL), 0);
	assert_int_equal(secrets_check_config(&cfg, state_dir, msg, sizeof(msg)), 0);
	/* The value never shows in the message, whatever happens. */
	assert_null(strstr(msg, "v1-value"));
}

static void test_ruleset_load(void **state)
{
	char *to[] = { "api.allowed.test" };
	struct cage_secret_rule rules[1] = {
		{ .name = "GITHUB_TOKEN", .inject_to = { to, 1 } },
	};
	struct cage_config_file cfg = { .name = "dev", .secrets = rules, .n_secrets = 1 };
	struct secrets_ruleset *rs = NULL;
	struct secrets_hostkey hk;
	const struct secrets_known_value *kv;
	char msg[256];
	size_t n;

	(void)state;
	assert_int_equal(secrets_hostkey_load(root, true, &hk), 0);
	assert_int_equal(secrets_store_write(state_dir, "GITHUB_TOKEN", VALUE, strlen(VALUE), &hk), 0);
	assert_int_equal(secrets_store_write(state_dir, "EXTRA", "extra-value-1234", 16, NULL), 0);
	/* Without the host key the sealed value does not open: a clear error naming the key. */
	assert_int_equal(secrets_ruleset_load(&cfg, state_dir, NULL, NULL, &rs, msg, sizeof(msg)),
			 -ENOKEY);
	assert_non_null(strstr(msg, "GITHUB_TOKEN"));
	assert_int_equal(secrets_ruleset_load(&cfg, state_dir, &hk, NULL, &rs, msg, sizeof(msg)), 0);
	assert_int_equal(secrets_rule_count(rs), 2);
	kv = secrets_known_values(rs, &n);
	assert_int_equal(n, 2);
	assert_string_equal(kv[0].key, "GITHUB_TOKEN");
	assert_int_equal(kv[0].len, strlen(VALUE));
	assert_memory_equal(kv[0].value, VALUE, kv[0].len);
	secrets_current_set(rs);
	rs = secrets_current_get();
	assert_non_null(rs);
	secrets_ruleset_put(rs);
	secrets_current_set(NULL);
	secrets_hostkey_clear(&hk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_round_trip_and_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names_and_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_and_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostkey_mode_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_and_placeholders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ruleset_load, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
