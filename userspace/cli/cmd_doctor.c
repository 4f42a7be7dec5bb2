// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <cap-ng.h>
#include <libmnl/libmnl.h>
#include <linux/magic.h>
#include <linux/netfilter/nfnetlink.h>

#include "cli/cli.h"
#include "enforce/cgroup.h"
#include "enforce/paths.h"
#include "lib/log.h"

struct check {
	const char *name;
	bool ok;
	char detail[256];
};

static int n_fail;

static void report(const struct check *c, bool first)
{
	if (!c->ok)
		n_fail++;
	if (json_output) {
		printf("%s{\"check\":\"%s\",\"ok\":%s,\"detail\":\"%s\"}", first ? "" : ",", c->name,
		       c->ok ? "true" : "false", c->detail);
		return;
	}
	printf("%-26s %s%s%s\n", c->name, c->ok ? "ok" : "FAIL", c->detail[0] ? ": " : "", c->detail);
}

static void check_prog_type(struct check *c, enum bpf_prog_type type, const char *name)
{
	int r = libbpf_probe_bpf_prog_type(type, NULL);

	c->name = name;
	c->ok = r == 1;
	if (!c->ok)
		snprintf(c->detail, sizeof(c->detail),
			 "the kernel cannot load this program type (%s); cagectl needs Linux >= 5.10 with "
			 "CONFIG_CGROUP_BPF", r < 0 ? strerror(-r) : "not supported");
}

static void check_btf(struct check *c)
{
	c->name = "btf";
	c->ok = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	if (!c->ok)
		snprintf(c->detail, sizeof(c->detail),
			 "/sys/kernel/btf/vmlinux is missing: build the kernel with CONFIG_DEBUG_INFO_BTF=y");
}

static void check_cgroup2(struct check *c)
{
	char mnt[4096], ctrl[4096];
	FILE *f;

	c->name = "cgroup v2";
	c->ok = cgroup2_mount(mnt, sizeof(mnt)) == 0;
	if (!c->ok) {
		snprintf(c->detail, sizeof(c->detail),
			 "no cgroup2 mount: mount -t cgroup2 none /sys/fs/cgroup (or set CAGECTL_CGROUP_ROOT)");
		return;
	}
	snprintf(ctrl, sizeof(ctrl), "%s/cgroup.controllers", mnt);
	f = fopen(ctrl, "re");
	ctrl[0] = '\0';
	if (f) {
		if (!fgets(ctrl, sizeof(ctrl), f))
			ctrl[0] = '\0';
		fclose(f);
	}
	ctrl[strcspn(ctrl, "\n")] = '\0';
	snprintf(c->detail, sizeof(c->detail), "%.100s; controllers: %.100s%s", mnt,
		 ctrl[0] ? ctrl : "none",
		 strstr(ctrl, "memory") && strstr(ctrl, "pids") ? "" :
		 " (memory/pids limits will not apply: they live on cgroup v1 here)");
}

static void check_bpffs(struct check *c)
{
	struct statfs st;

	c->name = "bpffs";
	c->ok = statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC;
	if (!c->ok)
		snprintf(c->detail, sizeof(c->detail),
			 "/sys/fs/bpf is not a bpffs; cagectl up mounts it (mount -t bpf bpf /sys/fs/bpf)");
}

static void check_nftables(struct check *c)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);

	c->name = "nftables";
	c->ok = nl != NULL;
	if (nl)
		mnl_socket_close(nl);
	else
		snprintf(c->detail, sizeof(c->detail), "no NETLINK_NETFILTER socket (%s): load nf_tables",
			 strerror(errno));
}

static void check_netns(struct check *c)
{
	pid_t pid = fork();
	int status = 1;

	c->name = "network namespaces";
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) ? 1 : 0);
	if (pid > 0)
		waitpid(pid, &status, 0);
	c->ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!c->ok)
		snprintf(c->detail, sizeof(c->detail), "unshare(CLONE_NEWNET) failed: need CAP_SYS_ADMIN");
}

static void check_clone3(struct check *c)
{
	long r = syscall(SYS_clone3, NULL, 0);

	c->name = "clone3";
	/* With a NULL argument a kernel that has clone3 says EINVAL; one without says ENOSYS. */
	c->ok = r < 0 && errno != ENOSYS;
	if (!c->ok)
		snprintf(c->detail, sizeof(c->detail),
			 "clone3() is missing: CLONE_INTO_CGROUP needs Linux >= 5.7");
}

static void check_caps(struct check *c)
{
	static const struct { int cap; const char *name; } need[] = {
		{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN" }, { CAP_NET_ADMIN, "CAP_NET_ADMIN" },
		{ CAP_BPF, "CAP_BPF" }, { CAP_SETUID, "CAP_SETUID" }, { CAP_SETGID, "CAP_SETGID" },
	};

	c->name = "capabilities";
	c->ok = true;
	capng_get_caps_process();
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!capng_have_capability(CAPNG_EFFECTIVE, (unsigned)need[i].cap)) {
			c->ok = false;
			snprintf(c->detail + strlen(c->detail), sizeof(c->detail) - strlen(c->detail),
				 "%s%s", c->detail[0] ? ", " : "missing ", need[i].name);
		}
	if (!c->ok)
		snprintf(c->detail + strlen(c->detail), sizeof(c->detail) - strlen(c->detail),
			 ": run cagectl as root");
}

static void check_unpriv_bpf(struct check *c)
{
	FILE *f = fopen("/proc/sys/kernel/unprivileged_bpf_disabled", "re");
	int v = 0;

	c->name = "unprivileged bpf";
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	c->ok = v >= 1;
	snprintf(c->detail, sizeof(c->detail), c->ok ? "disabled (%d)" :
		 "enabled: sysctl kernel.unprivileged_bpf_disabled=1 (the workload's seccomp filter "
		 "denies bpf() anyway) (%d)", v);
}

/* cage-proxy's pattern matcher (Vectorscan) needs SSSE3 on x86-64; without it the proxy cannot
 * start and every cage fails closed. */
static void check_cpu(struct check *c)
{
	c->name = "cpu features";
#if defined(__x86_64__)
	__builtin_cpu_init();
	c->ok = __builtin_cpu_supports("ssse3");
	if (!c->ok)
		snprintf(c->detail, sizeof(c->detail),
			 "no SSSE3: cage-proxy's pattern matcher cannot run (a VM: expose the host CPU, "
			 "e.g. qemu -cpu host or -cpu max)");
#else
	c->ok = true;
#endif
}

/*
 * guest-init leaves <run_root>/bpf-unavailable ("missing: FEATURES", "mode: MODE") when the
 * guest kernel lacks a BPF feature the cage needs: the guest bpf check fails naming them, and
 * the cage mode check says what guest-init did (nft-only: nftables alone closes the cage).
 */
static void check_guest_bpf(struct check *c, struct check *mode)
{
	struct cage_paths roots;
	char path[PATH_MAX + 32], line[256], missing[200] = "", how[200] = "";
	FILE *f;

	c->name = "guest bpf";
	c->ok = true;
	mode->name = "cage mode";
	mode->ok = true;
	snprintf(mode->detail, sizeof(mode->detail), "bpf+nftables");
	cage_paths_roots(&roots);
	snprintf(path, sizeof(path), "%s/bpf-unavailable", roots.run_root);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "missing: ", 9))
			snprintf(missing, sizeof(missing), "%s", line + 9);
		else if (!strncmp(line, "mode: ", 6))
			snprintf(how, sizeof(how), "%s", line + 6);
		else if (!missing[0])  /* a file from an older guest-init: one line of reason */
			snprintf(missing, sizeof(missing), "%s", line);
	}
	fclose(f);
	c->ok = false;
	snprintf(c->detail, sizeof(c->detail), "guest-init found the guest kernel lacking %s",
		 missing[0] ? missing : "BPF");
	mode->ok = !strcmp(how, "nft-only");
	if (mode->ok)
		snprintf(mode->detail, sizeof(mode->detail), "nft-only: nftables alone closes the cage "
			 "(no per-socket audit events, no getpeername hiding; see docs/backends.md)");
	else
		snprintf(mode->detail, sizeof(mode->detail), "%s", how[0] ? how : "fail closed");
}

int do_doctor(int argc, char **argv)
{
	struct check checks[15];
	struct utsname u;
	int n = 0;

	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--json"))
			json_output = log_json = true;
	memset(checks, 0, sizeof(checks));
	libbpf_set_print(NULL);
	check_caps(&checks[n++]);
	check_prog_type(&checks[n++], BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "bpf cgroup/sock_addr");
	check_prog_type(&checks[n++], BPF_PROG_TYPE_CGROUP_SOCK, "bpf cgroup/sock_create");
	check_prog_type(&checks[n++], BPF_PROG_TYPE_SOCK_OPS, "bpf sockops");
	check_prog_type(&checks[n++], BPF_PROG_TYPE_CGROUP_SKB, "bpf cgroup_skb");
	check_btf(&checks[n++]);
	check_bpffs(&checks[n++]);
	check_cgroup2(&checks[n++]);
	check_nftables(&checks[n++]);
	check_netns(&checks[n++]);
	check_clone3(&checks[n++]);
	check_unpriv_bpf(&checks[n++]);
	check_cpu(&checks[n++]);
	check_guest_bpf(&checks[n], &checks[n + 1]);
	n += 2;
	if (json_output)
		printf("[");
	else if (uname(&u) == 0)
		printf("kernel %s %s\n", u.release, u.machine);
	for (int i = 0; i < n; i++)
		report(&checks[i], i == 0);
	if (json_output)
		printf("]\n");
	else
		printf("%d ok, %d failed\n", n - n_fail, n_fail);
	return n_fail ? 1 : 0;
}
