// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "enforce/cgroup.h"

int cgroup2_mount(char *buf, size_t len)
{
	const char *env = getenv("CAGECTL_CGROUP_ROOT");
	char line[4096], mnt[PATH_MAX], fstype[64];
	FILE *f;
	int err = -ENOENT;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");

		/* mountinfo: id parent maj:min root mountpoint opts ... - fstype source superopts */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		if (sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2") != 0)
			continue;
		snprintf(buf, len, "%s", mnt);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

static bool controller_enabled(const char *dir, const char *controller)
{
	char path[PATH_MAX], buf[512], *tok, *save;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (strcmp(tok, controller) == 0)
			return true;
	return false;
}

int cgroup_create(const char *mount, const char *name, int *fd_out, bool *created_parent)
{
	char path[PATH_MAX];
	int fd;

	*created_parent = false;
	snprintf(path, sizeof(path), "%s/cagectl", mount);
	if (mkdir(path, 0755) == 0)
		*created_parent = true;
	else if (errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/cagectl/%s", mount, name);
	if (mkdir(path, 0755))
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;

		rmdir(path);
		return err;
	}
	*fd_out = fd;
	return 0;
}

int cgroup_open(const char *mount, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/cagectl/%s", mount, name);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cgroup_apply_limits(const char *mount, const char *name, const struct cgroup_limits *lim,
			cgroup_warn_fn warn, void *arg)
{
	static const char *const ctrl[] = { "memory", "pids", "cpu" };
	bool want[3] = { lim->memory_max != 0, lim->pids_max != 0, lim->cpus_milli != 0 };
	char parent[PATH_MAX], path[PATH_MAX], val[64];
	int err;

	snprintf(parent, sizeof(parent), "%s/cagectl", mount);
	for (int i = 0; i < 3; i++) {
		if (!want[i])
			continue;
		if (!controller_enabled(parent, ctrl[i])) {
			/* Enable it for our subtree if the root offers it. */
			snprintf(path, sizeof(path), "%s/cgroup.subtree_control", mount);
			snprintf(val, sizeof(val), "+%s", ctrl[i]);
			if (!controller_enabled(mount, ctrl[i]) || write_file(path, val) ||
			    (snprintf(path, sizeof(path), "%s/cgroup.subtree_control", parent),
			     write_file(path, val))) {
				warn(ctrl[i], "the controller is not enabled in this cgroup v2 hierarchy", arg);
				continue;
			}
		}
		switch (i) {
		case 0:
			snprintf(path, sizeof(path), "%s/%s/memory.max", parent, name);
			snprintf(val, sizeof(val), "%llu", (unsigned long long)lim->memory_max);
			break;
		case 1:
			snprintf(path, sizeof(path), "%s/%s/pids.max", parent, name);
			snprintf(val, sizeof(val), "%u", lim->pids_max);
			break;
		default:
			snprintf(path, sizeof(path), "%s/%s/cpu.max", parent, name);
			snprintf(val, sizeof(val), "%u 100000", lim->cpus_milli * 100);
			break;
		}
		err = write_file(path, val);
		if (err)
			return err;
	}
	return 0;
}

int cgroup_nprocs(const char *mount, const char *name)
{
	char path[PATH_MAX], line[64];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/cagectl/%s/cgroup.procs", mount, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

static void kill_by_list(const char *mount, const char *name)
{
	char path[PATH_MAX], line[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cagectl/%s/cgroup.procs", mount, name);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		kill((pid_t)atoi(line), SIGKILL);
	fclose(f);
}

int cgroup_destroy(const char *mount, const char *name, bool remove_parent_if_empty)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct timespec ts = { 0, 2 * 1000 * 1000 };

	snprintf(dir, sizeof(dir), "%s/cagectl/%s", mount, name);
	if (access(dir, F_OK))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	if (write_file(path, "1"))
		kill_by_list(mount, name);  /* kernels before 5.14 have no cgroup.kill */
	/* rmdir fails with EBUSY until the last task is gone; 5 s is far more than SIGKILL needs. */
	for (int i = 0; i < 2500; i++) {
		if (rmdir(dir) == 0)
			break;
		if (errno != EBUSY)
			return -errno;
		if (i % 50 == 49)
			kill_by_list(mount, name);
		nanosleep(&ts, NULL);
	}
	if (access(dir, F_OK) == 0)
		return -EBUSY;
	if (remove_parent_if_empty) {
		snprintf(path, sizeof(path), "%s/cagectl", mount);
		rmdir(path);  /* fails harmlessly while other cages exist */
	}
	return 0;
}

uint64_t cgroup_id(int cgroup_fd)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	int mount_id;

	if (name_to_handle_at(cgroup_fd, "", &h.fh, &mount_id, AT_EMPTY_PATH))
		return 0;
	return h.id;
}
