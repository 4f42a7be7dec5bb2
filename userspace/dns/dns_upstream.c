// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include "dns/resolver.h"
#include "lib/ipclass.h"
#include "lib/log.h"

#define PHASH_BUCKETS 2048

int dns_upstream_add(struct resolver *r, const struct cage_addr *addr)
{
	struct res_upstream *u;

	if (r->n_up >= RES_MAX_UPSTREAM)
		return -ENOSPC;
	u = &r->up[r->n_up];
	memset(u, 0, sizeof(*u));
	if (addr->family == CAGE_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&u->sa;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(53);
		memcpy(&sin->sin_addr, addr->ip, 4);
		u->salen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&u->sa;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(53);
		memcpy(&sin6->sin6_addr, addr->ip, 16);
		u->salen = sizeof(*sin6);
	}
	for (int i = 0; i < RES_UPSTREAM_SOCKS; i++)
		u->fds[i] = -1;
	r->n_up++;
	return 0;
}

/*
 * The host's nameservers. Loopback stubs (systemd-resolved's 127.0.0.53, a local dnsmasq)
 * are kept: cage-dns runs in the host's network namespace, where they answer. IPv6
 * link-local servers are skipped: cage_addr has no scope to reach them with.
 */
int dns_upstream_add_resolv_conf(struct resolver *r, const char *path)
{
	char line[512];
	FILE *f = fopen(path, "re");
	int added = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char word[16], addr[128];
		struct cage_addr a;

		if (sscanf(line, " %15s %127s", word, addr) != 2 || strcmp(word, "nameserver"))
			continue;
		if (ip_literal_parse(addr, &a) || strchr(addr, '%'))
			continue;
		if (dns_upstream_add(r, &a) == 0)
			added++;
	}
	fclose(f);
	return added ? 0 : -ENOENT;
}

/* The server's address as text, for the log. */
static void upstream_text(const struct resolver *r, size_t s, char *buf, size_t len)
{
	const struct sockaddr_storage *ss = &r->up[s].sa;

	buf[0] = '\0';
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)len);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, (socklen_t)len);
}

/*
 * Socket i of server s, opened and connected on first need. Connected: the kernel drops
 * datagrams from anyone but this server. A server that cannot be reached right now (no route,
 * no address of its family yet) is not an error at start: the socket is closed again (a failed
 * connect may leave it bound, and an unconnected bound socket would take datagrams from
 * anyone) and opened again before the next send, so the resolver answers SERVFAIL per query
 * until the network comes up instead of failing to start.
 */
static int upstream_sock(struct resolver *r, size_t s, int i)
{
	struct res_upstream *u = &r->up[s];
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = RES_TAG(TAG_UP_UDP, s * RES_UPSTREAM_SOCKS + i) };
	int fd, err;

	if (u->fds[i] >= 0)
		return 0;
	fd = socket(u->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&u->sa, u->salen) || epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		err = -errno;
		close(fd);
		return err;
	}
	u->fds[i] = fd;
	return 0;
}

int dns_upstream_open(struct resolver *r)
{
	for (size_t s = 0; s < r->n_up; s++)
		for (int i = 0; i < RES_UPSTREAM_SOCKS; i++) {
			int err = upstream_sock(r, s, i);

			/* Out of memory or descriptors is a broken host, not a network that is down yet. */
			if (err == -ENOMEM || err == -ENOBUFS || err == -EMFILE || err == -ENFILE)
				return err;
			if (err && i == 0) {
				char text[64];

				upstream_text(r, s, text, sizeof(text));
				p_warn("upstream %s unreachable at start (%s): answering SERVFAIL until it is",
				       text, strerror(-err));
			}
		}
	return 0;
}

/*
 * The pools are allocated at full size but handed out lazily: entries below the high-water
 * index have been used (and are on the free list or in use), entries above it are still the
 * untouched zero pages calloc returned. Threading a free list through every entry at start
 * would fault in all of them (about 7 MiB) for a resolver that mostly sits idle.
 */
int dns_upstream_pools_init(struct resolver *r)
{
	r->pending = calloc(RES_PENDING_MAX, sizeof(*r->pending));
	r->id_map = calloc(65536, sizeof(*r->id_map));
	r->phash = malloc(PHASH_BUCKETS * sizeof(*r->phash));
	r->waiters = calloc(RES_WAITERS_MAX, sizeof(*r->waiters));
	if (!r->pending || !r->id_map || !r->phash || !r->waiters)
		return -ENOMEM;
	for (int i = 0; i < PHASH_BUCKETS; i++)
		r->phash[i] = -1;
	r->pfree = r->wfree = -1;
	r->phw = r->whw = 0;
	r->fifo_head = r->fifo_tail = -1;
	return 0;
}

void dns_upstream_pools_fini(struct resolver *r)
{
	if (r->pending)
		for (int32_t i = 0; i < r->phw; i++) {
			if (r->pending[i].tcp_fd >= 0)
				close(r->pending[i].tcp_fd);
			free(r->pending[i].tcp_buf);
		}
	for (size_t s = 0; s < r->n_up; s++)
		for (int i = 0; i < RES_UPSTREAM_SOCKS; i++)
			if (r->up[s].fds[i] >= 0)
				close(r->up[s].fds[i]);
	free(r->pending);
	free(r->id_map);
	free(r->phash);
	free(r->waiters);
}

/* The pending entry the next question gets (not yet taken), or -1: the pool is full. */
static int32_t pending_next_free(const struct resolver *r)
{
	if (r->pfree >= 0)
		return r->pfree;
	return r->phw < RES_PENDING_MAX ? r->phw : -1;
}

static void pending_take(struct resolver *r, int32_t i)
{
	if (i == r->pfree)
		r->pfree = r->pending[i].next;
	else
		r->phw++;
}

static int32_t waiter_take(struct resolver *r)
{
	int32_t w = r->wfree;

	if (w >= 0)
		r->wfree = r->waiters[w].next;
	else if (r->whw < RES_WAITERS_MAX)
		w = r->whw++;
	return w;
}

static uint32_t question_hash(const char *name, uint16_t qtype)
{
	uint32_t h = 2166136261u ^ qtype;

	for (; *name; name++) {
		h ^= (uint8_t)*name;
		h *= 16777619u;
	}
	return h;
}

static void fifo_unlink(struct resolver *r, int32_t i)
{
	struct res_pending *p = &r->pending[i];

	if (p->prev >= 0)
		r->pending[p->prev].next = p->next;
	else
		r->fifo_head = p->next;
	if (p->next >= 0)
		r->pending[p->next].prev = p->prev;
	else
		r->fifo_tail = p->prev;
	p->prev = p->next = -1;
}

static void fifo_push(struct resolver *r, int32_t i, uint64_t now)
{
	struct res_pending *p = &r->pending[i];

	p->deadline_ns = now + RES_UPSTREAM_TIMEOUT_NS;
	p->next = -1;
	p->prev = r->fifo_tail;
	if (r->fifo_tail >= 0)
		r->pending[r->fifo_tail].next = i;
	else
		r->fifo_head = i;
	r->fifo_tail = i;
}

static int send_udp(struct resolver *r, struct res_pending *p)
{
	size_t s = p->server % r->n_up;
	uint8_t pick;
	int fd, err;

	if (getrandom(&pick, 1, 0) != 1)
		pick = 0;
	err = upstream_sock(r, s, pick % RES_UPSTREAM_SOCKS);
	if (err)
		return err;
	fd = r->up[s].fds[pick % RES_UPSTREAM_SOCKS];
	r->stats.upstream_sent++;
	if (send(fd, p->query, p->query_len, 0) != p->query_len)
		return -errno;
	return 0;
}

/*
 * Sends p to its current server, moving on to the next while a send fails at once (no route,
 * unreachable): each failure uses up one attempt. -errno when no attempt is left.
 */
static int send_or_rotate(struct resolver *r, struct res_pending *p)
{
	int err = send_udp(r, p);

	while (err && p->attempts < RES_UPSTREAM_ATTEMPTS) {
		p->attempts++;
		p->server++;
		err = send_udp(r, p);
	}
	return err;
}

static void tcp_close(struct resolver *r, struct res_pending *p)
{
	if (p->tcp_fd >= 0) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, p->tcp_fd, NULL);
		close(p->tcp_fd);
	}
	p->tcp_fd = -1;
	p->tcp_state = PTCP_NONE;
	free(p->tcp_buf);
	p->tcp_buf = NULL;
	p->tcp_have = 0;
}

static void pending_free(struct resolver *r, int32_t i)
{
	struct res_pending *p = &r->pending[i];
	int32_t *link = &r->phash[p->hash % PHASH_BUCKETS];

	while (*link >= 0 && *link != i)
		link = &r->pending[*link].hnext;
	if (*link == i)
		*link = p->hnext;
	fifo_unlink(r, i);
	tcp_close(r, p);
	r->id_map[p->id] = 0;
	p->used = false;
	p->next = r->pfree;
	r->pfree = i;
}

/* Answers every waiter of a question with resp (NULL: SERVFAIL for `reason`), then frees it. */
static void complete(struct resolver *r, int32_t i, struct dns_response *resp, const char *reason)
{
	struct res_pending *p = &r->pending[i];
	static uint8_t out[DNS_TCP_MAX];
	int32_t w = p->waiters;

	while (w >= 0) {
		struct res_waiter *wt = &r->waiters[w];
		int32_t next = wt->next;
		int len;

		if (resp)
			len = dnsd_answer(r, &wt->q, p->name, resp, &wt->client, out, sizeof(out));
		else {
			dns_audit_query(r, "dns.servfail", "error", reason, &wt->q, &wt->client, NULL);
			r->stats.servfail++;
			len = dns_write_rcode(&wt->q, DNS_RCODE_SERVFAIL, out, sizeof(out));
		}
		if (len > 0)
			dnsd_deliver(r, &wt->client, out, (size_t)len);
		wt->next = r->wfree;  /* the free list only ever holds entries below the high-water index */
		r->wfree = w;
		w = next;
	}
	p->waiters = -1;
	pending_free(r, i);
}

static int32_t pending_find(struct resolver *r, const char *name, uint16_t qtype, uint32_t h)
{
	for (int32_t i = r->phash[h % PHASH_BUCKETS]; i >= 0; i = r->pending[i].hnext) {
		struct res_pending *p = &r->pending[i];

		if (p->hash == h && p->qtype == qtype && strcmp(p->name, name) == 0)
			return i;
	}
	return -1;
}

int dns_upstream_submit(struct resolver *r, const char *name, const struct dns_query *q,
		    const struct res_client *cl)
{
	uint32_t h = question_hash(name, q->qtype);
	int32_t i = pending_find(r, name, q->qtype, h), w;
	struct res_pending *p;
	bool unreachable = false;
	int len = -EEXIST;

	if (!r->n_up || (r->wfree < 0 && r->whw >= RES_WAITERS_MAX))
		return -EAGAIN;
	if (i < 0) {
		i = pending_next_free(r);
		if (i < 0)
			return -EAGAIN;
		p = &r->pending[i];
		/* A fresh random ID that no other question in flight uses. */
		for (int tries = 0; tries < 16 && len == -EEXIST; tries++) {
			len = dns_write_upstream_query(name, q->qtype, &p->id, &p->qname, p->query, sizeof(p->query));
			if (len >= 0 && r->id_map[p->id])
				len = -EEXIST;
		}
		if (len < 0)
			return len;
		pending_take(r, i);
		p->used = true;
		p->query_len = (uint16_t)len;
		p->qtype = q->qtype;
		snprintf(p->name, sizeof(p->name), "%s", name);
		p->hash = h;
		p->hnext = r->phash[h % PHASH_BUCKETS];
		r->phash[h % PHASH_BUCKETS] = i;
		p->waiters = -1;
		p->attempts = 1;
		p->server = 0;
		p->tcp_fd = -1;
		r->id_map[p->id] = i + 1;
		fifo_push(r, i, dnsd_now_ns());
		r->stats.forwarded++;
		/* A send that fails on every server (no route) is answered now rather than at the deadline. */
		unreachable = send_or_rotate(r, p) != 0;
	}
	p = &r->pending[i];
	w = waiter_take(r);
	r->waiters[w].client = *cl;
	r->waiters[w].q = *q;
	r->waiters[w].next = p->waiters;
	p->waiters = w;
	if (unreachable)
		complete(r, i, NULL, "upstream_unreachable");
	return 0;
}

static void start_tcp(struct resolver *r, int32_t i)
{
	struct res_pending *p = &r->pending[i];
	struct res_upstream *u = &r->up[p->server % r->n_up];
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.u64 = RES_TAG(TAG_UP_TCP, i) };
	int fd = socket(u->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || (connect(fd, (struct sockaddr *)&u->sa, u->salen) && errno != EINPROGRESS) ||
	    epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		if (fd >= 0)
			close(fd);
		complete(r, i, NULL, "upstream_unreachable");
		return;
	}
	p->tcp_fd = fd;
	p->tcp_state = PTCP_CONNECTING;
	fifo_unlink(r, i);
	fifo_push(r, i, dnsd_now_ns());
}

/* A response for pending i arrived (UDP or TCP): validate, cache, answer. */
static void on_response(struct resolver *r, int32_t i, const uint8_t *msg, size_t len, bool tcp)
{
	struct res_pending *p = &r->pending[i];
	struct dns_response *resp = r->resp;

	if (dns_response_parse(msg, len, resp) || !dns_response_matches(resp, p->id, &p->qname, p->qtype))
		return;  /* not ours, or malformed: keep waiting for the real answer */
	if (resp->truncated && !tcp) {
		if (p->tcp_state == PTCP_NONE)
			start_tcp(r, i);
		return;
	}
	if ((resp->rcode == DNS_RCODE_SERVFAIL || resp->rcode == DNS_RCODE_REFUSED) && !tcp &&
	    p->attempts < RES_UPSTREAM_ATTEMPTS && r->n_up > 1) {
		p->attempts++;
		p->server++;
		send_udp(r, p);
		return;
	}
	dns_cache_put(r->cache, p->name, p->qtype, msg, len, dns_cache_ttl(resp), dnsd_now_ns());
	complete(r, i, resp, NULL);
}

void dns_upstream_on_udp(struct resolver *r, int fd)
{
	uint8_t buf[4096];

	for (int n = 0; n < 64; n++) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		int32_t i;

		if (len < 0)
			return;
		if (len < DNS_HEADER_LEN)
			continue;
		i = r->id_map[(uint16_t)(buf[0] << 8 | buf[1])] - 1;
		if (i >= 0 && r->pending[i].tcp_state == PTCP_NONE)
			on_response(r, i, buf, (size_t)len, false);
	}
}

void dns_upstream_on_tcp(struct resolver *r, int32_t i, uint32_t events)
{
	struct res_pending *p = &r->pending[i];
	const uint8_t *msg;
	size_t msg_len;
	int frame;

	if (i < 0 || i >= r->phw || !p->used || p->tcp_fd < 0)
		return;
	if (p->tcp_state == PTCP_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		uint8_t framed[sizeof(p->query) + 2];
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = RES_TAG(TAG_UP_TCP, i) };

		dns_tcp_prefix_put(framed, p->query_len);
		memcpy(framed + 2, p->query, p->query_len);
		p->tcp_buf = malloc(DNS_TCP_MAX + 2);
		if (!p->tcp_buf || send(p->tcp_fd, framed, p->query_len + 2u, MSG_NOSIGNAL) != p->query_len + 2 ||
		    epoll_ctl(r->epfd, EPOLL_CTL_MOD, p->tcp_fd, &ev)) {
			complete(r, i, NULL, "upstream_tcp_error");
			return;
		}
		p->tcp_state = PTCP_READING;
		return;
	}
	if (p->tcp_state != PTCP_READING)
		return;
	for (;;) {
		ssize_t n = recv(p->tcp_fd, p->tcp_buf + p->tcp_have, DNS_TCP_MAX + 2 - p->tcp_have, 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			complete(r, i, NULL, "upstream_tcp_error");
			return;
		}
		p->tcp_have += (size_t)n;
		frame = dns_tcp_frame_parse(p->tcp_buf, p->tcp_have, &msg, &msg_len);
		if (frame < 0) {
			complete(r, i, NULL, "upstream_tcp_error");
			return;
		}
		if (frame > 0) {
			on_response(r, i, msg, msg_len, true);
			if (p->used)  /* a response that did not match: the stream is not ours */
				complete(r, i, NULL, "upstream_tcp_error");
			return;
		}
	}
}

void dns_upstream_expire(struct resolver *r, uint64_t now_ns)
{
	while (r->fifo_head >= 0 && r->pending[r->fifo_head].deadline_ns <= now_ns) {
		int32_t i = r->fifo_head;
		struct res_pending *p = &r->pending[i];

		if (p->tcp_state == PTCP_NONE && p->attempts < RES_UPSTREAM_ATTEMPTS) {
			p->attempts++;
			p->server++;
			fifo_unlink(r, i);
			fifo_push(r, i, now_ns);
			if (send_or_rotate(r, p))
				complete(r, i, NULL, "upstream_unreachable");
			continue;
		}
		complete(r, i, NULL, "upstream_timeout");
	}
}

int dns_upstream_next_timeout_ms(const struct resolver *r, uint64_t now_ns)
{
	uint64_t d;

	if (r->fifo_head < 0)
		return -1;
	d = r->pending[r->fifo_head].deadline_ns;
	return d <= now_ns ? 0 : (int)((d - now_ns) / 1000000 + 1);
}
