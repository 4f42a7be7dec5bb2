// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: the audit.jsonl / capture.jsonl reader. Those files carry strings the agent chose
 * (hosts, paths, header values), so audit_rec_parse, the `cagectl audit` filters and the HAR
 * writer must never crash, leak or read out of bounds, whatever a line holds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_read.h"
#include "audit/har.h"

static void touch_record(const struct audit_rec *r)
{
	static const struct audit_filter flt = {
		.decisions = { "blocked", "flagged" }, .n_decisions = 2, .host = "allowed.test",
		.inspector = "secrets", .layer = "proxy", .min_severity = 2, .since = 1,
	};
	const char *h;

	/* Every key and value is a NUL-terminated string inside the record's store. */
	for (int i = 0; i < r->n; i++)
		(void)(strlen(r->f[i].key) + strlen(r->f[i].val));
	h = audit_rec_host(r);
	if (h)
		(void)strlen(h);
	(void)audit_rec_severity(r);
	(void)audit_filter_match(&flt, r);
	(void)audit_rec_get(r, "ts");
}

/* The whole input as a capture file: har_write reads it line by line like `cagectl har`. */
static void har_of(const uint8_t *data, size_t size)
{
	struct har_counts counts;
	char *doc = NULL;
	size_t doc_len = 0;
	FILE *in, *out;

	if (!size)
		return;
	in = fmemopen((void *)data, size, "r");
	if (!in)
		return;
	out = open_memstream(&doc, &doc_len);
	if (out) {
		(void)har_write(&in, 1, out, "fuzz", &counts);
		fclose(out);
	}
	fclose(in);
	free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	/* Line by line, as the readers split the files (the length excludes the newline). */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct audit_rec r;

		if (audit_rec_parse(p, len, &r) == 0) {
			touch_record(&r);
			audit_rec_free(&r);
		}
		p += len + (nl != NULL);
	}
	har_of(data, size);
	return 0;
}
