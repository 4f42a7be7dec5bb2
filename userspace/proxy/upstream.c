// SPDX-License-Identifier: GPL-2.0-only
/*
 * The upstream side of a connection: which address may be dialled, the small resolver of the
 * explicit path, the non-blocking connect and the upstream TLS handshake.
 *
 * Addresses: on the transparent path the original destination is what the agent resolved,
 * so it must be an address the cage resolver handed out (the pinned dns_allow map, unexpired).
 * On the explicit path cage-proxy resolves the (already allowed) name itself through the
 * cage's upstream resolver and refuses answers that are not public.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/ipclass.h"
#include "proxy/proxy.h"
#include "proxy/tls.h"

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool dns_allow_empty(void)
{
	struct cage_addr key;

	return bpf_map_get_next_key(px.dns_allow_fd, NULL, &key) != 0;
}

enum policy_reason px_check_orig_dst(struct px_conn *c, const struct cage_addr *a, bool have_name,
				     const char **why)
{
	struct cage_dns_allow v;
	enum policy_reason r = policy_check_addr(c->pol, a);

	*why = NULL;
	if (r != POLICY_OK)
		return r;
	if (px.dns_allow_fd >= 0 && bpf_map_lookup_elem(px.dns_allow_fd, a, &v) == 0 &&
	    v.expires_ns > boottime_ns())
		return POLICY_OK;
	/*
	 * Until cage-dns fills dns_allow, an allowed name on a public address is accepted when the
	 * map is entirely empty (--dns-allow-fallback; see docs/proxy.md). Never for a connection
	 * without a name (non-TLS passthrough ports).
	 */
	if (px.dns_allow_fallback && have_name && (px.dns_allow_fd < 0 || dns_allow_empty())) {
		*why = NULL;
		return POLICY_OK;
	}
	*why = "dst_not_resolved";
	return POLICY_NOT_ALLOWED;
}

static void fail(struct px_conn *c, const char *what)
{
	snprintf(c->up_error, sizeof(c->up_error), "%s", what);
	c->up_state = UP_FAILED;
	c->up_deadline_ms = 0;
	if (c->dns_fd >= 0) {
		px_epoll_del(c, c->dns_fd);
		close(c->dns_fd);
		c->dns_fd = -1;
	}
}

/* --- the small resolver -------------------------------------------------------------------- */

static int dns_send(struct px_conn *c)
{
	uint8_t q[512];
	int n, fd;
	const struct proxy_policy *p = c->pol;

	if (!p->dns_upstream.ss_family)
		return -EDESTADDRREQ;
	if (c->dns_fd < 0) {
		fd = socket(p->dns_upstream.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (const struct sockaddr *)&p->dns_upstream, p->dns_upstream_len)) {
			close(fd);
			return -errno;
		}
		c->dns_fd = fd;
		c->dns_h = (struct px_handle){ .kind = PXH_DNS, .conn = c };
		if (px_epoll_add(c, fd, &c->dns_h)) {
			close(fd);
			c->dns_fd = -1;
			return -EIO;
		}
	}
	n = dns_write_upstream_query(c->up_host, c->dns_qtype, &c->dns_id, &c->dns_qname, q, sizeof(q));
	if (n < 0)
		return n;
	if (send(c->dns_fd, q, (size_t)n, 0) < 0)
		return -errno;
	c->dns_tries++;
	c->up_deadline_ms = px_now_ms() + PX_DNS_TIMEOUT_MS;
	return 0;
}

static void dns_start(struct px_conn *c, uint16_t qtype)
{
	int err;

	c->dns_qtype = qtype;
	c->dns_tries = 0;
	c->up_state = UP_RESOLVING;
	err = dns_send(c);
	if (err)
		fail(c, err == -EDESTADDRREQ ? "no_dns_upstream" : "dns_send_failed");
}

/* A CNAME target must itself be an allowed name: the chain cannot leave the allowlist. */
static bool cname_allowed(struct px_conn *c, const struct dns_name *target)
{
	char text[DNS_NAME_TEXT_MAX];
	struct policy_verdict v;

	if (target->has_odd_bytes || dns_name_to_text(target, text, sizeof(text)) < 0)
		return false;
	policy_check_host(c->pol, text, strlen(text), c->up_port, &v);
	return v.reason == POLICY_OK;
}

void px_dns_event(struct px_conn *c)
{
	uint8_t msg[DNS_UDP_OURS + 512];
	struct dns_response *r;
	static _Thread_local struct dns_response resp;
	ssize_t n;

	if (c->up_state != UP_RESOLVING || c->dns_fd < 0)
		return;
	r = &resp;
	for (;;) {
		n = recv(c->dns_fd, msg, sizeof(msg), 0);
		if (n < 0)
			break;
		if (dns_response_parse(msg, (size_t)n, r) || !dns_response_matches(r, c->dns_id, &c->dns_qname, c->dns_qtype))
			continue; /* not our answer: keep waiting for it */
		if (r->truncated) {
			fail(c, "dns_truncated");
			break;
		}
		if (r->rcode != DNS_RCODE_NOERROR) {
			fail(c, r->rcode == DNS_RCODE_NXDOMAIN ? "dns_nxdomain" : "dns_error");
			break;
		}
		/* Follow the CNAME chain from the question, then take an address of its end. */
		const struct dns_name *cur = &c->dns_qname;
		bool bad_chain = false, found = false;

		for (int hop = 0; hop < 8; hop++) {
			bool moved = false;

			for (size_t i = 0; i < r->ancount; i++) {
				if (r->an[i].type == DNS_TYPE_CNAME && dns_name_equal(&r->an[i].name, cur)) {
					if (!cname_allowed(c, &r->an[i].target)) {
						bad_chain = true;
						break;
					}
					cur = &r->an[i].target;
					moved = true;
					break;
				}
			}
			if (bad_chain || !moved)
				break;
		}
		if (bad_chain) {
			fail(c, "cname_denied");
			break;
		}
		for (size_t i = 0; i < r->ancount && !found; i++) {
			const struct dns_rr *rr = &r->an[i];

			if (rr->type != c->dns_qtype || !dns_name_equal(&rr->name, cur))
				continue;
			if (policy_check_addr(c->pol, &rr->addr) != POLICY_OK)
				continue; /* refuse non-public answers (rebinding) */
			c->up_addr = rr->addr;
			c->up_addr_known = true;
			found = true;
		}
		if (found) {
			px_epoll_del(c, c->dns_fd);
			close(c->dns_fd);
			c->dns_fd = -1;
			c->up_deadline_ms = 0;
			c->up_state = UP_RESOLVED;
		} else if (c->dns_qtype == DNS_TYPE_A) {
			dns_start(c, DNS_TYPE_AAAA);
		} else {
			fail(c, "dns_no_public_answer");
		}
		break;
	}
	px_conn_drive(c);
}

/* --- dial and TLS ------------------------------------------------------------------------- */

static void dial(struct px_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (policy_check_addr(c->pol, &c->up_addr) != POLICY_OK) {
		fail(c, "dst_private");
		return;
	}
	memset(&ss, 0, sizeof(ss));
	if (c->up_addr.family == CAGE_AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(c->up_port);
		memcpy(&in->sin_addr, &c->up_addr.ip[0], 4);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(c->up_port);
		memcpy(&in6->sin6_addr, c->up_addr.ip, 16);
		len = sizeof(*in6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail(c, "socket_failed");
		return;
	}
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	c->up.fd = fd;
	c->up.h = (struct px_handle){ .kind = PXH_UP, .conn = c };
	if (px_epoll_add(c, fd, &c->up.h)) {
		fail(c, "epoll_failed");
		return;
	}
	c->up.registered = true;
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS) {
		fail(c, "connect_failed");
		return;
	}
	c->up_state = UP_CONNECTING;
	c->up_deadline_ms = px_now_ms() + PX_CONNECT_TIMEOUT_MS;
}

void px_up_begin(struct px_conn *c)
{
	if (c->up_state == UP_NONE && !c->up_addr_known) {
		dns_start(c, DNS_TYPE_A);
		return;
	}
	if (c->up_state == UP_NONE)
		c->up_state = UP_RESOLVED;
	if (c->up_state == UP_RESOLVED && (c->phase == PH_HTTP || c->phase == PH_SPLICE))
		dial(c);
}

void px_up_reset(struct px_conn *c)
{
	if (c->up.ssl) {
		SSL_free(c->up.ssl);
		c->up.ssl = NULL;
	}
	if (c->up.fd >= 0) {
		if (c->up.registered)
			px_epoll_del(c, c->up.fd);
		close(c->up.fd);
		c->up.fd = -1;
	}
	c->up.registered = false;
	c->up.in.start = c->up.in.end = 0;
	c->up.out.start = c->up.out.end = 0;
	c->up.fwd = 0;
	c->up.rd_eof = c->up.wr_shut = false;
	c->up_state = UP_NONE;
	c->up_deadline_ms = 0;
	c->up_error[0] = 0;
}

bool px_up_step(struct px_conn *c)
{
	uint64_t now = px_now_ms();

	switch (c->up_state) {
	case UP_RESOLVING:
		if (c->up_deadline_ms && now >= c->up_deadline_ms) {
			if (c->dns_tries < 2 && !dns_send(c))
				return false;
			fail(c, "dns_timeout");
			return true;
		}
		return false;
	case UP_RESOLVED:
		if (c->phase != PH_HTTP && c->phase != PH_SPLICE)
			return false;
		dial(c);
		return true;
	case UP_CONNECTING: {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int err = 0;
		socklen_t elen = sizeof(err);

		if (getsockopt(c->up.fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err) {
			fail(c, "connect_failed");
			return true;
		}
		if (getpeername(c->up.fd, (struct sockaddr *)&ss, &len)) {
			if (c->up_deadline_ms && now >= c->up_deadline_ms) {
				fail(c, "connect_timeout");
				return true;
			}
			return false;
		}
		c->up_deadline_ms = 0;
		if (!c->up_tls) {
			c->up_state = UP_READY;
			return true;
		}
		c->up.ssl = px.tls ? proxy_tls_upstream_ssl(px.tls, c->up.fd, c->up_host) : NULL;
		if (!c->up.ssl) {
			fail(c, "upstream_tls_unavailable");
			return true;
		}
		SSL_set_mode(c->up.ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
		/* Read-until-close bodies end with a bare FIN on many servers; framing errors
		 * (a length-delimited body cut short) are still caught by the HTTP parser. */
		SSL_set_options(c->up.ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
		c->up_state = UP_TLS;
		c->up_deadline_ms = now + PX_CONNECT_TIMEOUT_MS;
		return true;
	}
	case UP_TLS: {
		int r, e;

		ERR_clear_error();
		r = SSL_connect(c->up.ssl);
		if (r == 1) {
			c->up_state = UP_READY;
			c->up_deadline_ms = 0;
			return true;
		}
		e = SSL_get_error(c->up.ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (c->up_deadline_ms && now >= c->up_deadline_ms) {
				fail(c, "upstream_tls_timeout");
				return true;
			}
			return false;
		}
		{
			char why[96] = "upstream_tls_failed";
			proxy_tls_last_error(why, sizeof(why));
			fail(c, why);
		}
		return true;
	}
	default:
		return false;
	}
}
