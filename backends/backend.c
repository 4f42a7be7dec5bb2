// SPDX-License-Identifier: GPL-2.0-only
/* Picking a backend, where its files live, and remembering which one a cage uses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "backends/backend.h"
#include "lib/log.h"

#ifndef CAGECTL_SRCDIR
#define CAGECTL_SRCDIR "."
#endif

struct host_kind {
	char sysname[65], release[65], machine[65];
};

/* CAGECTL_UNAME="SYSNAME RELEASE MACHINE" stands in for uname(2) so tests can play macOS. */
static void host_kind(struct host_kind *h)
{
	const char *fake = getenv("CAGECTL_UNAME");
	struct utsname u;

	if (fake && sscanf(fake, "%64s %64s %64s", h->sysname, h->release, h->machine) == 3)
		return;
	if (uname(&u)) {
		strcpy(h->sysname, "unknown");
		h->release[0] = h->machine[0] = '\0';
		return;
	}
	snprintf(h->sysname, sizeof(h->sysname), "%s", u.sysname);
	snprintf(h->release, sizeof(h->release), "%s", u.release);
	snprintf(h->machine, sizeof(h->machine), "%s", u.machine);
}

static bool on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (!path)
		return false;
	while (*path) {
		size_t n = strcspn(path, ":");

		if (n > 0 && snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

enum cage_isolation backend_resolve(enum cage_isolation want)
{
	struct host_kind h;

	if (want != ISOLATION_AUTO)
		return want;
	host_kind(&h);
	if (strcmp(h.sysname, "Darwin"))
		return ISOLATION_LINUX;
	/* Darwin 25 is macOS 26, the first release Apple's `container` supports. */
	if (atoi(h.release) >= 25 && !strcmp(h.machine, "arm64") && on_path("container"))
		return ISOLATION_APPLE_CONTAINER;
	return ISOLATION_LIMA;
}

const struct backend_ops *backend_get(enum cage_isolation iso)
{
	switch (iso) {
	case ISOLATION_LIMA:
		return &backend_lima;
	case ISOLATION_APPLE_CONTAINER:
		return &backend_apple_container;
	default:
		return NULL;
	}
}

const char *backend_isolation_name(enum cage_isolation iso)
{
	switch (iso) {
	case ISOLATION_LINUX:
		return "linux";
	case ISOLATION_LIMA:
		return "lima";
	case ISOLATION_APPLE_CONTAINER:
		return "apple-container";
	default:
		return "auto";
	}
}

static void state_root(char *buf, size_t len)
{
	const char *env = getenv("CAGECTL_STATE_DIR"), *home = getenv("HOME");
	struct host_kind h;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	host_kind(&h);
	/* macOS users run cagectl without root: keep the rendered files in their home. */
	if (!strcmp(h.sysname, "Darwin") && home && *home)
		snprintf(buf, len, "%s/.cagectl", home);
	else
		snprintf(buf, len, "/var/lib/cagectl");
}

int backend_ctx_init(struct backend_ctx *ctx, const char *name, const struct backend_ops *ops,
		     const struct cage_config_file *cfg)
{
	const char *src = getenv("CAGECTL_SOURCE_DIR");
	char root[PATH_MAX - 200];

	if (!cage_name_valid(name))
		return -EINVAL;
	memset(ctx, 0, sizeof(*ctx));
	snprintf(ctx->name, sizeof(ctx->name), "%s", name);
	snprintf(ctx->instance, sizeof(ctx->instance), "cagectl-%s", name);
	ctx->cfg = cfg;
	state_root(root, sizeof(root));
	snprintf(ctx->work_dir, sizeof(ctx->work_dir), "%s/%s/%s", root, name, ops->name);
	if (!src || !*src)
		src = CAGECTL_SRCDIR;
	if (!realpath(src, ctx->src_dir)) {
		p_err("cagectl source tree %s: %s (set CAGECTL_SOURCE_DIR)", src, strerror(errno));
		return -errno;
	}
	return 0;
}

static void record_path(const char *name, char *buf, size_t len)
{
	char root[PATH_MAX - 200];

	state_root(root, sizeof(root));
	snprintf(buf, len, "%s/%s/backend", root, name);
}

int backend_record(const char *name, enum cage_isolation iso)
{
	char path[PATH_MAX], dir[PATH_MAX];
	FILE *f;

	record_path(name, path, sizeof(path));
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	if (backend_mkdir_p(dir, 0700))
		return -errno;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", backend_isolation_name(iso));
	return fclose(f) ? -errno : 0;
}

int backend_recall(const char *name, enum cage_isolation *iso)
{
	char path[PATH_MAX], word[32] = "";
	FILE *f;

	record_path(name, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fscanf(f, "%31s", word) != 1)
		word[0] = '\0';
	fclose(f);
	if (!strcmp(word, "lima"))
		*iso = ISOLATION_LIMA;
	else if (!strcmp(word, "apple-container"))
		*iso = ISOLATION_APPLE_CONTAINER;
	else if (!strcmp(word, "linux"))
		*iso = ISOLATION_LINUX;
	else
		return -EINVAL;
	return 0;
}

void backend_forget(const char *name)
{
	char path[PATH_MAX];

	record_path(name, path, sizeof(path));
	unlink(path);
}

int backend_secret_set(const struct backend_ops *ops, const struct backend_ctx *ctx,
		       const char *name, const char *value, size_t len)
{
	char *argv[] = { "secret", "set", (char *)name, NULL };
	int code = 0, err;

	err = ops->guest_cagectl(ctx, argv, value, len, &code);
	if (!err && code) {
		p_err("%s: cagectl secret set %s failed in the guest (exit %d)", ctx->instance, name, code);
		err = -EIO;
	}
	return err;
}
