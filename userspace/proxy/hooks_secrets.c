// SPDX-License-Identifier: GPL-2.0-only
/*
 * The hooks cage-proxy installs: per request, the inspector chain first (it judges what the
 * agent sent, before any real value is in it), then the secrets engine keyed on the upstream
 * identity the policy checked and will dial. Request bodies go through a 512-byte hold-back
 * (the chain's verdict on the tail comes before the tail leaves) and a secrets stream;
 * responses from a host a secret is bound to, and of any request that carried a real value,
 * are redacted (headers one-shot, bodies streamed and re-framed as chunked), and
 * Accept-Encoding is dropped on those requests so the bodies come back uncompressed. After a
 * WebSocket upgrade the agent's messages take the same way (chain, hold-back, a websocket
 * stream: placeholders become values where inject_body binds them), and the server's messages
 * to a bound host's agent are redacted. docs/secrets.md and docs/inspectors.md say why.
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "enforce/paths.h"
#include "lib/log.h"
#include "proxy/capture.h"
#include "proxy/hooks_inspect.h"
#include "proxy/hooks_secrets.h"
#include "proxy/proxy.h"
#include "secrets/secrets.h"

#define HOLD_BACK 512u /* docs/inspectors.md: bytes held until the chain answered for them */

static struct {
	const char *config_path;
	char state_root[PATH_MAX], state_dir[PATH_MAX];
	struct secrets_hostkey hk;
	atomic_bool any_inject_body;   /* some rule may change the length of a request body */
} sec;

/* The tail of what the chain has seen, waiting for its verdict on the bytes after it. */
struct held {
	uint8_t buf[HOLD_BACK];
	size_t len;
};

struct txn {
	struct secrets_ruleset *rs;
	char host[DOMAIN_BUF_SIZE];
	struct secrets_upstream up;
	const char *method;
	struct secrets_head_rewrite rw;
	bool have_rw;
	uint64_t injected, redacted;
	bool redact;                        /* a real value went upstream: redact the response */
	struct secrets_stream *req_s, *resp_s;
	struct px_insp *insp;
	char **hdr_bufs;                    /* redacted response header values, kept until on_end */
	size_t n_hdr_bufs;
	struct held req_hold;
	bool bound;                         /* a secret is bound to this host: redact what it sends */
	struct secrets_stream *ws_out_s;    /* the agent's WebSocket messages: placeholders → values */
	struct secrets_stream *ws_in_s;     /* the server's: values → placeholders */
	struct held ws_hold;
};

static void block_with(struct proxy_block *blk, int status, const char *reason)
{
	blk->status = status;
	snprintf(blk->reason, sizeof(blk->reason), "%s", reason);
}

static void secrets_block(const struct txn *t, const struct secrets_verdict *v,
			  struct proxy_block *blk)
{
	const char *key = v->rule >= 0 ? secrets_rule_key(t->rs, (size_t)v->rule) : NULL;

	block_with(blk, 403, v->reason ? v->reason : "secret.blocked");
	snprintf(blk->detail, sizeof(blk->detail), "secret=%s where=%s%s%s", key ? key : "-",
		 v->where ? v->where : "-", v->detail ? " detail=" : "", v->detail ? v->detail : "");
}

static bool header_removed(const struct http1_message *m, unsigned i)
{
	for (unsigned k = 0; k < m->n_edits; k++)
		if (m->edits[k].index == i && m->edits[k].remove)
			return true;
	return false;
}

static void remove_all(struct http1_message *m, const uint8_t *buf, const char *name)
{
	for (int i = http1_header_find(m, buf, name, 0); i >= 0;
	     i = http1_header_find(m, buf, name, (unsigned)i + 1))
		if (!header_removed(m, (unsigned)i))
			http1_header_remove(m, (unsigned)i);
}

static enum proxy_verdict on_request_headers(void *ctx, void **txnp,
					     const struct proxy_msg_info *info,
					     struct http1_message *m, const uint8_t *buf,
					     struct proxy_block *blk)
{
	struct secrets_header hs[HTTP1_HEADER_SLOTS];
	unsigned idx[HTTP1_HEADER_SLOTS];
	struct secrets_verdict v;
	const char *target;
	size_t n = 0, target_len;
	struct txn *t;
	bool edited = false;

	(void)ctx;
	t = calloc(1, sizeof(*t));
	if (!t) {
		block_with(blk, 503, "proxy.out_of_memory");
		return PROXY_BLOCK;
	}
	*txnp = t;
	snprintf(t->host, sizeof(t->host), "%s", info->host);
	t->up = (struct secrets_upstream){ .https = info->upstream_tls, .host = t->host,
					   .port = info->port };
	t->method = http1_method_name(m->method);

	/* The chain sees what the agent sent: placeholders, never a real value. */
	if (px_insp_request(info, m, buf, &t->insp, blk) == PROXY_BLOCK)
		return PROXY_BLOCK;
	if (m->framing == HTTP1_BODY_NONE && px_insp_end(t->insp, blk) == PROXY_BLOCK)
		return PROXY_BLOCK;

	t->rs = secrets_current_get();
	if (!t->rs)
		return PROXY_ALLOW;
	for (unsigned i = 0; i < m->n_headers; i++) {
		if (header_removed(m, i))
			continue; /* the proxy keeps it (Proxy-Authorization): not sent upstream */
		hs[n] = (struct secrets_header){
			.name = (const char *)buf + m->headers[i].name.off, .name_len = m->headers[i].name.len,
			.value = (const char *)buf + m->headers[i].value.off,
			.value_len = m->headers[i].value.len,
		};
		idx[n++] = i;
	}
	target = m->new_target ? m->new_target : (const char *)buf + m->target.off;
	target_len = m->new_target ? m->new_target_len : m->target.len;
	if (secrets_request_head(t->rs, &t->up, target, target_len, hs, n, &v, &t->rw)) {
		block_with(blk, 503, "proxy.out_of_memory");
		return PROXY_BLOCK;
	}
	t->have_rw = true;
	if (v.action == SECRETS_BLOCK) {
		secrets_block(t, &v, blk);
		return PROXY_BLOCK;
	}
	if (v.action == SECRETS_FLAG) {
		struct proxy_block fl = { 0 };
		struct px_audit a = { .event = "secret.flagged", .decision = "flagged",
				      .mode = "inspect", .method = t->method, .host = t->host,
				      .port = t->up.port, .detail = fl.detail };

		secrets_block(t, &v, &fl);
		a.reason = fl.reason;
		px_audit(NULL, &a);
	}
	if (t->rw.target.buf) {
		http1_set_target(m, t->rw.target.buf, t->rw.target.len);
		edited = true;
	}
	for (size_t k = 0; t->rw.values && k < n && k < t->rw.n; k++) {
		if (!t->rw.values[k].buf)
			continue;
		if (http1_header_replace(m, idx[k], t->rw.values[k].buf, t->rw.values[k].len)) {
			/* A value the header syntax cannot carry (CR, LF, NUL) or too many edits. */
			block_with(blk, 502, "secret.value_unsendable");
			return PROXY_BLOCK;
		}
		edited = true;
	}
	t->injected = v.injected;
	/* A bound host may echo a value it got earlier or by other means: redact all it sends. */
	t->bound = secrets_host_bound(t->rs, t->host);
	if (t->injected || t->bound) {
		t->redact = true;
		remove_all(m, buf, "Accept-Encoding");
		edited = true;
	}
	return edited ? PROXY_EDIT : PROXY_ALLOW;
}

static enum proxy_verdict on_response_headers(void *ctx, void *txn, struct http1_message *m,
					      const uint8_t *buf, struct proxy_block *blk)
{
	struct txn *t = txn;
	bool edited = false;

	(void)ctx;
	if (!t || !t->rs)
		return PROXY_ALLOW;
	for (unsigned i = 0; i < m->n_headers; i++) {
		char *out = NULL, **nb;
		size_t out_len = 0;
		uint64_t mask = 0;

		if (secrets_redact(t->rs, (const char *)buf + m->headers[i].value.off,
				   m->headers[i].value.len, &out, &out_len, &mask)) {
			block_with(blk, 502, "proxy.out_of_memory");
			return PROXY_BLOCK;
		}
		if (!out)
			continue;
		nb = realloc(t->hdr_bufs, (t->n_hdr_bufs + 1) * sizeof(*nb));
		if (!nb) {
			free(out);
			block_with(blk, 502, "proxy.out_of_memory");
			return PROXY_BLOCK;
		}
		t->hdr_bufs = nb;
		t->hdr_bufs[t->n_hdr_bufs++] = out;
		t->redacted |= mask;
		if (http1_header_replace(m, i, out, out_len)) {
			block_with(blk, 502, "secret.reflection_unredactable");
			return PROXY_BLOCK;
		}
		edited = true;
	}
	if (t->redact && !m->interim) {
		int ce = http1_header_find(m, buf, "Content-Encoding", 0);

		/* A compressed reflection would carry the value past the redaction stream. */
		if (ce >= 0 && !http1_span_caseeq(buf, m->headers[ce].value, "identity")) {
			block_with(blk, 502, "secret.reflection_encoded");
			return PROXY_BLOCK;
		}
	}
	return edited ? PROXY_EDIT : PROXY_ALLOW;
}

static enum proxy_body_mode body_mode(void *ctx, void *txn, bool response)
{
	struct txn *t = txn;

	(void)ctx;
	if (response) {
		if (!t->redact || !t->rs)
			return PROXY_BODY_PASS;
		if (!t->resp_s)
			t->resp_s = secrets_stream_new(t->rs, &t->up, SECRETS_STREAM_REDACT);
		return PROXY_BODY_RESIZE; /* without a stream filter_body refuses the body */
	}
	if (t->rs && secrets_rule_count(t->rs) && !t->req_s)
		t->req_s = secrets_stream_new(t->rs, &t->up, SECRETS_STREAM_BODY);
	if (!t->req_s && !t->insp)
		return PROXY_BODY_PASS;
	return atomic_load(&sec.any_inject_body) && t->rs ? PROXY_BODY_RESIZE : PROXY_BODY_FILTER;
}

/* Bytes after the hold-back: through the secrets stream s when there is one. */
static enum proxy_verdict pass_on(struct txn *t, struct secrets_stream *s, const uint8_t *d,
				  size_t n, proxy_emit_fn emit, void *arg, struct proxy_block *blk)
{
	int rc;

	if (!n)
		return PROXY_ALLOW;
	if (!s)
		rc = emit(arg, d, n);
	else
		rc = secrets_stream_feed(s, d, n, emit, arg);
	if (rc == -EACCES) {
		secrets_block(t, secrets_stream_verdict(s), blk);
		return PROXY_BLOCK;
	}
	if (rc) {
		block_with(blk, 502, "proxy.body_filter_failed");
		return PROXY_BLOCK;
	}
	return PROXY_ALLOW;
}

/* Passes on all but the last HOLD_BACK bytes of what the chain has seen. */
static enum proxy_verdict hold_feed(struct txn *t, struct held *h, struct secrets_stream *s,
				    const uint8_t *data, size_t len, proxy_emit_fn emit, void *arg,
				    struct proxy_block *blk)
{
	size_t total = h->len + len, out, from_hold;
	enum proxy_verdict r;

	if (total <= HOLD_BACK) {
		memcpy(h->buf + h->len, data, len);
		h->len = total;
		return PROXY_ALLOW;
	}
	out = total - HOLD_BACK;
	from_hold = out < h->len ? out : h->len;
	if ((r = pass_on(t, s, h->buf, from_hold, emit, arg, blk)) != PROXY_ALLOW)
		return r;
	if ((r = pass_on(t, s, data, out - from_hold, emit, arg, blk)) != PROXY_ALLOW)
		return r;
	memmove(h->buf, h->buf + from_hold, h->len - from_hold);
	h->len -= from_hold;
	memcpy(h->buf + h->len, data + (out - from_hold), len - (out - from_hold));
	h->len += len - (out - from_hold);
	return PROXY_ALLOW;
}

/* The end of a message the chain allowed: the held tail, then the stream's own hold-back. */
static enum proxy_verdict hold_finish(struct txn *t, struct held *h, struct secrets_stream *s,
				      proxy_emit_fn emit, void *arg, struct proxy_block *blk)
{
	enum proxy_verdict r = pass_on(t, s, h->buf, h->len, emit, arg, blk);
	int rc;

	h->len = 0;
	if (r != PROXY_ALLOW || !s)
		return r;
	rc = secrets_stream_finish(s, emit, arg);
	if (rc == -EACCES) {
		secrets_block(t, secrets_stream_verdict(s), blk);
		return PROXY_BLOCK;
	}
	if (rc) {
		block_with(blk, 502, "proxy.body_filter_failed");
		return PROXY_BLOCK;
	}
	t->injected |= secrets_stream_verdict(s)->injected;
	return PROXY_ALLOW;
}

static enum proxy_verdict request_body(struct txn *t, const uint8_t *data, size_t len,
				       proxy_emit_fn emit, void *arg, struct proxy_block *blk)
{
	if (t->rs && secrets_rule_count(t->rs) && !t->req_s) {
		block_with(blk, 503, "proxy.out_of_memory");
		return PROXY_BLOCK;
	}
	if (!data) {
		if (px_insp_end(t->insp, blk) == PROXY_BLOCK)
			return PROXY_BLOCK;
		return hold_finish(t, &t->req_hold, t->req_s, emit, arg, blk);
	}
	if (px_insp_body(t->insp, data, len, blk) == PROXY_BLOCK)
		return PROXY_BLOCK;
	if (!t->insp)
		return pass_on(t, t->req_s, data, len, emit, arg, blk);
	return hold_feed(t, &t->req_hold, t->req_s, data, len, emit, arg, blk);
}

static enum proxy_verdict filter_body(void *ctx, void *txn, bool response, const uint8_t *data,
				      size_t len, proxy_emit_fn emit, void *arg,
				      struct proxy_block *blk)
{
	struct txn *t = txn;
	int rc;

	(void)ctx;
	if (!response)
		return request_body(t, data, len, emit, arg, blk);
	if (!t->resp_s) {
		block_with(blk, 502, "proxy.out_of_memory");
		return PROXY_BLOCK;
	}
	rc = data ? secrets_stream_feed(t->resp_s, data, len, emit, arg)
		  : secrets_stream_finish(t->resp_s, emit, arg);
	if (rc) {
		block_with(blk, 502, "proxy.body_filter_failed");
		return PROXY_BLOCK;
	}
	return PROXY_ALLOW;
}

/* ---- WebSocket (hooks.h: the on_ws_frame order) ------------------------------------------- */

/* The chain judges what the agent sends, piece by piece, before filter_ws lets any of it go. */
static enum proxy_verdict on_ws_frame(void *ctx, void *txn, bool from_agent, uint8_t opcode,
				      const uint8_t *payload, size_t len, struct proxy_block *blk)
{
	struct txn *t = txn;

	(void)ctx;
	if (!t || !from_agent)
		return PROXY_ALLOW;
	return px_insp_ws_frame(t->insp, opcode, payload, len, blk);
}

/* A message from the agent: hold-back (when the chain runs), then the websocket stream that
 * judges placeholders (location "websocket") and puts values in where inject_body allows. */
static enum proxy_verdict ws_from_agent(struct txn *t, const uint8_t *p, size_t len,
					proxy_emit_fn emit, void *arg, struct proxy_block *blk)
{
	if (p && !len) {
		t->ws_hold.len = 0;
		if (t->rs && secrets_rule_count(t->rs) && !t->ws_out_s &&
		    !(t->ws_out_s = secrets_stream_new(t->rs, &t->up, SECRETS_STREAM_WEBSOCKET))) {
			block_with(blk, 503, "proxy.out_of_memory");
			return PROXY_BLOCK;
		}
		return PROXY_ALLOW;
	}
	if (!p)
		return hold_finish(t, &t->ws_hold, t->ws_out_s, emit, arg, blk);
	if (!t->insp)
		return pass_on(t, t->ws_out_s, p, len, emit, arg, blk);
	return hold_feed(t, &t->ws_hold, t->ws_out_s, p, len, emit, arg, blk);
}

/* A message from the server of a bound host: every real value becomes its placeholder. */
static enum proxy_verdict ws_from_server(struct txn *t, const uint8_t *p, size_t len,
					 proxy_emit_fn emit, void *arg, struct proxy_block *blk)
{
	int rc;

	if (!t->bound || !t->rs)
		return p && len && emit(arg, p, len) ? PROXY_BLOCK : PROXY_ALLOW;
	if (p && !len) {
		if (!t->ws_in_s && !(t->ws_in_s = secrets_stream_new(t->rs, &t->up, SECRETS_STREAM_REDACT))) {
			block_with(blk, 502, "proxy.out_of_memory");
			return PROXY_BLOCK;
		}
		return PROXY_ALLOW;
	}
	rc = p ? secrets_stream_feed(t->ws_in_s, p, len, emit, arg)
	       : secrets_stream_finish(t->ws_in_s, emit, arg);
	if (rc) {
		block_with(blk, 502, "proxy.ws_filter_failed");
		return PROXY_BLOCK;
	}
	return PROXY_ALLOW;
}

/* A control frame is whole (at most 125 bytes): the same policy in one shot. */
static enum proxy_verdict ws_control(struct txn *t, bool from_agent, const uint8_t *p, size_t len,
				     proxy_emit_fn emit, void *arg, struct proxy_block *blk)
{
	enum proxy_verdict r = PROXY_ALLOW;

	if (from_agent && t->rs && secrets_rule_count(t->rs)) {
		struct secrets_stream *s = secrets_stream_new(t->rs, &t->up, SECRETS_STREAM_WEBSOCKET);
		struct held none = { .len = 0 };

		if (!s) {
			block_with(blk, 503, "proxy.out_of_memory");
			return PROXY_BLOCK;
		}
		r = pass_on(t, s, p, len, emit, arg, blk);
		if (r == PROXY_ALLOW)
			r = hold_finish(t, &none, s, emit, arg, blk);
		secrets_stream_free(s);
		return r;
	}
	if (!from_agent && t->bound && t->rs) {
		char *out = NULL;
		size_t out_len = 0;
		uint64_t mask = 0;

		if (secrets_redact(t->rs, (const char *)p, len, &out, &out_len, &mask)) {
			block_with(blk, 502, "proxy.out_of_memory");
			return PROXY_BLOCK;
		}
		if (out) {
			t->redacted |= mask;
			r = emit(arg, out, out_len) ? PROXY_BLOCK : PROXY_ALLOW;
			free(out);
			return r;
		}
	}
	return len && emit(arg, p, len) ? PROXY_BLOCK : PROXY_ALLOW;
}

static enum proxy_verdict filter_ws(void *ctx, void *txn, bool from_agent, uint8_t opcode,
				    const uint8_t *payload, size_t len, proxy_emit_fn emit,
				    void *arg, struct proxy_block *blk)
{
	struct txn *t = txn;

	(void)ctx;
	if (!t)
		return payload && len && emit(arg, payload, len) ? PROXY_BLOCK : PROXY_ALLOW;
	if (opcode & 0x8)
		return ws_control(t, from_agent, payload, len, emit, arg, blk);
	return from_agent ? ws_from_agent(t, payload, len, emit, arg, blk)
			  : ws_from_server(t, payload, len, emit, arg, blk);
}

static void audit_use(struct txn *t)
{
	char inj[256] = "", red[256] = "", detail[560];
	struct px_audit a = { .event = "secrets.used", .decision = "allowed", .mode = "inspect",
			      .method = t->method, .host = t->host, .port = t->up.port,
			      .detail = detail };

	if (t->resp_s)
		t->redacted |= secrets_stream_redacted(t->resp_s);
	if (t->ws_in_s)
		t->redacted |= secrets_stream_redacted(t->ws_in_s);
	if (!t->rs || (!t->injected && !t->redacted))
		return;
	secrets_mask_names(t->rs, t->injected, inj, sizeof(inj));
	secrets_mask_names(t->rs, t->redacted, red, sizeof(red));
	snprintf(detail, sizeof(detail), "secrets_injected=%s secrets_redacted=%s", inj, red);
	a.reason = t->redacted ? "secrets_redacted" : "secrets_injected";
	px_audit(NULL, &a);
}

static void on_end(void *ctx, void *txn, bool complete)
{
	struct txn *t = txn;

	(void)ctx;
	(void)complete;
	if (!t)
		return;
	audit_use(t);
	px_insp_free(t->insp);
	if (t->have_rw)
		secrets_head_rewrite_free(&t->rw);
	secrets_stream_free(t->req_s);
	secrets_stream_free(t->resp_s);
	secrets_stream_free(t->ws_out_s);
	secrets_stream_free(t->ws_in_s);
	for (size_t i = 0; i < t->n_hdr_bufs; i++)
		free(t->hdr_bufs[i]);
	free(t->hdr_bufs);
	if (t->rs)
		secrets_ruleset_put(t->rs);
	free(t);
}

static const struct proxy_hooks cage_hooks = {
	.on_request_headers = on_request_headers,
	.on_response_headers = on_response_headers,
	.on_ws_frame = on_ws_frame,
	.filter_ws = filter_ws,
	.body_mode = body_mode,
	.filter_body = filter_body,
	.on_end = on_end,
};

/* The config again (the secrets and their bindings), the store, a new ruleset. */
static int load(bool first)
{
	struct secrets_policy pol = { .misdirected = SECRETS_BLOCK };
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;
	struct secrets_ruleset *rs = NULL;
	char msg[512];
	bool inject_body = false;
	int err;

	err = cage_config_load(sec.config_path, &cfg, &diag, NULL, NULL);
	if (err) {
		p_err("secrets: config %s: %s", sec.config_path, strerror(-err));
		return err;
	}
	err = secrets_ruleset_load(cfg, sec.state_dir, sec.hk.loaded ? &sec.hk : NULL, &pol, &rs, msg,
				   sizeof(msg));
	if (err) {
		p_err("secrets: %s", msg);
		goto out;
	}
	/* A new chain (inspectors and known values) from this config; it copies what it keeps. */
	err = px_insp_load(cfg, rs, msg, sizeof(msg));
	if (err) {
		p_err("inspectors: %s", msg);
		if (first) {
			secrets_ruleset_put(rs);
			goto out;
		}
		px_insp_known_values(cfg, rs); /* a bad reload keeps the old chain, new values */
		err = 0;
	}
	for (size_t i = 0; i < cfg->n_secrets; i++)
		inject_body = inject_body || cfg->secrets[i].inject_body;
	atomic_store(&sec.any_inject_body, inject_body);
	secrets_current_set(rs);
out:
	cage_config_free(cfg);
	return err;
}

int px_hooks_setup(const char *cage, const char *config_path)
{
	struct cage_paths paths;
	int err;

	sec.config_path = config_path;
	err = cage_paths_init(&paths, cage);
	if (err) {
		p_err("secrets: paths of %s: %s", cage, strerror(-err));
		return err;
	}
	snprintf(sec.state_root, sizeof(sec.state_root), "%s", paths.state_root);
	snprintf(sec.state_dir, sizeof(sec.state_dir), "%s", paths.state_dir);
	err = secrets_hostkey_load(sec.state_root, false, &sec.hk);
	if (err && err != -ENOENT) {
		p_err("secrets: host key in %s: %s", sec.state_root, strerror(-err));
		return err;
	}
	err = load(true);
	if (err)
		return err;
	/* capture.enable: capture.c wraps these hooks and records the agent's view around them. */
	proxy_hooks_set(px_capture_wrap(&cage_hooks, cage, config_path));
	return 0;
}

int px_hooks_reload(void)
{
	px_capture_reload();
	return load(false);
}
