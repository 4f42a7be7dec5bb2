// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dns/dns_metrics.h"
#include "dns/resolver.h"
#include "enforce/paths.h"
#include "lib/log.h"
#include "lib/metrics.h"

/* cage-dns is one thread: no atomics needed. */
static int metrics_fd = -1;
static struct res_stats last;
static bool published;

int dns_metrics_open(const char *cage)
{
	struct cage_paths paths;
	char path[PATH_MAX + 32];
	int err = cage_paths_init(&paths, cage);

	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/cage-dns.metrics", paths.run_dir);
	metrics_fd = metrics_file_open(path);
	if (metrics_fd < 0) {
		err = metrics_fd;
		/* No run directory: started outside a cage (tests), nobody reads the file. */
		if (err != -ENOENT)
			p_warn("metrics %s: %s", path, strerror(-err));
		return err;
	}
	dns_metrics_publish(&last);
	return 0;
}

void dns_metrics_publish(const struct res_stats *s)
{
	const struct metric_value v[] = {
		{ "queries", s->queries },
		{ "denied", s->denied },
		{ "forwarded", s->forwarded },
		{ "cache_hits", s->cache_hits },
		{ "refused_rate", s->refused_rate },
		{ "servfail", s->servfail },
	};

	if (metrics_fd < 0 || (published && !memcmp(s, &last, sizeof(last))))
		return;
	if (metrics_file_publish(metrics_fd, v, sizeof(v) / sizeof(v[0])) == 0) {
		last = *s;
		published = true;
	}
}
