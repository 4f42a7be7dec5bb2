/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Line-based edits of a cage.yaml that keep its comments and layout: set a top-level scalar,
 * add a mount, add or remove entries of domains.allow/block/passthrough. They understand the
 * block style cagectl writes and flow lists on one line (`allow: [a, b]`); anything else gives
 * -ENOTSUP and the caller says so. Callers validate the result with cage_config_parse().
 */
#ifndef CAGE_YAML_EDIT_H
#define CAGE_YAML_EDIT_H

#include <stdint.h>

/* Replaces `key: ...` at column 0, or appends it. *text is realloc'd. value is written as is. */
int yaml_set_top_scalar(char **text, const char *key, const char *value);
/* Adds "- { source: SRC, target: DST }" to the top-level mounts list (creating it). */
int yaml_add_mount(char **text, const char *src, const char *dst);
/*
 * Adds `domain` to domains.<list> (allow, block, passthrough); expires_at 0 = never, else an
 * entry {domain, expires: RFC 3339}. -EEXIST if the list has it already.
 */
int yaml_domain_add(char **text, const char *list, const char *domain, int64_t expires_at);
/* Removes every entry for `domain` from domains.<list>. -ENOENT if there was none. */
int yaml_domain_rm(char **text, const char *list, const char *domain);

#endif
