// SPDX-License-Identifier: GPL-2.0-only
/*
 * The capture wrapper (capture.h). Each wrapped hook records what it needs and calls the inner
 * hook with the inner txn: request head and body are recorded BEFORE the inner hooks run (they
 * inject real values), the response head AFTER them (they queue redaction edits, applied here
 * the way http1_serialize applies them), the response body from the filter's output when the
 * inner hooks filter it (redacted), else as the upstream sent it (nothing was injected, so there
 * is nothing to redact). One line per exchange is written in on_end with one write() on an
 * O_APPEND descriptor, so lines from many workers never interleave.
 *
 * Every hook of struct proxy_hooks that takes a txn must be forwarded here with inner_txn():
 * a hook added to hooks.h and not to px_capture_wrap() silently stops working when capture is on.
 * WebSocket frames are forwarded, not captured (HAR 1.2 has no place for them).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "config/config.h"
#include "enforce/paths.h"
#include "lib/json.h"
#include "lib/log.h"
#include "proxy/capture.h"
#include "proxy/proxy.h"
#include "secrets/secrets.h"

#define BODY_HARD_MAX (8u << 20) /* whatever max_body_size says: a line stays loadable */

static struct {
	struct proxy_hooks outer;
	const struct proxy_hooks *inner;
	const char *config_path;
	int fd;
	uint64_t max_file;
	atomic_uint_fast64_t file_size;
	atomic_uint_fast64_t max_body;
	atomic_bool enabled;
	atomic_bool full_reported;
} cap = { .fd = -1 };

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

static char *span_dup(const uint8_t *buf, struct http1_span s)
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
static char *headers_text(const struct http1_message *m, const uint8_t *buf, char **mime,
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

static void body_add(struct cap_body *b, const void *data, size_t len, uint64_t max)
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

static void report_full(void)
{
	struct px_audit a = { .event = "proxy.capture_full", .decision = "error",
			      .reason = "capture_full",
			      .detail = "capture.jsonl reached logging.max_size; capture paused until "
					"the daemons restart (cagectl restart rotates it)" };

	if (!atomic_exchange(&cap.full_reported, true))
		px_audit(NULL, &a);
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

static void write_line(struct cap_txn *t, uint64_t now)
{
	size_t need;
	struct json_buf jb;
	const char *line;
	char ts[40], *buf;
	size_t len;
	uint64_t size;

	if (scrub_txn(t))
		return;
	/* From the scrubbed fields. Escaping grows a string at most 6x (\u00XX), base64 4/3. */
	need = 1024 + 6 * (slen(t->url) + slen(t->req_headers) + slen(t->resp_headers) +
			   slen(t->req_mime) + slen(t->resp_mime) + slen(t->redirect) +
			   slen(t->status_text) + t->req.len + t->resp.len);
	buf = malloc(need);
	if (!buf)
		return;
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
	if (!line)
		goto out;
	len = strlen(line);
	buf[len++] = '\n';
	/* Reserve the bytes first: concurrent writers never overshoot the bound together. */
	size = atomic_fetch_add(&cap.file_size, len);
	if (size + len > cap.max_file) {
		atomic_fetch_sub(&cap.file_size, len);
		report_full();
		goto out;
	}
	if (write(cap.fd, buf, len) != (ssize_t)len)
		p_warn("capture: write: %s", strerror(errno));
out:
	free(buf);
}

static void txn_free(struct cap_txn *t)
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

static void blocked(struct cap_txn *t, const struct proxy_block *blk)
{
	t->decision = "blocked";
	if (!t->have_resp) /* otherwise the agent got that status, then the connection closed */
		t->status = blk->status ? blk->status : 403;
	snprintf(t->reason, sizeof(t->reason), "%s", blk->reason[0] ? blk->reason : "hook");
}

/* The URL the agent asked for: scheme of the checked upstream, host, port unless default. */
static char *request_url(const struct proxy_msg_info *info, const struct http1_message *m,
			 const uint8_t *buf)
{
	const char *target = m->new_target ? m->new_target : (const char *)buf + m->target.off;
	size_t tlen = m->new_target ? m->new_target_len : m->target.len;
	bool https = info->upstream_tls;
	char port[8] = "";
	char *url;

	if (info->port && info->port != (https ? 443 : 80))
		snprintf(port, sizeof(port), ":%u", info->port);
	if (asprintf(&url, "%s://%s%s%s%.*s", https ? "https" : "http", info->host, port,
		     tlen && target[0] == '/' ? "" : "/", (int)tlen, target) < 0)
		return NULL;
	return url;
}

static enum proxy_verdict cap_request_headers(void *ctx, void **txnp,
					      const struct proxy_msg_info *info,
					      struct http1_message *m, const uint8_t *buf,
					      struct proxy_block *blk)
{
	const struct proxy_hooks *in = cap.inner;
	struct cap_txn *t = calloc(1, sizeof(*t));
	enum proxy_verdict v = PROXY_ALLOW;

	(void)ctx;
	if (!t) {
		blk->status = 503;
		snprintf(blk->reason, sizeof(blk->reason), "proxy.out_of_memory");
		return PROXY_BLOCK;
	}
	*txnp = t;
	t->on = atomic_load(&cap.enabled);
	if (t->on) {
		/* Recorded before the inner hooks: the agent's bytes, placeholders and all. */
		clock_gettime(CLOCK_REALTIME, &t->started);
		t->t0 = t->t_req_done = px_now_ms();
		t->max_body = atomic_load(&cap.max_body);
		snprintf(t->method, sizeof(t->method), "%.*s", (int)m->method_span.len,
			 (const char *)buf + m->method_span.off);
		snprintf(t->version, sizeof(t->version), "HTTP/1.%u", m->version_minor);
		t->url = request_url(info, m, buf);
		t->req_headers = headers_text(m, buf, &t->req_mime, NULL);
		t->decision = "allowed";
	}
	if (in->on_request_headers)
		v = in->on_request_headers(in->ctx, &t->inner, info, m, buf, blk);
	if (v == PROXY_BLOCK && t->on)
		blocked(t, blk);
	return v;
}

/* The inner hooks' txn; the proxy only calls us with one of ours, but never trust that. */
static void *inner_txn(const struct cap_txn *t)
{
	return t ? t->inner : NULL;
}

static bool recording(const struct cap_txn *t)
{
	return t && t->on;
}

static enum proxy_verdict cap_request_body(void *ctx, void *txn, const uint8_t *data, size_t len,
					   struct proxy_block *blk)
{
	const struct proxy_hooks *in = cap.inner;
	struct cap_txn *t = txn;
	enum proxy_verdict v = PROXY_ALLOW;

	(void)ctx;
	if (recording(t)) {
		body_add(&t->req, data, len, t->max_body);
		t->t_req_done = px_now_ms();
	}
	if (in->on_request_body)
		v = in->on_request_body(in->ctx, inner_txn(t), data, len, blk);
	if (v == PROXY_BLOCK && recording(t))
		blocked(t, blk);
	return v;
}

static enum proxy_verdict cap_response_headers(void *ctx, void *txn, struct http1_message *m,
					       const uint8_t *buf, struct proxy_block *blk)
{
	const struct proxy_hooks *in = cap.inner;
	struct cap_txn *t = txn;
	enum proxy_verdict v = PROXY_ALLOW;

	(void)ctx;
	if (in->on_response_headers)
		v = in->on_response_headers(in->ctx, inner_txn(t), m, buf, blk);
	if (!recording(t) || m->interim)
		return v;
	if (v == PROXY_BLOCK) {
		/* Nothing of this response reaches the agent: record only the proxy's refusal. */
		blocked(t, blk);
		return v;
	}
	/* After the inner hooks: their redaction edits are applied to what is recorded. */
	t->t_resp = px_now_ms();
	t->have_resp = true;
	t->status = m->status;
	t->status_text = span_dup(buf, m->reason);
	t->resp_headers = headers_text(m, buf, &t->resp_mime,
				       m->status >= 300 && m->status < 400 ? &t->redirect : NULL);
	return v;
}

static enum proxy_verdict cap_response_body(void *ctx, void *txn, const uint8_t *data,
					    size_t len, struct proxy_block *blk)
{
	const struct proxy_hooks *in = cap.inner;
	struct cap_txn *t = txn;
	enum proxy_verdict v = PROXY_ALLOW;

	(void)ctx;
	if (in->on_response_body)
		v = in->on_response_body(in->ctx, inner_txn(t), data, len, blk);
	if (!recording(t))
		return v;
	if (v == PROXY_BLOCK)
		blocked(t, blk);
	else
		body_add(&t->resp, data, len, t->max_body);
	return v;
}

static enum proxy_verdict cap_ws_frame(void *ctx, void *txn, bool from_agent, uint8_t opcode,
				       const uint8_t *payload, size_t len, struct proxy_block *blk)
{
	const struct proxy_hooks *in = cap.inner;
	struct cap_txn *t = txn;

	(void)ctx;
	if (!in->on_ws_frame)
		return PROXY_ALLOW;
	return in->on_ws_frame(in->ctx, inner_txn(t), from_agent, opcode, payload, len, blk);
}

static enum proxy_verdict cap_filter_ws(void *ctx, void *txn, bool from_agent, uint8_t opcode,
				       const uint8_t *payload, size_t len, proxy_emit_fn emit,
				       void *arg, struct proxy_block *blk)
{
	const struct proxy_hooks *in = cap.inner;

	(void)ctx;
	/* Only installed when the inner table has it: the proxy tests for NULL. */
	return in->filter_ws(in->ctx, inner_txn(txn), from_agent, opcode, payload, len, emit, arg,
			     blk);
}

static enum proxy_body_mode cap_body_mode(void *ctx, void *txn, bool response)
{
	const struct proxy_hooks *in = cap.inner;
	struct cap_txn *t = txn;

	(void)ctx;
	/* Only the inner hooks decide: filter_body below merely forwards when they filter. */
	if (!in->body_mode || !in->filter_body || !inner_txn(t))
		return PROXY_BODY_PASS;
	return in->body_mode(in->ctx, inner_txn(t), response);
}

/* The inner filter's output towards the agent: recorded as it leaves (already redacted). */
struct emit_tap {
	proxy_emit_fn emit;
	void *arg;
	struct cap_txn *t;
};

static int tap_emit(void *arg, const void *buf, size_t len)
{
	struct emit_tap *tap = arg;

	body_add(&tap->t->resp, buf, len, tap->t->max_body);
	return tap->emit(tap->arg, buf, len);
}

static enum proxy_verdict cap_filter_body(void *ctx, void *txn, bool response, const uint8_t *data,
					  size_t len, proxy_emit_fn emit, void *arg,
					  struct proxy_block *blk)
{
	const struct proxy_hooks *in = cap.inner;
	struct cap_txn *t = txn;
	struct emit_tap tap = { .emit = emit, .arg = arg, .t = t };
	enum proxy_verdict v;

	(void)ctx;
	if (!recording(t))
		return in->filter_body(in->ctx, inner_txn(t), response, data, len, emit, arg, blk);
	if (!response) {
		/* Before the inner filter: the agent's bytes, not what they become upstream. */
		if (data) {
			body_add(&t->req, data, len, t->max_body);
			t->t_req_done = px_now_ms();
		}
		v = in->filter_body(in->ctx, inner_txn(t), false, data, len, emit, arg, blk);
	} else {
		v = in->filter_body(in->ctx, inner_txn(t), true, data, len, tap_emit, &tap, blk);
	}
	if (v == PROXY_BLOCK)
		blocked(t, blk);
	return v;
}

static void cap_end(void *ctx, void *txn, bool complete)
{
	const struct proxy_hooks *in = cap.inner;
	struct cap_txn *t = txn;

	(void)ctx;
	if (!t)
		return;
	if (inner_txn(t) && in->on_end)
		in->on_end(in->ctx, inner_txn(t), complete);
	if (recording(t)) {
		if (!complete && !t->reason[0])
			snprintf(t->reason, sizeof(t->reason), "incomplete");
		write_line(t, px_now_ms());
	}
	txn_free(t);
}

/* capture.enable and max_body_size from the config; false when it cannot be read. */
static bool read_settings(const char *config_path, bool *enable, uint64_t *max_body,
			  uint64_t *max_file)
{
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;

	if (cage_config_load(config_path, &cfg, &diag, NULL, NULL))
		return false;
	*enable = cfg->capture;
	*max_body = cfg->capture_max_body < BODY_HARD_MAX ? cfg->capture_max_body : BODY_HARD_MAX;
	*max_file = cfg->log_max_bytes ? cfg->log_max_bytes : 64ull << 20;
	cage_config_free(cfg);
	return true;
}

/* As root: rotate a file that is half full already, then open for appending. */
static int open_capture(const char *log_dir, uint64_t max_file)
{
	char path[PATH_MAX + 32], old[PATH_MAX + 40];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/capture.jsonl", log_dir);
	snprintf(old, sizeof(old), "%s/capture.jsonl.1", log_dir);
	if (!stat(path, &st) && (uint64_t)st.st_size >= max_file / 2 && rename(path, old))
		p_warn("capture: can't rotate %s: %s", path, strerror(errno));
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	atomic_store(&cap.file_size, (uint64_t)st.st_size);
	return fd;
}

const struct proxy_hooks *px_capture_wrap(const struct proxy_hooks *inner, const char *cage,
					  const char *config_path)
{
	struct cage_paths paths;
	uint64_t max_body, max_file;
	bool enable;
	int err;

	if (!read_settings(config_path, &enable, &max_body, &max_file) || !enable)
		return inner;
	err = cage_paths_init(&paths, cage);
	if (!err)
		err = open_capture(paths.log_dir, max_file);
	if (err < 0) {
		p_warn("capture: can't open capture.jsonl of %s: %s; capture is off", cage,
		       strerror(-err));
		return inner;
	}
	cap.fd = err;
	cap.max_file = max_file;
	cap.inner = inner;
	cap.config_path = config_path;
	atomic_store(&cap.max_body, max_body);
	atomic_store(&cap.enabled, true);
	cap.outer = (struct proxy_hooks){
		.ctx = NULL,
		.on_request_headers = cap_request_headers,
		.on_request_body = cap_request_body,
		.on_response_headers = cap_response_headers,
		.on_response_body = cap_response_body,
		.on_ws_frame = inner->on_ws_frame ? cap_ws_frame : NULL,
		.filter_ws = inner->filter_ws ? cap_filter_ws : NULL,
		.body_mode = cap_body_mode,
		.filter_body = cap_filter_body,
		.on_end = cap_end,
	};
	return &cap.outer;
}

void px_capture_reload(void)
{
	uint64_t max_body, max_file;
	bool enable;

	if (!cap.config_path || !read_settings(cap.config_path, &enable, &max_body, &max_file))
		return;
	atomic_store(&cap.enabled, enable);
	atomic_store(&cap.max_body, max_body);
	atomic_store(&cap.full_reported, false);
}
