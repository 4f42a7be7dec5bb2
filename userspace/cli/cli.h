/* SPDX-License-Identifier: GPL-2.0-only */
/* The cagectl command table, in the style of bpftool: one table per noun, prefix matching. */
#ifndef CAGE_CLI_H
#define CAGE_CLI_H

#include <stdbool.h>

struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
};

/* Exit codes: 0 ok, 1 the operation failed, 2 usage error. */
#define EXIT_USAGE 2

extern bool json_output;

/*
 * Runs the command whose name argv[0] is a unique prefix of (an exact match always wins);
 * help(argc, argv) when argv is empty. Prints an error naming the candidates when ambiguous.
 */
int cmd_select(const struct cmd *cmds, int argc, char **argv, int (*help)(int, char **));
bool is_prefix(const char *pfx, const char *str);

int do_up(int argc, char **argv);
int do_down(int argc, char **argv);
int do_exec(int argc, char **argv);
int do_status(int argc, char **argv);
int do_list(int argc, char **argv);
int do_validate(int argc, char **argv);
int do_doctor(int argc, char **argv);
int do_audit(int argc, char **argv);
int do_stats(int argc, char **argv);

/* Loads a config, printing every warning and the error (file:line:column: key: message). */
struct cage_config_file;
int cli_load_config(const char *path, struct cage_config_file **out);

#endif
