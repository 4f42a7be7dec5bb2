// SPDX-License-Identifier: GPL-2.0-only
/*
 * The compiled-database cache (inspect/scan_cache.c): a stored database loads back and matches
 * like the compiled one; keys differ when anything in the set differs; a corrupt, foreign or
 * group-writable entry and a directory open to others are refused; entries beyond the bound are
 * pruned, least recently used first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "inspect/scan_cache.h"

static char dir[64];

static const char *const exprs[] = { "ghp_[A-Za-z0-9]{36}", "AKIA[0-9A-Z]{16}" };
static const unsigned flags[] = { HS_FLAG_SINGLEMATCH, HS_FLAG_SINGLEMATCH };
static const unsigned ids[] = { 0, 1 };

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test-scan-cache-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return scan_cache_set_dir(dir);
}

static int teardown(void **state)
{
	char cmd[128];

	scan_cache_set_dir(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static hs_database_t *compile(void)
{
	hs_compile_error_t *cerr = NULL;
	hs_database_t *db = NULL;

	assert_int_equal(hs_compile_multi(exprs, flags, ids, 2, HS_MODE_STREAM, NULL, &db, &cerr),
			 HS_SUCCESS);
	return db;
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned fl,
		    void *ctx)
{
	*(unsigned *)ctx |= 1u << id;
	return 0;
}

static unsigned scan(hs_database_t *db, const char *text)
{
	hs_scratch_t *scratch = NULL;
	hs_stream_t *stream = NULL;
	unsigned hits = 0;

	assert_int_equal(hs_alloc_scratch(db, &scratch), HS_SUCCESS);
	assert_int_equal(hs_open_stream(db, 0, &stream), HS_SUCCESS);
	assert_int_equal(hs_scan_stream(stream, text, (unsigned)strlen(text), 0, scratch, on_match,
					&hits), HS_SUCCESS);
	assert_int_equal(hs_close_stream(stream, scratch, on_match, &hits), HS_SUCCESS);
	hs_free_scratch(scratch);
	return hits;
}

static void entry_path(char *buf, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	buf[0] = '\0';
	assert_non_null(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "scan-", 5))
			snprintf(buf, len, "%s/%s", dir, de->d_name);
	closedir(d);
}

static size_t entries(void)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, "scan-", 5);
	closedir(d);
	return n;
}

static void test_roundtrip(void **state)
{
	unsigned char key[SCAN_CACHE_KEY_LEN];
	hs_database_t *db = compile(), *loaded = NULL;
	const char *text = "x AKIAIOSFODNN7EXAMPLE y";

	assert_int_equal(scan_cache_key(exprs, flags, ids, 2, HS_MODE_STREAM, key), 0);
	assert_int_equal(scan_cache_load(key, &loaded), -ENOENT);
	scan_cache_store(key, db);
	assert_int_equal(entries(), 1);
	assert_int_equal(scan_cache_load(key, &loaded), 0);
	assert_int_equal(scan(loaded, text), scan(db, text));
	assert_int_equal(scan(loaded, text), 2u);
	hs_free_database(loaded);
	hs_free_database(db);
}

static void test_key_covers_everything(void **state)
{
	static const unsigned other_flags[] = { HS_FLAG_SINGLEMATCH, HS_FLAG_CASELESS };
	static const unsigned other_ids[] = { 1, 0 };
	static const char *const split[] = { "ghp_[A-Za-z0-9]{36}A", "KIA[0-9A-Z]{16}" };
	unsigned char a[SCAN_CACHE_KEY_LEN], b[SCAN_CACHE_KEY_LEN];

	assert_int_equal(scan_cache_key(exprs, flags, ids, 2, HS_MODE_STREAM, a), 0);
	assert_int_equal(scan_cache_key(exprs, flags, ids, 2, HS_MODE_STREAM, b), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(scan_cache_key(exprs, other_flags, ids, 2, HS_MODE_STREAM, b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(scan_cache_key(exprs, flags, other_ids, 2, HS_MODE_STREAM, b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(scan_cache_key(split, flags, ids, 2, HS_MODE_STREAM, b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(scan_cache_key(exprs, flags, ids, 1, HS_MODE_STREAM, b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(scan_cache_key(exprs, flags, ids, 2, HS_MODE_BLOCK, b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_refuses_bad_entries(void **state)
{
	unsigned char key[SCAN_CACHE_KEY_LEN];
	hs_database_t *db = compile(), *loaded = NULL;
	char path[512], byte;
	int fd;

	assert_int_equal(scan_cache_key(exprs, flags, ids, 2, HS_MODE_STREAM, key), 0);
	scan_cache_store(key, db);
	entry_path(path, sizeof(path));
	assert_true(path[0]);

	/* One flipped byte in the payload: the checksum catches it. */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, 200), 1);
	byte ^= 0x01;
	assert_int_equal(pwrite(fd, &byte, 1, 200), 1);
	close(fd);
	assert_int_equal(scan_cache_load(key, &loaded), -EBADMSG);

	/* Truncated. */
	scan_cache_store(key, db);
	assert_int_equal(truncate(path, 30), 0);
	assert_int_equal(scan_cache_load(key, &loaded), -EBADMSG);

	/* Writable by the group: someone else could have written it. */
	scan_cache_store(key, db);
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(scan_cache_load(key, &loaded), -EBADMSG);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(scan_cache_load(key, &loaded), 0);
	hs_free_database(loaded);

	/* A directory open to others turns the cache off. */
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(scan_cache_set_dir(dir), -EPERM);
	assert_int_equal(scan_cache_load(key, &loaded), -ENOENT);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(scan_cache_set_dir(dir), 0);
	hs_free_database(db);
}

static void test_prune(void **state)
{
	unsigned char key[SCAN_CACHE_KEY_LEN], first[SCAN_CACHE_KEY_LEN];
	hs_database_t *db = compile(), *loaded = NULL;

	for (unsigned i = 0; i < SCAN_CACHE_MAX_ENTRIES + 3; i++) {
		unsigned mode = HS_MODE_STREAM + i * 0x10000;  /* only a key: any value will do */

		assert_int_equal(scan_cache_key(exprs, flags, ids, 2, mode, key), 0);
		if (i == 0)
			memcpy(first, key, sizeof(key));
		scan_cache_store(key, db);
		/* The first entry stays the most recently used one. */
		if (i > 0) {
			assert_int_equal(scan_cache_load(first, &loaded), 0);
			hs_free_database(loaded);
		}
		usleep(2000);
	}
	assert_int_equal(entries(), SCAN_CACHE_MAX_ENTRIES);
	assert_int_equal(scan_cache_load(first, &loaded), 0);
	hs_free_database(loaded);
	hs_free_database(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_key_covers_everything),
		cmocka_unit_test(test_refuses_bad_entries),
		cmocka_unit_test(test_prune),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
