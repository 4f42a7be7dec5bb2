/* SPDX-License-Identifier: GPL-2.0-only
 *
 * cage-dns policy: which questions are forwarded upstream and how every other one is answered
 * locally. Pure functions over a parsed query; no sockets, no clock other than the one passed
 * in, so the unit tests drive every branch. A policy is read-only once built: reload builds a
 * new one and swaps the pointer.
 */
#ifndef CAGE_DNS_DNS_POLICY_H
#define CAGE_DNS_DNS_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "dns/wire.h"
#include "lib/domain.h"

/* Labels longer than this are reported as a possible tunnel (iodine and dnscat2 use ~60). */
#define DNS_EXFIL_LABEL_LONG   50
/* Labels at least this long are also judged by their letter entropy. */
#define DNS_EXFIL_ENTROPY_MIN  24
/* Bits per character; random base32/base64 text is above it, words and hostnames below. */
#define DNS_EXFIL_ENTROPY_BITS 3.9

enum dns_exfil_flags {
	DNS_EXFIL_LONG = 1,
	DNS_EXFIL_ENTROPY = 2,
};

enum dns_action {
	DNS_ACT_FORWARD = 0,   /* allowed name, A/AAAA: cache or upstream */
	DNS_ACT_DENY_NAME,     /* the configured deny answer (NXDOMAIN, REFUSED or sinkhole) */
	DNS_ACT_REFUSE,        /* REFUSED whatever the deny answer is (record types, classes) */
	DNS_ACT_NODATA,        /* empty NOERROR: AAAA for a cage without IPv6 */
};

struct dns_policy {
	struct domain_set *block;
	struct domain_set *allow;      /* domains.allow and domains.passthrough */
	enum cage_dns_deny deny;
	struct cage_addr sink4, sink6; /* family 0 when not configured */
	bool log_allowed;
	bool ipv6;
	uint32_t rate_limit;           /* queries per second; 0 = unlimited */
	uint32_t label_max;            /* a longer label is blocked */
	int64_t next_expiry;           /* unix seconds when a pattern expires (rebuild); 0 never */
};

struct dns_decision {
	enum dns_action action;
	const char *event;             /* audit event ("dns.denied", "dns.qtype_denied") or NULL */
	const char *reason;            /* audit reason, NULL when forwarded */
	char name[DOMAIN_BUF_SIZE];    /* canonical name; "" when the name is not canonical */
	uint32_t pattern_id;           /* id of the allow pattern that matched (1-based) */
	unsigned exfil;                /* enum dns_exfil_flags */
	unsigned exfil_label_len;      /* length of the longest suspicious label */
};

/* Builds a policy from a loaded config; patterns whose expires_at <= now_unix are left out.
 * Returns NULL with *err set (-ENOMEM, or -EINVAL for a pattern the matcher refuses). */
struct dns_policy *dns_policy_build(const struct cage_config_file *cfg, int64_t now_unix, int *err);
void dns_policy_free(struct dns_policy *p);

/* Decides what happens to a parsed query (dns_query_parse() returned 0). */
void dns_policy_decide(const struct dns_policy *p, const struct dns_query *q, struct dns_decision *d);

/* True if a CNAME target may be followed: canonical, not blocked, allowed. */
bool dns_policy_name_allowed(const struct dns_policy *p, const struct dns_name *name);

/* Exfiltration heuristics over the labels of a wire name; *longest gets the suspicious label's
 * length. Returns enum dns_exfil_flags. */
unsigned dns_exfil_check(const struct dns_name *name, unsigned *longest);

/* Shannon entropy of a byte string in bits per byte, letters case-folded. */
double dns_label_entropy(const uint8_t *s, size_t n);

/* "A", "AAAA", "TXT", ... or "TYPE<n>" written into buf (at least 12 bytes). */
const char *dns_qtype_name(uint16_t qtype, char *buf, size_t len);

/* A token bucket: `rate` tokens a second, bursts of `rate` (at least 1). */
struct dns_rate {
	double tokens;
	uint64_t last_ns;
	uint32_t rate;
};

void dns_rate_init(struct dns_rate *r, uint32_t rate, uint64_t now_ns);
/* True if a query may pass at now_ns; rate 0 always passes. */
bool dns_rate_take(struct dns_rate *r, uint64_t now_ns);

#endif
