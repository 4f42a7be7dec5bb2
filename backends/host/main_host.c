// SPDX-License-Identifier: GPL-2.0-only
/*
 * main() of a HOST_ONLY cagectl. Its own command table: the full CLI's grows with commands that
 * need the kernel layer, and this build must link without them. Same conventions as
 * userspace/cli/main.c: exact name or unique prefix, exit 2 on usage errors.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/log.h"

#ifndef CAGECTL_VERSION
#define CAGECTL_VERSION "0.1.0"
#endif

bool json_output;

int do_logs(int argc, char **argv);
int do_secret(int argc, char **argv);

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: cagectl [-q] COMMAND [ARGS]   (host-only build: cages live in a guest)\n"
		"\n"
		"  up CAGE.YAML                  render the guest files and start the guest (lima or\n"
		"                                apple-container; isolation auto picks one)\n"
		"  down NAME                     stop and delete the guest\n"
		"  status NAME                   the guest and the cage inside it\n"
		"  exec NAME [--] CMD [ARG...]   run CMD in the cage inside the guest\n"
		"  logs NAME                     the guest's cagectl log\n"
		"  audit NAME [-n N]             the cage's audit log (from the guest)\n"
		"  stats NAME                    the cage's counters (from the guest)\n"
		"  secret set NAME SECRET        the value is read from stdin and passed on over stdin\n"
		"  validate CAGE.YAML            check a config\n"
		"  doctor                        is limactl or container installed\n"
		"  version\n");
	return 0;
}

static int do_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("cagectl %s (host-only)\n", CAGECTL_VERSION);
	return 0;
}

static const struct cmd host_cmds[] = {
	{ "up", do_up },         { "create", do_up },     { "down", do_down },
	{ "rm", do_down },       { "delete", do_down },   { "destroy", do_down },
	{ "status", do_status }, { "list", do_list },     { "exec", do_exec },
	{ "logs", do_logs },     { "audit", do_audit },   { "stats", do_stats },
	{ "secret", do_secret }, { "validate", do_validate }, { "doctor", do_doctor },
	{ "guest-init", do_guest_init }, { "version", do_version }, { "help", do_help },
	{ NULL, NULL },
};

static int dispatch(int argc, char **argv)
{
	const struct cmd *match = NULL;
	size_t len;

	if (argc < 1)
		return do_help(0, NULL);
	len = strlen(argv[0]);
	for (const struct cmd *c = host_cmds; c->name; c++) {
		if (!strcmp(c->name, argv[0]))
			return c->func(argc - 1, argv + 1);
		if (len && !strncmp(c->name, argv[0], len)) {
			if (match && match->func != c->func) {
				p_err("command '%s' is ambiguous; see 'cagectl help'", argv[0]);
				return EXIT_USAGE;
			}
			match = c;
		}
	}
	if (match)
		return match->func(argc - 1, argv + 1);
	p_err("unknown command '%s'; see 'cagectl help'", argv[0]);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			log_quiet = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return do_help(0, NULL);
		else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version"))
			return do_version(0, NULL);
		else {
			p_err("unknown option '%s'; see 'cagectl help'", argv[i]);
			return EXIT_USAGE;
		}
	}
	return dispatch(argc - i, argv + i);
}
