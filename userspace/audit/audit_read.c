// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit/audit_read.h"

struct cursor {
	const char *p, *end;
	char *out;        /* next free byte of the store */
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
		c->p++;
}

static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char ch = p[i];

		*v <<= 4;
		if (ch >= '0' && ch <= '9')
			*v |= (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			*v |= (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			*v |= (unsigned)(ch - 'A' + 10);
		else
			return -EINVAL;
	}
	return 0;
}

static void put_utf8(struct cursor *c, unsigned cp)
{
	if (cp < 0x80) {
		*c->out++ = (char)cp;
	} else if (cp < 0x800) {
		*c->out++ = (char)(0xc0 | (cp >> 6));
		*c->out++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*c->out++ = (char)(0xe0 | (cp >> 12));
		*c->out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*c->out++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*c->out++ = (char)(0xf0 | (cp >> 18));
		*c->out++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*c->out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*c->out++ = (char)(0x80 | (cp & 0x3f));
	}
}

/* A string at c->p (after the quote) unescaped into the store; never longer than its source. */
static const char *parse_string(struct cursor *c)
{
	char *start = c->out;

	while (c->p < c->end && *c->p != '"') {
		unsigned cp, lo;

		if ((unsigned char)*c->p < 0x20)
			return NULL;
		if (*c->p != '\\') {
			*c->out++ = *c->p++;
			continue;
		}
		if (++c->p >= c->end)
			return NULL;
		switch (*c->p++) {
		case '"': *c->out++ = '"'; break;
		case '\\': *c->out++ = '\\'; break;
		case '/': *c->out++ = '/'; break;
		case 'b': *c->out++ = '\b'; break;
		case 'f': *c->out++ = '\f'; break;
		case 'n': *c->out++ = '\n'; break;
		case 'r': *c->out++ = '\r'; break;
		case 't': *c->out++ = '\t'; break;
		case 'u':
			if (c->end - c->p < 4 || hex4(c->p, &cp))
				return NULL;
			c->p += 4;
			/* A surrogate pair is 12 source bytes for 4 output bytes; a lone one becomes U+FFFD. */
			if (cp >= 0xd800 && cp < 0xdc00 && c->end - c->p >= 6 && c->p[0] == '\\' &&
			    c->p[1] == 'u' && !hex4(c->p + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				c->p += 6;
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd;
			}
			put_utf8(c, cp);
			break;
		default:
			return NULL;
		}
	}
	if (c->p >= c->end)
		return NULL;
	c->p++;
	*c->out++ = '\0';
	return start;
}

/* Any non-string value: copied raw. Nested objects and arrays are balanced, strings skipped. */
static const char *parse_raw(struct cursor *c)
{
	const char *s = c->p;
	char *start = c->out;
	int depth = 0;
	bool in_str = false;

	for (; c->p < c->end; c->p++) {
		char ch = *c->p;

		if (in_str) {
			if (ch == '\\')
				c->p++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"') {
			in_str = true;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0)
				break;
			depth--;
		} else if (ch == ',' && depth == 0) {
			break;
		}
	}
	if (depth || in_str || c->p > c->end)
		return NULL;
	while (c->p > s && (c->p[-1] == ' ' || c->p[-1] == '\t'))
		c->p--;
	if (c->p == s)
		return NULL;
	memcpy(c->out, s, (size_t)(c->p - s));
	c->out += c->p - s;
	*c->out++ = '\0';
	return start;
}

int audit_rec_parse(const char *line, size_t len, struct audit_rec *r)
{
	struct cursor c = { .p = line, .end = line + len };

	memset(r, 0, sizeof(*r));
	r->store = malloc(len + 1);
	if (!r->store)
		return -ENOMEM;
	c.out = r->store;
	skip_ws(&c);
	if (c.p >= c.end || *c.p++ != '{')
		goto bad;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
		goto tail;
	}
	for (;;) {
		struct audit_field *f;

		if (r->n >= AUDIT_REC_FIELDS)
			goto bad;
		f = &r->f[r->n];
		skip_ws(&c);
		if (c.p >= c.end || *c.p++ != '"' || !(f->key = parse_string(&c)))
			goto bad;
		skip_ws(&c);
		if (c.p >= c.end || *c.p++ != ':')
			goto bad;
		skip_ws(&c);
		if (c.p >= c.end)
			goto bad;
		if (*c.p == '"') {
			c.p++;
			f->is_str = true;
			f->val = parse_string(&c);
		} else {
			f->val = parse_raw(&c);
		}
		if (!f->val)
			goto bad;
		r->n++;
		skip_ws(&c);
		if (c.p < c.end && *c.p == ',') {
			c.p++;
			continue;
		}
		if (c.p < c.end && *c.p == '}') {
			c.p++;
			break;
		}
		goto bad;
	}
tail:
	skip_ws(&c);
	if (c.p != c.end)
		goto bad;
	return 0;
bad:
	audit_rec_free(r);
	return -EINVAL;
}

void audit_rec_free(struct audit_rec *r)
{
	free(r->store);
	r->store = NULL;
	r->n = 0;
}

const char *audit_rec_get(const struct audit_rec *r, const char *key)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->f[i].key, key))
			return r->f[i].val;
	return NULL;
}

const char *audit_rec_host(const struct audit_rec *r)
{
	static const char *const keys[] = { "host", "sni", "qname", "domain", "dst" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = audit_rec_get(r, keys[i]);

		if (v && *v)
			return v;
	}
	return NULL;
}

int audit_severity_parse(const char *s)
{
	static const char *const names[] = { "debug", "info", "warning", "error", "critical" };

	if (!strcasecmp(s, "warn"))
		return 2;
	for (int i = 0; i < 5; i++)
		if (!strcasecmp(s, names[i]))
			return i;
	return -1;
}

int audit_rec_severity(const struct audit_rec *r)
{
	const char *s = audit_rec_get(r, "severity"), *d;
	int v;

	if (s && (v = audit_severity_parse(s)) >= 0)
		return v;
	d = audit_rec_get(r, "decision");
	if (d && !strcmp(d, "error"))
		return 3;
	return d && !strcmp(d, "blocked") ? 2 : 1;
}

/* host equals pattern, or is a subdomain of it; case-insensitive, trailing dots ignored. */
static bool host_matches(const char *host, const char *pattern)
{
	size_t hl = strlen(host), pl = strlen(pattern);

	while (hl && host[hl - 1] == '.')
		hl--;
	while (pl && pattern[pl - 1] == '.')
		pl--;
	if (!pl || hl < pl)
		return false;
	if (strncasecmp(host + hl - pl, pattern, pl))
		return false;
	return hl == pl || host[hl - pl - 1] == '.';
}

bool audit_filter_match(const struct audit_filter *flt, const struct audit_rec *r)
{
	const char *v;

	if (flt->n_decisions) {
		bool any = false;

		v = audit_rec_get(r, "decision");
		for (int i = 0; v && i < flt->n_decisions; i++)
			any |= !strcmp(v, flt->decisions[i]);
		if (!any)
			return false;
	}
	if (flt->layer && (!(v = audit_rec_get(r, "layer")) || strcmp(v, flt->layer)))
		return false;
	if (flt->inspector && (!(v = audit_rec_get(r, "inspector")) || strcmp(v, flt->inspector)))
		return false;
	if (flt->host && (!(v = audit_rec_host(r)) || !host_matches(v, flt->host)))
		return false;
	if (flt->min_severity > 0 && audit_rec_severity(r) < flt->min_severity)
		return false;
	if (flt->since) {
		struct tm tm = { 0 };
		const char *ts = audit_rec_get(r, "ts"), *rest;

		if (!ts || !(rest = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm)))
			return false;
		if (timegm(&tm) < flt->since)
			return false;
	}
	return true;
}
