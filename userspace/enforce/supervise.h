/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The cage's daemons, as the monitor runs them. The monitor owns their listening sockets, so a
 * restart never closes them: connections that arrive while a daemon is down wait in the accept
 * queue (or get the kernel's refusal once it is full) and the cage stays closed meanwhile.
 * The same holds for a daemon that exited because it was idle (DAEMON_EXIT_IDLE, cage-proxy's
 * proxy.idle_exit): the monitor watches its sockets and starts it when a connection waits.
 */
#ifndef CAGE_ENFORCE_SUPERVISE_H
#define CAGE_ENFORCE_SUPERVISE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit/audit.h"
#include "enforce/paths.h"
#include "enforce/state.h"

/* How long the monitor waits for a started daemon to report ready. Generous: a TCG-emulated guest
 * compiles the proxy's pattern database slowly. */
#define SUPERVISOR_READY_TIMEOUT_MS 30000

enum daemon_kind {
	DAEMON_PROXY,
	DAEMON_DNS,
	DAEMON_COUNT,
};

struct supervised {
	enum daemon_kind kind;
	const char *name;          /* cage-proxy, cage-dns */
	char path[4096];           /* the executable; empty when it is not installed */
	int fds[6];                /* listening sockets handed to it, -1 where unused */
	int n_fds;
	pid_t pid;                 /* 0 when not running */
	bool wanted;               /* false after `cagectl stop` */
	bool idle;                 /* exited with DAEMON_EXIT_IDLE: started when a socket has a
				    * connection waiting (its fds are in wake_fd meanwhile) */
	bool woken;                /* this start is such a wake-up (for the audit event) */
	unsigned restarts;         /* in a row, for the backoff */
	uint64_t next_start_ms;    /* monotonic; 0 = now */
	uint64_t started_ms;
	uint32_t uid, gid;
};

struct supervisor {
	const struct cage_paths *p;
	const struct cage_state *st;
	struct audit_log *log;
	const char *upstream_ca;   /* proxy.upstream_ca of the config, or NULL */
	int wake_fd;               /* epoll of the idle daemons' listening sockets: the monitor
				    * watches it and calls supervisor_wake() when it is readable */
	struct supervised d[DAEMON_COUNT];
};

/* Opens the listening sockets, finds the executables, picks the users. 0 or -errno. */
int supervisor_init(struct supervisor *s, const struct cage_paths *p, const struct cage_state *st,
		    struct audit_log *log);
/* Starts every wanted daemon that is due; waits for each to report ready (bounded). */
void supervisor_tick(struct supervisor *s);
/* A child exited: schedule its restart with backoff. Returns true if pid was one of ours. */
bool supervisor_reaped(struct supervisor *s, pid_t pid, int status);
/* wake_fd was readable: an idle daemon has a connection waiting; the next tick starts it. */
void supervisor_wake(struct supervisor *s);
/* Sends sig to every running daemon. */
void supervisor_signal(struct supervisor *s, int sig);
/* `cagectl stop` / `start`: daemons only, enforcement stays. */
void supervisor_set_wanted(struct supervisor *s, bool wanted);
/* Stops the daemons and closes the sockets. */
void supervisor_shutdown(struct supervisor *s);
/* Milliseconds until the next scheduled start, or -1 if none. */
int supervisor_next_timeout(const struct supervisor *s);

#endif
