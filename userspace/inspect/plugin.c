// SPDX-License-Identifier: GPL-2.0-only
/*
 * Custom inspectors are shared objects, so loading one runs its code inside cage-proxy: only
 * files under the configured plugin directory are accepted, after resolving symlinks, and
 * only if root (or the proxy's own user) owns them and nobody else can write them or the
 * directory. The ABI version must match exactly.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inspect/inspect_internal.h"

static bool safe_owner(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

int plugin_load(struct plugin_slot *slot, const char *path, const char *allowed_dir,
		const char *config_yaml, char *err, size_t errlen)
{
	char real[PATH_MAX], dir[PATH_MAX];
	struct stat st, dst;
	size_t dl;

	memset(slot, 0, sizeof(*slot));
	if (!allowed_dir) {
		snprintf(err, errlen, "custom inspector %s: no plugin directory is configured", path);
		return -EPERM;
	}
	if (!realpath(allowed_dir, dir) || !realpath(path, real)) {
		snprintf(err, errlen, "custom inspector %s: %s", path, strerror(errno));
		return -ENOENT;
	}
	dl = strlen(dir);
	if (strncmp(real, dir, dl) || real[dl] != '/' || stat(real, &st) || stat(dir, &dst) ||
	    !S_ISREG(st.st_mode) || !safe_owner(&st) || !safe_owner(&dst)) {
		snprintf(err, errlen, "custom inspector %s: not a safely owned file under %s", path,
			 allowed_dir);
		return -EPERM;
	}
	slot->handle = dlopen(real, RTLD_NOW | RTLD_LOCAL);
	if (!slot->handle) {
		snprintf(err, errlen, "custom inspector %s: cannot load it", path);
		return -ENOEXEC;
	}
	slot->api = dlsym(slot->handle, INSPECT_PLUGIN_SYMBOL);
	if (!slot->api || slot->api->abi_version != INSPECT_PLUGIN_ABI || !slot->api->name) {
		snprintf(err, errlen, "custom inspector %s: no %s with ABI version %u", path,
			 INSPECT_PLUGIN_SYMBOL, INSPECT_PLUGIN_ABI);
		plugin_unload(slot);
		return -ENOEXEC;
	}
	if (slot->api->create) {
		slot->instance = slot->api->create(config_yaml);
		if (!slot->instance) {
			snprintf(err, errlen, "custom inspector %s: its configuration was refused",
				 slot->api->name);
			plugin_unload(slot);
			return -EINVAL;
		}
	}
	return 0;
}

void plugin_unload(struct plugin_slot *slot)
{
	if (slot->api && slot->api->destroy && slot->instance)
		slot->api->destroy(slot->instance);
	if (slot->handle)
		dlclose(slot->handle);
	memset(slot, 0, sizeof(*slot));
}
