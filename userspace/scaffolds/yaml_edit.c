// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaffolds/yaml_edit.h"

struct lines {
	char **v;
	size_t n, cap;
};

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int lines_insert(struct lines *l, size_t at, const char *s)
{
	char *dup = strdup(s);

	if (!dup)
		return -ENOMEM;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			free(dup);
			return -ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	memmove(l->v + at + 1, l->v + at, (l->n - at) * sizeof(*l->v));
	l->v[at] = dup;
	l->n++;
	return 0;
}

static void lines_delete(struct lines *l, size_t at)
{
	free(l->v[at]);
	memmove(l->v + at, l->v + at + 1, (l->n - at - 1) * sizeof(*l->v));
	l->n--;
}

static int lines_replace(struct lines *l, size_t at, const char *s)
{
	char *dup = strdup(s);

	if (!dup)
		return -ENOMEM;
	free(l->v[at]);
	l->v[at] = dup;
	return 0;
}

static int lines_split(const char *text, struct lines *l)
{
	const char *p = text;

	memset(l, 0, sizeof(*l));
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *s = strndup(p, len);
		int err;

		if (!s)
			return -ENOMEM;
		err = lines_insert(l, l->n, s);
		free(s);
		if (err)
			return err;
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

static int lines_join(struct lines *l, char **text)
{
	size_t len = 1;
	char *out, *p;

	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + 1;
	out = malloc(len);
	if (!out)
		return -ENOMEM;
	p = out;
	for (size_t i = 0; i < l->n; i++)
		p += sprintf(p, "%s\n", l->v[i]);
	*p = '\0';
	free(*text);
	*text = out;
	return 0;
}

static int indent_of(const char *s)
{
	int n = 0;

	while (s[n] == ' ')
		n++;
	return n;
}

/* Blank or only a comment: such lines never end a block. */
static bool is_filler(const char *s)
{
	s += strspn(s, " \t");
	return !*s || *s == '#';
}

/* Whether line s is `key:` (then a space, a comment or the end) at the given indent. */
static bool is_key(const char *s, int indent, const char *key, const char **rest)
{
	size_t kl = strlen(key);

	if (indent_of(s) != indent || strncmp(s + indent, key, kl) || s[indent + kl] != ':')
		return false;
	s += indent + kl + 1;
	if (*s && *s != ' ' && *s != '\t')
		return false;
	if (rest)
		*rest = s + strspn(s, " \t");
	return true;
}

/* The end (exclusive) of the block that starts after line `at` and is indented more than ind. */
static size_t block_end(const struct lines *l, size_t at, int ind)
{
	size_t end = at + 1, last = at;

	for (; end < l->n; end++) {
		if (is_filler(l->v[end]))
			continue;
		if (indent_of(l->v[end]) <= ind)
			break;
		last = end;
	}
	return last + 1;
}

static int find_top(const struct lines *l, const char *key, const char **rest)
{
	for (size_t i = 0; i < l->n; i++)
		if (is_key(l->v[i], 0, key, rest))
			return (int)i;
	return -1;
}

int yaml_set_top_scalar(char **text, const char *key, const char *value)
{
	struct lines l;
	char *line = NULL;
	int at, err;

	err = lines_split(*text, &l);
	if (err)
		goto out;
	if (asprintf(&line, "%s: %s", key, value) < 0) {
		line = NULL;
		err = -ENOMEM;
		goto out;
	}
	at = find_top(&l, key, NULL);
	if (at >= 0) {
		/* A block value under the key goes with the old scalar. */
		size_t end = block_end(&l, (size_t)at, 0);

		while (end > (size_t)at + 1)
			lines_delete(&l, --end);
		err = lines_replace(&l, (size_t)at, line);
	} else {
		err = lines_insert(&l, l.n, line);
	}
	if (!err)
		err = lines_join(&l, text);
out:
	free(line);
	lines_free(&l);
	return err;
}

static void json_quote(const char *s, char *out, size_t len)
{
	size_t o = 0;

	if (len < 3)
		return;
	out[o++] = '"';
	for (; *s && o + 3 < len; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
}

int yaml_add_mount(char **text, const char *src, const char *dst)
{
	char qs[4200], qd[4200], *item = NULL;
	const char *rest;
	struct lines l;
	int at, err;

	err = lines_split(*text, &l);
	if (err)
		goto out;
	json_quote(src, qs, sizeof(qs));
	json_quote(dst, qd, sizeof(qd));
	at = find_top(&l, "mounts", &rest);
	if (at >= 0 && *rest && strncmp(rest, "[]", 2) && *rest != '#') {
		err = -ENOTSUP;
		goto out;
	}
	if (asprintf(&item, "  - { source: %s, target: %s }", qs, qd) < 0) {
		item = NULL;
		err = -ENOMEM;
		goto out;
	}
	if (at < 0) {
		err = lines_insert(&l, l.n, "mounts:");
		at = (int)l.n - 1;
	} else if (*rest == '[') {
		err = lines_replace(&l, (size_t)at, "mounts:");
	}
	if (!err)
		err = lines_insert(&l, block_end(&l, (size_t)at, 0), item);
	if (!err)
		err = lines_join(&l, text);
out:
	free(item);
	lines_free(&l);
	return err;
}

/* The domain an entry names, canonical enough to compare: unquoted, lower case, no dot at the end. */
static void entry_domain(const char *s, char *out, size_t len)
{
	const char *p = s, *d;
	size_t n;

	out[0] = '\0';
	p += strspn(p, " \t{");
	d = strstr(p, "domain:");
	if (d && (d == p || d[-1] == ' ' || d[-1] == '{' || d[-1] == ','))
		p = d + 7;
	p += strspn(p, " \t");
	if (*p == '"' || *p == '\'') {
		char q = *p++;

		n = strcspn(p, q == '"' ? "\"" : "'");
	} else {
		n = strcspn(p, " \t,}#");
	}
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[n] = '\0';
	if (n && out[n - 1] == '.')
		out[n - 1] = '\0';
}

static void format_entry(const char *domain, int64_t expires_at, char *out, size_t len)
{
	char t[40], q[300];
	time_t tt = (time_t)expires_at;
	struct tm tm;

	/* Plain when safe; quoted otherwise ("*" would start an alias), so the loader judges the name. */
	if (domain[strspn(domain, "abcdefghijklmnopqrstuvwxyz0123456789-_.")] || domain[0] == '-')
		json_quote(domain, q, sizeof(q));
	else
		snprintf(q, sizeof(q), "%s", domain);
	if (!expires_at) {
		snprintf(out, len, "%s", q);
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(out, len, "{ domain: %s, expires: \"%s\" }", q, t);
}

/* Splits a one-line flow list "[a, {domain: b, expires: c}]" into its items (in place). */
static int flow_items(char *s, char **items, int max)
{
	int n = 0, depth = 0;
	char *start;
	bool in_q = false;
	char q = 0;

	s += strspn(s, " \t");
	if (*s++ != '[')
		return -ENOTSUP;
	start = s;
	for (; *s; s++) {
		if (in_q) {
			in_q = *s != q;
			continue;
		}
		if (*s == '"' || *s == '\'') {
			in_q = true;
			q = *s;
		} else if (*s == '{') {
			depth++;
		} else if (*s == '}') {
			depth--;
		} else if ((*s == ',' || *s == ']') && depth == 0) {
			bool end = *s == ']';
			char *e = s;

			*s = '\0';
			start += strspn(start, " \t");
			while (e > start && (e[-1] == ' ' || e[-1] == '\t'))
				*--e = '\0';
			if (*start) {
				if (n >= max)
					return -E2BIG;
				items[n++] = start;
			}
			start = s + 1;
			if (end) {
				s++;
				s += strspn(s, " \t");
				return *s && *s != '#' ? -ENOTSUP : n;
			}
		}
	}
	return -ENOTSUP;
}

/*
 * Finds domains.<list>: *dom the `domains:` line (-1 absent), *key the list's line (-1 absent),
 * *child the indent of the keys under domains. -ENOTSUP for a flow-style domains mapping.
 */
static int find_list(const struct lines *l, const char *list, int *dom, int *key, int *child)
{
	const char *rest;
	size_t end;

	*key = -1;
	*child = 2;
	*dom = find_top(l, "domains", &rest);
	if (*dom < 0)
		return 0;
	if (*rest && *rest != '#')
		return -ENOTSUP;
	end = block_end(l, (size_t)*dom, 0);
	for (size_t i = (size_t)*dom + 1; i < end; i++) {
		if (is_filler(l->v[i]))
			continue;
		*child = indent_of(l->v[i]);
		break;
	}
	for (size_t i = (size_t)*dom + 1; i < end; i++)
		if (is_key(l->v[i], *child, list, NULL)) {
			*key = (int)i;
			break;
		}
	return 0;
}

/* The block items of the list at line key: first line of each item, and where the list ends. */
static int block_items(const struct lines *l, int key, int child, size_t *starts, int max, size_t *end)
{
	int n = 0, item_ind = -1;
	size_t i = (size_t)key + 1;

	for (; i < l->n; i++) {
		const char *s = l->v[i];
		int ind = indent_of(s);

		if (is_filler(s))
			continue;
		if (s[ind] == '-' && (s[ind + 1] == ' ' || !s[ind + 1]) && ind >= child &&
		    (item_ind < 0 || ind == item_ind)) {
			item_ind = ind;
			if (n >= max)
				return -E2BIG;
			starts[n++] = i;
			continue;
		}
		if (item_ind >= 0 && ind > item_ind)
			continue;
		break;
	}
	/* Trailing comments and blank lines stay after the list. */
	while (i > (size_t)key + 1 && is_filler(l->v[i - 1]))
		i--;
	*end = i;
	return n;
}

static int domain_edit(char **text, const char *list, const char *domain, int64_t expires_at, bool add)
{
	char want[256], got[256], entry[400], buf[8192];
	size_t starts[1024], end;
	struct lines l;
	const char *rest;
	int dom, key, child, n, err, removed = 0;

	/* The new name as given (lower case, no trailing dot); existing entries are parsed. */
	snprintf(want, sizeof(want), "%s", domain);
	for (char *c = want; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (*want && want[strlen(want) - 1] == '.')
		want[strlen(want) - 1] = '\0';
	format_entry(want, expires_at, entry, sizeof(entry));
	err = lines_split(*text, &l);
	if (!err)
		err = find_list(&l, list, &dom, &key, &child);
	if (err)
		goto out;
	if (dom < 0) {
		if (!add) {
			err = -ENOENT;
			goto out;
		}
		err = lines_insert(&l, l.n, "domains:");
		dom = (int)l.n - 1;
	}
	if (!err && key < 0) {
		if (!add) {
			err = -ENOENT;
			goto out;
		}
		snprintf(buf, sizeof(buf), "%*s%s:", child, "", list);
		key = (int)block_end(&l, (size_t)dom, 0);
		err = lines_insert(&l, (size_t)key, buf);
	}
	if (err)
		goto out;
	is_key(l.v[key], child, list, &rest);
	if (*rest == '[') {
		char *items[256], copy[8192];
		bool first = true;
		size_t o;

		snprintf(copy, sizeof(copy), "%s", rest);
		n = flow_items(copy, items, 256);
		if (n < 0) {
			err = n;
			goto out;
		}
		o = (size_t)snprintf(buf, sizeof(buf), "%*s%s: [", child, "", list);
		for (int i = 0; i < n; i++) {
			entry_domain(items[i], got, sizeof(got));
			if (!strcmp(got, want)) {
				if (add) {
					err = -EEXIST;
					goto out;
				}
				removed++;
				continue;
			}
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", first ? "" : ", ", items[i]);
			first = false;
		}
		if (add)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", first ? "" : ", ", entry);
		if (o + 2 >= sizeof(buf)) {
			err = -E2BIG;
			goto out;
		}
		snprintf(buf + o, sizeof(buf) - o, "]");
		err = lines_replace(&l, (size_t)key, buf);
	} else if (*rest && *rest != '#') {
		err = -ENOTSUP;
	} else {
		n = block_items(&l, key, child, starts, 1024, &end);
		if (n < 0) {
			err = n;
			goto out;
		}
		for (int i = n - 1; i >= 0; i--) {
			const char *s = l.v[starts[i]];

			entry_domain(s + indent_of(s) + 1, got, sizeof(got));
			if (strcmp(got, want))
				continue;
			if (add) {
				err = -EEXIST;
				goto out;
			}
			/* The item's continuation lines (a multi-line mapping) go with it. */
			size_t stop = i + 1 < n ? starts[i + 1] : end;

			while (stop > starts[i])
				lines_delete(&l, --stop);
			removed++;
		}
		if (add) {
			snprintf(buf, sizeof(buf), "%*s- %s", n ? indent_of(l.v[starts[0]]) : child + 2, "",
				 entry);
			err = lines_insert(&l, end, buf);
		} else if (removed == n) {
			/* An empty block list would read as null; say "empty" explicitly. */
			snprintf(buf, sizeof(buf), "%*s%s: []", child, "", list);
			err = lines_replace(&l, (size_t)key, buf);
		}
	}
	if (!err && !add && !removed)
		err = -ENOENT;
	if (!err)
		err = lines_join(&l, text);
out:
	lines_free(&l);
	return err;
}

int yaml_domain_add(char **text, const char *list, const char *domain, int64_t expires_at)
{
	return domain_edit(text, list, domain, expires_at, true);
}

int yaml_domain_rm(char **text, const char *list, const char *domain)
{
	return domain_edit(text, list, domain, 0, false);
}
