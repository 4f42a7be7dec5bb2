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

/* The entry argv0 names: an exact match, or the one function a prefix leads to. */
static const struct cmd *cmd_find(const struct cmd *cmds, const char *argv0, int *n_out)
{
	const struct cmd *match = NULL;
	int n = 0;

	for (const struct cmd *c = cmds; c->name; c++) {
		if (strcmp(c->name, argv0) == 0) {
			*n_out = 1;
			return c;
		}
		if (is_prefix(argv0, c->name) && (!match || match->func != c->func)) {
			match = c;
			n++;
		}
	}
	*n_out = n;
	return n == 1 ? match : NULL;
}

int cmd_select(const struct cmd *cmds, int argc, char **argv, int (*help)(int, char **))
{
	const struct cmd *match;
	int n;

	if (argc < 1)
		return help(argc, argv);
	match = cmd_find(cmds, argv[0], &n);
	if (match)
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

static const char main_help[] =
	"Usage: cagectl [--json] [-q] COMMAND [ARGS]\n"
	"\n"
	"Cage lifecycle:\n"
	"  up CAGE.YAML [--foreground]   create a cage and start its monitor (alias: create)\n"
	"  down NAME...                  remove a cage (aliases: destroy, rm, delete)\n"
	"  start|stop|restart NAME       the cage's daemons; enforcement stays (restart: reload)\n"
	"  update NAME -c CAGE.YAML      apply a changed config\n"
	"  status [NAME]                 layers, daemons, counters of one or every cage\n"
	"  list                          every cage (aliases: ls, ps)\n"
	"  show NAME                     everything about one cage (aliases: describe, inspect)\n"
	"  prune                         remove stopped ephemeral cages\n"
	"  verify NAME                   check every layer and probe from inside\n"
	"\n"
	"Running agents:\n"
	"  exec NAME [--] CMD [ARG...]   run CMD (or an exec_aliases entry) inside the cage\n"
	"  shell NAME                    an interactive shell inside the cage\n"
	"  run SCAFFOLD [--project DIR]  one-shot cage around a project\n"
	"  init [NAME] [--scaffold S]    write a commented cage.yaml\n"
	"  scaffold list|show|create|export\n"
	"\n"
	"Policy, audit, capture:\n"
	"  domain list|add|rm NAME ...   edit the allowlist live\n"
	"  secret ...                    the cage's secrets\n"
	"  audit NAME [FILTERS]          the cage's audit log\n"
	"  har NAME [-o FILE]            the HTTP capture as HAR 1.2\n"
	"  logs NAME [-s SERVICE]        daemon logs\n"
	"  stats NAME [--prometheus]     counters\n"
	"  backup NAME | restore FILE    archive a cage and bring it back\n"
	"\n"
	"Tools:\n"
	"  validate CAGE.YAML...         check a config; errors name file:line:column and key\n"
	"  doctor                        check this machine for everything cagectl needs\n"
	"  version\n"
	"\n"
	"Every command that shows something takes --json. Commands may be abbreviated\n"
	"to a unique prefix (cagectl dom = domain). 'cagectl COMMAND --help' for details.\n";

static int do_help(int argc, char **argv);

static int do_version(int argc, char **argv)
{
	cli_strip_json(&argc, argv);
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
	{ "start", do_start },
	{ "stop", do_stop },
	{ "restart", do_restart },
	{ "reload", do_restart },
	{ "update", do_update },
	{ "status", do_status },
	{ "list", do_list },
	{ "ls", do_list },
	{ "ps", do_list },
	{ "show", do_show },
	{ "describe", do_show },
	{ "inspect", do_show },
	{ "prune", do_prune },
	{ "verify", do_verify },
	{ "exec", do_exec_alias },
	{ "shell", do_shell },
	{ "run", do_run },
	{ "init", do_init },
	{ "scaffold", do_scaffold },
	{ "domain", do_domain },
	{ "secret", do_secret },
	{ "secrets", do_secret },
	{ "audit", do_audit },
	{ "har", do_har },
	{ "logs", do_logs },
	{ "stats", do_stats },
	{ "backup", do_backup },
	{ "restore", do_restore },
	{ "validate", do_validate },
	{ "doctor", do_doctor },
	{ "guest-init", do_guest_init },
	{ "version", do_version },
	{ "help", do_help },
	{ NULL, NULL },
};

/* The name an alias or prefix stands for: the first table entry with the same function. */
static const char *canonical_name(const char *argv0)
{
	const struct cmd *c;
	int n;

	c = cmd_find(top_cmds, argv0, &n);
	if (!c)
		return NULL;
	for (const struct cmd *t = top_cmds; t->name; t++)
		if (t->func == c->func)
			return t->name;
	return NULL;
}

static int do_help(int argc, char **argv)
{
	const char *name;

	if (argc < 1) {
		fputs(main_help, stdout);
		return 0;
	}
	name = canonical_name(argv[0]);
	if (!name || cli_print_usage(name)) {
		p_err("help: no help for '%s'; see 'cagectl help'", argv[0]);
		return EXIT_USAGE;
	}
	return 0;
}

static bool is_help_flag(const char *s)
{
	return !strcmp(s, "--help") || !strcmp(s, "-h");
}

int main(int argc, char **argv)
{
	const char *name;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			json_output = log_json = true;
		} else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
			log_quiet = true;
		} else if (is_help_flag(argv[i])) {
			return do_help(0, NULL);
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			return do_version(0, argv);
		} else {
			p_err("unknown option '%s'; see 'cagectl help'", argv[i]);
			return EXIT_USAGE;
		}
	}
	/* `cagectl CMD --help` and `cagectl GROUP SUB --help` print the command's usage. */
	if (i + 1 < argc && (name = canonical_name(argv[i])) && cli_usage(name) &&
	    (is_help_flag(argv[i + 1]) || (i + 2 < argc && is_help_flag(argv[i + 2]) &&
	     (!strcmp(name, "domain") || !strcmp(name, "scaffold")))))
		return cli_print_usage(name);
	/* Groups that keep their own help (secret) answer --help through their "help" command. */
	if (i + 1 < argc && (name = canonical_name(argv[i])) && !cli_usage(name) &&
	    is_help_flag(argv[i + 1]) && !strcmp(name, "secret"))
		argv[i + 1] = "help";
	return cmd_select(top_cmds, argc - i, argv + i, do_help);
}
