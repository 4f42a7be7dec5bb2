/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared between the files of userspace/inspect only: the parsed configuration, the scan
 * database, the scan-node tree and the session. The proxy uses inspect.h.
 */
#ifndef CAGE_INSPECT_INTERNAL_H
#define CAGE_INSPECT_INTERNAL_H

#include <hs/hs.h>
#include <pthread.h>
#include <stdatomic.h>

#include "inspect/content_decode.h"
#include "inspect/inspect.h"
#include "inspect/inspect_plugin.h"
#include "inspect/textdec.h"
#include "inspect/websocket.h"

struct domain_set;

/* A per-host override table: pattern i of set carries values[i]. */
struct host_table {
	struct domain_set *set;
	size_t n;
};

struct ctype_list {
	char **v;
	size_t n;
};

struct host_params {              /* signature parameters allowed per host (entropy) */
	char *host;
	struct ctype_list params;
};

struct extra_pattern {
	char *name;
	char *regex;
};

struct allow_entry {              /* secrets.allow_to_domains: rule name → host patterns */
	char *rule;
	struct ctype_list hosts;
};

struct plugin_slot {
	void *handle;
	const struct inspect_plugin *api;
	void *instance;
};

#define INSPECT_MAX_PLUGINS 8

struct inspect_conf {
	bool enabled[INSPECTOR_COUNT];
	struct domain_set *exempt_hosts[INSPECTOR_COUNT];

	/* domain */
	struct domain_set *allow, *block;

	/* secrets */
	enum inspect_action secrets_action;
	bool builtin_allow;
	struct extra_pattern *extra;
	size_t n_extra;
	struct allow_entry *allow_to;
	size_t n_allow_to;

	/* body_size (and decoding limits) */
	uint64_t max_body;
	struct host_table host_max_body;
	uint64_t *host_max_body_v;
	uint64_t max_header_bytes;
	uint64_t max_inflate;
	uint32_t inflate_ratio;
	uint64_t max_ws_message;

	/* entropy */
	double body_threshold, url_threshold;
	uint32_t min_body, min_url;
	enum inspect_action entropy_action;
	struct ctype_list entropy_exempt_ct;
	struct host_params *sig_params;
	size_t n_sig_params;
	/* split across requests (split.c): short values per host within a window */
	uint32_t split_budget;            /* random bytes to one host that flag; 0 = off */
	double split_window;              /* seconds a value counts */
	uint32_t split_min;               /* shorter values are not counted */
	enum inspect_action split_action;

	/* content_type */
	double ct_ceiling;
	bool detect_base64;
	uint32_t base64_min;
	enum inspect_action ct_action;

	/* rate_limit */
	double rate, burst;
	struct host_table host_rate;
	double *host_rate_v, *host_burst_v;

	/* custom */
	struct plugin_slot plugins[INSPECT_MAX_PLUGINS];
	size_t n_plugins;
};

int inspect_conf_load(struct inspect_conf *conf, const struct cage_config_file *cfg,
		      const struct inspect_options *opt, char *err, size_t errlen);
void inspect_conf_free(struct inspect_conf *conf);
bool ctype_list_has_prefix(const struct ctype_list *l, const char *ctype);
/* Value of the most specific host_table entry matching host, or -1. */
long host_table_lookup(const struct host_table *t, const char *host);

/* Scan database: built-in patterns, extra patterns, known values; pattern id = rule index. */
struct scan_rule {
	char name[64];
	enum inspect_action action;
	enum inspect_severity severity;
	struct domain_set *exempt;        /* hosts where the rule does not fire */
	bool known;                       /* a known secret value */
	bool bind_anywhere;               /* inject_body: any location on the bound hosts */
	char **bind_headers;              /* lower-case header names it is injected into */
	size_t n_bind_headers;
};

struct scan_db {
	atomic_int refs;
	hs_database_t *hs;
	struct scan_rule *rules;
	size_t n_rules;
};

int scan_db_build(const struct inspect_conf *conf, const struct cage_config_file *cfg,
		  const char *const *known, size_t n_known, struct scan_db **out,
		  char *err, size_t errlen);
struct scan_db *scan_db_get(struct scan_db *db);
void scan_db_put(struct scan_db *db);

/* The built-in families (patterns.c). */
struct secret_family {
	const char *name;
	const char *regex;
	enum inspect_action action;      /* default when the secrets action is block */
	const char *domains[4];
};
extern const struct secret_family secret_families[];
extern const size_t secret_family_count;

/*
 * A scan node is one Vectorscan stream plus, below depth 2, a detector for base64 / hex /
 * base32 runs that decodes them as they stream by into child nodes (depth + 1).
 */
#define SCAN_MAX_DEPTH 2
#define SCAN_RUN_MIN 16

enum run_codec { RUN_BASE64, RUN_HEX, RUN_BASE32, RUN_CODECS };
#define RUN_OUT_BYTES 4096

struct scan_node;

struct run_decoder {
	uint32_t acc;
	uint8_t bits;
	bool live;
	size_t olen;
	uint8_t *out;                /* RUN_OUT_BYTES on their way to the child stream,
	                              * allocated when the codec first runs */
	struct scan_node *child;
};

struct scan_node {
	struct inspect_session *s;
	hs_stream_t *hs;
	unsigned depth;
	char decoders[40];
	uint32_t run_len;            /* chars in the current run */
	uint32_t max_run;            /* longest base64-alphabet run since reset, images aside */
	int8_t run_image;            /* the current run opens like a base64 image: 1 or 0,
	                              * -1 until a new longest run asks (scan.c) */
	uint8_t run_mask;            /* codecs still possible for this run */
	uint8_t pend[SCAN_RUN_MIN];
	struct run_decoder dec[RUN_CODECS];
	bool dirty;                  /* bytes went in since the last reset */
	bool measure_only;           /* runs measured (max_run), not decoded: the decoded views
	                              * took them over (scan.c, node_hand_over) */
};

struct scan_node *scan_node_new(struct inspect_session *s, unsigned depth, const char *decoders);
void scan_node_free(struct scan_node *n);
int scan_node_feed(struct scan_node *n, const uint8_t *data, size_t len);
/* End of a location: flush the decoders, report end-anchored matches, reset the streams. */
int scan_node_end(struct scan_node *n);

#define SCAN_VIEW_TAIL 512

/* Views over one location: raw bytes, percent-decoded, JSON-unescaped. */
struct scan_views {
	struct scan_node *raw, *pct, *json;
	bool use_pct, use_json;
	struct pct_decoder pctd;
	struct json_decoder jsond;
	/* A decoded view only differs from the raw one after its first escape byte: it starts
	 * there, replaying the raw tail before it so a secret that straddles the escape is
	 * whole in the view, and takes over the raw view's base64/hex/base32 run in progress
	 * so the run goes on through the escapes unbroken. Clean bodies cost one memchr per
	 * view. */
	bool pct_on, json_on;
	size_t tail_len;
	uint8_t tail[SCAN_VIEW_TAIL];
	uint8_t buf[4096];
	uint8_t *keep;                /* form bodies: buf with the literal '+' kept, for the
	                               * runs (sizeof(buf), allocated on first use) */
};

int scan_views_init(struct scan_views *v, struct inspect_session *s);
void scan_views_free(struct scan_views *v);
void scan_views_begin(struct scan_views *v, bool pct, bool plus_is_space, bool json);
int scan_views_feed(struct scan_views *v, const uint8_t *data, size_t len);
int scan_views_end(struct scan_views *v);

struct rate_bucket {
	char host[256];
	double tokens;
	double last;
	double rate, burst;            /* of the last take: when the bucket is full again */
};

/*
 * Split across requests (split.c): per destination host, the recent short query, path and
 * form values (those under the entropy length threshold), shared by every session of the
 * chain, bounded, aging out after split_window seconds.
 */
#define SPLIT_BUF 256                  /* bytes of recent values kept per host */
#define SPLIT_VALUES 64
#define SPLIT_HOSTS_MAX 1024
#define KNOWN_WINDOW 12                /* known values are matched as 12-byte windows */

struct split_table;

struct split_piece {
	const uint8_t *p;
	size_t len;
};

struct split_result {
	bool over_budget;              /* a run of recent values reached the budget, random */
	size_t len;                    /* bytes of recent values in buf, oldest first */
	size_t fresh;                  /* the last `fresh` bytes arrived with this request */
	uint8_t buf[SPLIT_BUF];
};

int split_table_new(struct split_table **out);
void split_table_free(struct split_table *t);
/* Records this request's pieces for host (exact repeats within the window are not counted
 * again) and fills out. entropy: judge the budget (the entropy inspector is on). */
void split_record(struct split_table *t, const struct inspect_conf *conf, const char *host,
		  const struct split_piece *pieces, size_t n, bool entropy, double now,
		  struct split_result *out);
double split_now(void);
/* No value recorded within split_window of now: the table judges as an empty one would. */
bool split_table_settled(struct split_table *t, const struct inspect_conf *conf, double now);
/* Every bucket has refilled to its burst by now: a fresh chain would grant the same. */
bool ratelimit_settled(struct inspect_chain *c, double now);

struct inspect_chain {
	atomic_int refs;               /* the creator's, plus one per live session */
	struct split_table *split;     /* own lock */
	struct inspect_conf conf;
	struct cage_config_file *bind; /* own copy of the secrets' bindings (chain_bind.c) */
	pthread_mutex_t lock;          /* db pointer swap and rate buckets */
	struct scan_db *db;
	struct rate_bucket *buckets;
	size_t n_buckets, cap_buckets;
};

struct ws_dir {
	struct ws_parser p;
	struct inflater *inf;          /* permessage-deflate, per direction */
	bool msg_compressed;
	bool msg_open;
};

struct inspect_session {
	struct inspect_chain *chain;
	struct scan_db *db;
	hs_scratch_t *scratch;
	struct inspect_verdict v;
	bool blocked;
	bool in_request;
	char host[256];
	char loc[72];
	const char *dec_prefix;        /* Content-Encoding name prepended to decoder chains */

	struct scan_views views;
	struct scan_views ctl_views;   /* WebSocket control frames, which interleave messages */
	struct scan_node *split_node;  /* recent short values of the host, concatenated */
	size_t split_skip;             /* matches ending at or before this offset are old */
	enum { SPLIT_PASS_PATTERNS, SPLIT_PASS_KNOWN } split_pass;
	bool loc_is_name;              /* scanning a header name, where nothing is ever bound */
	/* this message's short values for the split record (split.c) */
	bool split_on;
	size_t split_n, split_used;
	struct split_piece split_pc[16];
	uint8_t split_bytes[SPLIT_BUF + TEXTDEC_SLACK];
	char split_loc[8];
	bool scan_patterns;            /* secrets inspector on for this host */
	bool scan_active;              /* patterns, or known values to look for */
	bool ws_cur_client;

	/* per request */
	uint64_t wire_bytes, body_bytes, max_body;
	bool hist_on;                  /* an entropy check will read hist (session.c) */
	uint32_t hist[256];
	uint8_t magic[16];
	size_t magic_len;
	char ctype[96];
	bool ct_text, ct_binary, ct_form, ct_json, ct_multipart;
	bool entropy_exempt;
	/* form body values, checked like query values (entropy; row 71) */
	bool form_on, form_in_value, form_skip, form_entropy;
	size_t form_len, form_name_len;
	char form_name[64];
	uint8_t form_val[2048];
	struct inflater *inf;
	void *plugin_state[INSPECT_MAX_PLUGINS];

	/* WebSocket */
	bool ws;
	unsigned ws_flags;
	struct ws_dir wsd[2];          /* 0: from upstream, 1: from client */
	uint64_t ws_msg_bytes;
};

void session_finding(struct inspect_session *s, enum inspector_id who, enum inspect_action a,
		     enum inspect_severity sev, uint16_t status, const char *reason,
		     const char *rule, const char *decoders);
void session_rule_hit(struct inspect_session *s, unsigned rule_id, const char *decoders);
enum plugin_step { PS_START, PS_BODY, PS_END, PS_WS_CHUNK, PS_WS_END };
int session_plugins(struct inspect_session *s, enum plugin_step step, const void *req,
		    const uint8_t *data, size_t len);
int session_bind_db_public(struct inspect_session *s);
void session_set_loc(struct inspect_session *s, const char *loc);
bool session_inspector_on(const struct inspect_session *s, enum inspector_id id);

double shannon_entropy(const uint32_t hist[256], uint64_t total);
double shannon_entropy_bytes(const uint8_t *p, size_t len);
double shannon_entropy_short(const uint8_t *p, size_t len);
/* bits per character of a short value (URL and form values): see entropy.c */
double token_entropy(const uint8_t *p, size_t len);

/* Content type: magic-bytes check for declared binary types. */
enum ctype_magic { CTM_NOT_BINARY, CTM_MATCH, CTM_MISMATCH, CTM_UNKNOWN };
enum ctype_magic ctype_check_magic(const char *ctype, const uint8_t *p, size_t len);
bool ctype_is_text(const char *ctype);
/* p starts (after an optional data:image/...;base64, prefix) with base64 of an image
 * signature: PNG, JPEG, GIF or WebP/RIFF. */
bool ctype_base64_image(const uint8_t *p, size_t len);

int plugin_load(struct plugin_slot *slot, const char *path, const char *allowed_dir,
		const char *config_yaml, char *err, size_t errlen);
void plugin_unload(struct plugin_slot *slot);

bool ratelimit_take(struct inspect_chain *c, const char *host, double rate, double burst);

int chain_bind_copy(const struct cage_config_file *cfg, struct cage_config_file **out);

#endif
