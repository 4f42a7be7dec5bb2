// SPDX-License-Identifier: GPL-2.0-only
/* The workload keys: user, command, workdir, env, mounts, exec_aliases, resources. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

#define ID_MAX 4294967294ull  /* (uid_t)-1 means "no change" to the kernel */

static int parse_id_text(struct loader *ld, const struct ynode *v, const char *text, uint32_t *out)
{
	char *end;
	unsigned long long value;

	if (*text < '0' || *text > '9')
		goto bad;
	errno = 0;
	value = strtoull(text, &end, 10);
	if (*end || errno || value > ID_MAX)
		goto bad;
	*out = (uint32_t)value;
	return 0;
bad:
	return cfg_fail(ld, v, "expected numeric \"uid:gid\" such as \"1000:1000\", got '%.40s'",
			v->text);
}

struct user_ids {
	uint32_t uid, gid;
	bool has_gid;
};

static int parse_uid(struct loader *ld, const struct ynode *v, void *ctx)
{
	uint64_t id;
	int err = cfg_uint(ld, v, 0, ID_MAX, &id);

	((struct user_ids *)ctx)->uid = (uint32_t)id;
	return err;
}

static int parse_gid(struct loader *ld, const struct ynode *v, void *ctx)
{
	uint64_t id;
	int err = cfg_uint(ld, v, 0, ID_MAX, &id);

	((struct user_ids *)ctx)->gid = (uint32_t)id;
	((struct user_ids *)ctx)->has_gid = true;
	return err;
}

/* "1000:1000", "1000" (gid = uid), 1000, or {uid: 1000, gid: 1000}. */
int cfg_parse_user(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = {
		{ "uid", parse_uid, NULL },
		{ "gid", parse_gid, NULL },
	};
	struct user_ids ids = { .uid = 1000 };
	int err = cfg_claim(ld, FIELD_USER, v);

	if (err)
		return err;
	if (v->kind == YNODE_MAPPING) {
		err = cfg_walk_map(ld, v, keys, 2, &ids);
	} else if (v->kind == YNODE_SCALAR && !ynode_is_null(v) && strlen(v->text) == v->len) {
		char text[32];
		char *colon;

		snprintf(text, sizeof(text), "%s", v->text);
		colon = strchr(text, ':');
		if (colon)
			*colon = '\0';
		err = parse_id_text(ld, v, text, &ids.uid);
		if (!err && colon) {
			err = parse_id_text(ld, v, colon + 1, &ids.gid);
			ids.has_gid = true;
		}
	} else {
		err = cfg_fail(ld, v, "expected \"uid:gid\" or a mapping with uid and gid, got %s",
			       ynode_kind_name(v));
	}
	if (err)
		return err;
	ld->cfg->uid = ids.uid;
	ld->cfg->gid = ids.has_gid ? ids.gid : ids.uid;
	if (ld->cfg->uid == 0)
		cfg_warn(ld, v, "the workload runs as uid 0 (without capabilities)");
	return 0;
}

/* A string runs through /bin/sh -c; a list is the argv itself. */
int cfg_parse_command(struct loader *ld, const struct ynode *v, void *ctx)
{
	struct cage_strv *cmd = &ld->cfg->command;
	int err = cfg_claim(ld, FIELD_COMMAND, v);

	if (err)
		return err;
	if (v->kind == YNODE_SCALAR) {
		char *line;

		err = cfg_string(ld, v, &line);
		if (err)
			return err;
		if (!line[0])
			err = cfg_fail(ld, v, "command is empty");
		else
			err = strv_push(cmd, "/bin/sh") ?: strv_push(cmd, "-c") ?: strv_push(cmd, line);
		free(line);
		return err;
	}
	err = cfg_string_list(ld, v, cmd);
	if (!err && cmd->n == 0)
		return cfg_fail(ld, v, "command is an empty list");
	return err;
}

static int absolute_path(struct loader *ld, const struct ynode *v, char **out)
{
	int err = cfg_string(ld, v, out);

	if (!err && (*out)[0] != '/')
		return cfg_fail(ld, v, "must be an absolute path");
	return err;
}

int cfg_parse_workdir(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_claim(ld, FIELD_WORKDIR, v) ?: absolute_path(ld, v, &ld->cfg->workdir);
}

/* NAME: value; numbers and booleans keep their text. Values are never echoed: they may be tokens. */
int cfg_parse_env(struct loader *ld, const struct ynode *v, void *ctx)
{
	struct cage_config_file *cfg = ld->cfg;
	int err;

	if (ynode_is_null(v))
		return 0;
	if (v->kind != YNODE_MAPPING)
		return cfg_fail(ld, v, "expected a mapping of NAME: value, got %s", ynode_kind_name(v));
	err = cfg_check_duplicates(ld, v);
	if (err)
		return err;
	for (size_t i = 0; i + 1 < v->n_items; i += 2) {
		const struct ynode *key = v->items[i], *value = v->items[i + 1];
		size_t saved = cfg_push_key(ld, key->text);
		struct cage_env_var *var;

		if (!cfg_env_name_valid(key->text) || strlen(key->text) != key->len)
			return cfg_fail(ld, key, "not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)");
		for (size_t j = 0; j < cfg->n_env; j++)
			if (strcmp(cfg->env[j].name, key->text) == 0)
				return cfg_fail(ld, key, "variable is set twice");
		if (value->kind != YNODE_SCALAR)
			return cfg_fail(ld, value, "expected a string, got %s", ynode_kind_name(value));
		if (strlen(value->text) != value->len)
			return cfg_fail(ld, value, "contains a NUL byte");
		var = cfg_grow(&cfg->env, &cfg->n_env, sizeof(*var));
		if (!var)
			return -ENOMEM;
		var->name = strdup(key->text);
		var->value = strdup(ynode_is_null(value) ? "" : value->text);
		if (!var->name || !var->value)
			return -ENOMEM;
		cfg_pop(ld, saved);
	}
	return 0;
}

static int mount_options(struct loader *ld, const struct ynode *v, const char *opts, bool *ro)
{
	char buf[64];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", opts);
	for (char *opt = strtok_r(buf, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		if (strcmp(opt, "ro") == 0)
			*ro = true;
		else if (strcmp(opt, "rw") == 0)
			*ro = false;
		else if (strcmp(opt, "z") == 0 || strcmp(opt, "Z") == 0 || strcmp(opt, "U") == 0)
			cfg_warn(ld, v, "podman option '%s' does not apply to a cagectl bind mount; "
				 "ignored", opt);
		else
			return cfg_fail(ld, v, "unknown mount option '%.20s'; expected ro or rw", opt);
	}
	return 0;
}

/* "src:dst", "src:dst:ro" (agentcage's flags too) */
static int mount_from_string(struct loader *ld, const struct ynode *v, struct cage_mount *m)
{
	char *text, *dst, *opts;
	int err = cfg_string(ld, v, &text);

	if (err)
		return err;
	dst = strchr(text, ':');
	if (!dst || dst == text) {
		err = cfg_fail(ld, v, "expected \"source:target[:ro]\"");
		goto out_free;
	}
	*dst++ = '\0';
	opts = strchr(dst, ':');
	if (opts)
		*opts++ = '\0';
	if (opts) {
		err = mount_options(ld, v, opts, &m->read_only);
		if (err)
			goto out_free;
	}
	m->source = strdup(text);
	m->target = strdup(dst);
	if (!m->source || !m->target)
		err = -ENOMEM;
out_free:
	free(text);
	return err;
}

static int mount_source(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_string(ld, v, &((struct cage_mount *)ctx)->source);
}

static int mount_target(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_string(ld, v, &((struct cage_mount *)ctx)->target);
}

static int mount_read_only(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_bool(ld, v, &((struct cage_mount *)ctx)->read_only);
}

static int mount_entry(struct loader *ld, const struct ynode *v, struct cage_mount *m)
{
	static const struct key_spec keys[] = {
		{ "source", mount_source, NULL },
		{ "target", mount_target, NULL },
		{ "read_only", mount_read_only, NULL },
	};
	int err;

	if (v->kind == YNODE_SCALAR)
		err = mount_from_string(ld, v, m);
	else if (v->kind == YNODE_MAPPING)
		err = cfg_walk_map(ld, v, keys, 3, m);
	else
		err = cfg_fail(ld, v, "expected \"source:target[:ro]\" or a mapping, got %s",
			       ynode_kind_name(v));
	if (err)
		return err;
	if (!m->source || !m->source[0])
		return cfg_fail(ld, v, "mount needs a source");
	if (!m->target || m->target[0] != '/')
		return cfg_fail(ld, v, "mount target must be an absolute path");
	return 0;
}

int cfg_parse_mounts(struct loader *ld, const struct ynode *v, void *ctx)
{
	struct cage_config_file *cfg = ld->cfg;

	if (ynode_is_null(v))
		return 0;
	if (v->kind != YNODE_SEQUENCE)
		return cfg_fail(ld, v, "expected a list of mounts, got %s", ynode_kind_name(v));
	for (size_t i = 0; i < v->n_items; i++) {
		size_t saved = cfg_push_index(ld, i);
		struct cage_mount *m = cfg_grow(&cfg->mounts, &cfg->n_mounts, sizeof(*m));
		int err;

		if (!m)
			return -ENOMEM;
		err = mount_entry(ld, v->items[i], m);
		if (err)
			return err;
		for (size_t j = 0; j + 1 < cfg->n_mounts; j++)
			if (strcmp(cfg->mounts[j].target, m->target) == 0)
				return cfg_fail(ld, v->items[i], "target %.100s is mounted twice", m->target);
		cfg_pop(ld, saved);
	}
	return 0;
}

/* Joins an argv into one shell line, single-quoting what the shell would split or expand. */
static char *shell_join(const struct cage_strv *argv)
{
	size_t len = 1;
	char *line, *p;

	for (size_t i = 0; i < argv->n; i++)
		len += strlen(argv->v[i]) * 4 + 3;
	line = malloc(len);
	if (!line)
		return NULL;
	p = line;
	for (size_t i = 0; i < argv->n; i++) {
		const char *arg = argv->v[i];
		bool plain = arg[0] != '\0' &&
			     strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789-_./=:,+@%") == strlen(arg);

		if (i)
			*p++ = ' ';
		if (plain) {
			p = stpcpy(p, arg);
			continue;
		}
		*p++ = '\'';
		for (; *arg; arg++) {
			if (*arg == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *arg;
		}
		*p++ = '\'';
	}
	*p = '\0';
	return line;
}

/* alias: "command line", or agentcage's alias: [argv...] */
int cfg_parse_exec_aliases(struct loader *ld, const struct ynode *v, void *ctx)
{
	struct cage_config_file *cfg = ld->cfg;
	int err;

	if (ynode_is_null(v))
		return 0;
	if (v->kind != YNODE_MAPPING)
		return cfg_fail(ld, v, "expected a mapping of alias: command, got %s", ynode_kind_name(v));
	err = cfg_check_duplicates(ld, v);
	if (err)
		return err;
	for (size_t i = 0; i + 1 < v->n_items; i += 2) {
		const struct ynode *key = v->items[i], *value = v->items[i + 1];
		size_t saved = cfg_push_key(ld, key->text);
		struct cage_env_var *alias;
		char *line = NULL;

		if (!key->len || strlen(key->text) != key->len ||
		    strspn(key->text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
			    key->len)
			return cfg_fail(ld, key, "alias names take letters, digits, '-', '_' and '.'");
		if (value->kind == YNODE_SEQUENCE) {
			struct cage_strv argv = { 0 };

			err = cfg_string_list(ld, value, &argv);
			if (!err && argv.n == 0)
				err = cfg_fail(ld, value, "alias command is an empty list");
			if (!err) {
				line = shell_join(&argv);
				if (!line)
					err = -ENOMEM;
			}
			strv_free(&argv);
		} else {
			err = cfg_string(ld, value, &line);
			if (!err && !line[0])
				err = cfg_fail(ld, value, "alias command is empty");
		}
		if (err) {
			free(line);
			return err;
		}
		alias = cfg_grow(&cfg->exec_aliases, &cfg->n_exec_aliases, sizeof(*alias));
		if (!alias) {
			free(line);
			return -ENOMEM;
		}
		alias->value = line;
		alias->name = strdup(key->text);
		if (!alias->name)
			return -ENOMEM;
		cfg_pop(ld, saved);
	}
	return 0;
}

int cfg_parse_memory(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_claim(ld, FIELD_MEMORY, v) ?: cfg_size(ld, v, &ld->cfg->memory_max);
}

int cfg_parse_cpus(struct loader *ld, const struct ynode *v, void *ctx)
{
	return cfg_claim(ld, FIELD_CPUS, v) ?: cfg_cpus(ld, v, &ld->cfg->cpus_milli);
}

static int parse_pids(struct loader *ld, const struct ynode *v, void *ctx)
{
	uint64_t pids;
	int err = cfg_uint(ld, v, 0, 4194304, &pids);

	ld->cfg->pids_max = (uint32_t)pids;
	return err;
}

int cfg_parse_resources(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = {
		{ "memory", cfg_parse_memory, NULL },
		{ "pids", parse_pids, NULL },
		{ "cpus", cfg_parse_cpus, NULL },
	};

	return cfg_walk_map(ld, v, keys, 3, NULL);
}
