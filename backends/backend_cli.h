/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The cagectl commands for cages that live in a guest (lima, apple-container). The linux CLI
 * calls these when a config's isolation resolves to a guest backend, or a cage name was
 * recorded with one; the HOST_ONLY build (backends/host/cmd_host.c) calls nothing else.
 * Each returns a process exit code (0, 1, or the guest command's own).
 */
#ifndef CAGE_BACKEND_CLI_H
#define CAGE_BACKEND_CLI_H

#include <stdbool.h>

#include "config/config.h"

/* Whether `name` was brought up by a guest backend on this host. */
bool backend_cli_owns(const char *name);

int backend_cli_up(const struct cage_config_file *cfg);
int backend_cli_down(const char *name);
int backend_cli_exec(const char *name, char *const argv[]);
int backend_cli_status(const char *name);
int backend_cli_logs(const char *name);
/* `cagectl ARGV...` inside the guest (audit, stats, ...). */
int backend_cli_guest_cagectl(const char *name, char *const argv[]);
/* Reads the value from this process's stdin (at most 64 KiB) and hands it to the guest on its
 * stdin; the value is never in argv, a file or a log line. */
int backend_cli_secret_set(const char *name, const char *secret);

#endif
