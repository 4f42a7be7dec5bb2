// SPDX-License-Identifier: GPL-2.0-only
/*
 * lib/log: with log_timestamps each line starts with an RFC 3339 UTC time with milliseconds (what
 * `cagectl logs --since` reads), without it the CLI's plain "cagectl: error: ..." is unchanged,
 * and log_skip_timestamp() finds the message behind the time (what `up` quotes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/log.h"

/* What one p_*() call writes to stderr. */
static void capture(void (*emit)(void), char *out, size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	emit();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, len - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
}

static void warn_proxy(void)
{
	p_warn("config %s: %d entries", "x.yaml", 3);
}

static void err_cli(void)
{
	p_err("no cage named %s", "c1");
}

static void test_timestamped_line(void **state)
{
	char line[256], want_prefix[16];
	time_t before = time(NULL), after;
	struct tm tm;
	const char *msg;

	(void)state;
	log_prog = "cage-proxy";
	log_timestamps = true;
	capture(warn_proxy, line, sizeof(line));
	after = time(NULL);
	log_timestamps = false;
	log_prog = "cagectl";

	/* 2026-11-27T09:10:00.123Z: the date of one of the two seconds around the call. */
	assert_int_equal(strlen(line),
			 LOG_TIMESTAMP_LEN + 1 + strlen("cage-proxy: warning: config x.yaml: 3 entries\n"));
	gmtime_r(&before, &tm);
	strftime(want_prefix, sizeof(want_prefix), "%Y-%m-%dT", &tm);
	if (strncmp(line, want_prefix, strlen(want_prefix))) {
		gmtime_r(&after, &tm);
		strftime(want_prefix, sizeof(want_prefix), "%Y-%m-%dT", &tm);
		assert_memory_equal(line, want_prefix, strlen(want_prefix));
	}
	assert_int_equal(line[13], ':');
	assert_int_equal(line[16], ':');
	assert_int_equal(line[19], '.');
	assert_int_equal(line[23], 'Z');
	msg = log_skip_timestamp(line);
	assert_ptr_equal(msg, line + LOG_TIMESTAMP_LEN + 1);
	assert_string_equal(msg, "cage-proxy: warning: config x.yaml: 3 entries\n");
}

static void test_plain_line(void **state)
{
	char line[256];

	(void)state;
	capture(err_cli, line, sizeof(line));
	assert_string_equal(line, "cagectl: error: no cage named c1\n");
	assert_ptr_equal(log_skip_timestamp(line), line);
}

static void test_skip_only_our_shape(void **state)
{
	static const char *const not_ours[] = {
		"",
		"cage-dns: error: stub refuses to start",
		"2026-11-27T09:10:00Z cage-dns: no milliseconds",
		"2026-11-27T09:10:00.123Zcage-dns: no space",
		"2026-11-27 09:10:00.123Z cage-dns: a space for the T",
		"2026-11-27T09:10:00.12Z cage-dns: two digits",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(not_ours) / sizeof(not_ours[0]); i++)
		assert_ptr_equal(log_skip_timestamp(not_ours[i]), not_ours[i]);
	assert_string_equal(log_skip_timestamp("2026-11-27T09:10:00.123Z cage-dns: x"), "cage-dns: x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timestamped_line),
		cmocka_unit_test(test_plain_line),
		cmocka_unit_test(test_skip_only_our_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
