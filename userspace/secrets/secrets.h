/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Secrets: the store on disk, placeholders, and the substitution engine cage-proxy runs.
 *
 * The agent only ever holds placeholders (`cagectl:secret:<KEY>:<32 hex>`). On the way out the
 * engine puts the real value in where the rule binds it (host and location), and blocks any
 * request that carries a placeholder somewhere else; on the way back it replaces every real
 * value (and its base64 and percent-encoded forms) with the placeholder. docs/secrets.md has
 * the policy, the file formats and what the proxy must do with each call.
 *
 * Values are byte strings: never NUL-terminated, never logged, cleansed before they are freed.
 */
#ifndef CAGE_SECRETS_H
#define CAGE_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define SECRETS_KEY_MAX 128             /* an environment variable name */
#define SECRETS_PLACEHOLDER_MAX 256
#define SECRETS_PLACEHOLDER_MIN 8       /* shorter ones would match ordinary text */
#define SECRETS_VALUE_MAX (64u * 1024)
#define SECRETS_RULES_MAX 64            /* injected/redacted sets are uint64_t masks */
#define SECRETS_PREFIX "cagectl:secret:"
#define SECRETS_HOSTKEY_LEN 32

/* ---- store: <state_dir>/secrets/<KEY> and <KEY>.meta ----------------------------------- */

/* AES-256-GCM key from <state_root>/host.key; the proxy loads it before dropping root. */
struct secrets_hostkey {
	unsigned char key[SECRETS_HOSTKEY_LEN];
	bool loaded;
};

/* Loads <state_root>/host.key; creates it (0600, random) when `create`. -ENOENT when absent,
 * -EBADMSG when it is not 32 bytes, -EPERM when group or others may read it. */
int secrets_hostkey_load(const char *state_root, bool create, struct secrets_hostkey *hk);
void secrets_hostkey_clear(struct secrets_hostkey *hk);

bool secrets_key_valid(const char *key);

/*
 * Writes <state_dir>/secrets/<key> atomically (temp file, fsync, rename, fsync of the directory),
 * mode 0600, owned like the secrets directory (which is created 0700 when missing). Encrypted
 * when hk is non-NULL. 0 or -errno.
 */
int secrets_store_write(const char *state_dir, const char *key, const void *value, size_t len,
			const struct secrets_hostkey *hk);
/*
 * Reads a value into locked memory; free it with secrets_value_free(). -ENOENT (no value),
 * -ENOKEY (encrypted and hk is NULL), -EBADMSG (bad header, or the GCM tag does not verify:
 * tampered, renamed from another key, or the wrong host key).
 */
int secrets_store_read(const char *state_dir, const char *key, const struct secrets_hostkey *hk,
		       unsigned char **value, size_t *len);
/* 0, or -ENOENT when there was neither a value nor a meta file. */
int secrets_store_remove(const char *state_dir, const char *key);
bool secrets_store_has(const char *state_dir, const char *key);
/* Sorted key names with a value or a meta file; free with secrets_keys_free(). */
int secrets_store_list(const char *state_dir, char ***keys, size_t *n);
void secrets_keys_free(char **keys, size_t n);
void secrets_value_free(unsigned char *value, size_t len);

/* <KEY>.meta: the placeholder and the domains `secret set --inject-to` bound (no value). */
struct secrets_meta {
	char placeholder[SECRETS_PLACEHOLDER_MAX + 1];
	struct cage_strv inject_to;
};

int secrets_meta_read(const char *state_dir, const char *key, struct secrets_meta *meta);
int secrets_meta_write(const char *state_dir, const char *key, const struct secrets_meta *meta);
void secrets_meta_free(struct secrets_meta *meta);

/* `cagectl:secret:<key>:<32 hex>` from getrandom(). 0 or -errno. */
int secrets_placeholder_generate(const char *key, char *out, size_t len);
/* 1-256 printable ASCII without spaces, at least SECRETS_PLACEHOLDER_MIN long. */
bool secrets_placeholder_valid(const char *ph);
/*
 * The placeholder the workload sees under `key`: the config's if it gives one, else the stored
 * one, else a new one (stored in <KEY>.meta so it is stable across restarts).
 */
int secrets_placeholder_for(const struct cage_config_file *cfg, const char *state_dir,
			    const char *key, char *out, size_t len);

/*
 * For `cagectl up`: 0 when every secret the config names has a stored value; otherwise -ENOENT
 * and msg says which, with the exact `cagectl secret set CAGE KEY` line to run.
 */
int secrets_check_config(const struct cage_config_file *cfg, const char *state_dir, char *msg,
			 size_t len);

/* ---- the ruleset the engine runs ------------------------------------------------------- */

enum secrets_action { SECRETS_PASS = 0, SECRETS_FLAG, SECRETS_BLOCK };

struct secrets_policy {
	enum secrets_action misdirected;  /* SECRETS_BLOCK (default) or SECRETS_FLAG */
	bool allow_plain_http;            /* inject over http:// too; default false */
};

struct secrets_ruleset;

struct secrets_rule_spec {
	const char *key;
	const char *placeholder;
	const unsigned char *value;  /* NULL: no stored value (the placeholder is still policed) */
	size_t value_len;
	const struct cage_strv *inject_to;       /* empty: never injected */
	const struct cage_strv *inject_headers;
	bool inject_body;
};

/* An empty ruleset (pol NULL = defaults); add rules, then secrets_ruleset_compile(). */
struct secrets_ruleset *secrets_ruleset_new(const struct secrets_policy *pol);
/* -EINVAL (bad key, placeholder or pattern), -EEXIST (key or placeholder taken), -E2BIG. */
int secrets_ruleset_add(struct secrets_ruleset *rs, const struct secrets_rule_spec *spec);
int secrets_ruleset_compile(struct secrets_ruleset *rs);
/*
 * What cage-proxy calls at start and on SIGHUP: every rule of the config (placeholder from the
 * config or the meta file, value from the store) plus every stored secret the config does not
 * name (bound by its meta file). msg names the key or file on failure.
 */
int secrets_ruleset_load(const struct cage_config_file *cfg, const char *state_dir,
			 const struct secrets_hostkey *hk, const struct secrets_policy *pol,
			 struct secrets_ruleset **out, char *msg, size_t len);
/* Rulesets are reference counted: streams hold one, so a reload never cuts a connection. */
struct secrets_ruleset *secrets_ruleset_get(struct secrets_ruleset *rs);
void secrets_ruleset_put(struct secrets_ruleset *rs);  /* the last put cleanses and frees */

size_t secrets_rule_count(const struct secrets_ruleset *rs);
const char *secrets_rule_key(const struct secrets_ruleset *rs, size_t i);
/* "A,B" for a mask of rule indexes (audit: names only). Returns the length written. */
size_t secrets_mask_names(const struct secrets_ruleset *rs, uint64_t mask, char *buf, size_t len);

/* The process-wide ruleset: the proxy swaps it on reload; readers take a reference. */
void secrets_current_set(struct secrets_ruleset *rs);   /* takes over the caller's reference */
struct secrets_ruleset *secrets_current_get(void);      /* NULL or a reference to put */

/* The real values, for the inspector's known-secret matcher. Valid while rs is held. */
struct secrets_known_value {
	const char *key;
	const unsigned char *value;
	size_t len;
};
const struct secrets_known_value *secrets_known_values(const struct secrets_ruleset *rs,
							size_t *n);

/* ---- requests: placeholder → value, policy first ---------------------------------------- */

enum secrets_location {
	SECRETS_LOC_TARGET,       /* request target: path and query */
	SECRETS_LOC_HEADER,       /* a header value; hname is the header's name */
	SECRETS_LOC_HEADER_NAME,  /* never bound */
	SECRETS_LOC_BODY,
	SECRETS_LOC_WEBSOCKET,
};

/*
 * Is this location one a rule binds its value to (on a host in its inject_to)? Strict mode: a
 * header whose name contains auth, key or token (any case), or one of inject_headers (any
 * case); inject_body: every location but a header name. The one rule both the injection
 * engine and the inspector's known-value exemption follow, so the literal value is allowed
 * exactly where a placeholder would have become it.
 */
bool secrets_location_bound(enum secrets_location where, const char *hname, size_t hname_len,
			    const char *const *inject_headers, size_t n_inject_headers,
			    bool inject_body);

/* The identity the proxy checked and will dial: canonical host (domain_canonicalize()). */
struct secrets_upstream {
	bool https;
	const char *host;
	uint16_t port;
};

struct secrets_verdict {
	enum secrets_action action;
	const char *reason;   /* "secret.placeholder_misdirected", "secret.placeholder_unknown",
			       * "secret.value_missing"; NULL when PASS */
	const char *detail;   /* "unbound_host", "plain_http", "location" or NULL */
	const char *where;    /* "target", "header", "header_name", "body", "websocket" */
	int rule;             /* rule index involved, -1 for an unknown placeholder */
	uint64_t injected;    /* rules whose value was put in */
};

struct secrets_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* A rewritten field: buf NULL means unchanged. */
struct secrets_field {
	char *buf;
	size_t len;
};

struct secrets_head_rewrite {
	struct secrets_field target;
	struct secrets_field *values;  /* one per header */
	size_t n;
};

/*
 * The request line target (origin or absolute form) and header fields. Every location is judged
 * before any rewritten byte is handed out: on SECRETS_BLOCK `out` is empty and the request must
 * be refused (403). Otherwise `out` holds the rewritten target/values (real values inside: send
 * them upstream, never log them) and v->injected names what went in. 0 or -ENOMEM.
 */
int secrets_request_head(const struct secrets_ruleset *rs, const struct secrets_upstream *up,
			 const char *target, size_t target_len, const struct secrets_header *headers,
			 size_t n_headers, struct secrets_verdict *v, struct secrets_head_rewrite *out);
void secrets_head_rewrite_free(struct secrets_head_rewrite *rw);

/* ---- streams: request bodies, WebSocket payloads, response bodies ------------------------ */

/* Output callback: nonzero aborts the feed with that value. */
typedef int (*secrets_emit_fn)(void *arg, const void *buf, size_t len);

enum secrets_stream_kind {
	SECRETS_STREAM_BODY,       /* request body: placeholders → values where bound */
	SECRETS_STREAM_WEBSOCKET,  /* client → server frame payloads: same, location "websocket" */
	SECRETS_STREAM_REDACT,     /* response body or server frames: values → placeholders */
};

struct secrets_stream;

struct secrets_stream *secrets_stream_new(struct secrets_ruleset *rs,
					  const struct secrets_upstream *up,
					  enum secrets_stream_kind kind);
/*
 * Feeds bytes; output goes to emit and lags the input by less than the longest pattern (a
 * placeholder or value split across feeds is still found). -EACCES when the verdict turned to
 * SECRETS_BLOCK (nothing more is emitted; abort the message), or the emit callback's value.
 */
int secrets_stream_feed(struct secrets_stream *s, const void *data, size_t len,
			secrets_emit_fn emit, void *arg);
/* End of input: flushes the held-back bytes. */
int secrets_stream_finish(struct secrets_stream *s, secrets_emit_fn emit, void *arg);
const struct secrets_verdict *secrets_stream_verdict(const struct secrets_stream *s);
uint64_t secrets_stream_redacted(const struct secrets_stream *s);
void secrets_stream_free(struct secrets_stream *s);

/*
 * Response header values (or the whole header block): one-shot redaction. *out is NULL when
 * nothing was found; *redacted gets the rules found. 0 or -ENOMEM.
 */
int secrets_redact(const struct secrets_ruleset *rs, const char *in, size_t len, char **out,
		   size_t *out_len, uint64_t *redacted);

/*
 * A rule with a stored value binds host (canonical) in its inject_to: what comes back from that
 * host may carry the value whatever the request carried, so the proxy redacts all of it. Hosts
 * no rule binds never receive a value (the known-value matcher refuses it) and skip redaction.
 */
bool secrets_host_bound(const struct secrets_ruleset *rs, const char *host);

/*
 * May a request that follows this redirect carry a secret bound to `from`? Only when the
 * Location is relative or names the same scheme, host and port; never to another host.
 */
bool secrets_redirect_may_carry(const struct secrets_upstream *from, const char *location,
				size_t len);

#endif
