// SPDX-License-Identifier: GPL-2.0-only
/*
 * Outbound: placeholders become real values only where a rule binds them (the upstream host
 * the proxy checked and dials, over https, and an allowed location). Anything else carrying a
 * placeholder, or a string of placeholder shape that is no known placeholder, is judged before
 * a single rewritten byte is handed back. Inbound: real values become placeholders again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/domain.h"
#include "secrets/internal.h"

enum where { W_TARGET, W_HEADER, W_HEADER_NAME, W_BODY, W_WEBSOCKET };

static const char *const where_names[] = {
	[W_TARGET] = "target", [W_HEADER] = "header", [W_HEADER_NAME] = "header_name",
	[W_BODY] = "body", [W_WEBSOCKET] = "websocket",
};

struct judge {
	const struct secrets_ruleset *rs;
	const struct secrets_upstream *up;
	struct secrets_verdict *v;
	enum where where;
	const char *hname;
	size_t hname_len;
	unsigned replaced;   /* matches replaced in the current field */
	unsigned matched;    /* matches of any kind in the current field */
	uint64_t *redacted;  /* redaction only */
};

static bool contains_nocase(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);

	for (size_t i = 0; i + w <= n; i++)
		if (strncasecmp(s + i, word, w) == 0)
			return true;
	return false;
}

bool secrets_location_bound(enum secrets_location where, const char *hname, size_t hname_len,
			    const char *const *inject_headers, size_t n_inject_headers,
			    bool inject_body)
{
	if (where == SECRETS_LOC_HEADER_NAME)
		return false;
	if (inject_body)
		return true;
	if (where != SECRETS_LOC_HEADER)
		return false;
	/* Strict mode: headers named like credentials, plus the rule's own list. */
	if (contains_nocase(hname, hname_len, "auth") || contains_nocase(hname, hname_len, "key") ||
	    contains_nocase(hname, hname_len, "token"))
		return true;
	for (size_t i = 0; i < n_inject_headers; i++)
		if (strlen(inject_headers[i]) == hname_len &&
		    strncasecmp(inject_headers[i], hname, hname_len) == 0)
			return true;
	return false;
}

static bool location_allowed(const struct secrets_rule *r, const struct judge *j)
{
	static const enum secrets_location loc[] = {
		[W_TARGET] = SECRETS_LOC_TARGET, [W_HEADER] = SECRETS_LOC_HEADER,
		[W_HEADER_NAME] = SECRETS_LOC_HEADER_NAME, [W_BODY] = SECRETS_LOC_BODY,
		[W_WEBSOCKET] = SECRETS_LOC_WEBSOCKET,
	};

	return secrets_location_bound(loc[j->where], j->hname, j->hname_len,
				      (const char *const *)r->inject_headers, r->n_inject_headers,
				      r->inject_body);
}

static void set_verdict(struct judge *j, enum secrets_action action, const char *reason,
			const char *detail, int rule)
{
	struct secrets_verdict *v = j->v;

	if (action <= v->action)
		return;  /* the first, most severe finding stays */
	v->action = action;
	v->reason = reason;
	v->detail = detail;
	v->where = where_names[j->where];
	v->rule = rule;
}

static int judge_match(void *arg, const struct pattern *p, const unsigned char **repl,
		       size_t *repl_len)
{
	struct judge *j = arg;
	const struct secrets_rule *r;
	const char *detail;
	bool host_ok;

	j->matched++;
	if (p->id == PAT_SHAPE) {
		set_verdict(j, SECRETS_BLOCK, "secret.placeholder_unknown", NULL, -1);
		return -EACCES;
	}
	r = &j->rs->rules[p->id];
	host_ok = r->inject_to && j->up && j->up->host &&
		  domain_set_match(r->inject_to, j->up->host, NULL);
	if (!host_ok || !(j->up->https || j->rs->pol.allow_plain_http))
		detail = host_ok ? "plain_http" : "unbound_host";
	else if (!location_allowed(r, j))
		detail = "location";
	else if (!r->value) {
		set_verdict(j, SECRETS_BLOCK, "secret.value_missing", NULL, p->id);
		return -EACCES;
	} else {
		j->v->injected |= 1ull << p->id;
		j->replaced++;
		*repl = r->value;
		*repl_len = r->value_len;
		return 0;
	}
	if (j->rs->pol.misdirected == SECRETS_FLAG) {
		set_verdict(j, SECRETS_FLAG, "secret.placeholder_misdirected", detail, p->id);
		return 1;  /* the placeholder goes out literally: it is worthless upstream */
	}
	set_verdict(j, SECRETS_BLOCK, "secret.placeholder_misdirected", detail, p->id);
	return -EACCES;
}

/* One field, one shot: *out gets the rewritten bytes when something was replaced. */
static int judge_field(struct judge *j, const char *in, size_t len, struct secrets_field *out)
{
	struct obuf o = { 0 };
	struct mstream s;
	int err;

	j->replaced = j->matched = 0;
	mstream_init(&s, &j->rs->inject, judge_match, j);
	err = mstream_feed(&s, in, len, true, obuf_emit, &o);
	mstream_release(&s);
	if (!err && j->replaced && out) {
		out->buf = o.buf ? o.buf : calloc(1, 1);
		out->len = o.len;
		if (!out->buf)
			err = -ENOMEM;
		return err;  /* the caller frees it with secrets_head_rewrite_free() */
	}
	obuf_free(&o);
	return err;
}

static bool basic_auth(const struct secrets_header *h, size_t *b64_off)
{
	size_t i = 5;

	if (!((h->name_len == 13 && strncasecmp(h->name, "authorization", 13) == 0) ||
	      (h->name_len == 19 && strncasecmp(h->name, "proxy-authorization", 19) == 0)))
		return false;
	if (h->value_len < 7 || strncasecmp(h->value, "basic ", 6) != 0)
		return false;
	while (i < h->value_len && h->value[i] == ' ')
		i++;
	*b64_off = i;
	return i < h->value_len;
}

/*
 * git over https sends `Authorization: Basic base64(user:placeholder)`: decode, judge and
 * substitute inside, encode again. Returns 1 when the decoded form held no match (judge the
 * raw value instead).
 */
static int judge_basic(struct judge *j, const struct secrets_header *h, size_t off,
		       struct secrets_field *out)
{
	size_t n = h->value_len - off, dlen = 0, cap = n / 4 * 3 + 4, enc_cap;
	unsigned char *dec = secure_alloc(cap);
	struct secrets_field inner = { 0 };
	int err;

	if (!dec)
		return -ENOMEM;
	if (b64_decode(h->value + off, n, dec, &dlen) < 0) {
		secure_free(dec, cap);
		return 1;
	}
	err = judge_field(j, (const char *)dec, dlen, &inner);
	if (!err && !j->matched)
		err = 1;
	if (!err && inner.buf) {
		enc_cap = off + b64_encoded_len(inner.len) + 1;
		out->buf = secure_alloc(enc_cap);
		if (!out->buf) {
			err = -ENOMEM;
		} else {
			memcpy(out->buf, h->value, off);
			b64_encode((const unsigned char *)inner.buf, inner.len, out->buf + off, false,
				   true);
			out->len = off + strlen(out->buf + off);
		}
	}
	if (inner.buf)
		secure_free(inner.buf, inner.len + 1);
	secure_free(dec, cap);
	return err;
}

static void field_free(struct secrets_field *f)
{
	/* Buffers come from secure_alloc() sized >= len + 1; cleansing len + 1 is enough. */
	if (f->buf)
		secure_free(f->buf, f->len + 1);
	f->buf = NULL;
	f->len = 0;
}

void secrets_head_rewrite_free(struct secrets_head_rewrite *rw)
{
	field_free(&rw->target);
	for (size_t i = 0; rw->values && i < rw->n; i++)
		field_free(&rw->values[i]);
	free(rw->values);
	memset(rw, 0, sizeof(*rw));
}

int secrets_request_head(const struct secrets_ruleset *rs, const struct secrets_upstream *up,
			 const char *target, size_t target_len, const struct secrets_header *headers,
			 size_t n_headers, struct secrets_verdict *v, struct secrets_head_rewrite *out)
{
	struct judge j = { .rs = rs, .up = up, .v = v };
	int err = 0;

	memset(v, 0, sizeof(*v));
	v->rule = -1;
	memset(out, 0, sizeof(*out));
	if (!rs || !rs->compiled || !rs->inject.n)
		return 0;
	out->values = calloc(n_headers ? n_headers : 1, sizeof(*out->values));
	if (!out->values)
		return -ENOMEM;
	out->n = n_headers;
	j.where = W_TARGET;
	err = judge_field(&j, target, target_len, &out->target);
	for (size_t i = 0; i < n_headers && !err; i++) {
		const struct secrets_header *h = &headers[i];
		size_t off;
		int r = 1;

		j.where = W_HEADER_NAME;
		err = judge_field(&j, h->name, h->name_len, NULL);
		if (err)
			break;
		j.where = W_HEADER;
		j.hname = h->name;
		j.hname_len = h->name_len;
		if (basic_auth(h, &off))
			r = judge_basic(&j, h, off, &out->values[i]);
		if (r == 1)
			r = judge_field(&j, h->value, h->value_len, &out->values[i]);
		if (r < 0)
			err = r;
	}
	/* A block hands nothing out: no rewritten byte exists for the caller to send by mistake. */
	if (err || v->action == SECRETS_BLOCK) {
		secrets_head_rewrite_free(out);
		v->injected = 0;
		return err == -EACCES ? 0 : err;
	}
	return 0;
}

/* ---- streams ------------------------------------------------------------------------------ */

struct secrets_stream {
	struct secrets_ruleset *rs;
	struct secrets_upstream up;
	char *host;
	enum secrets_stream_kind kind;
	struct secrets_verdict v;
	uint64_t redacted;
	struct judge j;
	struct mstream m;
};

static int redact_match(void *arg, const struct pattern *p, const unsigned char **repl,
			size_t *repl_len)
{
	struct judge *j = arg;

	if (p->id >= 0 && p->id < 64)
		*j->redacted |= 1ull << p->id;
	return 0;
}

struct secrets_stream *secrets_stream_new(struct secrets_ruleset *rs,
					  const struct secrets_upstream *up,
					  enum secrets_stream_kind kind)
{
	struct secrets_stream *s;

	if (!rs || !rs->compiled)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (up) {
		s->up = *up;
		s->host = up->host ? strdup(up->host) : NULL;
		if (up->host && !s->host) {
			free(s);
			return NULL;
		}
		s->up.host = s->host;
	}
	s->rs = secrets_ruleset_get(rs);
	s->kind = kind;
	s->v.rule = -1;
	s->j = (struct judge){
		.rs = rs, .up = up ? &s->up : NULL, .v = &s->v, .redacted = &s->redacted,
		.where = kind == SECRETS_STREAM_WEBSOCKET ? W_WEBSOCKET : W_BODY,
	};
	if (kind == SECRETS_STREAM_REDACT)
		mstream_init(&s->m, &rs->redact, redact_match, &s->j);
	else
		mstream_init(&s->m, &rs->inject, judge_match, &s->j);
	return s;
}

static int stream_feed(struct secrets_stream *s, const void *data, size_t len, bool final,
		       secrets_emit_fn emit, void *arg)
{
	const struct matcher *m = s->kind == SECRETS_STREAM_REDACT ? &s->rs->redact
								   : &s->rs->inject;

	if (!m->n)
		return s->m.error ? s->m.error : (len ? emit(arg, data, len) : 0);
	return mstream_feed(&s->m, data, len, final, emit, arg);
}

int secrets_stream_feed(struct secrets_stream *s, const void *data, size_t len,
			secrets_emit_fn emit, void *arg)
{
	return stream_feed(s, data, len, false, emit, arg);
}

int secrets_stream_finish(struct secrets_stream *s, secrets_emit_fn emit, void *arg)
{
	return stream_feed(s, NULL, 0, true, emit, arg);
}

const struct secrets_verdict *secrets_stream_verdict(const struct secrets_stream *s)
{
	return &s->v;
}

uint64_t secrets_stream_redacted(const struct secrets_stream *s)
{
	return s->redacted;
}

void secrets_stream_free(struct secrets_stream *s)
{
	if (!s)
		return;
	mstream_release(&s->m);
	secrets_ruleset_put(s->rs);
	free(s->host);
	free(s);
}

int secrets_redact(const struct secrets_ruleset *rs, const char *in, size_t len, char **out,
		   size_t *out_len, uint64_t *redacted)
{
	struct judge j = { .rs = rs, .redacted = redacted };
	struct obuf o = { 0 };
	struct mstream s;
	int err;

	*out = NULL;
	*out_len = 0;
	*redacted = 0;
	if (!rs || !rs->compiled || !rs->redact.n)
		return 0;
	mstream_init(&s, &rs->redact, redact_match, &j);
	err = mstream_feed(&s, in, len, true, obuf_emit, &o);
	mstream_release(&s);
	if (err || !*redacted) {
		obuf_free(&o);
		return err;
	}
	/* Hand out a plain heap copy the caller frees with free(); nothing secret is in it. */
	*out = malloc(o.len + 1);
	if (!*out) {
		obuf_free(&o);
		return -ENOMEM;
	}
	memcpy(*out, o.buf ? o.buf : "", o.len + 1);
	*out_len = o.len;
	obuf_free(&o);
	return 0;
}

bool secrets_host_bound(const struct secrets_ruleset *rs, const char *host)
{
	if (!rs || !host)
		return false;
	for (size_t i = 0; i < rs->n; i++)
		if (rs->rules[i].value && rs->rules[i].inject_to &&
		    domain_set_match(rs->rules[i].inject_to, host, NULL))
			return true;
	return false;
}

/* ---- redirects ---------------------------------------------------------------------------- */

bool secrets_redirect_may_carry(const struct secrets_upstream *from, const char *loc, size_t len)
{
	char canon[DOMAIN_BUF_SIZE];
	size_t i = 0, hstart, hend, port_at = 0;
	unsigned long port;
	bool https;

	while (len && (loc[0] == ' ' || loc[0] == '\t')) {
		loc++;
		len--;
	}
	if (len >= 8 && strncasecmp(loc, "https://", 8) == 0) {
		https = true;
		i = 8;
	} else if (len >= 7 && strncasecmp(loc, "http://", 7) == 0) {
		https = false;
		i = 7;
	} else if (len >= 2 && (loc[0] == '/' || loc[0] == '\\') && (loc[1] == '/' || loc[1] == '\\')) {
		https = from->https;  /* scheme-relative: another host, same scheme */
		i = 2;
	} else {
		/* A scheme we do not know is another origin; a path is the same one. */
		for (size_t k = 0; k < len && loc[k] != '/' && loc[k] != '?' && loc[k] != '#'; k++)
			if (loc[k] == ':')
				return false;
		return true;
	}
	hstart = i;
	while (i < len && loc[i] != '/' && loc[i] != '?' && loc[i] != '#' && loc[i] != '\\') {
		if (loc[i] == '@')
			return false;  /* userinfo: refuse rather than guess what a client does */
		if (loc[i] == ':')
			port_at = i;
		i++;
	}
	hend = port_at ? port_at : i;
	port = https ? 443 : 80;
	if (port_at) {
		char *endp;
		char buf[8];
		size_t pl = i - port_at - 1;

		if (!pl || pl >= sizeof(buf))
			return false;
		memcpy(buf, loc + port_at + 1, pl);
		buf[pl] = '\0';
		port = strtoul(buf, &endp, 10);
		if (*endp || port == 0 || port > 65535)
			return false;
	}
	if (https != from->https || !from->host ||
	    port != (from->port ? from->port : (from->https ? 443u : 80u)))
		return false;
	if (domain_canonicalize(loc + hstart, hend - hstart, canon, sizeof(canon)) != 0)
		return false;
	return strcmp(canon, from->host) == 0;
}
