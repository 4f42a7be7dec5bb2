/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where a cage's state lives. Every root can be moved with an environment variable so tests
 * never touch the real ones: CAGECTL_STATE_DIR (/var/lib/cagectl), CAGECTL_RUN_DIR
 * (/run/cagectl), CAGECTL_LOG_DIR (/var/log/cagectl), CAGECTL_BPF_ROOT (/sys/fs/bpf/cagectl),
 * CAGECTL_NETNS_DIR (/run/netns), CAGECTL_CGROUP_ROOT (the cgroup2 mount).
 */
#ifndef CAGE_ENFORCE_PATHS_H
#define CAGE_ENFORCE_PATHS_H

#include <limits.h>

struct cage_paths {
	char name[64];
	char state_root[PATH_MAX], run_root[PATH_MAX], log_root[PATH_MAX];
	char state_dir[PATH_MAX];   /* <state_root>/<name>: config copy, CA, secrets */
	char run_dir[PATH_MAX];     /* <run_root>/<name>: state file, pids, resolv.conf */
	char log_dir[PATH_MAX];     /* <log_root>/<name>: audit.jsonl, daemon logs */
	char bpf_root[PATH_MAX];
	char pin_dir[PATH_MAX];     /* <bpf_root>/<name> */
	char netns_dir[PATH_MAX];
	char netns_name[80];        /* cage-<name> */
	char cgroup_mount[PATH_MAX];
	char state_file[PATH_MAX];  /* <run_dir>/state */
	char audit_file[PATH_MAX];  /* <log_dir>/audit.jsonl */
	char monitor_pid[PATH_MAX]; /* <run_dir>/monitor.pid */
	char resolv_conf[PATH_MAX]; /* <run_dir>/resolv.conf */
};

/* Fills every path for `name` (which must be valid). 0 or -errno (no cgroup2 mount found). */
int cage_paths_init(struct cage_paths *p, const char *name);
/* Only the roots (for list): name left empty. */
int cage_paths_roots(struct cage_paths *p);

#endif
