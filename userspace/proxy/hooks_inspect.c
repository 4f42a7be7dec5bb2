// SPDX-License-Identifier: GPL-2.0-only
/*
 * The inspector chain inside cage-proxy: request heads and bodies of the agent go through
 * inspect_request_start / inspect_body_chunk / inspect_end. A block answers the chain's status
 * (403, 413, 429, 431) with the reason; every verdict that found something is audited with
 * rule, location and decoders (never the matched bytes).
 */
#include <errno.h>
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

static struct inspect_chain *chain;

struct px_insp {
	struct inspect_session *s;
	char host[DOMAIN_BUF_SIZE];
	uint16_t port;
	const char *method;
	bool audited;
};

int px_insp_setup(const struct cage_config_file *cfg, char *err, size_t errlen)
{
	struct inspect_options opt = { .plugin_dir = "/usr/lib/cagectl/inspectors" };

	return inspect_chain_new(cfg, &opt, &chain, err, errlen);
}

void px_insp_known_values(const struct cage_config_file *cfg, const struct secrets_ruleset *rs)
{
	const struct secrets_known_value *kv;
	size_t n_kv = 0, n = cfg ? cfg->n_secrets : 0;
	char **vals;

	if (!chain || !rs || !n)
		return;
	kv = secrets_known_values(rs, &n_kv);
	vals = calloc(n, sizeof(*vals));
	if (!vals)
		return;
	/* values[i] belongs to cfg->secrets[i]: that is where the chain reads the binding. */
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n_kv; k++)
			if (!strcmp(kv[k].key, cfg->secrets[i].name) && (vals[i] = malloc(kv[k].len + 1))) {
				memcpy(vals[i], kv[k].value, kv[k].len);
				vals[i][kv[k].len] = 0;
			}
	if (inspect_set_known_values(chain, (const char *const *)vals, n))
		p_warn("inspector: cannot compile the known secret values");
	for (size_t i = 0; i < n; i++) {
		if (vals[i]) {
			OPENSSL_cleanse(vals[i], strlen(vals[i]));
			free(vals[i]);
		}
	}
	free(vals);
}

bool px_insp_active(void)
{
	return chain != NULL;
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
	if (!chain)
		return PROXY_ALLOW;
	x = calloc(1, sizeof(*x));
	if (!x || !(x->s = inspect_session_new(chain))) {
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

void px_insp_free(struct px_insp *x)
{
	if (!x)
		return;
	audit_verdict(x, false);
	inspect_session_free(x->s);
	free(x);
}
