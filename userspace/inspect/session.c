// SPDX-License-Identifier: GPL-2.0-only
/*
 * The chain object and the per-message session: the fixed inspector order, findings and the
 * verdict, and the request / body / end steps. WebSocket messages are in session_ws.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "inspect/inspect_internal.h"
#include "lib/domain.h"
#include "secrets/secrets.h"

static const char *const ids_name[INSPECTOR_COUNT] = {
	"domain", "secrets", "body_size", "entropy", "content_type", "rate_limit", "custom",
};

int inspect_chain_new(const struct cage_config_file *cfg, const struct inspect_options *opt,
		      struct inspect_chain **out, char *err, size_t errlen)
{
	struct inspect_chain *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	atomic_init(&c->refs, 1);
	pthread_mutex_init(&c->lock, NULL);
	/* Nothing of cfg is kept: the caller may free it as soon as this returns. */
	rc = inspect_conf_load(&c->conf, cfg, opt, err, errlen);
	if (!rc)
		rc = chain_bind_copy(cfg, &c->bind);
	if (!rc)
		rc = split_table_new(&c->split);
	if (!rc)
		rc = scan_db_build(&c->conf, c->bind, opt ? opt->known_values : NULL,
				   opt && opt->known_values ? opt->n_known : 0, &c->db, err, errlen);
	if (rc) {
		inspect_chain_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

struct inspect_chain *inspect_chain_get(struct inspect_chain *c)
{
	if (c)
		atomic_fetch_add(&c->refs, 1);
	return c;
}

void inspect_chain_free(struct inspect_chain *c)
{
	if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	scan_db_put(c->db);
	inspect_conf_free(&c->conf);
	cage_config_free(c->bind);
	split_table_free(c->split);
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool inspect_chain_settled(struct inspect_chain *c, double after_s)
{
	double at = split_now() + after_s;

	if (!c)
		return true;
	return ratelimit_settled(c, at) && (!c->split || split_table_settled(c->split, &c->conf, at));
}

size_t inspect_chain_secret_count(const struct inspect_chain *c)
{
	return c && c->bind ? c->bind->n_secrets : 0;
}

const char *inspect_chain_secret_name(const struct inspect_chain *c, size_t i)
{
	return i < inspect_chain_secret_count(c) ? c->bind->secrets[i].name : NULL;
}

int inspect_set_known_values(struct inspect_chain *c, const char *const *values, size_t n)
{
	struct scan_db *db, *old;
	char err[160];
	int rc = scan_db_build(&c->conf, c->bind, values, n, &db, err, sizeof(err));

	if (rc)
		return rc;
	pthread_mutex_lock(&c->lock);
	old = c->db;
	c->db = db;
	pthread_mutex_unlock(&c->lock);
	scan_db_put(old);
	return 0;
}

static struct scan_db *current_db(struct inspect_chain *c)
{
	struct scan_db *db;

	pthread_mutex_lock(&c->lock);
	db = scan_db_get(c->db);
	pthread_mutex_unlock(&c->lock);
	return db;
}

static void session_release_scan(struct inspect_session *s)
{
	scan_views_free(&s->views);
	scan_views_free(&s->ctl_views);
	scan_node_free(s->split_node);
	s->split_node = NULL;
	scan_db_put(s->db);
	s->db = NULL;
}

/*
 * Binds the session to the chain's current database (again after inspect_set_known_values or
 * inspect_session_reuse on a new chain). Streams belong to one database and are opened anew;
 * the scratch is kept: hs_alloc_scratch() grows it in place when the new database needs more,
 * and allocating one is the dearest part of a new session.
 */
static int session_bind_db(struct inspect_session *s)
{
	struct scan_db *db = current_db(s->chain);
	int err;

	if (db == s->db) {
		scan_db_put(db);
		return 0;
	}
	session_release_scan(s);
	s->db = db;
	if (hs_alloc_scratch(db->hs, &s->scratch) != HS_SUCCESS)
		return -ENOMEM;
	err = scan_views_init(&s->views, s);
	if (!err)
		err = scan_views_init(&s->ctl_views, s);
	/* At full depth: the split view has no run decoders (its bytes are short values). */
	if (!err && !(s->split_node = scan_node_new(s, SCAN_MAX_DEPTH, "split")))
		err = -ENOMEM;
	return err;
}

int session_bind_db_public(struct inspect_session *s)
{
	return session_bind_db(s);
}

struct inspect_session *inspect_session_new(struct inspect_chain *chain)
{
	struct inspect_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->chain = inspect_chain_get(chain);
	if (session_bind_db(s)) {
		inspect_session_free(s);
		return NULL;
	}
	for (size_t i = 0; i < chain->conf.n_plugins; i++) {
		const struct plugin_slot *p = &chain->conf.plugins[i];

		if (p->api->session_new)
			s->plugin_state[i] = p->api->session_new(p->instance);
	}
	return s;
}

void inspect_session_free(struct inspect_session *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->chain->conf.n_plugins; i++) {
		const struct plugin_slot *p = &s->chain->conf.plugins[i];

		if (p->api->session_free)
			p->api->session_free(p->instance, s->plugin_state[i]);
	}
	inflater_free(s->inf);
	inflater_free(s->wsd[0].inf);
	inflater_free(s->wsd[1].inf);
	session_release_scan(s);
	hs_free_scratch(s->scratch);
	inspect_chain_free(s->chain);
	free(s);
}

static void plugins_renew(struct inspect_session *s, struct inspect_chain *from)
{
	for (size_t i = 0; from && i < from->conf.n_plugins; i++) {
		const struct plugin_slot *p = &from->conf.plugins[i];

		if (p->api->session_free)
			p->api->session_free(p->instance, s->plugin_state[i]);
		s->plugin_state[i] = NULL;
	}
	for (size_t i = 0; i < s->chain->conf.n_plugins; i++) {
		const struct plugin_slot *p = &s->chain->conf.plugins[i];

		if (p->api->session_new)
			s->plugin_state[i] = p->api->session_new(p->instance);
	}
}

/*
 * Everything a message, a WebSocket or a plugin left behind goes; the scratch and the streams
 * stay (rebound at the next request_start when the database changed, a chain swap included).
 */
int inspect_session_reuse(struct inspect_session *s, struct inspect_chain *chain)
{
	struct inspect_chain *old = s->chain;

	inflater_free(s->inf);
	inflater_free(s->wsd[0].inf);
	inflater_free(s->wsd[1].inf);
	s->inf = s->wsd[0].inf = s->wsd[1].inf = NULL;
	memset(&s->v, 0, sizeof(s->v));
	s->blocked = s->in_request = s->ws = false;
	s->host[0] = s->loc[0] = 0;
	s->dec_prefix = NULL;
	s->ws_flags = 0;
	s->ws_msg_bytes = 0;
	s->form_on = s->form_in_value = s->form_skip = false;
	s->form_len = s->form_name_len = 0;
	memset(s->wsd, 0, sizeof(s->wsd));
	if (s->views.raw)
		scan_views_begin(&s->views, false, false, false);
	if (s->ctl_views.raw)
		scan_views_begin(&s->ctl_views, false, false, false);
	s->chain = inspect_chain_get(chain);
	plugins_renew(s, old);
	inspect_chain_free(old);
	return session_bind_db(s);
}

const struct inspect_verdict *inspect_verdict(const struct inspect_session *s)
{
	return &s->v;
}

bool session_inspector_on(const struct inspect_session *s, enum inspector_id id)
{
	const struct inspect_conf *conf = &s->chain->conf;

	if (!conf->enabled[id])
		return false;
	return !(conf->exempt_hosts[id] && domain_set_match(conf->exempt_hosts[id], s->host, NULL));
}

void session_finding(struct inspect_session *s, enum inspector_id who, enum inspect_action a,
		     enum inspect_severity sev, uint16_t status, const char *reason,
		     const char *rule, const char *decoders)
{
	struct inspect_verdict *v = &s->v;
	struct inspect_finding *f;

	if (a == INSPECT_ABSTAIN)
		return;
	for (unsigned i = 0; i < v->n; i++)
		if (!strcmp(v->f[i].reason, reason) && !strcmp(v->f[i].rule, rule ? rule : "") &&
		    !strcmp(v->f[i].location, s->loc))
			return;
	if (a > v->action)
		v->action = a;
	if (sev > v->severity)
		v->severity = sev;
	if (a == INSPECT_BLOCK && !v->status)
		v->status = status;
	if (a == INSPECT_BLOCK)
		s->blocked = true;
	if (v->n == INSPECT_MAX_FINDINGS) {
		v->dropped++;
		return;
	}
	f = &v->f[v->n++];
	f->action = a;
	f->severity = sev;
	f->inspector = ids_name[who];
	f->status = a == INSPECT_BLOCK ? status : 0;
	snprintf(f->reason, sizeof(f->reason), "%s", reason);
	snprintf(f->rule, sizeof(f->rule), "%s", rule ? rule : "");
	snprintf(f->location, sizeof(f->location), "%s", s->loc);
	if (s->dec_prefix && decoders && decoders[0])
		snprintf(f->decoders, sizeof(f->decoders), "%s>%s", s->dec_prefix, decoders);
	else
		snprintf(f->decoders, sizeof(f->decoders), "%s",
			 s->dec_prefix ? s->dec_prefix : decoders ? decoders : "");
}

void session_rule_hit(struct inspect_session *s, unsigned id, const char *decoders)
{
	const struct scan_rule *r;

	if (id >= s->db->n_rules)
		return;
	r = &s->db->rules[id];
	if (!r->known && !s->scan_patterns)
		return;
	if (r->exempt && domain_set_match(r->exempt, s->host, NULL)) {
		if (!r->known)
			return;
		/* A known value on a host it is bound to: exempt exactly where the secrets engine
		 * would have put it (strict mode, the rule's headers, or inject_body). */
		bool hdr = !strncmp(s->loc, "header:", 7);
		enum secrets_location where =
			hdr ? (s->loc_is_name ? SECRETS_LOC_HEADER_NAME : SECRETS_LOC_HEADER)
			: !strcmp(s->loc, "body") ? SECRETS_LOC_BODY
			: !strcmp(s->loc, "ws-frame") ? SECRETS_LOC_WEBSOCKET : SECRETS_LOC_TARGET;

		if (secrets_location_bound(where, hdr ? s->loc + 7 : "", hdr ? strlen(s->loc + 7) : 0,
					   (const char *const *)r->bind_headers, r->n_bind_headers,
					   r->bind_anywhere))
			return;
	}
	session_finding(s, INSPECTOR_SECRETS, r->action, r->severity, 403, "dlp.hit", r->name,
			decoders);
}

void session_set_loc(struct inspect_session *s, const char *loc)
{
	snprintf(s->loc, sizeof(s->loc), "%s", loc);
}

static void set_loc(struct inspect_session *s, const char *loc)
{
	session_set_loc(s, loc);
}

static int scan_location(struct inspect_session *s, const char *loc, const char *p, size_t len,
			 bool pct, bool plus, bool json)
{
	int err;

	set_loc(s, loc);
	scan_views_begin(&s->views, pct, plus, json);
	err = scan_views_feed(&s->views, (const uint8_t *)p, len);
	if (!err)
		err = scan_views_end(&s->views);
	return err;
}

static int plugin_result(struct inspect_session *s, const struct plugin_slot *p, int rc,
			 const struct inspect_plugin_result *out)
{
	char reason[40], loc[72];

	if (rc == INSPECT_ABSTAIN)
		return 0;
	snprintf(reason, sizeof(reason), "plugin.%.30s", p->api->name);
	snprintf(loc, sizeof(loc), "%s", s->loc);
	if (out->location[0])
		set_loc(s, out->location);
	session_finding(s, INSPECTOR_CUSTOM, rc == INSPECT_FLAG ? INSPECT_FLAG : INSPECT_BLOCK,
			rc == INSPECT_FLAG || rc == INSPECT_BLOCK ? out->severity : INSPECT_SEV_ERROR,
			403, out->reason[0] ? out->reason : reason, p->api->name, NULL);
	set_loc(s, loc);
	return 0;
}

int session_plugins(struct inspect_session *s, enum plugin_step step, const void *req,
		    const uint8_t *data, size_t len)
{
	const struct inspect_conf *conf = &s->chain->conf;

	if (!session_inspector_on(s, INSPECTOR_CUSTOM))
		return 0;
	for (size_t i = 0; i < conf->n_plugins && !s->blocked; i++) {
		const struct plugin_slot *p = &conf->plugins[i];
		const struct inspect_plugin *api = p->api;
		struct inspect_plugin_result out = { .severity = INSPECT_SEV_WARNING };
		void *st = s->plugin_state[i];
		int rc = INSPECT_ABSTAIN;

		switch (step) {
		case PS_START:
			if (api->request_start)
				rc = api->request_start(p->instance, st, req, &out);
			break;
		case PS_BODY:
			if (api->body_chunk)
				rc = api->body_chunk(p->instance, st, data, len, &out);
			break;
		case PS_END:
			if (api->end)
				rc = api->end(p->instance, st, &out);
			break;
		case PS_WS_CHUNK:
			if (api->ws_message_chunk)
				rc = api->ws_message_chunk(p->instance, st, data, len, &out);
			break;
		case PS_WS_END:
			if (api->ws_message_end)
				rc = api->ws_message_end(p->instance, st, &out);
			break;
		}
		out.reason[sizeof(out.reason) - 1] = 0;
		out.location[sizeof(out.location) - 1] = 0;
		plugin_result(s, p, rc, &out);
	}
	return 0;
}

static void reset_message(struct inspect_session *s)
{
	memset(&s->v, 0, sizeof(s->v));
	s->blocked = false;
	s->dec_prefix = NULL;
	s->wire_bytes = s->body_bytes = 0;
	memset(s->hist, 0, sizeof(s->hist));
	s->magic_len = 0;
	s->ctype[0] = 0;
	s->ct_text = s->ct_binary = s->ct_form = s->ct_json = s->ct_multipart = false;
	s->form_on = false;
	inflater_free(s->inf);
	s->inf = NULL;
}

static bool header_is(const struct inspect_header *h, const char *name)
{
	return h->name_len == strlen(name) && !strncasecmp(h->name, name, h->name_len);
}

static void domain_step(struct inspect_session *s)
{
	const struct inspect_conf *conf = &s->chain->conf;

	if (!session_inspector_on(s, INSPECTOR_DOMAIN))
		return;
	set_loc(s, "url");
	if (domain_set_match(conf->block, s->host, NULL))
		session_finding(s, INSPECTOR_DOMAIN, INSPECT_BLOCK, INSPECT_SEV_ERROR, 403,
				"domain.blocked", NULL, NULL);
	else if (domain_set_count(conf->allow) && !domain_set_match(conf->allow, s->host, NULL))
		session_finding(s, INSPECTOR_DOMAIN, INSPECT_BLOCK, INSPECT_SEV_ERROR, 403,
				"domain.not_allowed", NULL, NULL);
}

/* Splits an origin-form or absolute-form target into path and query. */
static void split_target(const char *t, size_t len, const char **path, size_t *plen,
			 const char **query, size_t *qlen)
{
	const char *end = t + len, *p = t, *q, *hash;

	if (len && t[0] != '/') {
		const char *sch = memmem(t, len, "://", 3);

		if (sch) {
			p = memchr(sch + 3, '/', (size_t)(end - sch - 3));
			if (!p)
				p = end;
		}
	}
	hash = memchr(p, '#', (size_t)(end - p));
	if (hash)
		end = hash;
	q = memchr(p, '?', (size_t)(end - p));
	*path = p;
	*plen = (size_t)((q ? q : end) - p);
	*query = q ? q + 1 : end;
	*qlen = q ? (size_t)(end - q - 1) : 0;
}

static int secrets_step(struct inspect_session *s, const struct inspect_request *req)
{
	const char *path, *query;
	size_t plen, qlen;
	int err;

	if (!s->scan_active)
		return 0;
	split_target(req->target, req->target_len, &path, &plen, &query, &qlen);
	err = scan_location(s, "path", path, plen, true, false, false);
	if (!err && qlen)
		err = scan_location(s, "query", query, qlen, true, true, false);
	for (size_t i = 0; !err && i < req->n_headers; i++) {
		const struct inspect_header *h = &req->headers[i];
		char loc[72];
		size_t n = snprintf(loc, sizeof(loc), "header:%.*s", (int)h->name_len, h->name);

		for (size_t k = 7; k < n && k < sizeof(loc); k++)
			loc[k] = (char)((loc[k] >= 'A' && loc[k] <= 'Z') ? loc[k] + 32 : loc[k]);
		/* A secret can hide in a header name too: scan "name: value" as one location. */
		s->loc_is_name = true;
		err = scan_location(s, loc, h->name, h->name_len, false, false, false);
		s->loc_is_name = false;
		if (!err)
			err = scan_location(s, loc, h->value, h->value_len, true, false, false);
	}
	return err;
}

static bool sig_param_allowed(const struct inspect_session *s, const char *name, size_t len)
{
	static const struct { const char *host, *param; } builtin[] = {
		{ "cloudfront.net", "Policy" }, { "cloudfront.net", "Signature" },
		{ "cloudfront.net", "Key-Pair-Id" }, { "amazonaws.com", "X-Amz-*" },
		{ "googleapis.com", "X-Goog-Signature" }, { "googleapis.com", "X-Goog-Credential" },
		{ "core.windows.net", "sig" }, { "core.windows.net", "se" },
		{ "core.windows.net", "sp" },
	};
	const struct inspect_conf *conf = &s->chain->conf;

	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		const char *p = builtin[i].param;
		size_t pl = strlen(p), hl = strlen(builtin[i].host), sl = strlen(s->host);
		bool host_ok = sl >= hl && !strcmp(s->host + sl - hl, builtin[i].host) &&
			       (sl == hl || s->host[sl - hl - 1] == '.');

		if (!host_ok)
			continue;
		if (p[pl - 1] == '*' ? (len >= pl - 1 && !strncasecmp(name, p, pl - 1))
				     : (len == pl && !strncasecmp(name, p, pl)))
			return true;
	}
	for (size_t i = 0; i < conf->n_sig_params; i++) {
		struct domain_set *one = domain_set_new();
		bool host_ok;

		if (!one)
			return false;
		domain_set_add(one, conf->sig_params[i].host, 0);
		host_ok = domain_set_match(one, s->host, NULL);
		domain_set_free(one);
		for (size_t k = 0; host_ok && k < conf->sig_params[i].params.n; k++) {
			const char *p = conf->sig_params[i].params.v[k];
			size_t pl = strlen(p);

			if (pl && p[pl - 1] == '*' ? (len >= pl - 1 && !strncasecmp(name, p, pl - 1))
						   : (len == pl && !strncasecmp(name, p, pl)))
				return true;
		}
	}
	return false;
}

/* A query value, path segment or form value: percent-decoded, then token_entropy(). */
static void entropy_value(struct inspect_session *s, const char *loc, const char *rule,
			  const char *p, size_t len)
{
	const struct inspect_conf *conf = &s->chain->conf;
	uint8_t buf[2048];
	size_t n;

	if (len < conf->min_url || len > sizeof(buf) - TEXTDEC_SLACK)
		return;
	n = pct_decode_all((const uint8_t *)p, len, true, buf);
	if (n < conf->min_url || ctype_base64_image(buf, n) ||
	    token_entropy(buf, n) <= conf->url_threshold)
		return;
	set_loc(s, loc);
	session_finding(s, INSPECTOR_ENTROPY, conf->entropy_action,
			conf->entropy_action == INSPECT_BLOCK ? INSPECT_SEV_ERROR : INSPECT_SEV_WARNING,
			403, "dlp.entropy", rule, NULL);
}

/*
 * A value under min_url_bytes (too short to measure alone) goes to the split record: the
 * host's recent short values, judged together (split.c, row 67).
 */
static void split_collect(struct inspect_session *s, const char *loc, const char *p, size_t len,
			  bool plus)
{
	const struct inspect_conf *conf = &s->chain->conf;
	uint8_t *dst = s->split_bytes + s->split_used;
	size_t n;

	if (!s->split_on || len < conf->split_min || len >= conf->min_url || len > SPLIT_BUF / 2 ||
	    s->split_n == sizeof(s->split_pc) / sizeof(s->split_pc[0]) ||
	    s->split_used + len + TEXTDEC_SLACK > sizeof(s->split_bytes))
		return;
	n = pct_decode_all((const uint8_t *)p, len, plus, dst);
	if (n < conf->split_min || n >= conf->min_url)
		return;
	s->split_pc[s->split_n++] = (struct split_piece){ dst, n };
	s->split_used += n;
	snprintf(s->split_loc, sizeof(s->split_loc), "%s", loc);
}

static void split_url_collect(struct inspect_session *s, const struct inspect_request *req)
{
	const char *path, *query;
	size_t plen, qlen;

	if (!s->split_on)
		return;
	split_target(req->target, req->target_len, &path, &plen, &query, &qlen);
	for (size_t b = 0; b < plen;) {
		const char *e = memchr(path + b, '/', plen - b);
		size_t end = e ? (size_t)(e - path) : plen;

		split_collect(s, "path", path + b, end - b, false);
		b = end + 1;
	}
	for (size_t b = 0; b < qlen;) {
		const char *e = memchr(query + b, '&', qlen - b);
		size_t end = e ? (size_t)(e - query) : qlen;
		const char *eq = memchr(query + b, '=', end - b);

		if (eq && !sig_param_allowed(s, query + b, (size_t)(eq - query - b)))
			split_collect(s, "query", eq + 1, (size_t)(query + end - eq - 1), true);
		else if (!eq)
			split_collect(s, "query", query + b, end - b, true);
		b = end + 1;
	}
}

/*
 * The message's short values join the host's record. Over the budget (entropy on): dlp.split.
 * The recent values, concatenated in the order sent, are rescanned for known values and
 * secret patterns; only a match reaching into this message's bytes counts, so a value found
 * once does not block every later request to the host. A blocked message's values are
 * recorded too: the next piece of the same secret joins them.
 */
static int split_step(struct inspect_session *s)
{
	const struct inspect_conf *conf = &s->chain->conf;
	bool entropy = conf->split_budget && session_inspector_on(s, INSPECTOR_ENTROPY);
	struct split_result r;
	int err = 0;

	if (!s->split_n)
		return 0;
	split_record(s->chain->split, conf, s->host, s->split_pc, s->split_n, entropy, split_now(),
		     &r);
	s->split_n = s->split_used = 0;
	if (s->blocked || !r.len)
		return 0;
	set_loc(s, s->split_loc);
	if (r.over_budget)
		session_finding(s, INSPECTOR_ENTROPY, conf->split_action,
				conf->split_action == INSPECT_BLOCK ? INSPECT_SEV_ERROR
								    : INSPECT_SEV_WARNING,
				403, "dlp.split", "cumulative_entropy", NULL);
	if (!s->scan_active)
		return 0;
	/*
	 * Every pattern reports once per stream (HS_FLAG_SINGLEMATCH) and all windows of a known
	 * value share one id, so one pass over everything would report only the oldest window.
	 * Patterns: the whole record, for tokens whose first match completes now. Known values:
	 * from KNOWN_WINDOW - 1 bytes before the new ones, so any window reaching into them is
	 * the first of its stream.
	 */
	for (int pass = SPLIT_PASS_PATTERNS; !err && pass <= SPLIT_PASS_KNOWN; pass++) {
		size_t old = r.len - r.fresh;
		size_t from = pass == SPLIT_PASS_KNOWN && old > KNOWN_WINDOW - 1
			      ? old - (KNOWN_WINDOW - 1) : 0;

		s->split_pass = pass;
		s->split_skip = old - from;
		err = scan_node_feed(s->split_node, r.buf + from, r.len - from);
		if (!err)
			err = scan_node_end(s->split_node);
	}
	s->split_skip = 0;
	return err;
}

static void entropy_url_step(struct inspect_session *s, const struct inspect_request *req)
{
	const char *path, *query;
	size_t plen, qlen;

	if (!session_inspector_on(s, INSPECTOR_ENTROPY))
		return;
	split_target(req->target, req->target_len, &path, &plen, &query, &qlen);
	for (size_t b = 0; b < plen;) {
		const char *e = memchr(path + b, '/', plen - b);
		size_t end = e ? (size_t)(e - path) : plen;

		entropy_value(s, "path", "path_segment", path + b, end - b);
		b = end + 1;
	}
	for (size_t b = 0; b < qlen;) {
		const char *e = memchr(query + b, '&', qlen - b);
		size_t end = e ? (size_t)(e - query) : qlen;
		const char *eq = memchr(query + b, '=', end - b);

		if (eq && !sig_param_allowed(s, query + b, (size_t)(eq - query - b)))
			entropy_value(s, "query", "query_value", eq + 1, (size_t)(query + end - eq - 1));
		else if (!eq)
			entropy_value(s, "query", "query_value", query + b, end - b);
		b = end + 1;
	}
}

/*
 * Form bodies carry the same name=value pairs as a query, and the same tokens (row 71:
 * `curl -d "t=$TOKEN"`): each value is checked like a query value as it completes. Values
 * longer than the buffer are left to the body-wide check, as long query values are.
 */
static void form_value_end(struct inspect_session *s)
{
	if (s->form_in_value && !s->form_skip &&
	    !sig_param_allowed(s, s->form_name, s->form_name_len)) {
		if (s->form_entropy)
			entropy_value(s, "body", "form_value", (const char *)s->form_val, s->form_len);
		split_collect(s, "body", (const char *)s->form_val, s->form_len, true);
	}
	s->form_in_value = s->form_skip = false;
	s->form_len = s->form_name_len = 0;
}

static void form_feed(struct inspect_session *s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len && !s->blocked; i++) {
		uint8_t c = p[i];

		if (c == '&') {
			form_value_end(s);
		} else if (!s->form_in_value) {
			if (c == '=')
				s->form_in_value = true;
			else if (s->form_name_len < sizeof(s->form_name))
				s->form_name[s->form_name_len++] = (char)c;
		} else if (s->form_len < sizeof(s->form_val)) {
			s->form_val[s->form_len++] = c;
		} else {
			s->form_skip = true;
		}
	}
}

static void content_headers(struct inspect_session *s, const struct inspect_request *req)
{
	const struct inspect_conf *conf = &s->chain->conf;
	long hi;

	s->max_body = conf->max_body;
	hi = host_table_lookup(&conf->host_max_body, s->host);
	if (hi >= 0)
		s->max_body = conf->host_max_body_v[hi];
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct inspect_header *h = &req->headers[i];

		if (header_is(h, "content-type"))
			snprintf(s->ctype, sizeof(s->ctype), "%.*s", (int)h->value_len, h->value);
	}
	s->ct_text = s->ctype[0] && ctype_is_text(s->ctype);
	s->ct_form = !strncasecmp(s->ctype, "application/x-www-form-urlencoded", 33);
	s->ct_multipart = !strncasecmp(s->ctype, "multipart/", 10);
	s->ct_json = strcasestr(s->ctype, "json") != NULL;
	s->ct_binary = s->ctype[0] && !s->ct_text;
	s->entropy_exempt = s->ctype[0] && ctype_list_has_prefix(&conf->entropy_exempt_ct, s->ctype);
	s->form_entropy = !s->entropy_exempt && session_inspector_on(s, INSPECTOR_ENTROPY);
	s->form_on = s->ct_form && (s->form_entropy || s->split_on);
	/* The byte histogram is a good part of a large body's scan: counted only for the two
	 * checks that read it (entropy_end, content_type_end). */
	s->hist_on = (session_inspector_on(s, INSPECTOR_ENTROPY) && !s->entropy_exempt) ||
		     (session_inspector_on(s, INSPECTOR_CONTENT_TYPE) && s->ct_text);
	s->form_in_value = s->form_skip = false;
	s->form_len = s->form_name_len = 0;
}

static void body_size_headers(struct inspect_session *s, const struct inspect_request *req)
{
	const struct inspect_conf *conf = &s->chain->conf;
	uint64_t hdr_bytes = 0;

	if (!session_inspector_on(s, INSPECTOR_BODY_SIZE))
		return;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct inspect_header *h = &req->headers[i];

		hdr_bytes += h->name_len + h->value_len + 4;
		if (header_is(h, "content-length") && s->max_body &&
		    strtoull(h->value, NULL, 10) > s->max_body) {
			set_loc(s, "body");
			session_finding(s, INSPECTOR_BODY_SIZE, INSPECT_BLOCK, INSPECT_SEV_ERROR, 413,
					"limit.body", NULL, NULL);
		}
	}
	if (conf->max_header_bytes && hdr_bytes + req->target_len > conf->max_header_bytes) {
		set_loc(s, "url");
		session_finding(s, INSPECTOR_BODY_SIZE, INSPECT_BLOCK, INSPECT_SEV_ERROR, 431,
				"limit.headers", NULL, NULL);
	}
}

static int encoding_step(struct inspect_session *s, const struct inspect_request *req)
{
	const struct inspect_conf *conf = &s->chain->conf;
	enum inflate_kind kind;
	int rc;

	for (size_t i = 0; i < req->n_headers; i++) {
		const struct inspect_header *h = &req->headers[i];

		if (!header_is(h, "content-encoding"))
			continue;
		rc = inflate_kind_parse(h->value, h->value_len, &kind);
		if (rc == 1)
			continue;
		set_loc(s, "body");
		if (rc || s->inf) {
			session_finding(s, INSPECTOR_SECRETS, INSPECT_BLOCK, INSPECT_SEV_ERROR, 415,
					"decode.unsupported", NULL, NULL);
			return 0;
		}
		rc = inflater_new(kind, conf->max_inflate, conf->inflate_ratio, &s->inf);
		if (rc)
			return rc;
		s->dec_prefix = inflate_kind_name(kind);
	}
	return 0;
}

int inspect_request_start(struct inspect_session *s, const struct inspect_request *req)
{
	const struct inspect_conf *conf = &s->chain->conf;
	int err;

	reset_message(s);
	s->ws = false;
	err = session_bind_db(s);
	if (err)
		return err;
	snprintf(s->host, sizeof(s->host), "%s", req->host ? req->host : "");
	s->scan_patterns = session_inspector_on(s, INSPECTOR_SECRETS);
	s->scan_active = s->scan_patterns || s->db->n_rules > secret_family_count + conf->n_extra;
	s->in_request = true;
	/* Split records: for the entropy budget, or to find known values sent in pieces. */
	s->split_on = (conf->split_budget && session_inspector_on(s, INSPECTOR_ENTROPY)) ||
		      s->db->n_rules > secret_family_count + conf->n_extra;
	s->split_n = s->split_used = 0;

	domain_step(s);
	if (!s->blocked)
		err = secrets_step(s, req);
	content_headers(s, req);
	if (!err && !s->blocked)
		body_size_headers(s, req);
	if (!err && !s->blocked)
		entropy_url_step(s, req);
	if (!err) {
		split_url_collect(s, req);
		err = split_step(s);
	}
	if (!err && !s->blocked && session_inspector_on(s, INSPECTOR_RATE_LIMIT)) {
		long hi = host_table_lookup(&conf->host_rate, s->host);

		if (!ratelimit_take(s->chain, s->host, hi >= 0 ? conf->host_rate_v[hi] : conf->rate,
				    hi >= 0 ? conf->host_burst_v[hi] : conf->burst)) {
			set_loc(s, "url");
			session_finding(s, INSPECTOR_RATE_LIMIT, INSPECT_BLOCK, INSPECT_SEV_WARNING,
					429, "limit.rate", NULL, NULL);
		}
	}
	if (!err && !s->blocked) {
		struct inspect_plugin_request pr = { req->method, s->host, req->target,
						     req->target_len, req->headers, req->n_headers };

		set_loc(s, "url");
		session_plugins(s, PS_START, &pr, NULL, 0);
	}
	if (!err && !s->blocked)
		err = encoding_step(s, req);
	set_loc(s, "body");
	/* Form-style percent-decoding for forms, multipart (filename*) and untyped bodies; JSON
	 * escapes for JSON and untyped bodies. Raw bytes are always scanned as well. */
	scan_views_begin(&s->views, s->ct_form || s->ct_multipart || !s->ctype[0] ||
			 !strncasecmp(s->ctype, "text/plain", 10), s->ct_form,
			 s->ct_json || !s->ctype[0] || !strncasecmp(s->ctype, "text/plain", 10));
	if (err)
		return err;
	return s->v.action;
}

/*
 * The byte histogram of the entropy checks. One table makes every byte wait for the store of
 * the one before whenever the two are equal, as runs of the same character and small
 * alphabets (base64 text) often are; four tables taken in turn keep four counts going at
 * once, summed into hist at the end (3 KiB to clear and add, so short pieces take the plain
 * loop). About 10% faster on the bench VM, where store throughput bounds it.
 */
static void hist_add(uint32_t hist[256], const uint8_t *p, size_t len)
{
	uint32_t t[3][256];
	size_t i = 0;

	if (len < 4096) {
		for (; i < len; i++)
			hist[p[i]]++;
		return;
	}
	memset(t, 0, sizeof(t));
	for (; i + 4 <= len; i += 4) {
		hist[p[i]]++;
		t[0][p[i + 1]]++;
		t[1][p[i + 2]]++;
		t[2][p[i + 3]]++;
	}
	for (; i < len; i++)
		hist[p[i]]++;
	for (int c = 0; c < 256; c++)
		hist[c] += t[0][c] + t[1][c] + t[2][c];
}

static int body_decoded(void *ctx, const uint8_t *p, size_t len)
{
	struct inspect_session *s = ctx;
	int err = 0;

	s->body_bytes += len;
	if (s->magic_len < sizeof(s->magic)) {
		size_t n = sizeof(s->magic) - s->magic_len < len ? sizeof(s->magic) - s->magic_len
								  : len;

		memcpy(s->magic + s->magic_len, p, n);
		s->magic_len += n;
	}
	if (s->hist_on)
		hist_add(s->hist, p, len);
	if (s->form_on)
		form_feed(s, p, len);
	if (s->scan_active)
		err = scan_views_feed(&s->views, p, len);
	if (!err)
		session_plugins(s, PS_BODY, NULL, p, len);
	return err;
}

static void decode_error(struct inspect_session *s, int err)
{
	set_loc(s, "body");
	if (err == -EFBIG)
		session_finding(s, INSPECTOR_BODY_SIZE, INSPECT_BLOCK, INSPECT_SEV_ERROR, 413,
				"limit.inflate", NULL, NULL);
	else
		session_finding(s, INSPECTOR_SECRETS, INSPECT_BLOCK, INSPECT_SEV_ERROR, 400,
				"decode.failed", NULL, NULL);
}

int inspect_body_chunk(struct inspect_session *s, const void *data, size_t len)
{
	int err;

	if (!s->in_request)
		return -EINVAL;
	if (s->blocked)
		return INSPECT_BLOCK;
	/* Bytes over the limit are neither scanned nor to be forwarded. */
	if (session_inspector_on(s, INSPECTOR_BODY_SIZE) && s->max_body &&
	    s->wire_bytes + len > s->max_body) {
		set_loc(s, "body");
		session_finding(s, INSPECTOR_BODY_SIZE, INSPECT_BLOCK, INSPECT_SEV_ERROR, 413,
				"limit.body", NULL, NULL);
		return INSPECT_BLOCK;
	}
	s->wire_bytes += len;
	if (s->inf)
		err = inflater_feed(s->inf, data, len, body_decoded, s);
	else
		err = body_decoded(s, data, len);
	if (err == -EFBIG || err == -EBADMSG)
		decode_error(s, err);
	else if (err)
		return err;
	return s->v.action;
}

static void entropy_end(struct inspect_session *s)
{
	const struct inspect_conf *conf = &s->chain->conf;
	double h;

	if (!session_inspector_on(s, INSPECTOR_ENTROPY) || s->entropy_exempt ||
	    s->body_bytes < conf->min_body)
		return;
	h = shannon_entropy(s->hist, s->body_bytes);
	if (h >= conf->body_threshold)
		session_finding(s, INSPECTOR_ENTROPY, conf->entropy_action,
				conf->entropy_action == INSPECT_BLOCK ? INSPECT_SEV_ERROR
								      : INSPECT_SEV_WARNING,
				403, "dlp.entropy", NULL, NULL);
}

static void content_type_end(struct inspect_session *s)
{
	const struct inspect_conf *conf = &s->chain->conf;
	enum inspect_severity sev = conf->ct_action == INSPECT_BLOCK ? INSPECT_SEV_ERROR
								     : INSPECT_SEV_WARNING;

	if (!session_inspector_on(s, INSPECTOR_CONTENT_TYPE) || !s->ctype[0] || !s->body_bytes)
		return;
	if (ctype_check_magic(s->ctype, s->magic, s->magic_len) == CTM_MISMATCH) {
		session_finding(s, INSPECTOR_CONTENT_TYPE, INSPECT_BLOCK, INSPECT_SEV_ERROR, 403,
				"dlp.ctype_mismatch", NULL, NULL);
		return;
	}
	if (!s->ct_text)
		return;
	if (s->body_bytes >= 64 && shannon_entropy(s->hist, s->body_bytes) > conf->ct_ceiling)
		session_finding(s, INSPECTOR_CONTENT_TYPE, conf->ct_action, sev, 403,
				"dlp.ctype_entropy", NULL, NULL);
	else if (conf->detect_base64 && s->views.raw && s->views.raw->max_run >= conf->base64_min)
		session_finding(s, INSPECTOR_CONTENT_TYPE, conf->ct_action, sev, 403,
				"dlp.ctype_base64", NULL, NULL);
}

int inspect_end(struct inspect_session *s)
{
	int err = 0;

	if (!s->in_request)
		return -EINVAL;
	s->in_request = false;
	if (s->blocked)
		return INSPECT_BLOCK;
	set_loc(s, "body");
	if (s->inf) {
		err = inflater_finish(s->inf, body_decoded, s);
		if (err == -EBADMSG || err == -EFBIG) {
			decode_error(s, err);
			return INSPECT_BLOCK;
		}
	}
	if (!err && s->scan_active)
		err = scan_views_end(&s->views);
	if (err)
		return err;
	if (!s->blocked && s->form_on)
		form_value_end(s);
	if (!s->blocked)
		err = split_step(s);
	if (err)
		return err;
	if (!s->blocked)
		entropy_end(s);
	if (!s->blocked)
		content_type_end(s);
	if (!s->blocked)
		session_plugins(s, PS_END, NULL, NULL, 0);
	return s->v.action;
}

const char *inspect_action_name(enum inspect_action a)
{
	return a == INSPECT_BLOCK ? "block" : a == INSPECT_FLAG ? "flag" : "abstain";
}

const char *inspect_severity_name(enum inspect_severity sev)
{
	static const char *const names[] = { "debug", "info", "warning", "error", "critical" };

	return (unsigned)sev < 5 ? names[sev] : "?";
}

int inspect_verdict_json(const struct inspect_verdict *v, char *out, size_t outlen)
{
	const struct inspect_finding *f = NULL;
	int n;

	for (unsigned i = 0; i < v->n && !f; i++)
		if (v->f[i].action == INSPECT_BLOCK)
			f = &v->f[i];
	/* Names and locations are built from fixed strings and header names, which the HTTP
	 * parser limits to token bytes: nothing here needs JSON escaping. */
	n = snprintf(out, outlen,
		     "{\"error\":\"blocked by cagectl\",\"reason\":\"%s\",\"rule\":\"%s\","
		     "\"location\":\"%s\",\"inspector\":\"%s\"}\n",
		     f ? f->reason : "", f ? f->rule : "", f ? f->location : "",
		     f ? f->inspector : "");
	return n < 0 || (size_t)n >= outlen ? -ENOSPC : n;
}
