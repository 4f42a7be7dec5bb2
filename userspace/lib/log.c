// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>

#include "lib/json.h"
#include "lib/log.h"

bool log_json;
bool log_quiet;
const char *log_prog = "cagectl";

__attribute__((format(printf, 3, 0)))
static void vprint(FILE *f, const char *kind, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_json) {
		fprintf(stdout, "{\"%s\":", kind);
		json_write_string(stdout, msg);
		fputs("}\n", stdout);
		fflush(stdout);
		return;
	}
	fprintf(f, "%s: %s%s\n", log_prog, kind[0] == 'e' ? "error: " : kind[0] == 'w' ? "warning: " : "", msg);
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
