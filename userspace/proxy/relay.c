// SPDX-License-Identifier: GPL-2.0-only
/*
 * Opaque relays: passthrough connections (splice() through a pipe pair, so payload never
 * enters user memory) and the copy loop used where splice is refused. WebSocket frames after
 * an upgrade on an inspected connection are not relayed opaquely: see ws_relay.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "proxy/metrics.h"
#include "proxy/proxy.h"

/*
 * Pipe sizing. A pipe starts at the kernel default, 16 page slots (64 KiB), and one splice moves
 * at most what the pipe holds, so a bulk direction pays two splice calls per 64 KiB or less
 * (an skb fragment can take a slot of its own). A direction that has moved PIPE_GROW_AFTER
 * bytes is a bulk transfer: its pipe grows to PIPE_GROWN_CAP once, which cuts the calls per
 * byte. Bytes in a pipe have left the socket's receive accounting, so grown pipes are drawn
 * from a proxy-wide budget: 512 connections keep their 2 × 64 KiB, and at most
 * PIPE_GROWN_BUDGET more is ever pinned in pipes. The kernel may refuse the growth (EPERM above
 * /proc/sys/fs/pipe-max-size, or once this user's pipes pass pipe-user-pages-soft, a count
 * every cage's proxy shares since they run as one user); the pipe then keeps its size and the
 * connection goes on. Past that soft limit pipe2 itself silently returns 2-slot pipes: the
 * relay still works, since "pipe full" is handled like "socket empty" below.
 */
#define PIPE_DEFAULT_CAP (64u * 1024)
#define PIPE_GROWN_CAP (1024u * 1024)
#define PIPE_GROW_AFTER (1024u * 1024)
#define PIPE_GROWN_BUDGET (8u << 20)

static atomic_size_t pipe_grown_bytes; /* capacity of grown pipes, all workers */

static void pipe_grow(int pipe[2], size_t *cap)
{
	size_t before = atomic_fetch_add(&pipe_grown_bytes, PIPE_GROWN_CAP);
	int got;

	if (before + PIPE_GROWN_CAP > PIPE_GROWN_BUDGET) {
		atomic_fetch_sub(&pipe_grown_bytes, PIPE_GROWN_CAP);
		return;
	}
	got = fcntl(pipe[1], F_SETPIPE_SZ, PIPE_GROWN_CAP);
	if (got < (int)PIPE_GROWN_CAP) {
		atomic_fetch_sub(&pipe_grown_bytes, PIPE_GROWN_CAP);
		return;
	}
	if ((size_t)got > PIPE_GROWN_CAP) /* rounded up to a power of two pages */
		atomic_fetch_add(&pipe_grown_bytes, (size_t)got - PIPE_GROWN_CAP);
	*cap = (size_t)got;
}

/* Once per direction: when its byte count crosses PIPE_GROW_AFTER. */
static void pipe_grow_if_bulk(int pipe[2], size_t *cap, uint64_t before, uint64_t after)
{
	if (before < PIPE_GROW_AFTER && after >= PIPE_GROW_AFTER && *cap == PIPE_DEFAULT_CAP)
		pipe_grow(pipe, cap);
}

void px_relay_free(struct px_conn *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->pipe_c2u[i] >= 0)
			close(c->pipe_c2u[i]);
		if (c->pipe_u2c[i] >= 0)
			close(c->pipe_u2c[i]);
		c->pipe_c2u[i] = c->pipe_u2c[i] = -1;
	}
	if (c->pipe_cap_c2u > PIPE_DEFAULT_CAP)
		atomic_fetch_sub(&pipe_grown_bytes, c->pipe_cap_c2u);
	if (c->pipe_cap_u2c > PIPE_DEFAULT_CAP)
		atomic_fetch_sub(&pipe_grown_bytes, c->pipe_cap_u2c);
	c->pipe_cap_c2u = c->pipe_cap_u2c = 0;
}

static void audit_relay_end(struct px_conn *c, const char *reason)
{
	struct px_audit a = {
		.event = "proxy.request", .decision = "allowed", .reason = reason,
		.mode = c->mode == POLICY_MODE_PASSTHROUGH ? "passthrough" : "inspect",
		.host = c->conn_host, .port = c->conn_port,
	};

	if (c->audited)
		return;
	if (c->up_addr_known) {
		a.have_dst = true;
		a.dst = c->up_addr;
		a.dport = c->up_port;
	}
	c->audited = true;
	px_audit(c, &a);
}

/* The upstream is ready, or the connection has been handed to the closing path. */
static bool wait_upstream(struct px_conn *c, bool *progress)
{
	*progress = false;
	if (c->up_state == UP_READY)
		return true;
	*progress = px_up_step(c);
	if (c->up_state == UP_FAILED) {
		struct px_audit a = {
			.event = "proxy.upstream_failed", .decision = "blocked", .reason = c->up_error,
			.mode = "passthrough", .host = c->conn_host, .port = c->conn_port,
		};

		c->audited = true;
		px_audit(c, &a);
		c->phase = PH_CLOSING;
		*progress = true;
		return false;
	}
	return c->up_state == UP_READY;
}

/*
 * One direction of a splice relay, until neither end moves (edge-triggered epoll: every side we
 * stop on has returned EAGAIN, or is behind a full pipe that the other end's EPOLLOUT drains).
 * Returns true on progress. EINVAL/ENOSYS switch to copying (*fallback) only before any byte
 * went through.
 */
static bool splice_dir(struct px_conn *c, struct px_side *src, struct px_side *dst, int pipe[2],
		       size_t *piped, size_t *cap, uint64_t *counter, bool *fallback)
{
	bool progress = false;

	for (;;) {
		bool round = false;

		if (!src->rd_eof && !src->rd_idle && *piped < *cap) {
			size_t was_piped = *piped;
			ssize_t n = splice(src->fd, NULL, pipe[1], NULL, *cap - *piped,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

			if (n > 0) {
				*piped += (size_t)n;
				round = true;
				if (src == &c->cl) {
					pipe_grow_if_bulk(pipe, cap, c->bytes_in, c->bytes_in + (uint64_t)n);
					c->bytes_in += (uint64_t)n;
					px_metrics_bytes((uint64_t)n, 0);
				}
			} else if (n == 0) {
				src->rd_eof = true;
				round = true;
			} else if (errno == EAGAIN) {
				/*
				 * Ambiguous: either the socket has nothing to read, or the pipe has no
				 * free slot (16 page-sized slots by default, and one skb fragment may
				 * take a whole slot, so it can be "full" well below *cap bytes). Both
				 * resolve without a new event from src: the drain below frees slots
				 * and the loop retries this read. Only with an empty pipe is it surely
				 * the socket: then src is idle until its next EPOLLIN edge (conn.c
				 * clears rd_idle), and the relay stops asking it on every event.
				 */
				if (!was_piped)
					src->rd_idle = true;
			} else if ((errno == EINVAL || errno == ENOSYS) && !c->bytes_in && !c->bytes_out &&
				   !*piped) {
				*fallback = true; /* decided before any byte moved */
				return true;
			} else {
				src->rd_eof = true;
				round = true;
			}
		}
		if (*piped) {
			ssize_t n = splice(pipe[0], NULL, dst->fd, NULL, *piped,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

			if (n > 0) {
				*piped -= (size_t)n;
				if (counter) {
					pipe_grow_if_bulk(pipe, cap, *counter, *counter + (uint64_t)n);
					*counter += (uint64_t)n;
					px_metrics_bytes(0, (uint64_t)n); /* only u2c has a counter */
				}
				c->last_active_ms = px_now_ms();
				round = true;
			} else if (n < 0 && errno != EAGAIN) {
				/* dst is gone: what is in the pipe can never be delivered. */
				*piped = 0;
				dst->wr_shut = true;
				src->rd_eof = true;
				round = true;
			}
		}
		if (src->rd_eof && !*piped && !dst->wr_shut) {
			px_side_shutdown_write(dst);
			round = true;
		}
		if (!round)
			return progress;
		progress = true;
	}
}

static bool relay_done(struct px_conn *c)
{
	return (c->cl.rd_eof || c->up.wr_shut) && (c->up.rd_eof || c->cl.wr_shut) &&
	       !c->piped_c2u && !c->piped_u2c && !c->cl.fwd && !c->up.fwd &&
	       c->up.out.end == c->up.out.start && c->cl.out.end == c->cl.out.start;
}

bool px_splice_step(struct px_conn *c)
{
	bool progress, fallback = false;

	if (!wait_upstream(c, &progress))
		return progress;
	if (!c->splice_decided) {
		c->splice_decided = true;
		c->splice_ok = !pipe2(c->pipe_c2u, O_NONBLOCK | O_CLOEXEC) &&
			       !pipe2(c->pipe_u2c, O_NONBLOCK | O_CLOEXEC);
		if (!c->splice_ok)
			px_relay_free(c);
		else
			c->pipe_cap_c2u = c->pipe_cap_u2c = PIPE_DEFAULT_CAP;
		c->header_deadline_ms = 0;
	}
	/* Bytes we already read (after a CONNECT) go first, by copy. */
	if (c->cl.in.end > c->cl.in.start) {
		c->cl.fwd = c->cl.in.end - c->cl.in.start;
		progress |= px_side_flush(c, &c->up, &c->cl);
		if (c->cl.fwd)
			return progress;
	}
	if (!c->splice_ok) {
		c->phase = PH_RELAY;
		return true;
	}
	progress |= splice_dir(c, &c->cl, &c->up, c->pipe_c2u, &c->piped_c2u, &c->pipe_cap_c2u,
			       NULL, &fallback);
	if (!fallback)
		progress |= splice_dir(c, &c->up, &c->cl, c->pipe_u2c, &c->piped_u2c,
				       &c->pipe_cap_u2c, &c->bytes_out, &fallback);
	if (fallback) {
		px_relay_free(c);
		c->splice_ok = false;
		c->phase = PH_RELAY;
		return true;
	}
	if (relay_done(c) || (c->cl.wr_shut && c->up.wr_shut)) {
		audit_relay_end(c, NULL);
		c->phase = PH_CLOSING;
		return true;
	}
	return progress;
}

/* Copy both ways through the 16 KiB buffers (TLS on either side is fine). */
bool px_copy_step(struct px_conn *c)
{
	bool progress;

	if (!wait_upstream(c, &progress))
		return progress;
	c->header_deadline_ms = 0;
	progress |= px_side_fill(c, &c->cl, PX_BUF_SIZE);
	c->cl.fwd = c->cl.in.end - c->cl.in.start;
	progress |= px_side_flush(c, &c->up, &c->cl);
	progress |= px_side_fill(c, &c->up, PX_BUF_SIZE);
	c->up.fwd = c->up.in.end - c->up.in.start;
	progress |= px_side_flush(c, &c->cl, &c->up);
	if (c->cl.rd_eof && !c->cl.fwd && !c->up.wr_shut) {
		px_side_shutdown_write(&c->up);
		progress = true;
	}
	if (c->up.rd_eof && !c->up.fwd && c->cl.out.end == c->cl.out.start && !c->cl.wr_shut) {
		px_side_shutdown_write(&c->cl);
		progress = true;
	}
	if (relay_done(c)) {
		audit_relay_end(c, c->mode == POLICY_MODE_PASSTHROUGH ? "splice_refused" : NULL);
		c->phase = PH_CLOSING;
		return true;
	}
	return progress;
}
