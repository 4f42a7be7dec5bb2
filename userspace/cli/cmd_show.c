// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cagectl show`: everything about one cage in one place: the config copy, the addresses, the
 * domains with their expiry, whether each secret has a stored value (a file in
 * <state_dir>/secrets/, never the value), the pinned maps, the daemons and the counters.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cage/maps.h"
#include "cli/cli.h"
#include "config/config.h"
#include "enforce/bpf_loader.h"
#include "enforce/cage.h"
#include "enforce/cgroup.h"
#include "enforce/daemon.h"
#include "lib/json.h"
#include "lib/log.h"

#define SHOW_BUF (256 * 1024)

static void fmt_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool secret_stored(const struct cage_paths *p, const char *key)
{
	char path[PATH_MAX + 200];

	snprintf(path, sizeof(path), "%s/secrets/%s", p->state_dir, key);
	return access(path, F_OK) == 0;
}

/* An object as an array element: jb_open alone writes no separating comma. */
static void jb_elem_open(struct json_buf *jb)
{
	jb_raw(jb, NULL, "");
	jb_open(jb);
}

static void domains_json(struct json_buf *jb, const char *key, const struct cage_domain_list *l)
{
	char t[32];

	jb_key(jb, key);
	jb_array_open(jb);
	for (size_t i = 0; i < l->n; i++) {
		jb_elem_open(jb);
		jb_str(jb, "domain", l->v[i].pattern);
		if (l->v[i].expires_at) {
			fmt_time(l->v[i].expires_at, t, sizeof(t));
			jb_str(jb, "expires", t);
			jb_bool(jb, "expired", l->v[i].expires_at <= time(NULL));
		}
		jb_close(jb);
	}
	jb_array_close(jb);
}

static void domains_text(const char *title, const struct cage_domain_list *l)
{
	char t[32];

	if (!l->n)
		return;
	printf("  %s:\n", title);
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].expires_at) {
			fmt_time(l->v[i].expires_at, t, sizeof(t));
			printf("    %-40s %s %s\n", l->v[i].pattern,
			       l->v[i].expires_at <= time(NULL) ? "expired" : "expires", t);
		} else {
			printf("    %s\n", l->v[i].pattern);
		}
	}
}

/*
 * Calls fn once per daemon of the run dir, by its pid file (DAEMON.pid) or its idle marker
 * (DAEMON.idle: exited under proxy.idle_exit, started by the next connection): name, pid, state.
 */
static void each_daemon(const struct cage_paths *p,
			void (*fn)(const char *name, pid_t pid, const char *state, void *arg),
			void *arg)
{
	char path[PATH_MAX + 300], names[32][64];
	struct dirent *de;
	DIR *d = opendir(p->run_dir);
	int n = 0;

	if (!d)
		return;
	while ((de = readdir(d)) && n < 32) {
		size_t len = strlen(de->d_name), suffix = 0;

		if (len > 4 && !strcmp(de->d_name + len - 4, ".pid"))
			suffix = 4;
		else if (len > 5 && !strcmp(de->d_name + len - 5, ".idle"))
			suffix = 5;
		if (suffix && len < 64)
			snprintf(names[n++], 64, "%.*s", (int)(len - suffix), de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, 64, (int (*)(const void *, const void *))strcmp);
	for (int i = 0; i < n; i++) {
		enum daemon_state st;
		pid_t pid;

		if (i && !strcmp(names[i], names[i - 1]))
			continue;   /* both files for a moment, during a wake-up */
		st = daemon_state(p->run_dir, names[i], &pid);
		if (st != DAEMON_RUNNING) {
			/* A stale pid file still names its pid, as before. */
			snprintf(path, sizeof(path), "%s/%s.pid", p->run_dir, names[i]);
			pid = pidfile_read(path);
		}
		fn(names[i], pid > 0 ? pid : 0, daemon_state_name(st), arg);
	}
}

static void daemon_json(const char *name, pid_t pid, const char *state, void *arg)
{
	struct json_buf *jb = arg;

	jb_elem_open(jb);
	jb_str(jb, "name", name);
	jb_int(jb, "pid", pid);
	jb_bool(jb, "alive", !strcmp(state, "running"));
	jb_str(jb, "state", state);
	jb_close(jb);
}

static void daemon_text(const char *name, pid_t pid, const char *state, void *arg)
{
	(void)arg;
	printf("    %-14s pid %-8d %s\n", name, (int)pid, state);
}

static int pinned_maps(const struct cage_paths *p, char names[][64], int max)
{
	struct dirent *de;
	DIR *d = opendir(p->pin_dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max)
		if (de->d_name[0] != '.')
			snprintf(names[n++], 64, "%s", de->d_name);
	closedir(d);
	qsort(names, (size_t)n, 64, (int (*)(const void *, const void *))strcmp);
	return n;
}

static void show_json(const struct cage_paths *p, const struct cage_config_file *cfg,
		      const struct cage_state *st, bool up)
{
	char *buf = malloc(SHOW_BUF), addr[INET6_ADDRSTRLEN], pins[32][64];
	uint64_t counts[REASON_MAX];
	struct json_buf jb;
	pid_t mon = cli_monitor_pid(p);
	int np, nprocs = cgroup_nprocs(p->cgroup_mount, p->name);

	if (!buf) {
		p_err("show: out of memory");
		return;
	}
	jb_init(&jb, buf, SHOW_BUF);
	jb_open(&jb);
	jb_str(&jb, "name", p->name);
	jb_str(&jb, "state", up ? (mon > 0 ? "running" : "enforcing-unmonitored") : "down");
	jb_int(&jb, "monitor_pid", mon > 0 ? mon : 0);
	jb_int(&jb, "processes", nprocs < 0 ? 0 : nprocs);
	jb_str(&jb, "state_dir", p->state_dir);
	jb_str(&jb, "log_dir", p->log_dir);
	if (up) {
		inet_ntop(AF_INET, &st->addrs.cage4, addr, sizeof(addr));
		jb_str(&jb, "ipv4", addr);
		inet_ntop(AF_INET, &st->addrs.gw4, addr, sizeof(addr));
		jb_str(&jb, "gateway4", addr);
		if (st->ipv6) {
			inet_ntop(AF_INET6, st->addrs.cage6, addr, sizeof(addr));
			jb_str(&jb, "ipv6", addr);
			inet_ntop(AF_INET6, st->addrs.gw6, addr, sizeof(addr));
			jb_str(&jb, "gateway6", addr);
		}
		jb_int(&jb, "created_at", st->created_at);
	}
	if (cfg) {
		jb_key(&jb, "config");
		jb_open(&jb);
		jb_bool(&jb, "ephemeral", cfg->ephemeral);
		jb_int(&jb, "uid", cfg->uid);
		jb_int(&jb, "gid", cfg->gid);
		jb_str(&jb, "workdir", cfg->workdir);
		jb_bool(&jb, "ipv6", cfg->ipv6);
		jb_bool(&jb, "capture", cfg->capture);
		jb_int(&jb, "mounts", (int64_t)cfg->n_mounts);
		jb_key(&jb, "tcp_inspect");
		jb_array_open(&jb);
		for (size_t i = 0; i < cfg->tcp_inspect.n; i++) {
			char num[8];

			snprintf(num, sizeof(num), "%u", cfg->tcp_inspect.v[i]);
			jb_raw(&jb, NULL, num);
		}
		jb_array_close(&jb);
		jb_key(&jb, "exec_aliases");
		jb_array_open(&jb);
		for (size_t i = 0; i < cfg->n_exec_aliases; i++)
			jb_array_str(&jb, cfg->exec_aliases[i].name);
		jb_array_close(&jb);
		jb_close(&jb);
		jb_key(&jb, "domains");
		jb_open(&jb);
		domains_json(&jb, "allow", &cfg->allow);
		domains_json(&jb, "block", &cfg->block);
		domains_json(&jb, "passthrough", &cfg->passthrough);
		jb_close(&jb);
		jb_key(&jb, "secrets");
		jb_array_open(&jb);
		for (size_t i = 0; i < cfg->n_secrets; i++) {
			jb_elem_open(&jb);
			jb_str(&jb, "name", cfg->secrets[i].name);
			jb_bool(&jb, "stored", secret_stored(p, cfg->secrets[i].name));
			jb_key(&jb, "inject_to");
			jb_array_open(&jb);
			for (size_t k = 0; k < cfg->secrets[i].inject_to.n; k++)
				jb_array_str(&jb, cfg->secrets[i].inject_to.v[k]);
			jb_array_close(&jb);
			jb_close(&jb);
		}
		jb_array_close(&jb);
	}
	np = pinned_maps(p, pins, 32);
	jb_key(&jb, "pins");
	jb_array_open(&jb);
	for (int i = 0; i < np; i++)
		jb_array_str(&jb, pins[i]);
	jb_array_close(&jb);
	jb_key(&jb, "daemons");
	jb_array_open(&jb);
	each_daemon(p, daemon_json, &jb);
	jb_array_close(&jb);
	if (up && cli_read_stats(p, counts) > 0) {
		jb_key(&jb, "counters");
		jb_open(&jb);
		for (unsigned r = 1; r < REASON_MAX; r++)
			jb_uint(&jb, cage_reason_name(r), counts[r]);
		jb_close(&jb);
	}
	jb_close(&jb);
	puts(jb_finish(&jb) ? buf : "{\"error\":\"show: output too long\"}");
	free(buf);
}

static void show_text(const struct cage_paths *p, const struct cage_config_file *cfg,
		      const struct cage_state *st, bool up)
{
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN], pins[32][64];
	uint64_t counts[REASON_MAX];
	pid_t mon = cli_monitor_pid(p);
	int np, nprocs = cgroup_nprocs(p->cgroup_mount, p->name);

	printf("%s: %s\n", p->name, up ? (mon > 0 ? "running" : "enforcing-unmonitored") : "down");
	if (up) {
		inet_ntop(AF_INET, &st->addrs.cage4, a4, sizeof(a4));
		inet_ntop(AF_INET6, st->addrs.cage6, a6, sizeof(a6));
		printf("  address:    %s%s%s\n", a4, st->ipv6 ? ", " : "", st->ipv6 ? a6 : "");
		inet_ntop(AF_INET, &st->addrs.gw4, a4, sizeof(a4));
		inet_ntop(AF_INET6, st->addrs.gw6, a6, sizeof(a6));
		printf("  gateway:    %s%s%s\n", a4, st->ipv6 ? ", " : "", st->ipv6 ? a6 : "");
	}
	printf("  processes:  %d\n", nprocs < 0 ? 0 : nprocs);
	printf("  state dir:  %s\n  log dir:    %s\n", p->state_dir, p->log_dir);
	if (cfg) {
		printf("  user:       %u:%u\n", cfg->uid, cfg->gid);
		if (cfg->workdir)
			printf("  workdir:    %s\n", cfg->workdir);
		printf("  ephemeral:  %s\n  ipv6:       %s\n  capture:    %s\n",
		       cfg->ephemeral ? "yes" : "no", cfg->ipv6 ? "yes" : "no", cfg->capture ? "yes" : "no");
		printf("  tcp ports:  ");
		for (size_t i = 0; i < cfg->tcp_inspect.n; i++)
			printf("%s%u", i ? ", " : "", cfg->tcp_inspect.v[i]);
		printf(" (inspected)\n");
		if (cfg->n_exec_aliases) {
			printf("  exec aliases:");
			for (size_t i = 0; i < cfg->n_exec_aliases; i++)
				printf(" %s", cfg->exec_aliases[i].name);
			printf("\n");
		}
		printf("domains:\n");
		domains_text("allow", &cfg->allow);
		domains_text("block", &cfg->block);
		domains_text("passthrough", &cfg->passthrough);
		if (cfg->n_secrets) {
			printf("secrets:\n");
			for (size_t i = 0; i < cfg->n_secrets; i++) {
				printf("  %-24s %-8s", cfg->secrets[i].name,
				       secret_stored(p, cfg->secrets[i].name) ? "stored" : "MISSING");
				for (size_t k = 0; k < cfg->secrets[i].inject_to.n; k++)
					printf("%s%s", k ? ", " : " → ", cfg->secrets[i].inject_to.v[k]);
				printf("\n");
			}
		}
	}
	np = pinned_maps(p, pins, 32);
	if (np) {
		printf("pins (%s):\n ", p->pin_dir);
		for (int i = 0; i < np; i++)
			printf(" %s", pins[i]);
		printf("\n");
	}
	printf("daemons:\n");
	each_daemon(p, daemon_text, NULL);
	if (up && cli_read_stats(p, counts) > 0) {
		printf("counters:\n");
		for (unsigned r = 1; r < REASON_MAX; r++)
			if (counts[r])
				printf("  %-24s %llu\n", cage_reason_name(r), (unsigned long long)counts[r]);
	}
}

int do_show(int argc, char **argv)
{
	struct cage_config_file *cfg = NULL;
	struct cage_paths p;
	struct cage_state st;
	char path[PATH_MAX + 16];
	bool up;
	int rc;

	cli_strip_json(&argc, argv);
	if (argc != 1)
		return cli_usage_error("show", argc ? "unexpected argument '%s'" : "no cage name%s",
				       argc ? argv[1] : "");
	rc = cli_cage_lookup("show", argv[0], &p, false);
	if (rc)
		return rc;
	up = cage_state_read(p.state_file, &st) == 0;
	snprintf(path, sizeof(path), "%s/cage.yaml", p.state_dir);
	if (cage_config_load(path, &cfg, &(struct cage_config_diag){ 0 }, NULL, NULL))
		p_warn("show %s: no readable config copy at %s", argv[0], path);
	json_output ? show_json(&p, cfg, &st, up) : show_text(&p, cfg, &st, up);
	cage_config_free(cfg);
	return 0;
}
