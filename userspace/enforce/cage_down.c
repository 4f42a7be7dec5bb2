// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "enforce/addrpool.h"
#include "enforce/bpf_loader.h"
#include "enforce/cage.h"
#include "enforce/cgroup.h"
#include "enforce/daemon.h"
#include "enforce/link.h"
#include "enforce/netns.h"
#include "enforce/nft.h"
#include "enforce/nft_only.h"

bool cage_exists(const struct cage_paths *p)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/cagectl/%s", p->cgroup_mount, p->name);
	if (access(p->run_dir, F_OK) == 0 || access(path, F_OK) == 0 || access(p->pin_dir, F_OK) == 0)
		return true;
	snprintf(path, sizeof(path), "%s/%s", p->netns_dir, p->netns_name);
	return access(path, F_OK) == 0;
}

static void note(char *msg, size_t len, const char *what, int err)
{
	size_t used = strlen(msg);

	if (used >= len - 1)
		return;
	snprintf(msg + used, len - used, "%s%s: %s", used ? "; " : "", what, strerror(-err));
}

static void remove_run_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

int cage_down(const struct cage_paths *p, char *err_msg, size_t err_len)
{
	struct cage_state st;
	bool have_state;
	int err, first = 0;

	err_msg[0] = '\0';
	have_state = cage_state_read(p->state_file, &st) == 0;

	/* The monitor first, so it does not restart daemons while we take the cage apart. */
	daemon_stop_pidfile(p->monitor_pid, "cagectl");
	daemon_stop_all(p->run_dir);

	err = cgroup_destroy(p->cgroup_mount, p->name, true);
	if (err && err != -ENOENT) {
		note(err_msg, err_len, "cgroup", err);
		first = first ? first : err;
	}
	err = cage_bpf_unpin(p->pin_dir);
	if (err && err != -ENOENT) {
		note(err_msg, err_len, "bpf pins", err);
		first = first ? first : err;
	}
	err = nft_cage_remove(-1, p->name, false);
	if (err && err != -ENOENT) {
		note(err_msg, err_len, "nft host table", err);
		first = first ? first : err;
	}
	{
		/* An nftables-only cage (enforce/nft_only.h) also has a DNAT table here. */
		char marker[PATH_MAX + 16];

		snprintf(marker, sizeof(marker), "%s/%s", p->run_dir, NFT_ONLY_MARKER);
		err = access(marker, F_OK) ? 0 : nft_only_remove_nat(p->name);
		if (err && err != -ENOENT) {
			note(err_msg, err_len, "nft nat table", err);
			first = first ? first : err;
		}
	}
	/* Deleting the netns destroys eth0, and with it the host end of the veth pair. */
	err = netns_delete(p->netns_name, p->netns_dir);
	if (err && err != -ENOENT) {
		note(err_msg, err_len, "netns", err);
		first = first ? first : err;
	}
	if (have_state) {
		/* The veth goes with the netns once its last user is gone; wait briefly, then insist. */
		for (int i = 0; i < 100 && link_exists(-1, st.addrs.host_ifname) == 1; i++) {
			struct timespec ts = { 0, 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
		err = link_delete(-1, st.addrs.host_ifname);
		if (err && err != -ENODEV) {
			note(err_msg, err_len, "veth", err);
			first = first ? first : err;
		}
	}
	err = addrpool_release(p->state_root, p->name);
	if (err && err != -ENOENT) {
		note(err_msg, err_len, "address pool", err);
		first = first ? first : err;
	}
	remove_run_dir(p->run_dir);
	return first;
}
