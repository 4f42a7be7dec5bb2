// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/logfile.h"

#define LOGFILE_DEFAULT_MAX (64ull << 20)

/* The files the writers share; capture.jsonl rotates on its own at proxy start (capture.c). */
static const char *const rotated_names[] = { "audit.jsonl", "monitor.log" };

/*
 * Write-only for the two daemon users and nobody else: a daemon never needs to read the log,
 * and root (the monitor, `cagectl audit`, `logs`, `backup`) reads it through its capabilities.
 */
#define LOGFILE_WRITER_MODE 0220

int logfile_rotator_init(struct logfile_rotator *r, const char *dir, uint64_t max_bytes,
			 uid_t writer_uid, gid_t writer_gid)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	logfile_rotator_set_max(r, max_bytes);
	r->writer_uid = writer_uid;
	r->writer_gid = writer_gid;
	r->keep = LOGFILE_KEEP;
	/* Test hook: keep every generation of a flood so the test can count its lines. */
	if (getenv("CAGECTL_LOG_KEEP")) {
		long keep = strtol(getenv("CAGECTL_LOG_KEEP"), NULL, 10);

		if (keep >= 1 && keep <= 1000)
			r->keep = (unsigned)keep;
	}
	/* Search without read: the daemons reopen by a name they know and cannot list the rest. */
	return chmod(dir, 0711) ? -errno : 0;
}

void logfile_rotator_set_max(struct logfile_rotator *r, uint64_t max_bytes)
{
	r->max_bytes = max_bytes ? max_bytes : LOGFILE_DEFAULT_MAX;
}

void logfile_rotator_tick(const struct logfile_rotator *r)
{
	char path[PATH_MAX + 32];

	for (size_t i = 0; i < sizeof(rotated_names) / sizeof(rotated_names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", r->dir, rotated_names[i]);
		logfile_rotate(path, r->max_bytes, r->keep, r->writer_uid, r->writer_gid,
			       LOGFILE_WRITER_MODE);
	}
}

/* Creates the new, empty live file; its owner is set before any writer can find it by name. */
static int create_fresh(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	char tmp[PATH_MAX + 48];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (fchown(fd, uid, gid) || fchmod(fd, mode))
		err = -errno;
	close(fd);
	/* Another root writer (guest-init) may have created NAME meanwhile: keep theirs. */
	if (!err && link(tmp, path) && errno != EEXIST)
		err = -errno;
	unlink(tmp);
	return err;
}

int logfile_rotate(const char *path, uint64_t max_bytes, unsigned keep, uid_t uid, gid_t gid,
		   mode_t mode)
{
	char from[PATH_MAX + 32], to[PATH_MAX + 32];
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < max_bytes || keep == 0)
		return 0;
	/* NAME.keep is dropped by the rename over it; older generations move up one. */
	for (unsigned k = keep; k > 1; k--) {
		snprintf(from, sizeof(from), "%s.%u", path, k - 1);
		snprintf(to, sizeof(to), "%s.%u", path, k);
		if (rename(from, to) && errno != ENOENT)
			return -errno;
	}
	snprintf(to, sizeof(to), "%s.1", path);
	if (rename(path, to))
		return -errno;
	/*
	 * Until the new file exists, writers keep appending to .1 (their fds follow the inode) and
	 * logfile_follow() waits; so a failure here costs size, never a line.
	 */
	return create_fresh(path, uid, gid, mode) ?: 1;
}

int logfile_follow(int fd, const char *path)
{
	struct stat now, mine;
	int nfd, flags, err = 0;

	if (fstat(fd, &mine))
		return -errno;
	if (stat(path, &now))
		return errno == ENOENT ? 0 : -errno;
	if (now.st_dev == mine.st_dev && now.st_ino == mine.st_ino)
		return 0;
	/* Never O_CREAT: only the rotator creates, with the owner every writer needs. */
	nfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (nfd < 0)
		return -errno;
	/*
	 * dup3 swaps the file under `fd` atomically: another thread's write() goes to the old file
	 * or the new one, never to a closed fd. Close-on-exec stays as it was (stderr has none).
	 */
	flags = fcntl(fd, F_GETFD);
	if (dup3(nfd, fd, flags > 0 && (flags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
		err = -errno;
	close(nfd);
	return err ?: 1;
}
