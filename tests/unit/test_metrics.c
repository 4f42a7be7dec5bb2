// SPDX-License-Identifier: GPL-2.0-only
/* lib/metrics: the in-place metrics file the daemons publish and `cagectl stats` reads. */
#include <errno.h>
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

#include "lib/metrics.h"

static char dir[] = "/tmp/test-metrics.XXXXXX";
static char path[sizeof(dir) + 16];

static size_t slurp(char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

static void test_publish_keeps_the_size(void **state)
{
	struct metric_value v[] = { { "requests", 0 }, { "blocked", 0 } };
	char a[4096], b[4096];
	size_t la, lb;
	int fd;

	(void)state;
	fd = metrics_file_open(path);
	assert_true(fd >= 0);
	assert_int_equal(metrics_file_publish(fd, v, 2), 0);
	la = slurp(a, sizeof(a));
	v[0].value = UINT64_MAX;
	v[1].value = 12345;
	assert_int_equal(metrics_file_publish(fd, v, 2), 0);
	lb = slurp(b, sizeof(b));
	/* Same length: an in-place rewrite never leaves a stale tail. */
	assert_int_equal(la, lb);
	assert_true(metrics_text_valid(a, la));
	assert_true(metrics_text_valid(b, lb));
	assert_non_null(strstr(b, "requests"));
	assert_non_null(strstr(b, "18446744073709551615\n"));
	close(fd);
}

static void test_torn_text_is_invalid(void **state)
{
	struct metric_value v[] = { { "queries", 41 } };
	char a[4096];
	size_t la;
	int fd;

	(void)state;
	fd = metrics_file_open(path);
	assert_true(fd >= 0);
	assert_int_equal(metrics_file_publish(fd, v, 1), 0);
	close(fd);
	la = slurp(a, sizeof(a));
	assert_true(metrics_text_valid(a, la));
	a[strchr(a, '\n') - a - 1] = '2';           /* 41 → 42: a digit from another rewrite */
	assert_false(metrics_text_valid(a, la));
	assert_false(metrics_text_valid(a, strchr(a, '\n') - a + 1)); /* no check line at all */
	assert_false(metrics_text_valid("", 0));
}

static void test_too_many_values(void **state)
{
	static struct metric_value v[200];
	int fd;

	(void)state;
	for (size_t i = 0; i < 200; i++)
		v[i] = (struct metric_value){ "a_rather_long_metric_name_here", i };
	fd = metrics_file_open(path);
	assert_true(fd >= 0);
	assert_int_equal(metrics_file_publish(fd, v, 200), -ENOSPC);
	close(fd);
}

static void test_no_symlink(void **state)
{
	char link[sizeof(path) + 8];

	(void)state;
	snprintf(link, sizeof(link), "%s.lnk", path);
	assert_int_equal(symlink("/dev/null", link), 0);
	assert_int_equal(metrics_file_open(link), -ELOOP);
	unlink(link);
}

/* A restarted daemon counts on from what its last run published, and only from a valid file. */
static void test_resume(void **state)
{
	struct metric_value old[] = { { "requests", 7 }, { "blocked", 3 }, { "connections_open", 2 } };
	struct metric_value v[] = { { "requests", 0 }, { "blocked", 0 }, { "bytes_in", 11 } };
	char link[sizeof(path) + 8];
	FILE *f;
	int fd;

	(void)state;
	fd = metrics_file_open(path);
	assert_true(fd >= 0);
	assert_int_equal(metrics_file_publish(fd, old, 3), 0);
	close(fd);
	metrics_file_resume(path, v, 3);
	assert_int_equal(v[0].value, 7);
	assert_int_equal(v[1].value, 3);
	assert_int_equal(v[2].value, 11);         /* not in the file: left alone */

	/* A torn or forged file (the check line does not match) is not believed. */
	f = fopen(path, "r+");
	assert_non_null(f);
	fseek(f, (long)strlen("requests"), SEEK_SET);
	fputs("                    99999", f);
	fclose(f);
	v[0].value = v[1].value = 0;
	metrics_file_resume(path, v, 3);
	assert_int_equal(v[0].value, 0);
	assert_int_equal(v[1].value, 0);

	/* Nor one behind a link, nor one that is not there. */
	snprintf(link, sizeof(link), "%s.lnk", path);
	fd = metrics_file_open(path);
	assert_int_equal(metrics_file_publish(fd, old, 3), 0);
	close(fd);
	assert_int_equal(symlink(path, link), 0);
	metrics_file_resume(link, v, 3);
	assert_int_equal(v[0].value, 0);
	unlink(link);
	metrics_file_resume("/nonexistent/x.metrics", v, 3);
	assert_int_equal(v[0].value, 0);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/x.metrics", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_keeps_the_size),
		cmocka_unit_test(test_torn_text_is_invalid),
		cmocka_unit_test(test_too_many_values),
		cmocka_unit_test(test_no_symlink),
		cmocka_unit_test(test_resume),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
