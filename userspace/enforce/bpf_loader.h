/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Loads the cage's BPF programs (embedded skeleton), fills their maps, attaches them to the cage
 * cgroup through bpf_links and pins links and maps under one directory, so enforcement outlives
 * cagectl itself. Removing the pins (cage_bpf_unpin) detaches everything.
 */
#ifndef CAGE_ENFORCE_BPF_LOADER_H
#define CAGE_ENFORCE_BPF_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cage/maps.h"

struct cage_bpf_spec {
	const char *pin_dir;              /* e.g. /sys/fs/bpf/cagectl/<name>; created, must not exist */
	int cgroup_fd;
	struct cage_config cfg;           /* ready is set by the loader */
	const uint16_t *tcp_inspect;
	size_t n_tcp_inspect;
	const uint16_t *tcp_passthrough;
	size_t n_tcp_passthrough;
};

/* The pinned maps, by file name under pin_dir. */
#define CAGE_PIN_CONFIG    "config"
#define CAGE_PIN_PORTS     "ports"
#define CAGE_PIN_ORIG_DST  "orig_dst"
#define CAGE_PIN_DNS_ALLOW "dns_allow"
#define CAGE_PIN_STATS     "stats"
#define CAGE_PIN_EVENTS    "events"
#define CAGE_PIN_LINKS     "links"

/* Makes sure a bpffs is mounted at `root` or one of its parents (mounts /sys/fs/bpf if needed). */
int cage_bpf_ensure_bpffs(const char *root);

/* 0, or -errno with nothing left pinned or attached. `failed_step` names the step for messages. */
int cage_bpf_load_attach(const struct cage_bpf_spec *spec, const char **failed_step);

struct cage_bpf;
/* Writes spec's ports, zeroed counters and its config (marked ready) into a loaded skeleton's
 * maps; the BPF and the nftables-only bring-ups share it. */
int cage_bpf_fill_maps(struct cage_bpf *skel, const struct cage_bpf_spec *spec);

/* Removes every pin under pin_dir and the directory; missing pins are fine. */
int cage_bpf_unpin(const char *pin_dir);

/* 0 if every program's link is pinned and attached to cgroup_fd, every map pinned, config ready. */
int cage_bpf_verify(const char *pin_dir, int cgroup_fd, char *what, size_t what_len);

/* Opens a pinned map of a cage (O_RDWR unless read_only). fd or -errno. */
int cage_bpf_map_open(const char *pin_dir, const char *map, bool read_only);

/* The number of programs the loader attaches (for status and tests). */
size_t cage_bpf_prog_count(void);

const char *cage_reason_name(unsigned reason);       /* "tcp_port_denied" ... */
const char *cage_reason_event(unsigned reason);      /* audit event name, e.g. "egress.denied" */

#endif
