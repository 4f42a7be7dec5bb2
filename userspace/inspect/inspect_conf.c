// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-cage inspector configuration: defaults, then each cfg->inspectors entry's config
 * mapping (YAML text re-emitted by the config loader, parsed here with libyaml through the
 * config tree). Keys are listed in docs/inspectors.md; an unknown key is an error so a typo
 * never silently weakens a cage.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "inspect/inspect_internal.h"
#include "lib/domain.h"

struct conf_ctx {
	struct inspect_conf *conf;
	const char *inspector;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct conf_ctx *c, const struct ynode *at, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at && at->line)
		snprintf(c->err, c->errlen, "inspector %s: line %u: %s", c->inspector, at->line, msg);
	else
		snprintf(c->err, c->errlen, "inspector %s: %s", c->inspector, msg);
	return -EINVAL;
}

static int get_double(struct conf_ctx *c, const struct ynode *v, double lo, double hi, double *out)
{
	char *end;
	double d;

	if (v->kind != YNODE_SCALAR)
		return fail(c, v, "expected a number");
	d = strtod(v->text, &end);
	if (end == v->text || *end || !(d >= lo && d <= hi))
		return fail(c, v, "expected a number in [%g, %g], got '%.32s'", lo, hi, v->text);
	*out = d;
	return 0;
}

static int get_u64(struct conf_ctx *c, const struct ynode *v, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long u;

	if (v->kind != YNODE_SCALAR || v->text[0] == '-')
		return fail(c, v, "expected a non-negative integer");
	errno = 0;
	u = strtoull(v->text, &end, 10);
	if (errno || end == v->text || *end || u > hi)
		return fail(c, v, "expected an integer up to %llu, got '%.32s'",
			    (unsigned long long)hi, v->text);
	*out = u;
	return 0;
}

static int get_bool(struct conf_ctx *c, const struct ynode *v, bool *out)
{
	if (v->kind == YNODE_SCALAR && (!strcmp(v->text, "true") || !strcmp(v->text, "yes"))) {
		*out = true;
		return 0;
	}
	if (v->kind == YNODE_SCALAR && (!strcmp(v->text, "false") || !strcmp(v->text, "no"))) {
		*out = false;
		return 0;
	}
	return fail(c, v, "expected true or false");
}

static int get_action(struct conf_ctx *c, const struct ynode *v, enum inspect_action *out)
{
	if (v->kind == YNODE_SCALAR && !strcmp(v->text, "block"))
		*out = INSPECT_BLOCK;
	else if (v->kind == YNODE_SCALAR && !strcmp(v->text, "flag"))
		*out = INSPECT_FLAG;
	else
		return fail(c, v, "action must be block or flag");
	return 0;
}

static int get_strv(struct conf_ctx *c, const struct ynode *v, struct ctype_list *out)
{
	if (v->kind != YNODE_SEQUENCE)
		return fail(c, v, "expected a list of strings");
	for (size_t i = 0; i < v->n_items; i++) {
		const struct ynode *it = v->items[i];
		char **nv;

		if (it->kind != YNODE_SCALAR || strlen(it->text) != it->len)
			return fail(c, it, "expected a string");
		nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		out->v = nv;
		out->v[out->n] = strdup(it->text);
		if (!out->v[out->n])
			return -ENOMEM;
		out->n++;
	}
	return 0;
}

static void ilist_free(struct ctype_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int add_host(struct conf_ctx *c, struct host_table *t, const struct ynode *k)
{
	int err;

	if (!t->set && !(t->set = domain_set_new()))
		return -ENOMEM;
	err = domain_set_add(t->set, k->text, (uint32_t)t->n);
	if (err == -EEXIST)
		return fail(c, k, "host %.64s is listed twice", k->text);
	if (err)
		return err == -ENOMEM ? err : fail(c, k, "bad host pattern '%.64s'", k->text);
	t->n++;
	return 0;
}

long host_table_lookup(const struct host_table *t, const char *host)
{
	uint32_t id;

	if (!t->set || !host || !domain_set_match(t->set, host, &id))
		return -1;
	return id;
}

bool ctype_list_has_prefix(const struct ctype_list *l, const char *ctype)
{
	for (size_t i = 0; i < l->n; i++)
		if (strncasecmp(ctype, l->v[i], strlen(l->v[i])) == 0)
			return true;
	return false;
}

static int exempt_hosts(struct conf_ctx *c, enum inspector_id id, const struct ynode *v)
{
	struct inspect_conf *conf = c->conf;

	if (v->kind != YNODE_SEQUENCE)
		return fail(c, v, "exempt_hosts: expected a list of host patterns");
	if (!conf->exempt_hosts[id] && !(conf->exempt_hosts[id] = domain_set_new()))
		return -ENOMEM;
	for (size_t i = 0; i < v->n_items; i++) {
		const struct ynode *it = v->items[i];
		int err;

		if (it->kind != YNODE_SCALAR)
			return fail(c, it, "exempt_hosts: expected a host pattern");
		err = domain_set_add(conf->exempt_hosts[id], it->text, 0);
		if (err && err != -EEXIST)
			return err == -ENOMEM ? err : fail(c, it, "bad host pattern '%.64s'", it->text);
	}
	return 0;
}

static int parse_secrets(struct conf_ctx *c, const char *key, const struct ynode *v)
{
	struct inspect_conf *conf = c->conf;

	if (!strcmp(key, "action"))
		return get_action(c, v, &conf->secrets_action);
	if (!strcmp(key, "builtin_allow_to_domains"))
		return get_bool(c, v, &conf->builtin_allow);
	if (!strcmp(key, "allow_to_domains")) {
		if (v->kind != YNODE_MAPPING)
			return fail(c, v, "allow_to_domains: expected rule: [hosts]");
		for (size_t i = 0; i + 1 < v->n_items; i += 2) {
			struct allow_entry *a = realloc(conf->allow_to, (conf->n_allow_to + 1) *
							sizeof(*a));
			int err;

			if (!a)
				return -ENOMEM;
			conf->allow_to = a;
			a = &conf->allow_to[conf->n_allow_to];
			memset(a, 0, sizeof(*a));
			a->rule = strdup(v->items[i]->text ? v->items[i]->text : "");
			if (!a->rule)
				return -ENOMEM;
			conf->n_allow_to++;
			err = get_strv(c, v->items[i + 1], &a->hosts);
			if (err)
				return err;
		}
		return 0;
	}
	if (!strcmp(key, "extra_patterns")) {
		if (v->kind != YNODE_SEQUENCE)
			return fail(c, v, "extra_patterns: expected a list of {name, pattern}");
		for (size_t i = 0; i < v->n_items; i++) {
			const struct ynode *it = v->items[i], *name = NULL, *pat = NULL;
			struct extra_pattern *e;

			if (it->kind != YNODE_MAPPING)
				return fail(c, it, "extra_patterns: expected {name, pattern}");
			for (size_t k = 0; k + 1 < it->n_items; k += 2) {
				const char *kk = it->items[k]->text ? it->items[k]->text : "";

				if (!strcmp(kk, "name"))
					name = it->items[k + 1];
				else if (!strcmp(kk, "pattern"))
					pat = it->items[k + 1];
				else if (!strcmp(kk, "env"))
					return fail(c, it, "extra_patterns: env values come from the "
						    "secrets: rules (known values), not from here");
				else
					return fail(c, it->items[k], "extra_patterns: unknown key %.32s", kk);
			}
			if (!name || !pat || name->kind != YNODE_SCALAR || pat->kind != YNODE_SCALAR)
				return fail(c, it, "extra_patterns: name and pattern are required");
			e = realloc(conf->extra, (conf->n_extra + 1) * sizeof(*e));
			if (!e)
				return -ENOMEM;
			conf->extra = e;
			e[conf->n_extra].name = strdup(name->text);
			e[conf->n_extra].regex = strdup(pat->text);
			conf->n_extra++;
			if (!e[conf->n_extra - 1].name || !e[conf->n_extra - 1].regex)
				return -ENOMEM;
		}
		return 0;
	}
	return 1;
}

static int parse_body_size(struct conf_ctx *c, const char *key, const struct ynode *v)
{
	struct inspect_conf *conf = c->conf;
	const uint64_t big = 1ull << 40;
	uint64_t u;
	int err;

	if (!strcmp(key, "max_bytes"))
		return get_u64(c, v, big, &conf->max_body);
	if (!strcmp(key, "max_header_bytes"))
		return get_u64(c, v, big, &conf->max_header_bytes);
	if (!strcmp(key, "max_inflate_bytes"))
		return get_u64(c, v, big, &conf->max_inflate);
	if (!strcmp(key, "max_ws_message_bytes"))
		return get_u64(c, v, big, &conf->max_ws_message);
	if (!strcmp(key, "inflate_ratio")) {
		err = get_u64(c, v, 1u << 20, &u);
		conf->inflate_ratio = (uint32_t)u;
		return err;
	}
	if (!strcmp(key, "host_max_bytes")) {
		if (v->kind != YNODE_MAPPING)
			return fail(c, v, "host_max_bytes: expected host: bytes");
		conf->host_max_body_v = calloc(v->n_items / 2 + 1, sizeof(uint64_t));
		if (!conf->host_max_body_v)
			return -ENOMEM;
		for (size_t i = 0; i + 1 < v->n_items; i += 2) {
			err = get_u64(c, v->items[i + 1], big, &u);
			if (!err)
				err = add_host(c, &conf->host_max_body, v->items[i]);
			if (err)
				return err;
			conf->host_max_body_v[conf->host_max_body.n - 1] = u;
		}
		return 0;
	}
	return 1;
}

static int parse_entropy(struct conf_ctx *c, const char *key, const struct ynode *v)
{
	struct inspect_conf *conf = c->conf;
	uint64_t u;
	int err;

	if (!strcmp(key, "threshold"))
		return get_double(c, v, 0, 8, &conf->body_threshold);
	if (!strcmp(key, "url_threshold"))
		return get_double(c, v, 0, 8, &conf->url_threshold);
	if (!strcmp(key, "min_body_bytes") || !strcmp(key, "min_url_bytes")) {
		err = get_u64(c, v, 1u << 30, &u);
		*(key[4] == 'b' ? &conf->min_body : &conf->min_url) = (uint32_t)u;
		return err;
	}
	if (!strcmp(key, "action"))
		return get_action(c, v, &conf->entropy_action);
	if (!strcmp(key, "split_budget") || !strcmp(key, "split_min_bytes")) {
		err = get_u64(c, v, SPLIT_BUF / 2, &u);
		*(key[6] == 'b' ? &conf->split_budget : &conf->split_min) = (uint32_t)u;
		if (!err && key[6] == 'm' && !u)
			return fail(c, v, "split_min_bytes must be at least 1");
		return err;
	}
	if (!strcmp(key, "split_window"))
		return get_double(c, v, 0.01, 86400, &conf->split_window);
	if (!strcmp(key, "split_action"))
		return get_action(c, v, &conf->split_action);
	if (!strcmp(key, "exempt_content_types")) {
		ilist_free(&conf->entropy_exempt_ct);
		return get_strv(c, v, &conf->entropy_exempt_ct);
	}
	if (!strcmp(key, "host_signature_params")) {
		if (v->kind != YNODE_MAPPING)
			return fail(c, v, "host_signature_params: expected host: [params]");
		for (size_t i = 0; i + 1 < v->n_items; i += 2) {
			struct host_params *hp = realloc(conf->sig_params, (conf->n_sig_params + 1) *
							 sizeof(*hp));
			if (!hp)
				return -ENOMEM;
			conf->sig_params = hp;
			hp = &hp[conf->n_sig_params++];
			memset(hp, 0, sizeof(*hp));
			hp->host = strdup(v->items[i]->text ? v->items[i]->text : "");
			if (!hp->host)
				return -ENOMEM;
			err = get_strv(c, v->items[i + 1], &hp->params);
			if (err)
				return err;
		}
		return 0;
	}
	return 1;
}

static int parse_content_type(struct conf_ctx *c, const char *key, const struct ynode *v)
{
	struct inspect_conf *conf = c->conf;
	uint64_t u;
	int err;

	if (!strcmp(key, "entropy_ceiling"))
		return get_double(c, v, 0, 8, &conf->ct_ceiling);
	if (!strcmp(key, "detect_base64"))
		return get_bool(c, v, &conf->detect_base64);
	if (!strcmp(key, "base64_min_len")) {
		err = get_u64(c, v, 1u << 30, &u);
		conf->base64_min = (uint32_t)u;
		return err;
	}
	if (!strcmp(key, "action"))
		return get_action(c, v, &conf->ct_action);
	return 1;
}

static int parse_rate(struct conf_ctx *c, const char *key, const struct ynode *v)
{
	struct inspect_conf *conf = c->conf;

	if (!strcmp(key, "rate"))
		return get_double(c, v, 0.001, 1e6, &conf->rate);
	if (!strcmp(key, "burst"))
		return get_double(c, v, 1, 1e7, &conf->burst);
	if (!strcmp(key, "host_rate")) {
		if (v->kind != YNODE_MAPPING)
			return fail(c, v, "host_rate: expected host: {rate, burst}");
		conf->host_rate_v = calloc(v->n_items / 2 + 1, sizeof(double));
		conf->host_burst_v = calloc(v->n_items / 2 + 1, sizeof(double));
		if (!conf->host_rate_v || !conf->host_burst_v)
			return -ENOMEM;
		for (size_t i = 0; i + 1 < v->n_items; i += 2) {
			const struct ynode *m = v->items[i + 1];
			double rate = conf->rate, burst = conf->burst;
			int err = 0;

			if (m->kind != YNODE_MAPPING)
				return fail(c, m, "host_rate: expected {rate, burst}");
			for (size_t k = 0; !err && k + 1 < m->n_items; k += 2) {
				const char *kk = m->items[k]->text ? m->items[k]->text : "";

				if (!strcmp(kk, "rate"))
					err = get_double(c, m->items[k + 1], 0.001, 1e6, &rate);
				else if (!strcmp(kk, "burst"))
					err = get_double(c, m->items[k + 1], 1, 1e7, &burst);
				else
					err = fail(c, m->items[k], "host_rate: unknown key %.32s", kk);
			}
			if (!err)
				err = add_host(c, &conf->host_rate, v->items[i]);
			if (err)
				return err;
			conf->host_rate_v[conf->host_rate.n - 1] = rate;
			conf->host_burst_v[conf->host_rate.n - 1] = burst;
		}
		return 0;
	}
	return 1;
}

static int (*const parsers[INSPECTOR_COUNT])(struct conf_ctx *, const char *,
					      const struct ynode *) = {
	[INSPECTOR_SECRETS] = parse_secrets,
	[INSPECTOR_BODY_SIZE] = parse_body_size,
	[INSPECTOR_ENTROPY] = parse_entropy,
	[INSPECTOR_CONTENT_TYPE] = parse_content_type,
	[INSPECTOR_RATE_LIMIT] = parse_rate,
};

static const char *const inspector_names[INSPECTOR_COUNT] = {
	"domain", "secrets", "body_size", "entropy", "content_type", "rate_limit", "custom",
};

static int inspector_id(const char *name, enum inspector_id *id)
{
	char norm[32];
	size_t n = strlen(name);

	if (!strncmp(name, "custom:", 7)) {
		*id = INSPECTOR_CUSTOM;
		return 0;
	}
	if (n >= sizeof(norm))
		return -ENOENT;
	for (size_t i = 0; i <= n; i++)
		norm[i] = name[i] == '-' ? '_' : name[i];
	for (int i = 0; i < INSPECTOR_CUSTOM; i++)
		if (!strcmp(norm, inspector_names[i])) {
			*id = (enum inspector_id)i;
			return 0;
		}
	return -ENOENT;
}

static int parse_mapping(struct conf_ctx *c, enum inspector_id id, const char *yaml)
{
	struct cage_config_diag diag = { 0 };
	struct ynode *root = NULL;
	int err;

	err = ynode_parse("inspector config", yaml, strlen(yaml), &root, &diag);
	if (err)
		return fail(c, NULL, "config is not valid YAML");
	if (ynode_is_null(root))
		goto out;
	if (root->kind != YNODE_MAPPING) {
		err = fail(c, root, "config must be a mapping");
		goto out;
	}
	for (size_t i = 0; !err && i + 1 < root->n_items; i += 2) {
		const char *key = root->items[i]->text ? root->items[i]->text : "";
		const struct ynode *v = root->items[i + 1];

		if (!strcmp(key, "exempt_hosts")) {
			err = exempt_hosts(c, id, v);
			continue;
		}
		err = parsers[id] ? parsers[id](c, key, v) : 1;
		if (err == 1)
			err = id == INSPECTOR_CUSTOM ? 0 : fail(c, root->items[i], "unknown key %.40s", key);
	}
out:
	ynode_free(root);
	return err;
}

static void defaults(struct inspect_conf *conf)
{
	static const char *const exempt_ct[] = {
		"image/", "video/", "audio/", "font/", "application/gzip", "application/zip",
		"application/octet-stream", "application/x-tar", "application/zstd",
		"application/wasm", "application/pdf",
	};

	memset(conf, 0, sizeof(*conf));
	for (int i = 0; i < INSPECTOR_COUNT; i++)
		conf->enabled[i] = i != INSPECTOR_ENTROPY && i != INSPECTOR_CUSTOM;
	conf->secrets_action = INSPECT_BLOCK;
	conf->builtin_allow = true;
	conf->max_body = 10u << 20;
	conf->max_header_bytes = 64u << 10;
	conf->max_inflate = 64u << 20;
	conf->inflate_ratio = 200;
	conf->max_ws_message = 16u << 20;
	conf->body_threshold = 7.0;
	conf->url_threshold = 5.5;
	conf->min_body = 256;
	conf->min_url = 64;
	conf->entropy_action = INSPECT_BLOCK;
	conf->split_budget = 32;
	conf->split_window = 60;
	conf->split_min = 4;
	conf->split_action = INSPECT_FLAG;
	for (size_t i = 0; i < sizeof(exempt_ct) / sizeof(exempt_ct[0]); i++) {
		char **nv = realloc(conf->entropy_exempt_ct.v, (i + 1) * sizeof(*nv));

		if (!nv)
			break;
		conf->entropy_exempt_ct.v = nv;
		nv[i] = strdup(exempt_ct[i]);
		if (!nv[i])
			break;
		conf->entropy_exempt_ct.n = i + 1;
	}
	conf->ct_ceiling = 6.5;
	conf->detect_base64 = true;
	conf->base64_min = 256;
	conf->ct_action = INSPECT_FLAG;
	conf->rate = 10;
	conf->burst = 50;
}

static int load_domains(struct inspect_conf *conf, const struct cage_config_file *cfg)
{
	conf->allow = domain_set_new();
	conf->block = domain_set_new();
	if (!conf->allow || !conf->block)
		return -ENOMEM;
	for (size_t i = 0; cfg && i < cfg->allow.n; i++)
		if (domain_set_add(conf->allow, cfg->allow.v[i].pattern, 0) == -ENOMEM)
			return -ENOMEM;
	for (size_t i = 0; cfg && i < cfg->block.n; i++)
		if (domain_set_add(conf->block, cfg->block.v[i].pattern, 0) == -ENOMEM)
			return -ENOMEM;
	return 0;
}

int inspect_conf_load(struct inspect_conf *conf, const struct cage_config_file *cfg,
		      const struct inspect_options *opt, char *err, size_t errlen)
{
	int rc;

	defaults(conf);
	if (err && errlen)
		err[0] = 0;
	rc = load_domains(conf, cfg);
	for (size_t i = 0; !rc && cfg && i < cfg->n_inspectors; i++) {
		const struct cage_inspector *ins = &cfg->inspectors[i];
		struct conf_ctx c = { conf, ins->name, err, errlen };
		enum inspector_id id;

		if (inspector_id(ins->name, &id)) {
			rc = fail(&c, NULL, "unknown inspector");
			break;
		}
		if (id != INSPECTOR_CUSTOM)
			conf->enabled[id] = ins->enabled;
		if (ins->config_yaml)
			rc = parse_mapping(&c, id, ins->config_yaml);
		if (rc || id != INSPECTOR_CUSTOM || !ins->enabled)
			continue;
		if (conf->n_plugins == INSPECT_MAX_PLUGINS) {
			rc = fail(&c, NULL, "more than %d custom inspectors", INSPECT_MAX_PLUGINS);
			break;
		}
		rc = plugin_load(&conf->plugins[conf->n_plugins], ins->name + 7,
				 opt ? opt->plugin_dir : NULL, ins->config_yaml, err, errlen);
		if (!rc) {
			conf->n_plugins++;
			conf->enabled[INSPECTOR_CUSTOM] = true;
		}
	}
	if (rc && err && !err[0])
		snprintf(err, errlen, "inspectors: %s", strerror(-rc));
	return rc;
}

void inspect_conf_free(struct inspect_conf *conf)
{
	for (int i = 0; i < INSPECTOR_COUNT; i++)
		domain_set_free(conf->exempt_hosts[i]);
	domain_set_free(conf->allow);
	domain_set_free(conf->block);
	for (size_t i = 0; i < conf->n_extra; i++) {
		free(conf->extra[i].name);
		free(conf->extra[i].regex);
	}
	free(conf->extra);
	for (size_t i = 0; i < conf->n_allow_to; i++) {
		free(conf->allow_to[i].rule);
		ilist_free(&conf->allow_to[i].hosts);
	}
	free(conf->allow_to);
	domain_set_free(conf->host_max_body.set);
	free(conf->host_max_body_v);
	ilist_free(&conf->entropy_exempt_ct);
	for (size_t i = 0; i < conf->n_sig_params; i++) {
		free(conf->sig_params[i].host);
		ilist_free(&conf->sig_params[i].params);
	}
	free(conf->sig_params);
	domain_set_free(conf->host_rate.set);
	free(conf->host_rate_v);
	free(conf->host_burst_v);
	for (size_t i = 0; i < conf->n_plugins; i++)
		plugin_unload(&conf->plugins[i]);
	memset(conf, 0, sizeof(*conf));
}
