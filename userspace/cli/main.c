// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/log.h"

#ifndef CAGECTL_VERSION
#define CAGECTL_VERSION "0.1.0"
#endif

bool json_output;

bool is_prefix(const char *pfx, const char *str)
{
	return pfx[0] && strncmp(str, pfx, strlen(pfx)) == 0;
}

int cmd_select(const struct cmd *cmds, int argc, char **argv, int (*help)(int, char **))
{
	const struct cmd *match = NULL;
	int n = 0;

	if (argc < 1)
		return help(argc, argv);
	for (const struct cmd *c = cmds; c->name; c++) {
		if (strcmp(c->name, argv[0]) == 0)
			return c->func(argc - 1, argv + 1);
		if (is_prefix(argv[0], c->name) && (!match || match->func != c->func)) {
			match = c;
			n++;
		}
	}
	if (n == 1)
		return match->func(argc - 1, argv + 1);
	if (n > 1) {
		char names[512] = "";

		for (const struct cmd *c = cmds; c->name; c++)
			if (is_prefix(argv[0], c->name)) {
				strncat(names, " ", sizeof(names) - strlen(names) - 1);
				strncat(names, c->name, sizeof(names) - strlen(names) - 1);
			}
		p_err("command '%s' is ambiguous:%s", argv[0], names);
		return EXIT_USAGE;
	}
	p_err("unknown command '%s'; see 'cagectl help'", argv[0]);
	return EXIT_USAGE;
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: cagectl [--json] [-q] COMMAND [ARGS]\n"
		"\n"
		"Cage lifecycle:\n"
		"  up CAGE.YAML [--foreground]   create a cage and start its monitor (alias: create)\n"
		"  down NAME                     remove a cage; idempotent (aliases: destroy, rm, delete)\n"
		"  status [NAME]                 layers, daemons, counters of one or every cage\n"
		"  list                          every cage (aliases: ls, ps)\n"
		"  exec NAME [--] CMD [ARG...]   run CMD inside the cage as its unprivileged user\n"
		"\n"
		"Inspection:\n"
		"  audit NAME [-n N]             the cage's audit log\n"
		"  stats NAME                    the pinned per-reason counters\n"
		"\n"
		"Tools:\n"
		"  validate CAGE.YAML            check a config; errors name file:line:column and key\n"
		"  doctor                        check this machine for everything cagectl needs\n"
		"  version\n"
		"\n"
		"Every command that shows something takes --json. Commands may be abbreviated\n"
		"to a unique prefix (cagectl st = status).\n");
	return 0;
}

static int do_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (json_output)
		printf("{\"version\":\"%s\"}\n", CAGECTL_VERSION);
	else
		printf("cagectl %s\n", CAGECTL_VERSION);
	return 0;
}

static const struct cmd top_cmds[] = {
	{ "up", do_up },
	{ "create", do_up },
	{ "down", do_down },
	{ "destroy", do_down },
	{ "rm", do_down },
	{ "delete", do_down },
	{ "status", do_status },
	{ "list", do_list },
	{ "ls", do_list },
	{ "ps", do_list },
	{ "exec", do_exec },
	{ "audit", do_audit },
	{ "stats", do_stats },
	{ "validate", do_validate },
	{ "doctor", do_doctor },
	{ "version", do_version },
	{ "help", do_help },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			json_output = log_json = true;
		} else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
			log_quiet = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			return do_help(0, NULL);
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			return do_version(0, NULL);
		} else {
			p_err("unknown option '%s'; see 'cagectl help'", argv[i]);
			return EXIT_USAGE;
		}
	}
	return cmd_select(top_cmds, argc - i, argv + i, do_help);
}
