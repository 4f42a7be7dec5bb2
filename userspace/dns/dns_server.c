// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "dns/dns_allow.h"
#include "dns/dns_metrics.h"
#include "dns/resolver.h"
#include "lib/log.h"

#define UDP_BATCH 32
#define UDP_OUT_MAX DNS_UDP_OURS
#define SWEEP_EVERY_NS (60ull * 1000000000ull)

uint64_t dnsd_now_ns(void)
{
	struct timespec ts;

	/* BOOTTIME: the clock dns_allow expiries are compared against in the kernel. */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void dnsd_client_text(const struct res_client *cl, char *buf, size_t len)
{
	const struct sockaddr_storage *ss = &cl->addr;

	buf[0] = '\0';
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)len);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, (socklen_t)len);
}

/* --- TCP clients ------------------------------------------------------------------------ */

static void conn_close(struct resolver *r, uint32_t idx)
{
	struct res_conn *c = &r->conns[idx];

	if (c->fd < 0)
		return;
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->wbuf);
	c->wbuf = NULL;
	c->fd = -1;
	c->rlen = c->wlen = c->woff = c->wcap = 0;
	c->gen = ++r->conn_gen;  /* answers still in flight for it are dropped */
}

static void conn_want_write(struct resolver *r, uint32_t idx, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u64 = RES_TAG(TAG_CONN, idx) };

	epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->conns[idx].fd, &ev);
}

static int conn_flush(struct resolver *r, uint32_t idx)
{
	struct res_conn *c = &r->conns[idx];

	while (c->woff < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -EPIPE;
		c->woff += (size_t)n;
	}
	c->woff = c->wlen = 0;
	conn_want_write(r, idx, false);
	return 0;
}

static void conn_send(struct resolver *r, uint32_t idx, const uint8_t *msg, size_t len)
{
	struct res_conn *c = &r->conns[idx];
	uint8_t prefix[2];
	size_t need, done = 0;

	if (dns_tcp_prefix_put(prefix, len))
		return;
	if (c->wlen == 0) {
		struct iovec iov[2] = { { prefix, 2 }, { (void *)msg, len } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno != EAGAIN) {
			conn_close(r, idx);
			return;
		}
		done = n > 0 ? (size_t)n : 0;
		if (done == len + 2)
			return;
	}
	/* The client reads slowly: keep the rest, within a bound, and wait for EPOLLOUT. */
	need = c->wlen + len + 2 - done;
	if (need > RES_TCP_OUT_MAX) {
		conn_close(r, idx);
		return;
	}
	if (need > c->wcap) {
		uint8_t *nb = realloc(c->wbuf, need);

		if (!nb) {
			conn_close(r, idx);
			return;
		}
		c->wbuf = nb;
		c->wcap = need;
	}
	for (size_t k = done; k < len + 2; k++)
		c->wbuf[c->wlen++] = k < 2 ? prefix[k] : msg[k - 2];
	conn_want_write(r, idx, true);
}

void dnsd_deliver(struct resolver *r, const struct res_client *cl, const uint8_t *msg, size_t len)
{
	if (cl->kind == CLIENT_UDP) {
		sendto(r->udp_fd[cl->listen_idx], msg, len, MSG_DONTWAIT, (const struct sockaddr *)&cl->addr,
		       cl->addrlen);
		return;
	}
	if (cl->conn_idx < r->conn_hw && r->conns[cl->conn_idx].fd >= 0 &&
	    r->conns[cl->conn_idx].gen == cl->conn_gen)
		conn_send(r, cl->conn_idx, msg, len);
}

/* --- one query --------------------------------------------------------------------------- */

/*
 * Handles one query. Returns the length of an answer to send now, 0 when there is nothing to
 * send now (dropped, or waiting for upstream).
 */
static int handle_query(struct resolver *r, const uint8_t *msg, size_t len, const struct res_client *cl,
			uint8_t *out, size_t cap)
{
	static struct dns_query q;
	struct dns_decision d;
	struct dns_cache_hit hit;
	uint64_t now = dnsd_now_ns();
	int err, n;

	r->stats.queries++;
	err = dns_query_parse(msg, len, &q);
	if (err == -EMSGSIZE || err == -EINVAL)
		return 0;
	if (err == -ENOTSUP)
		return dns_write_rcode(&q, DNS_RCODE_NOTIMP, out, cap);
	if (err) {
		dns_audit_query(r, "dns.denied", "deny", "malformed", &q, cl, "FORMERR");
		return dns_write_rcode(&q, DNS_RCODE_FORMERR, out, cap);
	}
	if (!dns_rate_take(&r->rate, now)) {
		/* Counted and reported once a second: a flood must not become a disk flood. */
		r->rate_refused++;
		r->stats.refused_rate++;
		return dns_write_rcode(&q, DNS_RCODE_REFUSED, out, cap);
	}
	dns_policy_decide(r->policy, &q, &d);
	if (d.exfil)
		dns_audit_exfil(r, &d, &q, cl);
	switch (d.action) {
	case DNS_ACT_DENY_NAME:
		r->stats.denied++;
		dns_audit_query(r, d.event, "deny", d.reason, &q, cl,
				r->policy->deny == DNS_DENY_REFUSED ? "REFUSED" :
				r->policy->deny == DNS_DENY_SINKHOLE ? "sinkhole" : "NXDOMAIN");
		return dnsd_deny_answer(r, &q, out, cap);
	case DNS_ACT_REFUSE:
		r->stats.denied++;
		dns_audit_query(r, d.event, "deny", d.reason, &q, cl, "REFUSED");
		return dns_write_rcode(&q, DNS_RCODE_REFUSED, out, cap);
	case DNS_ACT_NODATA:
		return dns_write_addresses(&q, NULL, 0, 0, out, cap);
	case DNS_ACT_FORWARD:
		break;
	}
	if (dns_cache_get(r->cache, d.name, q.qtype, now, &hit) == 0 &&
	    dns_response_parse(hit.msg, hit.len, r->resp) == 0) {
		for (size_t i = 0; i < r->resp->ancount; i++)
			r->resp->an[i].ttl = r->resp->an[i].ttl > hit.age_s ? r->resp->an[i].ttl - hit.age_s : 0;
		r->stats.cache_hits++;
		return dnsd_answer(r, &q, d.name, r->resp, cl, out, cap);
	}
	err = dns_upstream_submit(r, d.name, &q, cl);
	if (err) {
		r->stats.servfail++;
		dns_audit_query(r, "dns.servfail", "error", "upstream_busy", &q, cl, NULL);
		n = dns_write_rcode(&q, DNS_RCODE_SERVFAIL, out, cap);
		return n;
	}
	return 0;
}

/* --- UDP --------------------------------------------------------------------------------- */

static void on_udp(struct resolver *r, uint8_t idx)
{
	static uint8_t in[UDP_BATCH][DNS_UDP_OURS + 1], out[UDP_BATCH][UDP_OUT_MAX];
	static struct sockaddr_storage from[UDP_BATCH];
	static struct mmsghdr rmsg[UDP_BATCH], smsg[UDP_BATCH];
	static struct iovec riov[UDP_BATCH], siov[UDP_BATCH];
	int fd = r->udp_fd[idx];

	for (int rounds = 0; rounds < 8; rounds++) {
		int n, ns = 0;

		for (int i = 0; i < UDP_BATCH; i++) {
			riov[i] = (struct iovec){ in[i], sizeof(in[i]) };
			rmsg[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
							   .msg_iov = &riov[i], .msg_iovlen = 1 };
		}
		n = recvmmsg(fd, rmsg, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct res_client cl = { .kind = CLIENT_UDP, .listen_idx = idx };
			int len;

			/* A datagram larger than any query we accept is cut: drop it. */
			if (rmsg[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			memcpy(&cl.addr, &from[i], sizeof(from[i]));
			cl.addrlen = rmsg[i].msg_hdr.msg_namelen;
			len = handle_query(r, in[i], rmsg[i].msg_len, &cl, out[ns], sizeof(out[ns]));
			if (len <= 0)
				continue;
			siov[ns] = (struct iovec){ out[ns], (size_t)len };
			smsg[ns].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = cl.addrlen,
							    .msg_iov = &siov[ns], .msg_iovlen = 1 };
			ns++;
		}
		for (int sent = 0; sent < ns;) {
			int k = sendmmsg(fd, smsg + sent, (unsigned)(ns - sent), MSG_DONTWAIT);

			if (k <= 0)
				break;  /* the socket buffer is full: UDP may drop, the client retries */
			sent += k;
		}
		if (n < UDP_BATCH)
			return;
	}
}

/* --- TCP --------------------------------------------------------------------------------- */

static void on_tcp_listen(struct resolver *r, int lfd)
{
	for (int k = 0; k < 64; k++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		uint32_t idx;

		if (fd < 0)
			return;
		/* A slot used before, else a never-used one past the high-water index. */
		for (idx = 0; idx < r->conn_hw && r->conns[idx].fd >= 0; idx++)
			;
		if (idx == RES_TCP_CONNS_MAX) {
			close(fd);  /* over the bound: the client retries or falls back to UDP */
			continue;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = RES_TAG(TAG_CONN, idx) };

		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			continue;
		}
		if (idx == r->conn_hw)
			r->conn_hw++;
		r->conns[idx].fd = fd;
		r->conns[idx].gen = ++r->conn_gen;
		r->conns[idx].rlen = 0;
		r->conns[idx].last_ns = dnsd_now_ns();
	}
}

static void on_conn(struct resolver *r, uint32_t idx, uint32_t events)
{
	static uint8_t out[DNS_TCP_MAX];
	struct res_conn *c = &r->conns[idx];

	if (idx >= r->conn_hw || c->fd < 0)
		return;
	c->last_ns = dnsd_now_ns();
	if ((events & EPOLLOUT) && conn_flush(r, idx)) {
		conn_close(r, idx);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, MSG_DONTWAIT);
		const uint8_t *msg;
		size_t msg_len, off = 0;
		int frame;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_close(r, idx);
			return;
		}
		c->rlen += (size_t)n;
		while ((frame = dns_tcp_frame_parse(c->rbuf + off, c->rlen - off, &msg, &msg_len)) > 0) {
			struct res_client cl = { .kind = CLIENT_TCP, .conn_idx = idx, .conn_gen = c->gen };
			socklen_t alen = sizeof(cl.addr);
			int len;

			getpeername(c->fd, (struct sockaddr *)&cl.addr, &alen);
			cl.addrlen = alen;
			len = handle_query(r, msg, msg_len, &cl, out, sizeof(out));
			if (len > 0)
				conn_send(r, idx, out, (size_t)len);
			if (c->fd < 0 || c->gen != cl.conn_gen)
				return;
			off += (size_t)frame;
		}
		/* A bad prefix, or a query longer than any we accept: close. */
		if (frame < 0 || (c->rlen - off == sizeof(c->rbuf))) {
			conn_close(r, idx);
			return;
		}
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
}

/* --- reload, tick, loop ------------------------------------------------------------------ */

static void config_warn(const struct cage_config_diag *diag, void *arg)
{
	(void)diag;
	(void)arg;
}

int dnsd_reload(struct resolver *r)
{
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;
	struct dns_policy *p;
	char msg[1024];
	int err;

	err = cage_config_load(r->config_path, &cfg, &diag, config_warn, NULL);
	if (err) {
		if (err == -EINVAL) {
			cage_config_diag_format(&diag, msg, sizeof(msg));
			p_err("reload: %s (keeping the current allowlist)", msg);
		} else {
			p_err("reload: can't load %s: %s (keeping the current allowlist)", r->config_path,
			      strerror(-err));
		}
		return err;
	}
	p = dns_policy_build(cfg, time(NULL), &err);
	cage_config_free(cfg);
	if (!p) {
		p_err("reload: can't build the allowlist: %s", strerror(-err));
		return err;
	}
	/* One pointer swap between two queries: no query sees half a policy, none is dropped. */
	dns_policy_free(r->policy);
	r->policy = p;
	if (r->rate.rate != p->rate_limit)
		dns_rate_init(&r->rate, p->rate_limit, dnsd_now_ns());
	return 0;
}

static void on_signal(struct resolver *r)
{
	struct signalfd_siginfo si;

	while (read(r->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			struct json_buf *jb;
			int err = dnsd_reload(r);

			jb = audit_begin(r->audit, "dns", "dns.reload", err ? "error" : "ok", "dns.reload");
			if (jb) {
				jb_uint(jb, "allow_patterns", domain_set_count(r->policy->allow));
				jb_uint(jb, "block_patterns", domain_set_count(r->policy->block));
				audit_commit(r->audit);
			}
		} else {
			r->stop = true;
		}
	}
}

static void tick(struct resolver *r, uint64_t now)
{
	dns_audit_rate(r);
	audit_flush_suppressed(r->audit);
	dns_metrics_publish(&r->stats);
	for (uint32_t i = 0; i < r->conn_hw; i++)
		if (r->conns[i].fd >= 0 && now - r->conns[i].last_ns > RES_TCP_IDLE_NS)
			conn_close(r, i);
	if (r->policy->next_expiry && time(NULL) >= r->policy->next_expiry)
		dnsd_reload(r);
	if (now >= r->next_sweep_ns) {
		dns_allow_sweep(r->map_fd, now);
		r->next_sweep_ns = now + SWEEP_EVERY_NS;
	}
}

int dnsd_init(struct resolver *r)
{
	sigset_t mask;
	struct epoll_event ev;
	int err;

	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return -errno;
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	r->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r->sigfd < 0)
		return -errno;
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = RES_TAG(TAG_SIGNAL, 0) };
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->sigfd, &ev))
		return -errno;
	for (size_t i = 0; i < r->n_udp; i++) {
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = RES_TAG(TAG_UDP, i) };
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->udp_fd[i], &ev))
			return -errno;
	}
	for (size_t i = 0; i < r->n_tcp; i++) {
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = RES_TAG(TAG_TCP_LISTEN, i) };
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->tcp_fd[i], &ev))
			return -errno;
	}
	r->cache = dns_cache_new(4096);
	r->resp = calloc(1, sizeof(*r->resp));
	r->conns = calloc(RES_TCP_CONNS_MAX, sizeof(*r->conns));
	if (!r->cache || !r->resp || !r->conns)
		return -ENOMEM;
	r->conn_hw = 0;  /* slots are taken from the bottom: the untouched rest costs no memory */
	err = dns_upstream_pools_init(r);
	if (err)
		return err;
	err = dns_upstream_open(r);
	if (err)
		return err;
	dns_rate_init(&r->rate, r->policy->rate_limit, dnsd_now_ns());
	r->next_sweep_ns = dnsd_now_ns() + SWEEP_EVERY_NS;
	return 0;
}

int dnsd_run(struct resolver *r)
{
	struct epoll_event evs[64];

	while (!r->stop) {
		uint64_t now = dnsd_now_ns();
		int timeout = dns_upstream_next_timeout_ms(r, now), n;
		int tick_ms = r->next_tick_ns > now ? (int)((r->next_tick_ns - now) / 1000000 + 1) : 0;

		if (timeout < 0 || tick_ms < timeout)
			timeout = tick_ms;
		n = epoll_wait(r->epfd, evs, 64, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			uint32_t idx = (uint32_t)evs[i].data.u64;

			switch (evs[i].data.u64 >> 32) {
			case TAG_UDP:
				on_udp(r, (uint8_t)idx);
				break;
			case TAG_TCP_LISTEN:
				on_tcp_listen(r, r->tcp_fd[idx]);
				break;
			case TAG_CONN:
				on_conn(r, idx, evs[i].events);
				break;
			case TAG_UP_UDP:
				dns_upstream_on_udp(r, r->up[idx / RES_UPSTREAM_SOCKS].fds[idx % RES_UPSTREAM_SOCKS]);
				break;
			case TAG_UP_TCP:
				dns_upstream_on_tcp(r, (int32_t)idx, evs[i].events);
				break;
			case TAG_SIGNAL:
				on_signal(r);
				break;
			}
		}
		now = dnsd_now_ns();
		dns_upstream_expire(r, now);
		if (now >= r->next_tick_ns) {
			tick(r, now);
			r->next_tick_ns = now + 1000000000ull;
		}
	}
	return 0;
}

void dnsd_fini(struct resolver *r)
{
	if (r->conns)
		for (uint32_t i = 0; i < r->conn_hw; i++)
			conn_close(r, i);
	free(r->conns);
	dns_upstream_pools_fini(r);
	dns_cache_free(r->cache);
	free(r->resp);
	if (r->sigfd >= 0)
		close(r->sigfd);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->audit) {
		if (r->policy)
			dns_audit_rate(r);
		audit_close(r->audit);
	}
	dns_policy_free(r->policy);
}
