// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cagectl logs`: <log_dir>/{proxy,dns,monitor}.log, each after its rotated .1. A line that starts
 * with an RFC 3339 time carries it; a line without one inherits the time of the line before, so
 * --since keeps multi-line messages whole.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "enforce/cage.h"
#include "lib/json.h"
#include "lib/log.h"

#define LOG_LINE_MAX 16384

static const char *const services[] = { "proxy", "dns", "monitor" };
#define N_SERVICES 3

struct logline {
	int service;
	char *text;
};

struct tail {
	struct logline *v;
	long cap, n, head;   /* ring of the last N; cap 0 = everything */
	long len, alloc;     /* growing list when cap is 0 */
};

static int tail_add(struct tail *t, int service, const char *text)
{
	char *dup = strdup(text);

	if (!dup)
		return -ENOMEM;
	if (t->cap) {
		free(t->v[t->head].text);
		t->v[t->head] = (struct logline){ service, dup };
		t->head = (t->head + 1) % t->cap;
		if (t->n < t->cap)
			t->n++;
		return 0;
	}
	if (t->len == t->alloc) {
		long a = t->alloc ? t->alloc * 2 : 256;
		struct logline *v = realloc(t->v, (size_t)a * sizeof(*v));

		if (!v) {
			free(dup);
			return -ENOMEM;
		}
		t->v = v;
		t->alloc = a;
	}
	t->v[t->len++] = (struct logline){ service, dup };
	return 0;
}

static void print_line(int service, const char *text, bool prefix)
{
	if (json_output) {
		printf("{\"service\":\"%s\",\"line\":", services[service]);
		json_write_string(stdout, text);
		printf("}\n");
	} else if (prefix) {
		printf("%-8s %s\n", services[service], text);
	} else {
		printf("%s\n", text);
	}
}

static int64_t line_time(const char *line)
{
	char ts[40];
	size_t n = strcspn(line, " \t");

	if (n < 10 || n >= sizeof(ts))
		return -1;
	snprintf(ts, sizeof(ts), "%.*s", (int)n, line);
	return cli_parse_time(ts);
}

static int read_log(const char *path, int service, int64_t since, struct tail *t, long *pos)
{
	char line[LOG_LINE_MAX];
	int64_t last = since ? -1 : 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		int64_t lt;

		line[strcspn(line, "\n")] = '\0';
		lt = line_time(line);
		if (lt >= 0)
			last = lt;
		/* Lines before the first timestamp count as old when --since is given. */
		if (since && last < since)
			continue;
		if (tail_add(t, service, line)) {
			fclose(f);
			return -ENOMEM;
		}
	}
	if (pos)
		*pos = ftell(f);
	fclose(f);
	return 0;
}

static volatile sig_atomic_t stop_follow;

static void on_signal(int sig)
{
	(void)sig;
	stop_follow = 1;
}

/* Prints new lines of every selected log until SIGINT/SIGTERM, reopening after rotation. */
static void follow(const struct cage_paths *p, const bool *sel, long *pos, bool prefix)
{
	struct sigaction sa = { .sa_handler = on_signal };
	char path[PATH_MAX + 32], line[LOG_LINE_MAX];

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop_follow) {
		bool got = false;

		for (int s = 0; s < N_SERVICES; s++) {
			struct stat sb;
			FILE *f;

			if (!sel[s])
				continue;
			snprintf(path, sizeof(path), "%s/%s.log", p->log_dir, services[s]);
			if (stat(path, &sb))
				continue;
			if (sb.st_size < pos[s])
				pos[s] = 0;   /* rotated or truncated: start over */
			if (sb.st_size == pos[s] || !(f = fopen(path, "re")))
				continue;
			fseek(f, pos[s], SEEK_SET);
			while (fgets(line, sizeof(line), f)) {
				line[strcspn(line, "\n")] = '\0';
				print_line(s, line, prefix);
				got = true;
			}
			pos[s] = ftell(f);
			fclose(f);
		}
		fflush(stdout);
		if (!got)
			usleep(200 * 1000);
	}
}

int do_logs(int argc, char **argv)
{
	bool sel[N_SERVICES] = { false }, any_sel = false, follow_mode = false, prefix;
	long last_n = -1, pos[N_SERVICES] = { 0 };
	const char *name = NULL;
	char path[PATH_MAX + 32];
	struct cage_paths p;
	struct tail t = { 0 };
	int64_t since = 0;
	int rc, err = 0, n_sel = 0;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if ((!strcmp(a, "-s") || !strcmp(a, "--service")) && i + 1 < argc) {
			int s = 0;

			for (; s < N_SERVICES && strcmp(argv[i + 1], services[s]); s++)
				;
			if (s == N_SERVICES)
				return cli_usage_error("logs", "unknown service '%s' (proxy, dns, monitor)",
						       argv[i + 1]);
			sel[s] = any_sel = true;
			i++;
		} else if (!strcmp(a, "-f") || !strcmp(a, "--follow")) {
			follow_mode = true;
		} else if (!strcmp(a, "-n") && i + 1 < argc) {
			char *end;

			last_n = strtol(argv[++i], &end, 10);
			if (*end || last_n < 0)
				return cli_usage_error("logs", "bad -n '%s'", argv[i]);
		} else if (!strcmp(a, "--since") && i + 1 < argc) {
			since = cli_parse_since(argv[++i], time(NULL));
			if (since < 0)
				return cli_usage_error("logs", "bad --since '%s' (30m, 2h, 1d or an RFC 3339 "
						       "time)", argv[i]);
		} else if (a[0] != '-' && !name) {
			name = a;
		} else {
			return cli_usage_error("logs", "unexpected argument '%s'", a);
		}
	}
	if (!name)
		return cli_usage_error("logs", "no cage name");
	rc = cli_cage_lookup("logs", name, &p, false);
	if (rc)
		return rc;
	for (int s = 0; s < N_SERVICES; s++) {
		if (!any_sel)
			sel[s] = true;
		n_sel += sel[s];
	}
	prefix = n_sel > 1;
	if (last_n > 0) {
		t.cap = last_n;
		t.v = calloc((size_t)last_n, sizeof(*t.v));
		if (!t.v) {
			p_err("logs: out of memory");
			return 1;
		}
	}
	for (int s = 0; s < N_SERVICES && !err && last_n != 0; s++) {
		if (!sel[s])
			continue;
		snprintf(path, sizeof(path), "%s/%s.log.1", p.log_dir, services[s]);
		err = read_log(path, s, since, &t, NULL);
		snprintf(path, sizeof(path), "%s/%s.log", p.log_dir, services[s]);
		if (!err)
			err = read_log(path, s, since, &t, &pos[s]);
	}
	if (last_n == 0)
		for (int s = 0; s < N_SERVICES; s++) {
			struct stat sb;

			snprintf(path, sizeof(path), "%s/%s.log", p.log_dir, services[s]);
			pos[s] = stat(path, &sb) ? 0 : sb.st_size;
		}
	if (err) {
		p_err("logs: can't read %s: %s", path, strerror(-err));
		rc = 1;
	}
	if (t.cap) {
		for (long i = 0; i < t.n; i++) {
			struct logline *l = &t.v[(t.head - t.n + i + t.cap) % t.cap];

			print_line(l->service, l->text, prefix);
		}
		for (long i = 0; i < t.cap; i++)
			free(t.v[i].text);
	} else {
		for (long i = 0; i < t.len; i++) {
			print_line(t.v[i].service, t.v[i].text, prefix);
			free(t.v[i].text);
		}
	}
	free(t.v);
	fflush(stdout);
	if (follow_mode && !rc)
		follow(&p, sel, pos, prefix);
	return rc;
}
