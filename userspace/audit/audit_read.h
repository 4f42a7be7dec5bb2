/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading audit.jsonl back: a parser for the flat JSON objects the writers produce (nested values
 * are kept as raw JSON text) and the filters of `cagectl audit`. Never trusts a line: anything
 * malformed is reported as -EINVAL and skipped by callers.
 */
#ifndef CAGE_AUDIT_READ_H
#define CAGE_AUDIT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_REC_FIELDS 64

struct audit_field {
	const char *key;
	const char *val;   /* unescaped string, or the raw text of a number/bool/null/object/array */
	bool is_str;
};

struct audit_rec {
	struct audit_field f[AUDIT_REC_FIELDS];
	int n;
	char *store;       /* owns every key and value */
};

/* Parses one line holding one JSON object. 0 or -EINVAL/-ENOMEM; free with audit_rec_free. */
int audit_rec_parse(const char *line, size_t len, struct audit_rec *r);
void audit_rec_free(struct audit_rec *r);
/* The value of key, or NULL. */
const char *audit_rec_get(const struct audit_rec *r, const char *key);

/* The host a record is about: host, sni, qname, domain, then dst (an address). NULL if none. */
const char *audit_rec_host(const struct audit_rec *r);
/*
 * Severity 0 (debug) .. 4 (critical): the record's "severity" member, else warning for a
 * blocked decision and info for anything else. -1 for an unknown level name.
 */
int audit_severity_parse(const char *s);
int audit_rec_severity(const struct audit_rec *r);

struct audit_filter {
	const char *decisions[16];
	int n_decisions;
	const char *host;        /* the host or any subdomain */
	const char *inspector;
	const char *layer;
	int min_severity;        /* -1 = any */
	int64_t since;           /* unix seconds; 0 = any */
};

bool audit_filter_match(const struct audit_filter *flt, const struct audit_rec *r);

#endif
