// SPDX-License-Identifier: GPL-2.0-only
/* Diagnostics: "file:line:column: key: message", and the nearest valid key for a typo. */
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"

void cfg_diag_vset(struct cage_config_diag *diag, const char *file, unsigned line, unsigned column,
		   const char *key, const char *fmt, va_list ap)
{
	if (!diag)
		return;
	memset(diag, 0, sizeof(*diag));
	snprintf(diag->file, sizeof(diag->file), "%s", file ? file : "<config>");
	diag->line = line;
	diag->column = column;
	snprintf(diag->key, sizeof(diag->key), "%s", key ? key : "");
	vsnprintf(diag->message, sizeof(diag->message), fmt, ap);
}

void cfg_diag_set(struct cage_config_diag *diag, const char *file, unsigned line, unsigned column,
		  const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_diag_vset(diag, file, line, column, key, fmt, ap);
	va_end(ap);
}

void cage_config_diag_format(const struct cage_config_diag *diag, char *buf, size_t len)
{
	char place[300];

	if (!buf || !len)
		return;
	if (diag->line)
		snprintf(place, sizeof(place), "%s:%u:%u", diag->file, diag->line, diag->column);
	else
		snprintf(place, sizeof(place), "%s", diag->file);
	if (diag->key[0])
		snprintf(buf, len, "%s: %s: %s", place, diag->key, diag->message);
	else
		snprintf(buf, len, "%s: %s", place, diag->message);
}

/*
 * Optimal string alignment distance (Levenshtein plus adjacent transpositions, so "nmae" is one
 * edit from "name"). Keys are short, so fixed rows are enough.
 */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), rows[3][65];
	size_t *older = rows[0], *prev = rows[1], *cur = rows[2];

	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *spare = older;

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev[j - 1] + cost;

			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    older[j - 2] + 1 < best)
				best = older[j - 2] + 1;
			cur[j] = best;
		}
		older = prev;
		prev = cur;
		cur = spare;
	}
	return prev[lb];
}

const char *cfg_suggest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_distance = (size_t)-1, len = strlen(word);
	/* A third of the word, at least one and at most three edits, counts as a typo. */
	size_t limit = len / 3 < 1 ? 1 : len / 3 > 3 ? 3 : len / 3;

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, candidates[i]);

		if (d < best_distance) {
			best_distance = d;
			best = candidates[i];
		}
	}
	return best_distance <= limit ? best : NULL;
}
