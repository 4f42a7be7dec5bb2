// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "audit/audit.h"
#include "audit/kernel_event.h"
#include "enforce/bpf_loader.h"
#include "enforce/daemon.h"
#include "enforce/monitor.h"
#include "lib/log.h"

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct audit_log *log = ctx;

	if (len < sizeof(struct cage_event))
		return 0;
	audit_kernel_event(log, data);
	return 0;
}

static void audit_lifecycle(struct audit_log *log, const char *event, const struct cage_state *st)
{
	struct json_buf *jb = audit_begin(log, "monitor", event, "info", event);

	if (!jb)
		return;
	jb_uint(jb, "pid", (uint64_t)getpid());
	if (st->config_path[0])
		jb_str(jb, "config", st->config_path);
	audit_commit(log);
}

int monitor_run(const struct cage_paths *p, const struct cage_state *st, int ready_fd)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct ring_buffer *rb = NULL;
	struct audit_log *log;
	time_t last_flush = time(NULL);
	int fd, err;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	log = audit_open(p->audit_file, p->name, 0);
	if (!log) {
		err = -errno;
		p_err("can't open audit log %s: %s", p->audit_file, strerror(errno));
		return err;
	}
	fd = cage_bpf_map_open(p->pin_dir, CAGE_PIN_EVENTS, false);
	if (fd < 0) {
		err = fd;
		p_err("can't open pinned map %s/%s: %s", p->pin_dir, CAGE_PIN_EVENTS, strerror(-fd));
		goto out_log;
	}
	rb = ring_buffer__new(fd, on_event, log, NULL);
	if (!rb) {
		err = -errno;
		p_err("can't read ring buffer %s/%s: %s", p->pin_dir, CAGE_PIN_EVENTS, strerror(errno));
		goto out_fd;
	}
	err = pidfile_write(p->monitor_pid, getpid());
	if (err) {
		p_err("can't write %s: %s", p->monitor_pid, strerror(-err));
		goto out_rb;
	}
	audit_lifecycle(log, "monitor.started", st);
	if (ready_fd >= 0) {
		if (write(ready_fd, "1", 1) != 1)
			p_warn("can't signal readiness: %s", strerror(errno));
		close(ready_fd);
	}
	while (!stop_requested) {
		err = ring_buffer__poll(rb, 200);
		if (err < 0 && err != -EINTR) {
			p_err("ring buffer poll: %s", strerror(-err));
			break;
		}
		if (time(NULL) != last_flush) {
			audit_flush_suppressed(log);
			last_flush = time(NULL);
		}
	}
	/* Whatever is still queued belongs in the log before we go. */
	ring_buffer__consume(rb);
	audit_lifecycle(log, "monitor.stopped", st);
	unlink(p->monitor_pid);
	err = 0;
out_rb:
	ring_buffer__free(rb);
out_fd:
	close(fd);
out_log:
	audit_close(log);
	return err;
}
