/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The record of a running cage: what `up` created, so `down`, `status` and `exec` need no config.
 * Stored as key=value lines in <run_dir>/state (written atomically: temp file + rename).
 */
#ifndef CAGE_ENFORCE_STATE_H
#define CAGE_ENFORCE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "enforce/addrpool.h"

struct cage_state {
	char name[64];
	char config_path[4096];
	struct cage_addrs addrs;
	uint32_t uid, gid;
	uint16_t proxy_port, explicit_port, dns_port;
	bool ipv6;
	int64_t created_at;     /* unix seconds */
	uint64_t cgroup_id;
	bool ca_created;        /* this `up` created the CA (not stored: only for its own rollback) */
};

int cage_state_write(const char *path, const struct cage_state *st);
int cage_state_read(const char *path, struct cage_state *st);   /* -ENOENT if no such cage */

#endif
