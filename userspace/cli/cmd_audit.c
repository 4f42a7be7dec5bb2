// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cagectl audit`: filters over <log_dir>/audit.jsonl (and the rotated audit.jsonl.1 before it),
 * the last N, a summary, or a follow mode that survives rotation.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit_read.h"
#include "cli/cli.h"
#include "enforce/cage.h"
#include "lib/json.h"
#include "lib/log.h"

#define LINE_MAX_AUDIT 65536

struct ring {
	char **v;
	long cap, n, head;  /* cap 0 = unlimited: everything is printed as it comes */
};

static void ring_push(struct ring *rg, const char *line)
{
	if (!rg->cap)
		return;
	free(rg->v[rg->head]);
	rg->v[rg->head] = strdup(line);
	rg->head = (rg->head + 1) % rg->cap;
	if (rg->n < rg->cap)
		rg->n++;
}

struct tally {
	char key[160];
	long count;
};

struct summary {
	struct tally decision[32], host[256], reason[128], layer[16];
	int n_decision, n_host, n_reason, n_layer;
	long total;
};

static void tally_add(struct tally *t, int *n, int max, const char *key)
{
	if (!key)
		key = "-";
	for (int i = 0; i < *n; i++)
		if (!strcmp(t[i].key, key)) {
			t[i].count++;
			return;
		}
	/* Past the table's size everything new is counted as "(other)", never dropped. */
	if (*n == max - 1)
		key = "(other)";
	if (*n >= max) {
		t[max - 1].count++;
		return;
	}
	snprintf(t[*n].key, sizeof(t[*n].key), "%s", key);
	t[(*n)++].count = 1;
}

static int tally_cmp(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->key, y->key);
}

static void summary_add(struct summary *s, const struct audit_rec *r)
{
	const char *reason = audit_rec_get(r, "reason");

	s->total++;
	tally_add(s->decision, &s->n_decision, 32, audit_rec_get(r, "decision"));
	tally_add(s->host, &s->n_host, 256, audit_rec_host(r) ? audit_rec_host(r) : audit_rec_get(r, "dst"));
	tally_add(s->reason, &s->n_reason, 128, reason ? reason : audit_rec_get(r, "event"));
	tally_add(s->layer, &s->n_layer, 16, audit_rec_get(r, "layer"));
}

static void summary_section(const char *title, struct tally *t, int n, bool first)
{
	qsort(t, (size_t)n, sizeof(*t), tally_cmp);
	if (json_output) {
		printf("%s\"%s\":{", first ? "" : ",", title);
		for (int i = 0; i < n; i++) {
			printf("%s", i ? "," : "");
			json_write_string(stdout, t[i].key);
			printf(":%ld", t[i].count);
		}
		printf("}");
		return;
	}
	printf("%s%s:\n", first ? "" : "\n", title);
	for (int i = 0; i < n; i++)
		printf("  %8ld  %s\n", t[i].count, t[i].key);
}

static void summary_print(struct summary *s)
{
	if (json_output)
		printf("{\"total\":%ld,\"by\":{", s->total);
	else
		printf("%ld records\n\n", s->total);
	summary_section("decision", s->decision, s->n_decision, true);
	summary_section("host", s->host, s->n_host, false);
	summary_section("reason", s->reason, s->n_reason, false);
	summary_section("layer", s->layer, s->n_layer, false);
	if (json_output)
		printf("}}\n");
}

/* A record as one text line: time, layer, decision, the host or destination, the reason. */
static void print_text(const struct audit_rec *r)
{
	const char *ts = audit_rec_get(r, "ts"), *host = audit_rec_host(r), *dst = audit_rec_get(r, "dst");
	const char *reason = audit_rec_get(r, "reason"), *dport = audit_rec_get(r, "dport");

	printf("%-24s %-7s %-8s %s%s%s%s %s", ts ? ts : "-", audit_rec_get(r, "layer") ?: "-",
	       audit_rec_get(r, "decision") ?: "-", host ? host : dst ? dst : "-",
	       dport ? ":" : "", dport ? dport : "", "", reason ? reason : audit_rec_get(r, "event") ?: "");
	for (int i = 0; i < r->n; i++) {
		static const char *const shown[] = { "ts", "cage", "layer", "decision", "reason", "event",
						     "dst", "dport", NULL };
		bool skip = false;

		for (int k = 0; shown[k]; k++)
			skip |= !strcmp(r->f[i].key, shown[k]);
		if (skip || (host && r->f[i].val == host))
			continue;
		printf(" %s=%s", r->f[i].key, r->f[i].val);
	}
	printf("\n");
}

struct audit_opts {
	struct audit_filter flt;
	long last_n;
	bool follow, summary;
};

/* Handles one raw line: parse, filter, then print now, keep for the tail, or count. */
static void handle_line(const struct audit_opts *o, char *line, struct ring *rg, struct summary *s,
			bool live)
{
	struct audit_rec r;
	size_t len = strlen(line);

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (!len || audit_rec_parse(line, len, &r))
		return;
	if (audit_filter_match(&o->flt, &r)) {
		if (o->summary && !live) {
			summary_add(s, &r);
		} else if (rg->cap && !live) {
			ring_push(rg, line);
		} else if (json_output) {
			puts(line);
		} else {
			print_text(&r);
		}
	}
	audit_rec_free(&r);
	fflush(stdout);
}

static void read_file(const struct audit_opts *o, FILE *f, struct ring *rg, struct summary *s,
		      char *line)
{
	while (fgets(line, LINE_MAX_AUDIT, f))
		handle_line(o, line, rg, s, false);
}

static volatile sig_atomic_t stop_follow;

static void on_signal(int sig)
{
	(void)sig;
	stop_follow = 1;
}

/* Prints what is appended to path until SIGINT/SIGTERM; reopens after rotation. */
static void follow(const struct audit_opts *o, const char *path, FILE *f, char *line)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct ring none = { 0 };
	struct stat a, b;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop_follow) {
		bool got = false;

		if (f) {
			clearerr(f);
			while (fgets(line, LINE_MAX_AUDIT, f)) {
				handle_line(o, line, &none, NULL, true);
				got = true;
			}
		}
		if (got)
			continue;
		if (stat(path, &b) == 0 && (!f || fstat(fileno(f), &a) || a.st_ino != b.st_ino ||
					    b.st_size < ftell(f))) {
			if (f)
				fclose(f);
			f = fopen(path, "re");
			continue;
		}
		usleep(200 * 1000);
	}
	if (f)
		fclose(f);
}

int do_audit(int argc, char **argv)
{
	struct audit_opts o = { .flt = { .min_severity = -1 }, .last_n = -1 };
	struct summary *sum = NULL;
	struct ring rg = { 0 };
	struct cage_paths p;
	char old[PATH_MAX + 8], *line = NULL;
	const char *name = NULL;
	FILE *f;
	int rc;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;

		if ((!strcmp(a, "-d") || !strcmp(a, "--decision")) && has_val) {
			if (o.flt.n_decisions >= 16)
				return cli_usage_error("audit", "too many -d");
			o.flt.decisions[o.flt.n_decisions++] = argv[++i];
		} else if (!strcmp(a, "--host") && has_val) {
			o.flt.host = argv[++i];
		} else if (!strcmp(a, "--inspector") && has_val) {
			o.flt.inspector = argv[++i];
		} else if (!strcmp(a, "--layer") && has_val) {
			o.flt.layer = argv[++i];
			if (strcmp(o.flt.layer, "kernel") && strcmp(o.flt.layer, "dns") &&
			    strcmp(o.flt.layer, "proxy"))
				return cli_usage_error("audit", "unknown layer '%s' (kernel, dns, proxy)",
						       o.flt.layer);
		} else if (!strcmp(a, "--severity") && has_val) {
			o.flt.min_severity = audit_severity_parse(argv[++i]);
			if (o.flt.min_severity < 0)
				return cli_usage_error("audit", "unknown severity '%s' (debug, info, "
						       "warning, error, critical)", argv[i]);
		} else if (!strcmp(a, "--since") && has_val) {
			o.flt.since = cli_parse_since(argv[++i], time(NULL));
			if (o.flt.since < 0)
				return cli_usage_error("audit", "bad --since '%s' (30m, 2h, 1d or an RFC 3339 "
						       "time)", argv[i]);
		} else if (!strcmp(a, "-n") && has_val) {
			char *end;

			o.last_n = strtol(argv[++i], &end, 10);
			if (*end || o.last_n < 0)
				return cli_usage_error("audit", "bad -n '%s'", argv[i]);
		} else if (!strcmp(a, "-f") || !strcmp(a, "--follow")) {
			o.follow = true;
		} else if (!strcmp(a, "--summary")) {
			o.summary = true;
		} else if (a[0] != '-' && !name) {
			name = a;
		} else {
			return cli_usage_error("audit", "unexpected argument '%s'", a);
		}
	}
	if (!name)
		return cli_usage_error("audit", "no cage name");
	if (o.summary && o.follow)
		return cli_usage_error("audit", "--summary and --follow exclude each other");
	rc = cli_cage_lookup("audit", name, &p, false);
	if (rc)
		return rc;
	line = malloc(LINE_MAX_AUDIT);
	sum = calloc(1, sizeof(*sum));
	if (o.last_n > 0) {
		rg.cap = o.last_n;
		rg.v = calloc((size_t)o.last_n, sizeof(char *));
	}
	if (!line || !sum || (o.last_n > 0 && !rg.v)) {
		p_err("audit: out of memory");
		rc = 1;
		goto out;
	}
	snprintf(old, sizeof(old), "%s.1", p.audit_file);
	if (o.last_n != 0 && (f = fopen(old, "re"))) {
		read_file(&o, f, &rg, sum, line);
		fclose(f);
	}
	f = fopen(p.audit_file, "re");
	if (!f && !(errno == ENOENT && o.follow)) {
		if (errno == ENOENT) {
			/* A cage that never logged anything has no file yet: an empty answer. */
			if (o.summary)
				summary_print(sum);
			goto out;
		}
		p_err("audit: can't open %s: %s", p.audit_file, strerror(errno));
		rc = 1;
		goto out;
	}
	if (f && o.last_n != 0)
		read_file(&o, f, &rg, sum, line);
	for (long i = 0; i < rg.n; i++) {
		char *l = rg.v[(rg.head - rg.n + i + rg.cap) % rg.cap];

		handle_line(&o, l, &(struct ring){ 0 }, NULL, true);
	}
	if (o.summary)
		summary_print(sum);
	if (o.follow)
		follow(&o, p.audit_file, f, line);
	else if (f)
		fclose(f);
out:
	for (long i = 0; rg.v && i < rg.cap; i++)
		free(rg.v[i]);
	free(rg.v);
	free(sum);
	free(line);
	return rc;
}
