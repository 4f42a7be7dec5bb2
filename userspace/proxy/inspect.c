// SPDX-License-Identifier: GPL-2.0-only
/*
 * The inspect path: HTTP/1.1 requests from the agent (in clear, or inside a TLS session we
 * terminated) are parsed, checked against the name the connection is bound to (SNI, CONNECT
 * authority or the first Host), passed through the hooks, re-serialised and forwarded; the
 * responses come back the same way. One request is in flight at a time: pipelined requests
 * wait in the agent's buffer until the previous response has been written out, which keeps
 * the order of messages trivially right. Bodies are never buffered whole: they are forwarded
 * as raw framed bytes once the parser (and the body hooks) have seen them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/ipclass.h"
#include "proxy/proxy.h"
#include "proxy/ws_relay.h"

static bool looks_like_request(const uint8_t *b, size_t n)
{
	size_t i = 0;

	while (i < n && i < 32 && ((b[i] >= 'A' && b[i] <= 'Z') || b[i] == '-' || b[i] == '_'))
		i++;
	if (i == n)
		return n < 32;
	return i > 0 && b[i] == ' ';
}

static void audit_request(struct px_conn *c, const char *event, const char *decision,
			  const char *reason, const char *detail);

/* The line of a response that is complete and has been written out (or never will be). */
void px_http_audit_due(struct px_conn *c)
{
	if (!c->audit_due)
		return;
	c->audit_due = false;
	audit_request(c, "proxy.request", "allowed", NULL, NULL);
	if (c->rq == RQ_HEADERS)
		c->method = NULL; /* kept for the line; the next request starts without one */
}

static void audit_request(struct px_conn *c, const char *event, const char *decision,
			  const char *reason, const char *detail)
{
	struct px_audit a = {
		.event = event, .decision = decision, .reason = reason, .detail = detail,
		.mode = "inspect", .method = c->method, .host = c->up_host[0] ? c->up_host : c->conn_host,
		.port = c->up_port ? c->up_port : c->conn_port, .path = c->path[0] ? c->path : NULL,
		.status = c->status,
	};

	if (c->up_addr_known) {
		a.have_dst = true;
		a.dst = c->up_addr;
		a.dport = c->up_port;
	} else if (c->has_orig) {
		a.have_dst = true;
		a.dst = c->orig.dst;
		a.dport = c->orig.dport;
	}
	/* Lines stay in order: a finished request's line before anything that follows it. */
	px_http_audit_due(c);
	c->audited = true;
	px_audit(c, &a);
}

static void deny_request(struct px_conn *c, const char *event, int status, const char *reason,
			 const char *host, const char *detail)
{
	px_http_audit_due(c);
	c->status = (uint16_t)status;
	audit_request(c, event, "blocked", reason, detail);
	px_deny_http(c, status, reason, host);
}

/* A hook blocked the request: its status, reason and detail. */
static void deny_hook(struct px_conn *c)
{
	deny_request(c, "proxy.request", c->blk.status ? c->blk.status : 403,
		     c->blk.reason[0] ? c->blk.reason : "hook", c->up_host,
		     c->blk.detail[0] ? c->blk.detail : NULL);
}

/* Appends filter output to out, as one chunk when the message is re-chunked. */
static int emit_framed(struct px_buf *out, bool chunked, const void *buf, size_t len)
{
	char line[24];
	int n = 0;

	if (!len)
		return 0;
	if (chunked)
		n = snprintf(line, sizeof(line), "%zx\r\n", len);
	if (!px_buf_reserve(out, (size_t)n + len + 2, out->end - out->start + (size_t)n + len + 2 + PX_BUF_SIZE))
		return -ENOMEM;
	memcpy(out->data + out->end, line, (size_t)n);
	out->end += (size_t)n;
	memcpy(out->data + out->end, buf, len);
	out->end += len;
	if (chunked) {
		memcpy(out->data + out->end, "\r\n", 2);
		out->end += 2;
	}
	return 0;
}

static int emit_up(void *arg, const void *buf, size_t len)
{
	struct px_conn *c = arg;

	return emit_framed(&c->up.out, c->req_chunked, buf, len);
}

static int emit_cl(void *arg, const void *buf, size_t len)
{
	struct px_conn *c = arg;

	return emit_framed(&c->cl.out, c->resp_chunked, buf, len);
}

/* End of a filtered body: flush the filter, then the last chunk. false: blocked. */
static bool filter_finish(struct px_conn *c, bool response)
{
	const struct proxy_hooks *h = proxy_hooks_get();
	struct px_buf *out = response ? &c->cl.out : &c->up.out;
	bool chunked = response ? c->resp_chunked : c->req_chunked;

	if (h->filter_body(h->ctx, c->txn, response, NULL, 0, response ? emit_cl : emit_up, c,
			   &c->blk) == PROXY_BLOCK)
		return false;
	return !chunked || emit_framed(out, false, "0\r\n\r\n", 5) == 0;
}

static void remove_header_all(struct http1_message *m, const uint8_t *buf, const char *name);

/*
 * Framing of a filtered body: chunked is re-chunked; a length that may change becomes chunked
 * or, towards an HTTP/1.0 agent, the end of the connection.
 */
static void reframe(struct http1_message *m, const uint8_t *buf, bool resize, bool peer_http10,
		    bool *chunked, bool *close_after)
{
	*chunked = m->framing == HTTP1_BODY_CHUNKED;
	if (!resize || m->framing != HTTP1_BODY_LENGTH)
		return;
	remove_header_all(m, buf, "Content-Length");
	if (peer_http10) {
		remove_header_all(m, buf, "Connection");
		http1_header_add(m, "Connection", "close");
		*close_after = true;
		return;
	}
	http1_header_add(m, "Transfer-Encoding", "chunked");
	*chunked = true;
}

static int on_req_body(void *ctx, const uint8_t *data, size_t len)
{
	struct px_conn *c = ctx;
	const struct proxy_hooks *h = proxy_hooks_get();

	if (c->req_filter) {
		if (h->filter_body(h->ctx, c->txn, false, data, len, emit_up, c, &c->blk) == PROXY_BLOCK) {
			c->hook_blocked = true;
			return 1;
		}
		return 0;
	}
	if (h && h->on_request_body &&
	    h->on_request_body(h->ctx, c->txn, data, len, &c->blk) == PROXY_BLOCK) {
		c->hook_blocked = true;
		return 1;
	}
	return 0;
}

static int on_resp_body(void *ctx, const uint8_t *data, size_t len)
{
	struct px_conn *c = ctx;
	const struct proxy_hooks *h = proxy_hooks_get();

	if (c->resp_filter) {
		if (h->filter_body(h->ctx, c->txn, true, data, len, emit_cl, c, &c->blk) == PROXY_BLOCK) {
			c->hook_blocked = true;
			return 1;
		}
		return 0;
	}
	if (h && h->on_response_body &&
	    h->on_response_body(h->ctx, c->txn, data, len, &c->blk) == PROXY_BLOCK) {
		c->hook_blocked = true;
		return 1;
	}
	return 0;
}

void px_http_start(struct px_conn *c)
{
	http1_init(&c->req, HTTP1_REQUEST, NULL, on_req_body, c);
	http1_init(&c->resp, HTTP1_RESPONSE, NULL, on_resp_body, c);
	c->rq = RQ_HEADERS;
	c->rs = RS_IDLE;
	c->header_deadline_ms = px_now_ms() + PX_HEADER_TIMEOUT_MS;
}

/* Serialises m (with its edits) to the end of out. */
static bool serialize_to(struct px_buf *out, const struct http1_message *m, const uint8_t *buf)
{
	size_t need = http1_serialized_len(m, buf);
	ssize_t n;

	if (!px_buf_reserve(out, need, out->end - out->start + need + PX_BUF_SIZE))
		return false;
	n = http1_serialize(m, buf, out->data + out->end, out->cap - out->end);
	if (n < 0)
		return false;
	out->end += (size_t)n;
	return true;
}

static void remove_header_all(struct http1_message *m, const uint8_t *buf, const char *name)
{
	for (int i = http1_header_find(m, buf, name, 0); i >= 0; i = http1_header_find(m, buf, name, (unsigned)i + 1))
		http1_header_remove(m, (unsigned)i);
}

static bool host_span_to(const uint8_t *buf, struct http1_span s, char *out, size_t cap)
{
	if (s.len >= cap)
		return false;
	memcpy(out, buf + s.off, s.len);
	out[s.len] = 0;
	return true;
}

/* The first request of the explicit port: CONNECT, or an absolute-form request. */
static bool explicit_connect(struct px_conn *c, struct http1_message *m, const uint8_t *buf,
			     size_t avail)
{
	struct policy_verdict v;
	char raw[HTTP1_HOST_MAX + 1];
	uint16_t port = m->authority.port;

	if (!host_span_to(buf, m->authority.host, raw, sizeof(raw)) || !port) {
		deny_request(c, "proxy.connect_denied", 400, "bad_authority", NULL, NULL);
		return true;
	}
	snprintf(c->path, sizeof(c->path), "%s:%u", raw, port);
	policy_check_host(c->pol, raw, strlen(raw), port, &v);
	snprintf(c->conn_host, sizeof(c->conn_host), "%s", v.host[0] ? v.host : raw);
	c->conn_port = port;
	if (v.reason != POLICY_OK) {
		/* Denied names are never resolved. */
		deny_request(c, "proxy.connect_denied", 403, policy_reason_name(v.reason), c->conn_host, NULL);
		return true;
	}
	if (m->host_mismatch) {
		deny_request(c, "proxy.authority_mismatch", 400, "authority_mismatch", c->conn_host, NULL);
		return true;
	}
	if (avail > m->header_len) {
		/* Bytes before our 200 would bypass the tunnel classification (which peeks). */
		deny_request(c, "proxy.connect_denied", 400, "connect_early_data", c->conn_host, NULL);
		return true;
	}
	c->cl.in.start = c->cl.in.end = 0;
	c->mode = v.mode;
	snprintf(c->up_host, sizeof(c->up_host), "%s", v.host);
	c->up_port = port;
	c->phase = PH_CONNECT_WAIT;
	px_up_begin(c);
	return true;
}

/* Request headers complete: route, check, edit, queue. */
static bool on_request(struct px_conn *c, const uint8_t *buf)
{
	struct http1_message *m = &c->req.msg;
	const struct proxy_hooks *h = proxy_hooks_get();
	char raw[HTTP1_HOST_MAX + 1];
	struct policy_verdict v;
	uint16_t port = 0;
	bool explicit_route = c->explicit_port && !c->agent_tls && c->conn_port == 0;

	c->method = http1_method_name(m->method);
	c->status = 0;
	c->t_start_ms = px_now_ms();
	c->bytes_in = m->header_len;
	c->bytes_out = 0;
	c->hook_blocked = false;
	memset(&c->blk, 0, sizeof(c->blk));
	snprintf(c->path, sizeof(c->path), "%.*s", (int)(m->target.len > 256 ? 256 : m->target.len),
		 (const char *)buf + m->target.off);

	if (m->method == HTTP1_METHOD_CONNECT) {
		if (c->phase == PH_EXPLICIT)
			return explicit_connect(c, m, buf, c->cl.in.end - c->cl.in.start);
		deny_request(c, "proxy.bad_request", 400, "connect_in_tunnel", c->conn_host, NULL);
		return true;
	}
	c->phase = PH_HTTP;
	if (explicit_route && m->form != HTTP1_FORM_ABSOLUTE) {
		deny_request(c, "proxy.bad_request", 400, "origin_form_on_proxy", NULL, NULL);
		return true;
	}
	/* RFC 9112 3.2.2: route on the target, and refuse a Host that names something else. */
	if (m->form == HTTP1_FORM_ABSOLUTE) {
		if (!host_span_to(buf, m->authority.host, raw, sizeof(raw))) {
			deny_request(c, "proxy.bad_request", 400, "bad_authority", NULL, NULL);
			return true;
		}
		port = m->authority.port ? m->authority.port
					 : (m->scheme == HTTP1_SCHEME_HTTPS ? 443 : 80);
		if (m->host_mismatch) {
			policy_check_host(c->pol, raw, strlen(raw), port, &v);
			deny_request(c, "proxy.authority_mismatch", 400, "authority_mismatch",
				     v.host[0] ? v.host : raw, NULL);
			return true;
		}
	} else if (m->has_host) {
		if (!host_span_to(buf, m->host.host, raw, sizeof(raw))) {
			deny_request(c, "proxy.bad_request", 400, "bad_host", NULL, NULL);
			return true;
		}
		port = m->host.port;
	} else if (c->agent_tls && c->conn_host[0]) {
		/* HTTP/1.0 without Host inside TLS: the SNI names the host. */
		snprintf(raw, sizeof(raw), "%s", c->conn_host);
	} else {
		/* No "fall back to the original destination": that is IP allowlisting again. */
		deny_request(c, "proxy.request", 400, "missing_host", NULL, NULL);
		return true;
	}
	if (!explicit_route) {
		uint16_t conn_port = c->conn_port ? c->conn_port : (c->has_orig ? c->orig.dport : 0);

		if (!port)
			port = conn_port;
		policy_check_host(c->pol, raw, strlen(raw), port, &v);
		if ((c->conn_host[0] && strcmp(v.host, c->conn_host)) || port != conn_port) {
			snprintf(c->up_host, sizeof(c->up_host), "%s", c->conn_host);
			deny_request(c, "proxy.sni_host_mismatch", 421,
				     c->agent_tls ? "sni_host_mismatch" : "host_changed",
				     v.host[0] ? v.host : raw, NULL);
			return true;
		}
	} else {
		policy_check_host(c->pol, raw, strlen(raw), port, &v);
	}
	if (v.reason != POLICY_OK) {
		deny_request(c, "proxy.request", 403, policy_reason_name(v.reason), v.host[0] ? v.host : raw,
			     NULL);
		return true;
	}

	/* Bind the connection and pick the upstream. */
	if (explicit_route) {
		bool tls = m->scheme == HTTP1_SCHEME_HTTPS;

		if (c->up_state != UP_NONE &&
		    (strcmp(c->up_host, v.host) || c->up_port != port || c->up_tls != tls))
			px_up_reset(c);
		if (c->up_state == UP_NONE) {
			snprintf(c->up_host, sizeof(c->up_host), "%s", v.host);
			c->up_port = port;
			c->up_tls = tls;
			c->up_addr_known = false;
		}
	} else if (!c->conn_host[0]) {
		/* Transparent plain HTTP: the first Host binds the connection. */
		const char *why = NULL;
		enum policy_reason r;

		snprintf(c->conn_host, sizeof(c->conn_host), "%s", v.host);
		c->conn_port = port;
		snprintf(c->up_host, sizeof(c->up_host), "%s", v.host);
		c->up_port = port;
		r = px_check_orig_dst(c, &c->orig.dst, true, &why);
		if (r != POLICY_OK) {
			deny_request(c, r == POLICY_DST_PRIVATE || r == POLICY_DST_GATEWAY
						? "proxy.dst_private_denied" : "proxy.request",
				     403, why ? why : policy_reason_name(r), v.host, NULL);
			return true;
		}
		c->up_addr = c->orig.dst;
		c->up_addr_known = true;
		c->up_tls = false;
		if (c->up_state == UP_NONE)
			c->up_state = UP_RESOLVED;
	} else if (c->up_state == UP_NONE && c->up_addr_known) {
		c->up_state = UP_RESOLVED; /* a keep-alive upstream closed: dial the same address */
	}

	/* Edits: no h2c and no unknown upgrades; proxy-only fields stay here; origin-form upstream. */
	c->req_ws = (m->upgrade & HTTP1_UPGRADE_WEBSOCKET) && m->conn_upgrade;
	if (c->req_ws)
		px_ws_prepare_request(m, buf);
	if (m->upgrade & (HTTP1_UPGRADE_H2C | HTTP1_UPGRADE_OTHER))
		remove_header_all(m, buf, "Upgrade");
	if (m->has_http2_settings)
		remove_header_all(m, buf, "HTTP2-Settings");
	remove_header_all(m, buf, "Proxy-Connection");
	remove_header_all(m, buf, "Proxy-Authorization");
	if (m->form == HTTP1_FORM_ABSOLUTE) {
		if (m->path.len)
			http1_set_target(m, (const char *)buf + m->path.off, m->path.len);
		else
			http1_set_target(m, "/", 1);
		if (!m->has_host)
			http1_header_add(m, "Host", c->up_host);
	}
	if (h && h->on_request_headers) {
		c->info = (struct proxy_msg_info){
			.cage = px.cage, .host = c->up_host, .port = c->up_port, .tls = c->agent_tls,
			.upstream_tls = c->up_tls,
			.mode = "inspect", .pid = c->has_orig ? c->orig.pid : 0,
			.comm = c->has_orig ? c->orig.comm : NULL,
		};
		if (h->on_request_headers(h->ctx, &c->txn, &c->info, m, buf, &c->blk) == PROXY_BLOCK) {
			deny_hook(c);
			return true;
		}
	}
	c->req_filter = c->req_chunked = false;
	if (h && h->body_mode && h->filter_body && c->txn &&
	    (m->framing == HTTP1_BODY_LENGTH || m->framing == HTTP1_BODY_CHUNKED)) {
		enum proxy_body_mode bm = h->body_mode(h->ctx, c->txn, false);

		c->req_filter = bm != PROXY_BODY_PASS;
		if (c->req_filter)
			reframe(m, buf, bm == PROXY_BODY_RESIZE, false, &c->req_chunked, NULL);
	}
	if (!serialize_to(&c->up.out, m, buf)) {
		deny_request(c, "proxy.bad_request", 431, "headers_too_big", c->up_host, NULL);
		return true;
	}
	c->req_keep_alive = m->keep_alive;
	c->cl.in.start += m->header_len;
	c->cl.fwd = 0;
	c->rq = RQ_BODY;
	c->header_deadline_ms = 0;
	http1_set_request_method(&c->resp, m->method);
	http1_reset(&c->resp);
	c->rs = RS_HEADERS;
	if (c->up_state == UP_RESOLVED || c->up_state == UP_NONE)
		px_up_begin(c);
	return true;
}

static bool request_headers(struct px_conn *c)
{
	struct px_buf *b = &c->cl.in;
	size_t avail = b->end - b->start, consumed = 0;
	int r;

	/* Previous response still going out: pipelined bytes wait in the buffer. */
	if (c->rs != RS_IDLE || c->up.fwd || c->cl.out.end > c->cl.out.start || c->audit_due)
		return false;
	if (!avail) {
		if (c->cl.rd_eof) {
			c->phase = PH_CLOSING;
			return true;
		}
		return false;
	}
	if (!c->header_deadline_ms)
		c->header_deadline_ms = px_now_ms() + PX_HEADER_TIMEOUT_MS;
	if (!c->method && !looks_like_request(b->data + b->start, avail)) {
		struct px_audit a = { .event = "proxy.protocol_unrecognized", .decision = "blocked",
				      .reason = "protocol_unrecognized", .host = c->conn_host,
				      .port = c->conn_port, .mode = "inspect" };

		c->audited = true;
		px_audit(c, &a);
		c->phase = PH_CLOSING;
		return true;
	}
	r = http1_feed(&c->req, b->data + b->start, avail, &consumed);
	if (r == HTTP1_NEED_MORE) {
		if (c->cl.rd_eof) {
			deny_request(c, "proxy.bad_request", 400, "truncated", c->conn_host, NULL);
			return true;
		}
		return false;
	}
	if (r < 0) {
		int status = http1_error_status(r);

		if (r == HTTP1_E_H2_PREFACE)
			deny_request(c, "proxy.bad_request", 400, "h2_prior_knowledge", c->conn_host, NULL);
		else
			deny_request(c, status == 431 ? "limit.headers_too_big" : "proxy.bad_request",
				     status ? status : 400, http1_error_name(r), c->conn_host, NULL);
		return true;
	}
	return on_request(c, b->data + b->start);
}

static bool request_body(struct px_conn *c)
{
	struct px_buf *b = &c->cl.in;
	size_t avail = b->end - b->start - c->cl.fwd, consumed = 0;
	int r;

	/* A filtered body is copied into up.out: let upstream take some before reading more. */
	if (c->req_filter && c->up.out.end - c->up.out.start > 4 * PX_BUF_SIZE)
		return false;
	r = http1_feed(&c->req, b->data + b->start + c->cl.fwd, avail, &consumed);
	if (c->req_filter) {
		b->start += consumed; /* the filter's output replaced these bytes */
		if (b->start == b->end)
			b->start = b->end = 0;
	} else {
		c->cl.fwd += consumed;
	}
	if (r == HTTP1_DONE) {
		if (c->req_filter && !filter_finish(c, false)) {
			deny_hook(c);
			return true;
		}
		c->rq = RQ_WAIT;
		return true;
	}
	if (r < 0) {
		if (c->hook_blocked)
			deny_hook(c);
		else
			deny_request(c, "proxy.bad_request", 400, http1_error_name(r), c->up_host, NULL);
		return true;
	}
	if (c->cl.rd_eof && c->cl.fwd == b->end - b->start) {
		deny_request(c, "proxy.bad_request", 400, "truncated", c->up_host, NULL);
		return true;
	}
	return consumed > 0;
}

static void response_done(struct px_conn *c)
{
	const struct proxy_hooks *h = proxy_hooks_get();

	/* The audit line waits until the agent has been given the last byte (px_http_step):
	 * up to a buffer of body is still in up.in or cl.out here. */
	c->audit_due = true;
	if (c->txn && h && h->on_end)
		h->on_end(h->ctx, c->txn, true);
	c->txn = NULL;
	c->rs = RS_IDLE;
	if (c->rq != RQ_WAIT || !c->req_keep_alive || !c->resp.msg.keep_alive ||
	    c->resp.msg.framing == HTTP1_BODY_UNTIL_CLOSE) {
		c->close_after_response = true;
		return;
	}
	http1_reset(&c->req);
	c->rq = RQ_HEADERS;
	/* An idle keep-alive connection is bound by the idle timeout; the header timeout starts
	 * with the first byte of the next request (request_headers). */
	c->header_deadline_ms = 0;
}

static void upstream_broken(struct px_conn *c, const char *reason)
{
	if (c->rs == RS_HEADERS && c->cl.out.end == c->cl.out.start) {
		deny_request(c, "proxy.upstream_failed", 502, reason, c->up_host, c->up_error[0] ? c->up_error : NULL);
	} else {
		c->status = c->status ? c->status : 502;
		audit_request(c, "proxy.upstream_failed", "blocked", reason, NULL);
		c->phase = PH_CLOSING;
		c->cl.out.start = c->cl.out.end = 0;
	}
}

static bool response(struct px_conn *c)
{
	struct px_buf *b = &c->up.in;
	size_t avail = b->end - b->start, consumed = 0;
	int r;

	if (c->rs == RS_IDLE) {
		/*
		 * The previous response's tail is still going to the agent (a slow reader): those
		 * bytes are not unsolicited, and an upstream EOF must not drop them. Judge what
		 * comes after once they are delivered.
		 */
		if (c->up.fwd || c->cl.out.end > c->cl.out.start)
			return false;
		if (avail) {
			upstream_broken(c, "upstream_unsolicited");
			return true;
		}
		if (c->up.rd_eof && c->up_state == UP_READY) {
			px_up_reset(c); /* keep-alive upstream closed; the next request dials again */
			return true;
		}
		return false;
	}
	if (c->rs == RS_HEADERS) {
		const struct proxy_hooks *h = proxy_hooks_get();
		struct http1_message *m = &c->resp.msg;

		if (!avail && !c->up.rd_eof)
			return false;
		r = http1_feed(&c->resp, b->data + b->start, avail, &consumed);
		if (r == HTTP1_NEED_MORE) {
			if (c->up.rd_eof) {
				upstream_broken(c, "upstream_truncated");
				return true;
			}
			return false;
		}
		if (r < 0) {
			upstream_broken(c, "upstream_bad_response");
			return true;
		}
		if (h && h->on_response_headers &&
		    h->on_response_headers(h->ctx, c->txn, m, b->data + b->start, &c->blk) == PROXY_BLOCK) {
			deny_hook(c);
			return true;
		}
		c->resp_filter = c->resp_chunked = false;
		if (h && h->body_mode && h->filter_body && c->txn && !m->interim && m->status != 101 &&
		    m->framing != HTTP1_BODY_NONE && m->framing != HTTP1_BODY_TUNNEL) {
			enum proxy_body_mode bm = h->body_mode(h->ctx, c->txn, true);

			c->resp_filter = bm != PROXY_BODY_PASS;
			if (c->resp_filter)
				reframe(m, b->data + b->start, bm == PROXY_BODY_RESIZE,
					c->req.msg.version_minor == 0, &c->resp_chunked,
					&c->close_after_response);
		}
		if (m->status == 101 && (!c->req_ws || !(m->upgrade & HTTP1_UPGRADE_WEBSOCKET) ||
					 !px_ws_response_ok(m, b->data + b->start))) {
			upstream_broken(c, "unexpected_upgrade");
			return true;
		}
		if (!serialize_to(&c->cl.out, m, b->data + b->start)) {
			upstream_broken(c, "upstream_headers_too_big");
			return true;
		}
		b->start += m->header_len;
		c->status = m->status;
		if (m->status == 101) {
			/* From here on frames, both ways through the hooks (ws_relay.c). */
			if (px_ws_begin(c)) {
				upstream_broken(c, "ws_upgrade_early");
				return true;
			}
			audit_request(c, "proxy.request", "allowed", "websocket", NULL);
			return true;
		}
		if (m->interim) {
			http1_reset(&c->resp);
			return true;
		}
		c->rs = RS_BODY;
		avail = b->end - b->start;
	}
	/* RS_BODY; a filtered body is copied into cl.out: let the agent take some first. */
	if (c->resp_filter && c->cl.out.end - c->cl.out.start > 4 * PX_BUF_SIZE)
		return false;
	r = http1_feed(&c->resp, b->data + b->start + c->up.fwd, avail - c->up.fwd, &consumed);
	if (c->resp_filter) {
		b->start += consumed;
		if (b->start == b->end)
			b->start = b->end = 0;
	} else {
		c->up.fwd += consumed;
	}
	if (r == HTTP1_NEED_MORE && c->up.rd_eof && c->up.fwd == b->end - b->start)
		r = http1_finish(&c->resp);
	if (r == HTTP1_DONE) {
		if (c->resp_filter && !filter_finish(c, true)) {
			c->hook_blocked = true;
			r = HTTP1_E_ABORTED;
		} else {
			response_done(c);
			return true;
		}
	}
	if (r < 0) {
		if (c->hook_blocked) {
			audit_request(c, "proxy.request", "blocked",
				      c->blk.reason[0] ? c->blk.reason : "hook", NULL);
			c->phase = PH_CLOSING;
			c->cl.out.start = c->cl.out.end = 0;
		} else {
			upstream_broken(c, r == HTTP1_E_TRUNCATED ? "upstream_truncated"
							   : "upstream_bad_response");
		}
		return true;
	}
	return consumed > 0;
}

bool px_http_step(struct px_conn *c)
{
	bool progress = false;

	if (c->ws)
		return px_ws_step(c);
#define STILL_HTTP() (c->phase == PH_HTTP)
	if (c->phase == PH_CONNECT_WAIT) {
		progress |= px_up_step(c);
		if (c->up_state == UP_FAILED) {
			deny_request(c, "proxy.upstream_failed", 502, "resolve_failed", c->conn_host,
				     c->up_error[0] ? c->up_error : NULL);
			return true;
		}
		if (c->up_state == UP_RESOLVED && c->cl.out.end == c->cl.out.start && !c->audited) {
			px_reply_raw(c, "HTTP/1.1 200 Connection established\r\n\r\n");
			c->audited = true; /* the inner requests (or the passthrough) are audited */
		}
		progress |= px_side_flush(c, &c->cl, NULL);
		if (c->audited && c->cl.out.end == c->cl.out.start) {
			c->audited = false;
			c->header_deadline_ms = px_now_ms() + PX_HEADER_TIMEOUT_MS;
			c->phase = PH_TUNNEL_CLASSIFY;
			return true;
		}
		return progress;
	}
	progress |= px_side_fill(c, &c->cl, c->rq == RQ_HEADERS ? PX_HDR_MAX + 1 : PX_BUF_SIZE);
	if (c->rq == RQ_HEADERS)
		progress |= request_headers(c);
	if (c->phase == PH_EXPLICIT)
		return progress; /* the first request is not complete yet */
	if (c->phase != PH_HTTP)
		return true;
	if (c->rq == RQ_BODY)
		progress |= request_body(c);
	if (!STILL_HTTP())
		return true;
	progress |= px_up_step(c);
	if (c->up_state == UP_FAILED && c->rs != RS_IDLE) {
		upstream_broken(c, "upstream_connect_failed");
		return true;
	}
	if (c->up_state == UP_READY) {
		progress |= px_side_flush(c, &c->up, &c->cl);
		if (c->up.wr_shut && c->rs != RS_IDLE && c->rq != RQ_WAIT) {
			upstream_broken(c, "upstream_reset");
			return true;
		}
		progress |= px_side_fill(c, &c->up, c->rs == RS_HEADERS ? PX_HDR_MAX + 1 : PX_BUF_SIZE);
	}
	progress |= response(c);
	if (!STILL_HTTP())
		return true;
	progress |= px_side_flush(c, &c->cl, &c->up);
	if (c->audit_due && !c->up.fwd && c->cl.out.end == c->cl.out.start)
		px_http_audit_due(c);
	if (c->cl.wr_shut) {
		c->phase = PH_CLOSING;
		return true;
	}
	if (c->close_after_response && c->rs == RS_IDLE && !c->up.fwd &&
	    c->cl.out.end == c->cl.out.start) {
		c->phase = PH_CLOSING;
		return true;
	}
	return progress;
#undef STILL_HTTP
}
