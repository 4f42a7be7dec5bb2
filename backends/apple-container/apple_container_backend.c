// SPDX-License-Identifier: GPL-2.0-only
/*
 * isolation: apple-container. Renders backends/apple-container/Containerfile.in and drives
 * Apple's `container` CLI: build, run, exec, logs, stop, delete (rm).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backends/apple-container/apple_container.h"
#include "backends/backend.h"
#include "backends/backend_util.h"
#include "backends/guest_files.h"
#include "lib/log.h"

int apple_container_render(const struct backend_ctx *ctx, char *out_path, size_t len)
{
	char tmpl[PATH_MAX + 64];
	int err;

	err = guest_check_mounts(ctx);
	if (!err)
		err = guest_prepare_work_dir(ctx);
	if (err)
		return err;
	snprintf(tmpl, sizeof(tmpl), "%s/backends/apple-container/Containerfile.in", ctx->src_dir);
	snprintf(out_path, len, "%s/Containerfile", ctx->work_dir);
	{
		const struct tmpl_var vars[] = {
			{ "NAME", ctx->name },
			{ "BUILD_DEPS", guest_build_deps },
		};

		return tmpl_render_file(tmpl, vars, sizeof(vars) / sizeof(vars[0]), out_path);
	}
}

static void add_mount(struct argv_buf *a, const char *src, const char *dst, bool ro)
{
	argv_add(a, "--mount");
	argv_addf(a, "type=bind,source=%s,target=%s%s", src, dst, ro ? ",readonly" : "");
}

static int ac_rm(const struct backend_ctx *ctx)
{
	struct argv_buf a = { .n = 0 };

	argv_add(&a, "container");
	argv_add(&a, "rm");
	argv_add(&a, "--force");
	argv_add(&a, ctx->instance);
	return backend_cli_run(ctx, "rm", &a, NULL, 0, NULL);
}

static int ac_up(const struct backend_ctx *ctx)
{
	struct argv_buf a = { .n = 0 };
	char file[PATH_MAX + 16], project[PATH_MAX];
	int err;

	err = apple_container_render(ctx, file, sizeof(file));
	if (err)
		return err;
	if (guest_project_dir(ctx, project, sizeof(project)))
		return -ENOENT;
	argv_add(&a, "container");
	argv_add(&a, "build");
	argv_add(&a, "--tag");
	argv_addf(&a, "%s:latest", ctx->instance);
	argv_add(&a, "--file");
	argv_add(&a, file);
	argv_add(&a, ctx->src_dir);
	err = backend_cli_run(ctx, "build", &a, NULL, 0, NULL);
	if (err)
		return err;

	argv_add(&a, "container");
	argv_add(&a, "run");
	argv_add(&a, "--detach");
	argv_add(&a, "--name");
	argv_add(&a, ctx->instance);
	argv_add(&a, "--cpus");
	argv_addf(&a, "%u", guest_cpus(ctx->cfg));
	argv_add(&a, "--memory");
	argv_addf(&a, "%lluM", guest_memory_mib(ctx->cfg));
	add_mount(&a, ctx->work_dir, GUEST_HOST_DIR, true);
	add_mount(&a, project, project, true);
	for (size_t i = 0; i < ctx->cfg->n_mounts; i++)
		add_mount(&a, ctx->cfg->mounts[i].source, ctx->cfg->mounts[i].source,
			  ctx->cfg->mounts[i].read_only);
	argv_addf(&a, "%s:latest", ctx->instance);
	err = backend_cli_run(ctx, "run", &a, NULL, 0, NULL);
	if (err) {
		ac_rm(ctx);
		return err;
	}
	return backend_record(ctx->name, ISOLATION_APPLE_CONTAINER);
}

static int ac_down(const struct backend_ctx *ctx)
{
	struct argv_buf a = { .n = 0 };
	int code, err;

	/* SIGTERM reaches guest-init, which takes the cage down before the VM stops. */
	argv_add(&a, "container");
	argv_add(&a, "stop");
	argv_add(&a, ctx->instance);
	err = backend_cli_run(ctx, "stop", &a, NULL, 0, &code);
	if (!err)
		err = ac_rm(ctx);
	if (!err)
		backend_forget(ctx->name);
	return err;
}

static void exec_cagectl(struct argv_buf *a, const struct backend_ctx *ctx, bool interactive)
{
	argv_add(a, "container");
	argv_add(a, "exec");
	if (interactive)
		argv_add(a, "--interactive");
	argv_add(a, ctx->instance);
	argv_add(a, "/usr/local/bin/cagectl");
}

static int ac_guest_cagectl(const struct backend_ctx *ctx, char *const argv[], const char *input,
			    size_t input_len, int *exit_code)
{
	struct argv_buf a = { .n = 0 };

	exec_cagectl(&a, ctx, input != NULL);
	argv_add_all(&a, argv);
	return backend_cli_run(ctx, "exec", &a, input, input_len, exit_code);
}

static int ac_exec(const struct backend_ctx *ctx, char *const argv[], int *exit_code)
{
	struct argv_buf a = { .n = 0 };

	exec_cagectl(&a, ctx, true);
	argv_add_cage_exec(&a, ctx->name, argv);
	return backend_cli_run(ctx, "exec", &a, NULL, 0, exit_code);
}

static int ac_status(const struct backend_ctx *ctx)
{
	struct argv_buf a = { .n = 0 };
	int err;

	argv_add(&a, "container");
	argv_add(&a, "inspect");
	argv_add(&a, ctx->instance);
	err = backend_cli_run(ctx, "inspect", &a, NULL, 0, NULL);
	return err ?: backend_status_in_guest(&backend_apple_container, ctx);
}

static int ac_logs(const struct backend_ctx *ctx)
{
	struct argv_buf a = { .n = 0 };

	argv_add(&a, "container");
	argv_add(&a, "logs");
	argv_add(&a, ctx->instance);
	return backend_cli_run(ctx, "logs", &a, NULL, 0, NULL);
}

const struct backend_ops backend_apple_container = {
	.name = "apple-container",
	.up = ac_up,
	.down = ac_down,
	.exec = ac_exec,
	.status = ac_status,
	.logs = ac_logs,
	.guest_cagectl = ac_guest_cagectl,
};
