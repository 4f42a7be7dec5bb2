// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "enforce/daemon.h"

bool daemon_is_idle(const char *run_dir, const char *name)
{
	char path[PATH_MAX + 80];

	snprintf(path, sizeof(path), "%s/%s.idle", run_dir, name);
	return access(path, F_OK) == 0;
}

void daemon_mark_idle(const char *run_dir, const char *name, bool set)
{
	char path[PATH_MAX + 80];
	int fd;

	snprintf(path, sizeof(path), "%s/%s.idle", run_dir, name);
	if (!set) {
		unlink(path);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd >= 0)
		close(fd);
}

enum daemon_state daemon_state(const char *run_dir, const char *name, pid_t *pid)
{
	char path[PATH_MAX + 80];

	snprintf(path, sizeof(path), "%s/%s.pid", run_dir, name);
	*pid = pidfile_read(path);
	if (*pid > 0 && pid_runs(*pid, strcmp(name, "monitor") ? name : "cagectl"))
		return DAEMON_RUNNING;
	*pid = 0;
	return daemon_is_idle(run_dir, name) ? DAEMON_IDLE : DAEMON_NOT_RUNNING;
}

const char *daemon_state_name(enum daemon_state st)
{
	return st == DAEMON_RUNNING ? "running" : st == DAEMON_IDLE ? "idle" : "not running";
}

int pidfile_write(const char *path, pid_t pid)
{
	char tmp[PATH_MAX + 8], buf[32];
	int fd, len, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	if (write(fd, buf, (size_t)len) != len)
		err = -EIO;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

pid_t pidfile_read(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long pid;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 0 && pid < INT32_MAX ? (pid_t)pid : -EINVAL;
}

bool pid_runs(pid_t pid, const char *name)
{
	char path[64], cmd[4096];
	const char *base;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return false;  /* a zombie or a kernel thread */
	cmd[n] = '\0';
	base = strrchr(cmd, '/');
	base = base ? base + 1 : cmd;
	return strstr(base, name) != NULL;
}

/* A zombie has stopped running; its reaper (not us, for a daemon) removes it later. */
static bool pid_zombie(pid_t pid)
{
	char path[64], buf[256], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

static bool wait_gone(pid_t pid, int ms)
{
	struct timespec ts = { 0, 500 * 1000 };

	for (int i = 0; i < ms * 2; i++) {
		if ((kill(pid, 0) && errno == ESRCH) || pid_zombie(pid))
			return true;
		/* Our own child: reap it so it does not linger as a zombie. */
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

int daemon_stop_pidfile(const char *path, const char *name)
{
	pid_t pid = pidfile_read(path);

	if (pid < 0)
		return pid;
	if (pid_runs(pid, name) && kill(pid, SIGTERM) == 0 && !wait_gone(pid, 1000)) {
		kill(pid, SIGKILL);
		wait_gone(pid, 1000);
	}
	unlink(path);
	return 0;
}

void daemon_stop_all(const char *run_dir)
{
	char path[PATH_MAX], name[256];
	struct dirent *de;
	DIR *d = opendir(run_dir);
	size_t len;

	if (!d)
		return;
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".pid") || !strcmp(de->d_name, "monitor.pid"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 4), de->d_name);
		snprintf(path, sizeof(path), "%s/%s", run_dir, de->d_name);
		daemon_stop_pidfile(path, name);
	}
	closedir(d);
}
