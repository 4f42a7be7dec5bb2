// SPDX-License-Identifier: GPL-2.0-only
/*
 * proxy.idle_exit: a cage-proxy with no connection for that long exits with DAEMON_EXIT_IDLE and
 * the monitor, which owns the listening sockets, starts it again when one of them has a
 * connection waiting (supervise.c). An idle cage then holds no proxy memory at all
 * (docs/proxy.md). Nothing is lost on the way: the decision is taken with no accept in flight
 * (accept_gate), a connection that arrives after it waits in the accept queue for the next
 * proxy, and the proxy only leaves once its shared state (rate buckets, split values) is what a
 * fresh start has, so a restart grants nothing the running proxy would not have.
 */
#include <poll.h>

#include "proxy/hooks_inspect.h"
#include "proxy/proxy.h"

void px_idle_touch(void)
{
	atomic_store(&px.last_active_ms, px_now_ms());
}

/* A connection already waits in an accept queue: the workers take it on their next wake-up. */
static bool accept_pending(void)
{
	struct pollfd pfd[PX_MAX_LISTENERS];

	for (size_t i = 0; i < px.n_listen; i++)
		pfd[i] = (struct pollfd){ .fd = px.listen_fd[i], .events = POLLIN };
	return poll(pfd, px.n_listen, 0) > 0;
}

bool px_idle_stop(const struct proxy_policy *pol)
{
	uint64_t idle_ms = (uint64_t)pol->idle_exit_s * 1000;
	bool stop = false;

	if (!idle_ms || atomic_load(&px.n_conns) ||
	    px_now_ms() - atomic_load(&px.last_active_ms) < idle_ms || !px_insp_settled(0))
		return false;
	pthread_rwlock_wrlock(&px.accept_gate);
	if (!atomic_load(&px.n_conns) && !accept_pending()) {
		atomic_store(&px.stopping, true);
		stop = true;
	}
	pthread_rwlock_unlock(&px.accept_gate);
	return stop;
}
