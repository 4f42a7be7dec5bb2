// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command set of a HOST_ONLY cagectl (macOS): userspace/cli/main.c's table, served by the
 * guest backends only. Nothing here includes a Linux kernel header or needs libbpf/nftables;
 * the kernel-layer commands say where they run instead.
 */
#include <stdio.h>
#include <string.h>

#include "backends/backend.h"
#include "backends/backend_cli.h"
#include "cli/cli.h"
#include "config/config.h"
#include "lib/log.h"

int do_up(int argc, char **argv)
{
	struct cage_config_file *cfg = NULL;
	int rc;

	if (argc != 1 || argv[0][0] == '-') {
		p_err("up: usage: cagectl up CAGE.YAML");
		return EXIT_USAGE;
	}
	if (cli_load_config(argv[0], &cfg))
		return 1;
	if (backend_resolve(cfg->isolation) == ISOLATION_LINUX) {
		p_err("up %s: isolation linux needs the full Linux build of cagectl; use lima or "
		      "apple-container here", cfg->name);
		rc = 1;
	} else {
		rc = backend_cli_up(cfg);
	}
	cage_config_free(cfg);
	return rc;
}

int do_down(int argc, char **argv)
{
	int rc = 0;

	if (argc < 1) {
		p_err("down: usage: cagectl down NAME...");
		return EXIT_USAGE;
	}
	for (int i = 0; i < argc; i++)
		rc |= backend_cli_down(argv[i]);
	return rc;
}

int do_exec(int argc, char **argv)
{
	const char *name;

	if (argc < 2) {
		p_err("exec: usage: cagectl exec NAME [--] CMD [ARG...]");
		return EXIT_USAGE;
	}
	name = argv[0];
	argv++;
	if (!strcmp(argv[0], "--"))
		argv++;
	if (!argv[0]) {
		p_err("exec: usage: cagectl exec NAME [--] CMD [ARG...]");
		return EXIT_USAGE;
	}
	return backend_cli_exec(name, argv);
}

int do_status(int argc, char **argv)
{
	if (argc != 1) {
		p_err("status: usage: cagectl status NAME (a HOST_ONLY build has no list of its own)");
		return EXIT_USAGE;
	}
	return backend_cli_status(argv[0]);
}

int do_list(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	p_err("list: use 'limactl list' or 'container list'; then cagectl status NAME");
	return 1;
}

int do_logs(int argc, char **argv)
{
	if (argc != 1) {
		p_err("logs: usage: cagectl logs NAME");
		return EXIT_USAGE;
	}
	return backend_cli_logs(argv[0]);
}

/* audit and stats are answered by the cagectl inside the guest. */
static int in_guest(const char *cmd, int argc, char **argv)
{
	char *args[16];
	int n = 0;

	if (argc < 1 || argc > 12) {
		p_err("%s: usage: cagectl %s NAME [ARGS]", cmd, cmd);
		return EXIT_USAGE;
	}
	args[n++] = (char *)cmd;
	for (int i = 0; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	return backend_cli_guest_cagectl(argv[0], args);
}

int do_audit(int argc, char **argv)
{
	return in_guest("audit", argc, argv);
}

int do_stats(int argc, char **argv)
{
	return in_guest("stats", argc, argv);
}

int do_secret(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[0], "set")) {
		p_err("secret: usage: cagectl secret set NAME SECRET < value");
		return EXIT_USAGE;
	}
	return backend_cli_secret_set(argv[1], argv[2]);
}

int do_validate(int argc, char **argv)
{
	struct cage_config_file *cfg = NULL;

	if (argc != 1) {
		p_err("validate: usage: cagectl validate CAGE.YAML");
		return EXIT_USAGE;
	}
	if (cli_load_config(argv[0], &cfg))
		return 1;
	printf("%s: ok (isolation %s)\n", argv[0],
	       backend_isolation_name(backend_resolve(cfg->isolation)));
	cage_config_free(cfg);
	return 0;
}

int do_doctor(int argc, char **argv)
{
	enum cage_isolation iso = backend_resolve(ISOLATION_AUTO);
	const char *cli = iso == ISOLATION_APPLE_CONTAINER ? "container" : "limactl";
	char *probe[] = { (char *)cli, "--version", NULL };
	int code = 1, err;

	(void)argc;
	(void)argv;
	err = run_argv(probe, NULL, 0, &code);
	printf("%-26s %s\n", "backend", backend_isolation_name(iso));
	printf("%-26s %s%s\n", cli, !err && !code ? "ok" : "FAIL", !err && !code ? "" :
	       ": not installed or not working");
	return !err && !code ? 0 : 1;
}

int do_guest_init(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	p_err("guest-init runs inside a Linux guest; this cagectl is a HOST_ONLY build");
	return 1;
}
