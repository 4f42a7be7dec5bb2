// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli/cli.h"
#include "config/config.h"
#include "enforce/bpf_loader.h"
#include "enforce/cage.h"
#include "enforce/cgroup.h"
#include "enforce/daemon.h"
#include "lib/json.h"
#include "lib/log.h"

struct cage_view {
	struct cage_paths p;
	struct cage_state st;
	bool have_state, layers_ok, monitor_alive;
	char what[512];
	pid_t monitor;
	int nprocs;
};

static void view_load(struct cage_view *v, const char *name)
{
	memset(v, 0, sizeof(*v));
	cage_paths_init(&v->p, name);
	v->have_state = cage_state_read(v->p.state_file, &v->st) == 0;
	if (v->have_state)
		v->layers_ok = cage_verify(&v->p, &v->st, v->what, sizeof(v->what)) == 0;
	else
		snprintf(v->what, sizeof(v->what), "no state file %s", v->p.state_file);
	v->monitor = pidfile_read(v->p.monitor_pid);
	v->monitor_alive = v->monitor > 0 && pid_runs(v->monitor, "cagectl");
	v->nprocs = cgroup_nprocs(v->p.cgroup_mount, name);
}

static const char *view_state(const struct cage_view *v)
{
	if (!v->have_state)
		return "broken";
	if (!v->layers_ok)
		return "degraded";
	return v->monitor_alive ? "running" : "enforcing-unmonitored";
}

/* Reads every counter of the pinned stats map; returns how many were read. */
static int read_stats(const struct cage_paths *p, uint64_t counts[REASON_MAX])
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

static void print_view_json(const struct cage_view *v, bool detail)
{
	char buf[8192], addr[INET6_ADDRSTRLEN];
	uint64_t counts[REASON_MAX];
	struct json_buf jb;

	jb_init(&jb, buf, sizeof(buf));
	jb_open(&jb);
	jb_str(&jb, "name", v->p.name);
	jb_str(&jb, "state", view_state(v));
	if (!v->layers_ok)
		jb_str(&jb, "problem", v->what);
	jb_int(&jb, "monitor_pid", v->monitor_alive ? v->monitor : 0);
	jb_int(&jb, "processes", v->nprocs < 0 ? 0 : v->nprocs);
	if (v->have_state) {
		inet_ntop(AF_INET, &v->st.addrs.cage4, addr, sizeof(addr));
		jb_str(&jb, "ipv4", addr);
		inet_ntop(AF_INET, &v->st.addrs.gw4, addr, sizeof(addr));
		jb_str(&jb, "gateway4", addr);
		if (v->st.ipv6) {
			inet_ntop(AF_INET6, v->st.addrs.cage6, addr, sizeof(addr));
			jb_str(&jb, "ipv6", addr);
			inet_ntop(AF_INET6, v->st.addrs.gw6, addr, sizeof(addr));
			jb_str(&jb, "gateway6", addr);
		}
		jb_str(&jb, "host_ifname", v->st.addrs.host_ifname);
		jb_str(&jb, "config", v->st.config_path);
		jb_int(&jb, "created_at", v->st.created_at);
	}
	if (detail && read_stats(&v->p, counts) > 0) {
		jb_key(&jb, "counters");
		jb_open(&jb);
		for (unsigned r = 1; r < REASON_MAX; r++)
			jb_uint(&jb, cage_reason_name(r), counts[r]);
		jb_close(&jb);
	}
	jb_close(&jb);
	puts(jb_finish(&jb) ? buf : "{\"error\":\"status too long\"}");
}

static void print_view_text(const struct cage_view *v, bool detail)
{
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	uint64_t counts[REASON_MAX];

	printf("%s: %s\n", v->p.name, view_state(v));
	if (!v->layers_ok)
		printf("  problem:   %s\n", v->what);
	if (!v->have_state)
		return;
	inet_ntop(AF_INET, &v->st.addrs.cage4, a4, sizeof(a4));
	inet_ntop(AF_INET6, v->st.addrs.cage6, a6, sizeof(a6));
	printf("  address:   %s%s%s (veth %s)\n", a4, v->st.ipv6 ? ", " : "", v->st.ipv6 ? a6 : "",
	       v->st.addrs.host_ifname);
	printf("  monitor:   %s (pid %d)\n", v->monitor_alive ? "running" : "not running",
	       v->monitor_alive ? v->monitor : 0);
	printf("  processes: %d\n", v->nprocs < 0 ? 0 : v->nprocs);
	printf("  pins:      %s\n", v->p.pin_dir);
	if (detail && read_stats(&v->p, counts) > 0) {
		printf("  counters:\n");
		for (unsigned r = 1; r < REASON_MAX; r++)
			if (counts[r])
				printf("    %-24s %llu\n", cage_reason_name(r), (unsigned long long)counts[r]);
	}
}

/* Names of cages that have a run directory, sorted. */
static int cage_names(char names[][64], int max)
{
	struct cage_paths roots;
	struct dirent *de;
	DIR *d;
	int n = 0;

	cage_paths_roots(&roots);
	d = opendir(roots.run_root);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max)
		if (de->d_name[0] != '.' && cage_name_valid(de->d_name))
			snprintf(names[n++], 64, "%s", de->d_name);
	closedir(d);
	qsort(names, (size_t)n, 64, (int (*)(const void *, const void *))strcmp);
	return n;
}

static void strip_json_flag(int *argc, char **argv)
{
	int j = 0;

	for (int i = 0; i < *argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json_output = log_json = true;
		else
			argv[j++] = argv[i];
	}
	*argc = j;
}

int do_status(int argc, char **argv)
{
	char names[256][64];
	struct cage_view v;
	int n, rc = 0;

	strip_json_flag(&argc, argv);
	if (argc > 0) {
		if (!cage_name_valid(argv[0])) {
			p_err("status: '%s' is not a cage name", argv[0]);
			return EXIT_USAGE;
		}
		view_load(&v, argv[0]);
		if (!cage_exists(&v.p)) {
			p_err("status: no cage named %s", argv[0]);
			return 1;
		}
		json_output ? print_view_json(&v, true) : print_view_text(&v, true);
		return v.layers_ok ? 0 : 1;
	}
	n = cage_names(names, 256);
	if (json_output)
		printf("[");
	for (int i = 0; i < n; i++) {
		view_load(&v, names[i]);
		if (json_output && i)
			printf(",");
		json_output ? print_view_json(&v, true) : print_view_text(&v, true);
		rc |= !v.layers_ok;
	}
	if (json_output)
		printf("]\n");
	else if (!n)
		printf("no cages\n");
	return rc;
}

int do_list(int argc, char **argv)
{
	char names[256][64];
	struct cage_view v;
	int n;

	strip_json_flag(&argc, argv);
	n = cage_names(names, 256);
	if (json_output)
		printf("[");
	else if (n)
		printf("%-24s %-22s %-16s %s\n", "NAME", "STATE", "ADDRESS", "PROCESSES");
	for (int i = 0; i < n; i++) {
		char a4[INET_ADDRSTRLEN] = "-";

		view_load(&v, names[i]);
		if (v.have_state)
			inet_ntop(AF_INET, &v.st.addrs.cage4, a4, sizeof(a4));
		if (json_output) {
			printf("%s", i ? "," : "");
			print_view_json(&v, false);
		} else {
			printf("%-24s %-22s %-16s %d\n", names[i], view_state(&v), a4,
			       v.nprocs < 0 ? 0 : v.nprocs);
		}
	}
	if (json_output)
		printf("]\n");
	return 0;
}

int do_stats(int argc, char **argv)
{
	uint64_t counts[REASON_MAX];
	struct cage_paths p;

	strip_json_flag(&argc, argv);
	if (argc < 1 || !cage_name_valid(argv[0])) {
		p_err("stats: usage: cagectl stats NAME [--json]");
		return EXIT_USAGE;
	}
	cage_paths_init(&p, argv[0]);
	if (read_stats(&p, counts) < 0) {
		p_err("stats: no pinned counters at %s/%s (is cage %s up?)", p.pin_dir, CAGE_PIN_STATS,
		      argv[0]);
		return 1;
	}
	if (json_output)
		printf("{");
	for (unsigned r = 1; r < REASON_MAX; r++) {
		if (json_output)
			printf("%s\"%s\":%llu", r > 1 ? "," : "", cage_reason_name(r),
			       (unsigned long long)counts[r]);
		else
			printf("%-24s %llu\n", cage_reason_name(r), (unsigned long long)counts[r]);
	}
	if (json_output)
		printf("}\n");
	return 0;
}

int do_audit(int argc, char **argv)
{
	struct cage_paths p;
	char line[16384];
	long n = -1, total = 0, i = 0;
	FILE *f;

	strip_json_flag(&argc, argv);
	if (argc >= 3 && !strcmp(argv[1], "-n")) {
		n = strtol(argv[2], NULL, 10);
	} else if (argc != 1) {
		p_err("audit: usage: cagectl audit NAME [-n N]");
		return EXIT_USAGE;
	}
	if (!cage_name_valid(argv[0])) {
		p_err("audit: '%s' is not a cage name", argv[0]);
		return EXIT_USAGE;
	}
	cage_paths_init(&p, argv[0]);
	f = fopen(p.audit_file, "re");
	if (!f) {
		p_err("audit: can't open %s: %s", p.audit_file, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f))
		total++;
	rewind(f);
	while (fgets(line, sizeof(line), f))
		if (n < 0 || i++ >= total - n)
			fputs(line, stdout);
	fclose(f);
	return 0;
}

int do_validate(int argc, char **argv)
{
	struct cage_config_file *cfg;
	int rc = 0;

	strip_json_flag(&argc, argv);
	if (argc < 1) {
		p_err("validate: usage: cagectl validate CAGE.YAML...");
		return EXIT_USAGE;
	}
	for (int i = 0; i < argc; i++) {
		if (cli_load_config(argv[i], &cfg)) {
			rc = 1;
			continue;
		}
		if (json_output)
			printf("{\"file\":\"%s\",\"name\":\"%s\",\"valid\":true}\n", argv[i], cfg->name);
		else
			printf("%s: ok (cage %s)\n", argv[i], cfg->name);
		cage_config_free(cfg);
	}
	return rc;
}
