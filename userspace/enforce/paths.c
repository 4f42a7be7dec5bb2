// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enforce/cgroup.h"
#include "enforce/paths.h"

static void root(char *dst, size_t len, const char *env, const char *def)
{
	const char *v = getenv(env);

	snprintf(dst, len, "%s", v && *v ? v : def);
}

int cage_paths_roots(struct cage_paths *p)
{
	memset(p, 0, sizeof(*p));
	root(p->state_root, sizeof(p->state_root), "CAGECTL_STATE_DIR", "/var/lib/cagectl");
	root(p->run_root, sizeof(p->run_root), "CAGECTL_RUN_DIR", "/run/cagectl");
	root(p->log_root, sizeof(p->log_root), "CAGECTL_LOG_DIR", "/var/log/cagectl");
	root(p->bpf_root, sizeof(p->bpf_root), "CAGECTL_BPF_ROOT", "/sys/fs/bpf/cagectl");
	root(p->netns_dir, sizeof(p->netns_dir), "CAGECTL_NETNS_DIR", "/run/netns");
	return cgroup2_mount(p->cgroup_mount, sizeof(p->cgroup_mount));
}

int cage_paths_init(struct cage_paths *p, const char *name)
{
	int err = cage_paths_roots(p);

	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->state_dir, sizeof(p->state_dir), "%s/%s", p->state_root, name);
	snprintf(p->run_dir, sizeof(p->run_dir), "%s/%s", p->run_root, name);
	snprintf(p->log_dir, sizeof(p->log_dir), "%s/%s", p->log_root, name);
	snprintf(p->pin_dir, sizeof(p->pin_dir), "%s/%s", p->bpf_root, name);
	snprintf(p->netns_name, sizeof(p->netns_name), "cage-%s", name);
	snprintf(p->state_file, sizeof(p->state_file), "%s/state", p->run_dir);
	snprintf(p->audit_file, sizeof(p->audit_file), "%s/audit.jsonl", p->log_dir);
	snprintf(p->monitor_pid, sizeof(p->monitor_pid), "%s/monitor.pid", p->run_dir);
	snprintf(p->resolv_conf, sizeof(p->resolv_conf), "%s/resolv.conf", p->run_dir);
	return err;
}
