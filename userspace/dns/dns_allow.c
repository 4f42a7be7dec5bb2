// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "dns/dns_allow.h"

uint32_t dns_allow_name_id(const char *canonical_name)
{
	uint32_t h = 2166136261u;

	for (const char *s = canonical_name; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h ? h : 1;
}

uint32_t dns_allow_lifetime(uint32_t ttl)
{
	if (ttl < DNS_ALLOW_TTL_FLOOR)
		return DNS_ALLOW_TTL_FLOOR;
	return ttl > DNS_ALLOW_TTL_CAP ? DNS_ALLOW_TTL_CAP : ttl;
}

static int put_once(int map_fd, const struct cage_addr *key, const struct cage_dns_allow *val)
{
	return bpf_map_update_elem(map_fd, key, val, BPF_ANY) ? -errno : 0;
}

int dns_allow_put(int map_fd, const struct cage_addr *addr, uint32_t name_id, uint32_t ttl,
		  uint64_t now_boot_ns)
{
	struct cage_dns_allow val = {
		.name_id = name_id,
		.expires_ns = now_boot_ns + (uint64_t)dns_allow_lifetime(ttl) * 1000000000ull,
	};
	struct cage_addr key;
	int err;

	/* The key is compared bytewise by the kernel: padding and unused words must be zero. */
	memset(&key, 0, sizeof(key));
	key.family = addr->family;
	memcpy(key.ip, addr->ip, addr->family == CAGE_AF_INET ? 4 : 16);
	err = put_once(map_fd, &key, &val);
	if (err == -E2BIG && dns_allow_sweep(map_fd, now_boot_ns) > 0)
		err = put_once(map_fd, &key, &val);
	return err;
}

int dns_allow_sweep(int map_fd, uint64_t now_boot_ns)
{
	struct cage_addr key, next;
	struct cage_dns_allow val;
	void *prev = NULL;
	int deleted = 0;

	while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
		/* Delete after stepping past it, so the walk never restarts from the beginning. */
		if (prev && bpf_map_lookup_elem(map_fd, &key, &val) == 0 && val.expires_ns <= now_boot_ns &&
		    bpf_map_delete_elem(map_fd, &key) == 0)
			deleted++;
		key = next;
		prev = &key;
	}
	if (errno != ENOENT)
		return -errno;
	if (prev && bpf_map_lookup_elem(map_fd, &key, &val) == 0 && val.expires_ns <= now_boot_ns &&
	    bpf_map_delete_elem(map_fd, &key) == 0)
		deleted++;
	return deleted;
}
