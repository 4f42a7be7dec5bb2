/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One error path for humans and machines, in the style of bpftool: p_err() prints a lower-case
 * message naming the object to stderr, or {"error": "..."} to stdout under --json.
 */
#ifndef CAGE_LIB_LOG_H
#define CAGE_LIB_LOG_H

#include <stdbool.h>
#include <time.h>

extern bool log_json;     /* --json: errors as JSON objects on stdout */
extern bool log_quiet;    /* -q: no info lines */
/*
 * The monitor and the daemons, whose stderr is monitor.log: every line starts with the time,
 * "2026-11-27T09:10:00.123Z cage-proxy: warning: ...", so `cagectl logs --since` can filter it.
 */
extern bool log_timestamps;
extern const char *log_prog;

#define LOG_TIMESTAMP_LEN 24   /* "2026-11-27T09:10:00.123Z" */

void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "2026-11-27T09:10:00.123Z" (UTC, milliseconds), the time of log and audit lines. */
void log_format_time(const struct timespec *ts, char *buf, size_t len);
/* `line` past a leading log_timestamps time and its space, or `line` when it has none. */
const char *log_skip_timestamp(const char *line);

#endif
