// SPDX-License-Identifier: GPL-2.0-only
/*
 * A secret split across requests (escapes.md row 67: `fold -w5` of a token, one piece per
 * query): no single value is long enough to measure, so the chain keeps, per destination host,
 * the recent short values (query values, path segments, form values under min_url_bytes) and
 * judges them together. Two checks read the same record:
 *   - cumulative entropy: when the newest values to a host add up to split_budget bytes or
 *     more and those bytes, concatenated, measure as random (token_entropy above
 *     url_threshold), the request is flagged dlp.split. Those values are then spent, so a long
 *     transfer is flagged once per budget, not on every later request.
 *   - known values: the concatenation of the recent values, in the order they were sent, is
 *     scanned by the session (session.c) with the chain's database, so a known secret sent in
 *     order in pieces shows its 12-byte fragments again.
 * The table is one per chain (a reload starts it afresh), shared by every connection and
 * thread, bounded (SPLIT_HOSTS_MAX hosts of SPLIT_BUF bytes; the stalest host is recycled) and
 * values age out after split_window seconds.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inspect/inspect_internal.h"

struct split_host {
	char host[256];
	uint32_t hash;
	double last;
	uint16_t n, used, spent;      /* values, bytes, values already judged over budget */
	uint16_t len[SPLIT_VALUES];
	double t[SPLIT_VALUES];
	uint8_t buf[SPLIT_BUF];
};

struct split_table {
	pthread_mutex_t lock;
	struct split_host *h;
	size_t n, cap;
};

double split_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int split_table_new(struct split_table **out)
{
	struct split_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

void split_table_free(struct split_table *t)
{
	if (!t)
		return;
	free(t->h);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static uint32_t host_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* Drops the oldest k values. */
static void drop_front(struct split_host *e, uint16_t k)
{
	uint16_t bytes = 0;

	for (uint16_t i = 0; i < k; i++)
		bytes += e->len[i];
	memmove(e->buf, e->buf + bytes, e->used - bytes);
	memmove(e->len, e->len + k, (e->n - k) * sizeof(e->len[0]));
	memmove(e->t, e->t + k, (e->n - k) * sizeof(e->t[0]));
	e->used -= bytes;
	e->n -= k;
	e->spent = e->spent > k ? e->spent - k : 0;
}

static struct split_host *find_host(struct split_table *t, const char *host, double now)
{
	uint32_t hash = host_hash(host);
	struct split_host *e = NULL;

	for (size_t i = 0; i < t->n; i++)
		if (t->h[i].hash == hash && !strcmp(t->h[i].host, host))
			return &t->h[i];
	if (t->n < t->cap) {
		e = &t->h[t->n++];
	} else if (t->cap < SPLIT_HOSTS_MAX) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct split_host *nh = realloc(t->h, cap * sizeof(*nh));

		if (nh) {
			t->h = nh;
			t->cap = cap;
			e = &t->h[t->n++];
		}
	}
	if (!e) {
		if (!t->n)
			return NULL;
		e = &t->h[0];
		for (size_t i = 1; i < t->n; i++)
			if (t->h[i].last < e->last)
				e = &t->h[i];
	}
	memset(e, 0, offsetof(struct split_host, len));
	snprintf(e->host, sizeof(e->host), "%s", host);
	e->hash = hash;
	e->last = now;
	return e;
}

static bool seen(const struct split_host *e, const uint8_t *p, size_t len)
{
	size_t off = 0;

	for (uint16_t i = 0; i < e->n; off += e->len[i], i++)
		if (e->len[i] == len && !memcmp(e->buf + off, p, len))
			return true;
	return false;
}

/*
 * token_entropy() takes a value whose count of distinct characters fits a uniform draw from
 * the alphabet its character classes imply. A concatenation of ordinary words of mixed case
 * ("packages" "left-pad" "1.3.0" "en-US" "Europe/Berlin") fits that count too, yet its
 * classes do not come in the proportions such a draw gives (lower case 27 of 39 where a draw
 * from 65 symbols gives 16). A chi-square test on the class counts (p < 0.001) rejects it;
 * random base62 fails it about once in a thousand, and then the next piece slides the window.
 */
static bool classes_uniform(const uint8_t *p, size_t len)
{
	static const double crit[] = { 0, 10.83, 13.82, 16.27 };
	bool seen[256] = { false }, lower_hex = true, upper_hex = true;
	unsigned obs[4] = { 0 }, k[4] = { 0 }, classes = 0;  /* digit, lower, upper, symbol */
	double total = 0, chi2 = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		int cl = c >= '0' && c <= '9' ? 0 : c >= 'a' && c <= 'z' ? 1 : c >= 'A' && c <= 'Z' ? 2 : 3;

		obs[cl]++;
		lower_hex = lower_hex && !(cl == 1 && c > 'f');
		upper_hex = upper_hex && !(cl == 2 && c > 'F');
		if (cl == 3 && !seen[c])
			k[3]++;
		seen[c] = true;
	}
	k[0] = obs[0] ? 10 : 0;
	k[1] = obs[1] ? (lower_hex && !obs[2] ? 6 : 26) : 0;
	k[2] = obs[2] ? (upper_hex && !obs[1] ? 6 : 26) : 0;
	for (int c = 0; c < 4; c++) {
		total += k[c];
		classes += k[c] != 0;
	}
	if (classes < 2)
		return true;
	for (int c = 0; c < 4; c++) {
		double e = k[c] ? (double)len * k[c] / total : 0;

		if (e > 0)
			chi2 += (obs[c] - e) * (obs[c] - e) / e;
	}
	return chi2 <= crit[classes - 1];
}

/* The newest values since the last verdict that reach the budget, judged together. */
static bool over_budget(struct split_host *e, const struct inspect_conf *conf)
{
	size_t bytes = 0;
	uint16_t i = e->n;

	while (i > e->spent && bytes < conf->split_budget)
		bytes += e->len[--i];
	if (bytes < conf->split_budget ||
	    token_entropy(e->buf + e->used - bytes, bytes) <= conf->url_threshold ||
	    !classes_uniform(e->buf + e->used - bytes, bytes))
		return false;
	e->spent = e->n;
	return true;
}

bool split_table_settled(struct split_table *t, const struct inspect_conf *conf, double now)
{
	bool settled = true;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; settled && i < t->n; i++) {
		const struct split_host *e = &t->h[i];

		if (e->n && e->t[e->n - 1] >= now - conf->split_window)
			settled = false;
	}
	pthread_mutex_unlock(&t->lock);
	return settled;
}

void split_record(struct split_table *t, const struct inspect_conf *conf, const char *host,
		  const struct split_piece *pieces, size_t n, bool entropy, double now,
		  struct split_result *out)
{
	struct split_host *e;
	uint16_t before, old = 0;

	out->over_budget = false;
	out->len = out->fresh = 0;
	pthread_mutex_lock(&t->lock);
	e = find_host(t, host, now);
	if (!e)
		goto out;
	while (old < e->n && e->t[old] < now - conf->split_window)
		old++;
	if (old)
		drop_front(e, old);
	before = e->used;
	for (size_t i = 0; i < n; i++) {
		const struct split_piece *pc = &pieces[i];

		if (!pc->len || pc->len > SPLIT_BUF / 2 || seen(e, pc->p, pc->len))
			continue;
		while (e->n == SPLIT_VALUES || e->used + pc->len > SPLIT_BUF) {
			before = before > e->len[0] ? before - e->len[0] : 0;
			drop_front(e, 1);
		}
		memcpy(e->buf + e->used, pc->p, pc->len);
		e->len[e->n] = (uint16_t)pc->len;
		e->t[e->n++] = now;
		e->used = (uint16_t)(e->used + pc->len);
	}
	e->last = now;
	if (e->used == before)
		goto out;  /* nothing new: nothing to judge again */
	out->over_budget = entropy && conf->split_budget && over_budget(e, conf);
	memcpy(out->buf, e->buf, e->used);
	out->len = e->used;
	out->fresh = (size_t)(e->used - before);
out:
	pthread_mutex_unlock(&t->lock);
}
