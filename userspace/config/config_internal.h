/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to userspace/config: the YAML node tree the loader walks, the loader state that carries
 * the dotted key path and the first error, and the value parsers the section files share.
 */
#ifndef CAGE_CONFIG_INTERNAL_H
#define CAGE_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Deeper documents are refused so a hostile file cannot exhaust the stack of the recursive walk. */
#define YNODE_MAX_DEPTH 64

enum ynode_kind {
	YNODE_SCALAR,
	YNODE_SEQUENCE,
	YNODE_MAPPING,
};

struct ynode {
	enum ynode_kind kind;
	unsigned line, column;  /* 1-based, from the libyaml start mark */
	char *text;             /* scalars: NUL-terminated value */
	size_t len;             /* scalars: bytes in text (a \0 escape makes it differ from strlen) */
	bool quoted;            /* scalars: quoted or block style, or tagged !!str: never a number */
	struct ynode **items;   /* sequence: the items; mapping: key, value, key, value, ... */
	size_t n_items;
};

/* 0, or -EINVAL with diag filled (syntax error, alias, too deep, empty input). */
int ynode_parse(const char *file, const char *buf, size_t len, struct ynode **root,
		struct cage_config_diag *diag);
void ynode_free(struct ynode *node);
bool ynode_is_null(const struct ynode *node);
const char *ynode_kind_name(const struct ynode *node);
/* Re-serialises a node as a YAML document into a malloc'd string; NULL on allocation failure. */
char *ynode_emit(const struct ynode *node);

/* Fields two spellings can set (cagectl's key and agentcage's); the second one is an error. */
enum cfg_field {
	FIELD_COMMAND,
	FIELD_USER,
	FIELD_WORKDIR,
	FIELD_MEMORY,
	FIELD_CPUS,
	FIELD_DNS_UPSTREAM,
	FIELD_DNS_LOG_ALLOWED,
	FIELD_EPHEMERAL,
	FIELD_CAPTURE,
	FIELD_CAPTURE_MAX_BODY,
	FIELD_TCP_INSPECT,
	FIELD_TCP_PASSTHROUGH,
	FIELD_UDP,
	FIELD_ICMP,
	FIELD_COUNT,
};

struct loader {
	const char *file;
	struct cage_config_diag *diag;
	cage_config_warn_fn warn;
	void *warn_arg;
	struct cage_config_file *cfg;
	int64_t now;                      /* for expires_in */
	char path[256];                   /* dotted key path of the node being read */
	size_t path_len;
	char set_by[FIELD_COUNT][96];     /* "key (line N)" of the key that set each field */
	bool body_size_inspector_seen;
};

/* One key of a mapping: either parsed by `parse`, or an agentcage key that cannot apply here. */
struct key_spec {
	const char *key;
	int (*parse)(struct loader *ld, const struct ynode *value, void *ctx);
	const char *ignored_why;  /* non-NULL: warn once with this text and skip the value */
};

/* Fills diag (first error wins is the caller's job: it stops at the first failure). */
__attribute__((format(printf, 6, 0)))
void cfg_diag_vset(struct cage_config_diag *diag, const char *file, unsigned line, unsigned column,
		   const char *key, const char *fmt, va_list ap);
__attribute__((format(printf, 6, 7)))
void cfg_diag_set(struct cage_config_diag *diag, const char *file, unsigned line, unsigned column,
		  const char *key, const char *fmt, ...);
__attribute__((format(printf, 3, 4)))
int cfg_fail(struct loader *ld, const struct ynode *at, const char *fmt, ...);
__attribute__((format(printf, 3, 4)))
void cfg_warn(struct loader *ld, const struct ynode *at, const char *fmt, ...);
/* Path segments: ".key" (or "key" at the top) and "[i]"; pop restores a saved length. */
size_t cfg_push_key(struct loader *ld, const char *key);
size_t cfg_push_index(struct loader *ld, size_t index);
void cfg_pop(struct loader *ld, size_t saved);
/* Walks a mapping (null = empty) against spec: unknown keys fail with the nearest valid key. */
int cfg_walk_map(struct loader *ld, const struct ynode *map, const struct key_spec *spec,
		 size_t n_spec, void *ctx);
/* Fails on a key that appears twice in a mapping. */
int cfg_check_duplicates(struct loader *ld, const struct ynode *map);
/* Records that `at` set `field`; fails when another key already set it. */
int cfg_claim(struct loader *ld, enum cfg_field field, const struct ynode *at);

/* The nearest candidate by edit distance when it is close enough to be a typo, else NULL. */
const char *cfg_suggest(const char *word, const char *const *candidates, size_t n);

/* Typed readers: each fails with a message naming what was expected. */
int cfg_string(struct loader *ld, const struct ynode *v, char **out);
int cfg_bool(struct loader *ld, const struct ynode *v, bool *out);
int cfg_uint(struct loader *ld, const struct ynode *v, uint64_t min, uint64_t max, uint64_t *out);
int cfg_port(struct loader *ld, const struct ynode *v, uint16_t *out);
int cfg_port_list(struct loader *ld, const struct ynode *v, struct cage_port_list *out);
int cfg_size(struct loader *ld, const struct ynode *v, uint64_t *out);
int cfg_duration(struct loader *ld, const struct ynode *v, int64_t *seconds);
int cfg_timestamp(struct loader *ld, const struct ynode *v, int64_t *unix_seconds);
int cfg_cpus(struct loader *ld, const struct ynode *v, uint32_t *milli);
int cfg_enum(struct loader *ld, const struct ynode *v, const char *const *names, size_t n, int *out);
int cfg_string_list(struct loader *ld, const struct ynode *v, struct cage_strv *out);
int cfg_ip_address(struct loader *ld, const struct ynode *v, int family, char **out);
int cfg_cidr(struct loader *ld, const struct ynode *v, int family, unsigned max_prefix, char **out);
bool cfg_env_name_valid(const char *name);
int strv_push(struct cage_strv *sv, const char *s);
void strv_free(struct cage_strv *sv);
/* Grows *v (of *n elements of `size` bytes) by one zeroed element; NULL on allocation failure. */
void *cfg_grow(void *v_ptr, size_t *n, size_t size);

/*
 * Domain patterns: canonical form into `out` (CAGE_DOMAIN_MAX + 1 bytes); on failure a message
 * for the user in `why`. The message never repeats the input beyond what is needed.
 */
#define CAGE_DOMAIN_MAX 253
int config_domain_pattern(const char *in, char *out, const char **why);
int cfg_domain_list(struct loader *ld, const struct ynode *v, struct cage_domain_list *out);
int cfg_domain_strv(struct loader *ld, const struct ynode *v, struct cage_strv *out);
void domain_list_free(struct cage_domain_list *list);

/* Sections, one file each. */
int cfg_parse_root(struct loader *ld, const struct ynode *root);
int cfg_parse_user(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_command(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_workdir(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_env(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_mounts(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_exec_aliases(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_resources(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_memory(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_cpus(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_domains(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_ports(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_network(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_dns(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_dns_upstream(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_secrets(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_secret_injection(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_inspectors(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_entropy(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_logging(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_capture(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_container(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_lifecycle(struct loader *ld, const struct ynode *v, void *ctx);
int cfg_parse_vm(struct loader *ld, const struct ynode *v, void *ctx);

#endif
