// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_env.h"
#include "config/config.h"
#include "enforce/cage.h"
#include "enforce/cgroup.h"
#include "enforce/netns.h"
#include "enforce/spawn.h"
#include "lib/log.h"
#include "secrets/secrets.h"


static pid_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

int do_exec(int argc, char **argv)
{
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;
	struct cli_env env = { .n = 0 };
	struct cage_bind *binds = NULL;
	struct cage_paths paths;
	struct cage_state st;
	struct cage_spawn sp;
	char cfg_copy[PATH_MAX + 16], ca_crt[PATH_MAX + 16], ca_bundle[PATH_MAX + 16];
	size_t n_binds = 0;
	const char *name;
	const char *hide[8];
	int cg = -1, ns = -1, err, code = 1;
	struct sigaction sa = { .sa_handler = forward_signal };

	if (argc < 2) {
		p_err("exec: usage: cagectl exec NAME [--] CMD [ARG...]");
		return EXIT_USAGE;
	}
	name = argv[0];
	argc--;
	argv++;
	if (!strcmp(argv[0], "--")) {
		argc--;
		argv++;
	}
	if (argc < 1 || !cage_name_valid(name)) {
		p_err("exec: usage: cagectl exec NAME [--] CMD [ARG...]");
		return EXIT_USAGE;
	}
	err = cage_paths_init(&paths, name);
	if (!err)
		err = cage_state_read(paths.state_file, &st);
	if (err) {
		p_err("exec: no cage named %s (%s)", name, err == -ENOENT ? "not up" : strerror(-err));
		return 1;
	}
	/* The config copy `up` kept: env, mounts and workdir come from it. */
	snprintf(cfg_copy, sizeof(cfg_copy), "%s/cage.yaml", paths.state_dir);
	memset(&diag, 0, sizeof(diag));
	if (access(cfg_copy, R_OK) == 0 && cage_config_load_copy(cfg_copy, st.config_path, &cfg, &diag, NULL, NULL)) {
		char buf[1024];

		cage_config_diag_format(&diag, buf, sizeof(buf));
		p_err("exec %s: the cage's config copy is unreadable: %s", name, buf);
		return 1;
	}
	cg = cgroup_open(paths.cgroup_mount, name);
	ns = netns_open(paths.netns_name, paths.netns_dir);
	if (cg < 0 || ns < 0) {
		p_err("exec %s: the cage is incomplete (%s missing); run 'cagectl status %s'", name,
		      cg < 0 ? "cgroup" : "netns", name);
		goto out;
	}
	cli_env_build(&env, &st, cfg, paths.state_dir, getenv("TERM"));
	hide[0] = paths.state_root;
	hide[1] = paths.run_root;
	hide[2] = paths.log_root;
	hide[3] = NULL;
	/* The cage CA and the bundle that includes it, then the config's mounts. */
	snprintf(ca_crt, sizeof(ca_crt), "%s/ca/ca.crt", paths.state_dir);
	snprintf(ca_bundle, sizeof(ca_bundle), "%s/ca/bundle.crt", paths.state_dir);
	binds = calloc(2 + (cfg ? cfg->n_mounts : 0), sizeof(*binds));
	if (!binds)
		goto out;
	if (access(ca_bundle, R_OK) == 0) {
		binds[n_binds++] = (struct cage_bind){ ca_crt, CAGE_CA_IN_CAGE, true };
		binds[n_binds++] = (struct cage_bind){ ca_bundle, CAGE_BUNDLE_IN_CAGE, true };
	}
	for (size_t i = 0; cfg && i < cfg->n_mounts; i++) {
		binds[n_binds].src = cfg->mounts[i].source;
		binds[n_binds].dst = cfg->mounts[i].target;
		binds[n_binds++].ro = cfg->mounts[i].read_only;
	}
	memset(&sp, 0, sizeof(sp));
	sp.cgroup_fd = cg;
	sp.netns_fd = ns;
	sp.uid = st.uid;
	sp.gid = st.gid;
	sp.argv = argv;
	sp.envp = env.v;
	sp.workdir = cfg ? cfg->workdir : NULL;
	sp.resolv_conf = paths.resolv_conf;
	sp.hide = hide;
	sp.binds = binds;
	sp.n_binds = n_binds;
	sp.ready_fd = -1;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	err = cage_spawn(&sp, &child_pid);
	if (err) {
		p_err("exec %s: can't start %s: %s", name, argv[0], strerror(-err));
		goto out;
	}
	err = cage_spawn_wait(child_pid, &code);
	if (err) {
		p_err("exec %s: wait: %s", name, strerror(-err));
		code = 1;
	}
out:
	free(binds);
	cli_env_free(&env);
	if (cg >= 0)
		close(cg);
	if (ns >= 0)
		close(ns);
	cage_config_free(cfg);
	return code;
}
