/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cage-proxy internals shared by its files: the process-wide state, the per-worker event loop
 * and the per-connection state machine. One connection lives on the worker thread that
 * accepted it, so nothing in struct px_conn is shared between threads.
 */
#ifndef CAGE_PROXY_PROXY_H
#define CAGE_PROXY_PROXY_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cage/maps.h"
#include "dns/wire.h"
#include "lib/domain.h"
#include "proxy/hooks.h"
#include "proxy/http1.h"
#include "proxy/policy.h"

#define PX_BUF_SIZE (16u * 1024)                    /* steady-state buffer each way */
#define PX_HDR_MAX HTTP1_DEFAULT_MAX_HEADER_BYTES   /* 64 KiB; one more byte proves "too big" */
#define PX_MAX_LISTENERS 8
#define PX_HEADER_TIMEOUT_MS 10000
#define PX_IDLE_TIMEOUT_MS 300000
/* More than cage-dns allows its own upstream (2 s a try): the proxy asks through it. */
#define PX_DNS_TIMEOUT_MS 5000
#define PX_CONNECT_TIMEOUT_MS 10000

struct proxy_tls;

/* Process-wide, read-only after start (except the atomics and the policy pointer). */
struct px_global {
	const char *cage;
	struct audit_log *audit;
	int origdst_fd, dns_allow_fd;
	struct proxy_tls *tls;              /* NULL: TLS inspection unavailable → TLS denied */
	_Atomic(struct proxy_policy *) policy;
	atomic_uint n_conns;
	unsigned max_conns;
	bool dns_allow_fallback;            /* see docs/proxy.md: until cage-dns fills dns_allow */
	atomic_bool stopping;
	/* Workers hold it for reading while they accept; idle.c takes it for writing to decide,
	 * with no accept in flight, that no connection is open. */
	pthread_rwlock_t accept_gate;
	atomic_uint_fast64_t last_active_ms;   /* the last accept or close (px_now_ms) */
	int stop_fd;                /* eventfd written once on SIGTERM: wakes every worker at once */
	int listen_fd[PX_MAX_LISTENERS];
	bool listen_explicit[PX_MAX_LISTENERS];
	size_t n_listen;
};

extern struct px_global px;

enum px_handle_kind { PXH_LISTEN = 1, PXH_CLIENT, PXH_UP, PXH_DNS };

/* What epoll_event.data.ptr points at. */
struct px_handle {
	uint8_t kind;
	int index;                 /* listener index */
	struct px_conn *conn;
};

struct px_buf {
	uint8_t *data;
	size_t cap, start, end;
};

/* One end of a proxied connection: the agent (cl) or upstream (up). */
struct px_side {
	int fd;
	SSL *ssl;
	struct px_buf in;          /* bytes read from this side, not yet consumed */
	size_t fwd;                /* bytes at in.start approved for the other side */
	struct px_buf out;         /* bytes we generated for this side (headers, denials) */
	bool rd_eof;               /* read side finished */
	bool wr_shut;              /* we shut our write side down */
	/* The last read found the socket empty (EAGAIN / SSL want-read): px_side_fill skips the
	 * side until epoll reports it readable again (edge-triggered: every arrival is an edge). */
	bool rd_idle;
	/* The last write returned EAGAIN: retry the same bytes first (no coalescing meanwhile). */
	bool wr_blocked;
	bool registered;
	struct px_handle h;
};

enum px_phase {
	PH_CLASSIFY,         /* transparent: peek the first bytes */
	PH_EXPLICIT,         /* explicit port: read the first request (CONNECT or absolute-form) */
	PH_CONNECT_WAIT,     /* CONNECT accepted: resolving, then 200 */
	PH_TUNNEL_CLASSIFY,  /* after 200: peek what the client sends inside the tunnel */
	PH_AGENT_TLS,        /* SSL_accept with a minted leaf */
	PH_HTTP,             /* inspected HTTP/1.1 */
	PH_RELAY,            /* opaque copy (passthrough where splice is refused) */
	PH_SPLICE,           /* passthrough */
	PH_CLOSING,          /* flush cl.out, then close */
};

enum px_up_state { UP_NONE, UP_RESOLVING, UP_RESOLVED, UP_CONNECTING, UP_TLS, UP_READY, UP_FAILED };
enum px_req_state { RQ_HEADERS, RQ_BODY, RQ_WAIT };
enum px_resp_state { RS_IDLE, RS_HEADERS, RS_BODY };

struct px_worker;
struct px_ws;

struct px_conn {
	struct px_worker *w;
	struct px_conn *prev, *next;
	bool dead;                 /* closed; freed after the current epoll batch */
	struct proxy_policy *pol;
	bool explicit_port;
	enum px_phase phase;
	struct px_side cl, up;

	/* who and where */
	bool has_orig;
	struct cage_orig orig;
	struct cage_addr peer_addr;
	uint16_t local_port;

	/* the name the connection is bound to: SNI, CONNECT authority or first Host */
	bool agent_tls;
	char conn_host[DOMAIN_BUF_SIZE];     /* canonical; empty until known */
	uint16_t conn_port;
	enum policy_mode mode;

	/* upstream */
	enum px_up_state up_state;
	char up_host[DOMAIN_BUF_SIZE];
	uint16_t up_port;
	bool up_tls;
	struct cage_addr up_addr;
	bool up_addr_known;
	uint64_t up_deadline_ms;
	char up_error[96];

	/* the small resolver (explicit path) */
	int dns_fd;
	struct px_handle dns_h;
	uint16_t dns_id, dns_qtype;
	struct dns_name dns_qname;
	int dns_tries;

	/* HTTP */
	struct http1_parser req, resp;
	enum px_req_state rq;
	enum px_resp_state rs;
	bool req_keep_alive, req_ws;
	bool close_after_response;
	void *txn;
	bool hook_blocked;
	bool req_filter, req_chunked;      /* request body through hooks->filter_body; re-chunk it */
	bool resp_filter, resp_chunked;
	struct proxy_block blk;
	struct proxy_msg_info info;
	struct px_ws *ws;                  /* after a 101: the WebSocket relay (ws_relay.h) */

	/* passthrough */
	int pipe_c2u[2], pipe_u2c[2];
	size_t piped_c2u, piped_u2c;
	size_t pipe_cap_c2u, pipe_cap_u2c; /* bytes; above the default = charged to relay.c's budget */
	bool splice_ok, splice_decided;

	/* audit of the current request (inspect) or of the connection */
	uint64_t t_start_ms;
	const char *method;
	char path[257];
	uint16_t status;
	uint64_t bytes_in, bytes_out;       /* from the agent / to the agent */
	bool audited;
	/* The response is complete but not yet all written to the agent: its line is written once
	 * it is (px_http_audit_due), so bytes_out and duration_ms are final. */
	bool audit_due;

	/* after a denial: drain what the agent still sends so it reads our answer, not a RST */
	bool linger;
	uint64_t linger_deadline_ms;
	size_t linger_left;

	/* timers (CLOCK_MONOTONIC ms); 0 = not armed */
	uint64_t header_deadline_ms, last_active_ms;
};

struct px_worker {
	int epfd;
	int id;
	struct px_conn *conns;
	struct px_conn *dead;      /* closed in this batch: later events may still name them */
	struct px_handle listen_h[PX_MAX_LISTENERS];
};

uint64_t px_now_ms(void);

/* idle.c: proxy.idle_exit */
void px_idle_touch(void);
/* Connection-free for the policy's idle_exit, the chain settled: stops the workers (they accept
 * nothing more) and returns true; the caller exits with DAEMON_EXIT_IDLE. */
bool px_idle_stop(const struct proxy_policy *pol);

/* loop.c */
int px_worker_run(struct px_worker *w);
int px_epoll_add(struct px_conn *c, int fd, struct px_handle *h);
void px_epoll_del(struct px_conn *c, int fd);

/* conn.c */
void px_conn_accept(struct px_worker *w, int lfd, bool explicit_port);
void px_conn_event(struct px_handle *h, uint32_t events);
void px_conn_timers(struct px_worker *w, uint64_t now);
void px_conn_close(struct px_conn *c);
void px_conn_reap(struct px_worker *w);
void px_conn_drive(struct px_conn *c);
ssize_t px_side_read(struct px_side *s, void *buf, size_t len);
ssize_t px_side_write(struct px_side *s, const void *buf, size_t len);
bool px_buf_reserve(struct px_buf *b, size_t want, size_t max);
bool px_side_fill(struct px_conn *c, struct px_side *s, size_t max);
bool px_side_flush(struct px_conn *c, struct px_side *dst, struct px_side *src);
void px_side_shutdown_write(struct px_side *s);

/* inspect.c */
bool px_http_step(struct px_conn *c);
void px_http_start(struct px_conn *c);
void px_http_audit_due(struct px_conn *c);

/* upstream.c: resolve (explicit), dial, TLS */
bool px_up_step(struct px_conn *c);
void px_up_begin(struct px_conn *c);
void px_up_reset(struct px_conn *c);
void px_dns_event(struct px_conn *c);
/* The original destination is acceptable for host (dns_allow or the fallback). 0 or a reason. */
enum policy_reason px_check_orig_dst(struct px_conn *c, const struct cage_addr *a, bool have_name,
				     const char **why);

/* relay.c */
bool px_splice_step(struct px_conn *c);
bool px_copy_step(struct px_conn *c);
void px_relay_free(struct px_conn *c);

/* deny.c: queue a response for the agent and close after it. */
void px_deny_http(struct px_conn *c, int status, const char *reason, const char *host);
void px_reply_raw(struct px_conn *c, const char *text);

/* proxy_audit.c */
struct px_audit {
	const char *event, *decision, *reason, *mode, *method, *host, *path;
	uint16_t port;
	int status;
	bool have_dst;
	struct cage_addr dst;
	uint16_t dport;
	const char *detail;
};
void px_audit(struct px_conn *c, const struct px_audit *a);
void px_audit_simple(const char *event, const char *reason, const char *detail);
void px_audit_flush(void);

#endif
