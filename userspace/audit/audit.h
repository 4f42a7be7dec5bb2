/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The audit log: /var/log/cagectl/<cage>/audit.jsonl, one JSON object per line. Every writer (the
 * monitor for kernel events, cage-proxy, cage-dns) appends whole lines with one write() on an
 * O_APPEND fd, so concurrent writers never interleave. A flood is cut to a budget per second;
 * what was cut is counted and reported as one "audit.suppressed" line per reason. The monitor
 * rotates the file by size for every writer; each writer follows (audit/logfile.h).
 */
#ifndef CAGE_AUDIT_H
#define CAGE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/json.h"

struct audit_log;

/*
 * `max_bytes`: rotate the file at that size from this process (a root writer alone with the
 * file). 0: the monitor rotates it (audit/logfile.h) and this writer only follows.
 */
struct audit_log *audit_open(const char *path, const char *cage, uint64_t max_bytes);
void audit_close(struct audit_log *log);

/*
 * Starts a record with ts, cage, layer, event and decision already set; the caller adds members
 * with jb_* and calls audit_commit(). `key` names the flood bucket (usually the reason).
 * Returns NULL when the record is suppressed by the rate limit.
 */
struct json_buf *audit_begin(struct audit_log *log, const char *layer, const char *event,
			     const char *decision, const char *key);
int audit_commit(struct audit_log *log);
/*
 * Call about once a second: reopens the file if it was rotated (also fds 1 and 2, see
 * audit_follow_stdio), then writes pending "audit.suppressed" lines.
 */
void audit_flush_suppressed(struct audit_log *log);
/*
 * Fds 1 and 2, where they go to `name` in the audit log's directory (the daemons inherit the
 * monitor's monitor.log), follow that file's rotations too.
 */
void audit_follow_stdio(struct audit_log *log, const char *name);

/* Budget: `per_sec` records a second with bursts of `burst`. Defaults 200 and 1000. */
void audit_set_rate(struct audit_log *log, unsigned per_sec, unsigned burst);

/* RFC 3339 UTC with milliseconds. */
void audit_format_time(const struct timespec *ts, char *buf, size_t len);

#endif
