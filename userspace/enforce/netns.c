// SPDX-License-Identifier: GPL-2.0-only
#include "enforce/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int netns_path(char *buf, size_t len, const char *name, const char *run_dir)
{
	int n;

	if (!name || !run_dir || !*name || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	n = snprintf(buf, len, "%s/%s", run_dir, name);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Mounts made under run_dir must propagate into mount namespaces cloned later (a cage's private
 * mount namespace, another `ip netns exec`), so run_dir is made a shared mount point of its own,
 * binding it onto itself the first time, exactly as iproute2 prepares /run/netns. */
static int run_dir_make_shared(const char *run_dir)
{
	if (mkdir(run_dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mount("", run_dir, "none", MS_SHARED | MS_REC, NULL) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	if (mount(run_dir, run_dir, "none", MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	if (mount("", run_dir, "none", MS_SHARED | MS_REC, NULL) < 0)
		return -errno;
	return 0;
}

struct netns_birth {
	const char *path;
	int err;
};

/* unshare(CLONE_NEWNET) in a thread moves only that thread, so the caller never changes netns;
 * the bind mount keeps the namespace alive after the thread exits. */
static void *netns_birth_thread(void *arg)
{
	struct netns_birth *birth = arg;

	if (unshare(CLONE_NEWNET) < 0) {
		birth->err = -errno;
		return NULL;
	}
	if (mount("/proc/thread-self/ns/net", birth->path, "none", MS_BIND, NULL) < 0)
		birth->err = -errno;
	return NULL;
}

int netns_create(const char *name, const char *run_dir, int *fd_out)
{
	struct netns_birth birth = { 0 };
	char path[PATH_MAX];
	pthread_t thread;
	int fd, err;

	err = netns_path(path, sizeof(path), name, run_dir);
	if (err)
		return err;
	err = run_dir_make_shared(run_dir);
	if (err)
		return err;

	/* O_EXCL makes the name the lock: two creators of one name cannot both get here. */
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);

	birth.path = path;
	err = -pthread_create(&thread, NULL, netns_birth_thread, &birth);
	if (err)
		goto err_unlink;
	pthread_join(thread, NULL);
	err = birth.err;
	if (err)
		goto err_unlink;

	if (fd_out) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			goto err_umount;
		}
		*fd_out = fd;
	}
	return 0;

err_umount:
	umount2(path, MNT_DETACH);
err_unlink:
	unlink(path);
	return err;
}

int netns_open(const char *name, const char *run_dir)
{
	char path[PATH_MAX];
	int fd, err;

	err = netns_path(path, sizeof(path), name, run_dir);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int netns_delete(const char *name, const char *run_dir)
{
	char path[PATH_MAX];
	int err;

	err = netns_path(path, sizeof(path), name, run_dir);
	if (err)
		return err;
	/* EINVAL means "not a mount point": a file left by a failed create, still worth removing. */
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
		return -errno;
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

int netns_enter(int fd, int *saved_fd)
{
	int saved, err;

	saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) < 0) {
		err = -errno;
		close(saved);
		return err;
	}
	*saved_fd = saved;
	return 0;
}

int netns_leave(int saved_fd)
{
	int err = 0;

	if (setns(saved_fd, CLONE_NEWNET) < 0)
		err = -errno;
	close(saved_fd);
	return err;
}

int netns_socket(int netns_fd, int domain, int type, int protocol)
{
	int saved, fd, err;

	if (netns_fd < 0) {
		fd = socket(domain, type | SOCK_CLOEXEC, protocol);
		return fd < 0 ? -errno : fd;
	}
	err = netns_enter(netns_fd, &saved);
	if (err)
		return err;
	/* A socket belongs to the netns it was created in for its whole life. */
	fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		fd = -errno;
	err = netns_leave(saved);
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

static int sysctl_path_valid(const char *path)
{
	const char *p = path;

	if (!*path || *path == '/')
		return 0;
	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 0 || (len == 2 && p[0] == '.' && p[1] == '.') || (len == 1 && p[0] == '.'))
			return 0;
		p += len;
		if (*p == '/')
			p++;
	}
	return 1;
}

static int sysctl_write_here(const char *file, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd, err = 0;

	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

int netns_sysctl_write(int netns_fd, const char *path, const char *val)
{
	char file[PATH_MAX];
	int saved, err, n;

	if (!path || !val || !sysctl_path_valid(path))
		return -EINVAL;
	n = snprintf(file, sizeof(file), "/proc/sys/%s", path);
	if (n < 0 || (size_t)n >= sizeof(file))
		return -ENAMETOOLONG;
	if (netns_fd < 0)
		return sysctl_write_here(file, val);

	/* /proc/sys/net resolves against the opening thread's netns, so open it from inside. */
	err = netns_enter(netns_fd, &saved);
	if (err)
		return err;
	err = sysctl_write_here(file, val);
	n = netns_leave(saved);
	return err ? err : n;
}
