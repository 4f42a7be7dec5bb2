/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cage-proxy's egress policy, built from cage.yaml and evaluated before any upstream dial. A
 * policy is immutable once built, so every worker reads it without locks; SIGHUP builds a new
 * one and swaps the pointer (policy_get/policy_put keep the old one alive for connections that
 * still use it).
 */
#ifndef CAGE_PROXY_POLICY_H
#define CAGE_PROXY_POLICY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cage/maps.h"
#include "lib/domain.h"

struct cage_config_file;

enum policy_mode {
	POLICY_MODE_INSPECT = 0,
	POLICY_MODE_PASSTHROUGH = 1,
};

/* Why a host or address was refused; POLICY_OK when it was not. Names via policy_reason_name(). */
enum policy_reason {
	POLICY_OK = 0,
	POLICY_BAD_HOST,        /* not a host name at all (escapes, punctuation, empty labels) */
	POLICY_NON_ASCII_HOST,  /* raw UTF-8: clients must send A-labels */
	POLICY_IP_LITERAL,      /* an IP literal in any spelling; no CIDR allow exists */
	POLICY_BLOCKED,         /* domains.block matched (wins over every allow) */
	POLICY_NOT_ALLOWED,     /* in no allow or passthrough list */
	POLICY_PRIVATE_NAME,    /* the name encodes a private address (10-0-0-1.nip.io) */
	POLICY_PORT_DENIED,     /* the port is not allowed for that mode */
	POLICY_DST_PRIVATE,     /* upstream address not public */
	POLICY_DST_GATEWAY,     /* upstream address is the cage gateway */
	POLICY_REASON_MAX,
};

struct proxy_policy {
	atomic_uint refs;
	struct domain_set *allow, *block, *passthrough;
	uint8_t inspect_ports[65536 / 8];
	uint8_t passthrough_ports[65536 / 8];
	struct cage_addr gateways[8];   /* addresses the listeners are bound to */
	size_t n_gateways;
	struct sockaddr_storage dns_upstream; /* for the explicit path; ss_family 0 when none */
	socklen_t dns_upstream_len;
	int64_t next_expiry;            /* unix s: an entry expires, rebuild then (main.c); 0 never */
	uint32_t idle_exit_s;           /* proxy.idle_exit: exit when idle this long (idle.c); 0 never */
};

struct policy_verdict {
	enum policy_reason reason;
	enum policy_mode mode;
	char host[DOMAIN_BUF_SIZE];    /* canonical, when canonicalisation succeeded */
};

/* Builds a policy from a loaded config. 0 or -errno (-EINVAL: a pattern domain_set refused). */
int policy_build(const struct cage_config_file *cfg, struct proxy_policy **out);
void policy_get(struct proxy_policy *p);
void policy_put(struct proxy_policy *p);

/* Records an address the listeners are bound to: never a valid upstream. */
void policy_add_gateway(struct proxy_policy *p, const struct cage_addr *a);

/*
 * The host decision, in the one order of docs/proxy.md: canonical form, block list, passthrough
 * and allow lists, names encoding private addresses, then the port for the chosen mode (a port
 * of ports.tcp.passthrough makes the connection passthrough). raw is the host as the client
 * spelled it (SNI, Host, CONNECT or absolute-form authority), without port or brackets.
 */
void policy_check_host(const struct proxy_policy *p, const char *raw, size_t len, uint16_t port,
		       struct policy_verdict *v);

/* The upstream address: public and not one of our gateway addresses. */
enum policy_reason policy_check_addr(const struct proxy_policy *p, const struct cage_addr *a);

bool policy_port_inspect(const struct proxy_policy *p, uint16_t port);
bool policy_port_passthrough(const struct proxy_policy *p, uint16_t port);

/* --dns-upstream / resolv.conf: "ADDR", "ADDR:PORT" or "[ADDR6]:PORT". 0 or -EINVAL. */
int policy_set_dns_upstream(struct proxy_policy *p, const char *server);

/* Stable lower-case audit names: "ok", "not_allowed", "ip_literal", ... */
const char *policy_reason_name(enum policy_reason r);

#endif
