/* SPDX-License-Identifier: GPL-2.0-only
 *
 * cage-dns: one single-threaded epoll loop per cage. dns_server.c reads queries (UDP in batches,
 * TCP with length framing) and answers locally what policy denies; dns_upstream.c forwards the
 * allowed A/AAAA questions (coalesced, retried, TCP on truncation); dns_answer.c turns an upstream
 * or cached response into the cage's answer, binding every address in dns_allow first.
 * Every pool is sized at start (no allocation per query) and handed out lazily from a
 * high-water index, so the pages of entries never used are never touched.
 */
#ifndef CAGE_DNS_RESOLVER_H
#define CAGE_DNS_RESOLVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "audit/audit.h"
#include "dns/dns_cache.h"
#include "dns/dns_policy.h"
#include "dns/wire.h"

#define RES_MAX_LISTEN     4
#define RES_MAX_UPSTREAM   4
#define RES_UPSTREAM_SOCKS 4       /* per server: source ports to pick from at random */
#define RES_PENDING_MAX    1024
#define RES_WAITERS_MAX    4096
#define RES_TCP_CONNS_MAX  256
#define RES_TCP_QUERY_MAX  4096    /* a larger query over TCP closes the connection */
#define RES_TCP_OUT_MAX    (256 * 1024)
#define RES_TCP_IDLE_NS    (10ull * 1000000000ull)
#define RES_UPSTREAM_TIMEOUT_NS (2ull * 1000000000ull)
#define RES_UPSTREAM_ATTEMPTS 2    /* UDP sends per question (rotating servers) before SERVFAIL */

enum res_client_kind { CLIENT_UDP = 1, CLIENT_TCP = 2 };

/* Where an answer goes: a UDP listener and the sender's address, or a TCP connection. */
struct res_client {
	uint8_t kind;
	uint8_t listen_idx;
	socklen_t addrlen;
	struct sockaddr_storage addr;
	uint32_t conn_idx, conn_gen;
};

struct res_waiter {
	int32_t next;              /* index in the waiter pool, -1 ends the list */
	struct res_client client;
	struct dns_query q;
};

enum pending_tcp_state { PTCP_NONE = 0, PTCP_CONNECTING, PTCP_READING };

struct res_pending {
	bool used;
	uint16_t id, qtype;
	uint8_t server, attempts;
	char name[DOMAIN_BUF_SIZE];
	struct dns_name qname;
	uint8_t query[DNS_NAME_WIRE_MAX + 40];
	uint16_t query_len;
	uint64_t deadline_ns;
	int32_t prev, next;        /* deadline FIFO (every timeout has the same length) */
	int32_t hnext;             /* coalescing chain */
	uint32_t hash;
	int32_t waiters;
	int tcp_fd;
	enum pending_tcp_state tcp_state;
	uint8_t *tcp_buf;
	size_t tcp_have;
};

struct res_upstream {
	struct sockaddr_storage sa;
	socklen_t salen;
	int fds[RES_UPSTREAM_SOCKS];  /* connected; -1: unreachable so far, tried again on the next send */
};

struct res_conn {
	int fd;                    /* -1: free */
	uint32_t gen;
	uint64_t last_ns;
	size_t rlen;
	uint8_t rbuf[2 + RES_TCP_QUERY_MAX];
	uint8_t *wbuf;
	size_t wlen, woff, wcap;
};

struct res_stats {
	uint64_t queries, forwarded, cache_hits, denied, refused_rate, servfail, upstream_sent;
};

struct resolver {
	const char *cage;
	const char *config_path;
	struct dns_policy *policy;
	struct audit_log *audit;
	int map_fd;
	int epfd, sigfd;
	int udp_fd[RES_MAX_LISTEN], tcp_fd[RES_MAX_LISTEN];
	size_t n_udp, n_tcp;

	struct dns_cache *cache;
	struct dns_rate rate;
	uint64_t rate_refused;     /* since the last limit.dns_rate line */

	struct res_upstream up[RES_MAX_UPSTREAM];
	size_t n_up;
	struct res_pending *pending;
	int32_t *id_map;           /* 65536 entries: upstream ID → pending index + 1 */
	int32_t *phash;            /* coalescing buckets → pending index, -1 empty */
	int32_t pfree, phw;        /* free list, then the never-used entries from phw up */
	int32_t fifo_head, fifo_tail;
	struct res_waiter *waiters;
	int32_t wfree, whw;

	struct res_conn *conns;
	uint32_t conn_hw;          /* entries from conn_hw up were never used (and are free) */
	uint32_t conn_gen;

	struct dns_response *resp; /* scratch: too big for the stack */
	struct res_stats stats;
	uint64_t next_tick_ns, next_sweep_ns;
	bool stop;
};

uint64_t dnsd_now_ns(void);

/* dns_server.c */
int dnsd_init(struct resolver *r);
int dnsd_run(struct resolver *r);
void dnsd_fini(struct resolver *r);
int dnsd_reload(struct resolver *r);
/* Sends an answer to a client (UDP sendto, TCP framed write). */
void dnsd_deliver(struct resolver *r, const struct res_client *cl, const uint8_t *msg, size_t len);
void dnsd_client_text(const struct res_client *cl, char *buf, size_t len);

/* dns_upstream.c */
int dns_upstream_add(struct resolver *r, const struct cage_addr *addr);
int dns_upstream_add_resolv_conf(struct resolver *r, const char *path);
/* Opens and connects the upstream sockets; an unreachable server is retried on each send. */
int dns_upstream_open(struct resolver *r);
int dns_upstream_pools_init(struct resolver *r);
void dns_upstream_pools_fini(struct resolver *r);
/* Queues q (decided FORWARD for canonical `name`) to upstream; 0, or -errno: answer SERVFAIL. */
int dns_upstream_submit(struct resolver *r, const char *name, const struct dns_query *q,
		    const struct res_client *cl);
void dns_upstream_on_udp(struct resolver *r, int fd);
void dns_upstream_on_tcp(struct resolver *r, int32_t idx, uint32_t events);
void dns_upstream_expire(struct resolver *r, uint64_t now_ns);
/* ms until the next upstream deadline, or -1. */
int dns_upstream_next_timeout_ms(const struct resolver *r, uint64_t now_ns);

/* dns_answer.c: the cage's answer from an upstream or cached response (TTLs already aged).
 * Writes every kept address to dns_allow first; SERVFAIL if that fails. Length or -errno. */
int dnsd_answer(struct resolver *r, const struct dns_query *q, const char *name, struct dns_response *up,
	       const struct res_client *cl, uint8_t *out, size_t cap);
/* The local answer for a denied name (NXDOMAIN, REFUSED or sinkhole per policy). */
int dnsd_deny_answer(const struct resolver *r, const struct dns_query *q, uint8_t *out, size_t cap);

/* dns_audit.c */
void dns_audit_query(struct resolver *r, const char *event, const char *decision, const char *reason,
		     const struct dns_query *q, const struct res_client *cl, const char *answer);
void dns_audit_exfil(struct resolver *r, const struct dns_decision *d, const struct dns_query *q,
		     const struct res_client *cl);
void dns_audit_allowed(struct resolver *r, const struct dns_query *q, const struct res_client *cl,
		       const struct dns_response *up, const bool *keep);
void dns_audit_rate(struct resolver *r);

/* Epoll tags: the kind in the upper 32 bits, an index in the lower. */
enum res_tag { TAG_UDP = 1, TAG_TCP_LISTEN, TAG_CONN, TAG_UP_UDP, TAG_UP_TCP, TAG_SIGNAL };
#define RES_TAG(kind, idx) ((uint64_t)(kind) << 32 | (uint32_t)(idx))

#endif
