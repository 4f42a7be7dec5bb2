// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enforce/state.h"

int cage_state_write(const char *path, const struct cage_state *st)
{
	char tmp[4200], gw4[INET_ADDRSTRLEN], cage4[INET_ADDRSTRLEN];
	char gw6[INET6_ADDRSTRLEN], cage6[INET6_ADDRSTRLEN];
	FILE *f;
	int fd, err = 0;

	inet_ntop(AF_INET, &st->addrs.gw4, gw4, sizeof(gw4));
	inet_ntop(AF_INET, &st->addrs.cage4, cage4, sizeof(cage4));
	inet_ntop(AF_INET6, st->addrs.gw6, gw6, sizeof(gw6));
	inet_ntop(AF_INET6, st->addrs.cage6, cage6, sizeof(cage6));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	fprintf(f, "name=%s\nconfig=%s\nindex=%u\nhost_ifname=%s\n", st->name, st->config_path,
		st->addrs.index, st->addrs.host_ifname);
	fprintf(f, "gw4=%s\ncage4=%s\nprefix4=%d\ngw6=%s\ncage6=%s\nprefix6=%d\n", gw4, cage4,
		st->addrs.prefix4, gw6, cage6, st->addrs.prefix6);
	fprintf(f, "uid=%u\ngid=%u\nproxy_port=%u\nexplicit_port=%u\ndns_port=%u\nipv6=%d\n", st->uid,
		st->gid, st->proxy_port, st->explicit_port, st->dns_port, st->ipv6);
	fprintf(f, "created_at=%" PRId64 "\ncgroup_id=%" PRIu64 "\n", st->created_at, st->cgroup_id);
	if (fflush(f) || fsync(fd))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int cage_state_read(const char *path, struct cage_state *st)
{
	char line[4200], *eq, *val;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	memset(st, 0, sizeof(*st));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		val = eq + 1;
		if (!strcmp(line, "name"))
			snprintf(st->name, sizeof(st->name), "%s", val);
		else if (!strcmp(line, "config"))
			snprintf(st->config_path, sizeof(st->config_path), "%s", val);
		else if (!strcmp(line, "index"))
			st->addrs.index = (unsigned)strtoul(val, NULL, 10);
		else if (!strcmp(line, "host_ifname"))
			snprintf(st->addrs.host_ifname, sizeof(st->addrs.host_ifname), "%s", val);
		else if (!strcmp(line, "gw4"))
			inet_pton(AF_INET, val, &st->addrs.gw4);
		else if (!strcmp(line, "cage4"))
			inet_pton(AF_INET, val, &st->addrs.cage4);
		else if (!strcmp(line, "prefix4"))
			st->addrs.prefix4 = atoi(val);
		else if (!strcmp(line, "gw6"))
			inet_pton(AF_INET6, val, st->addrs.gw6);
		else if (!strcmp(line, "cage6"))
			inet_pton(AF_INET6, val, st->addrs.cage6);
		else if (!strcmp(line, "prefix6"))
			st->addrs.prefix6 = atoi(val);
		else if (!strcmp(line, "uid"))
			st->uid = (uint32_t)strtoul(val, NULL, 10);
		else if (!strcmp(line, "gid"))
			st->gid = (uint32_t)strtoul(val, NULL, 10);
		else if (!strcmp(line, "proxy_port"))
			st->proxy_port = (uint16_t)atoi(val);
		else if (!strcmp(line, "explicit_port"))
			st->explicit_port = (uint16_t)atoi(val);
		else if (!strcmp(line, "dns_port"))
			st->dns_port = (uint16_t)atoi(val);
		else if (!strcmp(line, "ipv6"))
			st->ipv6 = atoi(val) != 0;
		else if (!strcmp(line, "created_at"))
			st->created_at = strtoll(val, NULL, 10);
		else if (!strcmp(line, "cgroup_id"))
			st->cgroup_id = strtoull(val, NULL, 10);
	}
	fclose(f);
	return st->name[0] ? 0 : -EINVAL;
}
