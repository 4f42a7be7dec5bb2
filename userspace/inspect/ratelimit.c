// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-host token buckets shared by every session of a chain. The table is bounded: when it
 * is full the stalest bucket is recycled, which can only ever grant a host a fresh burst,
 * never deny one it should have had.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inspect/inspect_internal.h"

#define MAX_BUCKETS 4096

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

bool ratelimit_take(struct inspect_chain *c, const char *host, double rate, double burst)
{
	struct rate_bucket *b = NULL;
	double t = now_s();
	bool ok;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_buckets; i++)
		if (!strcmp(c->buckets[i].host, host)) {
			b = &c->buckets[i];
			break;
		}
	if (!b && c->n_buckets < c->cap_buckets) {
		b = &c->buckets[c->n_buckets++];
	} else if (!b && c->cap_buckets < MAX_BUCKETS) {
		size_t cap = c->cap_buckets ? c->cap_buckets * 2 : 64;
		struct rate_bucket *nb = realloc(c->buckets, cap * sizeof(*nb));

		if (nb) {
			c->buckets = nb;
			c->cap_buckets = cap;
			b = &c->buckets[c->n_buckets++];
		}
	}
	if (!b) {
		b = &c->buckets[0];
		for (size_t i = 1; i < c->n_buckets; i++)
			if (c->buckets[i].last < b->last)
				b = &c->buckets[i];
		b->host[0] = 0;
	}
	if (strcmp(b->host, host)) {
		snprintf(b->host, sizeof(b->host), "%s", host);
		b->tokens = burst;
		b->last = t;
	}
	b->tokens += (t - b->last) * rate;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last = t;
	b->rate = rate;
	b->burst = burst;
	ok = b->tokens >= 1;
	if (ok)
		b->tokens -= 1;
	pthread_mutex_unlock(&c->lock);
	return ok;
}

bool ratelimit_settled(struct inspect_chain *c, double now)
{
	bool settled = true;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; settled && i < c->n_buckets; i++) {
		const struct rate_bucket *b = &c->buckets[i];

		if (b->host[0] && b->tokens + (now - b->last) * b->rate < b->burst)
			settled = false;
	}
	pthread_mutex_unlock(&c->lock);
	return settled;
}
