/* SPDX-License-Identifier: GPL-2.0-only */
/* The cagectl command table, in the style of bpftool: one table per noun, prefix matching. */
#ifndef CAGE_CLI_H
#define CAGE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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

/* cmd_lifecycle.c */
int do_start(int argc, char **argv);
int do_stop(int argc, char **argv);
int do_restart(int argc, char **argv);
int do_update(int argc, char **argv);
int do_show(int argc, char **argv);
int do_prune(int argc, char **argv);
/* cmd_run.c */
int do_exec_alias(int argc, char **argv);
int do_shell(int argc, char **argv);
int do_run(int argc, char **argv);
/* cmd_init.c */
int do_init(int argc, char **argv);
int do_scaffold(int argc, char **argv);
/* cmd_verify.c, cmd_domain.c, cmd_har.c, cmd_logs.c, cmd_backup.c */
int do_verify(int argc, char **argv);
int do_domain(int argc, char **argv);
int do_har(int argc, char **argv);
int do_logs(int argc, char **argv);
int do_backup(int argc, char **argv);
int do_restore(int argc, char **argv);
/* Others' groups: cmd_secret.c, cmd_guest.c. */
int do_secret(int argc, char **argv);
int do_guest_init(int argc, char **argv);

/* Loads a config, printing every warning and the error (file:line:column: key: message). */
struct cage_config_file;
int cli_load_config(const char *path, struct cage_config_file **out);

/* cmd_help.c: the usage text of every command; `cagectl CMD --help` prints it to stdout. */
const char *cli_usage(const char *cmd);
int cli_print_usage(const char *cmd);
/* Prints "CMD: usage: <first usage line>" through p_err and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cmd_common.c */
/* Removes --json/-j anywhere before a "--" and turns JSON output on. */
void cli_strip_json(int *argc, char **argv);
/* "30m", "2h", "1d", "1h30m", "90s", "1w" → seconds; -EINVAL otherwise. */
int64_t cli_parse_duration(const char *s);
/* A duration ago, or an RFC 3339 time / a bare date → unix seconds; -EINVAL otherwise. */
int64_t cli_parse_since(const char *s, int64_t now);
/* RFC 3339 ("2026-11-27T03:00:00.123Z", "+01:00", bare date) → unix seconds; -EINVAL. */
int64_t cli_parse_time(const char *s);
struct cage_paths;
/*
 * Checks the name and fills the paths; prints "CMD: no cage named X" when neither the cage
 * nor its state directory exists. 0, EXIT_USAGE (bad name) or 1 (unknown cage).
 */
int cli_cage_lookup(const char *cmd, const char *name, struct cage_paths *p, bool need_running);
/* The monitor's pid when it runs, else -ESRCH. */
pid_t cli_monitor_pid(const struct cage_paths *p);
/* Sends sig to the cage's monitor; 0 or -errno (-ESRCH: no monitor). */
int cli_signal_monitor(const struct cage_paths *p, int sig);
/* Names of cages that have a run directory, sorted; returns how many. */
int cli_cage_names(char names[][64], int max);
/* Names of cages that have a state directory (up or not), sorted. */
int cli_known_cage_names(char names[][64], int max);
/* Runs this cagectl binary with argv (NULL-terminated), waits; its exit code or -errno. */
int cli_run_self(char *const argv[]);
/* cmd_stats.c: every counter of the pinned stats map into counts[REASON_MAX]; how many, or -errno. */
int cli_read_stats(const struct cage_paths *p, uint64_t *counts);
/* Reads a whole file (NUL-terminated) up to max bytes; -errno. */
int cli_read_file(const char *path, char **out, size_t *len, size_t max);
/* Writes atomically (temp file + rename) with mode; -errno. */
int cli_write_file_atomic(const char *path, const char *data, size_t len, unsigned mode);

#endif
