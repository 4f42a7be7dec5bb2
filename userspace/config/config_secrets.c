// SPDX-License-Identifier: GPL-2.0-only
/*
 * Secret injection rules (cagectl's `secrets:` map and agentcage's `secret_injection:` list) and
 * the inspector chain. The config never holds a secret value, only names, domains and placeholders.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

#define PLACEHOLDER_MAX 256

struct rule_ctx {
	struct cage_secret_rule *rule;
	const struct ynode *env, *inject_to;
	bool agentcage;
};

static int rule_inject_to(struct loader *ld, const struct ynode *v, void *ctx)
{
	struct rule_ctx *r = ctx;

	r->inject_to = v;
	return cfg_domain_strv(ld, v, &r->rule->inject_to);
}

static bool header_name_valid(const char *name)
{
	return name[0] && strspn(name, "!#$%&'*+-.^_`|~0123456789"
				       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
				  strlen(name);
}

/* A list of header names; agentcage's older boolean form: true is the default, false cannot apply. */
static int rule_inject_headers(struct loader *ld, const struct ynode *v, void *ctx)
{
	struct cage_strv *headers = &((struct rule_ctx *)ctx)->rule->inject_headers;
	bool on;
	int err;

	if (v->kind == YNODE_SCALAR && !v->quoted && !ynode_is_null(v)) {
		err = cfg_bool(ld, v, &on);
		if (!err && !on)
			cfg_warn(ld, v, "agentcage's inject_headers: false does not apply: cagectl "
				 "always injects into credential headers; ignored");
		return err;
	}
	err = cfg_string_list(ld, v, headers);
	if (err)
		return err;
	for (size_t i = 0; i < headers->n; i++) {
		if (!header_name_valid(headers->v[i])) {
			cfg_push_index(ld, i);
			return cfg_fail(ld, v->items[i], "not a valid HTTP header name");
		}
	}
	return 0;
}

static int rule_inject_body(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_bool(ld, v, &((struct rule_ctx *)ctx)->rule->inject_body);
}

static int rule_placeholder(struct loader *ld, const struct ynode *v, void *ctx)
{
	struct cage_secret_rule *rule = ((struct rule_ctx *)ctx)->rule;
	int err;

	if (ynode_is_null(v))
		return 0;  /* agentcage writes `placeholder: null` for "generate one" */
	err = cfg_string(ld, v, &rule->placeholder);
	if (err)
		return err;
	if (!rule->placeholder[0] || strlen(rule->placeholder) > PLACEHOLDER_MAX)
		return cfg_fail(ld, v, "placeholder must be 1-%d characters", PLACEHOLDER_MAX);
	for (const char *p = rule->placeholder; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return cfg_fail(ld, v, "placeholder takes printable ASCII without spaces");
	return 0;
}

static int rule_env(struct loader *ld, const struct ynode *v, void *ctx)
{
	((struct rule_ctx *)ctx)->env = v;
	return 0;
}

#define RULE_COMMON_KEYS                                                                     \
	{ "inject_to", rule_inject_to, NULL },                                               \
	{ "inject_headers", rule_inject_headers, NULL },                                     \
	{ "inject_body", rule_inject_body, NULL },                                           \
	{ "placeholder", rule_placeholder, NULL },                                           \
	{ "source", NULL, "agentcage key: cagectl reads secret values from its own store "  \
			  "('cagectl secret set'); ignored" },                               \
	{ "transform", NULL, "agentcage key: secret transforms do not exist in cagectl; "   \
			     "ignored" },                                                    \
	{ "transform_config", NULL, "agentcage key: secret transforms do not exist in "     \
				    "cagectl; ignored" }

static const struct key_spec rule_keys[] = { RULE_COMMON_KEYS };
static const struct key_spec injection_keys[] = { { "env", rule_env, NULL }, RULE_COMMON_KEYS };

static int add_rule(struct loader *ld, const struct ynode *name_node, struct cage_secret_rule **out)
{
	struct cage_config_file *cfg = ld->cfg;
	struct cage_secret_rule *rule;
	const char *name = name_node->text;

	if (name_node->kind != YNODE_SCALAR || ynode_is_null(name_node) ||
	    strlen(name) != name_node->len || !cfg_env_name_valid(name))
		return cfg_fail(ld, name_node, "secret names are environment variable names "
				"([A-Za-z_][A-Za-z0-9_]*)");
	for (size_t i = 0; i < cfg->n_secrets; i++)
		if (strcmp(cfg->secrets[i].name, name) == 0)
			return cfg_fail(ld, name_node, "secret %s has two injection rules", name);
	rule = cfg_grow(&cfg->secrets, &cfg->n_secrets, sizeof(*rule));
	if (!rule)
		return -ENOMEM;
	rule->name = strdup(name);
	if (!rule->name)
		return -ENOMEM;
	*out = rule;
	return 0;
}

/* Settings agentcage keeps under `secrets:` next to where cagectl keeps rules. */
static const struct {
	const char *key;
	const char *why;
} agentcage_secret_settings[] = {
	{ "backend", "agentcage key: cagectl keeps secrets in its own store; ignored" },
	{ "scope", "agentcage key: cagectl keeps secrets in its own store; ignored" },
	{ "allow_plaintext", "agentcage key: cagectl keeps secrets in its own store; ignored" },
	{ "enabled", "agentcage key: configure the secrets inspector under 'inspectors:'; ignored" },
	{ "action", "agentcage key: configure the secrets inspector under 'inspectors:'; ignored" },
	{ "builtin_allow_to_domains", "agentcage key: configure the secrets inspector under "
				      "'inspectors:'; ignored" },
	{ "allow_to_domains", "agentcage key: configure the secrets inspector under 'inspectors:'; "
			      "ignored" },
	{ "extra_patterns", "agentcage key: configure the secrets inspector under 'inspectors:'; "
			    "ignored" },
};

/* NAME: {inject_to, inject_headers, inject_body, placeholder} */
int cfg_parse_secrets(struct loader *ld, const struct ynode *v, void *ctx)
{
	int err;

	if (ynode_is_null(v))
		return 0;
	if (v->kind != YNODE_MAPPING)
		return cfg_fail(ld, v, "expected a mapping of NAME: rule, got %s", ynode_kind_name(v));
	err = cfg_check_duplicates(ld, v);
	if (err)
		return err;
	for (size_t i = 0; i + 1 < v->n_items; i += 2) {
		const struct ynode *key = v->items[i], *value = v->items[i + 1];
		size_t saved = cfg_push_key(ld, key->text);
		struct rule_ctx r = { 0 };
		bool agentcage = false;

		for (size_t k = 0; k < sizeof(agentcage_secret_settings) /
				       sizeof(agentcage_secret_settings[0]); k++) {
			if (strcmp(key->text, agentcage_secret_settings[k].key) == 0) {
				cfg_warn(ld, key, "%s", agentcage_secret_settings[k].why);
				agentcage = true;
			}
		}
		if (!agentcage) {
			err = add_rule(ld, key, &r.rule) ?:
			      cfg_walk_map(ld, value, rule_keys, sizeof(rule_keys) / sizeof(rule_keys[0]),
					   &r);
			if (err)
				return err;
		}
		cfg_pop(ld, saved);
	}
	return 0;
}

/* agentcage: - env: NAME, inject_to: [...], inject_headers, inject_body, placeholder, ... */
int cfg_parse_secret_injection(struct loader *ld, const struct ynode *v, void *ctx)
{
	if (ynode_is_null(v))
		return 0;
	if (v->kind != YNODE_SEQUENCE)
		return cfg_fail(ld, v, "expected a list of rules, got %s", ynode_kind_name(v));
	for (size_t i = 0; i < v->n_items; i++) {
		const struct ynode *item = v->items[i];
		size_t saved = cfg_push_index(ld, i);
		struct cage_secret_rule scratch = { 0 };
		struct rule_ctx r = { .rule = &scratch, .agentcage = true };
		size_t env_saved;
		int err;

		if (item->kind != YNODE_MAPPING)
			return cfg_fail(ld, item, "expected a mapping with env:, got %s",
					ynode_kind_name(item));
		/* Walk into a scratch rule first: `env:` names the rule and may come last. */
		err = cfg_walk_map(ld, item, injection_keys,
				   sizeof(injection_keys) / sizeof(injection_keys[0]), &r);
		if (!err && !r.env)
			err = cfg_fail(ld, item, "rule needs 'env:' (the variable the cage sees)");
		if (!err) {
			env_saved = cfg_push_key(ld, "env");
			err = add_rule(ld, r.env, &r.rule);
			cfg_pop(ld, env_saved);
		}
		if (err) {
			strv_free(&scratch.inject_to);
			strv_free(&scratch.inject_headers);
			free(scratch.placeholder);
			return err;
		}
		r.rule->inject_to = scratch.inject_to;
		r.rule->inject_headers = scratch.inject_headers;
		r.rule->inject_body = scratch.inject_body;
		r.rule->placeholder = scratch.placeholder;
		if (!r.inject_to)
			cfg_warn(ld, item, "no inject_to: agentcage injects such a secret everywhere, "
				 "cagectl injects it nowhere; list the domains");
		cfg_pop(ld, saved);
	}
	return 0;
}

static const char *const builtin_inspectors[] = {
	"domain", "secrets", "body_size", "entropy", "content_type", "rate_limit",
};

/* Duplicate keys anywhere under an inspector's config would make its own parse ambiguous. */
static int check_tree_duplicates(struct loader *ld, const struct ynode *v)
{
	int err = 0;

	if (v->kind == YNODE_MAPPING)
		err = cfg_check_duplicates(ld, v);
	for (size_t i = 0; !err && i < v->n_items; i++)
		err = check_tree_duplicates(ld, v->items[i]);
	return err;
}

static int add_inspector(struct loader *ld, const struct ynode *at, const char *name, bool enabled,
			 const struct ynode *config)
{
	struct cage_config_file *cfg = ld->cfg;
	struct cage_inspector *ins;

	for (size_t i = 0; i < cfg->n_inspectors; i++)
		if (strcmp(cfg->inspectors[i].name, name) == 0)
			return cfg_fail(ld, at, "inspector %s is listed twice", name);
	ins = cfg_grow(&cfg->inspectors, &cfg->n_inspectors, sizeof(*ins));
	if (!ins)
		return -ENOMEM;
	ins->enabled = enabled;
	ins->name = strdup(name);
	if (!ins->name)
		return -ENOMEM;
	if (config && !ynode_is_null(config)) {
		ins->config_yaml = ynode_emit(config);
		if (!ins->config_yaml)
			return -ENOMEM;
	}
	return 0;
}

struct inspector_ctx {
	const struct ynode *name, *enabled, *config, *path;
};

static int ins_name(struct loader *ld, const struct ynode *v, void *ctx)
{
	((struct inspector_ctx *)ctx)->name = v;
	return 0;
}

static int ins_enabled(struct loader *ld, const struct ynode *v, void *ctx)
{
	((struct inspector_ctx *)ctx)->enabled = v;
	return 0;
}

static int ins_config(struct loader *ld, const struct ynode *v, void *ctx)
{
	((struct inspector_ctx *)ctx)->config = v;
	if (!ynode_is_null(v) && v->kind != YNODE_MAPPING)
		return cfg_fail(ld, v, "expected a mapping, got %s", ynode_kind_name(v));
	return check_tree_duplicates(ld, v);
}

static int ins_path(struct loader *ld, const struct ynode *v, void *ctx)
{
	((struct inspector_ctx *)ctx)->path = v;
	return 0;
}

/* Built-in names (agentcage's hyphenated spellings too) or custom:/path/to/inspector.so. */
static int inspector_name(struct loader *ld, const struct ynode *v, char *out, size_t len)
{
	const char *guess;
	size_t n = sizeof(builtin_inspectors) / sizeof(builtin_inspectors[0]);

	if (v->kind != YNODE_SCALAR || ynode_is_null(v) || strlen(v->text) != v->len)
		return cfg_fail(ld, v, "expected an inspector name, got %s", ynode_kind_name(v));
	if (strncmp(v->text, "custom:", 7) == 0) {
		if (v->text[7] != '/' || v->len >= len)
			return cfg_fail(ld, v, "custom inspectors are named custom:/absolute/path.so");
		memcpy(out, v->text, v->len + 1);
		return 0;
	}
	if (v->len >= len)
		goto unknown;
	for (size_t i = 0; i <= v->len; i++)
		out[i] = v->text[i] == '-' ? '_' : v->text[i];
	for (size_t i = 0; i < n; i++)
		if (strcmp(out, builtin_inspectors[i]) == 0)
			return 0;
unknown:
	guess = v->len < len ? cfg_suggest(out, builtin_inspectors, n) : NULL;
	if (guess)
		return cfg_fail(ld, v, "unknown inspector '%.40s'; did you mean '%s'?", v->text, guess);
	return cfg_fail(ld, v, "unknown inspector '%.40s'; expected one of: domain, secrets, "
			"body_size, entropy, content_type, rate_limit, custom:/path.so", v->text);
}

static int inspector_entry(struct loader *ld, const struct ynode *item)
{
	static const struct key_spec keys[] = {
		{ "name", ins_name, NULL },
		{ "enabled", ins_enabled, NULL },
		{ "config", ins_config, NULL },
		{ "path", ins_path, NULL },
	};
	struct inspector_ctx c = { 0 };
	char name[256];
	bool enabled = true;
	size_t saved;
	int err;

	if (item->kind == YNODE_SCALAR) {
		c.name = item;
	} else {
		if (item->kind != YNODE_MAPPING)
			return cfg_fail(ld, item, "expected a mapping with name:, got %s",
					ynode_kind_name(item));
		err = cfg_walk_map(ld, item, keys, 4, &c);
		if (err)
			return err;
		if (!c.name)
			return cfg_fail(ld, item, "inspector needs 'name:'");
	}
	if (c.path) {
		saved = cfg_push_key(ld, "path");
		cfg_warn(ld, c.path, "agentcage's Python inspectors cannot run in cagectl; this "
			 "inspector is ignored");
		cfg_pop(ld, saved);
		return 0;
	}
	saved = item->kind == YNODE_MAPPING ? cfg_push_key(ld, "name") : ld->path_len;
	err = inspector_name(ld, c.name, name, sizeof(name));
	if (err)
		return err;
	cfg_pop(ld, saved);
	if (c.enabled) {
		saved = cfg_push_key(ld, "enabled");
		err = cfg_bool(ld, c.enabled, &enabled);
		if (err)
			return err;
		cfg_pop(ld, saved);
	}
	return add_inspector(ld, c.name, name, enabled, c.config);
}

int cfg_parse_inspectors(struct loader *ld, const struct ynode *v, void *ctx)
{
	if (ynode_is_null(v))
		return 0;
	if (v->kind != YNODE_SEQUENCE)
		return cfg_fail(ld, v, "expected a list of inspectors, got %s", ynode_kind_name(v));
	for (size_t i = 0; i < v->n_items; i++) {
		size_t saved = cfg_push_index(ld, i);
		int err = inspector_entry(ld, v->items[i]);

		if (err)
			return err;
		cfg_pop(ld, saved);
	}
	return 0;
}

/* agentcage's top-level `entropy:` block: a mapping (or true) enables the entropy inspector. */
int cfg_parse_entropy(struct loader *ld, const struct ynode *v, void *ctx)
{
	bool on;
	int err;

	if (v->kind == YNODE_MAPPING)
		return check_tree_duplicates(ld, v) ?: add_inspector(ld, v, "entropy", true, v);
	err = cfg_bool(ld, v, &on);
	if (err || !on)
		return err;  /* `entropy: false` is a no-op in agentcage too */
	return add_inspector(ld, v, "entropy", true, NULL);
}
