// SPDX-License-Identifier: GPL-2.0-only
/* audit/logfile: size rotation by one process, following by the writers, no line lost. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "audit/logfile.h"

#define KEEP_MANY 64

static char dir[] = "/tmp/test-logfile.XXXXXX";
static char path[sizeof(dir) + 32];

static off_t size_of(const char *p)
{
	struct stat st;

	return stat(p, &st) ? -1 : st.st_size;
}

static char *gen(unsigned k)
{
	static char buf[sizeof(path) + 16];

	snprintf(buf, sizeof(buf), "%s.%u", path, k);
	return buf;
}

/* Lines in NAME and every NAME.k; each must be whole ("line <n>\n"). */
static unsigned count_lines(unsigned keep, unsigned long *sum)
{
	unsigned lines = 0;

	*sum = 0;
	for (unsigned k = 0; k <= keep; k++) {
		FILE *f = fopen(k ? gen(k) : path, "r");
		char line[256];

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned long n;

			assert_int_equal(sscanf(line, "line %lu\n", &n), 1);
			assert_true(line[strlen(line) - 1] == '\n');
			*sum += n;
			lines++;
		}
		fclose(f);
	}
	return lines;
}

static void clean(void)
{
	unlink(path);
	for (unsigned k = 1; k <= KEEP_MANY; k++)
		unlink(gen(k));
}

static void test_rotate_at_size(void **state)
{
	struct stat st;
	int fd;

	(void)state;
	clean();
	assert_int_equal(logfile_rotate(path, 10, 1, 0, 0, 0220), 0);  /* missing: nothing to do */
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "123456789", 9), 9);
	assert_int_equal(logfile_rotate(path, 10, 1, 0, 0, 0220), 0);
	assert_int_equal(write(fd, "0", 1), 1);
	assert_int_equal(logfile_rotate(path, 10, 1, 0, 0, 0220), 1);
	assert_int_equal(size_of(gen(1)), 10);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 07777, 0220);
	/* keep 1: the next rotation replaces .1 */
	assert_int_equal(write(fd, "x", 1), 1);  /* the old fd still writes to .1 */
	assert_int_equal(size_of(gen(1)), 11);
	close(fd);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "abcdefghijkl", 12), 12);
	close(fd);
	assert_int_equal(logfile_rotate(path, 10, 1, 0, 0, 0220), 1);
	assert_int_equal(size_of(gen(1)), 12);
	assert_int_equal(size_of(gen(2)), -1);
	/* keep 2: generations move up */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	assert_int_equal(logfile_rotate(path, 10, 2, 0, 0, 0220), 1);
	assert_int_equal(size_of(gen(1)), 10);
	assert_int_equal(size_of(gen(2)), 12);
}

static void test_follow(void **state)
{
	int fd, flags;

	(void)state;
	clean();
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(logfile_follow(fd, path), 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	assert_int_equal(rename(path, gen(1)), 0);
	assert_int_equal(logfile_follow(fd, path), 0);  /* no new file yet: keep writing to .1 */
	assert_int_equal(write(fd, "a", 1), 1);
	assert_int_equal(size_of(gen(1)), 11);
	close(open(path, O_WRONLY | O_CREAT, 0640));
	assert_int_equal(logfile_follow(fd, path), 1);
	flags = fcntl(fd, F_GETFD);
	assert_true(flags & FD_CLOEXEC);
	assert_int_equal(write(fd, "b", 1), 1);
	assert_int_equal(size_of(path), 1);
	assert_int_equal(logfile_follow(fd, path), 0);
	close(fd);
}

struct writer {
	int fd;
	atomic_bool stop;
	unsigned long written, sum;
};

static void *write_lines(void *arg)
{
	struct writer *w = arg;
	char line[64];

	while (!atomic_load(&w->stop)) {
		int len = snprintf(line, sizeof(line), "line %lu\n", ++w->written);

		assert_int_equal(write(w->fd, line, (size_t)len), len);
		w->sum += w->written;
	}
	return NULL;
}

/* One thread appends as fast as it can while the other rotates and follows: every line survives. */
static void test_no_line_lost(void **state)
{
	struct writer w = { .fd = -1 };
	unsigned long sum;
	pthread_t t;
	int rotations = 0;

	(void)state;
	clean();
	w.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	assert_true(w.fd >= 0);
	assert_int_equal(pthread_create(&t, NULL, write_lines, &w), 0);
	while (rotations < KEEP_MANY - 4) {
		int r = logfile_rotate(path, 4096, KEEP_MANY, 0, 0, 0640);

		assert_true(r >= 0);
		rotations += r;
		assert_true(logfile_follow(w.fd, path) >= 0);
	}
	atomic_store(&w.stop, true);
	pthread_join(t, NULL);
	close(w.fd);
	assert_int_equal(count_lines(KEEP_MANY, &sum), w.written);
	assert_int_equal(sum, w.sum);
}

/* audit_flush_suppressed() is the writers' tick: it follows a rotation done by someone else. */
static void test_audit_follows(void **state)
{
	struct audit_log *log;
	struct json_buf *jb;
	off_t before;

	(void)state;
	clean();
	log = audit_open(path, "t", 0);
	assert_non_null(log);
	jb = audit_begin(log, "test", "test.one", "info", NULL);
	assert_non_null(jb);
	assert_int_equal(audit_commit(log), 0);
	before = size_of(path);
	assert_true(before > 0);
	assert_int_equal(logfile_rotate(path, 1, 1, 0, 0, 0640), 1);
	jb = audit_begin(log, "test", "test.two", "info", NULL);
	assert_int_equal(audit_commit(log), 0);  /* lands in .1: not lost */
	assert_true(size_of(gen(1)) > before);
	audit_flush_suppressed(log);
	jb = audit_begin(log, "test", "test.three", "info", NULL);
	assert_int_equal(audit_commit(log), 0);
	assert_true(size_of(path) > 0);
	audit_close(log);
	/* max_bytes set and root: the writer rotates itself, keeping the file's mode */
	clean();
	log = audit_open(path, "t", 200);
	assert_non_null(log);
	chmod(path, 0620);
	for (int i = 0; i < 10; i++) {
		jb = audit_begin(log, "test", "test.many", "info", NULL);
		assert_int_equal(audit_commit(log), 0);
	}
	audit_close(log);
	if (geteuid() == 0) {
		struct stat st;

		assert_true(size_of(gen(1)) > 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0620);
		assert_true(st.st_size < 400);
	}
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	clean();
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotate_at_size),
		cmocka_unit_test(test_follow),
		cmocka_unit_test(test_no_line_lost),
		cmocka_unit_test(test_audit_follows),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
