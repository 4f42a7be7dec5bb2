/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cage.yaml → struct cage_config_file. The whole schema is typed here, including keys whose
 * behaviour later modules add; docs/cage-yaml.md documents every key. A config is either
 * loaded whole and valid, or not at all: cage_config_load() never hands out a partial one.
 */
#ifndef CAGE_CONFIG_H
#define CAGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAGE_NAME_MAX 63

enum cage_isolation {
	ISOLATION_AUTO = 0,  /* linux on Linux */
	ISOLATION_LINUX,
	ISOLATION_LIMA,
	ISOLATION_APPLE_CONTAINER,
};

enum cage_dns_deny {
	DNS_DENY_NXDOMAIN = 0,
	DNS_DENY_REFUSED,
	DNS_DENY_SINKHOLE,
};

enum cage_severity {
	SEVERITY_DEBUG = 0,
	SEVERITY_INFO,
	SEVERITY_WARNING,
	SEVERITY_ERROR,
	SEVERITY_CRITICAL,
};

struct cage_strv {
	char **v;
	size_t n;
};

struct cage_env_var {
	char *name;
	char *value;
};

/* A domain pattern: "example.com" (itself and every subdomain), "*.example.com" (subdomains only). */
struct cage_domain {
	char *pattern;       /* canonical: lower case, no trailing dot, A-labels */
	int64_t expires_at;  /* unix seconds; 0 = never */
};

struct cage_domain_list {
	struct cage_domain *v;
	size_t n;
};

struct cage_port_list {
	uint16_t *v;
	size_t n;
};

struct cage_mount {
	char *source;
	char *target;
	bool read_only;
};

struct cage_secret_rule {
	char *name;                 /* env var name the workload sees, e.g. GITHUB_TOKEN */
	struct cage_strv inject_to; /* domain patterns; empty = never injected */
	struct cage_strv inject_headers;
	bool inject_body;           /* also URL, query, all headers, body, WebSocket frames */
	char *placeholder;          /* NULL = generated */
};

struct cage_inspector {
	char *name;       /* domain, secrets, body_size, entropy, content_type, rate_limit, custom:<so> */
	bool enabled;
	char *config_yaml; /* the raw mapping, re-serialised, for the inspector to parse */
};

struct cage_config_file {
	char *path;                  /* file it came from, for messages */
	char name[CAGE_NAME_MAX + 1];
	enum cage_isolation isolation;
	bool ephemeral;

	/* workload */
	uint32_t uid, gid;           /* default 1000:1000 */
	struct cage_strv command;    /* default: none (cagectl exec/shell) */
	struct cage_env_var *env;
	size_t n_env;
	char *workdir;
	struct cage_mount *mounts;
	size_t n_mounts;
	struct cage_env_var *exec_aliases; /* alias → command line */
	size_t n_exec_aliases;

	/* egress policy */
	struct cage_domain_list allow, block, passthrough;
	struct cage_port_list tcp_inspect;      /* default 80, 443 */
	struct cage_port_list tcp_passthrough;
	struct cage_port_list udp;              /* must be empty on the linux backend for now */
	bool icmp;                              /* must be false on the linux backend for now */
	bool ipv6;                              /* default true */

	/* addresses (pool overrides; 0/empty = defaults) */
	char *pool4;                            /* default 10.200.0.0/16, one /30 per cage */
	char *pool6;                            /* default fd00:200::/48, one /64 per cage */

	/* dns */
	struct cage_strv dns_upstream;          /* empty = the host's resolv.conf */
	enum cage_dns_deny dns_deny;
	char *dns_sinkhole4, *dns_sinkhole6;
	bool dns_log_allowed;
	uint32_t dns_rate_limit;                /* queries per second; default 200 */
	uint32_t dns_label_max;                 /* label length that is blocked; default 63 (off) */

	/* secrets and inspection */
	struct cage_secret_rule *secrets;
	size_t n_secrets;
	struct cage_inspector *inspectors;
	size_t n_inspectors;

	/* logging and capture */
	enum cage_severity log_level;
	uint64_t log_max_bytes;                 /* rotate at; default 64 MiB */
	bool capture;
	uint64_t capture_max_body;              /* default 64 KiB */

	/* resources (cgroup v2 controllers; a warning where a controller is not enabled) */
	uint64_t memory_max;                    /* bytes; 0 = unlimited */
	uint32_t pids_max;                      /* 0 = unlimited */
	uint32_t cpus_milli;                    /* 1000 = one core; 0 = unlimited */

	/* proxy */
	uint16_t proxy_port;                    /* transparent; default 15001 */
	uint16_t explicit_port;                 /* default 3128 */
	char *upstream_ca;                      /* extra PEM trusted for upstream TLS, or NULL */
	uint32_t proxy_idle_exit;               /* seconds without a connection before cage-proxy
						 * exits (the monitor starts it again on the next
						 * one); default 300; 0 = off */
};

/*
 * An error (or warning) with its place. `line`/`column` are 1-based; 0 when not known
 * (e.g. the file cannot be opened).
 */
struct cage_config_diag {
	char file[256];
	unsigned line, column;
	char key[128];      /* dotted path of the key, e.g. "domains.allow[2]" */
	char message[384];  /* lower case, names the problem; "did you mean 'x'?" included */
};

/* Called once per warning (keys that do not apply on this backend, etc.). */
typedef void (*cage_config_warn_fn)(const struct cage_config_diag *diag, void *arg);

/* Loads and validates. 0 on success; -EINVAL (diag filled) or another -errno. On failure *out is untouched. */
int cage_config_load(const char *path, struct cage_config_file **out,
		     struct cage_config_diag *diag, cage_config_warn_fn warn, void *warn_arg);
/*
 * Loads the copy of a config that `up` keeps in the cage's state dir, resolving relative mount
 * sources against the directory of `origin`, the file the user wrote.
 */
int cage_config_load_copy(const char *copy, const char *origin, struct cage_config_file **out,
			  struct cage_config_diag *diag, cage_config_warn_fn warn, void *warn_arg);
/* Same, from memory (for the fuzzer and tests); `name` labels messages. */
int cage_config_parse(const char *name, const char *buf, size_t len, struct cage_config_file **out,
		      struct cage_config_diag *diag, cage_config_warn_fn warn, void *warn_arg);
void cage_config_free(struct cage_config_file *cfg);

/* "file:line:column: key: message" into buf. */
void cage_config_diag_format(const struct cage_config_diag *diag, char *buf, size_t len);

bool cage_name_valid(const char *name);

#endif
