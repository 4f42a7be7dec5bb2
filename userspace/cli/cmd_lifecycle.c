// SPDX-License-Identifier: GPL-2.0-only
/*
 * Daemon lifecycle and config changes of a running cage. The monitor owns the daemons; these
 * commands only signal it (the contract, see docs/cli.md): SIGUSR1 = stop the daemons and keep
 * enforcement, SIGUSR2 = start them, SIGHUP = reload <state_dir>/cage.yaml and relay to them.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "enforce/cage.h"
#include "enforce/cgroup.h"
#include "lib/log.h"

static int signal_cmd(const char *cmd, int argc, char **argv, const int *sigs, int n_sigs)
{
	struct cage_paths p;
	pid_t pid;
	int rc, err = 0;

	cli_strip_json(&argc, argv);
	if (argc != 1)
		return cli_usage_error(cmd, argc ? "unexpected argument '%s'" : "no cage name%s",
				       argc ? argv[1] : "");
	rc = cli_cage_lookup(cmd, argv[0], &p, true);
	if (rc)
		return rc;
	pid = cli_monitor_pid(&p);
	if (pid < 0) {
		p_err("%s %s: the cage's monitor is not running; enforcement stays, but nothing can "
		      "manage the daemons (see %s/monitor.log)", cmd, argv[0], p.log_dir);
		return 1;
	}
	for (int i = 0; i < n_sigs && !err; i++) {
		if (kill(pid, sigs[i]))
			err = -errno;
		/* Give the monitor time to stop the daemons before asking it to start them again. */
		if (i + 1 < n_sigs)
			usleep(300 * 1000);
	}
	if (err) {
		p_err("%s %s: can't signal the monitor (pid %d): %s", cmd, argv[0], (int)pid, strerror(-err));
		return 1;
	}
	if (json_output)
		printf("{\"name\":\"%s\",\"action\":\"%s\",\"monitor_pid\":%d}\n", argv[0], cmd, (int)pid);
	else
		p_info("%s %s: asked the monitor (pid %d)", cmd, argv[0], (int)pid);
	return 0;
}

int do_stop(int argc, char **argv)
{
	static const int sigs[] = { SIGUSR1 };

	return signal_cmd("stop", argc, argv, sigs, 1);
}

int do_start(int argc, char **argv)
{
	static const int sigs[] = { SIGUSR2 };

	return signal_cmd("start", argc, argv, sigs, 1);
}

int do_restart(int argc, char **argv)
{
	static const int sigs[] = { SIGUSR1, SIGUSR2 };

	return signal_cmd("restart", argc, argv, sigs, 2);
}

static bool ports_eq(const struct cage_port_list *a, const struct cage_port_list *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->v, b->v, a->n * sizeof(*a->v)));
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool strv_eq(const struct cage_strv *a, const struct cage_strv *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

static bool secrets_eq(const struct cage_config_file *a, const struct cage_config_file *b)
{
	if (a->n_secrets != b->n_secrets)
		return false;
	for (size_t i = 0; i < a->n_secrets; i++) {
		const struct cage_secret_rule *x = &a->secrets[i], *y = &b->secrets[i];

		if (strcmp(x->name, y->name) || !strv_eq(&x->inject_to, &y->inject_to) ||
		    !strv_eq(&x->inject_headers, &y->inject_headers) ||
		    x->inject_body != y->inject_body || !str_eq(x->placeholder, y->placeholder))
			return false;
	}
	return true;
}

static bool inspectors_eq(const struct cage_config_file *a, const struct cage_config_file *b)
{
	if (a->n_inspectors != b->n_inspectors)
		return false;
	for (size_t i = 0; i < a->n_inspectors; i++) {
		const struct cage_inspector *x = &a->inspectors[i], *y = &b->inspectors[i];

		if (strcmp(x->name, y->name) || x->enabled != y->enabled ||
		    !str_eq(x->config_yaml, y->config_yaml))
			return false;
	}
	return true;
}

static bool domains_eq(const struct cage_domain_list *a, const struct cage_domain_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].pattern, b->v[i].pattern) || a->v[i].expires_at != b->v[i].expires_at)
			return false;
	return true;
}

/* How a change takes effect: the daemons re-read the config on SIGHUP; some settings are read
 * only when a daemon starts (`cagectl restart`); the kernel layers only at `up`. */
enum apply { APPLY_LIVE, APPLY_RESTART, APPLY_DOWN_UP };

struct change {
	const char *what;
	enum apply how;
};

/* What differs between the running config and the new one, and whether `up` must redo it. */
static int config_diff(const struct cage_config_file *a, const struct cage_config_file *b,
		       struct change *out, int max)
{
	int n = 0;
#define CHANGED(cond, name, how) \
	do { if ((cond) && n < max) out[n++] = (struct change){ name, how }; } while (0)

	CHANGED(strcmp(a->name, b->name), "name", APPLY_DOWN_UP);
	CHANGED(!str_eq(a->pool4, b->pool4) || !str_eq(a->pool6, b->pool6), "network", APPLY_DOWN_UP);
	CHANGED(!ports_eq(&a->tcp_inspect, &b->tcp_inspect) ||
		!ports_eq(&a->tcp_passthrough, &b->tcp_passthrough) || !ports_eq(&a->udp, &b->udp) ||
		a->icmp != b->icmp || a->proxy_port != b->proxy_port ||
		a->explicit_port != b->explicit_port, "ports", APPLY_DOWN_UP);
	CHANGED(a->ipv6 != b->ipv6, "ipv6", APPLY_DOWN_UP);
	CHANGED(a->uid != b->uid || a->gid != b->gid, "user", APPLY_DOWN_UP);
	CHANGED(a->memory_max != b->memory_max || a->pids_max != b->pids_max ||
		a->cpus_milli != b->cpus_milli, "resources", APPLY_DOWN_UP);
	CHANGED(a->isolation != b->isolation, "isolation", APPLY_DOWN_UP);
	CHANGED(!domains_eq(&a->allow, &b->allow) || !domains_eq(&a->block, &b->block) ||
		!domains_eq(&a->passthrough, &b->passthrough), "domains", APPLY_LIVE);
	CHANGED(!secrets_eq(a, b), "secrets", APPLY_LIVE);
	CHANGED(!inspectors_eq(a, b), "inspectors", APPLY_LIVE);
	CHANGED(a->dns_deny != b->dns_deny || a->dns_rate_limit != b->dns_rate_limit ||
		a->dns_label_max != b->dns_label_max || a->dns_log_allowed != b->dns_log_allowed ||
		!strv_eq(&a->dns_upstream, &b->dns_upstream), "dns", APPLY_LIVE);
	/* cage-proxy opens the capture file when it starts; a reload only changes its limits. */
	CHANGED(a->capture != b->capture, "capture", b->capture ? APPLY_RESTART : APPLY_LIVE);
	CHANGED(a->capture_max_body != b->capture_max_body || a->log_level != b->log_level ||
		a->log_max_bytes != b->log_max_bytes, "logging", APPLY_LIVE);
	CHANGED(a->n_env != b->n_env || a->n_mounts != b->n_mounts || !str_eq(a->workdir, b->workdir) ||
		a->n_exec_aliases != b->n_exec_aliases || a->command.n != b->command.n,
		"workload (next exec)", APPLY_LIVE);
	CHANGED(a->ephemeral != b->ephemeral, "ephemeral", APPLY_LIVE);
	/* cage-proxy reads it with its policy; an idle one when it next starts. */
	CHANGED(a->proxy_idle_exit != b->proxy_idle_exit, "proxy.idle_exit", APPLY_LIVE);
	/* The monitor passes it to cage-proxy, from the config it read at `up`. */
	CHANGED(!str_eq(a->upstream_ca, b->upstream_ca), "proxy.upstream_ca", APPLY_DOWN_UP);
#undef CHANGED
	return n;
}

int do_update(int argc, char **argv)
{
	struct cage_config_file *cur = NULL, *next = NULL;
	struct cage_paths p;
	struct change ch[16];
	char cur_path[PATH_MAX + 16], *text = NULL;
	const char *name = NULL, *file = NULL;
	bool dry = false, down_up = false, restart = false;
	size_t len;
	int rc, n, err;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--dry-run"))
			dry = true;
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			return cli_usage_error("update", "unexpected argument '%s'", argv[i]);
	}
	if (!name || !file)
		return cli_usage_error("update", "%s", !name ? "no cage name" : "no config (-c CAGE.YAML)");
	rc = cli_cage_lookup("update", name, &p, true);
	if (rc)
		return rc;
	if (cli_load_config(file, &next))
		return 1;
	rc = 1;
	if (strcmp(next->name, name)) {
		p_err("update %s: %s is the config of cage '%s'; a new name needs 'down %s' and 'up'",
		      name, file, next->name, name);
		goto out;
	}
	snprintf(cur_path, sizeof(cur_path), "%s/cage.yaml", p.state_dir);
	if (cage_config_load(cur_path, &cur, &(struct cage_config_diag){ 0 }, NULL, NULL)) {
		p_warn("update %s: the running config copy %s is unreadable; treating everything as changed",
		       name, cur_path);
		n = 0;
		ch[n++] = (struct change){ "everything", APPLY_DOWN_UP };
	} else {
		n = config_diff(cur, next, ch, 16);
	}
	for (int i = 0; i < n; i++) {
		down_up |= ch[i].how == APPLY_DOWN_UP;
		restart |= ch[i].how == APPLY_RESTART;
	}
	if (!dry) {
		err = cli_read_file(file, &text, &len, 1 << 20);
		if (!err)
			/* 0644 as `up` writes it: the daemons re-read it as their own uid on SIGHUP. */
			err = cli_write_file_atomic(cur_path, text, len, 0644);
		if (err) {
			p_err("update %s: can't write %s: %s", name, cur_path, strerror(-err));
			goto out;
		}
		err = cli_signal_monitor(&p, SIGHUP);
		if (err)
			p_warn("update %s: the monitor is not running; the daemons keep the old config "
			       "until it is back", name);
	}
	if (json_output) {
		printf("{\"name\":\"%s\",\"applied\":%s,\"changed\":[", name, dry ? "false" : "true");
		for (int i = 0; i < n; i++)
			printf("%s\"%s\"", i ? "," : "", ch[i].what);
		printf("],\"needs_restart\":[");
		for (int i = 0, k = 0; i < n; i++)
			if (ch[i].how == APPLY_DOWN_UP)
				printf("%s\"%s\"", k++ ? "," : "", ch[i].what);
		printf("],\"needs_daemon_restart\":[");
		for (int i = 0, k = 0; i < n; i++)
			if (ch[i].how == APPLY_RESTART)
				printf("%s\"%s\"", k++ ? "," : "", ch[i].what);
		printf("]}\n");
	} else {
		static const char *const said[] = {
			[APPLY_LIVE] = "applied live", [APPLY_RESTART] = "needs restart",
			[APPLY_DOWN_UP] = "needs down/up",
		};

		if (!n)
			printf("%s: no changes\n", name);
		for (int i = 0; i < n; i++)
			printf("%s: %-22s %s\n", name, ch[i].what,
			       ch[i].how == APPLY_LIVE && dry ? "would apply live" : said[ch[i].how]);
		if (restart)
			printf("%s: run 'cagectl restart %s' for the changes marked 'needs restart' "
			       "(the daemons only; enforcement stays)\n", name, name);
		if (down_up)
			printf("%s: run 'cagectl down %s && cagectl up %s' for the changes marked "
			       "'needs down/up'\n", name, name, cur_path);
	}
	rc = 0;
out:
	free(text);
	cage_config_free(cur);
	cage_config_free(next);
	return rc;
}

int do_prune(int argc, char **argv)
{
	char names[256][64], cfg_path[PATH_MAX + 16], msg[512];
	bool dry = false, first = true;
	int n, rc = 0, pruned = 0;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--dry-run"))
			dry = true;
		else
			return cli_usage_error("prune", "unexpected argument '%s'", argv[i]);
	}
	n = cli_cage_names(names, 256);
	if (json_output)
		printf("[");
	for (int i = 0; i < n; i++) {
		struct cage_config_file *cfg = NULL;
		struct cage_paths p;
		int procs;

		if (cage_paths_init(&p, names[i]))
			continue;
		snprintf(cfg_path, sizeof(cfg_path), "%s/cage.yaml", p.state_dir);
		if (cage_config_load(cfg_path, &cfg, &(struct cage_config_diag){ 0 }, NULL, NULL))
			continue;
		procs = cgroup_nprocs(p.cgroup_mount, names[i]);
		if (cfg->ephemeral && procs <= 0 && cage_exists(&p)) {
			int err = dry ? 0 : cage_down(&p, msg, sizeof(msg));

			if (err) {
				p_err("prune: down %s: %s", names[i], msg);
				rc = 1;
			} else if (json_output) {
				printf("%s{\"name\":\"%s\",\"state\":\"%s\"}", first ? "" : ",", names[i],
				       dry ? "would-prune" : "down");
				first = false;
			} else {
				printf("%s %s\n", dry ? "would prune" : "pruned", names[i]);
			}
			pruned += !err;
		}
		cage_config_free(cfg);
	}
	if (json_output)
		printf("]\n");
	else if (!pruned)
		p_info("prune: no stopped ephemeral cage");
	return rc;
}
