/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One error path for humans and machines, in the style of bpftool: p_err() prints a lower-case
 * message naming the object to stderr, or {"error": "..."} to stdout under --json.
 */
#ifndef CAGE_LIB_LOG_H
#define CAGE_LIB_LOG_H

#include <stdbool.h>

extern bool log_json;     /* --json: errors as JSON objects on stdout */
extern bool log_quiet;    /* -q: no info lines */
extern const char *log_prog;

void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
