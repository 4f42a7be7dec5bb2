// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "enforce/cage.h"
#include "enforce/monitor.h"
#include "lib/log.h"
#include "secrets/secrets.h"

static void up_warning(const char *msg, void *arg)
{
	(void)arg;
	p_warn("%s", msg);
}

/* Keeps a copy of the config next to the cage's CA and secrets. */
static void keep_config_copy(const char *src, const struct cage_paths *p)
{
	char dst[PATH_MAX + 16], buf[8192];
	int in, out;
	ssize_t n;

	snprintf(dst, sizeof(dst), "%s/cage.yaml", p->state_dir);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return;
	/* The daemons re-read it after dropping root (SIGHUP); it holds no secret values. */
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out >= 0) {
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n)
				break;
		close(out);
	}
	close(in);
}

int do_up(int argc, char **argv)
{
	struct cage_config_file *cfg = NULL;
	const char *file = NULL;
	struct cage_paths paths;
	struct cage_state st;
	bool foreground = false;
	char msg[1024], down_msg[512];
	int err;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--foreground") || !strcmp(argv[i], "-f"))
			foreground = true;
		else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			file = argv[++i];
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else {
			p_err("up: unexpected argument '%s'; usage: cagectl up CAGE.YAML [--foreground]", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!file) {
		p_err("up: no config; usage: cagectl up CAGE.YAML [--foreground]");
		return EXIT_USAGE;
	}
	if (cli_load_config(file, &cfg))
		return 1;
	err = cage_paths_init(&paths, cfg->name);
	if (err) {
		p_err("can't find a cgroup v2 mount in /proc/self/mountinfo: %s", strerror(-err));
		goto out;
	}
	/* A config that names a secret with no stored value would inject nothing: refuse it. */
	err = secrets_check_config(cfg, paths.state_dir, msg, sizeof(msg));
	if (err) {
		p_err("up %s: %s", cfg->name, msg);
		goto out;
	}
	err = cage_up(cfg, &paths, &st, msg, sizeof(msg), up_warning, NULL);
	if (err) {
		p_err("up %s: %s", cfg->name, msg);
		goto out;
	}
	keep_config_copy(file, &paths);
	if (foreground) {
		p_info("cage %s is up; monitoring in the foreground", cfg->name);
		err = monitor_run(&paths, &st, -1);
		goto out;
	}
	err = monitor_start(&paths, &st, true, NULL);
	if (err) {
		p_err("up %s: the cage did not become ready (see %s/monitor.log); removing it",
		      cfg->name, paths.log_dir);
		cage_down(&paths, down_msg, sizeof(down_msg));
		if (st.ca_created)
			cage_remove_ca(&paths);
		goto out;
	}
	if (json_output)
		printf("{\"name\":\"%s\",\"state\":\"up\"}\n", cfg->name);
	else
		p_info("cage %s is up", cfg->name);
out:
	cage_config_free(cfg);
	return err ? 1 : 0;
}

int do_down(int argc, char **argv)
{
	struct cage_paths paths;
	char msg[1024];
	bool existed;
	int err, rc = 0;

	if (argc < 1) {
		p_err("down: usage: cagectl down NAME...");
		return EXIT_USAGE;
	}
	for (int i = 0; i < argc; i++) {
		if (!cage_name_valid(argv[i])) {
			p_err("down: '%s' is not a cage name", argv[i]);
			rc = EXIT_USAGE;
			continue;
		}
		err = cage_paths_init(&paths, argv[i]);
		if (err) {
			p_err("can't find a cgroup v2 mount: %s", strerror(-err));
			return 1;
		}
		existed = cage_exists(&paths);
		err = cage_down(&paths, msg, sizeof(msg));
		if (err) {
			p_err("down %s: could not remove everything: %s", argv[i], msg);
			rc = 1;
		} else if (json_output) {
			printf("{\"name\":\"%s\",\"state\":\"%s\"}\n", argv[i], existed ? "down" : "absent");
		} else {
			p_info("cage %s %s", argv[i], existed ? "is down" : "does not exist; nothing to remove");
		}
	}
	return rc;
}
