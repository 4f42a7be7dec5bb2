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
#include "config/config.h"
#include "enforce/cage.h"
#include "enforce/cgroup.h"
#include "enforce/netns.h"
#include "enforce/spawn.h"
#include "lib/log.h"
#include "secrets/secrets.h"

#define ENV_MAX 256
#define CAGE_BUNDLE_IN_CAGE "/etc/ssl/certs/ca-certificates.crt"
#define CAGE_CA_IN_CAGE "/etc/cage/ca.crt"

static pid_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

struct env_builder {
	char *v[ENV_MAX + 1];
	size_t n;
};

__attribute__((format(printf, 2, 3)))
static void env_add(struct env_builder *e, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (e->n >= ENV_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0)
		e->v[e->n++] = s;
	va_end(ap);
}

/* The workload's environment: a clean base, the proxy variables, then the config's env. */
static void build_env(struct env_builder *e, const struct cage_state *st,
		      const struct cage_config_file *cfg, const char *state_dir)
{
	char gw[INET_ADDRSTRLEN];
	const char *term = getenv("TERM");

	inet_ntop(AF_INET, &st->addrs.gw4, gw, sizeof(gw));
	env_add(e, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	env_add(e, "HOME=%s", cfg && cfg->workdir ? cfg->workdir : "/tmp");
	env_add(e, "TERM=%s", term ? term : "dumb");
	env_add(e, "LANG=C.UTF-8");
	env_add(e, "CAGECTL_CAGE=%s", st->name);
	/* Clients that honour proxy variables use the explicit port; the rest are redirected. */
	env_add(e, "HTTP_PROXY=http://%s:%u", gw, st->explicit_port);
	env_add(e, "HTTPS_PROXY=http://%s:%u", gw, st->explicit_port);
	env_add(e, "http_proxy=http://%s:%u", gw, st->explicit_port);
	env_add(e, "https_proxy=http://%s:%u", gw, st->explicit_port);
	/* Every TLS stack the agent may use trusts the system roots plus the cage CA. */
	env_add(e, "SSL_CERT_FILE=%s", CAGE_BUNDLE_IN_CAGE);
	env_add(e, "REQUESTS_CA_BUNDLE=%s", CAGE_BUNDLE_IN_CAGE);
	env_add(e, "CURL_CA_BUNDLE=%s", CAGE_BUNDLE_IN_CAGE);
	env_add(e, "GIT_SSL_CAINFO=%s", CAGE_BUNDLE_IN_CAGE);
	env_add(e, "NODE_EXTRA_CA_CERTS=%s", CAGE_CA_IN_CAGE);
	env_add(e, "NO_PROXY=localhost,127.0.0.1,::1");
	env_add(e, "no_proxy=localhost,127.0.0.1,::1");
	for (size_t i = 0; cfg && i < cfg->n_env; i++)
		env_add(e, "%s=%s", cfg->env[i].name, cfg->env[i].value);
	/* The agent holds placeholders only; cage-proxy swaps the real value in where it is bound. */
	for (size_t i = 0; cfg && i < cfg->n_secrets; i++) {
		char ph[512];

		if (secrets_placeholder_for(cfg, state_dir, cfg->secrets[i].name, ph, sizeof(ph)) == 0)
			env_add(e, "%s=%s", cfg->secrets[i].name, ph);
	}
	e->v[e->n] = NULL;
}

static void env_free(struct env_builder *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
}

int do_exec(int argc, char **argv)
{
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;
	struct env_builder env = { .n = 0 };
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
	build_env(&env, &st, cfg, paths.state_dir);
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
	env_free(&env);
	if (cg >= 0)
		close(cg);
	if (ns >= 0)
		close(ns);
	cage_config_free(cfg);
	return code;
}
