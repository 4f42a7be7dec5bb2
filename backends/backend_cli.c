// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/backend.h"
#include "backends/backend_cli.h"
#include "lib/log.h"

#define SECRET_MAX (64 * 1024)

/* explicit_bzero is not on macOS; a volatile pointer keeps the compiler from dropping the wipe. */
static void wipe(void *p, size_t n)
{
	void *(*volatile do_memset)(void *, int, size_t) = memset;

	do_memset(p, 0, n);
}

/* The driver and context for a cage recorded with a guest backend. */
static int find(const char *name, const struct backend_ops **ops, struct backend_ctx *ctx)
{
	enum cage_isolation iso;
	int err;

	if (!cage_name_valid(name)) {
		p_err("'%s' is not a cage name", name);
		return -EINVAL;
	}
	err = backend_recall(name, &iso);
	if (err)
		return err;
	*ops = backend_get(iso);
	if (!*ops)
		return -ENOENT;
	return backend_ctx_init(ctx, name, *ops, NULL);
}

bool backend_cli_owns(const char *name)
{
	enum cage_isolation iso;

	return cage_name_valid(name) && backend_recall(name, &iso) == 0 && backend_get(iso);
}

int backend_cli_up(const struct cage_config_file *cfg)
{
	enum cage_isolation iso = backend_resolve(cfg->isolation);
	const struct backend_ops *ops = backend_get(iso);
	struct backend_ctx ctx;
	int err;

	if (!ops) {
		p_err("up %s: isolation %s is not available in this build of cagectl", cfg->name,
		      backend_isolation_name(iso));
		return 1;
	}
	err = backend_ctx_init(&ctx, cfg->name, ops, cfg);
	if (!err)
		err = ops->up(&ctx);
	if (err) {
		p_err("up %s: the %s backend failed: %s", cfg->name, ops->name, strerror(-err));
		return 1;
	}
	p_info("cage %s is up (%s %s)", cfg->name, ops->name, ctx.instance);
	return 0;
}

static int not_found(const char *name, int err)
{
	if (err == -ENOENT)
		p_err("no guest cage named %s on this host", name);
	return 1;
}

int backend_cli_down(const char *name)
{
	const struct backend_ops *ops;
	struct backend_ctx ctx;
	int err = find(name, &ops, &ctx);

	if (err == -ENOENT) {
		p_info("cage %s does not exist; nothing to remove", name);
		return 0;
	}
	if (!err)
		err = ops->down(&ctx);
	if (err) {
		p_err("down %s: %s", name, strerror(-err));
		return 1;
	}
	p_info("cage %s is down", name);
	return 0;
}

int backend_cli_exec(const char *name, char *const argv[])
{
	const struct backend_ops *ops;
	struct backend_ctx ctx;
	int code = 1, err = find(name, &ops, &ctx);

	if (err)
		return not_found(name, err);
	err = ops->exec(&ctx, argv, &code);
	return err ? 1 : code;
}

int backend_cli_status(const char *name)
{
	const struct backend_ops *ops;
	struct backend_ctx ctx;
	int err = find(name, &ops, &ctx);

	if (err)
		return not_found(name, err);
	return ops->status(&ctx) ? 1 : 0;
}

int backend_cli_logs(const char *name)
{
	const struct backend_ops *ops;
	struct backend_ctx ctx;
	int err = find(name, &ops, &ctx);

	if (err)
		return not_found(name, err);
	return ops->logs(&ctx) ? 1 : 0;
}

int backend_cli_guest_cagectl(const char *name, char *const argv[])
{
	const struct backend_ops *ops;
	struct backend_ctx ctx;
	int code = 1, err = find(name, &ops, &ctx);

	if (err)
		return not_found(name, err);
	err = ops->guest_cagectl(&ctx, argv, NULL, 0, &code);
	return err ? 1 : code;
}

int backend_cli_secret_set(const char *name, const char *secret)
{
	const struct backend_ops *ops;
	struct backend_ctx ctx;
	size_t len = 0;
	char *value;
	ssize_t n;
	int err = find(name, &ops, &ctx);

	if (err)
		return not_found(name, err);
	value = malloc(SECRET_MAX);
	if (!value)
		return 1;
	while (len < SECRET_MAX && (n = read(0, value + len, SECRET_MAX - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	err = backend_secret_set(ops, &ctx, secret, value, len);
	/* The value leaves memory as soon as the guest has it. */
	wipe(value, SECRET_MAX);
	free(value);
	return err ? 1 : 0;
}
