// SPDX-License-Identifier: GPL-2.0-only
/*
 * Answers the proxy gives on its own: denials with the JSON body agents can read, and the
 * fixed lines of the explicit proxy (200 Connection established, 503). The response is queued
 * on the agent side (TLS or not) and the connection closes once it is written.
 */
#include <stdio.h>
#include <string.h>

#include "lib/json.h"
#include "proxy/proxy.h"

static const char *status_text(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 421: return "Misdirected Request";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static void queue(struct px_conn *c, const char *data, size_t len)
{
	struct px_buf *o = &c->cl.out;

	if (!px_buf_reserve(o, len, PX_HDR_MAX * 2))
		return;
	memcpy(o->data + o->end, data, len);
	o->end += len;
}

void px_reply_raw(struct px_conn *c, const char *text)
{
	queue(c, text, strlen(text));
}

void px_deny_http(struct px_conn *c, int status, const char *reason, const char *host)
{
	char body[768], head[256];
	struct json_buf jb;
	const char *json;
	int n;

	jb_init(&jb, body, sizeof(body) - 1);
	jb_open(&jb);
	jb_bool(&jb, "blocked", true);
	jb_str(&jb, "reason", reason);
	jb_str(&jb, "host", host && host[0] ? host : NULL);
	jb_str(&jb, "by", "cagectl");
	jb_close(&jb);
	json = jb_finish(&jb);
	if (!json)
		json = "{\"blocked\":true,\"by\":\"cagectl\"}";
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\nCache-Control: no-store\r\n\r\n",
		     status, status_text(status), strlen(json) + 1);
	if (n > 0 && (size_t)n < sizeof(head)) {
		queue(c, head, (size_t)n);
		queue(c, json, strlen(json));
		queue(c, "\n", 1);
	}
	c->status = (uint16_t)status;
	c->linger = true;
	c->phase = PH_CLOSING;
}
