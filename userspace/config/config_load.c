// SPDX-License-Identifier: GPL-2.0-only
/*
 * cage.yaml → struct cage_config_file: the public entry points, defaults, the top-level key table
 * and the small top-level sections. Either the whole file is valid and a config is returned, or
 * the first error is reported and everything built so far is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/config_internal.h"

/* A cage.yaml is a page or two; anything this big is a mistake, not a config. */
#define CONFIG_MAX_BYTES (1024 * 1024)

static int parse_name(struct loader *ld, const struct ynode *v, void *ctx)
{
	if (v->kind != YNODE_SCALAR || ynode_is_null(v))
		return cfg_fail(ld, v, "expected a string, got %s", ynode_kind_name(v));
	if (strlen(v->text) != v->len || !cage_name_valid(v->text))
		return cfg_fail(ld, v, "must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, "
			        "digits and '-', at most 63)");
	memcpy(ld->cfg->name, v->text, v->len + 1);
	return 0;
}

static int parse_isolation(struct loader *ld, const struct ynode *v, void *ctx)
{
	/* The last two are agentcage's spellings of the same backends. */
	static const char *const names[] = { "auto", "linux", "lima", "apple-container",
					     "container", "vm" };
	static const enum cage_isolation values[] = { ISOLATION_AUTO, ISOLATION_LINUX, ISOLATION_LIMA,
						      ISOLATION_APPLE_CONTAINER, ISOLATION_LINUX,
						      ISOLATION_LIMA };
	int index;
	int err = cfg_enum(ld, v, names, 6, &index);

	if (!err)
		ld->cfg->isolation = values[index];
	return err;
}

static int parse_ephemeral(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_claim(ld, FIELD_EPHEMERAL, v) ?: cfg_bool(ld, v, &ld->cfg->ephemeral);
}

static int parse_ipv6(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_bool(ld, v, &ld->cfg->ipv6);
}

static int parse_pool4(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_cidr(ld, v, AF_INET, 30, &ld->cfg->pool4);
}

static int parse_pool6(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_cidr(ld, v, AF_INET6, 64, &ld->cfg->pool6);
}

int cfg_parse_network(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = {
		{ "pool4", parse_pool4, NULL },
		{ "pool6", parse_pool6, NULL },
	};

	return cfg_walk_map(ld, v, keys, 2, NULL);
}

static int parse_log_level(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const char *const names[] = { "debug", "info", "warning", "error", "critical" };
	int index;
	int err = cfg_enum(ld, v, names, 5, &index);

	if (!err)
		ld->cfg->log_level = (enum cage_severity)index;
	return err;
}

static int parse_log_max_size(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_size(ld, v, &ld->cfg->log_max_bytes);
}

static int parse_dns_queries(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_claim(ld, FIELD_DNS_LOG_ALLOWED, v) ?: cfg_bool(ld, v, &ld->cfg->dns_log_allowed);
}

int cfg_parse_logging(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = {
		{ "level", parse_log_level, NULL },
		{ "max_size", parse_log_max_size, NULL },
		{ "dns_queries", parse_dns_queries, NULL },
		{ "proxy_connections", NULL, "agentcage key: cagectl logs every proxied connection in "
					     "the audit log; ignored" },
		{ "allowed_requests", NULL, "agentcage key: cagectl logs allowed requests in the audit "
					    "log; ignored" },
	};

	return cfg_walk_map(ld, v, keys, 5, NULL);
}

static int parse_capture_enable(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_claim(ld, FIELD_CAPTURE, v) ?: cfg_bool(ld, v, &ld->cfg->capture);
}

static int parse_capture_max_body(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_claim(ld, FIELD_CAPTURE_MAX_BODY, v) ?: cfg_size(ld, v, &ld->cfg->capture_max_body);
}

int cfg_parse_capture(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = {
		{ "enable", parse_capture_enable, NULL },
		{ "max_body_size", parse_capture_max_body, NULL },
		{ "enable_har", parse_capture_enable, NULL },
		{ "max_file_size", NULL, "agentcage key: the capture rotates with logging.max_size; "
					 "ignored" },
		{ "min_action", NULL, "agentcage key: cagectl captures every decision; ignored" },
		{ "domains", NULL, "agentcage key: cagectl captures every domain; ignored" },
		{ "exclude_domains", NULL, "agentcage key: cagectl captures every domain; ignored" },
	};

	return cfg_walk_map(ld, v, keys, 7, NULL);
}

static int parse_proxy_port(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_port(ld, v, &ld->cfg->proxy_port);
}

static int parse_explicit_port(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_port(ld, v, &ld->cfg->explicit_port);
}

static int parse_upstream_ca(struct loader *ld, const struct ynode *v, void *ctx)
{
	int err = cfg_string(ld, v, &ld->cfg->upstream_ca);

	if (!err && ld->cfg->upstream_ca[0] != '/')
		return cfg_fail(ld, v, "must be an absolute path to a PEM file");
	return err;
}

/* A duration, or off (also false, 0): the proxy then never exits on its own. */
static int parse_idle_exit(struct loader *ld, const struct ynode *v, void *ctx)
{
	int64_t seconds;
	int err;

	if (v->kind == YNODE_SCALAR && (!strcmp(v->text, "off") || !strcmp(v->text, "false") ||
					!strcmp(v->text, "0"))) {
		ld->cfg->proxy_idle_exit = 0;
		return 0;
	}
	err = cfg_duration(ld, v, &seconds);
	if (err)
		return err;
	if (seconds > 7 * 86400)
		return cfg_fail(ld, v, "idle_exit is at most 1w (or off), got '%.40s'", v->text);
	ld->cfg->proxy_idle_exit = (uint32_t)seconds;
	return 0;
}

static int parse_proxy(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = {
		{ "port", parse_proxy_port, NULL },
		{ "explicit_port", parse_explicit_port, NULL },
		{ "upstream_ca", parse_upstream_ca, NULL },
		{ "idle_exit", parse_idle_exit, NULL },
	};
	int err = cfg_walk_map(ld, v, keys, 4, NULL);

	if (!err && ld->cfg->proxy_port == ld->cfg->explicit_port)
		return cfg_fail(ld, v, "port and explicit_port must differ (both %u)", ld->cfg->proxy_port);
	return err;
}

static const struct key_spec root_keys[] = {
	{ "name", parse_name, NULL },
	{ "isolation", parse_isolation, NULL },
	{ "ephemeral", parse_ephemeral, NULL },
	{ "user", cfg_parse_user, NULL },
	{ "command", cfg_parse_command, NULL },
	{ "workdir", cfg_parse_workdir, NULL },
	{ "env", cfg_parse_env, NULL },
	{ "mounts", cfg_parse_mounts, NULL },
	{ "exec_aliases", cfg_parse_exec_aliases, NULL },
	{ "domains", cfg_parse_domains, NULL },
	{ "ports", cfg_parse_ports, NULL },
	{ "ipv6", parse_ipv6, NULL },
	{ "network", cfg_parse_network, NULL },
	{ "dns", cfg_parse_dns, NULL },
	{ "secrets", cfg_parse_secrets, NULL },
	{ "inspectors", cfg_parse_inspectors, NULL },
	{ "logging", cfg_parse_logging, NULL },
	{ "capture", cfg_parse_capture, NULL },
	{ "resources", cfg_parse_resources, NULL },
	{ "proxy", parse_proxy, NULL },
	/* agentcage keys with a cagectl meaning */
	{ "container", cfg_parse_container, NULL },
	{ "lifecycle", cfg_parse_lifecycle, NULL },
	{ "dns_servers", cfg_parse_dns_upstream, NULL },
	{ "secret_injection", cfg_parse_secret_injection, NULL },
	{ "vm", cfg_parse_vm, NULL },
	{ "entropy", cfg_parse_entropy, NULL },
	/* agentcage keys that cannot apply here */
	{ "scaffold", NULL, "agentcage key: scaffolds are chosen with 'cagectl init --scaffold'; "
			    "ignored" },
	{ "help", NULL, "agentcage key: cagectl has no per-cage help text; ignored" },
	{ "apple_container_autostart", NULL, "agentcage key: use the cagectl@.service unit to start "
					     "cages at boot; ignored" },
	{ "agents", NULL, "agentcage key: the LLM decider and watcher do not exist in cagectl; "
			  "ignored" },
	{ "protocol_relays", NULL, "agentcage key: IMAP/SMTP relays do not exist in cagectl; "
				   "ignored" },
	{ "max_request_body", NULL, "agentcage key: set max_bytes in the body_size inspector's "
				    "config instead; ignored" },
};

static void set_defaults(struct cage_config_file *cfg)
{
	cfg->isolation = ISOLATION_AUTO;
	cfg->uid = 1000;
	cfg->gid = 1000;
	cfg->ipv6 = true;
	cfg->dns_deny = DNS_DENY_NXDOMAIN;
	cfg->dns_rate_limit = 200;
	cfg->dns_label_max = 63;
	cfg->log_level = SEVERITY_INFO;
	cfg->log_max_bytes = 64ull << 20;
	cfg->capture_max_body = 64ull << 10;
	cfg->proxy_port = 15001;
	cfg->explicit_port = 3128;
	cfg->proxy_idle_exit = 300;
}

/* Ports default to 80 and 443 only when neither spelling (inspect, agentcage's allow) set them. */
static int apply_late_defaults(struct loader *ld)
{
	static const uint16_t tcp_default[] = { 80, 443 };
	struct cage_config_file *cfg = ld->cfg;

	if (!ld->set_by[FIELD_TCP_INSPECT][0]) {
		for (size_t i = 0; i < 2; i++) {
			bool passthrough = false;
			uint16_t *slot;

			for (size_t j = 0; j < cfg->tcp_passthrough.n; j++)
				passthrough |= cfg->tcp_passthrough.v[j] == tcp_default[i];
			if (passthrough)
				continue;
			slot = cfg_grow(&cfg->tcp_inspect.v, &cfg->tcp_inspect.n, sizeof(uint16_t));
			if (!slot)
				return -ENOMEM;
			*slot = tcp_default[i];
		}
	}
	return 0;
}

int cfg_parse_root(struct loader *ld, const struct ynode *root)
{
	int err;

	if (ynode_is_null(root))
		return cfg_fail(ld, root, "file is empty; a cage needs at least 'name:'");
	if (root->kind != YNODE_MAPPING)
		return cfg_fail(ld, root, "expected a mapping of keys at the top level, got %s",
				ynode_kind_name(root));
	err = cfg_walk_map(ld, root, root_keys, sizeof(root_keys) / sizeof(root_keys[0]), NULL);
	if (err)
		return err;
	if (!ld->cfg->name[0]) {
		cfg_push_key(ld, "name");
		return cfg_fail(ld, root, "required key is missing");
	}
	return apply_late_defaults(ld);
}

int cage_config_parse(const char *name, const char *buf, size_t len, struct cage_config_file **out,
		      struct cage_config_diag *diag, cage_config_warn_fn warn, void *warn_arg)
{
	struct loader ld = { .file = name ? name : "<config>", .diag = diag, .warn = warn,
			     .warn_arg = warn_arg, .now = (int64_t)time(NULL) };
	struct cage_config_file *cfg;
	struct ynode *root;
	int err;

	if (diag)
		memset(diag, 0, sizeof(*diag));
	err = ynode_parse(ld.file, buf, len, &root, diag);
	if (err)
		return err;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		err = -ENOMEM;
		goto out_free_tree;
	}
	set_defaults(cfg);
	cfg->path = strdup(ld.file);
	if (!cfg->path) {
		err = -ENOMEM;
		goto err_free_cfg;
	}
	ld.cfg = cfg;
	err = cfg_parse_root(&ld, root);
	if (err)
		goto err_free_cfg;
	*out = cfg;
	goto out_free_tree;

err_free_cfg:
	cage_config_free(cfg);
out_free_tree:
	ynode_free(root);
	return err;
}

/* Relative mount sources mean "next to cage.yaml", as a compose file's do. */
static int resolve_mount_sources(struct cage_config_file *cfg, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dir_len = slash ? (size_t)(slash - path) : 0;

	for (size_t i = 0; i < cfg->n_mounts; i++) {
		char *src = cfg->mounts[i].source, *joined;

		if (src[0] == '/')
			continue;
		if (!slash) {
			joined = realpath(".", NULL);
			if (!joined)
				return -errno;
		} else {
			joined = strndup(path, dir_len ? dir_len : 1);
			if (!joined)
				return -ENOMEM;
		}
		if (strcmp(src, ".") != 0) {
			char *full;
			const char *rest = strncmp(src, "./", 2) == 0 ? src + 2 : src;

			if (asprintf(&full, "%s/%s", joined, rest) < 0) {
				free(joined);
				return -ENOMEM;
			}
			free(joined);
			joined = full;
		}
		free(src);
		cfg->mounts[i].source = joined;
	}
	return 0;
}

static int load_file(const char *path, const char *origin, struct cage_config_file **out,
		     struct cage_config_diag *diag, cage_config_warn_fn warn, void *warn_arg)
{
	struct cage_config_file *cfg = NULL;
	struct stat st;
	char *buf = NULL;
	size_t used = 0;
	ssize_t got;
	int fd, err;

	if (diag)
		memset(diag, 0, sizeof(*diag));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		cfg_diag_set(diag, path, 0, 0, "", "cannot open: %s", strerror(-err));
		return err;
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
		cfg_diag_set(diag, path, 0, 0, "", "cannot stat: %s", strerror(-err));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		err = -EINVAL;
		cfg_diag_set(diag, path, 0, 0, "", S_ISREG(st.st_mode) ? "file is larger than 1 MiB" :
					     "not a regular file");
		goto out_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out_close;
	}
	while (used < (size_t)st.st_size) {
		got = read(fd, buf + used, (size_t)st.st_size - used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			cfg_diag_set(diag, path, 0, 0, "", "cannot read: %s", strerror(-err));
			goto out_free_buf;
		}
		if (got == 0)
			break;
		used += (size_t)got;
	}
	err = cage_config_parse(path, buf, used, &cfg, diag, warn, warn_arg);
	if (err)
		goto out_free_buf;
	err = resolve_mount_sources(cfg, origin);
	if (err) {
		cfg_diag_set(diag, path, 0, 0, "mounts", "cannot resolve a relative source: %s",
			     strerror(-err));
		cage_config_free(cfg);
		goto out_free_buf;
	}
	*out = cfg;
out_free_buf:
	free(buf);
out_close:
	close(fd);
	return err;
}

int cage_config_load(const char *path, struct cage_config_file **out,
		     struct cage_config_diag *diag, cage_config_warn_fn warn, void *warn_arg)
{
	return load_file(path, path, out, diag, warn, warn_arg);
}

int cage_config_load_copy(const char *copy, const char *origin, struct cage_config_file **out,
			  struct cage_config_diag *diag, cage_config_warn_fn warn, void *warn_arg)
{
	return load_file(copy, origin && origin[0] ? origin : copy, out, diag, warn, warn_arg);
}

static void env_free(struct cage_env_var *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

void cage_config_free(struct cage_config_file *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	strv_free(&cfg->command);
	env_free(cfg->env, cfg->n_env);
	free(cfg->workdir);
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		free(cfg->mounts[i].source);
		free(cfg->mounts[i].target);
	}
	free(cfg->mounts);
	env_free(cfg->exec_aliases, cfg->n_exec_aliases);
	domain_list_free(&cfg->allow);
	domain_list_free(&cfg->block);
	domain_list_free(&cfg->passthrough);
	free(cfg->tcp_inspect.v);
	free(cfg->tcp_passthrough.v);
	free(cfg->udp.v);
	free(cfg->pool4);
	free(cfg->upstream_ca);
	free(cfg->pool6);
	strv_free(&cfg->dns_upstream);
	free(cfg->dns_sinkhole4);
	free(cfg->dns_sinkhole6);
	for (size_t i = 0; i < cfg->n_secrets; i++) {
		free(cfg->secrets[i].name);
		strv_free(&cfg->secrets[i].inject_to);
		strv_free(&cfg->secrets[i].inject_headers);
		free(cfg->secrets[i].placeholder);
	}
	free(cfg->secrets);
	for (size_t i = 0; i < cfg->n_inspectors; i++) {
		free(cfg->inspectors[i].name);
		free(cfg->inspectors[i].config_yaml);
	}
	free(cfg->inspectors);
	free(cfg);
}
