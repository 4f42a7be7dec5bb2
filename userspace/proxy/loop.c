// SPDX-License-Identifier: GPL-2.0-only
/*
 * One epoll loop per worker thread. Every worker watches every inherited listening socket with
 * EPOLLEXCLUSIVE, so one accept wakes one worker instead of all of them; a connection then
 * stays on the worker that accepted it. All sockets are edge-triggered (see conn.c).
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "proxy/metrics.h"
#include "proxy/proxy.h"

struct px_global px;

int px_epoll_add(struct px_conn *c, int fd, struct px_handle *h)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = h };

	return epoll_ctl(c->w->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

void px_epoll_del(struct px_conn *c, int fd)
{
	epoll_ctl(c->w->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int px_worker_run(struct px_worker *w)
{
	struct epoll_event evs[64];
	uint64_t next_tick = px_now_ms() + 1000;

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	for (size_t i = 0; i < px.n_listen; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &w->listen_h[i] };

		w->listen_h[i] = (struct px_handle){ .kind = PXH_LISTEN, .index = (int)i };
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, px.listen_fd[i], &ev))
			return -errno;
	}
	if (px.stop_fd >= 0) {
		/* Level-triggered and never read: once written, every worker wakes and leaves. */
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, px.stop_fd, &ev))
			return -errno;
	}
	while (!atomic_load(&px.stopping)) {
		int n = epoll_wait(w->epfd, evs, 64, 250);

		for (int i = 0; i < n; i++) {
			struct px_handle *h = evs[i].data.ptr;

			if (!h)
				continue;  /* the stop eventfd */
			if (h->kind == PXH_LISTEN)
				px_conn_accept(w, px.listen_fd[h->index], px.listen_explicit[h->index]);
			else
				px_conn_event(h, evs[i].events);
		}
		px_conn_reap(w);
		uint64_t now = px_now_ms();

		if (now >= next_tick) {
			px_conn_timers(w, now);
			px_conn_reap(w);
			if (w->id == 0)
				px_metrics_publish(); /* the file, off the request path */
			next_tick = now + 1000;
		}
	}
	/* SIGTERM: stop accepting; the connections end with the process. */
	while (w->conns)
		px_conn_close(w->conns);
	px_conn_reap(w);
	close(w->epfd);
	return 0;
}
