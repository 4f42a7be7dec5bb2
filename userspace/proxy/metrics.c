// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "enforce/paths.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "proxy/metrics.h"
#include "proxy/proxy.h"

static struct {
	int fd;
	atomic_uint_fast64_t requests, blocked, bytes_in, bytes_out;
	uint64_t last[5];
	bool published;
} pm = { .fd = -1 };

int px_metrics_open(const char *cage)
{
	struct cage_paths paths;
	char path[PATH_MAX + 32];
	int err = cage_paths_init(&paths, cage);

	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/cage-proxy.metrics", paths.run_dir);
	{
		struct metric_value v[] = {
			{ "requests", 0 }, { "blocked", 0 }, { "bytes_in", 0 }, { "bytes_out", 0 },
		};

		metrics_file_resume(path, v, 4);
		atomic_store(&pm.requests, v[0].value);
		atomic_store(&pm.blocked, v[1].value);
		atomic_store(&pm.bytes_in, v[2].value);
		atomic_store(&pm.bytes_out, v[3].value);
	}
	pm.fd = metrics_file_open(path);
	if (pm.fd < 0) {
		err = pm.fd;
		/* No run directory: started outside a cage (tests), nobody reads the file. */
		if (err != -ENOENT)
			p_warn("metrics %s: %s", path, strerror(-err));
		return err;
	}
	px_metrics_publish();
	return 0;
}

void px_metrics_count(bool blocked)
{
	atomic_fetch_add_explicit(&pm.requests, 1, memory_order_relaxed);
	if (blocked)
		atomic_fetch_add_explicit(&pm.blocked, 1, memory_order_relaxed);
}

void px_metrics_bytes(uint64_t in, uint64_t out)
{
	if (in)
		atomic_fetch_add_explicit(&pm.bytes_in, in, memory_order_relaxed);
	if (out)
		atomic_fetch_add_explicit(&pm.bytes_out, out, memory_order_relaxed);
}

void px_metrics_publish(void)
{
	struct metric_value v[] = {
		{ "requests", atomic_load_explicit(&pm.requests, memory_order_relaxed) },
		{ "blocked", atomic_load_explicit(&pm.blocked, memory_order_relaxed) },
		{ "bytes_in", atomic_load_explicit(&pm.bytes_in, memory_order_relaxed) },
		{ "bytes_out", atomic_load_explicit(&pm.bytes_out, memory_order_relaxed) },
		{ "connections_open", atomic_load(&px.n_conns) },
	};
	bool changed = !pm.published;

	if (pm.fd < 0)
		return;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		changed |= pm.last[i] != v[i].value;
		pm.last[i] = v[i].value;
	}
	if (changed && metrics_file_publish(pm.fd, v, sizeof(v) / sizeof(v[0])) == 0)
		pm.published = true;
}
