/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Size rotation of the files in a cage's log directory (audit.jsonl, monitor.log).
 *
 * cage-proxy and cage-dns run as their own users under a seccomp allowlist without rename(), and
 * the log directory is root's, so a writer cannot rotate its own file. The root monitor rotates
 * instead, on its one-second timer: a file of logging.max_size or more is renamed to .1 (the
 * previous .1 is dropped) and an empty file is created in its place, owned so that the daemons
 * may open it for appending. Every writer follows on its own one-second tick: when the path no
 * longer names the file its fd is on, it opens the path again (O_APPEND, never O_CREAT) and
 * dup2()s the new file over the old fd, so a concurrent write() lands in one file or the other,
 * never nowhere. A line written between the rename and the reopen ends up in .1: nothing is lost.
 */
#ifndef CAGE_AUDIT_LOGFILE_H
#define CAGE_AUDIT_LOGFILE_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

/* Generations kept beside the live file: `audit`, `logs` and `backup` read NAME and NAME.1. */
#define LOGFILE_KEEP 1

struct logfile_rotator {
	char dir[PATH_MAX];
	uint64_t max_bytes;
	unsigned keep;     /* LOGFILE_KEEP; tests raise it with CAGECTL_LOG_KEEP to count every line */
	uid_t writer_uid;  /* owner of a new file (cage-proxy's user, or 0) */
	gid_t writer_gid;  /* its group (cage-dns's group, or 0) */
};

/*
 * Monitor side, as root. Makes `dir` traversable (0711: names only, no listing) so the daemons
 * can reopen by path; files keep their own modes. `max_bytes` 0 means the 64 MiB default.
 */
int logfile_rotator_init(struct logfile_rotator *r, const char *dir, uint64_t max_bytes,
			 uid_t writer_uid, gid_t writer_gid);
/* A new logging.max_size (`cagectl update`): 0 means the default. */
void logfile_rotator_set_max(struct logfile_rotator *r, uint64_t max_bytes);
/* Rotates each file of the directory that reached max_bytes. Call about once a second. */
void logfile_rotator_tick(const struct logfile_rotator *r);

/*
 * Rotates `path` if it has `max_bytes` or more: NAME.k → NAME.k+1 up to `keep`, NAME → NAME.1,
 * a new empty NAME owned uid:gid with `mode`. 1 when rotated, 0 when not needed, or -errno.
 */
int logfile_rotate(const char *path, uint64_t max_bytes, unsigned keep, uid_t uid, gid_t gid,
		   mode_t mode);

/*
 * Writer side, any user: if `path` now names another file than `fd`, reopen it for appending
 * over `fd`. 1 when reopened, 0 when still the same file (or the new one is not there yet: the
 * next call retries), or -errno (the fd keeps writing to the old file).
 */
int logfile_follow(int fd, const char *path);

#endif
