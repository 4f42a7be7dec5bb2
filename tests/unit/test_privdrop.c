// SPDX-License-Identifier: GPL-2.0-only
/*
 * enforce/privdrop: after the drop a daemon may open files to read or to append (it follows the
 * monitor's log rotation, audit/logfile.h), never to truncate or overwrite. Needs root; skipped
 * otherwise.
 */
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "enforce/privdrop.h"

#define NOBODY 65534

static char dir[] = "/tmp/test-privdrop.XXXXXX";
static char path[sizeof(dir) + 16];

/* Exit status of a child that dropped to nobody and opened `path` with `flags`: 0 or errno. */
static int open_as_daemon(int flags)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;

		if (privdrop_enter(NOBODY, NOBODY, NULL))
			_exit(100);
		fd = open(path, flags | O_CLOEXEC);
		_exit(fd >= 0 ? 0 : errno);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_open_flags(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(open_as_daemon(O_RDONLY), 0);
	assert_int_equal(open_as_daemon(O_WRONLY | O_APPEND), 0);
	assert_int_equal(open_as_daemon(O_RDWR | O_APPEND), 0);
	assert_int_equal(open_as_daemon(O_WRONLY), EPERM);
	assert_int_equal(open_as_daemon(O_RDWR), EPERM);
	assert_int_equal(open_as_daemon(O_WRONLY | O_APPEND | O_TRUNC), EPERM);
	assert_int_equal(open_as_daemon(O_RDONLY | O_TRUNC), EPERM);
}

static int setup(void **state)
{
	int fd;

	(void)state;
	if (!mkdtemp(dir) || chmod(dir, 0755))
		return -1;
	snprintf(path, sizeof(path), "%s/log", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0 || fchmod(fd, 0666))
		return -1;
	close(fd);
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
		cmocka_unit_test(test_open_flags),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
