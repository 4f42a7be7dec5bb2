/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The audit log: /var/log/cagectl/<cage>/audit.jsonl, one JSON object per line. Every writer (the
 * monitor for kernel events, cage-proxy, cage-dns) appends whole lines with one write() on an
 * O_APPEND fd, so concurrent writers never interleave. A flood is cut to a budget per second;
 * what was cut is counted and reported as one "audit.suppressed" line per reason.
 */
#ifndef CAGE_AUDIT_H
#define CAGE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/json.h"

struct audit_log;

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
/* Writes pending "audit.suppressed" lines; call about once a second. */
void audit_flush_suppressed(struct audit_log *log);

/* Budget: `per_sec` records a second with bursts of `burst`. Defaults 200 and 1000. */
void audit_set_rate(struct audit_log *log, unsigned per_sec, unsigned burst);

/* RFC 3339 UTC with milliseconds. */
void audit_format_time(const struct timespec *ts, char *buf, size_t len);

#endif
