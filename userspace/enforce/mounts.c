// SPDX-License-Identifier: GPL-2.0-only
/*
 * The cage's mount namespace. The child starts with a copy of the host's mounts (clone3 with
 * CLONE_NEWNS) and changes it so that the workload sees its own netns in /sys, its own cgroup as
 * the root of the cgroup tree, no bpffs, none of cagectl's state and none of the host daemons'
 * sockets. Every read-only mount is made by mounting and then remounting the bind read-only:
 * the remount changes only this mount, never a superblock the host shares.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enforce/spawn.h"

#define MS_HARDENED (MS_NOSUID | MS_NODEV)

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_mountinfo(char *s)
{
	char *out = s;

	for (char *in = s; *in; ) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
		    in[3] >= '0' && in[3] <= '7') {
			*out++ = (char)((in[1] - '0') << 6 | (in[2] - '0') << 3 | (in[3] - '0'));
			in += 4;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
}

/* A mountinfo line: "id parent maj:min root mountpoint options [optional...] - fstype source ...". */
static bool mountinfo_is_cgroup2(char *line, char **mountpoint)
{
	char *save = NULL, *field, *point = NULL;
	int i = 0;

	for (field = strtok_r(line, " ", &save); field; field = strtok_r(NULL, " ", &save), i++) {
		if (i == 4)
			point = field;
		if (i >= 6 && strcmp(field, "-") == 0) {
			char *fstype = strtok_r(NULL, " ", &save);

			if (!point || !fstype || strcmp(fstype, "cgroup2") != 0)
				return false;
			*mountpoint = point;
			return true;
		}
	}
	return false;
}

/* The host directories the child covers with a fresh tmpfs. */
static const struct { const char *path, *data; unsigned long flags; } replaced_dirs[] = {
	{ "/run", "mode=0755,size=16m", MS_HARDENED | MS_NOEXEC },
	{ "/var/run", "mode=0755,size=16m", MS_HARDENED | MS_NOEXEC },
	{ "/tmp", "mode=1777", MS_HARDENED },
	{ "/dev/shm", "mode=1777", MS_HARDENED },
};

static bool is_below_replaced(const char *point)
{
	for (size_t i = 0; i < sizeof(replaced_dirs) / sizeof(replaced_dirs[0]); i++) {
		size_t n = strlen(replaced_dirs[i].path);

		if (strncmp(point, replaced_dirs[i].path, n) == 0 && point[n] == '/')
			return true;
	}
	return false;
}

/* Mounts that do not fit are still covered by the tmpfs; the list only makes them disappear. */
static void remember_below_replaced(struct spawn_mount_plan *plan, const char *point, size_t *used)
{
	size_t n = strlen(point) + 1;

	if (*used + n > sizeof(plan->below_replaced))
		return;
	memcpy(plan->below_replaced + *used, point, n);
	*used += n;
	plan->n_below_replaced++;
}

int spawn_mounts_prepare(struct spawn_mount_plan *plan)
{
	char *line = NULL, *point;
	size_t cap = 0, used = 0;
	int err = -ENOENT;
	FILE *f;

	plan->cgroup2_path[0] = '\0';
	plan->n_below_replaced = 0;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *field = strtok_r(line, " \n", &save);

		for (int i = 0; field && i < 4; i++)
			field = strtok_r(NULL, " \n", &save);
		if (!field)
			continue;
		unescape_mountinfo(field);
		if (is_below_replaced(field))
			remember_below_replaced(plan, field, &used);
	}
	rewind(f);
	while (err == -ENOENT && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (!mountinfo_is_cgroup2(line, &point))
			continue;
		unescape_mountinfo(point);
		if (strlen(point) >= sizeof(plan->cgroup2_path)) {
			err = -ENAMETOOLONG;
			break;
		}
		strcpy(plan->cgroup2_path, point);
		err = 0;
	}
	free(line);
	fclose(f);
	return err;
}

static int fail(struct spawn_failure *failure, const char *step, const char *path)
{
	int err = -errno;

	failure->step = step;
	failure->path = path;
	return err;
}

/* Makes the mount at target read-only (plus nosuid, nodev and extra) without touching its
 * superblock. */
static int remount_ro(const char *target, unsigned long extra)
{
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_HARDENED | extra, NULL) < 0)
		return -errno;
	return 0;
}

static int mount_fresh_ro(const char *fstype, const char *target, unsigned long flags, const char *data)
{
	if (mount(fstype, target, fstype, flags, data) < 0)
		return -errno;
	return remount_ro(target, flags & MS_NOEXEC);
}

static int bind_ro(const char *src, const char *target)
{
	if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	return remount_ro(target, 0);
}

/*
 * Takes the host's mount (and everything mounted below it) out of this namespace before a fresh
 * one goes in its place, so covered mounts (bpffs, debugfs, /run/netns, the host's cgroup
 * hierarchies) are gone rather than merely shadowed. EINVAL: path is not a mount point.
 */
static int detach(const char *path)
{
	/* Hosts stack mounts (two tmpfs on /dev/shm is common); each pass removes the top one. */
	for (int stacked = 0; stacked < 16; stacked++) {
		if (umount2(path, MNT_DETACH) < 0)
			return errno == EINVAL || errno == ENOENT ? 0 : -errno;
	}
	return 0;
}

/* mkdir -p into buf, which the caller owns (the child may not allocate). */
static int mkdir_parents(char *path, mode_t mode)
{
	for (char *slash = strchr(path + 1, '/'); ; slash = strchr(slash + 1, '/')) {
		if (slash)
			*slash = '\0';
		int rc = mkdir(path, mode);
		if (slash)
			*slash = '/';
		if (rc < 0 && errno != EEXIST)
			return -errno;
		if (!slash)
			return 0;
	}
}

/* Creates dst as a directory, or as an empty file whose parents are directories. */
static int ensure_mountpoint(const char *dst, bool is_dir)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	if (stat(dst, &st) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	if (snprintf(path, sizeof(path), "%s", dst) >= (int)sizeof(path) || path[0] != '/')
		return -EINVAL;
	if (is_dir)
		return mkdir_parents(path, 0755);
	char *last = strrchr(path, '/');
	if (last != path) {
		*last = '\0';
		int err = mkdir_parents(path, 0755);
		if (err)
			return err;
	}
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	close(fd);
	return 0;
}

/*
 * cgroup2 goes where the host has it, so tools find it where they expect. A fresh sysfs has
 * /sys/fs/cgroup but nothing under it, so when the host mounts cgroup2 deeper (…/unified) the
 * missing directories are made on a small tmpfs over the deepest directory that exists.
 */
static int mount_cgroup2(const char *where, struct spawn_failure *failure)
{
	char base[PATH_MAX];
	struct stat st;
	char *slash;

	if (snprintf(base, sizeof(base), "%s", where) >= (int)sizeof(base))
		return errno = ENAMETOOLONG, fail(failure, "mount cgroup2 on", where);
	while (stat(base, &st) < 0) {
		if (errno != ENOENT)
			return fail(failure, "stat", where);
		slash = strrchr(base, '/');
		if (!slash || slash == base)
			return errno = ENOENT, fail(failure, "find a parent for", where);
		*slash = '\0';
	}
	if (strcmp(base, where) != 0) {
		char path[PATH_MAX];

		if (mount("tmpfs", base, "tmpfs", MS_HARDENED | MS_NOEXEC, "mode=0755,size=4k") < 0)
			return fail(failure, "mount tmpfs below", where);
		memcpy(path, where, strlen(where) + 1);
		errno = -mkdir_parents(path, 0755);
		if (errno)
			return fail(failure, "create", where);
		errno = -remount_ro(base, MS_NOEXEC);
		if (errno)
			return fail(failure, "remount read-only below", where);
	}
	errno = -mount_fresh_ro("cgroup2", where, MS_HARDENED | MS_NOEXEC, NULL);
	if (errno)
		return fail(failure, "mount cgroup2 on", where);
	return 0;
}

/* Host kernel knobs stay read-only even where a file's mode would let a process write. */
static const char *const proc_read_only[] = {
	"/proc/sys", "/proc/sysrq-trigger", "/proc/bus", "/proc/fs", "/proc/irq",
};

static int protect_proc(struct spawn_failure *failure)
{
	for (size_t i = 0; i < sizeof(proc_read_only) / sizeof(proc_read_only[0]); i++) {
		const char *path = proc_read_only[i];

		errno = -bind_ro(path, path);
		if (errno == ENOENT)
			continue;
		if (errno)
			return fail(failure, "make read-only", path);
	}
	return 0;
}

/* A directory disappears under an empty read-only tmpfs; a file under a read-only /dev/null. */
static int hide_path(const char *path, struct spawn_failure *failure)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : fail(failure, "stat", path);
	if (S_ISDIR(st.st_mode))
		errno = -mount_fresh_ro("tmpfs", path, MS_HARDENED | MS_NOEXEC, "mode=0755,size=4k");
	else
		errno = -bind_ro("/dev/null", path);
	return errno ? fail(failure, "hide", path) : 0;
}

/*
 * Host daemons keep their sockets in /run (docker.sock, dbus, systemd) and in the shared tmpfs
 * directories; connect() on a unix socket ignores read-only mounts, so they must not be there at
 * all. /var/run is normally a symlink to /run and is then covered with it.
 */
static int replace_shared_tmpfs(const struct spawn_mount_plan *plan, struct spawn_failure *failure)
{
	const char *below = plan->below_replaced;
	struct stat st;

	/* Parents come before children in mountinfo; detaching a parent takes its children along,
	 * and those then fail with EINVAL or ENOENT, which detach() accepts. */
	for (size_t i = 0; i < plan->n_below_replaced; i++, below += strlen(below) + 1) {
		errno = -detach(below);
		if (errno)
			return fail(failure, "unmount", below);
	}
	for (size_t i = 0; i < sizeof(replaced_dirs) / sizeof(replaced_dirs[0]); i++) {
		if (lstat(replaced_dirs[i].path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		errno = -detach(replaced_dirs[i].path);
		if (errno)
			return fail(failure, "unmount", replaced_dirs[i].path);
		if (mount("tmpfs", replaced_dirs[i].path, "tmpfs", replaced_dirs[i].flags, replaced_dirs[i].data) < 0)
			return fail(failure, "mount tmpfs on", replaced_dirs[i].path);
	}
	/* Programs expect a world-writable lock directory under /run. */
	if (mkdir("/run/lock", 01777) < 0 && errno != EEXIST)
		return fail(failure, "create", "/run/lock");
	if (chmod("/run/lock", 01777) < 0)
		return fail(failure, "chmod", "/run/lock");
	return 0;
}

/*
 * Bind sources are opened before anything is hidden or replaced: they usually live in exactly
 * the places the cage must not see (/run/cagectl/<cage>/resolv.conf, /run/lab/env.sh). The
 * mounts are made later from /proc/self/fd/N, which names the opened file wherever it is.
 */
struct bind_sources {
	int resolv;
	int binds[CAGE_SPAWN_MAX_BINDS];
};

static int open_source(const char *path, int *fd, struct spawn_failure *failure)
{
	*fd = open(path, O_PATH | O_CLOEXEC);
	return *fd < 0 ? fail(failure, "open bind source", path) : 0;
}

static void close_sources(const struct cage_spawn *s, struct bind_sources *src)
{
	if (src->resolv >= 0)
		close(src->resolv);
	for (size_t i = 0; i < s->n_binds; i++) {
		if (src->binds[i] >= 0)
			close(src->binds[i]);
	}
}

static int open_sources(const struct cage_spawn *s, struct bind_sources *src, struct spawn_failure *failure)
{
	int err = 0;

	src->resolv = -1;
	for (size_t i = 0; i < s->n_binds; i++)
		src->binds[i] = -1;
	if (s->resolv_conf)
		err = open_source(s->resolv_conf, &src->resolv, failure);
	for (size_t i = 0; !err && i < s->n_binds; i++)
		err = open_source(s->binds[i].src, &src->binds[i], failure);
	return err;
}

/* "/proc/self/fd/<fd>" without stdio. */
static const char *fd_path(char buf[32], int fd)
{
	char digits[12];
	int n = 0;

	do {
		digits[n++] = (char)('0' + fd % 10);
		fd /= 10;
	} while (fd && n < (int)sizeof(digits));
	memcpy(buf, "/proc/self/fd/", 14);
	for (int i = 0; i < n; i++)
		buf[14 + i] = digits[n - 1 - i];
	buf[14 + n] = '\0';
	return buf;
}

/*
 * /etc/resolv.conf is often a symlink into /run, which is now empty; the bind goes onto the
 * file the link names, created on the fresh tmpfs when it is missing. Done in a buffer the
 * caller owns, following at most a few links.
 */
static int bind_resolv_conf(int src_fd, struct spawn_failure *failure)
{
	static char target[PATH_MAX];
	char link[PATH_MAX], src[32];
	struct stat st;
	ssize_t n;

	strcpy(target, "/etc/resolv.conf");
	for (int hops = 0; hops < 8 && lstat(target, &st) == 0 && S_ISLNK(st.st_mode); hops++) {
		n = readlink(target, link, sizeof(link) - 1);
		if (n < 0)
			return fail(failure, "readlink", target);
		link[n] = '\0';
		if (link[0] == '/') {
			memcpy(target, link, n + 1);
		} else {
			char *slash = strrchr(target, '/');
			size_t dir_len = (size_t)(slash - target) + 1;

			if (dir_len + (size_t)n >= sizeof(target))
				return errno = ENAMETOOLONG, fail(failure, "resolve", "/etc/resolv.conf");
			memcpy(target + dir_len, link, n + 1);
		}
	}
	errno = -ensure_mountpoint(target, false);
	if (errno)
		return fail(failure, "create", target);
	errno = -bind_ro(fd_path(src, src_fd), target);
	return errno ? fail(failure, "bind resolv.conf onto", target) : 0;
}

static int apply_binds(const struct cage_spawn *s, const struct bind_sources *sources,
		       struct spawn_failure *failure)
{
	struct stat st;
	char src[32];

	for (size_t i = 0; i < s->n_binds; i++) {
		const struct cage_bind *b = &s->binds[i];

		if (fstat(sources->binds[i], &st) < 0)
			return fail(failure, "stat bind source", b->src);
		errno = -ensure_mountpoint(b->dst, S_ISDIR(st.st_mode));
		if (errno)
			return fail(failure, "create", b->dst);
		if (mount(fd_path(src, sources->binds[i]), b->dst, NULL, MS_BIND | MS_REC, NULL) < 0)
			return fail(failure, "bind", b->dst);
		if (mount(NULL, b->dst, NULL, MS_REMOUNT | MS_BIND | MS_HARDENED | (b->ro ? MS_RDONLY : 0),
			  NULL) < 0)
			return fail(failure, "remount", b->dst);
	}
	return 0;
}

static int build_namespace(const struct cage_spawn *s, const struct spawn_mount_plan *plan,
			   const struct bind_sources *sources, struct spawn_failure *failure)
{
	int err;

	/* A pid namespace needs its own /proc, mounted by a process inside it. */
	if (s->new_pidns) {
		errno = -detach("/proc");
		if (errno)
			return fail(failure, "unmount", "/proc");
		if (mount("proc", "/proc", "proc", MS_HARDENED | MS_NOEXEC, NULL) < 0)
			return fail(failure, "mount proc on", "/proc");
	}
	err = protect_proc(failure);
	if (err)
		return err;
	/* sysfs shows the netns of whoever mounts it: the child has already joined the cage's.
	 * The host's bpffs, debugfs and cgroup mounts below /sys go with the old one. */
	errno = -detach("/sys");
	if (errno)
		return fail(failure, "unmount", "/sys");
	errno = -mount_fresh_ro("sysfs", "/sys", MS_HARDENED | MS_NOEXEC, NULL);
	if (errno)
		return fail(failure, "mount sysfs on", "/sys");
	err = mount_cgroup2(plan->cgroup2_path, failure);
	if (err)
		return err;
	for (const char *const *hide = s->hide; hide && *hide; hide++) {
		err = hide_path(*hide, failure);
		if (err)
			return err;
	}
	err = replace_shared_tmpfs(plan, failure);
	if (err)
		return err;
	if (sources->resolv >= 0) {
		err = bind_resolv_conf(sources->resolv, failure);
		if (err)
			return err;
	}
	return apply_binds(s, sources, failure);
}

int spawn_mounts_apply(const struct cage_spawn *s, const struct spawn_mount_plan *plan,
		       struct spawn_failure *failure)
{
	struct bind_sources sources;
	int err;

	/* Nothing done here may propagate back to the host's mounts. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(failure, "make / private", NULL);
	err = open_sources(s, &sources, failure);
	if (!err)
		err = build_namespace(s, plan, &sources, failure);
	close_sources(s, &sources);
	return err;
}
