/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One interface for every place a cage can live: the linux backend (the kernel cage on this
 * machine), a Lima VM and an Apple container microVM. The two guest backends run the same
 * enforcer inside the guest (`cagectl guest-init` or `cagectl up` under systemd) and reach it
 * only through their CLI (limactl, container), so this header and every guest driver include no
 * Linux kernel header: they build on macOS (make HOST_ONLY=1).
 * Errors are negative errno values; a driver prints what failed (naming the command) itself.
 */
#ifndef CAGE_BACKEND_H
#define CAGE_BACKEND_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

struct backend_ctx {
	char name[CAGE_NAME_MAX + 1];
	const struct cage_config_file *cfg; /* NULL for down/exec/status/logs by name */
	char instance[CAGE_NAME_MAX + 16];  /* VM / container name: cagectl-<name> */
	char work_dir[PATH_MAX];            /* <state_root>/<name>/<backend>: rendered files */
	char src_dir[PATH_MAX];             /* cagectl source tree, shared into the guest */
};

struct backend_ops {
	const char *name;  /* as in cage.yaml `isolation` */
	int (*up)(const struct backend_ctx *ctx);
	int (*down)(const struct backend_ctx *ctx);
	/* Runs argv inside the guest's cage as the workload user; *exit_code as a shell reports it. */
	int (*exec)(const struct backend_ctx *ctx, char *const argv[], int *exit_code);
	int (*status)(const struct backend_ctx *ctx);
	int (*logs)(const struct backend_ctx *ctx);
	/* `cagectl ARGV...` as root in the guest (audit, stats, secret set, ...); `input`, when
	 * not NULL, is its stdin: the only way a secret value travels. */
	int (*guest_cagectl)(const struct backend_ctx *ctx, char *const argv[], const char *input,
			     size_t input_len, int *exit_code);
};

/* `cagectl secret set NAME` in the guest, the value on its stdin: never argv, a file or a template. */
int backend_secret_set(const struct backend_ops *ops, const struct backend_ctx *ctx,
		       const char *name, const char *value, size_t len);

/* The guest drivers. The linux one is in backends/linux/linux_backend.h (full build only). */
extern const struct backend_ops backend_lima, backend_apple_container;

/* What `isolation: auto` means on this host: linux on Linux; apple-container on macOS 26+ on
 * Apple Silicon with `container` on PATH; lima on other macOS. */
enum cage_isolation backend_resolve(enum cage_isolation want);
/* The guest driver for a resolved isolation; NULL for linux (the caller's own path) and auto. */
const struct backend_ops *backend_get(enum cage_isolation iso);
const char *backend_isolation_name(enum cage_isolation iso);

/*
 * Fills ctx for cage `name` and backend `ops`: work_dir under CAGECTL_STATE_DIR
 * (/var/lib/cagectl), src_dir from CAGECTL_SOURCE_DIR or the tree cagectl was built from.
 */
int backend_ctx_init(struct backend_ctx *ctx, const char *name, const struct backend_ops *ops,
		     const struct cage_config_file *cfg);

/* Which backend a cage was brought up with (recorded by backend_record at up). */
int backend_record(const char *name, enum cage_isolation iso);
int backend_recall(const char *name, enum cage_isolation *iso);  /* -ENOENT if none */
void backend_forget(const char *name);

/* --- helpers shared by the drivers (backend_util.c) ------------------------------------------ */

/* @KEY@ substitution; unknown keys are an error (-EINVAL, key printed) so a typo cannot ship. */
struct tmpl_var {
	const char *key;
	const char *value;
};
int tmpl_render_file(const char *in_path, const struct tmpl_var *vars, size_t n_vars,
		     const char *out_path);

/*
 * Runs argv[0] from PATH with argv, waits, *exit_code as a shell reports it. When `input` is
 * not NULL it is written to the child's stdin (then closed); otherwise stdin is inherited.
 * -ENOENT when the program is not on PATH.
 */
int run_argv(char *const argv[], const char *input, size_t input_len, int *exit_code);

/* Home-directory places that are never shared into a guest, even when asked. */
bool backend_path_forbidden(const char *path, const char **why);
int backend_mkdir_p(const char *dir, int mode);

#endif
