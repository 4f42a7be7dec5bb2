// SPDX-License-Identifier: GPL-2.0-only
/*
 * isolation: lima. Renders backends/lima/template.yaml.in and drives limactl; every command the
 * cage serves (exec, status, logs, audit, secret set) goes through `limactl shell`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backends/backend.h"
#include "backends/backend_util.h"
#include "backends/guest_files.h"
#include "backends/lima/lima.h"
#include "lib/log.h"

static int render_mounts(const struct backend_ctx *ctx, struct sbuf *out)
{
	int err = sbuf_printf(out, "%s", "");

	for (size_t i = 0; !err && ctx->cfg && i < ctx->cfg->n_mounts; i++) {
		const struct cage_mount *m = &ctx->cfg->mounts[i];

		/* Same path in the guest, so the config's mounts mean the same thing there. */
		err = sbuf_printf(out, "- location: \"%s\"\n  mountPoint: \"%s\"\n  writable: %s\n",
				  m->source, m->source, m->read_only ? "false" : "true");
	}
	return err;
}

int lima_render(const struct backend_ctx *ctx, char *out_path, size_t len)
{
	char tmpl[PATH_MAX + 64], cpus[16], mem[32], project[PATH_MAX];
	struct sbuf mounts = { 0 };
	int err;

	err = guest_check_mounts(ctx);
	if (err)
		return err;
	err = guest_prepare_work_dir(ctx);
	if (err)
		return err;
	if (guest_project_dir(ctx, project, sizeof(project)))
		return -ENOENT;
	err = render_mounts(ctx, &mounts);
	if (err)
		goto out;
	snprintf(cpus, sizeof(cpus), "%u", guest_cpus(ctx->cfg));
	snprintf(mem, sizeof(mem), "%llu", guest_memory_mib(ctx->cfg));
	snprintf(tmpl, sizeof(tmpl), "%s/backends/lima/template.yaml.in", ctx->src_dir);
	snprintf(out_path, len, "%s/lima.yaml", ctx->work_dir);
	{
		const struct tmpl_var vars[] = {
			{ "NAME", ctx->name },         { "INSTANCE", ctx->instance },
			{ "CPUS", cpus },              { "MEMORY_MIB", mem },
			{ "SRC_DIR", ctx->src_dir },   { "WORK_DIR", ctx->work_dir },
			{ "PROJECT_DIR", project },    { "MOUNTS", mounts.s },
			{ "BUILD_DEPS", guest_build_deps },
		};

		err = tmpl_render_file(tmpl, vars, sizeof(vars) / sizeof(vars[0]), out_path);
	}
out:
	sbuf_free(&mounts);
	return err;
}

static int lima_up(const struct backend_ctx *ctx)
{
	struct argv_buf a = { .n = 0 };
	char yaml[PATH_MAX + 16];
	int err;

	err = lima_render(ctx, yaml, sizeof(yaml));
	if (err)
		return err;
	argv_add(&a, "limactl");
	argv_add(&a, "create");
	argv_add(&a, "--tty=false");
	argv_addf(&a, "--name=%s", ctx->instance);
	argv_add(&a, yaml);
	err = backend_cli_run(ctx, "create", &a, NULL, 0, NULL);
	if (err)
		return err;
	argv_add(&a, "limactl");
	argv_add(&a, "start");
	argv_add(&a, "--tty=false");
	argv_add(&a, ctx->instance);
	err = backend_cli_run(ctx, "start", &a, NULL, 0, NULL);
	if (err) {
		/* A VM whose provisioning failed holds no cage: remove it rather than leave it. */
		argv_add(&a, "limactl");
		argv_add(&a, "delete");
		argv_add(&a, "--force");
		argv_add(&a, ctx->instance);
		backend_cli_run(ctx, "delete", &a, NULL, 0, NULL);
		return err;
	}
	return backend_record(ctx->name, ISOLATION_LIMA);
}

static int lima_down(const struct backend_ctx *ctx)
{
	struct argv_buf a = { .n = 0 };
	int code, err;

	/* Stopping first lets guest-init take the cage down in order; a VM already stopped is fine. */
	argv_add(&a, "limactl");
	argv_add(&a, "stop");
	argv_add(&a, ctx->instance);
	err = backend_cli_run(ctx, "stop", &a, NULL, 0, &code);
	if (err)
		return err;
	argv_add(&a, "limactl");
	argv_add(&a, "delete");
	argv_add(&a, "--force");
	argv_add(&a, ctx->instance);
	err = backend_cli_run(ctx, "delete", &a, NULL, 0, NULL);
	if (!err)
		backend_forget(ctx->name);
	return err;
}

/* limactl shell --workdir / INSTANCE sudo /usr/local/bin/cagectl ARGV... */
static void shell_cagectl(struct argv_buf *a, const struct backend_ctx *ctx)
{
	argv_add(a, "limactl");
	argv_add(a, "shell");
	argv_add(a, "--workdir=/");
	argv_add(a, ctx->instance);
	argv_add(a, "sudo");
	argv_add(a, "/usr/local/bin/cagectl");
}

static int lima_guest_cagectl(const struct backend_ctx *ctx, char *const argv[], const char *input,
			      size_t input_len, int *exit_code)
{
	struct argv_buf a = { .n = 0 };

	shell_cagectl(&a, ctx);
	argv_add_all(&a, argv);
	return backend_cli_run(ctx, "shell", &a, input, input_len, exit_code);
}

static int lima_exec(const struct backend_ctx *ctx, char *const argv[], int *exit_code)
{
	struct argv_buf a = { .n = 0 };

	shell_cagectl(&a, ctx);
	argv_add_cage_exec(&a, ctx->name, argv);
	return backend_cli_run(ctx, "shell", &a, NULL, 0, exit_code);
}

static int lima_status(const struct backend_ctx *ctx)
{
	struct argv_buf a = { .n = 0 };
	int err;

	argv_add(&a, "limactl");
	argv_add(&a, "list");
	argv_add(&a, "--json");
	argv_add(&a, ctx->instance);
	err = backend_cli_run(ctx, "list", &a, NULL, 0, NULL);
	return err ?: backend_status_in_guest(&backend_lima, ctx);
}

static int lima_logs(const struct backend_ctx *ctx)
{
	struct argv_buf a = { .n = 0 };

	argv_add(&a, "limactl");
	argv_add(&a, "shell");
	argv_add(&a, "--workdir=/");
	argv_add(&a, ctx->instance);
	argv_add(&a, "sudo");
	argv_add(&a, "journalctl");
	argv_add(&a, "--no-pager");
	argv_add(&a, "-u");
	argv_add(&a, "cagectl-cage");
	return backend_cli_run(ctx, "shell", &a, NULL, 0, NULL);
}

const struct backend_ops backend_lima = {
	.name = "lima",
	.up = lima_up,
	.down = lima_down,
	.exec = lima_exec,
	.status = lima_status,
	.logs = lima_logs,
	.guest_cagectl = lima_guest_cagectl,
};
