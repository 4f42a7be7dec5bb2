// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/guest_files.h"
#include "lib/log.h"

/* The build half of scripts/setup, plus what a bare Debian 12 image lacks to run the cage. */
const char guest_build_deps[] =
	"make clang llvm lld pkg-config bpftool libbpf-dev libnftnl-dev libmnl-dev libyaml-dev "
	"libcap-ng-dev libseccomp-dev libssl-dev libelf-dev zlib1g-dev libvectorscan-dev "
	"libbrotli-dev libzstd-dev nftables iproute2 ca-certificates";

int sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if (b->s && (size_t)n < room) {
			b->len += (size_t)n;
			return 0;
		}
		size_t cap = (b->cap ? b->cap : 256);

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);

		if (!ns)
			return -ENOMEM;
		b->s = ns;
		b->cap = cap;
	}
}

void sbuf_free(struct sbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

void argv_add(struct argv_buf *a, const char *s)
{
	if (a->n + 1 >= sizeof(a->v) / sizeof(a->v[0]) || !(a->v[a->n] = strdup(s))) {
		a->overflow = true;
		return;
	}
	a->n++;
	a->v[a->n] = NULL;
}

void argv_addf(struct argv_buf *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		a->overflow = true;
		return;
	}
	argv_add(a, s);
	free(s);
}

void argv_free(struct argv_buf *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
	a->v[0] = NULL;
}

int argv_run(struct argv_buf *a, const char *input, size_t input_len, int *exit_code)
{
	int err;

	if (a->overflow || !a->n)
		return -E2BIG;
	err = run_argv(a->v, input, input_len, exit_code);
	if (err == -ENOENT)
		p_err("%s is not installed (not found on PATH)", a->v[0]);
	return err;
}

int guest_project_dir(const struct backend_ctx *ctx, char *buf, size_t len)
{
	char real[PATH_MAX], *slash;

	if (!ctx->cfg || !ctx->cfg->path || !realpath(ctx->cfg->path, real))
		return -ENOENT;
	slash = strrchr(real, '/');
	if (slash == real)
		slash[1] = '\0';
	else
		*slash = '\0';
	snprintf(buf, len, "%s", real);
	return 0;
}

int guest_check_mounts(const struct backend_ctx *ctx)
{
	char project[PATH_MAX];
	const char *why;

	if (guest_project_dir(ctx, project, sizeof(project)) == 0 &&
	    backend_path_forbidden(project, &why)) {
		p_err("%s: the project directory %s would share %s with the guest; move cage.yaml "
		      "into the project", ctx->name, project, why);
		return -EPERM;
	}
	for (size_t i = 0; ctx->cfg && i < ctx->cfg->n_mounts; i++) {
		const char *src = ctx->cfg->mounts[i].source;

		if (src[0] != '/') {
			p_err("%s: mounts[%zu]: %s must be an absolute path for a guest", ctx->name, i, src);
			return -EINVAL;
		}
		if (backend_path_forbidden(src, &why)) {
			p_err("%s: mounts[%zu]: %s is never shared with a guest (%s)", ctx->name, i, src, why);
			return -EPERM;
		}
	}
	return 0;
}

int guest_prepare_work_dir(const struct backend_ctx *ctx)
{
	char dst[PATH_MAX + 16], buf[8192];
	int in = -1, out = -1, err;
	ssize_t n;

	err = backend_mkdir_p(ctx->work_dir, 0700);
	if (err) {
		p_err("can't create %s: %s", ctx->work_dir, strerror(-err));
		return err;
	}
	if (!ctx->cfg || !ctx->cfg->path)
		return -EINVAL;
	snprintf(dst, sizeof(dst), "%s/cage.yaml", ctx->work_dir);
	in = open(ctx->cfg->path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		err = -errno;
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		err = -errno;
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			err = -EIO;
			goto out;
		}
	if (n < 0)
		err = -errno;
out:
	if (err)
		p_err("can't copy %s to %s: %s", ctx->cfg->path, dst, strerror(-err));
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) && !err)
		err = -errno;
	return err;
}

unsigned guest_cpus(const struct cage_config_file *cfg)
{
	if (!cfg || !cfg->cpus_milli)
		return 2;
	return (cfg->cpus_milli + 999) / 1000;
}

unsigned long long guest_memory_mib(const struct cage_config_file *cfg)
{
	unsigned long long mib;

	if (!cfg || !cfg->memory_max)
		return 4096;
	/* The guest kernel and the daemons need room beyond the workload's own limit. */
	mib = (cfg->memory_max + (1ULL << 20) - 1) >> 20;
	return mib + 512;
}
