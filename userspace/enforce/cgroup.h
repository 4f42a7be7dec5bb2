/* SPDX-License-Identifier: GPL-2.0-only */
/* The cage cgroup: <cgroup2 mount>/cagectl/<name>, with limits where controllers allow. */
#ifndef CAGE_ENFORCE_CGROUP_H
#define CAGE_ENFORCE_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The cgroup2 mount point: $CAGECTL_CGROUP_ROOT, else the first cgroup2 in /proc/self/mountinfo. */
int cgroup2_mount(char *buf, size_t len);

struct cgroup_limits {
	uint64_t memory_max;  /* bytes, 0 = none */
	uint32_t pids_max;    /* 0 = none */
	uint32_t cpus_milli;  /* 0 = none */
};

/* Called for each limit that cannot be applied because its controller is not enabled. */
typedef void (*cgroup_warn_fn)(const char *controller, const char *why, void *arg);

/*
 * Creates <mount>/cagectl/<name> (-EEXIST if it exists), returns an O_DIRECTORY fd in *fd_out and
 * whether the parent "cagectl" directory was created by this call in *created_parent.
 */
int cgroup_create(const char *mount, const char *name, int *fd_out, bool *created_parent);
int cgroup_apply_limits(const char *mount, const char *name, const struct cgroup_limits *lim,
			cgroup_warn_fn warn, void *arg);
int cgroup_open(const char *mount, const char *name);    /* fd or -errno */
/* Kills every process in it (cgroup.kill), waits until empty (bounded), removes it. */
int cgroup_destroy(const char *mount, const char *name, bool remove_parent_if_empty);
/* Number of processes in it, or -errno. */
int cgroup_nprocs(const char *mount, const char *name);
uint64_t cgroup_id(int cgroup_fd);

#endif
