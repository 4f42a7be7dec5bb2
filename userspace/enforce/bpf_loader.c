// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "cage.skel.h"
#include "enforce/bpf_loader.h"

struct prog_desc {
	const char *name;
	enum bpf_attach_type type;
};

/* Every program and where it attaches; the pin name is the program name. */
static const struct prog_desc progs[] = {
	{ "sock_create", BPF_CGROUP_INET_SOCK_CREATE },
	{ "sock4_connect", BPF_CGROUP_INET4_CONNECT },
	{ "sock6_connect", BPF_CGROUP_INET6_CONNECT },
	{ "sock4_sendmsg", BPF_CGROUP_UDP4_SENDMSG },
	{ "sock6_sendmsg", BPF_CGROUP_UDP6_SENDMSG },
	{ "sock4_recvmsg", BPF_CGROUP_UDP4_RECVMSG },
	{ "sock6_recvmsg", BPF_CGROUP_UDP6_RECVMSG },
	{ "sock4_getpeername", BPF_CGROUP_INET4_GETPEERNAME },
	{ "sock6_getpeername", BPF_CGROUP_INET6_GETPEERNAME },
	{ "sockops_rekey", BPF_CGROUP_SOCK_OPS },
	{ "skb_egress", BPF_CGROUP_INET_EGRESS },
	{ "skb_ingress", BPF_CGROUP_INET_INGRESS },
};

static const struct {
	const char *skel_name;
	const char *pin;
} pinned_maps[] = {
	{ "cage_config_map", CAGE_PIN_CONFIG },
	{ "ports", CAGE_PIN_PORTS },
	{ "orig_dst", CAGE_PIN_ORIG_DST },
	{ "dns_allow", CAGE_PIN_DNS_ALLOW },
	{ "stats", CAGE_PIN_STATS },
	{ "events", CAGE_PIN_EVENTS },
};

#define N_PROGS (sizeof(progs) / sizeof(progs[0]))
#define N_MAPS (sizeof(pinned_maps) / sizeof(pinned_maps[0]))

size_t cage_bpf_prog_count(void)
{
	return N_PROGS;
}

static const char *const reason_names[REASON_MAX] = {
	[REASON_NONE] = "none",
	[REASON_REDIRECT_PROXY] = "redirect_proxy",
	[REASON_REDIRECT_DNS] = "redirect_dns",
	[REASON_TCP_PORT_DENIED] = "tcp_port_denied",
	[REASON_UDP_DENIED] = "udp_denied",
	[REASON_DST_PRIVATE] = "dst_private",
	[REASON_GATEWAY_PORT] = "gateway_port_denied",
	[REASON_IPV6_DISABLED] = "ipv6_disabled",
	[REASON_PASSTHROUGH_UNRESOLVED] = "passthrough_unresolved",
	[REASON_SOCK_RAW] = "raw_socket",
	[REASON_SOCK_PROTO] = "socket_protocol_denied",
	[REASON_SKB_EGRESS_DROP] = "packet_egress_dropped",
	[REASON_SKB_INGRESS_DROP] = "packet_ingress_dropped",
	[REASON_EVENT_LOST] = "event_lost",
	[REASON_NOT_READY] = "not_ready",
	[REASON_PROTO_DENIED] = "protocol_denied",
};

const char *cage_reason_name(unsigned reason)
{
	if (reason >= REASON_MAX || !reason_names[reason])
		return "unknown";
	return reason_names[reason];
}

const char *cage_reason_event(unsigned reason)
{
	switch (reason) {
	case REASON_DST_PRIVATE:
		return "egress.dst_private_denied";
	case REASON_SOCK_RAW:
	case REASON_SOCK_PROTO:
		return "egress.socket_denied";
	case REASON_SKB_EGRESS_DROP:
	case REASON_SKB_INGRESS_DROP:
		return "egress.packet_dropped";
	default:
		return "egress.denied";
	}
}

int cage_bpf_ensure_bpffs(const char *root)
{
	char path[PATH_MAX];
	struct statfs st;
	char *slash;

	snprintf(path, sizeof(path), "%s", root);
	/* Walk up to the first existing directory and see whether it is on bpffs. */
	while (statfs(path, &st) != 0) {
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = '\0';
	}
	if (statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (strncmp(root, "/sys/fs/bpf", 11) != 0)
		return -ENOTSUP;  /* only the standard place is mounted for the user */
	if (mkdir("/sys/fs/bpf", 0700) && errno != EEXIST)
		return -errno;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

static int mkdir_p(const char *dir, mode_t mode)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Ports, zeroed counters and the config marked ready: what the daemons and `show` read. */
int cage_bpf_fill_maps(struct cage_bpf *skel, const struct cage_bpf_spec *spec)
{
	struct cage_port_policy pol;
	struct cage_port_key key = { .proto = CAGE_PROTO_TCP };
	struct cage_stat zero_stat = { 0 };
	struct cage_config cfg = spec->cfg;
	__u32 zero = 0;
	int fd;

	fd = bpf_map__fd(skel->maps.ports);
	for (size_t i = 0; i < spec->n_tcp_passthrough; i++) {
		key.port = spec->tcp_passthrough[i];
		pol.mode = PORT_MODE_PASSTHROUGH;
		if (bpf_map_update_elem(fd, &key, &pol, BPF_ANY))
			return -errno;
	}
	/* Inspect wins when a port is listed twice: it is the stricter mode. */
	for (size_t i = 0; i < spec->n_tcp_inspect; i++) {
		key.port = spec->tcp_inspect[i];
		pol.mode = PORT_MODE_INSPECT;
		if (bpf_map_update_elem(fd, &key, &pol, BPF_ANY))
			return -errno;
	}
	fd = bpf_map__fd(skel->maps.stats);
	for (enum cage_reason r = 0; r < REASON_MAX; r++)
		if (bpf_map_update_elem(fd, &r, &zero_stat, BPF_ANY))
			return -errno;
	cfg.ready = 1;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.cage_config_map), &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

int cage_bpf_unpin(const char *pin_dir)
{
	char path[PATH_MAX];
	int err = 0;

	for (size_t i = 0; i < N_PROGS; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", pin_dir, CAGE_PIN_LINKS, progs[i].name);
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	snprintf(path, sizeof(path), "%s/%s", pin_dir, CAGE_PIN_LINKS);
	if (rmdir(path) && errno != ENOENT)
		err = -errno;
	for (size_t i = 0; i < N_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, pinned_maps[i].pin);
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	if (rmdir(pin_dir) && errno != ENOENT)
		err = -errno;
	return err;
}

int cage_bpf_load_attach(const struct cage_bpf_spec *spec, const char **failed_step)
{
	struct bpf_link *links[N_PROGS] = { 0 };
	char path[PATH_MAX];
	struct cage_bpf *skel;
	int err;

	*failed_step = "open BPF object";
	skel = cage_bpf__open();
	if (!skel)
		return -errno ? -errno : -EINVAL;

	*failed_step = "load BPF programs";
	err = cage_bpf__load(skel);
	if (err)
		goto err_destroy;

	*failed_step = "fill BPF maps";
	err = cage_bpf_fill_maps(skel, spec);
	if (err)
		goto err_destroy;

	*failed_step = "create pin directory";
	if (mkdir(spec->pin_dir, 0700)) {
		err = -errno;
		if (err == -ENOENT)
			err = mkdir_p(spec->pin_dir, 0700);
		if (err)
			goto err_destroy;
	}
	snprintf(path, sizeof(path), "%s/%s", spec->pin_dir, CAGE_PIN_LINKS);
	if (mkdir(path, 0700)) {
		err = -errno;
		goto err_unpin;
	}

	*failed_step = "pin BPF maps";
	for (size_t i = 0; i < N_MAPS; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, pinned_maps[i].skel_name);

		snprintf(path, sizeof(path), "%s/%s", spec->pin_dir, pinned_maps[i].pin);
		err = map ? bpf_map__pin(map, path) : -ENOENT;
		if (err)
			goto err_unpin;
	}

	*failed_step = "attach BPF programs to the cage cgroup";
	for (size_t i = 0; i < N_PROGS; i++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(skel->obj, progs[i].name);

		if (!prog) {
			err = -ENOENT;
			goto err_links;
		}
		links[i] = bpf_program__attach_cgroup(prog, spec->cgroup_fd);
		if (!links[i]) {
			err = -errno;
			goto err_links;
		}
		snprintf(path, sizeof(path), "%s/%s/%s", spec->pin_dir, CAGE_PIN_LINKS, progs[i].name);
		err = bpf_link__pin(links[i], path);
		if (err)
			goto err_links;
	}
	/* The pins hold the links now; closing our fds does not detach them. */
	for (size_t i = 0; i < N_PROGS; i++)
		bpf_link__destroy(links[i]);
	cage_bpf__destroy(skel);
	*failed_step = NULL;
	return 0;

err_links:
	for (size_t i = 0; i < N_PROGS; i++)
		if (links[i]) {
			bpf_link__unpin(links[i]);
			bpf_link__destroy(links[i]);
		}
err_unpin:
	cage_bpf_unpin(spec->pin_dir);
err_destroy:
	cage_bpf__destroy(skel);
	return err < 0 ? err : -EINVAL;
}

int cage_bpf_map_open(const char *pin_dir, const char *map, bool read_only)
{
	LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = read_only ? BPF_F_RDONLY : 0);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, map);
	fd = bpf_obj_get_opts(path, &opts);
	return fd < 0 ? -errno : fd;
}

/* The program ids attached to cgroup_fd for one attach type. */
static int attached_ids(int cgroup_fd, enum bpf_attach_type type, __u32 *ids, __u32 *cnt)
{
	__u32 flags = 0;

	if (bpf_prog_query(cgroup_fd, type, 0, &flags, ids, cnt))
		return -errno;
	return 0;
}

int cage_bpf_verify(const char *pin_dir, int cgroup_fd, char *what, size_t what_len)
{
	struct bpf_link_info info;
	char path[PATH_MAX];
	struct cage_config cfg;
	__u32 len, zero = 0;
	int fd, err = 0;

	for (size_t i = 0; i < N_MAPS; i++) {
		fd = cage_bpf_map_open(pin_dir, pinned_maps[i].pin, true);
		if (fd < 0) {
			snprintf(what, what_len, "map %s/%s is not pinned", pin_dir, pinned_maps[i].pin);
			return fd;
		}
		if (strcmp(pinned_maps[i].pin, CAGE_PIN_CONFIG) == 0 &&
		    (bpf_map_lookup_elem(fd, &zero, &cfg) || !cfg.ready)) {
			snprintf(what, what_len, "map %s/config is not ready", pin_dir);
			err = -EIO;
		}
		close(fd);
		if (err)
			return err;
	}
	for (size_t i = 0; i < N_PROGS; i++) {
		__u32 ids[64], cnt = 64;
		bool found = false;

		snprintf(path, sizeof(path), "%s/%s/%s", pin_dir, CAGE_PIN_LINKS, progs[i].name);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			snprintf(what, what_len, "link %s is not pinned", path);
			return -errno;
		}
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		err = bpf_obj_get_info_by_fd(fd, &info, &len);
		close(fd);
		if (err) {
			snprintf(what, what_len, "link %s: %s", path, strerror(errno));
			return -errno;
		}
		err = attached_ids(cgroup_fd, progs[i].type, ids, &cnt);
		if (err) {
			snprintf(what, what_len, "query cgroup for %s: %s", progs[i].name, strerror(-err));
			return err;
		}
		for (__u32 j = 0; j < cnt; j++)
			found |= ids[j] == info.prog_id;
		if (!found) {
			snprintf(what, what_len, "program %s is not attached to the cage cgroup", progs[i].name);
			return -ENOENT;
		}
	}
	return 0;
}
