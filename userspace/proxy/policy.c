// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host and address policy for cage-proxy. Pure functions over an immutable struct, so the unit
 * test can drive them table by table and every worker thread can share one policy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "lib/ipclass.h"
#include "proxy/policy.h"

static const char *const reason_names[POLICY_REASON_MAX] = {
	[POLICY_OK] = "ok",
	[POLICY_BAD_HOST] = "bad_host",
	[POLICY_NON_ASCII_HOST] = "non_ascii_host",
	[POLICY_IP_LITERAL] = "ip_literal",
	[POLICY_BLOCKED] = "blocked",
	[POLICY_NOT_ALLOWED] = "not_allowed",
	[POLICY_PRIVATE_NAME] = "private_name",
	[POLICY_PORT_DENIED] = "port_denied",
	[POLICY_DST_PRIVATE] = "dst_private",
	[POLICY_DST_GATEWAY] = "dst_gateway",
};

const char *policy_reason_name(enum policy_reason r)
{
	return (unsigned)r < POLICY_REASON_MAX ? reason_names[r] : "unknown";
}

static void port_set(uint8_t *bits, uint16_t port)
{
	bits[port / 8] |= (uint8_t)(1u << (port % 8));
}

static bool port_get(const uint8_t *bits, uint16_t port)
{
	return bits[port / 8] & (1u << (port % 8));
}

bool policy_port_inspect(const struct proxy_policy *p, uint16_t port)
{
	return port && port_get(p->inspect_ports, port);
}

bool policy_port_passthrough(const struct proxy_policy *p, uint16_t port)
{
	return port && port_get(p->passthrough_ports, port);
}

static int fill_set(struct domain_set **out, const struct cage_domain_list *list,
		    int64_t *next_expiry)
{
	struct domain_set *set = domain_set_new();
	int err;

	if (!set)
		return -ENOMEM;
	for (size_t i = 0; i < list->n; i++) {
		/* Expired entries are skipped: a reload after the expiry removes them. */
		if (list->v[i].expires_at && list->v[i].expires_at <= (int64_t)time(NULL))
			continue;
		if (list->v[i].expires_at && (!*next_expiry || list->v[i].expires_at < *next_expiry))
			*next_expiry = list->v[i].expires_at;
		err = domain_set_add(set, list->v[i].pattern, (uint32_t)i + 1);
		if (err && err != -EEXIST) {
			domain_set_free(set);
			return err;
		}
	}
	*out = set;
	return 0;
}

/* "8.8.8.8", "2001:4860::8888", "[::1]:5353" or "8.8.8.8:53" → sockaddr, port 53 by default. */
static int parse_dns_server(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *port_s = NULL;
	unsigned long port = 53;
	const char *colon = strrchr(s, ':');

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || (size_t)(end - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = 0;
		if (end[1] == ':')
			port_s = end + 2;
	} else if (colon && strchr(s, ':') == colon) {
		if ((size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = 0;
		port_s = colon + 1;
	} else {
		if (strlen(s) >= sizeof(host))
			return -EINVAL;
		strcpy(host, s);
	}
	if (port_s) {
		char *end;

		port = strtoul(port_s, &end, 10);
		if (*end || !port || port > 65535)
			return -EINVAL;
	}
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

int policy_build(const struct cage_config_file *cfg, struct proxy_policy **out)
{
	struct proxy_policy *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	atomic_init(&p->refs, 1);
	err = fill_set(&p->allow, &cfg->allow, &p->next_expiry);
	if (!err)
		err = fill_set(&p->block, &cfg->block, &p->next_expiry);
	if (!err)
		err = fill_set(&p->passthrough, &cfg->passthrough, &p->next_expiry);
	if (err)
		goto fail;
	for (size_t i = 0; i < cfg->tcp_inspect.n; i++)
		port_set(p->inspect_ports, cfg->tcp_inspect.v[i]);
	for (size_t i = 0; i < cfg->tcp_passthrough.n; i++)
		port_set(p->passthrough_ports, cfg->tcp_passthrough.v[i]);
	p->idle_exit_s = cfg->proxy_idle_exit;
	/* The first usable upstream resolver; the others are for cage-dns's failover. */
	for (size_t i = 0; i < cfg->dns_upstream.n; i++)
		if (!parse_dns_server(cfg->dns_upstream.v[i], &p->dns_upstream, &p->dns_upstream_len))
			break;
	*out = p;
	return 0;
fail:
	policy_put(p);
	return err;
}

/* Exposed for main.c: --dns-upstream and the resolv.conf fallback use the same syntax. */
int policy_set_dns_upstream(struct proxy_policy *p, const char *server)
{
	return parse_dns_server(server, &p->dns_upstream, &p->dns_upstream_len);
}

void policy_get(struct proxy_policy *p)
{
	atomic_fetch_add(&p->refs, 1);
}

void policy_put(struct proxy_policy *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	domain_set_free(p->allow);
	domain_set_free(p->block);
	domain_set_free(p->passthrough);
	free(p);
}

void policy_add_gateway(struct proxy_policy *p, const struct cage_addr *a)
{
	if (p->n_gateways < sizeof(p->gateways) / sizeof(p->gateways[0]))
		p->gateways[p->n_gateways++] = *a;
}

void policy_check_host(const struct proxy_policy *p, const char *raw, size_t len, uint16_t port,
		       struct policy_verdict *v)
{
	int err;

	memset(v, 0, sizeof(*v));
	v->mode = POLICY_MODE_INSPECT;
	err = domain_canonicalize(raw, len, v->host, sizeof(v->host));
	if (err) {
		v->host[0] = 0;
		v->reason = err == -EADDRNOTAVAIL ? POLICY_IP_LITERAL
			    : err == -EILSEQ      ? POLICY_NON_ASCII_HOST
						  : POLICY_BAD_HOST;
		return;
	}
	/* Block first: a block match wins over any allow or passthrough entry. */
	if (domain_set_match(p->block, v->host, NULL)) {
		v->reason = POLICY_BLOCKED;
		return;
	}
	if (domain_set_match(p->passthrough, v->host, NULL))
		v->mode = POLICY_MODE_PASSTHROUGH;
	else if (!domain_set_match(p->allow, v->host, NULL)) {
		v->reason = POLICY_NOT_ALLOWED;
		return;
	}
	/* An allow pattern like "*.nip.io" must not open 10-0-0-1.nip.io. */
	if (domain_encodes_private_ip(v->host)) {
		v->reason = POLICY_PRIVATE_NAME;
		return;
	}
	if (policy_port_passthrough(p, port))
		v->mode = POLICY_MODE_PASSTHROUGH;
	else if (!policy_port_inspect(p, port))
		v->reason = POLICY_PORT_DENIED;
}

enum policy_reason policy_check_addr(const struct proxy_policy *p, const struct cage_addr *a)
{
	for (size_t i = 0; i < p->n_gateways; i++)
		if (ip_equal(a, &p->gateways[i]))
			return POLICY_DST_GATEWAY;
	if (!ip_is_public(a))
		return POLICY_DST_PRIVATE;
	return POLICY_OK;
}
