/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The counters cage-dns publishes in <run_dir>/cage-dns.metrics for `cagectl stats`: queries,
 * denied, forwarded, cache hits, rate-refused, servfail. Rewritten from the resolver's tick
 * (lib/metrics.h explains the in-place format); the query path only bumps r->stats.
 */
#ifndef CAGE_DNS_METRICS_H
#define CAGE_DNS_METRICS_H

struct res_stats;

/* Opens the file as root, before the privilege drop. 0 or -errno (cage-dns runs on without). */
int dns_metrics_open(const char *cage);
/* Rewrites the file when a counter changed. */
void dns_metrics_publish(const struct res_stats *s);

#endif
