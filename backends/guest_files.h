/* SPDX-License-Identifier: GPL-2.0-only */
/* What both guest drivers prepare before their CLI runs: the config copy, sizes, shared dirs. */
#ifndef CAGE_BACKEND_GUEST_FILES_H
#define CAGE_BACKEND_GUEST_FILES_H

#include <stddef.h>

#include "backends/backend.h"

/* Where the guest finds the rendered work dir (read-only) and the cagectl source. */
#define GUEST_HOST_DIR "/etc/cagectl/host"
#define GUEST_SRC_DIR  "/opt/cagectl-src"

/* Debian packages the guest needs to build and run cagectl, space-separated. */
extern const char guest_build_deps[];

/* Creates work_dir and copies the config into it as cage.yaml. */
int guest_prepare_work_dir(const struct backend_ctx *ctx);

/* Whole CPUs (default 2) and MiB of memory (default 4096) for the guest from `resources`. */
unsigned guest_cpus(const struct cage_config_file *cfg);
unsigned long long guest_memory_mib(const struct cage_config_file *cfg);

/*
 * Checks every directory the guest would get: the project directory (the config file's
 * directory, read-only) and the config's mounts (as the config says). -EPERM, printed, when one
 * is a credential store or the home directory itself.
 */
int guest_check_mounts(const struct backend_ctx *ctx);
/* The project directory: the config file's directory. */
int guest_project_dir(const struct backend_ctx *ctx, char *buf, size_t len);

/* Growable string for argv and rendered snippets. */
struct sbuf {
	char *s;
	size_t len, cap;
};
__attribute__((format(printf, 2, 3))) int sbuf_printf(struct sbuf *b, const char *fmt, ...);
void sbuf_free(struct sbuf *b);

/* A NULL-terminated argv built piece by piece; strings are copied. */
struct argv_buf {
	char *v[128];
	size_t n;
	bool overflow;
};
void argv_add(struct argv_buf *a, const char *s);
__attribute__((format(printf, 2, 3))) void argv_addf(struct argv_buf *a, const char *fmt, ...);
void argv_free(struct argv_buf *a);
/* Runs it (see run_argv) after printing it with p_info unless quiet. */
int argv_run(struct argv_buf *a, const char *input, size_t input_len, int *exit_code);

#endif
