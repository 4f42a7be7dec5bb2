/* SPDX-License-Identifier: GPL-2.0-only */
/* What the files of userspace/secrets/ share and nobody else needs. */
#ifndef CAGE_SECRETS_INTERNAL_H
#define CAGE_SECRETS_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secrets/secrets.h"

/* ---- a streaming multi-pattern replacer ---------------------------------------------------- */

#define PAT_SHAPE (-1)       /* id of the "cagectl:secret:" shape patterns */
#define MATCHER_CHAIN_MAX 4  /* overlapping matches folded into one replacement (redaction) */

struct pattern {
	unsigned char *bytes;
	size_t len;
	unsigned char *repl;   /* what replaces it by default (may be NULL: decided by the caller) */
	size_t repl_len;
	int id;                /* rule index or PAT_SHAPE */
	bool nocase;
};

struct matcher {
	struct pattern *p;     /* longest first: the first full match at a position is the longest */
	size_t n, cap;
	size_t maxlen;
	uint8_t first[32];     /* bitmap of first bytes */
	bool fold_overlaps;    /* a match that overlaps the one before extends the replacement */
};

int matcher_add(struct matcher *m, const void *bytes, size_t len, const void *repl, size_t repl_len,
		int id, bool nocase);
void matcher_build(struct matcher *m);
void matcher_free(struct matcher *m);

/*
 * Called for each match: set *repl and *repl_len to the bytes to emit (default: the pattern's
 * replacement) and return 0, return 1 to keep the matched bytes, or <0 to stop the stream.
 */
typedef int (*match_fn)(void *arg, const struct pattern *p, const unsigned char **repl,
			size_t *repl_len);

struct mstream {
	const struct matcher *m;
	match_fn on_match;
	void *match_arg;
	unsigned char *buf;    /* held-back input (may hold a real value: cleansed on free) */
	size_t len, cap;
	int error;             /* sticky */
};

void mstream_init(struct mstream *s, const struct matcher *m, match_fn fn, void *arg);
int mstream_feed(struct mstream *s, const void *data, size_t len, bool final, secrets_emit_fn emit,
		 void *emit_arg);
void mstream_release(struct mstream *s);

/* A growing output buffer (cleansed when freed or grown: it may hold real values). */
struct obuf {
	char *buf;
	size_t len, cap;
};
int obuf_emit(void *arg, const void *data, size_t len);
void obuf_free(struct obuf *o);

/* ---- encodings ------------------------------------------------------------------------------ */

size_t b64_encoded_len(size_t n);
/* NUL-terminated; url selects the -_ alphabet; padding only when pad. */
void b64_encode(const unsigned char *in, size_t n, char *out, bool url, bool pad);
/* Strict standard base64 (padding optional); -EINVAL on anything else. out needs n*3/4+3. */
int b64_decode(const char *in, size_t n, unsigned char *out, size_t *out_len);

/* ---- ruleset internals -------------------------------------------------------------------- */

struct secrets_rule {
	char *key;
	char *placeholder;
	unsigned char *value;    /* locked, cleansed on free; NULL = not stored */
	size_t value_len;
	struct domain_set *inject_to;  /* NULL = never injected */
	char **inject_headers;
	size_t n_inject_headers;
	bool inject_body;
};

struct secrets_ruleset {
	atomic_int refs;
	struct secrets_policy pol;
	struct secrets_rule *rules;
	size_t n;
	struct matcher inject;   /* placeholders + the placeholder shape */
	struct matcher redact;   /* values and their encoded forms → placeholders */
	struct secrets_known_value *known;
	size_t n_known;
	bool compiled;
};

/* Locked memory for values: mlock where the limit allows, cleansed on free. */
void *secure_alloc(size_t n);
void secure_free(void *p, size_t n);

int state_secrets_dir(const char *state_dir, char *out, size_t len);
/* <state_dir>/secrets as an O_DIRECTORY fd (created 0700 with its parents when `create`). */
int store_dir_open(const char *state_dir, bool create);
int store_write_atomic(int dir_fd, const char *name, const void *data, size_t len, bool exclusive);
/* Allocates len + 1 bytes of locked memory: free with secure_free(buf, len + 1). */
int store_read_file(int dir_fd, const char *name, size_t max, unsigned char **out, size_t *len);

#endif
