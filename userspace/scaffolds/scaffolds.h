/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Scaffolds: commented cage.yaml templates for `cagectl init` and `cagectl run`. The built-in
 * ones are compiled in; user scaffolds are cage.yaml files in $XDG_CONFIG_HOME/cagectl/scaffolds
 * (default ~/.config/cagectl/scaffolds), named <scaffold>.yaml. A user scaffold of the same name
 * as a built-in one wins. Rendering replaces the top-level `name:` line.
 */
#ifndef CAGE_SCAFFOLDS_H
#define CAGE_SCAFFOLDS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct scaffold_entry {
	char name[64];
	char description[160];
	bool builtin;
	char path[PATH_MAX];   /* user scaffolds only */
};

/* Built-ins first, then user scaffolds; user ones shadow built-ins. Caller frees *out. */
int scaffold_list(struct scaffold_entry **out, size_t *n);
/* The directory user scaffolds live in (not created). 0 or -ENOENT (no HOME). */
int scaffold_user_dir(char *buf, size_t len);
/* The raw text of a scaffold (malloc'd). -ENOENT if there is none by that name. */
int scaffold_text(const char *scaffold, char **out, bool *builtin);
/* The text with its top-level name set to cage_name (malloc'd). */
int scaffold_render(const char *scaffold, const char *cage_name, char **out);
bool scaffold_name_valid(const char *name);

#endif
