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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "enforce/paths.h"
#include "lib/log.h"
#include "proxy/capture.h"
#include "proxy/capture_record.h"
#include "proxy/proxy.h"

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

static void report_full(void)
{
	struct px_audit a = { .event = "proxy.capture_full", .decision = "error",
			      .reason = "capture_full",
			      .detail = "capture.jsonl reached logging.max_size; capture paused until "
					"the daemons restart (cagectl restart rotates it)" };

	if (!atomic_exchange(&cap.full_reported, true))
		px_audit(NULL, &a);
}

static void write_line(struct cap_txn *t, uint64_t now)
{
	size_t len;
	uint64_t size;
	char *buf = cap_format_line(t, now, &len);

	if (!buf)
		return;
	/* Reserve the bytes first: concurrent writers never overshoot the bound together. */
	size = atomic_fetch_add(&cap.file_size, len);
	if (size + len > cap.max_file) {
		atomic_fetch_sub(&cap.file_size, len);
		report_full();
	} else if (write(cap.fd, buf, len) != (ssize_t)len) {
		p_warn("capture: write: %s", strerror(errno));
	}
	free(buf);
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
		t->req_headers = cap_headers_text(m, buf, &t->req_mime, NULL);
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
		cap_body_add(&t->req, data, len, t->max_body);
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
	t->status_text = cap_span_dup(buf, m->reason);
	t->resp_headers = cap_headers_text(m, buf, &t->resp_mime,
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
		cap_body_add(&t->resp, data, len, t->max_body);
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

	cap_body_add(&tap->t->resp, buf, len, tap->t->max_body);
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
			cap_body_add(&t->req, data, len, t->max_body);
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
	cap_txn_free(t);
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
