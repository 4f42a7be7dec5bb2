// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cagectl logs`: <log_dir>/monitor.log after its rotated .1. The monitor, cage-proxy and cage-dns
 * all write there (the daemons inherit the monitor's stderr), one "TIME PROG: message" line each
 * (lib/log.h), so -s picks lines by program name and --since by time. A line without a time
 * carries the time of the line before; one that does not name cage-proxy or cage-dns either
 * (a stack trace, a wrapped message) also belongs to the service of the line before, so both
 * filters keep multi-line messages whole.
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

enum { SVC_PROXY, SVC_DNS, SVC_MONITOR, N_SERVICES };

static const char *const services[N_SERVICES] = { "proxy", "dns", "monitor" };

struct logline {
	int service;
	char *text;
};

struct tail {
	struct logline *v;
	long cap, n, head;   /* ring of the last N; cap 0 = everything */
	long len, alloc;     /* growing list when cap is 0 */
};

/* Where the reading is: the service and time that lines without their own inherit. */
struct log_cursor {
	int service;
	int64_t time;
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

static bool names_prog(const char *text, const char *prog)
{
	size_t n = strlen(prog);

	return !strncmp(text, prog, n) && text[n] == ':';
}

/*
 * Moves the cursor to `line`. A timed line that names neither daemon is the monitor's (it writes
 * as "cagectl"); untimed lines that name a program are kept apart too, for files written before
 * lines had times and for cage-proxy's CAGECTL_TIMING marks.
 */
static void cursor_advance(struct log_cursor *c, const char *line)
{
	int64_t t = line_time(line);
	const char *text = line;

	if (t >= 0) {
		c->time = t;
		text = line + strcspn(line, " \t");
		text += *text != '\0';
	}
	if (names_prog(text, "cage-proxy"))
		c->service = SVC_PROXY;
	else if (names_prog(text, "cage-dns"))
		c->service = SVC_DNS;
	else if (t >= 0 || names_prog(text, "cagectl") || names_prog(text, "monitor"))
		c->service = SVC_MONITOR;
}

/* A line of a log at most LOG_LINE_MAX - 1 long, without its newline; false at the end. */
static bool read_line(FILE *f, char *line, size_t len, bool *whole)
{
	size_t n;

	if (!fgets(line, (int)len, f))
		return false;
	n = strcspn(line, "\n");
	*whole = line[n] == '\n';
	line[n] = '\0';
	return true;
}

/*
 * Reads a whole file into `t` (none: only moves the cursor); with `keep`, the file stays open at
 * its end for --follow.
 */
static int read_log(const char *path, const bool *sel, int64_t since, struct log_cursor *c,
		    struct tail *t, FILE **keep)
{
	char line[LOG_LINE_MAX];
	bool whole;
	long at = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (read_line(f, line, sizeof(line), &whole)) {
		/* A line still being written: --follow prints it once it is whole. */
		if (keep && !whole && strlen(line) < sizeof(line) - 1) {
			fseek(f, at, SEEK_SET);
			break;
		}
		at = ftell(f);
		cursor_advance(c, line);
		/* Lines before the first time count as old when --since is given. */
		if (!t || !sel[c->service] || (since && c->time < since))
			continue;
		if (tail_add(t, c->service, line)) {
			fclose(f);
			return -ENOMEM;
		}
	}
	if (keep)
		*keep = f;
	else
		fclose(f);
	return 0;
}

static volatile sig_atomic_t stop_follow;

static void on_signal(int sig)
{
	(void)sig;
	stop_follow = 1;
}

/* Prints the selected new lines of f; a line still being written waits for its end. */
static bool follow_drain(FILE *f, const bool *sel, struct log_cursor *c, bool prefix)
{
	char line[LOG_LINE_MAX];
	bool got = false, whole;
	long at = ftell(f);

	while (read_line(f, line, sizeof(line), &whole)) {
		if (!whole && strlen(line) < sizeof(line) - 1) {
			fseek(f, at, SEEK_SET);
			break;
		}
		at = ftell(f);
		cursor_advance(c, line);
		if (sel[c->service]) {
			print_line(c->service, line, prefix);
			got = true;
		}
	}
	clearerr(f);
	return got;
}

/*
 * Prints the selected new lines of monitor.log until SIGINT/SIGTERM. Like `tail -F`: when the
 * monitor rotates the file, the rest of the old one (still open, now monitor.log.1) comes first,
 * then the new file from its start. Each writer moves to the new file on its own one-second tick,
 * so the old one is read for a few seconds more: a line written in between is not lost.
 */
#define FOLLOW_OLD_GRACE_S 3

struct follow_files {
	FILE *live, *old;   /* old: the rotated file, read until old_until */
	time_t old_until;
};

/* When `now` (a stat of path) is another file than the live one, or a shorter one: switch. */
static bool follow_switch(const char *path, const struct stat *now, struct follow_files *ff,
			  const bool *sel, struct log_cursor *c, bool prefix)
{
	struct stat open_sb;
	bool renamed = ff->live && (fstat(fileno(ff->live), &open_sb) || now->st_ino != open_sb.st_ino ||
				    now->st_dev != open_sb.st_dev), got = false;

	if (ff->live && !renamed && now->st_size >= ftell(ff->live))
		return false;
	if (ff->live)
		got = follow_drain(ff->live, sel, c, prefix);
	if (renamed) {
		if (ff->old)
			fclose(ff->old);
		ff->old = ff->live;
		ff->old_until = time(NULL) + FOLLOW_OLD_GRACE_S;
	} else if (ff->live) {
		fclose(ff->live);   /* truncated in place: nothing more to read there */
	}
	ff->live = fopen(path, "re");
	return got;
}

static void follow(const char *path, FILE *live, const bool *sel, struct log_cursor *c, bool prefix)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct follow_files ff = { .live = live };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop_follow) {
		struct stat now;
		bool got = ff.live && follow_drain(ff.live, sel, c, prefix);

		if (ff.old) {
			got |= follow_drain(ff.old, sel, c, prefix);
			if (time(NULL) > ff.old_until) {
				fclose(ff.old);
				ff.old = NULL;
			}
		}
		if (!got && !stat(path, &now))
			got = follow_switch(path, &now, &ff, sel, c, prefix);
		fflush(stdout);
		if (!got)
			usleep(200 * 1000);
	}
	if (ff.old)
		fclose(ff.old);
	if (ff.live)
		fclose(ff.live);
}

int do_logs(int argc, char **argv)
{
	bool sel[N_SERVICES] = { false }, any_sel = false, follow_mode = false, prefix;
	long last_n = -1;
	const char *name = NULL, *failed;
	char path[PATH_MAX + 32], rotated[PATH_MAX + 32];
	struct cage_paths p;
	struct tail t = { 0 };
	struct log_cursor cur = { SVC_MONITOR, 0 };
	FILE *live = NULL;
	int64_t since = 0;
	int rc, err, n_sel = 0;

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
	if (since)
		cur.time = -1;
	/* Even for -n 0: --follow needs the service of the last line for the lines after it. */
	snprintf(rotated, sizeof(rotated), "%s/monitor.log.1", p.log_dir);
	snprintf(path, sizeof(path), "%s/monitor.log", p.log_dir);
	failed = rotated;
	err = read_log(rotated, sel, since, &cur, last_n ? &t : NULL, NULL);
	if (!err) {
		failed = path;
		err = read_log(path, sel, since, &cur, last_n ? &t : NULL, follow_mode ? &live : NULL);
	}
	if (err) {
		p_err("logs: can't read %s: %s", failed, strerror(-err));
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
		follow(path, live, sel, &cur, prefix);
	else if (live)
		fclose(live);
	return rc;
}
