/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Between capture.c (the hook wrapper: when to record, the file) and capture_record.c (what one
 * exchange looks like as a line of capture.jsonl). Not for other files.
 */
#ifndef CAGE_PROXY_CAPTURE_RECORD_H
#define CAGE_PROXY_CAPTURE_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "proxy/http1.h"

/* A body as the agent saw it: the first max bytes, and how many there were. */
struct cap_body {
	uint8_t *data;
	size_t len, cap;
	uint64_t total;
};

struct cap_txn {
	void *inner;
	bool on;                      /* capture was enabled when the request started */
	struct timespec started;      /* CLOCK_REALTIME */
	uint64_t t0, t_req_done, t_resp;
	uint64_t max_body;
	char method[24], version[12];
	char *url, *req_headers, *req_mime;
	struct cap_body req, resp;
	bool have_resp;
	int status;
	char *status_text, *resp_headers, *resp_mime, *redirect;
	const char *decision;
	char reason[64];
};

char *cap_span_dup(const uint8_t *buf, struct http1_span s);
/*
 * "Name: value\r\n" lines of m with its pending edits applied; Content-Type and Location are
 * picked up on the way (as edited: a redacted Location stays redacted). NULL when out of memory.
 */
char *cap_headers_text(const struct http1_message *m, const uint8_t *buf, char **mime,
		       char **location);
/* Appends to b up to max bytes in all; total counts every byte offered. */
void cap_body_add(struct cap_body *b, const void *data, size_t len, uint64_t max);
/*
 * The exchange as one line ending in '\n' (malloc'ed, *len bytes), every field redacted once
 * more; NULL when out of memory: the line is dropped, never cut.
 */
char *cap_format_line(struct cap_txn *t, uint64_t now, size_t *len);
void cap_txn_free(struct cap_txn *t);

#endif
