/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Starting a workload inside a cage. cage_spawn() creates the process with clone3() directly in the
 * cage cgroup (a socket created before joining a cgroup escapes every cgroup-BPF hook), moves it
 * into the cage netns and a private mount namespace, drops it to an unprivileged identity with no
 * capabilities, NoNewPrivs and a seccomp filter, and only then executes the workload. Nothing of
 * the workload runs before all of that is in place. Errors are negative errno values; only the
 * child prints, because after clone3() it has no one else to tell.
 */
#ifndef CAGE_ENFORCE_SPAWN_H
#define CAGE_ENFORCE_SPAWN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit codes of the child when the workload never started, as a shell reports them. */
#define CAGE_SPAWN_EXIT_SETUP 126
#define CAGE_SPAWN_EXIT_EXEC  127

#define CAGE_SPAWN_MAX_BINDS 32

struct cage_bind {
	const char *src, *dst;  /* host path; path inside the cage (created if missing, like src) */
	bool ro;
};

struct cage_spawn {
	int cgroup_fd;            /* O_DIRECTORY fd of the cage cgroup (cgroup v2) */
	int netns_fd;             /* the cage netns */
	uint32_t uid, gid;        /* 1000:1000 unless the config says otherwise */
	char *const *argv;        /* argv[0] is looked up in the PATH of envp, inside the cage's view */
	char *const *envp;        /* the whole environment of the workload; NULL = empty */
	const char *workdir;      /* NULL = "/" */
	const char *resolv_conf;  /* host file bound read-only over /etc/resolv.conf, or NULL */
	const char *const *hide;  /* NULL-terminated; each covered by an empty read-only mount;
	                             paths that do not exist are skipped */
	const struct cage_bind *binds;  /* bound after /run and /tmp are replaced; src is opened
	                                   before anything is hidden, so it may live in a hidden place */
	size_t n_binds;                 /* at most CAGE_SPAWN_MAX_BINDS */
	bool new_pidns;           /* own pid namespace and a fresh /proc; the workload is its pid 1 */
	int ready_fd;             /* -1, or an fd the child closes right before exec */
};

/*
 * Starts s->argv in the cage; *pid_out is the child's pid (in the caller's pid namespace).
 * -ENOSYS if the kernel has no clone3() with CLONE_INTO_CGROUP: there is no fallback, because
 * "fork, then move" leaves a window in which the workload runs outside the cage.
 * Once the child exists, failures are reported through its exit status: 126 when the sandbox
 * could not be set up (stderr names the step), 127 when exec failed.
 */
int cage_spawn(const struct cage_spawn *s, pid_t *pid_out);

/* Waits for pid; *exit_code is its exit status, or 128+signal like a shell. 0 or -errno. */
int cage_spawn_wait(pid_t pid, int *exit_code);

/*
 * Internal to spawn.c, mounts.c and sandbox.c. Everything a child needs is prepared by the parent,
 * because after a raw clone3() from a possibly multi-threaded process the child may not allocate
 * or take glibc locks; the child side only makes system calls.
 */
struct sock_fprog;

/* What a failing child step reports: "cagectl: <step> <path>: <error>". */
struct spawn_failure {
	const char *step;
	const char *path;  /* may be NULL */
};

struct spawn_mount_plan {
	char cgroup2_path[PATH_MAX];  /* where the host mounts cgroup2, from /proc/self/mountinfo */
	/* Mount points below the directories the child replaces (/run/netns/…, /tmp/…), as
	 * consecutive NUL-terminated strings; detached so their names and contents are gone. */
	char below_replaced[16384];
	size_t n_below_replaced;
};

/* Parent: finds the cgroup2 mount point. -ENOENT when the host has none. */
int spawn_mounts_prepare(struct spawn_mount_plan *plan);

/* Child: builds the cage's mount namespace (already unshared by clone3). 0 or -errno + *failure. */
int spawn_mounts_apply(const struct cage_spawn *s, const struct spawn_mount_plan *plan,
		       struct spawn_failure *failure);

/* Parent: the workload's seccomp filter as classic BPF; free it with spawn_seccomp_free(). */
int spawn_seccomp_build(struct sock_fprog *prog);
void spawn_seccomp_free(struct sock_fprog *prog);

/* Child: switches to uid/gid with no supplementary groups and empty capability sets (bounding,
 * ambient, permitted, effective, inheritable). 0 or -errno + *failure. */
int spawn_identity_drop(uint32_t uid, uint32_t gid, struct spawn_failure *failure);

/* Child: NoNewPrivs, then the filter. 0 or -errno + *failure. */
int spawn_seccomp_apply(const struct sock_fprog *prog, struct spawn_failure *failure);

#endif
