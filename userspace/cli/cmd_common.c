// SPDX-License-Identifier: GPL-2.0-only
/* Small helpers every cagectl command shares: flags, durations, times, cage lookup, the monitor. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "enforce/cage.h"
#include "enforce/daemon.h"
#include "lib/log.h"

void cli_strip_json(int *argc, char **argv)
{
	int j = 0, i = 0;

	for (; i < *argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json_output = log_json = true;
		else
			argv[j++] = argv[i];
	}
	for (; i < *argc; i++)
		argv[j++] = argv[i];
	*argc = j;
}

int64_t cli_parse_duration(const char *s)
{
	int64_t total = 0;
	bool any = false;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		int64_t n = 0, unit;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		while (isdigit((unsigned char)*s)) {
			n = n * 10 + (*s++ - '0');
			if (n > 100000000)
				return -EINVAL;
		}
		switch (*s++) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return -EINVAL;
		}
		total += n * unit;
		any = true;
	}
	return any && total > 0 ? total : -EINVAL;
}

static int digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

int64_t cli_parse_time(const char *s)
{
	struct tm tm = { 0 };
	int64_t off = 0;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	const char *p = s;

	y = digits(&p, 4);
	if (y < 1970 || *p++ != '-')
		return -EINVAL;
	mo = digits(&p, 2);
	if (mo < 1 || mo > 12 || *p++ != '-')
		return -EINVAL;
	d = digits(&p, 2);
	if (d < 1 || d > 31)
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		h = digits(&p, 2);
		if (h < 0 || h > 23 || *p++ != ':')
			return -EINVAL;
		mi = digits(&p, 2);
		if (mi < 0 || mi > 59)
			return -EINVAL;
		if (*p == ':') {
			p++;
			sec = digits(&p, 2);
			if (sec < 0 || sec > 60)
				return -EINVAL;
			if (*p == '.')
				for (p++; isdigit((unsigned char)*p); p++)
					;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om;

			oh = digits(&p, 2);
			if (oh < 0 || *p++ != ':')
				return -EINVAL;
			om = digits(&p, 2);
			if (om < 0)
				return -EINVAL;
			off = sign * (oh * 3600 + om * 60);
		} else {
			return -EINVAL;
		}
	}
	if (*p)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm) - off;
}

int64_t cli_parse_since(const char *s, int64_t now)
{
	int64_t d = cli_parse_duration(s);

	if (d > 0)
		return now - d;
	return cli_parse_time(s);
}

int cli_cage_lookup(const char *cmd, const char *name, struct cage_paths *p, bool need_running)
{
	struct stat sb;

	if (!cage_name_valid(name)) {
		p_err("%s: '%s' is not a cage name", cmd, name);
		return EXIT_USAGE;
	}
	if (cage_paths_init(p, name)) {
		p_err("%s: can't find a cgroup v2 mount", cmd);
		return 1;
	}
	if (cage_exists(p))
		return 0;
	if (!need_running && stat(p->state_dir, &sb) == 0)
		return 0;
	if (need_running && stat(p->state_dir, &sb) == 0)
		p_err("%s: cage %s is not up", cmd, name);
	else
		p_err("%s: no cage named %s", cmd, name);
	return 1;
}

pid_t cli_monitor_pid(const struct cage_paths *p)
{
	pid_t pid = pidfile_read(p->monitor_pid);

	return pid > 0 && pid_runs(pid, "cagectl") ? pid : -ESRCH;
}

int cli_signal_monitor(const struct cage_paths *p, int sig)
{
	pid_t pid = cli_monitor_pid(p);

	if (pid < 0)
		return pid;
	return kill(pid, sig) ? -errno : 0;
}

static int names_in(const char *dir, char names[][64], int max)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max)
		if (de->d_name[0] != '.' && cage_name_valid(de->d_name) && de->d_type == DT_DIR)
			snprintf(names[n++], 64, "%s", de->d_name);
	closedir(d);
	qsort(names, (size_t)n, 64, (int (*)(const void *, const void *))strcmp);
	return n;
}

int cli_cage_names(char names[][64], int max)
{
	struct cage_paths roots;

	cage_paths_roots(&roots);
	return names_in(roots.run_root, names, max);
}

int cli_known_cage_names(char names[][64], int max)
{
	struct cage_paths roots;

	cage_paths_roots(&roots);
	return names_in(roots.state_root, names, max);
}

int cli_run_self(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int cli_read_file(const char *path, char **out, size_t *len, size_t max)
{
	struct stat sb;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) || (size_t)sb.st_size > max) {
		err = errno ? -errno : -EFBIG;
		goto out_close;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out_close;
	}
	while (got < (size_t)sb.st_size && (n = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	*out = buf;
	if (len)
		*len = got;
out_close:
	close(fd);
	return err;
}

int cli_write_file_atomic(const char *path, const char *data, size_t len, unsigned mode)
{
	char tmp[PATH_MAX + 16];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd))
		err = errno ? -errno : -EIO;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}
