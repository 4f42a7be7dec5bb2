// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cagectl stats`: the pinned per-reason counters of the BPF layer plus the metrics the daemons
 * publish in <run_dir>/<daemon>.metrics ("name value" lines, see docs/cli.md), as text, JSON or
 * the Prometheus text format.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cage/maps.h"
#include "cli/cli.h"
#include "enforce/bpf_loader.h"
#include "enforce/cage.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/metrics.h"

int cli_read_stats(const struct cage_paths *p, uint64_t *counts)
{
	int fd = cage_bpf_map_open(p->pin_dir, CAGE_PIN_STATS, true), n = 0;
	struct cage_stat v;

	memset(counts, 0, sizeof(uint64_t) * REASON_MAX);
	if (fd < 0)
		return fd;
	for (unsigned r = 0; r < REASON_MAX; r++)
		if (bpf_map_lookup_elem(fd, &r, &v) == 0) {
			counts[r] = v.count;
			n++;
		}
	close(fd);
	return n;
}

struct metric {
	char daemon[32];
	char name[96];
	char value[32];
};

static bool metric_name_ok(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/*
 * The text of one metrics file. A daemon rewrites it in place (lib/metrics.h): when it carries a
 * "# check" line, a read that raced a rewrite fails the check and is retried. The file is opened
 * without following links and must be a regular file: the daemons are less trusted than we are.
 */
static ssize_t read_metrics_text(const char *path, char *buf, size_t cap)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		struct stat st;
		ssize_t n;

		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
			close(fd);
			return -EINVAL;
		}
		n = pread(fd, buf, cap - 1, 0);
		close(fd);
		if (n < 0)
			return -errno;
		buf[n] = '\0';
		if (!strstr(buf, "# check ") || metrics_text_valid(buf, (size_t)n))
			return n;
		usleep(2000);
	}
	return -EAGAIN;
}

/* Every valid "name value" line of each <run_dir>/DAEMON.metrics; malformed lines are skipped. */
static int read_metrics(const char *run_dir, struct metric *m, int max)
{
	char path[PATH_MAX + 300], text[8192], name[96], value[32];
	struct dirent *de;
	DIR *d = opendir(run_dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		size_t len = strlen(de->d_name);
		char *line, *save = NULL;

		if (len < 9 || strcmp(de->d_name + len - 8, ".metrics") || len - 8 >= sizeof(m->daemon))
			continue;
		snprintf(path, sizeof(path), "%s/%s", run_dir, de->d_name);
		if (read_metrics_text(path, text, sizeof(text)) < 0)
			continue;
		for (line = strtok_r(text, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
			char *end;

			if (sscanf(line, "%95s %31s", name, value) != 2 || !metric_name_ok(name))
				continue;
			/* Only plain decimal numbers: the value is copied into JSON as is. */
			strtod(value, &end);
			if (*end || value[strspn(value, "0123456789.eE+-")] || !isdigit((unsigned char)value[value[0] == '-']))
				continue;
			snprintf(m[n].daemon, sizeof(m[n].daemon), "%.*s", (int)(len - 8), de->d_name);
			snprintf(m[n].name, sizeof(m[n].name), "%s", name);
			snprintf(m[n].value, sizeof(m[n].value), "%s", value);
			n++;
		}
	}
	closedir(d);
	return n;
}

static void prom_daemon_name(const char *daemon, char *out, size_t len)
{
	size_t i = 0;

	for (; daemon[i] && i + 1 < len; i++)
		out[i] = isalnum((unsigned char)daemon[i]) ? daemon[i] : '_';
	out[i] = '\0';
}

int do_stats(int argc, char **argv)
{
	uint64_t counts[REASON_MAX];
	struct metric metrics[256];
	struct cage_paths p;
	bool prom = false;
	const char *name = NULL;
	int rc, nm;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--prometheus"))
			prom = true;
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else
			return cli_usage_error("stats", "unexpected argument '%s'", argv[i]);
	}
	if (!name)
		return cli_usage_error("stats", "no cage name");
	if (prom && json_output)
		return cli_usage_error("stats", "--json and --prometheus exclude each other");
	rc = cli_cage_lookup("stats", name, &p, true);
	if (rc)
		return rc;
	if (cli_read_stats(&p, counts) < 0) {
		p_err("stats: no pinned counters at %s/%s (is cage %s up?)", p.pin_dir, CAGE_PIN_STATS,
		      name);
		return 1;
	}
	nm = read_metrics(p.run_dir, metrics, 256);
	if (prom) {
		printf("# HELP cagectl_kernel_events_total Packets and sockets the BPF layer acted on, by reason.\n"
		       "# TYPE cagectl_kernel_events_total counter\n");
		for (unsigned r = 1; r < REASON_MAX; r++)
			printf("cagectl_kernel_events_total{cage=\"%s\",reason=\"%s\"} %llu\n", name,
			       cage_reason_name(r), (unsigned long long)counts[r]);
		for (int i = 0; i < nm; i++) {
			char d[32];

			prom_daemon_name(metrics[i].daemon, d, sizeof(d));
			printf("cagectl_%s_%s{cage=\"%s\"} %s\n", d, metrics[i].name, name,
			       metrics[i].value);
		}
		return 0;
	}
	if (json_output) {
		/* Counters stay top-level keys: scripts read `stats NAME --json` as a flat object. */
		printf("{");
		for (unsigned r = 1; r < REASON_MAX; r++)
			printf("%s\"%s\":%llu", r > 1 ? "," : "", cage_reason_name(r),
			       (unsigned long long)counts[r]);
		printf(",\"daemons\":{");
		for (int i = 0; i < nm; i++) {
			bool first_of_daemon = !i || strcmp(metrics[i].daemon, metrics[i - 1].daemon);

			if (first_of_daemon) {
				if (i)
					printf("},");
				json_write_string(stdout, metrics[i].daemon);
				printf(":{");
			} else {
				printf(",");
			}
			printf("\"%s\":%s", metrics[i].name, metrics[i].value);
		}
		printf("%s}}\n", nm ? "}" : "");
		return 0;
	}
	for (unsigned r = 1; r < REASON_MAX; r++)
		printf("%-24s %llu\n", cage_reason_name(r), (unsigned long long)counts[r]);
	for (int i = 0; i < nm; i++)
		printf("%s.%-*s %s\n", metrics[i].daemon,
		       (int)(23 > strlen(metrics[i].daemon) ? 23 - strlen(metrics[i].daemon) : 0),
		       metrics[i].name, metrics[i].value);
	return 0;
}
