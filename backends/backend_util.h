/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Driving a guest CLI (limactl, container): what the Lima and Apple container drivers share.
 * Both build an argv_buf (guest_files.h), run it, and read a non-zero exit the same way.
 */
#ifndef CAGE_BACKEND_UTIL_H
#define CAGE_BACKEND_UTIL_H

#include <stddef.h>

#include "backends/backend.h"
#include "backends/guest_files.h"

/*
 * Runs `a` (then frees it). With code_out the command's own exit code goes there and only a
 * missing program (-ENOENT) is an error; without, a non-zero exit is -EIO, printed as
 * "INSTANCE: PROG WHAT failed (exit N)". `input` as for run_argv.
 */
int backend_cli_run(const struct backend_ctx *ctx, const char *what, struct argv_buf *a,
		    const char *input, size_t input_len, int *code_out);

/* Appends every string of the NULL-terminated argv. */
void argv_add_all(struct argv_buf *a, char *const argv[]);

/* Appends `exec NAME -- ARGV...`: the guest's cagectl running argv in the cage. */
void argv_add_cage_exec(struct argv_buf *a, const char *name, char *const argv[]);

/* `cagectl status NAME` in the guest, after the driver saw its VM or container: 0 or -errno. */
int backend_status_in_guest(const struct backend_ops *ops, const struct backend_ctx *ctx);

#endif
