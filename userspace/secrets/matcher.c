// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one replacer both directions share. Semantics are those of a single left-to-right pass
 * over the whole input: at each position the longest pattern that matches wins, its bytes are
 * replaced and the scan resumes after it. Fed in pieces, the stream holds back only the tail that
 * could still be the start of a pattern, so the output is byte for byte the one-shot output
 * whatever the chunking (tests/fuzz/fuzz_substitute.c checks exactly that).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "secrets/internal.h"

enum { NO_MATCH, MATCH, NEED_MORE };

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

int matcher_add(struct matcher *m, const void *bytes, size_t len, const void *repl, size_t repl_len,
		int id, bool nocase)
{
	struct pattern *p;

	if (!len)
		return -EINVAL;
	for (size_t i = 0; i < m->n; i++)
		if (m->p[i].len == len && memcmp(m->p[i].bytes, bytes, len) == 0)
			return 0;  /* the same bytes twice (e.g. base64 forms that coincide) */
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		struct pattern *v = realloc(m->p, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->p = v;
		m->cap = cap;
	}
	p = &m->p[m->n];
	memset(p, 0, sizeof(*p));
	p->bytes = secure_alloc(len);
	p->repl = repl_len ? secure_alloc(repl_len) : NULL;
	if (!p->bytes || (repl_len && !p->repl)) {
		secure_free(p->bytes, len);
		secure_free(p->repl, repl_len);
		return -ENOMEM;
	}
	memcpy(p->bytes, bytes, len);
	if (repl_len)
		memcpy(p->repl, repl, repl_len);
	p->len = len;
	p->repl_len = repl_len;
	p->id = id;
	p->nocase = nocase;
	m->n++;
	return 0;
}

static int by_length_desc(const void *a, const void *b)
{
	const struct pattern *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? 1 : -1;
	return x->id - y->id;
}

void matcher_build(struct matcher *m)
{
	/* An empty set has no array at all, and qsort may not be handed a NULL one. */
	if (m->n > 1)
		qsort(m->p, m->n, sizeof(*m->p), by_length_desc);
	memset(m->first, 0, sizeof(m->first));
	m->maxlen = 0;
	for (size_t i = 0; i < m->n; i++) {
		unsigned char c = m->p[i].bytes[0];

		m->first[c >> 3] |= (uint8_t)(1u << (c & 7));
		if (m->p[i].nocase) {
			unsigned char l = lower(c), u = (l >= 'a' && l <= 'z') ? (unsigned char)(l - 32) : l;

			m->first[l >> 3] |= (uint8_t)(1u << (l & 7));
			m->first[u >> 3] |= (uint8_t)(1u << (u & 7));
		}
		if (m->p[i].len > m->maxlen)
			m->maxlen = m->p[i].len;
	}
}

void matcher_free(struct matcher *m)
{
	for (size_t i = 0; i < m->n; i++) {
		secure_free(m->p[i].bytes, m->p[i].len);
		secure_free(m->p[i].repl, m->p[i].repl_len);
	}
	free(m->p);
	memset(m, 0, sizeof(*m));
}

static bool equal(const unsigned char *a, const unsigned char *b, size_t n, bool nocase)
{
	if (!nocase)
		return memcmp(a, b, n) == 0;
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/* The longest pattern at `at`, or NEED_MORE when a longer one could still match past the end. */
static int match_at(const struct matcher *m, const unsigned char *at, size_t avail, bool final,
		    const struct pattern **which)
{
	if (!(m->first[at[0] >> 3] & (1u << (at[0] & 7))))
		return NO_MATCH;
	for (size_t i = 0; i < m->n; i++) {
		const struct pattern *p = &m->p[i];
		size_t n = p->len < avail ? p->len : avail;

		if (!equal(at, p->bytes, n, p->nocase))
			continue;
		if (n == p->len) {
			*which = p;
			return MATCH;
		}
		if (!final)
			return NEED_MORE;
	}
	return NO_MATCH;
}

void mstream_init(struct mstream *s, const struct matcher *m, match_fn fn, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->m = m;
	s->on_match = fn;
	s->match_arg = arg;
}

static int emit_match(struct mstream *s, const struct pattern *p, const unsigned char *at,
		      secrets_emit_fn emit, void *emit_arg)
{
	const unsigned char *repl = p->repl;
	size_t repl_len = p->repl_len;
	int r = s->on_match ? s->on_match(s->match_arg, p, &repl, &repl_len) : 0;

	if (r < 0)
		return r;
	if (r == 1)
		return emit(emit_arg, at, p->len);
	return repl_len ? emit(emit_arg, repl, repl_len) : 0;
}

/*
 * Folds matches that start inside [start, *end) and reach past it into the same replacement,
 * so a value overlapping another leaves no fragment behind. chain[] gets the patterns and
 * their starts. NEED_MORE when the decision needs bytes that have not arrived.
 */
static int fold_chain(const struct matcher *m, const unsigned char *buf, size_t len, bool final,
		      size_t start, size_t *end, const struct pattern **chain, size_t *starts,
		      size_t *n)
{
	size_t from = start + 1;

	while (*n < MATCHER_CHAIN_MAX) {
		const struct pattern *best = NULL, *p;
		size_t best_at = 0;

		for (size_t q = from; q < *end; q++) {
			int r = match_at(m, buf + q, len - q, final, &p);

			if (r == NEED_MORE)
				return NEED_MORE;
			if (r == MATCH && q + p->len > *end &&
			    (!best || q + p->len > best_at + best->len)) {
				best = p;
				best_at = q;
			}
		}
		if (!best)
			return MATCH;
		chain[*n - 1] = best;
		starts[*n - 1] = best_at;
		(*n)++;
		/* Earlier starts reach no further than best: only the new stretch needs a look. */
		from = *end;
		*end = best_at + best->len;
	}
	return MATCH;
}

/* Emits what can be decided; returns how many input bytes were used, or <0. */
static long process(struct mstream *s, bool final, secrets_emit_fn emit, void *emit_arg)
{
	const struct matcher *m = s->m;
	const unsigned char *buf = s->buf;
	size_t i = 0, lit = 0, len = s->len;
	int err;

	while (i < len) {
		const struct pattern *chain[MATCHER_CHAIN_MAX + 1];
		size_t starts[MATCHER_CHAIN_MAX + 1], n = 1, end;
		int r = match_at(m, buf + i, len - i, final, &chain[0]);

		if (r == NEED_MORE)
			break;
		if (r == NO_MATCH) {
			i++;
			continue;
		}
		starts[0] = i;
		end = i + chain[0]->len;
		if (m->fold_overlaps &&
		    fold_chain(m, buf, len, final, i, &end, chain + 1, starts + 1, &n) == NEED_MORE)
			break;  /* undecided from i on: hold it back */
		if (i > lit && (err = emit(emit_arg, buf + lit, i - lit)))
			return err;
		for (size_t k = 0; k < n; k++) {
			err = emit_match(s, chain[k], buf + starts[k], emit, emit_arg);
			if (err)
				return err;
		}
		i = end;
		lit = i;
	}
	if (final)
		i = len;
	if (i > lit && (err = emit(emit_arg, buf + lit, i - lit)))
		return err;
	return (long)i;
}

int mstream_feed(struct mstream *s, const void *data, size_t len, bool final, secrets_emit_fn emit,
		 void *emit_arg)
{
	long used;

	if (s->error)
		return s->error;
	if (!s->len && !len)
		return 0;  /* nothing held, nothing new */
	if (s->len + len > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		unsigned char *nb;

		while (cap < s->len + len)
			cap *= 2;
		nb = secure_alloc(cap);
		if (!nb)
			return s->error = -ENOMEM;
		if (s->len)
			memcpy(nb, s->buf, s->len);
		secure_free(s->buf, s->cap);
		s->buf = nb;
		s->cap = cap;
	}
	if (len)
		memcpy(s->buf + s->len, data, len);
	s->len += len;
	used = process(s, final, emit, emit_arg);
	if (used < 0) {
		OPENSSL_cleanse(s->buf, s->len);
		s->len = 0;
		return s->error = (int)used;
	}
	memmove(s->buf, s->buf + used, s->len - (size_t)used);
	s->len -= (size_t)used;
	OPENSSL_cleanse(s->buf + s->len, (size_t)used);
	return 0;
}

void mstream_release(struct mstream *s)
{
	secure_free(s->buf, s->cap);
	s->buf = NULL;
	s->len = s->cap = 0;
}

int obuf_emit(void *arg, const void *data, size_t len)
{
	struct obuf *o = arg;

	if (o->len + len + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 128;
		char *nb;

		while (cap < o->len + len + 1)
			cap *= 2;
		nb = secure_alloc(cap);
		if (!nb)
			return -ENOMEM;
		if (o->len)
			memcpy(nb, o->buf, o->len);
		secure_free(o->buf, o->cap);
		o->buf = nb;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	o->buf[o->len] = '\0';
	return 0;
}

void obuf_free(struct obuf *o)
{
	secure_free(o->buf, o->cap);
	memset(o, 0, sizeof(*o));
}
