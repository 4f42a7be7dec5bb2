/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) from capture.jsonl: one flat JSON
 * object per request as docs/cli.md defines it (cage-proxy writes it, with bodies already
 * truncated and secrets already replaced by their placeholders).
 */
#ifndef CAGE_AUDIT_HAR_H
#define CAGE_AUDIT_HAR_H

#include <stdio.h>

struct har_counts {
	long entries;   /* records written */
	long skipped;   /* lines that were not a capture record */
};

/* Reads capture lines from each of `in` (n files, oldest first), writes one HAR document. */
int har_write(FILE *const *in, int n, FILE *out, const char *version, struct har_counts *counts);

#endif
