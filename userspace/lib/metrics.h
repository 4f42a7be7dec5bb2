/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * <run_dir>/<daemon>.metrics, the counters a daemon publishes for `cagectl stats` (docs/cli.md):
 * "name value" lines. The daemons drop to a user that cannot write in the root-owned run
 * directory (so that a compromised daemon cannot plant files there), which rules out temp +
 * rename. Instead the file is created by root before the drop and rewritten in place with one
 * pwrite() of a fixed size: every value is padded to 20 digits, so the file never changes length
 * and a reader never sees a stale tail. The last line, "# check N", is a hash of the lines
 * before it: a reader that raced a rewrite sees a mismatch and reads again
 * (metrics_text_valid).
 */
#ifndef CAGE_LIB_METRICS_H
#define CAGE_LIB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct metric_value {
	const char *name;     /* [A-Za-z_][A-Za-z0-9_]* */
	uint64_t value;
};

/*
 * The counters a previous run left in path, for the names in v (the rest keep their value): a
 * daemon the monitor starts again (after a crash, or proxy.idle_exit) counts on instead of from
 * 0. Only a whole, valid file is read; anything else leaves v as it is. Call before opening.
 */
void metrics_file_resume(const char *path, struct metric_value *v, size_t n);
/* Creates (truncates) the file for writing; call before dropping privileges. fd or -errno. */
int metrics_file_open(const char *path);
/* Rewrites the whole file with these values. 0 or -errno. */
int metrics_file_publish(int fd, const struct metric_value *v, size_t n);
/* text holds a complete rewrite: its "# check" line matches the lines before it. */
bool metrics_text_valid(const char *text, size_t len);

#endif
