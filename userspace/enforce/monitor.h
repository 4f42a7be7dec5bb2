/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The cage monitor: the resident half of `cagectl up`. It drains the BPF event ring buffer into
 * the audit log and supervises the cage's daemons. Killing it leaves enforcement in place: the
 * BPF links and maps are pinned and nft tables stay; only auditing pauses until it is back.
 */
#ifndef CAGE_ENFORCE_MONITOR_H
#define CAGE_ENFORCE_MONITOR_H

#include <stdbool.h>
#include <sys/types.h>

#include "enforce/paths.h"
#include "enforce/state.h"

/* Runs until SIGTERM/SIGINT. Writes one byte to ready_fd (then closes it) once it is draining. */
int monitor_run(const struct cage_paths *p, const struct cage_state *st, int ready_fd);

/*
 * Forks monitor_run() (output to <log_dir>/monitor.log; `detach`: own session, stdin from
 * /dev/null) and waits until it is ready, daemons included. 0 and *pid_out (may be NULL), or
 * -errno with the child killed.
 */
int monitor_start(const struct cage_paths *p, const struct cage_state *st, bool detach, pid_t *pid_out);

#endif
