// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "lib/log.h"
#include "audit/logfile.h"

#define AUDIT_LINE_MAX 8192
#define SUPPRESS_KEYS 32

struct suppressed {
	char key[64];
	uint64_t count;
};

struct audit_log {
	int fd;
	char path[4096];
	char cage[64];
	uint64_t max_bytes;      /* 0: someone else rotates (logfile_rotator); we follow */
	bool cannot_rotate;      /* not root any more: renaming is the monitor's job */
	char stdio_path[4096];   /* the file fds 1/2 go to, followed across rotations too */
	bool follow_fd[3];
	double tokens, per_sec, burst;
	struct timespec last_refill;
	struct suppressed supp[SUPPRESS_KEYS];
	char line[AUDIT_LINE_MAX];
	struct json_buf jb;
};

void audit_format_time(const struct timespec *ts, char *buf, size_t len)
{
	log_format_time(ts, buf, len);
}

struct audit_log *audit_open(const char *path, const char *cage, uint64_t max_bytes)
{
	struct audit_log *log = calloc(1, sizeof(*log));

	if (!log)
		return NULL;
	log->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (log->fd < 0) {
		free(log);
		return NULL;
	}
	snprintf(log->path, sizeof(log->path), "%s", path);
	snprintf(log->cage, sizeof(log->cage), "%s", cage);
	log->max_bytes = max_bytes;
	log->per_sec = 200;
	log->burst = 1000;
	log->tokens = log->burst;
	clock_gettime(CLOCK_MONOTONIC, &log->last_refill);
	return log;
}

void audit_close(struct audit_log *log)
{
	if (!log)
		return;
	audit_flush_suppressed(log);
	close(log->fd);
	free(log);
}

void audit_set_rate(struct audit_log *log, unsigned per_sec, unsigned burst)
{
	log->per_sec = per_sec;
	log->burst = burst;
	log->tokens = burst;
}

static bool take_token(struct audit_log *log)
{
	struct timespec now;
	double dt;

	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = (double)(now.tv_sec - log->last_refill.tv_sec) +
	     (double)(now.tv_nsec - log->last_refill.tv_nsec) / 1e9;
	log->last_refill = now;
	log->tokens += dt * log->per_sec;
	if (log->tokens > log->burst)
		log->tokens = log->burst;
	if (log->tokens < 1)
		return false;
	log->tokens -= 1;
	return true;
}

static void count_suppressed(struct audit_log *log, const char *key)
{
	struct suppressed *free_slot = NULL;

	for (int i = 0; i < SUPPRESS_KEYS; i++) {
		if (log->supp[i].count && strcmp(log->supp[i].key, key) == 0) {
			log->supp[i].count++;
			return;
		}
		if (!log->supp[i].count && !free_slot)
			free_slot = &log->supp[i];
	}
	if (!free_slot)
		free_slot = &log->supp[SUPPRESS_KEYS - 1];  /* shared overflow bucket */
	if (!free_slot->count)
		snprintf(free_slot->key, sizeof(free_slot->key), "%s",
			 free_slot == &log->supp[SUPPRESS_KEYS - 1] ? "other" : key);
	free_slot->count++;
}

static void start_record(struct audit_log *log, const char *layer, const char *event,
			 const char *decision)
{
	struct timespec now;
	char ts[40];

	clock_gettime(CLOCK_REALTIME, &now);
	audit_format_time(&now, ts, sizeof(ts));
	jb_init(&log->jb, log->line, sizeof(log->line) - 1);
	jb_open(&log->jb);
	jb_str(&log->jb, "ts", ts);
	jb_str(&log->jb, "cage", log->cage);
	jb_str(&log->jb, "layer", layer);
	jb_str(&log->jb, "event", event);
	jb_str(&log->jb, "decision", decision);
}

struct json_buf *audit_begin(struct audit_log *log, const char *layer, const char *event,
			     const char *decision, const char *key)
{
	if (!take_token(log)) {
		count_suppressed(log, key ? key : event);
		return NULL;
	}
	start_record(log, layer, event, decision);
	return &log->jb;
}

/*
 * A writer that was given a size rotates its own file (a root process alone with it, such as
 * guest-init); the new file keeps the old one's owner and mode, which the daemons may depend on.
 */
static void rotate_if_needed(struct audit_log *log)
{
	struct stat st;

	if (!log->max_bytes || log->cannot_rotate || fstat(log->fd, &st) ||
	    (uint64_t)st.st_size < log->max_bytes)
		return;
	if (geteuid() != 0) {
		log->cannot_rotate = true;  /* the monitor rotates for us; audit_follow() catches up */
		return;
	}
	if (logfile_rotate(log->path, log->max_bytes, LOGFILE_KEEP, st.st_uid, st.st_gid,
			   st.st_mode & 07777) == 1)
		logfile_follow(log->fd, log->path);
}

void audit_follow_stdio(struct audit_log *log, const char *name)
{
	struct stat file, out;
	const char *slash = strrchr(log->path, '/');

	snprintf(log->stdio_path, sizeof(log->stdio_path), "%.*s/%s",
		 slash ? (int)(slash - log->path) : 1, slash ? log->path : ".", name);
	if (stat(log->stdio_path, &file))
		return;
	/* Only an fd that is on that file now: a daemon run by hand keeps its terminal. */
	for (int fd = 1; fd <= 2; fd++)
		log->follow_fd[fd] = !fstat(fd, &out) && out.st_dev == file.st_dev &&
				     out.st_ino == file.st_ino;
}

static void audit_follow(struct audit_log *log)
{
	logfile_follow(log->fd, log->path);
	for (int fd = 1; fd <= 2; fd++)
		if (log->follow_fd[fd])
			logfile_follow(fd, log->stdio_path);
}

int audit_commit(struct audit_log *log)
{
	const char *line;
	size_t len;

	jb_close(&log->jb);
	line = jb_finish(&log->jb);
	if (!line) {
		/* Too long for one line: say so rather than write a cut, invalid record. */
		start_record(log, "audit", "audit.record_too_long", "error");
		jb_close(&log->jb);
		line = jb_finish(&log->jb);
		if (!line)
			return -ENOSPC;
	}
	len = strlen(line);
	log->line[len] = '\n';
	rotate_if_needed(log);
	if (write(log->fd, log->line, len + 1) != (ssize_t)(len + 1))
		return -errno ? -errno : -EIO;
	return 0;
}

void audit_flush_suppressed(struct audit_log *log)
{
	audit_follow(log);
	for (int i = 0; i < SUPPRESS_KEYS; i++) {
		if (!log->supp[i].count)
			continue;
		start_record(log, "audit", "audit.suppressed", "info");
		jb_str(&log->jb, "key", log->supp[i].key);
		jb_uint(&log->jb, "count", log->supp[i].count);
		audit_commit(log);
		log->supp[i].count = 0;
	}
}
