/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The inspector chain cage-proxy runs on every inspected HTTP message and WebSocket message
 * the agent sends. Inspectors run in a fixed order, cheap and high-reject first: domain,
 * secrets, body_size, entropy, content_type, rate_limit, custom plugins. Each abstains, flags
 * or blocks; the first block ends the chain (later inspectors are not consulted), flags are
 * collected for the audit record.
 *
 * Everything is streaming: the body goes through inspect_body_chunk() in whatever pieces the
 * proxy has (any split, down to single bytes) and is never buffered here. Secret patterns run
 * in Vectorscan streams, so a secret cut across chunks, TLS records or WebSocket fragments is
 * found all the same. Decoders (Content-Encoding, percent, JSON escapes, base64/hex/base32
 * runs) sit in front of the streams. The proxy cannot un-send bytes: it must hold the body
 * (bounded by the body_size limit) until inspect_end(), or at least hold back whatever it has
 * not yet had a non-block answer for. See docs/inspectors.md.
 *
 * Use (one chain per cage, one session per connection, reused per message):
 *   inspect_chain_new(cfg, &opt, &chain, err, sizeof err);
 *   inspect_set_known_values(chain, values, n);        values[i] is cfg->secrets[i]'s real value
 *   s = inspect_session_new(chain);
 *   per request: inspect_request_start(s, &req) → inspect_body_chunk(s, ...)* → inspect_end(s)
 *     each returns the action so far (INSPECT_BLOCK: stop, answer inspect_verdict(s)->status);
 *   after a 101: inspect_ws_start(s, host, flags), then inspect_ws_feed() both directions;
 *     on INSPECT_BLOCK send ws_build_close(1008) to both sides and close.
 *   inspect_session_free(s); inspect_chain_free(chain);
 *
 * A chain is immutable after setup except for inspect_set_known_values() and the rate-limit
 * buckets (locked): sessions on several threads may share it; each holds a reference to it.
 * A session is single-threaded.
 * Findings never contain matched bytes: rule names, locations and decoder chains only.
 */
#ifndef CAGE_INSPECT_H
#define CAGE_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cage_config_file;

enum inspect_action { INSPECT_ABSTAIN = 0, INSPECT_FLAG = 1, INSPECT_BLOCK = 2 };

enum inspect_severity {
	INSPECT_SEV_DEBUG = 0,
	INSPECT_SEV_INFO,
	INSPECT_SEV_WARNING,
	INSPECT_SEV_ERROR,
	INSPECT_SEV_CRITICAL,
};

/* Fixed order of the chain. */
enum inspector_id {
	INSPECTOR_DOMAIN = 0,
	INSPECTOR_SECRETS,
	INSPECTOR_BODY_SIZE,
	INSPECTOR_ENTROPY,
	INSPECTOR_CONTENT_TYPE,
	INSPECTOR_RATE_LIMIT,
	INSPECTOR_CUSTOM,
	INSPECTOR_COUNT,
};

#define INSPECT_MAX_FINDINGS 16

/*
 * reason is the audit key: dlp.hit, dlp.entropy, dlp.ctype_mismatch, dlp.ctype_entropy,
 * dlp.ctype_base64, limit.body, limit.headers, limit.inflate, limit.rate, limit.ws_message,
 * decode.failed, decode.unsupported, domain.blocked, domain.not_allowed, ws.protocol,
 * plugin.<name>. rule is the pattern name (github_token, known_value:<secret name>, ...).
 * location: url, path, query, header:<lower-case name>, body, ws-frame. decoders: the chain
 * that exposed the bytes, e.g. "gzip>base64", empty for raw bytes.
 */
struct inspect_finding {
	enum inspect_action action;
	enum inspect_severity severity;
	const char *inspector;   /* static name */
	uint16_t status;         /* HTTP status a block answers: 403, 413, 429, 431 */
	char reason[32];
	char rule[64];
	char location[72];
	char decoders[40];
};

struct inspect_verdict {
	enum inspect_action action;     /* the strongest of the findings */
	enum inspect_severity severity; /* the highest */
	uint16_t status;                /* of the first block; 0 when not blocked */
	unsigned n;
	unsigned dropped;               /* findings beyond INSPECT_MAX_FINDINGS */
	struct inspect_finding f[INSPECT_MAX_FINDINGS];
};

struct inspect_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

struct inspect_request {
	const char *method;
	const char *host;               /* canonical (domain_canonicalize) or an IP literal */
	const char *target;             /* origin-form "/path?query" (absolute-form accepted) */
	size_t target_len;
	const struct inspect_header *headers;
	size_t n_headers;
};

struct inspect_options {
	const char *plugin_dir;   /* custom:<file>.so must live here; NULL = plugins refused */
	/* The real values of cfg->secrets[i], as inspect_set_known_values() takes them: compiled
	 * with the patterns into the chain's one database, instead of a database without them
	 * and then another with them. NULL: none (set them later, or never). */
	const char *const *known_values;
	size_t n_known;
};

struct inspect_chain;
struct inspect_session;

/*
 * Builds the chain from cfg->inspectors (names: domain, secrets, body_size | body-size,
 * entropy, content_type | content-type, rate_limit | rate-limit, custom:<file>.so), the
 * domain lists and the secret rules. Inspectors not listed run with their defaults (entropy
 * and custom are opt-in). Returns 0 or a negative errno; err gets a message naming the
 * inspector and key.
 */
int inspect_chain_new(const struct cage_config_file *cfg, const struct inspect_options *opt,
		      struct inspect_chain **out, char *err, size_t errlen);
/*
 * The chain keeps nothing of cfg (it copies the secrets' bindings), so cfg may be freed right
 * after inspect_chain_new(). Chains are reference-counted: every session holds one, so a
 * proxy that builds a new chain on reload can drop its own reference to the old one while
 * requests still run on it. inspect_chain_free() drops a reference.
 */
struct inspect_chain *inspect_chain_get(struct inspect_chain *chain);
void inspect_chain_free(struct inspect_chain *chain);
/*
 * Whether the state the chain's sessions share (rate-limit buckets, the recent values that
 * split detection remembers) will, after_s seconds from now, be what a new chain starts with:
 * every bucket refilled to its burst, no value within split_window. A proxy that exits while
 * idle (proxy.idle_exit) waits for this, so its restart cannot grant anything it would not have.
 */
bool inspect_chain_settled(struct inspect_chain *chain, double after_s);
/* The secrets the chain was built with, in cfg->secrets order (for inspect_set_known_values). */
size_t inspect_chain_secret_count(const struct inspect_chain *chain);
const char *inspect_chain_secret_name(const struct inspect_chain *chain, size_t i);

/*
 * The real values of the cage's secrets: each value, and every fragment of 12 bytes or more,
 * blocks as critical (rule known_value:<name>) anywhere except where cfg->secrets[i] binds it
 * (its inject_to hosts; there only in its inject_headers, or anywhere if inject_body). Values
 * beyond cfg->n_secrets have no binding. Values shorter than 8 bytes are ignored (too many
 * false positives). Replaces the previous set; sessions already running keep the old one.
 */
int inspect_set_known_values(struct inspect_chain *chain, const char *const *values, size_t n);

struct inspect_session *inspect_session_new(struct inspect_chain *chain);
void inspect_session_free(struct inspect_session *s);
/*
 * Makes a finished session as good as inspect_session_new(chain) without its allocations
 * (Vectorscan scratch, streams, buffers): nothing of earlier messages, WebSocket state or
 * plugin state is left. chain may differ from the session's (a reload): the streams are
 * reopened on its database, the scratch is kept and grown if needed. 0 or -errno (then free
 * the session).
 */
int inspect_session_reuse(struct inspect_session *s, struct inspect_chain *chain);

/* A request: returns the action so far, or a negative errno (then treat as blocked). */
int inspect_request_start(struct inspect_session *s, const struct inspect_request *req);
int inspect_body_chunk(struct inspect_session *s, const void *data, size_t len);
int inspect_end(struct inspect_session *s);
const struct inspect_verdict *inspect_verdict(const struct inspect_session *s);

/* WebSocket after a 101 on the same session. flags: */
#define INSPECT_WS_DEFLATE            1u /* permessage-deflate was negotiated */
#define INSPECT_WS_CLIENT_NO_CONTEXT  2u /* client_no_context_takeover */
#define INSPECT_WS_SERVER_NO_CONTEXT  4u
int inspect_ws_start(struct inspect_session *s, const char *host, unsigned flags);
/* Raw wire bytes; from_client selects the direction. Outbound messages run the chain. */
int inspect_ws_feed(struct inspect_session *s, bool from_client, const void *data, size_t len);

/* Message level, for a proxy that parses frames itself (payload already unmasked/inflated). */
int inspect_ws_message_start(struct inspect_session *s);
int inspect_ws_message_chunk(struct inspect_session *s, const void *data, size_t len);
int inspect_ws_message_end(struct inspect_session *s);

/* Helpers for the proxy. */
const char *inspect_action_name(enum inspect_action a);
const char *inspect_severity_name(enum inspect_severity s);
/* Writes {"error":"blocked","reason":..,"rule":..,"location":..} for the 403 body. */
int inspect_verdict_json(const struct inspect_verdict *v, char *out, size_t outlen);

#endif
