// SPDX-License-Identifier: GPL-2.0-only
/*
 * Strict HTTP/1.1 parsing. Bytes are examined one at a time by a small state machine, so
 * every check fires at a fixed position in the stream: however the bytes are split across
 * reads, the parser reaches the same verdict at the same byte. Field lines in the header
 * block and in the chunked trailer section go through the same machine.
 */
#include "proxy/http1.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

enum http1_state {
	ST_LEADING,       /* requests: empty lines before the request line (RFC 9112 2.2) */
	ST_LEADING_LF,
	ST_METHOD,
	ST_TARGET,
	ST_VERSION,
	ST_STATUS_LINE,
	ST_START_LF,
	ST_FIELD_START,   /* field-line machine, shared by headers and trailers */
	ST_FIELD_NAME,
	ST_FIELD_OWS,
	ST_FIELD_VALUE,
	ST_FIELD_LF,
	ST_SECTION_LF,
	ST_BODY_LENGTH,
	ST_BODY_UNTIL_CLOSE,
	ST_CHUNK_SIZE,
	ST_CHUNK_SIZE_WS,
	ST_CHUNK_EXT,
	ST_CHUNK_SIZE_LF,
	ST_CHUNK_DATA,
	ST_CHUNK_DATA_CR,
	ST_CHUNK_DATA_LF,
	ST_DONE,
};

/* What the field-line machine reports after a byte. */
enum field_step { FIELD_MORE, FIELD_LINE, FIELD_SECTION_END };

#define HTTP1_MAX_CONTENT_LENGTH ((uint64_t)INT64_MAX)
#define HTTP1_MAX_CHUNK_SIZE ((uint64_t)1 << 60)
#define HTTP1_MAX_HEADER_BYTES_CAP (16u * 1024 * 1024)

static bool is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

static bool is_field_vchar(uint8_t c)
{
	return (c > 0x20 && c < 0x7f) || c >= 0x80;
}

static bool is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static bool mem_caseeq(const uint8_t *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (ascii_lower(a[i]) != ascii_lower((uint8_t)b[i]))
			return false;
	return true;
}

bool http1_span_eq(const uint8_t *buf, struct http1_span s, const char *str)
{
	return s.len == strlen(str) && !memcmp(buf + s.off, str, s.len);
}

bool http1_span_caseeq(const uint8_t *buf, struct http1_span s, const char *str)
{
	return mem_caseeq(buf + s.off, s.len, str, strlen(str));
}

static struct http1_span span(uint32_t off, uint32_t len)
{
	return (struct http1_span){ .off = off, .len = len };
}

void http1_init(struct http1_parser *p, enum http1_kind kind, const struct http1_limits *limits,
		http1_body_fn on_body, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	if (limits)
		p->limits = *limits;
	if (!p->limits.max_header_bytes)
		p->limits.max_header_bytes = HTTP1_DEFAULT_MAX_HEADER_BYTES;
	if (p->limits.max_header_bytes > HTTP1_MAX_HEADER_BYTES_CAP)
		p->limits.max_header_bytes = HTTP1_MAX_HEADER_BYTES_CAP;
	if (!p->limits.max_headers)
		p->limits.max_headers = HTTP1_DEFAULT_MAX_HEADERS;
	if (p->limits.max_headers > HTTP1_HEADER_SLOTS)
		p->limits.max_headers = HTTP1_HEADER_SLOTS;
	if (!p->limits.max_chunk_line)
		p->limits.max_chunk_line = HTTP1_DEFAULT_MAX_CHUNK_LINE;
	p->on_body = on_body;
	p->ctx = ctx;
	p->request_method = HTTP1_METHOD_GET;
	http1_reset(p);
}

void http1_reset(struct http1_parser *p)
{
	/* The message is large; clear only what a parse reads before writing. */
	memset(&p->msg, 0, offsetof(struct http1_message, headers));
	p->msg.n_headers = 0;
	p->msg.n_trailers = 0;
	p->msg.n_edits = 0;
	p->msg.new_target = NULL;
	p->msg.new_target_len = 0;
	p->msg.host_index = -1;
	p->state = p->kind == HTTP1_REQUEST ? ST_LEADING : ST_STATUS_LINE;
	p->error = 0;
	p->scan = 0;
	p->line_start = 0;
	p->name_end = p->value_start = p->value_end = 0;
	p->n_fields = 0;
	p->remaining = 0;
	p->section_len = 0;
	p->have_content_length = false;
	p->chunk_size_digits = false;
}

void http1_set_request_method(struct http1_parser *p, enum http1_method method)
{
	p->request_method = method;
}

static int fail(struct http1_parser *p, int err)
{
	p->error = err;
	return err;
}

static enum http1_method method_id(const uint8_t *m, size_t len)
{
	static const struct {
		const char *name;
		enum http1_method id;
	} methods[] = {
		{ "GET", HTTP1_METHOD_GET },         { "HEAD", HTTP1_METHOD_HEAD },
		{ "POST", HTTP1_METHOD_POST },       { "PUT", HTTP1_METHOD_PUT },
		{ "DELETE", HTTP1_METHOD_DELETE },   { "CONNECT", HTTP1_METHOD_CONNECT },
		{ "OPTIONS", HTTP1_METHOD_OPTIONS }, { "TRACE", HTTP1_METHOD_TRACE },
		{ "PATCH", HTTP1_METHOD_PATCH },
	};

	/* Methods are case-sensitive (RFC 9110 9.1): "get" is some other method. */
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == len && !memcmp(methods[i].name, m, len))
			return methods[i].id;
	return HTTP1_METHOD_OTHER;
}

const char *http1_method_name(enum http1_method m)
{
	static const char *const names[] = {
		[HTTP1_METHOD_OTHER] = "other",   [HTTP1_METHOD_GET] = "GET",
		[HTTP1_METHOD_HEAD] = "HEAD",     [HTTP1_METHOD_POST] = "POST",
		[HTTP1_METHOD_PUT] = "PUT",       [HTTP1_METHOD_DELETE] = "DELETE",
		[HTTP1_METHOD_CONNECT] = "CONNECT", [HTTP1_METHOD_OPTIONS] = "OPTIONS",
		[HTTP1_METHOD_TRACE] = "TRACE",   [HTTP1_METHOD_PATCH] = "PATCH",
	};

	if ((unsigned)m >= sizeof(names) / sizeof(names[0]))
		return "other";
	return names[m];
}

/*
 * host[:port] with hostile input in mind (URL parser differentials): no userinfo, no
 * backslash, no percent-encoding, no '#', '?' or '/', a DNS-ish reg-name or a bracketed IPv6
 * literal, and a port of 1-65535 written without leading zeros. The host is returned raw.
 */
static int parse_authority(const uint8_t *buf, uint32_t off, uint32_t len, bool require_port,
			   struct http1_authority *a)
{
	const uint8_t *s = buf + off;
	uint32_t host_end, port_start;

	memset(a, 0, sizeof(*a));
	if (len == 0)
		return -1;
	for (uint32_t i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || strchr("@\\%#?/", s[i]))
			return -1;
	if (s[0] == '[') {
		char text[INET6_ADDRSTRLEN];
		struct in6_addr addr;
		const uint8_t *close = memchr(s, ']', len);
		uint32_t inner;

		if (!close)
			return -1;
		inner = (uint32_t)(close - s) - 1;
		if (inner == 0 || inner >= sizeof(text))
			return -1;
		memcpy(text, s + 1, inner);
		text[inner] = '\0';
		/* inet_pton also refuses zone ids and IPvFuture, which is what we want. */
		if (inet_pton(AF_INET6, text, &addr) != 1)
			return -1;
		a->host = span(off + 1, inner);
		a->ipv6 = true;
		host_end = inner + 2;
		if (host_end < len && s[host_end] != ':')
			return -1;
	} else {
		for (host_end = 0; host_end < len && s[host_end] != ':'; host_end++) {
			uint8_t c = s[host_end];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
				return -1;
		}
		if (host_end == 0 || host_end > HTTP1_HOST_MAX)
			return -1;
		a->host = span(off, host_end);
	}
	if (host_end == len)
		return require_port ? -1 : 0;
	port_start = host_end + 1;
	if (len - port_start < 1 || len - port_start > 5 || s[port_start] == '0')
		return -1;
	uint32_t port = 0;

	for (uint32_t i = port_start; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		port = port * 10 + (uint32_t)(s[i] - '0');
	}
	if (port > 65535)
		return -1;
	a->port = (uint16_t)port;
	return 0;
}

static int parse_request_target(struct http1_parser *p, const uint8_t *buf)
{
	struct http1_message *m = &p->msg;
	const uint8_t *t = buf + m->target.off;
	uint32_t len = m->target.len, skip, auth_len;

	if (memchr(t, '#', len))
		return HTTP1_E_BAD_TARGET;
	if (m->method == HTTP1_METHOD_CONNECT) {
		m->form = HTTP1_FORM_AUTHORITY;
		if (parse_authority(buf, m->target.off, len, true, &m->authority))
			return t[0] == '/' ? HTTP1_E_BAD_TARGET : HTTP1_E_BAD_AUTHORITY;
		return 0;
	}
	if (len == 1 && t[0] == '*') {
		m->form = HTTP1_FORM_ASTERISK;
		return m->method == HTTP1_METHOD_OPTIONS ? 0 : HTTP1_E_BAD_TARGET;
	}
	if (t[0] == '/') {
		m->form = HTTP1_FORM_ORIGIN;
		m->path = m->target;
		return 0;
	}
	m->form = HTTP1_FORM_ABSOLUTE;
	if (mem_caseeq(t, len < 7 ? len : 7, "http://", 7)) {
		m->scheme = HTTP1_SCHEME_HTTP;
		skip = 7;
	} else if (mem_caseeq(t, len < 8 ? len : 8, "https://", 8)) {
		m->scheme = HTTP1_SCHEME_HTTPS;
		skip = 8;
	} else {
		return HTTP1_E_BAD_TARGET;
	}
	for (auth_len = 0; skip + auth_len < len; auth_len++)
		if (t[skip + auth_len] == '/' || t[skip + auth_len] == '?')
			break;
	if (parse_authority(buf, m->target.off + skip, auth_len, false, &m->authority))
		return HTTP1_E_BAD_AUTHORITY;
	m->path = span(m->target.off + skip + auth_len, len - skip - auth_len);
	return 0;
}

static int parse_request_line(struct http1_parser *p, const uint8_t *buf, uint32_t version_off,
			      uint32_t line_end)
{
	struct http1_message *m = &p->msg;
	struct http1_span version = span(version_off, line_end - version_off);

	m->method = method_id(buf + m->method_span.off, m->method_span.len);
	if (http1_span_eq(buf, m->method_span, "PRI") && http1_span_eq(buf, m->target, "*") &&
	    http1_span_eq(buf, version, "HTTP/2.0"))
		return HTTP1_E_H2_PREFACE;
	if (http1_span_eq(buf, version, "HTTP/1.1"))
		m->version_minor = 1;
	else if (http1_span_eq(buf, version, "HTTP/1.0"))
		m->version_minor = 0;
	else
		return HTTP1_E_BAD_VERSION;
	return parse_request_target(p, buf);
}

static int parse_status_line(struct http1_parser *p, const uint8_t *buf, uint32_t line_end)
{
	struct http1_message *m = &p->msg;
	const uint8_t *s = buf + m->start_line_off;
	uint32_t len = line_end - m->start_line_off;

	if (len < 12 || memcmp(s, "HTTP/1.", 7) || (s[7] != '0' && s[7] != '1') || s[8] != ' ')
		return len >= 9 && !memcmp(s, "HTTP/", 5) && s[8] == ' ' ? HTTP1_E_BAD_VERSION
									 : HTTP1_E_BAD_STATUS;
	m->version_minor = (uint8_t)(s[7] - '0');
	for (int i = 9; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return HTTP1_E_BAD_STATUS;
	m->status = (uint16_t)((s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0'));
	if (m->status < 100 || m->status > 599)
		return HTTP1_E_BAD_STATUS;
	/* "HTTP/1.1 200" without reason is common enough to accept; anything else needs SP. */
	if (len > 12 && s[12] != ' ')
		return HTTP1_E_BAD_STATUS;
	m->reason = len > 12 ? span(m->start_line_off + 13, len - 13) : span(line_end, 0);
	return 0;
}

/* Calls fn on each comma-separated element of a field value, OWS trimmed. */
static int for_each_element(const uint8_t *v, uint32_t len, int (*fn)(void *, const uint8_t *, uint32_t),
			    void *arg)
{
	uint32_t start = 0;

	for (uint32_t i = 0; i <= len; i++) {
		if (i < len && v[i] != ',')
			continue;
		uint32_t b = start, e = i;

		while (b < e && is_ows(v[b]))
			b++;
		while (e > b && is_ows(v[e - 1]))
			e--;
		int err = fn(arg, v + b, e - b);

		if (err)
			return err;
		start = i + 1;
	}
	return 0;
}

static int connection_token(void *arg, const uint8_t *t, uint32_t len)
{
	struct http1_message *m = arg;

	if (mem_caseeq(t, len, "close", 5))
		m->conn_close = true;
	else if (mem_caseeq(t, len, "keep-alive", 10))
		m->conn_keep_alive = true;
	else if (mem_caseeq(t, len, "upgrade", 7))
		m->conn_upgrade = true;
	return 0;
}

static int upgrade_token(void *arg, const uint8_t *t, uint32_t len)
{
	struct http1_message *m = arg;
	const uint8_t *slash = memchr(t, '/', len);
	uint32_t name_len = slash ? (uint32_t)(slash - t) : len;

	if (len == 0)
		return 0;
	if (mem_caseeq(t, name_len, "websocket", 9))
		m->upgrade |= HTTP1_UPGRADE_WEBSOCKET;
	else if (mem_caseeq(t, name_len, "h2c", 3))
		m->upgrade |= HTTP1_UPGRADE_H2C;
	else
		m->upgrade |= HTTP1_UPGRADE_OTHER;
	return 0;
}

/*
 * Transfer codings of a response. chunked must be the last coding of all TE lines; other
 * codings stay in the body (transfer_coded). Requests are stricter, see on_transfer_encoding().
 */
static int response_coding(void *arg, const uint8_t *t, uint32_t len)
{
	struct http1_parser *p = arg;

	if (len == 0)
		return HTTP1_E_BAD_TRANSFER_ENCODING;
	for (uint32_t i = 0; i < len; i++)
		if (!is_tchar(t[i]))
			return HTTP1_E_BAD_TRANSFER_ENCODING;
	if (p->msg.framing == HTTP1_BODY_CHUNKED)
		return HTTP1_E_BAD_TRANSFER_ENCODING;
	if (mem_caseeq(t, len, "chunked", 7)) {
		p->msg.framing = HTTP1_BODY_CHUNKED;
	} else {
		p->msg.transfer_coded = true;
		p->msg.framing = HTTP1_BODY_UNTIL_CLOSE;
	}
	return 0;
}

static int on_transfer_encoding(struct http1_parser *p, const uint8_t *v, uint32_t len)
{
	struct http1_message *m = &p->msg;

	/* RFC 9112 6.1: TE in HTTP/1.0 means the framing cannot be trusted. */
	if (m->version_minor == 0)
		return HTTP1_E_TE_IN_HTTP10;
	if (p->kind == HTTP1_REQUEST) {
		/* Exactly one coding, chunked: "chunked, identity" and friends are smuggling tools. */
		if (m->has_transfer_encoding || !mem_caseeq(v, len, "chunked", 7))
			return HTTP1_E_BAD_TRANSFER_ENCODING;
		m->has_transfer_encoding = true;
		m->framing = HTTP1_BODY_CHUNKED;
		return 0;
	}
	m->has_transfer_encoding = true;
	return for_each_element(v, len, response_coding, p);
}

static int on_content_length(struct http1_parser *p, const uint8_t *v, uint32_t len)
{
	uint64_t n = 0;

	if (p->have_content_length)
		return HTTP1_E_DUPLICATE_CONTENT_LENGTH;
	p->have_content_length = true;
	if (len == 0)
		return HTTP1_E_BAD_CONTENT_LENGTH;
	for (uint32_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return HTTP1_E_BAD_CONTENT_LENGTH;
		if (n > (HTTP1_MAX_CONTENT_LENGTH - (uint64_t)(v[i] - '0')) / 10)
			return HTTP1_E_BAD_CONTENT_LENGTH;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	p->msg.content_length = n;
	return 0;
}

/* Semantics of one complete header field line (not trailers). */
static int on_header(struct http1_parser *p, const uint8_t *buf, uint32_t line_end)
{
	struct http1_message *m = &p->msg;
	struct http1_header *h;
	const uint8_t *v;
	uint32_t vlen;

	if (m->n_headers >= p->limits.max_headers)
		return HTTP1_E_TOO_MANY_HEADERS;
	h = &m->headers[m->n_headers];
	h->line_off = p->line_start;
	h->line_len = line_end - p->line_start;
	h->name = span(p->line_start, p->name_end - p->line_start);
	h->value = span(p->value_start, p->value_end - p->value_start);
	m->n_headers++;
	v = buf + h->value.off;
	vlen = h->value.len;

	if (http1_span_caseeq(buf, h->name, "content-length"))
		return on_content_length(p, v, vlen);
	if (http1_span_caseeq(buf, h->name, "transfer-encoding"))
		return on_transfer_encoding(p, v, vlen);
	if (http1_span_caseeq(buf, h->name, "connection"))
		return for_each_element(v, vlen, connection_token, m);
	if (http1_span_caseeq(buf, h->name, "upgrade"))
		return for_each_element(v, vlen, upgrade_token, m);
	if (p->kind != HTTP1_REQUEST)
		return 0;
	if (http1_span_caseeq(buf, h->name, "host")) {
		if (m->has_host)
			return HTTP1_E_DUPLICATE_HOST;
		m->has_host = true;
		m->host_index = (int)(m->n_headers - 1);
		if (parse_authority(buf, h->value.off, vlen, false, &m->host))
			return HTTP1_E_BAD_HOST;
	} else if (http1_span_caseeq(buf, h->name, "expect")) {
		m->expect_continue = mem_caseeq(v, vlen, "100-continue", 12);
	} else if (http1_span_caseeq(buf, h->name, "http2-settings")) {
		m->has_http2_settings = true;
	}
	return 0;
}

static uint16_t default_port(enum http1_scheme scheme)
{
	return scheme == HTTP1_SCHEME_HTTPS ? 443 : scheme == HTTP1_SCHEME_HTTP ? 80 : 0;
}

static bool host_agrees(const struct http1_message *m, const uint8_t *buf)
{
	const struct http1_authority *t = &m->authority, *h = &m->host;
	uint16_t tport = t->port ? t->port : default_port(m->scheme);
	uint16_t hport = h->port ? h->port : default_port(m->scheme);

	if (t->ipv6 != h->ipv6 || !mem_caseeq(buf + t->host.off, t->host.len,
					      (const char *)buf + h->host.off, h->host.len))
		return false;
	/* CONNECT has no scheme: a Host without port does not name a different port. */
	return hport == 0 || tport == hport;
}

static int request_framing(struct http1_parser *p, const uint8_t *buf)
{
	struct http1_message *m = &p->msg;

	if (m->version_minor == 1 && !m->has_host)
		return HTTP1_E_MISSING_HOST;
	if (m->has_host && (m->form == HTTP1_FORM_ABSOLUTE || m->form == HTTP1_FORM_AUTHORITY))
		m->host_mismatch = !host_agrees(m, buf);
	if (m->method == HTTP1_METHOD_CONNECT) {
		if (m->has_transfer_encoding || m->content_length > 0)
			return HTTP1_E_CONNECT_BODY;
		m->framing = HTTP1_BODY_TUNNEL;
		return 0;
	}
	if (m->framing == HTTP1_BODY_CHUNKED)
		return 0;
	m->framing = p->have_content_length ? HTTP1_BODY_LENGTH : HTTP1_BODY_NONE;
	return 0;
}

static void response_framing(struct http1_parser *p)
{
	struct http1_message *m = &p->msg;
	uint16_t s = m->status;

	/* RFC 9112 6.3, in its order. */
	if (s == 101 || (p->request_method == HTTP1_METHOD_CONNECT && s >= 200 && s < 300))
		m->framing = HTTP1_BODY_TUNNEL;
	else if (p->request_method == HTTP1_METHOD_HEAD || s < 200 || s == 204 || s == 304)
		m->framing = HTTP1_BODY_NONE;
	else if (m->has_transfer_encoding)
		return; /* chunked or until close, set by response_coding() */
	else if (p->have_content_length)
		m->framing = HTTP1_BODY_LENGTH;
	else
		m->framing = HTTP1_BODY_UNTIL_CLOSE;
	m->interim = s >= 100 && s < 200 && s != 101;
}

static int headers_complete(struct http1_parser *p, const uint8_t *buf)
{
	struct http1_message *m = &p->msg;
	int err;

	if (p->have_content_length && m->has_transfer_encoding)
		return HTTP1_E_CL_AND_TE;
	if (p->kind == HTTP1_REQUEST) {
		err = request_framing(p, buf);
		if (err)
			return err;
	} else {
		response_framing(p);
	}
	if (m->version_minor == 1)
		m->keep_alive = !m->conn_close;
	else
		m->keep_alive = m->conn_keep_alive && !m->conn_close;
	if (m->framing == HTTP1_BODY_UNTIL_CLOSE || m->framing == HTTP1_BODY_TUNNEL)
		m->keep_alive = false;
	if (m->interim)
		m->keep_alive = true;
	return 0;
}

/* One byte of a field line (header or trailer). pos is the byte's offset in its section. */
static int field_byte(struct http1_parser *p, uint8_t c, uint32_t pos)
{
	switch (p->state) {
	case ST_FIELD_START:
		if (c == '\r') {
			p->state = ST_SECTION_LF;
			return FIELD_MORE;
		}
		if (c == '\n')
			return HTTP1_E_BARE_LF;
		if (is_ows(c))
			return HTTP1_E_OBS_FOLD;
		if (!is_tchar(c))
			return HTTP1_E_BAD_FIELD_NAME;
		p->line_start = pos;
		p->state = ST_FIELD_NAME;
		return FIELD_MORE;
	case ST_FIELD_NAME:
		if (is_tchar(c))
			return FIELD_MORE;
		if (c == ':') {
			p->name_end = pos;
			p->value_start = p->value_end = pos + 1;
			p->state = ST_FIELD_OWS;
			return FIELD_MORE;
		}
		if (is_ows(c))
			return HTTP1_E_SPACE_BEFORE_COLON;
		return c == '\n' ? HTTP1_E_BARE_LF : HTTP1_E_BAD_FIELD_NAME;
	case ST_FIELD_OWS:
	case ST_FIELD_VALUE:
		if (is_ows(c)) {
			if (p->state == ST_FIELD_OWS)
				p->value_start = p->value_end = pos + 1;
			return FIELD_MORE;
		}
		if (c == '\r') {
			p->state = ST_FIELD_LF;
			return FIELD_MORE;
		}
		if (c == '\n')
			return HTTP1_E_BARE_LF;
		if (!is_field_vchar(c))
			return HTTP1_E_BAD_FIELD_VALUE;
		p->value_end = pos + 1;
		p->state = ST_FIELD_VALUE;
		return FIELD_MORE;
	case ST_FIELD_LF:
		if (c != '\n')
			return HTTP1_E_BARE_CR;
		p->state = ST_FIELD_START;
		return FIELD_LINE;
	case ST_SECTION_LF:
		if (c != '\n')
			return HTTP1_E_BARE_CR;
		return FIELD_SECTION_END;
	}
	return HTTP1_E_USAGE;
}

/* One byte of the start line; returns 0, or an error. */
static int start_line_byte(struct http1_parser *p, const uint8_t *buf, uint8_t c, uint32_t pos)
{
	struct http1_message *m = &p->msg;

	switch (p->state) {
	case ST_LEADING:
		if (c == '\r') {
			p->state = ST_LEADING_LF;
			return 0;
		}
		if (c == '\n')
			return HTTP1_E_BARE_LF;
		if (!is_tchar(c))
			return HTTP1_E_BAD_START_LINE;
		m->start_line_off = pos;
		m->method_span.off = pos;
		p->state = ST_METHOD;
		return 0;
	case ST_LEADING_LF:
		if (c != '\n')
			return HTTP1_E_BARE_CR;
		p->state = ST_LEADING;
		return 0;
	case ST_METHOD:
		if (is_tchar(c))
			return 0;
		if (c == ' ') {
			m->method_span.len = pos - m->method_span.off;
			m->target.off = pos + 1;
			p->state = ST_TARGET;
			return 0;
		}
		if (c == '\n')
			return HTTP1_E_BARE_LF;
		return c == '\r' ? HTTP1_E_BAD_START_LINE : HTTP1_E_BAD_METHOD;
	case ST_TARGET:
		if (c > 0x20 && c < 0x7f)
			return 0;
		if (c == ' ') {
			m->target.len = pos - m->target.off;
			if (m->target.len == 0)
				return HTTP1_E_BAD_START_LINE;
			p->value_start = pos + 1; /* version */
			p->state = ST_VERSION;
			return 0;
		}
		if (c == '\n')
			return HTTP1_E_BARE_LF;
		return c == '\r' ? HTTP1_E_BAD_START_LINE : HTTP1_E_BAD_TARGET;
	case ST_VERSION: {
		uint32_t i = pos - p->value_start;

		if (c == '\r') {
			p->state = ST_START_LF;
			return 0;
		}
		if (c == '\n')
			return HTTP1_E_BARE_LF;
		if (c == ' ')
			return HTTP1_E_BAD_START_LINE;
		if (i >= 8 || (i < 5 && c != (uint8_t)"HTTP/"[i]))
			return HTTP1_E_BAD_VERSION;
		return 0;
	}
	case ST_STATUS_LINE: {
		uint32_t i = pos - m->start_line_off;

		if (c == '\r') {
			p->state = ST_START_LF;
			return 0;
		}
		if (c == '\n')
			return HTTP1_E_BARE_LF;
		if (i < 5 && c != (uint8_t)"HTTP/"[i])
			return HTTP1_E_BAD_STATUS;
		if (c != '\t' && !is_field_vchar(c) && c != ' ')
			return HTTP1_E_BAD_STATUS;
		return 0;
	}
	case ST_START_LF: {
		uint32_t line_end = pos - 1;
		int err;

		if (c != '\n')
			return HTTP1_E_BARE_CR;
		m->start_line_len = line_end - m->start_line_off;
		if (p->kind == HTTP1_REQUEST)
			err = parse_request_line(p, buf, p->value_start, line_end);
		else
			err = parse_status_line(p, buf, line_end);
		p->state = ST_FIELD_START;
		return err;
	}
	}
	return HTTP1_E_USAGE;
}

/* Header phase: resumes at p->scan over the block that starts at buf[0]. */
static int feed_header_block(struct http1_parser *p, const uint8_t *buf, size_t len,
			     size_t *consumed)
{
	size_t max = p->limits.max_header_bytes;

	if (len < p->scan)
		return fail(p, HTTP1_E_USAGE);
	for (size_t i = p->scan; i < len; i++) {
		uint32_t pos = (uint32_t)i;
		uint8_t c = buf[i];
		int r;

		if (i >= max)
			return fail(p, HTTP1_E_HEADERS_TOO_BIG);
		p->scan = pos + 1;
		if (p->state < ST_FIELD_START) {
			r = start_line_byte(p, buf, c, pos);
			if (r < 0)
				return fail(p, r);
			continue;
		}
		r = field_byte(p, c, pos);
		if (r < 0)
			return fail(p, r);
		if (r == FIELD_LINE) {
			r = on_header(p, buf, pos + 1);
			if (r < 0)
				return fail(p, r);
		} else if (r == FIELD_SECTION_END) {
			r = headers_complete(p, buf);
			if (r < 0)
				return fail(p, r);
			p->msg.header_len = pos + 1;
			*consumed = pos + 1;
			switch (p->msg.framing) {
			case HTTP1_BODY_LENGTH:
				p->remaining = p->msg.content_length;
				p->state = p->remaining ? ST_BODY_LENGTH : ST_DONE;
				break;
			case HTTP1_BODY_CHUNKED:
				p->state = ST_CHUNK_SIZE;
				break;
			case HTTP1_BODY_UNTIL_CLOSE:
				p->state = ST_BODY_UNTIL_CLOSE;
				break;
			case HTTP1_BODY_NONE:
			case HTTP1_BODY_TUNNEL:
				p->state = ST_DONE;
				break;
			}
			return HTTP1_HEADERS;
		}
	}
	return HTTP1_NEED_MORE;
}

static int deliver(struct http1_parser *p, const uint8_t *data, size_t len)
{
	if (len == 0 || !p->on_body)
		return 0;
	return p->on_body(p->ctx, data, len) ? HTTP1_E_ABORTED : 0;
}

/* One byte of a chunk-size line or chunk delimiter. */
static int chunk_byte(struct http1_parser *p, uint8_t c)
{
	int digit;

	switch (p->state) {
	case ST_CHUNK_SIZE:
		if (++p->section_len > p->limits.max_chunk_line)
			return HTTP1_E_CHUNK_LINE_TOO_LONG;
		digit = hex_value(c);
		if (digit >= 0) {
			if (p->remaining > (HTTP1_MAX_CHUNK_SIZE >> 4))
				return HTTP1_E_BAD_CHUNK;
			p->remaining = p->remaining << 4 | (uint64_t)digit;
			p->chunk_size_digits = true;
			return 0;
		}
		if (!p->chunk_size_digits)
			return c == '\n' ? HTTP1_E_BARE_LF : HTTP1_E_BAD_CHUNK;
		if (c == '\r') {
			p->state = ST_CHUNK_SIZE_LF;
			return 0;
		}
		if (c == ';') {
			p->state = ST_CHUNK_EXT;
			return 0;
		}
		if (is_ows(c)) {
			p->state = ST_CHUNK_SIZE_WS;
			return 0;
		}
		return c == '\n' ? HTTP1_E_BARE_LF : HTTP1_E_BAD_CHUNK;
	case ST_CHUNK_SIZE_WS:
		/* BWS is only allowed before an extension: "5 \r\n" is read two ways in the wild. */
		if (++p->section_len > p->limits.max_chunk_line)
			return HTTP1_E_CHUNK_LINE_TOO_LONG;
		if (is_ows(c))
			return 0;
		if (c == ';') {
			p->state = ST_CHUNK_EXT;
			return 0;
		}
		return c == '\n' ? HTTP1_E_BARE_LF : HTTP1_E_BAD_CHUNK;
	case ST_CHUNK_EXT:
		if (++p->section_len > p->limits.max_chunk_line)
			return HTTP1_E_CHUNK_LINE_TOO_LONG;
		if (c == '\r') {
			p->state = ST_CHUNK_SIZE_LF;
			return 0;
		}
		if (c == '\n')
			return HTTP1_E_BARE_LF;
		return (c == '\t' || (c >= 0x20 && c < 0x7f)) ? 0 : HTTP1_E_BAD_CHUNK;
	case ST_CHUNK_SIZE_LF:
		if (c != '\n')
			return HTTP1_E_BARE_CR;
		p->section_len = 0;
		p->chunk_size_digits = false;
		if (p->remaining == 0) {
			/* The last chunk: the trailer section follows, in the field-line states. */
			p->n_fields = 0;
			p->state = ST_FIELD_START;
		} else {
			p->state = ST_CHUNK_DATA;
		}
		return 0;
	case ST_CHUNK_DATA_CR:
		if (c == '\r') {
			p->state = ST_CHUNK_DATA_LF;
			return 0;
		}
		return c == '\n' ? HTTP1_E_BARE_LF : HTTP1_E_BAD_CHUNK;
	case ST_CHUNK_DATA_LF:
		if (c != '\n')
			return HTTP1_E_BARE_CR;
		p->state = ST_CHUNK_SIZE;
		p->remaining = 0;
		p->section_len = 0;
		return 0;
	}
	return HTTP1_E_USAGE;
}

/* One byte of the trailer section: same field rules as headers, then dropped. */
static int trailer_byte(struct http1_parser *p, uint8_t c)
{
	int r;

	if (++p->section_len > p->limits.max_header_bytes)
		return HTTP1_E_HEADERS_TOO_BIG;
	r = field_byte(p, c, (uint32_t)p->section_len - 1);
	if (r < 0)
		return r;
	if (r == FIELD_LINE && ++p->n_fields > p->limits.max_headers)
		return HTTP1_E_TOO_MANY_HEADERS;
	if (r == FIELD_LINE)
		p->msg.n_trailers++;
	if (r == FIELD_SECTION_END)
		p->state = ST_DONE;
	return 0;
}

static int feed_body(struct http1_parser *p, const uint8_t *buf, size_t len, size_t *consumed)
{
	size_t i = 0;
	int r;

	while (i < len && p->state != ST_DONE) {
		if (p->state == ST_BODY_LENGTH || p->state == ST_CHUNK_DATA) {
			size_t n = len - i;

			if (n > p->remaining)
				n = (size_t)p->remaining;
			r = deliver(p, buf + i, n);
			if (r < 0)
				return fail(p, r);
			i += n;
			p->remaining -= n;
			if (p->remaining == 0)
				p->state = p->state == ST_BODY_LENGTH ? ST_DONE : ST_CHUNK_DATA_CR;
			continue;
		}
		if (p->state == ST_BODY_UNTIL_CLOSE) {
			r = deliver(p, buf + i, len - i);
			if (r < 0)
				return fail(p, r);
			i = len;
			continue;
		}
		if (p->state >= ST_FIELD_START && p->state <= ST_SECTION_LF)
			r = trailer_byte(p, buf[i]);
		else
			r = chunk_byte(p, buf[i]);
		if (r < 0)
			return fail(p, r);
		i++;
	}
	*consumed = i;
	return p->state == ST_DONE ? HTTP1_DONE : HTTP1_NEED_MORE;
}

int http1_feed(struct http1_parser *p, const uint8_t *buf, size_t len, size_t *consumed)
{
	*consumed = 0;
	if (p->error)
		return p->error;
	if (p->state == ST_DONE)
		return HTTP1_DONE;
	if (p->msg.header_len == 0)
		return feed_header_block(p, buf, len, consumed);
	return feed_body(p, buf, len, consumed);
}

int http1_finish(struct http1_parser *p)
{
	if (p->error)
		return p->error;
	if (p->state == ST_DONE)
		return HTTP1_DONE;
	if (p->state == ST_BODY_UNTIL_CLOSE) {
		p->state = ST_DONE;
		return HTTP1_DONE;
	}
	if (p->msg.header_len == 0 && p->scan == 0)
		return 0;
	return fail(p, HTTP1_E_TRUNCATED);
}

const char *http1_error_name(int err)
{
	static const char *const names[] = {
		[-HTTP1_E_BAD_START_LINE] = "bad_start_line",
		[-HTTP1_E_BAD_METHOD] = "bad_method",
		[-HTTP1_E_BAD_TARGET] = "bad_target",
		[-HTTP1_E_BAD_AUTHORITY] = "bad_authority",
		[-HTTP1_E_BAD_VERSION] = "bad_version",
		[-HTTP1_E_H2_PREFACE] = "h2_preface",
		[-HTTP1_E_BARE_LF] = "bare_lf",
		[-HTTP1_E_BARE_CR] = "bare_cr",
		[-HTTP1_E_OBS_FOLD] = "obs_fold",
		[-HTTP1_E_BAD_FIELD_NAME] = "bad_field_name",
		[-HTTP1_E_SPACE_BEFORE_COLON] = "space_before_colon",
		[-HTTP1_E_BAD_FIELD_VALUE] = "bad_field_value",
		[-HTTP1_E_HEADERS_TOO_BIG] = "headers_too_big",
		[-HTTP1_E_TOO_MANY_HEADERS] = "too_many_headers",
		[-HTTP1_E_MISSING_HOST] = "missing_host",
		[-HTTP1_E_DUPLICATE_HOST] = "duplicate_host",
		[-HTTP1_E_BAD_HOST] = "bad_host",
		[-HTTP1_E_BAD_CONTENT_LENGTH] = "bad_content_length",
		[-HTTP1_E_DUPLICATE_CONTENT_LENGTH] = "duplicate_content_length",
		[-HTTP1_E_CL_AND_TE] = "cl_and_te",
		[-HTTP1_E_BAD_TRANSFER_ENCODING] = "bad_transfer_encoding",
		[-HTTP1_E_TE_IN_HTTP10] = "te_in_http10",
		[-HTTP1_E_CONNECT_BODY] = "connect_body",
		[-HTTP1_E_BAD_CHUNK] = "bad_chunk",
		[-HTTP1_E_CHUNK_LINE_TOO_LONG] = "chunk_line_too_long",
		[-HTTP1_E_BAD_STATUS] = "bad_status",
		[-HTTP1_E_TRUNCATED] = "truncated",
		[-HTTP1_E_ABORTED] = "aborted",
		[-HTTP1_E_USAGE] = "usage",
	};

	if (err >= 0 || err < HTTP1_E_MIN || !names[-err])
		return "ok";
	return names[-err];
}

int http1_error_status(int err)
{
	switch (err) {
	case HTTP1_E_HEADERS_TOO_BIG:
	case HTTP1_E_TOO_MANY_HEADERS:
		return 431;
	case HTTP1_E_BAD_VERSION:
		return 505;
	case HTTP1_E_BAD_TRANSFER_ENCODING:
		return 501;
	case HTTP1_E_H2_PREFACE:
	case HTTP1_E_TRUNCATED:
	case HTTP1_E_ABORTED:
	case HTTP1_E_USAGE:
		return 0;
	default:
		return err < 0 ? 400 : 0;
	}
}

int http1_header_find(const struct http1_message *m, const uint8_t *buf, const char *name,
		      unsigned start)
{
	for (unsigned i = start; i < m->n_headers; i++)
		if (http1_span_caseeq(buf, m->headers[i].name, name))
			return (int)i;
	return -1;
}

static bool value_ok(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)v[i];

		if (c != '\t' && c != ' ' && !is_field_vchar(c))
			return false;
	}
	return true;
}

static struct http1_edit *edit_slot(struct http1_message *m, uint16_t index)
{
	for (unsigned i = 0; i < m->n_edits; i++)
		if (index != UINT16_MAX && m->edits[i].index == index)
			return &m->edits[i];
	if (m->n_edits >= HTTP1_MAX_HEADER_EDITS)
		return NULL;
	memset(&m->edits[m->n_edits], 0, sizeof(m->edits[0]));
	m->edits[m->n_edits].index = index;
	return &m->edits[m->n_edits++];
}

int http1_header_remove(struct http1_message *m, unsigned index)
{
	struct http1_edit *e;

	if (index >= m->n_headers)
		return -ERANGE;
	e = edit_slot(m, (uint16_t)index);
	if (!e)
		return -ENOSPC;
	e->remove = true;
	return 0;
}

int http1_header_replace(struct http1_message *m, unsigned index, const char *value, size_t len)
{
	struct http1_edit *e;

	if (index >= m->n_headers)
		return -ERANGE;
	if (!value_ok(value, len))
		return -EINVAL;
	e = edit_slot(m, (uint16_t)index);
	if (!e)
		return -ENOSPC;
	e->remove = false;
	e->value = value;
	e->value_len = len;
	return 0;
}

int http1_header_add(struct http1_message *m, const char *name, const char *value)
{
	size_t name_len = strlen(name), value_len = strlen(value);
	struct http1_edit *e;

	if (name_len == 0 || !value_ok(value, value_len))
		return -EINVAL;
	for (size_t i = 0; i < name_len; i++)
		if (!is_tchar((uint8_t)name[i]))
			return -EINVAL;
	e = edit_slot(m, UINT16_MAX);
	if (!e)
		return -ENOSPC;
	e->name = name;
	e->name_len = name_len;
	e->value = value;
	e->value_len = value_len;
	return 0;
}

int http1_set_target(struct http1_message *m, const char *target, size_t len)
{
	if (m->target.len == 0 || len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)target[i] <= 0x20 || (uint8_t)target[i] >= 0x7f || target[i] == '#')
			return -EINVAL;
	m->new_target = target;
	m->new_target_len = len;
	return 0;
}

/* Appends to out when there is room; always counts. */
struct out_buf {
	uint8_t *out;
	size_t cap, len;
};

static void put(struct out_buf *o, const void *data, size_t len)
{
	if (o->out && o->len + len <= o->cap)
		memcpy(o->out + o->len, data, len);
	o->len += len;
}

static const struct http1_edit *edit_for(const struct http1_message *m, unsigned index)
{
	for (unsigned i = 0; i < m->n_edits; i++)
		if (m->edits[i].index == index)
			return &m->edits[i];
	return NULL;
}

static void serialize(const struct http1_message *m, const uint8_t *buf, struct out_buf *o)
{
	const uint8_t *line = buf + m->start_line_off;

	if (m->new_target) {
		uint32_t before = m->target.off - m->start_line_off;
		uint32_t after = m->target.off + m->target.len;

		put(o, line, before);
		put(o, m->new_target, m->new_target_len);
		put(o, buf + after, m->start_line_off + m->start_line_len - after);
	} else {
		put(o, line, m->start_line_len);
	}
	put(o, "\r\n", 2);
	for (unsigned i = 0; i < m->n_headers; i++) {
		const struct http1_header *h = &m->headers[i];
		const struct http1_edit *e = edit_for(m, i);

		if (!e) {
			put(o, buf + h->line_off, h->line_len);
		} else if (!e->remove) {
			put(o, buf + h->name.off, h->name.len);
			put(o, ": ", 2);
			put(o, e->value, e->value_len);
			put(o, "\r\n", 2);
		}
	}
	for (unsigned i = 0; i < m->n_edits; i++) {
		const struct http1_edit *e = &m->edits[i];

		if (e->index != UINT16_MAX)
			continue;
		put(o, e->name, e->name_len);
		put(o, ": ", 2);
		put(o, e->value, e->value_len);
		put(o, "\r\n", 2);
	}
	put(o, "\r\n", 2);
}

size_t http1_serialized_len(const struct http1_message *m, const uint8_t *buf)
{
	struct out_buf o = { 0 };

	serialize(m, buf, &o);
	return o.len;
}

ssize_t http1_serialize(const struct http1_message *m, const uint8_t *buf, uint8_t *out,
			size_t cap)
{
	struct out_buf o = { .out = out, .cap = cap };

	serialize(m, buf, &o);
	if (o.len > cap)
		return -ENOSPC;
	return (ssize_t)o.len;
}
