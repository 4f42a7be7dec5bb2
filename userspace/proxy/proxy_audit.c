// SPDX-License-Identifier: GPL-2.0-only
/*
 * One audit line per inspected request, or per connection for passthrough and denials. The
 * audit log writer keeps one line buffer, so the workers take turns under a mutex. Only names,
 * ports, paths (without query, withheld for refused content) and counters are written: never
 * header values, bodies or secrets.
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "audit/audit.h"
#include "lib/ipclass.h"
#include "proxy/metrics.h"
#include "proxy/proxy.h"

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;

/* A request that secret or content inspection refused: its URL may be the very secret. */
static bool blocked_for_content(const struct px_audit *a)
{
	const char *r = a->reason ? a->reason : "", *e = a->event ? a->event : "";

	return !strncmp(r, "dlp.", 4) || !strncmp(r, "secret.", 7) || !strncmp(e, "dlp.", 4) ||
	       !strncmp(e, "secret.", 7) || !strncmp(r, "inject.", 7) || !strncmp(e, "inject.", 7);
}

/*
 * The path of a request for the audit line: never the query string (tokens travel there), cut
 * at 256 bytes, and withheld whole when the request was refused for what it carried.
 */
static void audit_path(struct json_buf *jb, const struct px_audit *a)
{
	size_t len;

	if (blocked_for_content(a)) {
		jb_str(jb, "path", "(withheld: the request was refused for its content)");
		return;
	}
	len = strcspn(a->path, "?#");
	if (len > 256)
		len = 256;
	jb_strn(jb, "path", a->path, len);
	if (a->path[len] == '?' || a->path[len] == '#')
		jb_bool(jb, "query_omitted", true);
}

void px_audit(struct px_conn *c, const struct px_audit *a)
{
	char ip[IP_FORMAT_MAX];
	struct json_buf *jb;

	if (c)
		px_metrics_count(a->decision && !strcmp(a->decision, "blocked"));
	if (!px.audit)
		return;
	pthread_mutex_lock(&audit_lock);
	/* The flood bucket is the reason: a connection flood is one aggregated line. */
	jb = audit_begin(px.audit, "proxy", a->event, a->decision, a->reason ? a->reason : a->event);
	if (!jb)
		goto out;
	if (a->mode)
		jb_str(jb, "mode", a->mode);
	if (a->method)
		jb_str(jb, "method", a->method);
	if (a->host && a->host[0])
		jb_str(jb, "host", a->host);
	if (a->port)
		jb_uint(jb, "port", a->port);
	if (a->path)
		audit_path(jb, a);
	if (a->status)
		jb_int(jb, "status", a->status);
	if (a->reason)
		jb_str(jb, "reason", a->reason);
	if (a->detail)
		jb_str(jb, "detail", a->detail);
	if (a->have_dst && ip_format(&a->dst, ip, sizeof(ip))) {
		jb_str(jb, "dst", ip);
		jb_uint(jb, "dport", a->dport);
	}
	if (c) {
		jb_uint(jb, "bytes_in", c->bytes_in);
		jb_uint(jb, "bytes_out", c->bytes_out);
		jb_uint(jb, "duration_ms", px_now_ms() - c->t_start_ms);
		jb_str(jb, "listener", c->explicit_port ? "explicit" : "transparent");
		if (c->has_orig && c->orig.pid) {
			jb_uint(jb, "pid", c->orig.pid);
			jb_strn(jb, "comm", c->orig.comm, strnlen(c->orig.comm, sizeof(c->orig.comm)));
		}
	}
	audit_commit(px.audit);
out:
	pthread_mutex_unlock(&audit_lock);
}

void px_audit_simple(const char *event, const char *reason, const char *detail)
{
	struct px_audit a = { .event = event, .decision = "blocked", .reason = reason,
			      .detail = detail };

	px_audit(NULL, &a);
}

void px_audit_flush(void)
{
	if (!px.audit)
		return;
	pthread_mutex_lock(&audit_lock);
	audit_flush_suppressed(px.audit);
	pthread_mutex_unlock(&audit_lock);
}
