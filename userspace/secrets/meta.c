// SPDX-License-Identifier: GPL-2.0-only
/*
 * <KEY>.meta next to each value: the placeholder (so it survives restarts) and the domains
 * `cagectl secret set --inject-to` bound. Text, one field per line:
 *
 *   cagectl-secret-meta 1
 *   placeholder cagectl:secret:GITHUB_TOKEN:0123456789abcdef0123456789abcdef
 *   inject_to api.github.com
 *
 * Nothing in it is secret; it is 0600 like the value anyway.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "lib/domain.h"
#include "secrets/internal.h"

#define META_HEADER "cagectl-secret-meta 1"
#define META_MAX (64u * 1024)

bool secrets_placeholder_valid(const char *ph)
{
	size_t n = ph ? strlen(ph) : 0;

	if (n < SECRETS_PLACEHOLDER_MIN || n > SECRETS_PLACEHOLDER_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ph[i] < 0x21 || ph[i] > 0x7e)
			return false;
	return true;
}

int secrets_placeholder_generate(const char *key, char *out, size_t len)
{
	unsigned char rnd[16];
	int n;

	if (!secrets_key_valid(key))
		return -EINVAL;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	n = snprintf(out, len, SECRETS_PREFIX "%s:", key);
	if (n < 0 || (size_t)n + 33 > len)
		return -ENOSPC;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(out + n + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

static int strv_add(struct cage_strv *sv, const char *s)
{
	char **v = realloc(sv->v, (sv->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	sv->v = v;
	sv->v[sv->n] = strdup(s);
	if (!sv->v[sv->n])
		return -ENOMEM;
	sv->n++;
	return 0;
}

void secrets_meta_free(struct secrets_meta *meta)
{
	for (size_t i = 0; i < meta->inject_to.n; i++)
		free(meta->inject_to.v[i]);
	free(meta->inject_to.v);
	memset(meta, 0, sizeof(*meta));
}

static int meta_name(const char *key, char *out, size_t len)
{
	if (!secrets_key_valid(key))
		return -EINVAL;
	snprintf(out, len, "%s.meta", key);
	return 0;
}

int secrets_meta_read(const char *state_dir, const char *key, struct secrets_meta *meta)
{
	char name[SECRETS_KEY_MAX + 8];
	unsigned char *buf = NULL;
	char *line, *save = NULL;
	size_t n = 0;
	int dir_fd, err;

	memset(meta, 0, sizeof(*meta));
	err = meta_name(key, name, sizeof(name));
	if (err)
		return err;
	dir_fd = store_dir_open(state_dir, false);
	if (dir_fd < 0)
		return dir_fd;
	err = store_read_file(dir_fd, name, META_MAX, &buf, &n);
	close(dir_fd);
	if (err)
		return err;
	buf[n] = '\0';
	line = strtok_r((char *)buf, "\n", &save);
	if (!line || strcmp(line, META_HEADER) != 0) {
		err = -EBADMSG;
		goto out;
	}
	while (!err && (line = strtok_r(NULL, "\n", &save))) {
		if (strncmp(line, "placeholder ", 12) == 0) {
			if (!secrets_placeholder_valid(line + 12))
				err = -EBADMSG;
			else
				snprintf(meta->placeholder, sizeof(meta->placeholder), "%s", line + 12);
		} else if (strncmp(line, "inject_to ", 10) == 0) {
			err = strv_add(&meta->inject_to, line + 10);
		}
		/* Unknown lines are from a newer cagectl: skipped, not fatal. */
	}
	if (!err && !meta->placeholder[0])
		err = -EBADMSG;
out:
	secure_free(buf, n + 1);
	if (err)
		secrets_meta_free(meta);
	return err;
}

int secrets_meta_write(const char *state_dir, const char *key, const struct secrets_meta *meta)
{
	char name[SECRETS_KEY_MAX + 8];
	struct obuf o = { 0 };
	int dir_fd, err;

	err = meta_name(key, name, sizeof(name));
	if (err)
		return err;
	if (!secrets_placeholder_valid(meta->placeholder))
		return -EINVAL;
	err = obuf_emit(&o, META_HEADER "\nplaceholder ", strlen(META_HEADER "\nplaceholder ")) ?:
	      obuf_emit(&o, meta->placeholder, strlen(meta->placeholder)) ?: obuf_emit(&o, "\n", 1);
	for (size_t i = 0; !err && i < meta->inject_to.n; i++) {
		if (strchr(meta->inject_to.v[i], '\n')) {
			err = -EINVAL;
			break;
		}
		err = obuf_emit(&o, "inject_to ", 10) ?:
		      obuf_emit(&o, meta->inject_to.v[i], strlen(meta->inject_to.v[i])) ?:
		      obuf_emit(&o, "\n", 1);
	}
	if (err)
		goto out;
	dir_fd = store_dir_open(state_dir, true);
	if (dir_fd < 0) {
		err = dir_fd;
		goto out;
	}
	err = store_write_atomic(dir_fd, name, o.buf, o.len, false);
	close(dir_fd);
out:
	obuf_free(&o);
	return err;
}

static const struct cage_secret_rule *config_rule(const struct cage_config_file *cfg,
						  const char *key)
{
	for (size_t i = 0; cfg && i < cfg->n_secrets; i++)
		if (strcmp(cfg->secrets[i].name, key) == 0)
			return &cfg->secrets[i];
	return NULL;
}

int secrets_placeholder_for(const struct cage_config_file *cfg, const char *state_dir,
			    const char *key, char *out, size_t len)
{
	const struct cage_secret_rule *rule = config_rule(cfg, key);
	struct secrets_meta meta;
	int err;

	if (rule && rule->placeholder) {
		if ((size_t)snprintf(out, len, "%s", rule->placeholder) >= len)
			return -ENOSPC;
		return 0;
	}
	err = secrets_meta_read(state_dir, key, &meta);
	if (err == -ENOENT) {
		err = secrets_placeholder_generate(key, meta.placeholder, sizeof(meta.placeholder)) ?:
		      secrets_meta_write(state_dir, key, &meta);
	}
	if (!err && (size_t)snprintf(out, len, "%s", meta.placeholder) >= len)
		err = -ENOSPC;
	secrets_meta_free(&meta);
	return err;
}

int secrets_check_config(const struct cage_config_file *cfg, const char *state_dir, char *msg,
			 size_t len)
{
	size_t missing = 0, off = 0;

	if (len)
		msg[0] = '\0';
	for (size_t i = 0; i < cfg->n_secrets; i++) {
		const struct cage_secret_rule *r = &cfg->secrets[i];
		int n;

		if (r->placeholder && !secrets_placeholder_valid(r->placeholder)) {
			snprintf(msg, len, "%s: secrets.%s.placeholder is shorter than %d characters",
				 cfg->path ? cfg->path : cfg->name, r->name, SECRETS_PLACEHOLDER_MIN);
			return -EINVAL;
		}
		if (secrets_store_has(state_dir, r->name))
			continue;
		n = snprintf(msg + off, off < len ? len - off : 0,
			     "%ssecret %s of cage %s has no value: run 'cagectl secret set %s %s'",
			     missing ? "; " : "", r->name, cfg->name, cfg->name, r->name);
		if (n > 0)
			off = off + (size_t)n < len ? off + (size_t)n : len;
		missing++;
	}
	return missing ? -ENOENT : 0;
}
