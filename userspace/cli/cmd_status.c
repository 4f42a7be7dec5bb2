// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
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

static const char *const daemon_names[] = { "cage-proxy", "cage-dns" };
static const char *const daemon_labels[] = { "proxy:", "dns:" };

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
	if (v->monitor_alive) {
		jb_key(&jb, "daemons");
		jb_open(&jb);
		for (size_t i = 0; i < 2; i++) {
			pid_t pid;

			jb_str(&jb, daemon_names[i],
			       daemon_state_name(daemon_state(v->p.run_dir, daemon_names[i], &pid)));
		}
		jb_close(&jb);
	}
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
	if (detail && cli_read_stats(&v->p, counts) > 0) {
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
	for (size_t i = 0; v->monitor_alive && i < 2; i++) {
		pid_t pid;
		enum daemon_state st = daemon_state(v->p.run_dir, daemon_names[i], &pid);

		if (st == DAEMON_RUNNING)
			printf("  %-10s running (pid %d)\n", daemon_labels[i], (int)pid);
		else if (st == DAEMON_IDLE)
			printf("  %-10s idle: no connection for proxy.idle_exit; the next one starts it\n",
			       daemon_labels[i]);
		else
			printf("  %-10s not running\n", daemon_labels[i]);
	}
	printf("  processes: %d\n", v->nprocs < 0 ? 0 : v->nprocs);
	printf("  pins:      %s\n", v->p.pin_dir);
	if (detail && cli_read_stats(&v->p, counts) > 0) {
		printf("  counters:\n");
		for (unsigned r = 1; r < REASON_MAX; r++)
			if (counts[r])
				printf("    %-24s %llu\n", cage_reason_name(r), (unsigned long long)counts[r]);
	}
}

int do_status(int argc, char **argv)
{
	char names[256][64];
	struct cage_view v;
	int n, rc = 0;

	cli_strip_json(&argc, argv);
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
	n = cli_cage_names(names, 256);
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

	cli_strip_json(&argc, argv);
	n = cli_cage_names(names, 256);
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

int do_validate(int argc, char **argv)
{
	struct cage_config_file *cfg;
	int rc = 0;

	cli_strip_json(&argc, argv);
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
