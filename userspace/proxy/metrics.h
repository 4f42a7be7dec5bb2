/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The counters cage-proxy publishes in <run_dir>/cage-proxy.metrics for `cagectl stats`:
 * requests and connections audited, how many were blocked, bytes from and to the agent,
 * connections open.
 * Workers only add to atomics; worker 0's one-second tick rewrites the file (lib/metrics.h).
 */
#ifndef CAGE_PROXY_METRICS_H
#define CAGE_PROXY_METRICS_H

#include <stdbool.h>
#include <stdint.h>

/* Opens the file as root, before the privilege drop. 0 or -errno (the proxy runs on without). */
int px_metrics_open(const char *cage);
/* One audited request (or passthrough/denied connection). */
void px_metrics_count(bool blocked);
/* Bytes read from / written to the agent, as they move (one relaxed atomic add each). */
void px_metrics_bytes(uint64_t in, uint64_t out);
/* Rewrites the file when a counter changed; from a timer, never per request. */
void px_metrics_publish(void);

#endif
