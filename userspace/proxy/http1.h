/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A strict, incremental HTTP/1.1 parser (RFC 9110/9112) for requests from the agent and
 * responses from upstream. It never allocates: the header block stays in the caller's buffer
 * and the parser keeps offsets into it; bodies are handed out piece by piece through a
 * callback and never buffered. Whatever two HTTP implementations could read differently
 * (CL+TE, duplicate Content-Length or Host, obs-fold, bare CR or LF, odd transfer codings,
 * userinfo or backslashes in an authority) is an error, not a guess.
 *
 * Use:
 *   http1_init(&p, HTTP1_REQUEST, NULL, on_body, ctx);
 *   loop:
 *     header phase: pass the whole header block received so far, from its first byte (the
 *       buffer may move between calls; its contents may only grow). *consumed stays 0 until
 *       HTTP1_HEADERS, which sets it to p.msg.header_len. Those bytes must stay put while
 *       you read p.msg or serialise it.
 *     body phase: pass any bytes after that; body pieces go to on_body; *consumed says how
 *       many bytes were used. HTTP1_DONE ends the message; bytes after *consumed belong to
 *       the next message (pipelining): http1_reset() and start again with them.
 *   on EOF: http1_finish() (ends a read-until-close response body, otherwise an error).
 *
 * Routing: absolute-form and CONNECT route on msg.authority (RFC 9112 3.2.2) and refuse
 * msg.host_mismatch; origin-form routes on msg.host. Hosts are raw bytes: canonicalise them
 * (case, trailing dot, IP spellings such as 0x7f.1) before any policy decision.
 */
#ifndef CAGE_PROXY_HTTP1_H
#define CAGE_PROXY_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP1_DEFAULT_MAX_HEADER_BYTES (64u * 1024)
#define HTTP1_DEFAULT_MAX_HEADERS 100u
#define HTTP1_HEADER_SLOTS 128u   /* hard cap on max_headers: the header array is inline */
#define HTTP1_DEFAULT_MAX_CHUNK_LINE 1024u
#define HTTP1_MAX_HEADER_EDITS 32u
#define HTTP1_HOST_MAX 255u

enum http1_kind { HTTP1_REQUEST, HTTP1_RESPONSE };

enum http1_event {
	HTTP1_NEED_MORE = 0, /* everything passed was used (body phase) or is not a full block yet */
	HTTP1_HEADERS = 1,   /* start line and header block complete: read p->msg */
	HTTP1_DONE = 2,      /* end of message */
};

/* Errors are negative; http1_error_name() gives the audit string, http1_error_status() a status. */
enum http1_error {
	HTTP1_E_BAD_START_LINE = -1,   /* not "method SP target SP version CRLF" / not a status line */
	HTTP1_E_BAD_METHOD = -2,
	HTTP1_E_BAD_TARGET = -3,       /* request-target form not allowed for the method, bad bytes */
	HTTP1_E_BAD_AUTHORITY = -4,    /* userinfo, backslash, '%', bad port, bad IPv6 literal, ... */
	HTTP1_E_BAD_VERSION = -5,      /* not exactly HTTP/1.0 or HTTP/1.1 */
	HTTP1_E_H2_PREFACE = -6,       /* "PRI * HTTP/2.0": HTTP/2 prior knowledge */
	HTTP1_E_BARE_LF = -7,
	HTTP1_E_BARE_CR = -8,
	HTTP1_E_OBS_FOLD = -9,         /* a field line starting with SP or HTAB */
	HTTP1_E_BAD_FIELD_NAME = -10,  /* non-token byte, empty name, no colon */
	HTTP1_E_SPACE_BEFORE_COLON = -11,
	HTTP1_E_BAD_FIELD_VALUE = -12, /* NUL or another control byte (HTAB allowed) */
	HTTP1_E_HEADERS_TOO_BIG = -13, /* → 431 */
	HTTP1_E_TOO_MANY_HEADERS = -14,/* → 431 */
	HTTP1_E_MISSING_HOST = -15,    /* HTTP/1.1 request without Host */
	HTTP1_E_DUPLICATE_HOST = -16,
	HTTP1_E_BAD_HOST = -17,        /* Host value is not a clean host[:port] */
	HTTP1_E_BAD_CONTENT_LENGTH = -18, /* not all digits, empty, overflow */
	HTTP1_E_DUPLICATE_CONTENT_LENGTH = -19, /* even with equal values */
	HTTP1_E_CL_AND_TE = -20,
	HTTP1_E_BAD_TRANSFER_ENCODING = -21, /* request TE not exactly "chunked"; chunked not final */
	HTTP1_E_TE_IN_HTTP10 = -22,
	HTTP1_E_CONNECT_BODY = -23,    /* CONNECT with Transfer-Encoding or Content-Length > 0 */
	HTTP1_E_BAD_CHUNK = -24,       /* chunk size not hex, overflow, missing CRLF after data */
	HTTP1_E_CHUNK_LINE_TOO_LONG = -25, /* chunk size + extensions over max_chunk_line */
	HTTP1_E_BAD_STATUS = -26,
	HTTP1_E_TRUNCATED = -27,       /* EOF inside a message that has a defined end */
	HTTP1_E_ABORTED = -28,         /* the body callback returned non-zero */
	HTTP1_E_USAGE = -29,           /* called again after an error or after a tunnel began */
	HTTP1_E_MIN = -29,
};

enum http1_method {
	HTTP1_METHOD_OTHER = 0,
	HTTP1_METHOD_GET,
	HTTP1_METHOD_HEAD,
	HTTP1_METHOD_POST,
	HTTP1_METHOD_PUT,
	HTTP1_METHOD_DELETE,
	HTTP1_METHOD_CONNECT,
	HTTP1_METHOD_OPTIONS,
	HTTP1_METHOD_TRACE,
	HTTP1_METHOD_PATCH,
};

enum http1_target_form {
	HTTP1_FORM_ORIGIN,     /* /path?query */
	HTTP1_FORM_ABSOLUTE,   /* http://host[:port]/path or https://... */
	HTTP1_FORM_AUTHORITY,  /* host:port, CONNECT only */
	HTTP1_FORM_ASTERISK,   /* *, OPTIONS only */
};

enum http1_scheme { HTTP1_SCHEME_NONE, HTTP1_SCHEME_HTTP, HTTP1_SCHEME_HTTPS };

enum http1_framing {
	HTTP1_BODY_NONE,
	HTTP1_BODY_LENGTH,
	HTTP1_BODY_CHUNKED,
	HTTP1_BODY_UNTIL_CLOSE, /* responses only */
	HTTP1_BODY_TUNNEL,      /* CONNECT request, 2xx to CONNECT, 101: stop parsing after DONE */
};

#define HTTP1_UPGRADE_WEBSOCKET 0x1u
#define HTTP1_UPGRADE_H2C 0x2u
#define HTTP1_UPGRADE_OTHER 0x4u

/* A byte range in the caller's header buffer. */
struct http1_span {
	uint32_t off, len;
};

struct http1_header {
	struct http1_span name;  /* as sent (case kept) */
	struct http1_span value; /* leading and trailing SP/HTAB removed */
	uint32_t line_off, line_len; /* the whole field line including CRLF, copied verbatim */
};

/* host[:port] as sent; compare and canonicalise the host elsewhere. */
struct http1_authority {
	struct http1_span host;  /* without brackets for IPv6 literals */
	uint16_t port;           /* 0 when absent */
	bool ipv6;
};

struct http1_message {
	uint8_t version_minor;   /* 0 or 1 */
	uint32_t start_line_len; /* without CRLF; start_line_off after tolerated leading CRLFs */
	uint32_t start_line_off;
	uint32_t header_len;     /* whole block: start line, fields, final CRLF */

	/* request */
	enum http1_method method;
	struct http1_span method_span, target;
	enum http1_target_form form;
	enum http1_scheme scheme;          /* absolute-form */
	struct http1_authority authority;  /* absolute-form and CONNECT */
	struct http1_span path;            /* origin-form and absolute-form: path and query (may be empty) */
	bool has_host;
	struct http1_authority host;       /* the Host header, parsed */
	int host_index;                    /* into headers[], -1 without */
	/* absolute-form or CONNECT whose Host header names another host or port: RFC 9112 3.2.2
	 * routes on the target, so forwarding this Host would be a fronting bypass. */
	bool host_mismatch;
	bool expect_continue;

	/* response */
	uint16_t status;
	struct http1_span reason;
	bool interim;             /* 1xx other than 101: the final response follows */

	/* both */
	enum http1_framing framing;
	uint64_t content_length;  /* HTTP1_BODY_LENGTH */
	bool has_transfer_encoding;
	bool transfer_coded;      /* response codings besides chunked (gzip, ...) stay in the body */
	bool conn_close, conn_keep_alive, conn_upgrade; /* Connection tokens */
	bool keep_alive;          /* the connection may carry another message after this one */
	unsigned upgrade;         /* HTTP1_UPGRADE_* from the Upgrade header */
	bool has_http2_settings;

	unsigned n_headers;
	struct http1_header headers[HTTP1_HEADER_SLOTS];
	unsigned n_trailers;      /* validated, not kept: trailers are dropped when dechunking */

	/* pending edits for http1_serialize() */
	struct http1_edit {
		uint16_t index;   /* header index, or UINT16_MAX for an added field */
		bool remove;
		const char *name; /* added fields */
		size_t name_len;
		const char *value;
		size_t value_len;
	} edits[HTTP1_MAX_HEADER_EDITS];
	unsigned n_edits;
	const char *new_target;
	size_t new_target_len;
};

struct http1_limits {
	/* 0 → default; also caps the trailer section. A header buffer of max_header_bytes + 1
	 * bytes always ends in HTTP1_HEADERS or HTTP1_E_HEADERS_TOO_BIG, never a stall. */
	size_t max_header_bytes;
	unsigned max_headers;    /* 0 → default; at most HTTP1_HEADER_SLOTS; also caps trailers */
	size_t max_chunk_line;   /* 0 → default: chunk-size line with extensions */
};

/* Body bytes as they arrive (chunked framing removed). Non-zero stops with HTTP1_E_ABORTED. */
typedef int (*http1_body_fn)(void *ctx, const uint8_t *data, size_t len);

struct http1_parser {
	enum http1_kind kind;
	struct http1_limits limits;
	http1_body_fn on_body;
	void *ctx;
	enum http1_method request_method; /* responses: the method of the request answered */
	struct http1_message msg;

	/* private */
	int state;
	int error;
	uint32_t scan;         /* header phase: bytes of the block already examined */
	uint32_t line_start;
	uint32_t name_end, value_start, value_end;
	uint32_t n_fields;     /* header or trailer lines seen */
	uint64_t remaining;    /* body bytes left in the message or current chunk */
	uint64_t section_len;  /* chunk line or trailer section bytes so far */
	bool have_content_length;
	bool chunk_size_digits;
};

void http1_init(struct http1_parser *p, enum http1_kind kind, const struct http1_limits *limits,
		http1_body_fn on_body, void *ctx);
/* For the next message on the same connection; keeps kind, limits, callback and request_method. */
void http1_reset(struct http1_parser *p);
/* Responses: the method of the request this response answers (HEAD and CONNECT change framing). */
void http1_set_request_method(struct http1_parser *p, enum http1_method method);

/* Returns an enum http1_event or a negative enum http1_error; errors are sticky until reset. */
int http1_feed(struct http1_parser *p, const uint8_t *buf, size_t len, size_t *consumed);
/* The peer closed: HTTP1_DONE for a read-until-close body, 0 between messages, else an error. */
int http1_finish(struct http1_parser *p);

const char *http1_error_name(int err);    /* "cl_and_te", "obs_fold", ... */
int http1_error_status(int err);          /* 400, 431, 501 or 505; 0 for the h2 preface */
const char *http1_method_name(enum http1_method m);

/* Header access; names compare case-insensitively. start: first index to look at. */
int http1_header_find(const struct http1_message *m, const uint8_t *buf, const char *name,
		      unsigned start);
bool http1_span_eq(const uint8_t *buf, struct http1_span s, const char *str); /* exact bytes */
bool http1_span_caseeq(const uint8_t *buf, struct http1_span s, const char *str);

/*
 * Edits for re-serialisation. Nothing is copied: value, name and target must stay valid until
 * http1_serialize(). Values and names are validated like parsed ones (-EINVAL), so an edit
 * cannot inject a line; -ENOSPC when HTTP1_MAX_HEADER_EDITS edits are pending; -ERANGE for
 * a bad index.
 */
int http1_header_remove(struct http1_message *m, unsigned index);
int http1_header_replace(struct http1_message *m, unsigned index, const char *value, size_t len);
int http1_header_add(struct http1_message *m, const char *name, const char *value);
int http1_set_target(struct http1_message *m, const char *target, size_t len);

/*
 * Writes the start line and header block with the edits applied: untouched field lines are
 * copied byte for byte; a replaced line keeps its original name bytes; added fields go last.
 * Returns the length written, or -ENOSPC (nothing useful written) when cap is too small.
 * http1_serialized_len() gives the exact size needed.
 */
ssize_t http1_serialize(const struct http1_message *m, const uint8_t *buf, uint8_t *out,
			size_t cap);
size_t http1_serialized_len(const struct http1_message *m, const uint8_t *buf);

#endif
