// SPDX-License-Identifier: GPL-2.0-only
/*
 * One Vectorscan streaming database per chain: the built-in families, the cage's
 * extra_patterns and, for each known secret value, every 12-byte window of it as a literal
 * (any fragment of 12 bytes or more contains one). The pattern id is the index of its rule.
 * A set without known values is loaded from the compiled-database cache when it can be
 * (scan_cache.h): compiling it is most of cage-proxy's start-up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "inspect/inspect_internal.h"
#include "inspect/scan_cache.h"
#include "lib/domain.h"

#define KNOWN_WINDOW 12
#define KNOWN_MIN 8

struct pattern_list {
	char **expr;
	unsigned *ids, *flags;
	size_t n, cap;
};

static int plist_add(struct pattern_list *l, char *expr, unsigned id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **e = realloc(l->expr, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		l->expr = e;
		unsigned *ids = realloc(l->ids, cap * sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		l->ids = ids;
		unsigned *fl = realloc(l->flags, cap * sizeof(*fl));
		if (!fl)
			return -ENOMEM;
		l->flags = fl;
		l->cap = cap;
	}
	l->expr[l->n] = expr;
	l->ids[l->n] = id;
	l->flags[l->n] = HS_FLAG_SINGLEMATCH;
	l->n++;
	return 0;
}

static void plist_free(struct pattern_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->expr[i]);
	free(l->expr);
	free(l->ids);
	free(l->flags);
}

static char *escape_literal(const char *p, size_t len)
{
	char *out = malloc(len * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++)
		o += sprintf(o, "\\x%02x", (unsigned char)p[i]);
	*o = 0;
	return out;
}

static void rule_free(struct scan_rule *r)
{
	domain_set_free(r->exempt);
	for (size_t i = 0; i < r->n_bind_headers; i++)
		free(r->bind_headers[i]);
	free(r->bind_headers);
}

struct scan_db *scan_db_get(struct scan_db *db)
{
	atomic_fetch_add(&db->refs, 1);
	return db;
}

void scan_db_put(struct scan_db *db)
{
	if (!db || atomic_fetch_sub(&db->refs, 1) != 1)
		return;
	hs_free_database(db->hs);
	for (size_t i = 0; i < db->n_rules; i++)
		rule_free(&db->rules[i]);
	free(db->rules);
	free(db);
}

static const struct allow_entry *find_allow(const struct inspect_conf *conf, const char *rule)
{
	for (size_t i = 0; i < conf->n_allow_to; i++)
		if (strcmp(conf->allow_to[i].rule, rule) == 0)
			return &conf->allow_to[i];
	return NULL;
}

/* Builtin provider domains unless turned off; a user entry for the rule replaces them. */
static int rule_exempt(const struct inspect_conf *conf, struct scan_rule *r,
		       const char *const *builtin, size_t n_builtin)
{
	const struct allow_entry *a = find_allow(conf, r->name);

	r->exempt = domain_set_new();
	if (!r->exempt)
		return -ENOMEM;
	if (a) {
		for (size_t i = 0; i < a->hosts.n; i++)
			if (domain_set_add(r->exempt, a->hosts.v[i], 0) == -ENOMEM)
				return -ENOMEM;
		return 0;
	}
	for (size_t i = 0; conf->builtin_allow && i < n_builtin && builtin[i]; i++)
		if (domain_set_add(r->exempt, builtin[i], 0) == -ENOMEM)
			return -ENOMEM;
	return 0;
}

static int add_known(struct scan_db *db, struct pattern_list *pl, const struct cage_config_file *cfg,
		     size_t i, const char *value)
{
	size_t len = strlen(value);
	struct scan_rule *r = &db->rules[db->n_rules];
	const struct cage_secret_rule *sr = cfg && i < cfg->n_secrets ? &cfg->secrets[i] : NULL;
	unsigned id = (unsigned)db->n_rules;
	int err;

	if (len < KNOWN_MIN)
		return 0;
	memset(r, 0, sizeof(*r));
	db->n_rules++;
	snprintf(r->name, sizeof(r->name), "known_value:%s", sr && sr->name ? sr->name : "secret");
	r->action = INSPECT_BLOCK;
	r->severity = INSPECT_SEV_CRITICAL;
	r->known = true;
	r->exempt = domain_set_new();
	if (!r->exempt)
		return -ENOMEM;
	if (sr) {
		r->bind_anywhere = sr->inject_body;
		for (size_t k = 0; k < sr->inject_to.n; k++)
			if (domain_set_add(r->exempt, sr->inject_to.v[k], 0) == -ENOMEM)
				return -ENOMEM;
		r->bind_headers = calloc(sr->inject_headers.n + 1, sizeof(char *));
		if (!r->bind_headers)
			return -ENOMEM;
		for (size_t k = 0; k < sr->inject_headers.n; k++) {
			char *h = strdup(sr->inject_headers.v[k]);

			if (!h)
				return -ENOMEM;
			for (char *c = h; *c; c++)
				*c = (char)((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
			r->bind_headers[r->n_bind_headers++] = h;
		}
	}
	if (len < KNOWN_WINDOW) {
		char *e = escape_literal(value, len);

		return e ? plist_add(pl, e, id) : -ENOMEM;
	}
	for (size_t off = 0; off + KNOWN_WINDOW <= len; off++) {
		char *e = escape_literal(value + off, KNOWN_WINDOW);

		if (!e)
			return -ENOMEM;
		err = plist_add(pl, e, id);
		if (err) {
			free(e);
			return err;
		}
	}
	return 0;
}

int scan_db_build(const struct inspect_conf *conf, const struct cage_config_file *cfg,
		  const char *const *known, size_t n_known, struct scan_db **out,
		  char *err, size_t errlen)
{
	struct pattern_list pl = { 0 };
	hs_compile_error_t *cerr = NULL;
	struct scan_db *db = calloc(1, sizeof(*db));
	size_t max_rules = secret_family_count + conf->n_extra + n_known;
	unsigned char key[SCAN_CACHE_KEY_LEN];
	bool cacheable = true;
	int rc = -ENOMEM;

	if (!db)
		return -ENOMEM;
	atomic_init(&db->refs, 1);
	db->rules = calloc(max_rules ? max_rules : 1, sizeof(*db->rules));
	if (!db->rules)
		goto fail;
	for (size_t i = 0; i < secret_family_count; i++) {
		const struct secret_family *f = &secret_families[i];
		struct scan_rule *r = &db->rules[db->n_rules];
		char *e = strdup(f->regex);

		if (!e || plist_add(&pl, e, (unsigned)db->n_rules)) {
			free(e);
			goto fail;
		}
		db->n_rules++;
		snprintf(r->name, sizeof(r->name), "%s", f->name);
		r->action = conf->secrets_action == INSPECT_FLAG ? INSPECT_FLAG : f->action;
		r->severity = r->action == INSPECT_BLOCK ? INSPECT_SEV_ERROR : INSPECT_SEV_WARNING;
		if (rule_exempt(conf, r, f->domains, 4))
			goto fail;
	}
	for (size_t i = 0; i < conf->n_extra; i++) {
		struct scan_rule *r = &db->rules[db->n_rules];
		char *e = strdup(conf->extra[i].regex);

		if (!e || plist_add(&pl, e, (unsigned)db->n_rules)) {
			free(e);
			goto fail;
		}
		db->n_rules++;
		snprintf(r->name, sizeof(r->name), "%s", conf->extra[i].name);
		r->action = conf->secrets_action;
		r->severity = r->action == INSPECT_BLOCK ? INSPECT_SEV_ERROR : INSPECT_SEV_WARNING;
		if (rule_exempt(conf, r, NULL, 0))
			goto fail;
	}
	for (size_t i = 0; i < n_known; i++)
		if (known[i] && (rc = add_known(db, &pl, cfg, i, known[i])))
			goto fail;
	/* A set with known values is never cached: the database would hold fragments of them. */
	for (size_t i = 0; i < db->n_rules; i++)
		cacheable = cacheable && !db->rules[i].known;
	if (cacheable && scan_cache_key((const char *const *)pl.expr, pl.flags, pl.ids, pl.n,
					HS_MODE_STREAM, key))
		cacheable = false;
	if (cacheable && scan_cache_load(key, &db->hs) == 0)
		goto built;
	if (hs_compile_multi((const char *const *)pl.expr, pl.flags, pl.ids, (unsigned)pl.n,
			     HS_MODE_STREAM, NULL, &db->hs, &cerr) != HS_SUCCESS) {
		/* Only extra_patterns can fail: name it without echoing a known value. */
		int at = cerr ? cerr->expression : -1;
		const char *name = at >= 0 && (size_t)at < pl.n ? db->rules[pl.ids[at]].name : "?";

		if (at >= 0 && (size_t)at < pl.n && db->rules[pl.ids[at]].known)
			snprintf(err, errlen, "secrets: cannot compile a known value");
		else
			snprintf(err, errlen, "secrets: pattern %s: %s", name,
				 cerr && cerr->message ? cerr->message : "compile error");
		hs_free_compile_error(cerr);
		rc = -EINVAL;
		goto fail;
	}
	if (cacheable)
		scan_cache_store(key, db->hs);
built:
	plist_free(&pl);
	*out = db;
	return 0;
fail:
	plist_free(&pl);
	scan_db_put(db);
	return rc;
}
