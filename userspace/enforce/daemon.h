/* SPDX-License-Identifier: GPL-2.0-only */
/* Pid files and stopping processes we started: only by pid, and only after checking the pid still is ours. */
#ifndef CAGE_ENFORCE_DAEMON_H
#define CAGE_ENFORCE_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * The exit status of a daemon that stopped because it was idle (cage-proxy, proxy.idle_exit):
 * not a failure. The monitor keeps its listening sockets and starts it again when one of them
 * has a connection waiting; meanwhile <run_dir>/<daemon>.idle exists instead of its pid file.
 */
#define DAEMON_EXIT_IDLE 75
/* Whether <run_dir>/<name>.idle exists: the daemon is idle, started on the next connection. */
bool daemon_is_idle(const char *run_dir, const char *name);
/* Creates (set) or removes <run_dir>/<name>.idle; the monitor's. */
void daemon_mark_idle(const char *run_dir, const char *name, bool set);

enum daemon_state { DAEMON_RUNNING, DAEMON_IDLE, DAEMON_NOT_RUNNING };
/*
 * What <run_dir>/<name>.pid and .idle say of a daemon ("monitor" is cagectl itself): running
 * (*pid is its live pid), idle, or not running (*pid 0 in both).
 */
enum daemon_state daemon_state(const char *run_dir, const char *name, pid_t *pid);
/* "running", "idle", "not running": the words status, show and verify print. */
const char *daemon_state_name(enum daemon_state st);

int pidfile_write(const char *path, pid_t pid);
pid_t pidfile_read(const char *path);             /* pid or -errno */
/* Whether pid is alive and its executable's name contains `name` (guards against pid reuse). */
bool pid_runs(pid_t pid, const char *name);
/* SIGTERM, wait up to 1 s, then SIGKILL; removes the pid file. -ENOENT if there was none. */
int daemon_stop_pidfile(const char *path, const char *name);
/* Stops every <run_dir>/<daemon>.pid except monitor.pid (cage-proxy, cage-dns). */
void daemon_stop_all(const char *run_dir);

#endif
