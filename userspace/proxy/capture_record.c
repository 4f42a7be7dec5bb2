// SPDX-License-Identifier: GPL-2.0-only
/*
 * One exchange of the capture as a line of capture.jsonl (capture_record.h): the head text with
 * the hooks' pending edits applied, bodies cut at max_body_size (base64 when not UTF-8), a last
 * redaction pass over every field, and the JSON itself. capture.c decides when to record and
 * writes the line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/audit.h"
#include "lib/json.h"
#include "proxy/capture_record.h"
#include "secrets/secrets.h"

/* A growable string: NULL on allocation failure (the line is then dropped, never cut). */
struct sbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void sb_add(struct sbuf *b, const void *p, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 256;
		char *ns;

		while (nc < b->len + n + 1)
			nc *= 2;
		ns = realloc(b->s, nc);
		if (!ns) {
			b->failed = true;
			return;
		}
		b->s = ns;
		b->cap = nc;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static char *sb_take(struct sbuf *b)
{
	if (b->failed) {
		free(b->s);
		return NULL;
	}
	if (!b->s)
		return strdup("");
	return b->s;
}

char *cap_span_dup(const uint8_t *buf, struct http1_span s)
{
	return strndup((const char *)buf + s.off, s.len);
}

/* The value a header has once m's edits are applied: NULL = removed. */
static const char *edited_value(const struct http1_message *m, const uint8_t *buf, unsigned i,
				size_t *len)
{
	const char *v = (const char *)buf + m->headers[i].value.off;

	*len = m->headers[i].value.len;
	for (unsigned k = 0; k < m->n_edits; k++) {
		if (m->edits[k].index != i)
			continue;
		if (m->edits[k].remove)
			return NULL;
		v = m->edits[k].value;
		*len = m->edits[k].value_len;
	}
	return v;
}

/*
 * "Name: value\r\n" lines of m with its pending edits applied; Content-Type and Location are
 * picked up on the way (as edited: a redacted Location stays redacted).
 */
char *cap_headers_text(const struct http1_message *m, const uint8_t *buf, char **mime,
			  char **location)
{
	struct sbuf b = { 0 };

	for (unsigned i = 0; i < m->n_headers; i++) {
		const char *name = (const char *)buf + m->headers[i].name.off, *v;
		size_t nlen = m->headers[i].name.len, vlen;

		v = edited_value(m, buf, i, &vlen);
		if (!v)
			continue;
		sb_add(&b, name, nlen);
		sb_add(&b, ": ", 2);
		sb_add(&b, v, vlen);
		sb_add(&b, "\r\n", 2);
		if (mime && !*mime && nlen == 12 && !strncasecmp(name, "Content-Type", 12))
			*mime = strndup(v, vlen);
		if (location && !*location && nlen == 8 && !strncasecmp(name, "Location", 8))
			*location = strndup(v, vlen);
	}
	for (unsigned k = 0; k < m->n_edits; k++) {
		if (m->edits[k].index != UINT16_MAX || m->edits[k].remove || !m->edits[k].name)
			continue;
		sb_add(&b, m->edits[k].name, m->edits[k].name_len);
		sb_add(&b, ": ", 2);
		sb_add(&b, m->edits[k].value, m->edits[k].value_len);
		sb_add(&b, "\r\n", 2);
	}
	return sb_take(&b);
}

void cap_body_add(struct cap_body *b, const void *data, size_t len, uint64_t max)
{
	size_t keep = 0;

	b->total += len;
	if (b->len < max)
		keep = max - b->len < len ? (size_t)(max - b->len) : len;
	if (!keep)
		return;
	if (b->len + keep > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;
		uint8_t *nd;

		while (nc < b->len + keep)
			nc *= 2;
		if (nc > max)
			nc = (size_t)max;
		nd = realloc(b->data, nc);
		if (!nd)
			return; /* recorded as truncated: total says how much there was */
		b->data = nd;
		b->cap = nc;
	}
	memcpy(b->data + b->len, data, keep);
	b->len += keep;
}

/* Length of the valid UTF-8 prefix; a sequence cut by the end of the buffer is left out. */
static size_t utf8_valid_len(const uint8_t *s, size_t len, bool *valid)
{
	size_t i = 0;

	*valid = true;
	while (i < len) {
		uint8_t c = s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
			 : (c & 0xf8) == 0xf0 ? 4 : 0;

		if (!n || c == 0 || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4)) {
			*valid = false;
			return i;
		}
		if (i + n > len)
			return i; /* cut: the caller decides whether that is the truncation point */
		for (size_t k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80) {
				*valid = false;
				return i;
			}
		i += n;
	}
	return i;
}

static char *base64(const uint8_t *s, size_t len)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < len ? (uint32_t)s[i + 1] << 8 : 0) |
			     (i + 2 < len ? s[i + 2] : 0);

		*o++ = tbl[v >> 18 & 63];
		*o++ = tbl[v >> 12 & 63];
		*o++ = i + 1 < len ? tbl[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? tbl[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* "<p>_body" (text or base64), "<p>_body_size", "<p>_body_truncated", "<p>_body_encoding". */
static void write_body(struct json_buf *jb, const char *p, const struct cap_body *b)
{
	char key[32];
	bool valid, truncated = b->total > b->len;
	size_t text_len = utf8_valid_len(b->data, b->len, &valid);

	if (b->total) {
		snprintf(key, sizeof(key), "%s_body", p);
		/* A multi-byte character cut by the truncation is still text. */
		if (valid && (text_len == b->len || truncated)) {
			jb_strn(jb, key, (const char *)b->data, text_len);
		} else {
			char *enc = base64(b->data, b->len);

			jb_str(jb, key, enc ? enc : "");
			free(enc);
			snprintf(key, sizeof(key), "%s_body_encoding", p);
			jb_str(jb, key, "base64");
		}
	}
	snprintf(key, sizeof(key), "%s_body_size", p);
	jb_uint(jb, key, b->total);
	if (truncated) {
		snprintf(key, sizeof(key), "%s_body_truncated", p);
		jb_bool(jb, key, true);
	}
}

static size_t slen(const char *s)
{
	return s ? strlen(s) : 0;
}

/* Replaces *s (len bytes) by its redaction when it holds a real value. 0 or -ENOMEM. */
static int scrub(const struct secrets_ruleset *rs, char **s, size_t *len)
{
	char *out = NULL;
	size_t out_len = 0;
	uint64_t mask = 0;

	if (!*s || !*len)
		return 0;
	if (secrets_redact(rs, *s, *len, &out, &out_len, &mask))
		return -ENOMEM;
	if (out) {
		free(*s);
		*s = out;
		*len = out_len;
	}
	return 0;
}

/* A string: secrets_redact's output is NUL-terminated like its input. */
static int scrub_str(const struct secrets_ruleset *rs, char **s)
{
	size_t len = slen(*s);

	return scrub(rs, s, &len);
}

/*
 * What is recorded is the agent's view, which holds no real value when the secrets engine did
 * its job. Redact once more anyway: the capture is a file people share, and one missed
 * reflection must not put a credential in it. -ENOMEM drops the line rather than risk it.
 */
static int scrub_txn(struct cap_txn *t)
{
	struct secrets_ruleset *rs = secrets_current_get();
	int err = 0;

	if (!rs)
		return 0;
	err = scrub_str(rs, &t->url) ?: scrub_str(rs, &t->req_headers) ?:
	      scrub_str(rs, &t->resp_headers) ?: scrub_str(rs, &t->redirect) ?:
	      scrub(rs, (char **)&t->req.data, &t->req.len) ?:
	      scrub(rs, (char **)&t->resp.data, &t->resp.len);
	secrets_ruleset_put(rs);
	return err;
}

char *cap_format_line(struct cap_txn *t, uint64_t now, size_t *len)
{
	size_t need;
	struct json_buf jb;
	const char *line;
	char ts[40], *buf;

	if (scrub_txn(t))
		return NULL;
	/* From the scrubbed fields. Escaping grows a string at most 6x (\u00XX), base64 4/3. */
	need = 1024 + 6 * (slen(t->url) + slen(t->req_headers) + slen(t->resp_headers) +
			   slen(t->req_mime) + slen(t->resp_mime) + slen(t->redirect) +
			   slen(t->status_text) + t->req.len + t->resp.len);
	buf = malloc(need);
	if (!buf)
		return NULL;
	audit_format_time(&t->started, ts, sizeof(ts));
	jb_init(&jb, buf, need - 1);
	jb_open(&jb);
	jb_str(&jb, "ts", ts);
	jb_str(&jb, "method", t->method);
	jb_str(&jb, "url", t->url);
	jb_str(&jb, "http_version", t->version);
	jb_str(&jb, "req_headers", t->req_headers);
	if (t->req_mime)
		jb_str(&jb, "req_mime_type", t->req_mime);
	write_body(&jb, "req", &t->req);
	jb_int(&jb, "status", t->status);
	if (t->status_text)
		jb_str(&jb, "status_text", t->status_text);
	if (t->resp_headers)
		jb_str(&jb, "resp_headers", t->resp_headers);
	if (t->resp_mime)
		jb_str(&jb, "resp_mime_type", t->resp_mime);
	if (t->have_resp)
		write_body(&jb, "resp", &t->resp);
	if (t->redirect)
		jb_str(&jb, "redirect_url", t->redirect);
	jb_int(&jb, "time_send", (int64_t)(t->t_req_done - t->t0));
	jb_int(&jb, "time_wait", t->have_resp ? (int64_t)(t->t_resp - t->t_req_done) : -1);
	jb_int(&jb, "time_receive", t->have_resp ? (int64_t)(now - t->t_resp) : -1);
	jb_str(&jb, "decision", t->decision);
	if (t->reason[0])
		jb_str(&jb, "reason", t->reason);
	jb_close(&jb);
	line = jb_finish(&jb);
	if (!line) {
		free(buf);
		return NULL;
	}
	*len = strlen(line);
	buf[(*len)++] = '\n';
	return buf;
}

void cap_txn_free(struct cap_txn *t)
{
	free(t->url);
	free(t->req_headers);
	free(t->req_mime);
	free(t->req.data);
	free(t->resp.data);
	free(t->status_text);
	free(t->resp_headers);
	free(t->resp_mime);
	free(t->redirect);
	free(t);
}
