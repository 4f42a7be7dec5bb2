// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cagectl domain list|add|rm`: edits the domains of <state_dir>/cage.yaml in place (comments and
 * layout kept), validates the result as `up` would, replaces the file atomically and sends the
 * monitor SIGHUP, which relays the reload to cage-proxy and cage-dns. An expiring entry is written
 * with an absolute `expires` time so a reload never extends it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "config/config.h"
#include "enforce/cage.h"
#include "lib/json.h"
#include "lib/log.h"
#include "scaffolds/yaml_edit.h"

static int domain_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_print_usage("domain");
}

static void list_json(const char *key, const struct cage_domain_list *l, bool first)
{
	char t[32];

	printf("%s\"%s\":[", first ? "" : ",", key);
	for (size_t i = 0; i < l->n; i++) {
		printf("%s{\"domain\":", i ? "," : "");
		json_write_string(stdout, l->v[i].pattern);
		if (l->v[i].expires_at) {
			time_t tt = (time_t)l->v[i].expires_at;
			struct tm tm;

			gmtime_r(&tt, &tm);
			strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf(",\"expires\":\"%s\",\"expired\":%s", t,
			       l->v[i].expires_at <= time(NULL) ? "true" : "false");
		}
		printf("}");
	}
	printf("]");
}

static void list_text(const char *key, const struct cage_domain_list *l)
{
	char t[32];

	for (size_t i = 0; i < l->n; i++) {
		printf("%-12s %s", key, l->v[i].pattern);
		if (l->v[i].expires_at) {
			time_t tt = (time_t)l->v[i].expires_at;
			struct tm tm;

			gmtime_r(&tt, &tm);
			strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf("  (%s %s)", l->v[i].expires_at <= time(NULL) ? "expired" : "expires", t);
		}
		printf("\n");
	}
}

static int load_copy(const char *cmd, const char *name, struct cage_paths *p, char *path, size_t len,
		     struct cage_config_file **cfg)
{
	struct cage_config_diag diag = { 0 };
	char buf[1024];
	int rc = cli_cage_lookup(cmd, name, p, false);

	if (rc)
		return rc;
	snprintf(path, len, "%s/cage.yaml", p->state_dir);
	if (cage_config_load(path, cfg, &diag, NULL, NULL)) {
		cage_config_diag_format(&diag, buf, sizeof(buf));
		p_err("%s %s: the cage's config copy is unusable: %s", cmd, name, buf);
		return 1;
	}
	return 0;
}

static int domain_list(int argc, char **argv)
{
	struct cage_config_file *cfg = NULL;
	struct cage_paths p;
	char path[PATH_MAX + 16];
	int rc;

	cli_strip_json(&argc, argv);
	if (argc != 1)
		return cli_usage_error("domain", "list takes one cage name");
	rc = load_copy("domain list", argv[0], &p, path, sizeof(path), &cfg);
	if (rc)
		return rc;
	if (json_output) {
		printf("{\"name\":\"%s\",", argv[0]);
		list_json("allow", &cfg->allow, true);
		list_json("block", &cfg->block, false);
		list_json("passthrough", &cfg->passthrough, false);
		printf("}\n");
	} else {
		list_text("allow", &cfg->allow);
		list_text("block", &cfg->block);
		list_text("passthrough", &cfg->passthrough);
	}
	cage_config_free(cfg);
	return 0;
}

static int domain_edit(int argc, char **argv, bool add)
{
	const char *cmd = add ? "domain add" : "domain rm", *list = "allow", *name = NULL;
	const char *domains[128];
	struct cage_config_file *cfg = NULL, *check = NULL;
	struct cage_config_diag diag = { 0 };
	struct cage_paths p;
	char path[PATH_MAX + 16], buf[1024], *text = NULL;
	int64_t ttl = 0, expires_at = 0;
	int n = 0, rc, err;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--passthrough")) {
			list = "passthrough";
		} else if (!strcmp(argv[i], "--block")) {
			list = "block";
		} else if (!strcmp(argv[i], "--expires-in") && i + 1 < argc && add) {
			ttl = cli_parse_duration(argv[++i]);
			if (ttl < 0)
				return cli_usage_error("domain", "bad duration '%s' (a number with s, m, h, d "
						       "or w: 30m, 2h, 1d)", argv[i]);
		} else if (argv[i][0] != '-' && !name) {
			name = argv[i];
		} else if (argv[i][0] != '-' && n < 128) {
			domains[n++] = argv[i];
		} else {
			return cli_usage_error("domain", "unexpected argument '%s'", argv[i]);
		}
	}
	if (!name || !n)
		return cli_usage_error("domain", "%s needs a cage name and at least one domain",
				       add ? "add" : "rm");
	rc = load_copy(cmd, name, &p, path, sizeof(path), &cfg);
	if (rc)
		return rc;
	rc = 1;
	err = cli_read_file(path, &text, NULL, 1 << 20);
	if (err) {
		p_err("%s %s: can't read %s: %s", cmd, name, path, strerror(-err));
		goto out;
	}
	if (ttl)
		expires_at = (int64_t)time(NULL) + ttl;
	for (int i = 0; i < n; i++) {
		err = add ? yaml_domain_add(&text, list, domains[i], expires_at)
			  : yaml_domain_rm(&text, list, domains[i]);
		if (err == -EEXIST) {
			p_err("%s %s: %s is already in domains.%s", cmd, name, domains[i], list);
			goto out;
		} else if (err == -ENOENT) {
			p_err("%s %s: %s is not in domains.%s", cmd, name, domains[i], list);
			goto out;
		} else if (err == -ENOTSUP) {
			p_err("%s %s: %s writes domains.%s in a form this command can't edit (use block "
			      "lists or one-line [a, b] lists); edit it and run 'cagectl update'",
			      cmd, name, path, list);
			goto out;
		} else if (err) {
			p_err("%s %s: %s", cmd, name, strerror(-err));
			goto out;
		}
	}
	/* The edit must load exactly as `up` loads it, or the file is left alone. */
	if (cage_config_parse(path, text, strlen(text), &check, &diag, NULL, NULL)) {
		cage_config_diag_format(&diag, buf, sizeof(buf));
		p_err("%s %s: the change would make the config invalid: %s", cmd, name, buf);
		goto out;
	}
	/* 0644 as `up` writes it: the daemons re-read it as their own uid on SIGHUP. */
	err = cli_write_file_atomic(path, text, strlen(text), 0644);
	if (err) {
		p_err("%s %s: can't write %s: %s", cmd, name, path, strerror(-err));
		goto out;
	}
	err = cli_signal_monitor(&p, SIGHUP);
	if (err && cage_exists(&p))
		p_warn("%s %s: the monitor is not running; the daemons pick the change up when it is back",
		       cmd, name);
	if (json_output) {
		printf("{\"name\":\"%s\",\"list\":\"%s\",\"action\":\"%s\",\"domains\":[", name, list,
		       add ? "add" : "rm");
		for (int i = 0; i < n; i++) {
			printf("%s", i ? "," : "");
			json_write_string(stdout, domains[i]);
		}
		printf("],\"reloaded\":%s", err ? "false" : "true");
		if (expires_at)
			printf(",\"expires_at\":%lld", (long long)expires_at);
		printf("}\n");
	} else {
		for (int i = 0; i < n; i++)
			p_info("%s %s: %s %s domains.%s%s", cmd, name, domains[i], add ? "added to" : "removed from",
			       list, ttl ? " (expiring)" : "");
	}
	rc = 0;
out:
	free(text);
	cage_config_free(check);
	cage_config_free(cfg);
	return rc;
}

static int domain_add(int argc, char **argv)
{
	return domain_edit(argc, argv, true);
}

static int domain_rm(int argc, char **argv)
{
	return domain_edit(argc, argv, false);
}

static const struct cmd domain_cmds[] = {
	{ "list", domain_list },
	{ "ls", domain_list },
	{ "add", domain_add },
	{ "rm", domain_rm },
	{ "remove", domain_rm },
	{ "delete", domain_rm },
	{ "help", domain_help },
	{ NULL, NULL },
};

int do_domain(int argc, char **argv)
{
	return cmd_select(domain_cmds, argc, argv, domain_help);
}
