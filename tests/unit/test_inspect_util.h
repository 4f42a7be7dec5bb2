/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the tests/unit/test_inspect_*.c files: a chain from YAML snippets, one
 * request through a session with the body cut at a given place, and verdict queries.
 */
#ifndef CAGE_TEST_INSPECT_UTIL_H
#define CAGE_TEST_INSPECT_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "inspect/inspect.h"

#define ECHO_HOST "echo.allowed.test"

/* cfg NULL: the defaults minus the rate limit, which table-driven tests would trip. */
static inline struct inspect_chain *chain_with(struct cage_config_file *cfg)
{
	static struct cage_inspector no_rate = { .name = "rate_limit", .enabled = false };
	static struct cage_config_file defaults = { .inspectors = &no_rate, .n_inspectors = 1 };
	struct inspect_chain *c = NULL;
	char err[256];
	int rc = inspect_chain_new(cfg ? cfg : &defaults, NULL, &c, err, sizeof(err));

	if (rc)
		fprintf(stderr, "# inspect_chain_new: %d %s\n", rc, err);
	return c;
}

/* Runs one request; split = 0 sends the body in one piece, otherwise in pieces of split
 * bytes; cut = first piece length (0: none). Returns the final action. */
static inline int run_req(struct inspect_session *s, const char *host, const char *target,
			  const struct inspect_header *h, size_t nh, const void *body, size_t len,
			  size_t cut, size_t split)
{
	struct inspect_request req = { "POST", host, target, strlen(target), h, nh };
	const char *p = body;
	int rc = inspect_request_start(s, &req);

	if (rc < 0 || rc == INSPECT_BLOCK)
		return rc;
	if (cut && cut < len) {
		rc = inspect_body_chunk(s, p, cut);
		if (rc < 0 || rc == INSPECT_BLOCK)
			return rc;
		p += cut;
		len -= cut;
	}
	while (len) {
		size_t n = split && split < len ? split : len;

		rc = inspect_body_chunk(s, p, n);
		if (rc < 0 || rc == INSPECT_BLOCK)
			return rc;
		p += n;
		len -= n;
	}
	return inspect_end(s);
}

static inline int run_body(struct inspect_session *s, const char *host, const char *ctype,
			   const void *body, size_t len, size_t cut, size_t split)
{
	struct inspect_header h[1] = { { "Content-Type", 12, ctype, ctype ? strlen(ctype) : 0 } };

	return run_req(s, host, "/", h, ctype ? 1 : 0, body, len, cut, split);
}

/*
 * The group fixture of the table-driven files: one default chain and one session that every
 * test reuses message after message (as the proxy reuses one per connection).
 */
static struct inspect_chain *chain __attribute__((unused));
static struct inspect_session *sess __attribute__((unused));

static inline int group_setup(void **state)
{
	(void)state;
	chain = chain_with(NULL);
	sess = chain ? inspect_session_new(chain) : NULL;
	return sess ? 0 : -1;
}

static inline int group_teardown(void **state)
{
	(void)state;
	inspect_session_free(sess);
	inspect_chain_free(chain);
	return 0;
}

/* loc NULL = any location. */
static inline const struct inspect_finding *find_rule(const struct inspect_verdict *v,
						      const char *rule, const char *loc)
{
	for (unsigned i = 0; i < v->n; i++)
		if ((!rule || !strcmp(v->f[i].rule, rule) || !strcmp(v->f[i].reason, rule)) &&
		    (!loc || !strcmp(v->f[i].location, loc)))
			return &v->f[i];
	return NULL;
}

static inline void dump_verdict(const struct inspect_verdict *v)
{
	for (unsigned i = 0; i < v->n; i++)
		fprintf(stderr, "#   %s %s rule=%s loc=%s dec=%s\n", inspect_action_name(v->f[i].action),
			v->f[i].reason, v->f[i].rule, v->f[i].location, v->f[i].decoders);
}

#endif
