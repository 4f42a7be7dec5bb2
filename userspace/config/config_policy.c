// SPDX-License-Identifier: GPL-2.0-only
/* Egress policy keys: domains, ports, dns (and agentcage's spellings of them). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/config_internal.h"

struct domains_ctx {
	const struct ynode *expires;
};

static int parse_allow(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_domain_list(ld, v, &ld->cfg->allow);
}

static int parse_block(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_domain_list(ld, v, &ld->cfg->block);
}

static int parse_passthrough(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_domain_list(ld, v, &ld->cfg->passthrough);
}

static int parse_mode(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const char *const names[] = { "allowlist", "blocklist" };
	int mode;
	int err = cfg_enum(ld, v, names, 2, &mode);

	if (!err && mode == 1)
		cfg_warn(ld, v, "agentcage's blocklist mode does not exist in cagectl: only the "
			 "domains in 'allow' are reachable");
	return err;
}

static int parse_expires_map(struct loader *ld, const struct ynode *v, void *ctx)
{
	((struct domains_ctx *)ctx)->expires = v;
	return 0;
}

/* agentcage's `expires: {domain: timestamp}`: sets expires_at on every list entry of that domain. */
static int apply_expires_map(struct loader *ld, const struct ynode *map)
{
	struct cage_domain_list *lists[] = { &ld->cfg->allow, &ld->cfg->block, &ld->cfg->passthrough };
	size_t saved = cfg_push_key(ld, "expires");
	int err;

	if (ynode_is_null(map))
		goto out;
	if (map->kind != YNODE_MAPPING)
		return cfg_fail(ld, map, "expected a mapping of domain: timestamp, got %s",
				ynode_kind_name(map));
	err = cfg_check_duplicates(ld, map);
	if (err)
		return err;
	for (size_t i = 0; i + 1 < map->n_items; i += 2) {
		char pattern[CAGE_DOMAIN_MAX + 1];
		const char *why;
		size_t key_saved = cfg_push_key(ld, map->items[i]->text);
		bool found = false;
		int64_t at;

		if (strlen(map->items[i]->text) != map->items[i]->len)
			return cfg_fail(ld, map->items[i], "contains a NUL byte");
		if (config_domain_pattern(map->items[i]->text, pattern, &why))
			return cfg_fail(ld, map->items[i], "%s", why);
		err = cfg_timestamp(ld, map->items[i + 1], &at);
		if (err)
			return err;
		for (size_t l = 0; l < 3; l++) {
			for (size_t j = 0; j < lists[l]->n; j++) {
				if (strcmp(lists[l]->v[j].pattern, pattern) == 0) {
					lists[l]->v[j].expires_at = at;
					found = true;
				}
			}
		}
		if (!found)
			return cfg_fail(ld, map->items[i], "not listed in allow, block or passthrough");
		cfg_pop(ld, key_saved);
	}
out:
	cfg_pop(ld, saved);
	return 0;
}

int cfg_parse_domains(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = {
		{ "allow", parse_allow, NULL },
		{ "block", parse_block, NULL },
		{ "passthrough", parse_passthrough, NULL },
		{ "mode", parse_mode, NULL },
		{ "expires", parse_expires_map, NULL },
		{ "auto", NULL, "agentcage key: runtime domain grants do not exist in cagectl; use "
				"'cagectl domain add'; ignored" },
	};
	struct domains_ctx dctx = { 0 };
	int err = cfg_walk_map(ld, v, keys, 6, &dctx);

	if (err || !dctx.expires)
		return err;
	return apply_expires_map(ld, dctx.expires);
}

struct tcp_ctx {
	const struct ynode *inspect, *allow, *passthrough;
};

static int remember_inspect(struct loader *ld, const struct ynode *v, void *ctx)
{
	((struct tcp_ctx *)ctx)->inspect = v;
	return 0;
}

static int remember_allow(struct loader *ld, const struct ynode *v, void *ctx)
{
	((struct tcp_ctx *)ctx)->allow = v;
	return 0;
}

static int remember_passthrough(struct loader *ld, const struct ynode *v, void *ctx)
{
	((struct tcp_ctx *)ctx)->passthrough = v;
	return 0;
}

static int with_key(struct loader *ld, const char *key, const struct ynode *v,
		    int (*fn)(struct loader *, const struct ynode *, struct cage_port_list *),
		    struct cage_port_list *out)
{
	size_t saved = cfg_push_key(ld, key);
	int err = fn(ld, v, out);

	if (!err)
		cfg_pop(ld, saved);
	return err;
}

/*
 * Passthrough first: agentcage's `allow` lists every permitted port and passthrough is the subset
 * that is not inspected, so inspect = allow - passthrough. cagectl's `inspect` is taken as is.
 */
static int parse_tcp(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = {
		{ "inspect", remember_inspect, NULL },
		{ "passthrough", remember_passthrough, NULL },
		{ "allow", remember_allow, NULL },
	};
	struct cage_config_file *cfg = ld->cfg;
	struct tcp_ctx t = { 0 };
	struct cage_port_list allow = { 0 };
	size_t saved;
	int err = cfg_walk_map(ld, v, keys, 3, &t);

	if (err)
		return err;
	if (t.passthrough) {
		saved = cfg_push_key(ld, "passthrough");
		err = cfg_claim(ld, FIELD_TCP_PASSTHROUGH, t.passthrough) ?:
		      cfg_port_list(ld, t.passthrough, &cfg->tcp_passthrough);
		if (err)
			return err;
		cfg_pop(ld, saved);
	}
	if (t.inspect && t.allow) {
		saved = cfg_push_key(ld, "allow");
		return cfg_fail(ld, t.allow, "give 'inspect' or agentcage's 'allow', not both");
	}
	if (t.inspect) {
		saved = cfg_push_key(ld, "inspect");
		err = cfg_claim(ld, FIELD_TCP_INSPECT, t.inspect);
		cfg_pop(ld, saved);
		err = err ?: with_key(ld, "inspect", t.inspect, cfg_port_list, &cfg->tcp_inspect);
		if (err)
			return err;
		for (size_t i = 0; i < cfg->tcp_inspect.n; i++)
			for (size_t j = 0; j < cfg->tcp_passthrough.n; j++)
				if (cfg->tcp_inspect.v[i] == cfg->tcp_passthrough.v[j]) {
					cfg_push_key(ld, "inspect");
					cfg_push_index(ld, i);
					return cfg_fail(ld, t.inspect->items[i], "port %u is both inspected "
							"and passed through", cfg->tcp_inspect.v[i]);
				}
	}
	if (t.allow) {
		saved = cfg_push_key(ld, "allow");
		err = cfg_claim(ld, FIELD_TCP_INSPECT, t.allow) ?: cfg_port_list(ld, t.allow, &allow);
		for (size_t i = 0; !err && i < allow.n; i++) {
			bool passthrough = false;
			uint16_t *slot;

			for (size_t j = 0; j < cfg->tcp_passthrough.n; j++)
				passthrough |= allow.v[i] == cfg->tcp_passthrough.v[j];
			if (passthrough)
				continue;
			slot = cfg_grow(&cfg->tcp_inspect.v, &cfg->tcp_inspect.n, sizeof(*slot));
			if (!slot)
				err = -ENOMEM;
			else
				*slot = allow.v[i];
		}
		free(allow.v);
		if (err)
			return err;
		cfg_pop(ld, saved);
	}
	return 0;
}

static int parse_udp_allow(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_port_list(ld, v, &ld->cfg->udp);
}

/* [53, 123] or agentcage's {allow: [..]} */
static int parse_udp(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = { { "allow", parse_udp_allow, NULL } };
	int err = cfg_claim(ld, FIELD_UDP, v);

	if (err)
		return err;
	if (v->kind == YNODE_MAPPING)
		return cfg_walk_map(ld, v, keys, 1, NULL);
	return cfg_port_list(ld, v, &ld->cfg->udp);
}

static int parse_icmp_allow(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_bool(ld, v, &ld->cfg->icmp);
}

/* true/false or agentcage's {allow: bool} */
static int parse_icmp(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = { { "allow", parse_icmp_allow, NULL } };
	int err = cfg_claim(ld, FIELD_ICMP, v);

	if (err)
		return err;
	if (v->kind == YNODE_MAPPING)
		return cfg_walk_map(ld, v, keys, 1, NULL);
	return cfg_bool(ld, v, &ld->cfg->icmp);
}

int cfg_parse_ports(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = {
		{ "tcp", parse_tcp, NULL },
		{ "udp", parse_udp, NULL },
		{ "icmp", parse_icmp, NULL },
	};

	return cfg_walk_map(ld, v, keys, 3, NULL);
}

/* A list of resolver addresses; agentcage's "host" (the default) means the host's resolv.conf. */
int cfg_parse_dns_upstream(struct loader *ld, const struct ynode *v, void *ctx)
{
	struct cage_strv *out = &ld->cfg->dns_upstream;
	int err = cfg_claim(ld, FIELD_DNS_UPSTREAM, v);

	if (err)
		return err;
	if (v->kind == YNODE_SCALAR && strcmp(v->text, "host") == 0)
		return 0;
	if (ynode_is_null(v))
		return 0;
	if (v->kind != YNODE_SEQUENCE)
		return cfg_fail(ld, v, "expected a list of resolver addresses, got %s",
				ynode_kind_name(v));
	for (size_t i = 0; i < v->n_items; i++) {
		size_t saved = cfg_push_index(ld, i);
		char *addr;

		err = cfg_ip_address(ld, v->items[i], AF_UNSPEC, &addr);
		if (err)
			return err;
		cfg_pop(ld, saved);
		err = strv_push(out, addr);
		free(addr);
		if (err)
			return err;
	}
	return 0;
}

struct dns_ctx {
	const struct ynode *deny_answer;
};

static int parse_deny_answer(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const char *const names[] = { "nxdomain", "refused", "sinkhole" };
	int index;
	int err = cfg_enum(ld, v, names, 3, &index);

	((struct dns_ctx *)ctx)->deny_answer = v;
	if (!err)
		ld->cfg->dns_deny = (enum cage_dns_deny)index;
	return err;
}

static int parse_sinkhole4(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_ip_address(ld, v, AF_INET, &ld->cfg->dns_sinkhole4);
}

static int parse_sinkhole6(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_ip_address(ld, v, AF_INET6, &ld->cfg->dns_sinkhole6);
}

static int parse_log_allowed(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_claim(ld, FIELD_DNS_LOG_ALLOWED, v) ?: cfg_bool(ld, v, &ld->cfg->dns_log_allowed);
}

static int parse_rate_limit(struct loader *ld, const struct ynode *v, void *ctx)
{
	uint64_t value;
	int err = cfg_uint(ld, v, 0, 1000000, &value);

	ld->cfg->dns_rate_limit = (uint32_t)value;
	return err;
}

static int parse_label_max(struct loader *ld, const struct ynode *v, void *ctx)
{
	uint64_t value;
	int err = cfg_uint(ld, v, 1, 63, &value);

	ld->cfg->dns_label_max = (uint32_t)value;
	return err;
}

int cfg_parse_dns(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = {
		{ "upstream", cfg_parse_dns_upstream, NULL },
		{ "deny_answer", parse_deny_answer, NULL },
		{ "sinkhole4", parse_sinkhole4, NULL },
		{ "sinkhole6", parse_sinkhole6, NULL },
		{ "log_allowed", parse_log_allowed, NULL },
		{ "rate_limit", parse_rate_limit, NULL },
		{ "label_max", parse_label_max, NULL },
	};
	struct dns_ctx dctx = { 0 };
	int err = cfg_walk_map(ld, v, keys, 7, &dctx);

	if (err)
		return err;
	if (ld->cfg->dns_deny == DNS_DENY_SINKHOLE && !ld->cfg->dns_sinkhole4 &&
	    !ld->cfg->dns_sinkhole6) {
		cfg_push_key(ld, "deny_answer");
		return cfg_fail(ld, dctx.deny_answer, "sinkhole needs sinkhole4 or sinkhole6");
	}
	return 0;
}
