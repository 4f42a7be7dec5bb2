// SPDX-License-Identifier: GPL-2.0-only
/*
 * The inspector chain inside cage-proxy: request heads and bodies of the agent go through
 * inspect_request_start / inspect_body_chunk / inspect_end. A block answers the chain's status
 * (403, 413, 429, 431) with the reason; every verdict that found something is audited with
 * rule, location and decoders (never the matched bytes). A reload swaps in a new chain while
 * requests on the old one finish (px_insp_load).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "config/config.h"
#include "inspect/inspect.h"
#include "lib/log.h"
#include "proxy/hooks_inspect.h"
#include "proxy/proxy.h"
#include "secrets/secrets.h"

/* The current chain. A reload builds a new one and swaps it in under the lock; requests that
 * started on the old one hold a reference to it (their session) until they end. */
static pthread_mutex_t chain_lock = PTHREAD_MUTEX_INITIALIZER;
static struct inspect_chain *chain;

/*
 * Finished sessions of the current chain, reset and ready (under chain_lock). A new session
 * allocates a Vectorscan scratch and opens its streams, about a tenth of the proxy's CPU on
 * small keep-alive requests; a spare costs a reset. The pool is global rather than per thread
 * so it stays reachable (and bounded) whatever the worker threads do. A reload empties it.
 */
#define SPARE_MAX 16
static struct inspect_session *spare[SPARE_MAX];
static size_t n_spare;

struct px_insp {
	struct inspect_session *s;
	char host[DOMAIN_BUF_SIZE];
	uint16_t port;
	const char *method;
	bool audited;
	bool ws;                 /* inspect_ws_start() done */
};

static struct inspect_chain *chain_current(void)
{
	struct inspect_chain *c;

	pthread_mutex_lock(&chain_lock);
	c = inspect_chain_get(chain);
	pthread_mutex_unlock(&chain_lock);
	return c;
}

static void chain_publish(struct inspect_chain *c)
{
	struct inspect_session *drop[SPARE_MAX];
	struct inspect_chain *old;
	size_t n;

	pthread_mutex_lock(&chain_lock);
	old = chain;
	chain = c;
	n = n_spare;
	memcpy(drop, spare, n * sizeof(*drop));
	n_spare = 0;
	pthread_mutex_unlock(&chain_lock);
	/* Spares of the old chain would keep it (and its database) alive: free them. */
	for (size_t i = 0; i < n; i++)
		inspect_session_free(drop[i]);
	inspect_chain_free(old);
}

/* A session on the current chain: a spare when there is one, else a new one. Spares are
 * always of the current chain (a reload empties the pool under the same lock); a known-values
 * swap on it is picked up by inspect_request_start(), which rebinds the database. */
static struct inspect_session *session_take(void)
{
	struct inspect_session *s = NULL;
	struct inspect_chain *c = NULL;

	pthread_mutex_lock(&chain_lock);
	if (n_spare)
		s = spare[--n_spare];
	else
		c = inspect_chain_get(chain);
	pthread_mutex_unlock(&chain_lock);
	if (!s && c)
		s = inspect_session_new(c);
	inspect_chain_free(c); /* the session holds its own reference */
	return s;
}

/* Parks a finished session, reset now so it holds nothing of this request. */
static void session_give(struct inspect_session *s)
{
	struct inspect_chain *c = chain_current();
	bool kept = false;

	if (c && !inspect_session_reuse(s, c)) {
		pthread_mutex_lock(&chain_lock);
		if (chain == c && n_spare < SPARE_MAX) {
			spare[n_spare++] = s;
			kept = true;
		}
		pthread_mutex_unlock(&chain_lock);
	}
	inspect_chain_free(c);
	if (!kept)
		inspect_session_free(s);
}

/* The real values (from rs) of the secrets names[0..n), by name; NULL where none is stored.
 * Free with values_free(). */
static char **values_for(const char *const *names, size_t n, const struct secrets_ruleset *rs)
{
	const struct secrets_known_value *kv;
	size_t n_kv = 0;
	char **vals = calloc(n ? n : 1, sizeof(*vals));

	if (!vals)
		return NULL;
	kv = rs ? secrets_known_values(rs, &n_kv) : NULL;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; names[i] && k < n_kv; k++)
			if (!strcmp(kv[k].key, names[i]) && (vals[i] = malloc(kv[k].len + 1))) {
				memcpy(vals[i], kv[k].value, kv[k].len);
				vals[i][kv[k].len] = 0;
			}
	return vals;
}

static void values_free(char **vals, size_t n)
{
	for (size_t i = 0; vals && i < n; i++) {
		if (vals[i]) {
			OPENSSL_cleanse(vals[i], strlen(vals[i]));
			free(vals[i]);
		}
	}
	free(vals);
}

/* The real values of the chain's secrets, matched by name (the chain keeps its own copy of
 * the bindings, in the order of the config it was built from). */
static int set_known_values(struct inspect_chain *c, const struct secrets_ruleset *rs)
{
	size_t n = inspect_chain_secret_count(c);
	const char **names;
	char **vals;
	int err = -ENOMEM;

	if (!c || !rs || !n)
		return 0;
	names = calloc(n, sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		names[i] = inspect_chain_secret_name(c, i);
	vals = values_for(names, n, rs);
	if (vals)
		err = inspect_set_known_values(c, (const char *const *)vals, n);
	values_free(vals, n);
	free(names);
	return err;
}

int px_insp_setup(const struct cage_config_file *cfg, char *err, size_t errlen)
{
	return px_insp_load(cfg, NULL, err, errlen);
}

/* The chain is built with its known values in one go: one database compiled, not one
 * without them (the cacheable one, scan_cache.c) and then another with them. */
int px_insp_load(const struct cage_config_file *cfg, const struct secrets_ruleset *rs, char *err,
		 size_t errlen)
{
	struct inspect_options opt = { .plugin_dir = "/usr/lib/cagectl/inspectors" };
	struct inspect_chain *c = NULL;
	size_t n = cfg && rs ? cfg->n_secrets : 0;
	const char **names = calloc(n ? n : 1, sizeof(*names));
	char **vals = NULL;
	int rc = -ENOMEM;

	if (!names)
		goto out;
	for (size_t i = 0; i < n; i++)
		names[i] = cfg->secrets[i].name;
	vals = values_for(names, n, rs);
	if (!vals)
		goto out;
	opt.known_values = (const char *const *)vals;
	opt.n_known = n;
	/* Known values go in before the chain is visible: no request runs without them. */
	rc = inspect_chain_new(cfg, &opt, &c, err, errlen);
	if (!rc)
		chain_publish(c);
out:
	values_free(vals, n);
	free(names);
	return rc;
}

void px_insp_known_values(const struct cage_config_file *cfg, const struct secrets_ruleset *rs)
{
	struct inspect_chain *c = chain_current();

	(void)cfg;
	if (set_known_values(c, rs))
		p_warn("inspector: cannot compile the known secret values");
	inspect_chain_free(c);
}

bool px_insp_settled(double after_s)
{
	struct inspect_chain *c = chain_current();
	bool settled = inspect_chain_settled(c, after_s);

	inspect_chain_free(c);
	return settled;
}

bool px_insp_active(void)
{
	bool on;

	pthread_mutex_lock(&chain_lock);
	on = chain != NULL;
	pthread_mutex_unlock(&chain_lock);
	return on;
}

/* One record per verdict that found something: "rule@location[>decoders]" for each finding. */
static void audit_verdict(struct px_insp *x, bool blocked)
{
	const struct inspect_verdict *v = inspect_verdict(x->s);
	char detail[1024];
	size_t off = 0;

	if (x->audited || v->action == INSPECT_ABSTAIN)
		return;
	x->audited = true;
	detail[0] = 0;
	for (unsigned i = 0; i < v->n && off < sizeof(detail); i++) {
		const struct inspect_finding *f = &v->f[i];
		int n = snprintf(detail + off, sizeof(detail) - off, "%s%s rule=%s loc=%s%s%s sev=%s",
				 i ? "; " : "", f->reason, f->rule, f->location,
				 f->decoders[0] ? " dec=" : "", f->decoders,
				 inspect_severity_name(f->severity));

		if (n < 0)
			break;
		off += (size_t)n;
	}
	struct px_audit a = {
		.event = v->n ? v->f[0].reason : "inspect", .decision = blocked ? "blocked" : "flagged",
		.reason = v->n ? v->f[0].reason : "inspect", .mode = "inspect", .method = x->method,
		.host = x->host, .port = x->port, .detail = detail,
	};

	px_audit(NULL, &a);
}

/* A blocking verdict → blk: the chain's status, the first block's reason, rules and locations. */
static enum proxy_verdict judge(struct px_insp *x, int rc, struct proxy_block *blk)
{
	const struct inspect_verdict *v = inspect_verdict(x->s);
	size_t off = 0;

	if (rc >= 0 && rc != INSPECT_BLOCK)
		return PROXY_ALLOW;
	if (rc < 0) {
		blk->status = 403;
		snprintf(blk->reason, sizeof(blk->reason), "inspect.error");
		return PROXY_BLOCK;
	}
	blk->status = v->status ? v->status : 403;
	for (unsigned i = 0; i < v->n; i++) {
		if (v->f[i].action != INSPECT_BLOCK)
			continue;
		if (!blk->reason[0])
			snprintf(blk->reason, sizeof(blk->reason), "%s", v->f[i].reason);
		if (off < sizeof(blk->detail)) {
			int n = snprintf(blk->detail + off, sizeof(blk->detail) - off, "%srule=%s loc=%s",
					 off ? "; " : "", v->f[i].rule, v->f[i].location);

			off += n > 0 ? (size_t)n : 0;
		}
	}
	if (!blk->reason[0])
		snprintf(blk->reason, sizeof(blk->reason), "inspect.blocked");
	audit_verdict(x, true);
	return PROXY_BLOCK;
}

enum proxy_verdict px_insp_request(const struct proxy_msg_info *info, const struct http1_message *m,
				   const uint8_t *buf, struct px_insp **out, struct proxy_block *blk)
{
	struct inspect_header hs[HTTP1_HEADER_SLOTS];
	struct inspect_request req;
	struct px_insp *x;
	size_t n = 0;

	*out = NULL;
	if (!px_insp_active())
		return PROXY_ALLOW;
	x = calloc(1, sizeof(*x));
	if (x)
		x->s = session_take();
	if (!x || !x->s) {
		free(x);
		blk->status = 503;
		snprintf(blk->reason, sizeof(blk->reason), "inspect.out_of_memory");
		return PROXY_BLOCK;
	}
	*out = x;
	snprintf(x->host, sizeof(x->host), "%s", info->host);
	x->port = info->port;
	x->method = http1_method_name(m->method);
	for (unsigned i = 0; i < m->n_headers && n < HTTP1_HEADER_SLOTS; i++) {
		hs[n++] = (struct inspect_header){
			.name = (const char *)buf + m->headers[i].name.off, .name_len = m->headers[i].name.len,
			.value = (const char *)buf + m->headers[i].value.off,
			.value_len = m->headers[i].value.len,
		};
	}
	req = (struct inspect_request){
		.method = x->method, .host = x->host,
		.target = m->new_target ? m->new_target : (const char *)buf + m->target.off,
		.target_len = m->new_target ? m->new_target_len : m->target.len,
		.headers = hs, .n_headers = n,
	};
	return judge(x, inspect_request_start(x->s, &req), blk);
}

enum proxy_verdict px_insp_body(struct px_insp *x, const uint8_t *data, size_t len,
				struct proxy_block *blk)
{
	if (!x)
		return PROXY_ALLOW;
	return judge(x, inspect_body_chunk(x->s, data, len), blk);
}

enum proxy_verdict px_insp_end(struct px_insp *x, struct proxy_block *blk)
{
	if (!x)
		return PROXY_ALLOW;
	return judge(x, inspect_end(x->s), blk);
}

/* The session's own parser takes a control frame as wire bytes (its payload scanned on views of
 * its own, since it may sit between two fragments of a message): mask bit set, zero key. */
static int ws_control(struct px_insp *x, uint8_t opcode, const uint8_t *payload, size_t len)
{
	uint8_t frame[6 + 125] = { (uint8_t)(0x80 | opcode), (uint8_t)(0x80 | len) };

	if (len > 125)
		return -EPROTO;
	memcpy(frame + 6, payload, len);
	return inspect_ws_feed(x->s, true, frame, 6 + len);
}

enum proxy_verdict px_insp_ws_frame(struct px_insp *x, uint8_t opcode, const uint8_t *payload,
				    size_t len, struct proxy_block *blk)
{
	int rc;

	if (!x)
		return PROXY_ALLOW;
	if (!x->ws) {
		/* The upgrade request's own findings first: the WebSocket verdict starts afresh. */
		audit_verdict(x, false);
		x->audited = false;
		x->ws = true;
		rc = inspect_ws_start(x->s, x->host, 0);
		if (rc < 0)
			return judge(x, rc, blk);
	}
	if (opcode & 0x8)
		rc = ws_control(x, opcode, payload, len);
	else if (!payload)
		rc = inspect_ws_message_end(x->s);
	else if (!len)
		rc = inspect_ws_message_start(x->s);
	else
		rc = inspect_ws_message_chunk(x->s, payload, len);
	return judge(x, rc, blk);
}

void px_insp_free(struct px_insp *x)
{
	if (!x)
		return;
	audit_verdict(x, false);
	if (x->s)
		session_give(x->s);
	free(x);
}
