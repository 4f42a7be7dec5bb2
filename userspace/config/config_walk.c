// SPDX-License-Identifier: GPL-2.0-only
/* The loader's walking machinery: the dotted key path, the first error, warnings, key tables. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"

int cfg_fail(struct loader *ld, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_diag_vset(ld->diag, ld->file, at ? at->line : 0, at ? at->column : 0, ld->path, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void cfg_warn(struct loader *ld, const struct ynode *at, const char *fmt, ...)
{
	struct cage_config_diag diag;
	va_list ap;

	if (!ld->warn)
		return;
	va_start(ap, fmt);
	cfg_diag_vset(&diag, ld->file, at ? at->line : 0, at ? at->column : 0, ld->path, fmt, ap);
	va_end(ap);
	ld->warn(&diag, ld->warn_arg);
}

size_t cfg_push_key(struct loader *ld, const char *key)
{
	size_t saved = ld->path_len;
	int n = snprintf(ld->path + ld->path_len, sizeof(ld->path) - ld->path_len, "%s%s",
			 ld->path_len ? "." : "", key);

	if (n > 0)
		ld->path_len = strnlen(ld->path, sizeof(ld->path) - 1);
	/* Keys come from the file: keep terminal control bytes out of the messages. */
	for (size_t i = saved; i < ld->path_len; i++)
		if ((unsigned char)ld->path[i] < 0x20 || ld->path[i] == 0x7f)
			ld->path[i] = '?';
	return saved;
}

size_t cfg_push_index(struct loader *ld, size_t index)
{
	size_t saved = ld->path_len;
	int n = snprintf(ld->path + ld->path_len, sizeof(ld->path) - ld->path_len, "[%zu]", index);

	if (n > 0)
		ld->path_len = strnlen(ld->path, sizeof(ld->path) - 1);
	return saved;
}

void cfg_pop(struct loader *ld, size_t saved)
{
	ld->path_len = saved;
	ld->path[saved] = '\0';
}

int cfg_check_duplicates(struct loader *ld, const struct ynode *map)
{
	for (size_t i = 2; i < map->n_items; i += 2) {
		const struct ynode *key = map->items[i];

		for (size_t j = 0; j < i; j += 2) {
			const struct ynode *earlier = map->items[j];
			size_t saved;
			int err;

			if (key->len != earlier->len || memcmp(key->text, earlier->text, key->len))
				continue;
			saved = cfg_push_key(ld, key->text);
			err = cfg_fail(ld, key, "duplicate key (first at line %u)", earlier->line);
			cfg_pop(ld, saved);
			return err;
		}
	}
	return 0;
}

static int unknown_key(struct loader *ld, const struct ynode *key, const struct key_spec *spec,
		       size_t n_spec)
{
	const char *names[64];
	const char *guess;
	size_t n = n_spec < 64 ? n_spec : 64;
	size_t saved = cfg_push_key(ld, key->text);
	int err;

	for (size_t i = 0; i < n; i++)
		names[i] = spec[i].key;
	guess = cfg_suggest(key->text, names, n);
	if (guess)
		err = cfg_fail(ld, key, "unknown key; did you mean '%s'?", guess);
	else
		err = cfg_fail(ld, key, "unknown key");
	cfg_pop(ld, saved);
	return err;
}

int cfg_walk_map(struct loader *ld, const struct ynode *map, const struct key_spec *spec,
		 size_t n_spec, void *ctx)
{
	int err;

	if (ynode_is_null(map))
		return 0;
	if (map->kind != YNODE_MAPPING)
		return cfg_fail(ld, map, "expected a mapping, got %s", ynode_kind_name(map));
	err = cfg_check_duplicates(ld, map);
	if (err)
		return err;
	for (size_t i = 0; i + 1 < map->n_items; i += 2) {
		const struct ynode *key = map->items[i], *value = map->items[i + 1];
		const struct key_spec *found = NULL;
		size_t saved;

		for (size_t k = 0; k < n_spec && !found; k++)
			if (strcmp(spec[k].key, key->text) == 0 && strlen(key->text) == key->len)
				found = &spec[k];
		if (!found)
			return unknown_key(ld, key, spec, n_spec);
		saved = cfg_push_key(ld, key->text);
		if (found->ignored_why) {
			cfg_warn(ld, key, "%s", found->ignored_why);
			err = 0;
		} else {
			err = found->parse(ld, value, ctx);
		}
		cfg_pop(ld, saved);
		if (err)
			return err;
	}
	return 0;
}

int cfg_claim(struct loader *ld, enum cfg_field field, const struct ynode *at)
{
	if (ld->set_by[field][0])
		return cfg_fail(ld, at, "already set by %s", ld->set_by[field]);
	snprintf(ld->set_by[field], sizeof(ld->set_by[field]), "'%s' (line %u)", ld->path, at->line);
	return 0;
}
