// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_read.h"
#include "audit/har.h"
#include "lib/json.h"

#define CAPTURE_LINE_MAX (256 * 1024 * 1024)

static long num(const struct audit_rec *r, const char *key, long dflt)
{
	const char *v = audit_rec_get(r, key);
	char *end;
	double d;

	if (!v)
		return dflt;
	d = strtod(v, &end);
	/* The file is not trusted: NaN or a number beyond long is no number (the cast is UB). */
	if (*end || end == v || !(d > -1e15 && d < 1e15))
		return dflt;
	return (long)d;
}

static long nonneg(long v)
{
	return v < 0 ? 0 : v;
}

static bool flag(const struct audit_rec *r, const char *key)
{
	const char *v = audit_rec_get(r, key);

	return v && !strcmp(v, "true");
}

/* "Name: value\r\n..." (or \n) → [{"name","value"}...]. */
static void write_headers(FILE *out, const char *h)
{
	bool first = true;

	fputc('[', out);
	while (h && *h) {
		size_t len = strcspn(h, "\r\n");
		const char *colon = memchr(h, ':', len);

		if (colon && colon > h) {
			const char *v = colon + 1;
			size_t vlen;

			while (v < h + len && (*v == ' ' || *v == '\t'))
				v++;
			vlen = (size_t)(h + len - v);
			fprintf(out, "%s{\"name\":", first ? "" : ",");
			json_write_mem(out, h, (size_t)(colon - h));
			fputs(",\"value\":", out);
			json_write_mem(out, v, vlen);
			fputc('}', out);
			first = false;
		}
		h += len;
		h += strspn(h, "\r\n");
	}
	fputc(']', out);
}

/* The query string of url, split at & and =, as HAR wants it (left percent-encoded). */
static void write_query(FILE *out, const char *url)
{
	const char *q = url ? strchr(url, '?') : NULL, *end;
	bool first = true;

	fputc('[', out);
	if (q) {
		q++;
		end = q + strcspn(q, "#");
		while (q < end) {
			size_t len = strcspn(q, "&#");
			const char *eq = memchr(q, '=', len);

			if (len) {
				fprintf(out, "%s{\"name\":", first ? "" : ",");
				json_write_mem(out, q, eq ? (size_t)(eq - q) : len);
				fputs(",\"value\":", out);
				json_write_mem(out, eq ? eq + 1 : q, eq ? (size_t)(q + len - eq - 1) : 0);
				fputc('}', out);
				first = false;
			}
			q += len;
			if (q < end && *q == '&')
				q++;
		}
	}
	fputc(']', out);
}

static void str_or(FILE *out, const char *v, const char *dflt)
{
	json_write_string(out, v ? v : dflt);
}

static void write_entry(FILE *out, const struct audit_rec *r, bool first)
{
	const char *ver = audit_rec_get(r, "http_version"), *body;
	/* HAR 1.2: send, wait and receive are never -1 (only blocked, dns, connect, ssl are). */
	long t_send = nonneg(num(r, "time_send", 0)), t_wait = nonneg(num(r, "time_wait", 0));
	long t_recv = nonneg(num(r, "time_receive", 0)), t_conn = num(r, "time_connect", -1);
	long t_ssl = num(r, "time_ssl", -1), t_dns = num(r, "time_dns", -1);
	long total = t_send + t_wait + t_recv + (t_conn > 0 ? t_conn : 0) + (t_dns > 0 ? t_dns : 0);
	bool req_trunc = flag(r, "req_body_truncated"), resp_trunc = flag(r, "resp_body_truncated");

	fprintf(out, "%s\n    {\"startedDateTime\":", first ? "" : ",");
	str_or(out, audit_rec_get(r, "ts"), "1970-01-01T00:00:00.000Z");
	fprintf(out, ",\"time\":%ld,\"request\":{\"method\":", total);
	str_or(out, audit_rec_get(r, "method"), "GET");
	fputs(",\"url\":", out);
	str_or(out, audit_rec_get(r, "url"), "");
	fputs(",\"httpVersion\":", out);
	str_or(out, ver, "HTTP/1.1");
	fputs(",\"cookies\":[],\"headers\":", out);
	write_headers(out, audit_rec_get(r, "req_headers"));
	fputs(",\"queryString\":", out);
	write_query(out, audit_rec_get(r, "url"));
	body = audit_rec_get(r, "req_body");
	if (body && *body) {
		fputs(",\"postData\":{\"mimeType\":", out);
		str_or(out, audit_rec_get(r, "req_mime_type"), "application/octet-stream");
		fputs(",\"text\":", out);
		json_write_string(out, body);
		fputc('}', out);
	}
	fprintf(out, ",\"headersSize\":-1,\"bodySize\":%ld},\"response\":{\"status\":%ld,\"statusText\":",
		num(r, "req_body_size", body ? (long)strlen(body) : 0), num(r, "status", 0));
	str_or(out, audit_rec_get(r, "status_text"), "");
	fputs(",\"httpVersion\":", out);
	str_or(out, ver, "HTTP/1.1");
	fputs(",\"cookies\":[],\"headers\":", out);
	write_headers(out, audit_rec_get(r, "resp_headers"));
	body = audit_rec_get(r, "resp_body");
	fprintf(out, ",\"content\":{\"size\":%ld,\"mimeType\":", num(r, "resp_body_size", body ? (long)strlen(body) : 0));
	str_or(out, audit_rec_get(r, "resp_mime_type"), "application/octet-stream");
	if (body) {
		fputs(",\"text\":", out);
		json_write_string(out, body);
		if (audit_rec_get(r, "resp_body_encoding")) {
			fputs(",\"encoding\":", out);
			json_write_string(out, audit_rec_get(r, "resp_body_encoding"));
		}
	}
	if (resp_trunc)
		fputs(",\"comment\":\"truncated at capture.max_body_size\"", out);
	fputs("},\"redirectURL\":", out);
	str_or(out, audit_rec_get(r, "redirect_url"), "");
	fprintf(out, ",\"headersSize\":-1,\"bodySize\":%ld},\"cache\":{},", num(r, "resp_body_size", -1));
	fprintf(out, "\"timings\":{\"blocked\":-1,\"dns\":%ld,\"connect\":%ld,\"ssl\":%ld,\"send\":%ld,"
		"\"wait\":%ld,\"receive\":%ld}", t_dns, t_conn, t_ssl, t_send, t_wait, t_recv);
	if (audit_rec_get(r, "server_ip")) {
		fputs(",\"serverIPAddress\":", out);
		json_write_string(out, audit_rec_get(r, "server_ip"));
	}
	if (req_trunc || audit_rec_get(r, "decision")) {
		char c[200];

		snprintf(c, sizeof(c), "cagectl: %s%s", audit_rec_get(r, "decision") ?: "",
			 req_trunc ? "; request body truncated" : "");
		fputs(",\"comment\":", out);
		json_write_string(out, c);
	}
	fputc('}', out);
}

int har_write(FILE *const *in, int n, FILE *out, const char *version, struct har_counts *counts)
{
	char *line = NULL;
	size_t line_cap = 0;
	ssize_t got;
	bool first = true;

	memset(counts, 0, sizeof(*counts));
	fputs("{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"cagectl\",\"version\":", out);
	json_write_string(out, version);
	fputs("},\"pages\":[],\"entries\":[", out);
	for (int i = 0; i < n; i++) {
		/* Whole lines of any length: a capture line holds two bodies of up to
		 * capture.max_body_size, escaped. A line longer than CAPTURE_LINE_MAX is skipped. */
		while (in[i] && (got = getline(&line, &line_cap, in[i])) > 0) {
			struct audit_rec r;
			size_t len = strcspn(line, "\n");

			if (!len)
				continue;
			if ((size_t)got > CAPTURE_LINE_MAX) {
				counts->skipped++;
				continue;
			}
			if (audit_rec_parse(line, len, &r)) {
				counts->skipped++;
				continue;
			}
			if (!audit_rec_get(&r, "url") || !audit_rec_get(&r, "method")) {
				counts->skipped++;
			} else {
				write_entry(out, &r, first);
				first = false;
				counts->entries++;
			}
			audit_rec_free(&r);
		}
	}
	fputs(first ? "]}}\n" : "\n  ]}}\n", out);
	free(line);
	return ferror(out) ? -EIO : 0;
}
