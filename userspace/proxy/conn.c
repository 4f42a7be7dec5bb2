// SPDX-License-Identifier: GPL-2.0-only
/*
 * The connection state machine: accept, classify the first bytes before any upstream dial,
 * and drive whichever phase the connection is in until no side can make progress. Sockets are
 * edge-triggered, so px_conn_drive() always runs every step until each one reports "no
 * progress" (EAGAIN, full buffer, or waiting on the other side): an event is never lost.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "enforce/origdst.h"
#include "lib/ipclass.h"
#include "proxy/clienthello.h"
#include "proxy/metrics.h"
#include "proxy/proxy.h"
#include "proxy/tls.h"
#include "proxy/ws_relay.h"

uint64_t px_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- buffers and side I/O ----------------------------------------------------------------- */

/* Room for `want` more bytes at the end, compacting first and growing up to max. */
bool px_buf_reserve(struct px_buf *b, size_t want, size_t max)
{
	if (b->start == b->end)
		b->start = b->end = 0;
	if (b->cap - b->end >= want)
		return true;
	if (b->start) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
		if (b->cap - b->end >= want)
			return true;
	}
	size_t need = b->end + want, cap = b->cap ? b->cap : PX_BUF_SIZE;

	while (cap < need)
		cap *= 2;
	if (cap > max)
		cap = max;
	if (cap <= b->cap)
		return b->cap > b->end;
	uint8_t *d = realloc(b->data, cap);

	if (!d)
		return false;
	b->data = d;
	b->cap = cap;
	return b->cap > b->end;
}

static void buf_free(struct px_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* >0 bytes, 0 at EOF, -EAGAIN, or another -errno. */
ssize_t px_side_read(struct px_side *s, void *buf, size_t len)
{
	if (s->ssl) {
		int n, e;

		ERR_clear_error();
		n = SSL_read(s->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));
		if (n > 0)
			return n;
		e = SSL_get_error(s->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			s->rd_idle = true;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return -EAGAIN;
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e == SSL_ERROR_SYSCALL && errno == 0)
			return 0;
		return -EPROTO;
	}
	ssize_t n = recv(s->fd, buf, len, 0);

	if (n >= 0)
		return n;
	if (errno == EWOULDBLOCK) {
		s->rd_idle = true;
		return -EAGAIN;
	}
	return -errno;
}

ssize_t px_side_write(struct px_side *s, const void *buf, size_t len)
{
	if (s->ssl) {
		int n, e;

		ERR_clear_error();
		n = SSL_write(s->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));
		if (n > 0)
			return n;
		e = SSL_get_error(s->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			s->wr_blocked = true;
			return -EAGAIN;
		}
		return -EPIPE;
	}
	ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return n;
	if (errno == EWOULDBLOCK) {
		s->wr_blocked = true;
		return -EAGAIN;
	}
	return -errno;
}

void px_side_shutdown_write(struct px_side *s)
{
	if (s->wr_shut || s->fd < 0)
		return;
	s->wr_shut = true;
	if (s->ssl)
		SSL_shutdown(s->ssl);
	shutdown(s->fd, SHUT_WR);
}

/*
 * Reads what fits (the buffer grows up to max). True if any byte came or EOF was seen.
 * A side whose last read found nothing is not read again before its next readable edge: the
 * drive loop calls this several times per event, and each of those reads would be a wasted
 * syscall. Bytes OpenSSL already took from the socket (read-ahead) bring no edge, so a side
 * with SSL_has_pending() is always read.
 */
bool px_side_fill(struct px_conn *c, struct px_side *s, size_t max)
{
	bool progress = false;

	while (!s->rd_eof) {
		if (s->rd_idle && !(s->ssl && SSL_has_pending(s->ssl)))
			break;
		if (!px_buf_reserve(&s->in, 1, max))
			break;
		ssize_t n = px_side_read(s, s->in.data + s->in.end, s->in.cap - s->in.end);

		if (n == -EAGAIN)
			break;
		progress = true;
		if (n <= 0) {
			s->rd_eof = true;
			break;
		}
		s->in.end += (size_t)n;
		if (s == &c->cl) {
			c->bytes_in += (uint64_t)n;
			px_metrics_bytes((uint64_t)n, 0);
		}
		c->last_active_ms = px_now_ms();
	}
	return progress;
}

/*
 * A small head in dst->out followed by small approved bytes of src->in (a re-serialised
 * response head and a short body): one write instead of two, so one TLS record and one
 * syscall. The approved bytes move from src->in to dst->out, which keeps src->in.start +
 * src->fwd (the end of what was approved) where it was. Never while a write of dst->out
 * is pending after EAGAIN: SSL_write must be retried with the same bytes first.
 */
static void coalesce_small(struct px_side *dst, struct px_side *src)
{
	struct px_buf *o = &dst->out, *in = &src->in;
	size_t olen = o->end - o->start;

	if (!src->fwd || dst->wr_blocked || olen + src->fwd > PX_BUF_SIZE)
		return;
	if (!px_buf_reserve(o, src->fwd, PX_BUF_SIZE) || o->cap - o->end < src->fwd)
		return;
	memcpy(o->data + o->end, in->data + in->start, src->fwd);
	o->end += src->fwd;
	in->start += src->fwd;
	src->fwd = 0;
	if (in->start == in->end)
		in->start = in->end = 0;
}

/* Writes dst->out, then the approved bytes of src->in. True on progress. Errors close dst. */
bool px_side_flush(struct px_conn *c, struct px_side *dst, struct px_side *src)
{
	bool progress = false;

	if (dst->fd < 0 || dst->wr_shut)
		return false;
	if (src && dst->out.end > dst->out.start)
		coalesce_small(dst, src);
	for (;;) {
		struct px_buf *b;
		size_t len;
		bool from_out = dst->out.end > dst->out.start;

		if (from_out) {
			b = &dst->out;
			len = b->end - b->start;
		} else if (src && src->fwd) {
			b = &src->in;
			len = src->fwd;
		} else {
			break;
		}
		ssize_t n = px_side_write(dst, b->data + b->start, len);

		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			/* The peer is gone: nothing more can be delivered to it. */
			dst->wr_shut = true;
			dst->rd_eof = true;
			return true;
		}
		progress = true;
		dst->wr_blocked = false;
		b->start += (size_t)n;
		if (!from_out)
			src->fwd -= (size_t)n;
		if (b->start == b->end)
			b->start = b->end = 0;
		if (dst == &c->cl) {
			c->bytes_out += (uint64_t)n;
			px_metrics_bytes(0, (uint64_t)n);
		}
		c->last_active_ms = px_now_ms();
	}
	return progress;
}

/* --- lifecycle ---------------------------------------------------------------------------- */

static void side_close(struct px_conn *c, struct px_side *s)
{
	if (s->ssl) {
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0) {
		if (s->registered)
			px_epoll_del(c, s->fd);
		close(s->fd);
		s->fd = -1;
	}
	s->registered = false;
	buf_free(&s->in);
	buf_free(&s->out);
	s->fwd = 0;
	s->rd_idle = s->wr_blocked = false;
}

void px_conn_close(struct px_conn *c)
{
	struct px_worker *w = c->w;

	/* A response that ended while its last bytes were still going out: audit what arrived. */
	px_http_audit_due(c);
	if (c->txn) {
		const struct proxy_hooks *h = proxy_hooks_get();

		if (h && h->on_end)
			h->on_end(h->ctx, c->txn, false);
		c->txn = NULL;
	}
	px_ws_free(c);
	side_close(c, &c->cl);
	side_close(c, &c->up);
	if (c->dns_fd >= 0) {
		px_epoll_del(c, c->dns_fd);
		close(c->dns_fd);
	}
	px_relay_free(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	policy_put(c->pol);
	c->pol = NULL;
	atomic_fetch_sub(&px.n_conns, 1);
	px_idle_touch();
	c->dead = true;
	c->next = w->dead;
	c->prev = NULL;
	w->dead = c;
}

void px_conn_reap(struct px_worker *w)
{
	while (w->dead) {
		struct px_conn *c = w->dead;

		w->dead = c->next;
		free(c);
	}
}

static void audit_conn(struct px_conn *c, const char *event, const char *decision,
		       const char *reason, const char *detail)
{
	struct px_audit a = {
		.event = event, .decision = decision, .reason = reason, .detail = detail,
		.mode = c->mode == POLICY_MODE_PASSTHROUGH ? "passthrough" : "inspect",
		.host = c->conn_host, .port = c->conn_port,
	};

	if (c->has_orig) {
		a.have_dst = true;
		a.dst = c->orig.dst;
		a.dport = c->orig.dport;
	} else if (c->up_addr_known) {
		a.have_dst = true;
		a.dst = c->up_addr;
		a.dport = c->up_port;
	}
	c->audited = true;
	px_audit(c, &a);
}

/* A denial before any HTTP exchange: audit, then close (or flush cl.out and close). */
static void deny_conn(struct px_conn *c, const char *event, const char *reason, const char *detail)
{
	audit_conn(c, event, "blocked", reason, detail);
	c->phase = PH_CLOSING;
}

static void accept_batch(struct px_worker *w, int lfd, bool explicit_port)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	int fd, one = 1;

	for (;;) {
		/* Stopping (SIGTERM, or idle.c): what waits in the queue is the next proxy's. */
		if (atomic_load(&px.stopping))
			return;
		fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN: another worker took it, or the queue is empty */
		plen = sizeof(peer);
		if (atomic_load(&px.stopping)) {
			close(fd);
			continue;
		}
		struct px_conn *c = calloc(1, sizeof(*c));
		struct cage_orig orig;
		bool has_orig = false;

		if (!c) {
			close(fd);
			continue;
		}
		if (!explicit_port && px.origdst_fd >= 0 && origdst_lookup_fd(px.origdst_fd, fd, &orig) == 0)
			has_orig = true;
		if (atomic_fetch_add(&px.n_conns, 1) >= px.max_conns) {
			/* Over the cap: 503 where the client speaks HTTP in clear, else a plain close. */
			if (explicit_port || (has_orig && orig.dport == 80)) {
				static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
							   "Content-Length: 0\r\nConnection: close\r\n\r\n";
				ssize_t n = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
				(void)n;
			}
			atomic_fetch_sub(&px.n_conns, 1);
			px_audit_simple("limit.conn_cap", "conn_cap", NULL);
			close(fd);
			free(c);
			continue;
		}
		c->w = w;
		c->pol = atomic_load(&px.policy);
		policy_get(c->pol);
		c->explicit_port = explicit_port;
		c->cl.fd = fd;
		c->up.fd = -1;
		c->dns_fd = -1;
		c->pipe_c2u[0] = c->pipe_c2u[1] = c->pipe_u2c[0] = c->pipe_u2c[1] = -1;
		c->has_orig = has_orig;
		if (has_orig)
			c->orig = orig;
		cage_addr_from_sockaddr((struct sockaddr *)&peer, &c->peer_addr, &(__u16){ 0 });
		if (!getsockname(fd, (struct sockaddr *)&local, &llen))
			cage_addr_from_sockaddr((struct sockaddr *)&local, &(struct cage_addr){ 0 },
						&c->local_port);
		llen = sizeof(local);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->t_start_ms = c->last_active_ms = px_now_ms();
		atomic_store(&px.last_active_ms, c->t_start_ms);
		c->header_deadline_ms = c->t_start_ms + PX_HEADER_TIMEOUT_MS;
		c->phase = explicit_port ? PH_EXPLICIT : PH_CLASSIFY;
		if (explicit_port)
			px_http_start(c);
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		c->cl.h = (struct px_handle){ .kind = PXH_CLIENT, .conn = c };
		if (px_epoll_add(c, fd, &c->cl.h)) {
			px_conn_close(c);
			continue;
		}
		c->cl.registered = true;
		if (!explicit_port && !has_orig) {
			/* A transparent connection the kernel did not redirect: nothing to route on. */
			deny_conn(c, "proxy.deny", "no_orig_dst", NULL);
		}
		px_conn_drive(c);
	}
}

/* Under the accept gate: idle.c decides "no connection" only between two batches. */
void px_conn_accept(struct px_worker *w, int lfd, bool explicit_port)
{
	pthread_rwlock_rdlock(&px.accept_gate);
	accept_batch(w, lfd, explicit_port);
	pthread_rwlock_unlock(&px.accept_gate);
}

/* --- classification ----------------------------------------------------------------------- */

static bool looks_like_http(const uint8_t *b, size_t n)
{
	/* A request line starts with an upper-case token and a space. */
	size_t i = 0;

	while (i < n && i < 32 && b[i] >= 'A' && b[i] <= 'Z')
		i++;
	if (i == n)
		return true; /* undecided: more bytes needed; the header timeout bounds the wait */
	return i > 0 && b[i] == ' ';
}

static void start_agent_tls(struct px_conn *c)
{
	if (px.tls) {
		c->cl.ssl = proxy_tls_agent_ssl(px.tls, c->cl.fd, c->conn_host);
		if (c->cl.ssl) {
			SSL_set_mode(c->cl.ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
						SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
			c->agent_tls = true;
			c->phase = PH_AGENT_TLS;
			return;
		}
	}
	deny_conn(c, "proxy.client_tls_failed", "tls_unavailable", NULL);
}

/* The SNI was found: decide before any dial. expect: the CONNECT authority, or NULL. */
static void on_client_hello(struct px_conn *c, const struct clienthello *ch, const char *expect)
{
	struct policy_verdict v;
	uint16_t port = c->has_orig ? c->orig.dport : c->conn_port;

	if (!ch->has_sni) {
		/* Never infer the host from the IP, reverse DNS or the upstream certificate. */
		deny_conn(c, "proxy.deny", "no_sni", NULL);
		return;
	}
	policy_check_host(c->pol, ch->sni, ch->sni_len, port, &v);
	if (v.reason != POLICY_OK) {
		if (v.host[0])
			snprintf(c->conn_host, sizeof(c->conn_host), "%s", v.host);
		else
			snprintf(c->conn_host, sizeof(c->conn_host), "%.*s", (int)ch->sni_len, ch->sni);
		c->conn_port = port;
		deny_conn(c, "proxy.sni_denied", policy_reason_name(v.reason), NULL);
		return;
	}
	if (expect && strcmp(expect, v.host)) {
		snprintf(c->conn_host, sizeof(c->conn_host), "%s", v.host);
		deny_conn(c, "proxy.sni_host_mismatch", "sni_authority_mismatch", expect);
		return;
	}
	snprintf(c->conn_host, sizeof(c->conn_host), "%s", v.host);
	c->conn_port = port;
	c->mode = v.mode;
	/* With ECH the policy ran on the outer SNI and our handshake ignores the extension: the
	 * inner hello is never forwarded upstream, and an ECH-insisting client fails closed. */
	if (!expect) {
		const char *why = NULL;
		enum policy_reason r = px_check_orig_dst(c, &c->orig.dst, true, &why);

		if (r != POLICY_OK) {
			deny_conn(c, r == POLICY_DST_PRIVATE || r == POLICY_DST_GATEWAY
					     ? "proxy.dst_private_denied" : "proxy.deny",
				  why ? why : policy_reason_name(r), NULL);
			return;
		}
		c->up_addr = c->orig.dst;
		c->up_addr_known = true;
		c->up_port = c->orig.dport;
		c->up_state = UP_RESOLVED;
	}
	snprintf(c->up_host, sizeof(c->up_host), "%s", c->conn_host);
	/* Passthrough relays the agent's own TLS session; inspect opens ours upstream. */
	c->up_tls = c->mode == POLICY_MODE_INSPECT;
	if (c->mode == POLICY_MODE_PASSTHROUGH) {
		c->phase = PH_SPLICE;
		px_up_begin(c);
		return;
	}
	start_agent_tls(c);
}

/* Transparent and tunnel connections: peek (so passthrough can splice from byte 0). */
static bool classify_step(struct px_conn *c)
{
	uint8_t peek[CLIENTHELLO_MAX_WIRE];
	struct clienthello ch;
	ssize_t n;
	const char *expect = c->phase == PH_TUNNEL_CLASSIFY ? c->conn_host : NULL;
	uint16_t port = c->has_orig ? c->orig.dport : c->conn_port;

	if (!expect && policy_port_passthrough(c->pol, port) && !policy_port_inspect(c->pol, port)) {
		/* A non-TLS passthrough port: the decision is the original destination alone. */
		const char *why = NULL;
		enum policy_reason r = px_check_orig_dst(c, &c->orig.dst, false, &why);

		c->mode = POLICY_MODE_PASSTHROUGH;
		c->conn_port = port;
		if (r != POLICY_OK) {
			deny_conn(c, r == POLICY_DST_PRIVATE ? "proxy.dst_private_denied" : "proxy.deny",
				  why ? why : policy_reason_name(r), NULL);
			return true;
		}
		c->up_addr = c->orig.dst;
		c->up_addr_known = true;
		c->up_port = port;
		c->up_state = UP_RESOLVED;
		c->phase = PH_SPLICE;
		px_up_begin(c);
		return true;
	}
	n = recv(c->cl.fd, peek, sizeof(peek), MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n < 0) {
		c->phase = PH_CLOSING; /* reset before the first byte: nothing to audit */
		return true;
	}
	if (n == 0) {
		c->phase = PH_CLOSING;
		return true;
	}
	if (peek[0] == 0x16) {
		size_t need = 0;
		enum clienthello_result r = clienthello_parse(peek, (size_t)n, &ch, &need);

		if (r == CH_NEED_MORE) {
			if ((size_t)n >= sizeof(peek))
				goto bad_hello;
			return false;
		}
		if (r != CH_OK)
			goto bad_hello;
		on_client_hello(c, &ch, expect);
		return true;
bad_hello:
		deny_conn(c, "proxy.protocol_unrecognized", "bad_client_hello",
			  clienthello_result_name(r));
		return true;
	}
	if (!looks_like_http(peek, (size_t)n)) {
		deny_conn(c, "proxy.protocol_unrecognized", "protocol_unrecognized", NULL);
		return true;
	}
	if (!policy_port_inspect(c->pol, port)) {
		deny_conn(c, "proxy.deny", "port_denied", NULL);
		return true;
	}
	/* Plain HTTP: the bytes are parsed by the inspect path (they are still in the socket). */
	c->conn_port = port;
	c->mode = POLICY_MODE_INSPECT;
	if (expect) {
		c->up_tls = false;
	} else {
		c->up_port = port;
	}
	c->phase = PH_HTTP;
	px_http_start(c);
	return true;
}

static bool agent_tls_step(struct px_conn *c)
{
	int r, e;

	ERR_clear_error();
	r = SSL_accept(c->cl.ssl);
	if (r == 1) {
		c->phase = PH_HTTP;
		px_http_start(c);
		return true;
	}
	e = SSL_get_error(c->cl.ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return false;
	{
		char why[128] = "client_tls_failed";
		proxy_tls_last_error(why, sizeof(why));
		/* Never "learn" passthrough from a failed handshake (pinned clients stay denied). */
		SSL_free(c->cl.ssl);
		c->cl.ssl = NULL;
		/* The handshake failing is the agent's choice (pinning, its own trust store). */
		deny_conn(c, "proxy.client_tls_failed", "client_tls_failed", why);
	}
	return true;
}

#define PX_LINGER_MS 2000
/* Enough for a fast client to see its answer before the close; bounded by the deadline too. */
#define PX_LINGER_BYTES (64u << 20)

/*
 * Flush the answer, then close. After an HTTP denial the agent may still be sending (a 200 KB
 * header block, a body): closing with unread input would reset the connection and the agent
 * would never read the 4xx, so we half-close and discard its bytes for a bounded time first.
 */
static bool closing_step(struct px_conn *c)
{
	bool progress = px_side_flush(c, &c->cl, NULL);
	uint8_t sink[4096];

	if (c->cl.out.end != c->cl.out.start && !c->cl.wr_shut)
		return progress;
	if (!c->linger || c->cl.rd_eof) {
		px_conn_close(c);
		return false;
	}
	if (!c->linger_deadline_ms) {
		px_side_shutdown_write(&c->cl);
		c->linger_deadline_ms = px_now_ms() + PX_LINGER_MS;
		c->linger_left = PX_LINGER_BYTES;
		c->header_deadline_ms = 0;
	}
	for (;;) {
		ssize_t n = px_side_read(&c->cl, sink, sizeof(sink));

		if (n == -EAGAIN)
			return false;
		if (n <= 0 || (size_t)n >= c->linger_left) {
			px_conn_close(c);
			return false;
		}
		c->linger_left -= (size_t)n;
	}
}

/* Drives the connection until nothing moves. May free c. */
void px_conn_drive(struct px_conn *c)
{
	for (int spins = 0;; spins++) {
		bool progress;

		switch (c->phase) {
		case PH_CLASSIFY:
		case PH_TUNNEL_CLASSIFY:
			progress = classify_step(c);
			break;
		case PH_EXPLICIT:
		case PH_CONNECT_WAIT:
		case PH_HTTP:
			progress = px_http_step(c);
			break;
		case PH_AGENT_TLS:
			progress = agent_tls_step(c);
			break;
		case PH_SPLICE:
			progress = px_splice_step(c);
			break;
		case PH_RELAY:
			progress = px_copy_step(c);
			break;
		case PH_CLOSING:
			if (c->up.fd >= 0)
				side_close(c, &c->up);
			if (!closing_step(c))
				return; /* closed, or waiting for EPOLLOUT */
			progress = true;
			break;
		default:
			progress = false;
		}
		if (c->phase == PH_CLOSING && !progress)
			continue; /* let the closing step run once */
		if (!progress)
			return;
	}
}

void px_conn_event(struct px_handle *h, uint32_t events)
{
	struct px_conn *c = h->conn;

	if (c->dead)
		return;
	if (h->kind == PXH_DNS) {
		px_dns_event(c); /* drives (and may free) c itself */
		return;
	}
	/* EPOLLERR/EPOLLHUP need no branch: every step sees the EOF or the error when it reads
	 * (SSL_accept then reports the client's alert, which is what the audit line wants). They
	 * and EPOLLIN/EPOLLRDHUP make the side worth reading again. */
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		if (h->kind == PXH_CLIENT)
			c->cl.rd_idle = false;
		else if (h->kind == PXH_UP)
			c->up.rd_idle = false;
	}
	px_conn_drive(c);
}

void px_conn_timers(struct px_worker *w, uint64_t now)
{
	struct px_conn *c = w->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->dead)
			continue;
		if (c->linger_deadline_ms && now >= c->linger_deadline_ms) {
			px_conn_close(c);
			continue;
		}
		if (c->header_deadline_ms && now >= c->header_deadline_ms) {
			px_audit_simple("limit.header_timeout", "header_timeout", NULL);
			if (c->phase == PH_HTTP || c->phase == PH_EXPLICIT) {
				c->audited = true;
				c->header_deadline_ms = 0;
				px_deny_http(c, 408, "header_timeout", c->conn_host);
				px_conn_drive(c);
			} else {
				px_conn_close(c);
			}
			continue;
		}
		if (c->up_deadline_ms && now >= c->up_deadline_ms) {
			/* px_up_step() (inside the drive) retries the resolver or gives up. */
			px_conn_drive(c);
			continue;
		}
		if (now - c->last_active_ms >= PX_IDLE_TIMEOUT_MS)
			px_conn_close(c);
	}
}
