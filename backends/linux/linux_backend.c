// SPDX-License-Identifier: GPL-2.0-only
/*
 * A thin adapter: the kernel cage on this machine (userspace/enforce/cage.h) behind the same
 * interface as the guest backends. up/down/status only; the CLI keeps its own exec (cage_spawn
 * with the workload's environment) and logs (the audit file), which need no indirection here.
 */
#include <errno.h>
#include <string.h>

#include "backends/linux/linux_backend.h"
#include "enforce/cage.h"
#include "lib/log.h"

static void warn(const char *msg, void *arg)
{
	(void)arg;
	p_warn("%s", msg);
}

static int linux_up(const struct backend_ctx *ctx)
{
	struct cage_paths paths;
	struct cage_state st;
	char msg[1024];
	int err;

	if (!ctx->cfg)
		return -EINVAL;
	err = cage_paths_init(&paths, ctx->name);
	if (!err)
		err = cage_up(ctx->cfg, &paths, &st, msg, sizeof(msg), warn, NULL);
	if (err)
		p_err("up %s: %s", ctx->name, err == -ENOENT ? "no cgroup2 mount" : msg);
	return err;
}

static int linux_down(const struct backend_ctx *ctx)
{
	struct cage_paths paths;
	char msg[1024];
	int err = cage_paths_init(&paths, ctx->name);

	if (!err)
		err = cage_down(&paths, msg, sizeof(msg));
	if (err)
		p_err("down %s: %s", ctx->name, msg);
	return err;
}

static int linux_status(const struct backend_ctx *ctx)
{
	struct cage_paths paths;
	struct cage_state st;
	char what[512];
	int err = cage_paths_init(&paths, ctx->name);

	if (!err)
		err = cage_state_read(paths.state_file, &st);
	if (!err)
		err = cage_verify(&paths, &st, what, sizeof(what));
	if (err == -ENOENT)
		p_err("%s: no such cage", ctx->name);
	else if (err)
		p_err("%s: %s", ctx->name, what);
	return err;
}

static int linux_exec(const struct backend_ctx *ctx, char *const argv[], int *exit_code)
{
	(void)ctx;
	(void)argv;
	*exit_code = 1;
	return -EOPNOTSUPP;  /* cagectl exec (cmd_exec.c) */
}

static int linux_logs(const struct backend_ctx *ctx)
{
	(void)ctx;
	return -EOPNOTSUPP;  /* cagectl audit (cmd_audit.c) */
}

static int linux_guest_cagectl(const struct backend_ctx *ctx, char *const argv[], const char *input,
			       size_t input_len, int *exit_code)
{
	(void)ctx;
	(void)argv;
	(void)input;
	(void)input_len;
	*exit_code = 1;
	return -EOPNOTSUPP;  /* no guest: the commands run here */
}

const struct backend_ops backend_linux = {
	.name = "linux",
	.up = linux_up,
	.down = linux_down,
	.exec = linux_exec,
	.status = linux_status,
	.logs = linux_logs,
	.guest_cagectl = linux_guest_cagectl,
};
