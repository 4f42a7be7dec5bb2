// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/json.h"
#include "lib/log.h"

bool log_json;
bool log_quiet;
bool log_timestamps;
const char *log_prog = "cagectl";

/* No strftime or localtime: they may read zone files the daemons' sandbox does not allow. */
void log_format_time(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000000);
}

const char *log_skip_timestamp(const char *line)
{
	/* 'd' = a digit; anything else must match as is. */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";

	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)line[i]) : line[i] != shape[i])
			return line;
	return line + sizeof(shape) - 1;
}

__attribute__((format(printf, 3, 0)))
static void vprint(FILE *f, const char *kind, const char *fmt, va_list ap)
{
	char msg[1024], stamp[LOG_TIMESTAMP_LEN + 2] = "", line[sizeof(msg) + 128];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_json) {
		fprintf(stdout, "{\"%s\":", kind);
		json_write_string(stdout, msg);
		fputs("}\n", stdout);
		fflush(stdout);
		return;
	}
	if (log_timestamps) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		log_format_time(&now, stamp, sizeof(stamp) - 1);
		strcat(stamp, " ");
	}
	/* One write per line: the monitor and both daemons append to the same monitor.log. */
	snprintf(line, sizeof(line), "%s%s: %s%s\n", stamp, log_prog,
		 kind[0] == 'e' ? "error: " : kind[0] == 'w' ? "warning: " : "", msg);
	fputs(line, f);
}

void p_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(stderr, "error", fmt, ap);
	va_end(ap);
}

void p_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(stderr, "warning", fmt, ap);
	va_end(ap);
}

void p_info(const char *fmt, ...)
{
	va_list ap;

	if (log_quiet || log_json)
		return;
	va_start(ap, fmt);
	vprint(stderr, "info", fmt, ap);
	va_end(ap);
}
