// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cagectl guest-init CONFIG`: PID 1 of a guest (a Lima VM, an Apple container microVM, the
 * qemu guest of `make check-guest`), or a foreground service there. It gives a bare guest what
 * the linux backend expects (proc, sys, devtmpfs, cgroup2, bpffs), brings up the same cage as
 * `cagectl up` with the guest's root netns playing the host, verifies every layer, starts the
 * monitor, and only then the workload. As PID 1 it reaps every orphan; SIGTERM and SIGINT go to
 * the workload. When an ephemeral workload exits the cage comes down and the guest powers off
 * (a PID namespace's init just exits with the workload's status).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "cli/cli_env.h"
#include "config/config.h"
#include "enforce/cage.h"
#include "enforce/cgroup.h"
#include "enforce/link.h"
#include "enforce/monitor.h"
#include "enforce/netns.h"
#include "enforce/nflog.h"
#include "enforce/nft_only.h"
#include "enforce/spawn.h"
#include "lib/log.h"
#include "secrets/secrets.h"

/* The inode of the initial PID namespace (PROC_PID_INIT_INO): a real guest's PID 1 lives there. */
#define INITIAL_PIDNS_INO 0xEFFFFFFCU
#define MODULES_LIST "/etc/cagectl/modules.load"

static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	if (write(sig_pipe[1], &c, 1) < 0) {
		/* The pipe is full: a wakeup is already pending. */
	}
	errno = saved;
}

static void mkdir_p(const char *dir, mode_t mode)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	mkdir(path, mode);
}

static bool fs_is(const char *path, unsigned long magic)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && (unsigned long)sfs.f_type == magic;
}

/* Mounts `type` at `dir` unless a filesystem of that type is already there. */
static int mount_if_missing(const char *type, const char *dir, unsigned long magic, const char *opts)
{
	if (fs_is(dir, magic))
		return 0;
	mkdir(dir, 0755);
	if (mount(type, dir, type, MS_NOSUID | MS_NOEXEC | MS_NODEV, opts)) {
		p_err("guest-init: can't mount %s on %s: %s", type, dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/* What a bare guest lacks. devtmpfs reports TMPFS_MAGIC; /dev/null tells whether /dev is usable. */
static int guest_mounts(void)
{
	char mnt[PATH_MAX];
	int err = mount_if_missing("proc", "/proc", PROC_SUPER_MAGIC, NULL);

	if (!err)
		err = mount_if_missing("sysfs", "/sys", SYSFS_MAGIC, NULL);
	if (!err && access("/dev/null", F_OK)) {
		mkdir("/dev", 0755);
		if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"))
			err = -errno;
	}
	/* A host that already has cgroup2 somewhere (hybrid: /sys/fs/cgroup/unified) keeps it. */
	if (!err && cgroup2_mount(mnt, sizeof(mnt)))
		err = mount_if_missing("cgroup2", "/sys/fs/cgroup", CGROUP2_SUPER_MAGIC, NULL);
	if (!err)
		err = mount_if_missing("bpf", "/sys/fs/bpf", BPF_FS_MAGIC, "mode=0700");
	/* The cage's run dir and netns pins live under /run; an initramfs root may lack it. */
	mkdir("/run", 0755);
	return err;
}

/* Modules a bare guest kernel needs before the cage (nf_tables, veth, the NIC), in order. */
static void load_modules(void)
{
	char line[PATH_MAX];
	FILE *f = fopen(MODULES_LIST, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		int fd;

		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST))
			p_warn("guest-init: module %s: %s", line, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
}

/*
 * The guest's uplink when nothing else configures it (a bare initramfs guest): kernel
 * parameter cagectl.net=IFACE,ADDR/PREFIX,GATEWAY. Lima and Apple container set up their own.
 */
static int uplink_from_cmdline(void)
{
	char cmdline[4096], ifname[32], addr[32], gw[32];
	struct in_addr a, g;
	int prefix, err;
	ssize_t n;
	char *p;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, cmdline, sizeof(cmdline) - 1);
	close(fd);
	cmdline[n > 0 ? n : 0] = '\0';
	link_set_up(-1, "lo");
	p = strstr(cmdline, "cagectl.net=");
	if (!p)
		return 0;
	if (sscanf(p + 12, "%31[^,],%31[^/]/%d,%31[0-9.]", ifname, addr, &prefix, gw) != 4 ||
	    inet_pton(AF_INET, addr, &a) != 1 || inet_pton(AF_INET, gw, &g) != 1) {
		p_err("guest-init: cagectl.net= wants IFACE,ADDR/PREFIX,GATEWAY");
		return -EINVAL;
	}
	err = addr_add4(-1, ifname, a.s_addr, prefix);
	if (!err)
		err = link_set_up(-1, ifname);
	if (!err)
		err = route_add_default4(-1, g.s_addr, ifname);
	if (err)
		p_err("guest-init: uplink %s %s/%d via %s: %s", ifname, addr, prefix, gw, strerror(-err));
	return err;
}

static void audit_event(struct audit_log *log, const char *event, const char *decision,
			const char *detail)
{
	struct json_buf *jb;

	if (!log || !(jb = audit_begin(log, "guest", event, decision, event)))
		return;
	if (detail)
		jb_str(jb, "detail", detail);
	audit_commit(log);
}

/* What the guest kernel lacks of BPF, and what the cage does about it. */
enum bpf_mode { BPF_FULL, BPF_NFT_ONLY, BPF_NONE };

static const char *const mode_names[] = {
	[BPF_FULL] = "bpf+nftables",
	[BPF_NFT_ONLY] = "nft-only",
	[BPF_NONE] = "none (fail closed: not even the BPF maps the daemons use)",
};

/*
 * `cagectl doctor` in the guest reports a kernel without the BPF layer from this file:
 * <run_root>/bpf-unavailable, "missing: FEATURES" then "mode: MODE". A guest with every
 * feature removes a stale one.
 */
static void mark_bpf_mode(const struct cage_paths *p, enum bpf_mode mode, const char *missing)
{
	char path[PATH_MAX + 32];
	FILE *f;

	mkdir_p(p->run_root, 0755);
	snprintf(path, sizeof(path), "%s/bpf-unavailable", p->run_root);
	if (mode == BPF_FULL) {
		unlink(path);
		return;
	}
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "missing: %s\nmode: %s\n", missing, mode_names[mode]);
	fclose(f);
}

/* The one record that says this cage runs without BPF programs, and why. */
static void audit_bpf_mode(struct audit_log *log, enum bpf_mode mode, const char *missing)
{
	struct json_buf *jb;

	if (!log || !(jb = audit_begin(log, "kernel", "guest.bpf_unavailable",
				       mode == BPF_NFT_ONLY ? "warning" : "error", "bpf.unavailable")))
		return;
	jb_str(jb, "reason", "bpf.unavailable");
	jb_str(jb, "missing", missing);
	jb_str(jb, "mode", mode_names[mode]);
	jb_str(jb, "detail", mode == BPF_NFT_ONLY ?
	       "the cgroup BPF programs cannot load here; nftables alone closes the cage "
	       "(DNAT to cage-proxy and cage-dns, everything else rejected or dropped)" :
	       "no BPF maps either: cage-proxy and cage-dns cannot run, the cage is not started");
	audit_commit(log);
}

/* One audit record per packet the nft-only tables turned away (rate-limited like the BPF
 * events): what the monitor writes from the BPF ring buffer in the usual mode. */
static void audit_nflog_packet(const struct nflog_packet *pkt, void *arg)
{
	struct audit_log *log = arg;
	char dst[INET6_ADDRSTRLEN], proto[8];
	struct json_buf *jb;

	if (!log || !(jb = audit_begin(log, "nft", "egress.denied", "deny", "nft_denied")))
		return;
	inet_ntop(pkt->family, pkt->dst, dst, sizeof(dst));
	if (pkt->proto == IPPROTO_TCP || pkt->proto == IPPROTO_UDP)
		snprintf(proto, sizeof(proto), "%s", pkt->proto == IPPROTO_TCP ? "tcp" : "udp");
	else if (pkt->proto == IPPROTO_ICMP || pkt->proto == IPPROTO_ICMPV6)
		snprintf(proto, sizeof(proto), "icmp");
	else
		snprintf(proto, sizeof(proto), "%u", pkt->proto);
	jb_str(jb, "reason", "nft_denied");
	jb_str(jb, "family", pkt->family == AF_INET6 ? "ipv6" : "ipv4");
	jb_str(jb, "proto", proto);
	jb_str(jb, "dst", dst);
	if (pkt->dport)
		jb_int(jb, "dport", pkt->dport);
	if (pkt->has_uid)
		jb_int(jb, "uid", pkt->uid);
	audit_commit(log);
}

/* The nft-only cage's log group, read in the cage netns; NULL (said on the console) if not. */
static struct nflog *open_nflog(const struct cage_paths *p)
{
	struct nflog *l = NULL;
	int ns = netns_open(p->netns_name, p->netns_dir), err;

	err = ns < 0 ? ns : nflog_open(ns, NFT_ONLY_LOG_GROUP, &l);
	if (ns >= 0)
		close(ns);
	if (err)
		p_warn("guest-init: no nflog reader (%s): denials are counted, not audited one by one",
		       strerror(-err));
	return l;
}

/* Packets the nft-only tables turned away, for the record at down (the console too). */
static void audit_nft_denied(struct audit_log *log, const struct cage_paths *p)
{
	struct json_buf *jb;
	uint64_t n = 0;
	int ns = netns_open(p->netns_name, p->netns_dir);

	if (ns < 0)
		return;
	if (!nft_only_denied_count(ns, &n) && log &&
	    (jb = audit_begin(log, "nft", "egress.denied_total", "deny", "nft_only_denied"))) {
		jb_str(jb, "reason", "nft_only_denied");
		jb_int(jb, "packets", (int64_t)n);
		audit_commit(log);
	}
	close(ns);
	p_info("guest-init: nft-only mode turned away %llu packet(s)", (unsigned long long)n);
}

/* The daemons, `exec` and `reload` read the cage's config from <state_dir>/cage.yaml, as after `up`. */
static int keep_config_copy(const char *src, const struct cage_paths *p)
{
	char dst[PATH_MAX + 16], buf[8192];
	int in, out, err = 0;
	ssize_t n;

	snprintf(dst, sizeof(dst), "%s/cage.yaml", p->state_dir);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		err = -errno;
		close(in);
		return err;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			err = -EIO;
			break;
		}
	if (n < 0)
		err = -errno;
	if (close(out) && !err)
		err = -errno;
	close(in);
	return err;
}

/* A guest's console may be all there is to read: the end of a log file goes there too. */
static void print_tail(const char *dir, const char *file)
{
	char path[PATH_MAX + 64], buf[2048];
	ssize_t n;
	off_t size;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) ? size - (off_t)sizeof(buf) : 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		fprintf(stderr, "--- %s\n", path);
		fwrite(buf, 1, (size_t)n, stderr);
		fprintf(stderr, "---\n");
	}
	close(fd);
}

static int spawn_workload(const struct cage_config_file *cfg, const struct cage_paths *p,
			  const struct cage_state *st, pid_t *pid)
{
	struct cli_env env = { .n = 0 };
	struct cage_bind binds[CAGE_SPAWN_MAX_BINDS];
	char ca_crt[PATH_MAX + 16], ca_bundle[PATH_MAX + 16];
	size_t n_binds = 0;
	const char *hide[4] = { p->state_root, p->run_root, p->log_root, NULL };
	char *argv_sh[4] = { "/bin/sh", "-c", NULL, NULL };
	struct cage_spawn sp;
	int cg, ns, err;

	cg = cgroup_open(p->cgroup_mount, p->name);
	ns = netns_open(p->netns_name, p->netns_dir);
	if (cg < 0 || ns < 0) {
		err = cg < 0 ? cg : ns;
		goto out;
	}
	cli_env_build(&env, st, cfg, p->state_dir, "dumb");
	memset(&sp, 0, sizeof(sp));
	/* The cage CA and the bundle that includes it, then the config's mounts. */
	snprintf(ca_crt, sizeof(ca_crt), "%s/ca/ca.crt", p->state_dir);
	snprintf(ca_bundle, sizeof(ca_bundle), "%s/ca/bundle.crt", p->state_dir);
	if (access(ca_bundle, R_OK) == 0) {
		binds[n_binds++] = (struct cage_bind){ ca_crt, CAGE_CA_IN_CAGE, true };
		binds[n_binds++] = (struct cage_bind){ ca_bundle, CAGE_BUNDLE_IN_CAGE, true };
	}
	for (size_t i = 0; i < cfg->n_mounts && n_binds < CAGE_SPAWN_MAX_BINDS; i++)
		binds[n_binds++] = (struct cage_bind){ cfg->mounts[i].source, cfg->mounts[i].target,
						       cfg->mounts[i].read_only };
	/* One string is a shell command line, as in cage.yaml; a list is the argv itself. */
	if (cfg->command.n == 1 && strchr(cfg->command.v[0], ' ')) {
		argv_sh[2] = cfg->command.v[0];
		sp.argv = argv_sh;
	} else {
		sp.argv = cfg->command.v;
	}
	sp.cgroup_fd = cg;
	sp.netns_fd = ns;
	sp.uid = st->uid;
	sp.gid = st->gid;
	sp.envp = env.v;
	sp.workdir = cfg->workdir;
	sp.resolv_conf = p->resolv_conf;
	sp.hide = hide;
	sp.binds = binds;
	sp.n_binds = n_binds;
	sp.ready_fd = -1;
	err = cage_spawn(&sp, pid);
out:
	cli_env_free(&env);
	if (cg >= 0)
		close(cg);
	if (ns >= 0)
		close(ns);
	return err;
}

static void stop_pid(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static int exit_status(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Waits for signals and children. Returns the workload's exit status once it has exited (or -1
 * when a SIGTERM/SIGINT arrived and there is no workload). Every other child is reaped.
 */
static int supervise(pid_t workload, pid_t *monitor, struct nflog *nl, struct audit_log *audit)
{
	int fwd = 0;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = sig_pipe[0], .events = POLLIN },
					 { .fd = nl ? nflog_fd(nl) : -1, .events = POLLIN } };
		unsigned char sigs[64];
		ssize_t n;
		int status;
		pid_t pid;

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == workload)
				return exit_status(status);
			if (pid == *monitor) {
				p_warn("guest-init: the monitor exited (%d); auditing stopped, enforcement "
				       "stays", exit_status(status));
				*monitor = -1;
			}
		}
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return -1;
		if (nl && (pfd[1].revents & POLLIN))
			nflog_drain(nl, audit_nflog_packet, audit);
		n = read(sig_pipe[0], sigs, sizeof(sigs));
		for (ssize_t i = 0; i < n; i++) {
			if (sigs[i] != SIGTERM && sigs[i] != SIGINT)
				continue;
			if (workload <= 0)
				return -1;
			/* A second signal means "now". */
			kill(workload, fwd++ ? SIGKILL : sigs[i]);
		}
	}
}

static bool in_initial_pidns(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == INITIAL_PIDNS_INO;
}

int do_guest_init(int argc, char **argv)
{
	struct cage_config_file *cfg = NULL;
	struct audit_log *audit = NULL;
	struct cage_paths paths;
	struct cage_state st;
	const char *file = NULL;
	bool pid1 = getpid() == 1, real_guest = false, no_poweroff = false, up = false;
	char msg[1024], missing[256];
	enum bpf_mode mode = BPF_FULL;
	bool maps_ok;
	pid_t monitor = -1, workload = -1;
	struct nflog *nl = NULL;
	int err, code = 1;
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--no-poweroff"))
			no_poweroff = true;
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else {
			p_err("guest-init: usage: cagectl guest-init CAGE.YAML [--no-poweroff]");
			return EXIT_USAGE;
		}
	}
	if (!file) {
		p_err("guest-init: usage: cagectl guest-init CAGE.YAML [--no-poweroff]");
		return EXIT_USAGE;
	}
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK))
		return 1;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);

	if (pid1 && guest_mounts())
		goto halt;
	real_guest = pid1 && in_initial_pidns();
	if (real_guest) {
		load_modules();
		if (uplink_from_cmdline())
			goto halt;
	}
	if (cli_load_config(file, &cfg))
		goto halt;
	err = cage_paths_init(&paths, cfg->name);
	if (err) {
		p_err("guest-init: no cgroup2 mount: %s", strerror(-err));
		goto halt;
	}
	/* The audit log must exist before cage_up: a kernel without BPF is reported there. */
	mkdir_p(paths.log_dir, 0750);
	audit = audit_open(paths.audit_file, cfg->name, cfg->log_max_bytes);
	if (!audit)
		p_warn("guest-init: no audit log at %s; guest events go to the console only",
		       paths.audit_file);
	{
		/* A probe that fails is an answer, not an error for the console. */
		libbpf_print_fn_t old = libbpf_set_print(NULL);

		if (!nft_only_bpf_probe(missing, sizeof(missing), &maps_ok))
			mode = maps_ok ? BPF_NFT_ONLY : BPF_NONE;
		libbpf_set_print(old);
	}
	mark_bpf_mode(&paths, mode, missing);
	if (mode != BPF_FULL) {
		p_warn("guest-init: the guest kernel lacks BPF features (%s); mode: %s", missing,
		       mode_names[mode]);
		audit_bpf_mode(audit, mode, missing);
	}
	if (mode == BPF_NONE) {
		p_err("guest-init: %s: no BPF maps, so no cage-proxy and cage-dns: not starting", cfg->name);
		goto halt;
	}
	err = mode == BPF_NFT_ONLY ? cage_up_nft_only(cfg, &paths, &st, msg, sizeof(msg), NULL, NULL) :
				     cage_up(cfg, &paths, &st, msg, sizeof(msg), NULL, NULL);
	if (err) {
		p_err("guest-init: up %s: %s", cfg->name, msg);
		audit_event(audit, "guest.up_failed", "error", msg);
		goto halt;
	}
	up = true;
	/* Nothing of the workload runs before every layer is checked once more. */
	err = cage_verify(&paths, &st, msg, sizeof(msg));
	if (err) {
		p_err("guest-init: %s: a layer is missing after up: %s", cfg->name, msg);
		audit_event(audit, "guest.verify_failed", "error", msg);
		goto halt;
	}
	err = keep_config_copy(file, &paths);
	if (err) {
		p_err("guest-init: can't copy %s to %s: %s", file, paths.state_dir, strerror(-err));
		goto halt;
	}
	err = monitor_start(&paths, &st, false, &monitor);
	if (err) {
		p_err("guest-init: %s: the monitor did not start (see %s/monitor.log)", cfg->name,
		      paths.log_dir);
		print_tail(paths.log_dir, "monitor.log");
		goto halt;
	}
	audit_event(audit, "guest.up", "info", real_guest ? "pid 1 of a guest" :
		    pid1 ? "pid 1 of a pid namespace" : "service");
	if (mode == BPF_NFT_ONLY)
		nl = open_nflog(&paths);
	p_info("guest-init: cage %s is up and verified (mode %s)", cfg->name, mode_names[mode]);
	if (cfg->command.n) {
		err = spawn_workload(cfg, &paths, &st, &workload);
		if (err) {
			p_err("guest-init: %s: can't start the workload: %s", cfg->name, strerror(-err));
			goto halt;
		}
	}
	for (;;) {
		int status = supervise(workload, &monitor, nl, audit);

		if (status < 0) {
			code = 0;
			break;
		}
		code = status;
		fprintf(stderr, "guest-init: workload exited with status %d\n", code);
		audit_event(audit, "guest.workload_exit", "info", NULL);
		if (cfg->ephemeral)
			break;
		/* A long-lived cage outlives its first workload; `exec` can still use it. */
		workload = -1;
	}
halt:
	stop_pid(monitor);
	/* On a guest's console this is the only view of why a workload failed. */
	if (real_guest && code && up)
		print_tail(paths.log_dir, "monitor.log");
	if (nl) {
		nflog_drain(nl, audit_nflog_packet, audit);
		nflog_close(nl);
	}
	if (up && mode == BPF_NFT_ONLY)
		audit_nft_denied(audit, &paths);
	if (up) {
		err = cage_down(&paths, msg, sizeof(msg));
		if (err)
			p_err("guest-init: down %s: %s", cfg->name, msg);
		audit_event(audit, "guest.down", err ? "error" : "info", err ? msg : NULL);
	}
	if (audit)
		audit_close(audit);
	cage_config_free(cfg);
	/* Orphans the workload left behind; PID 1 has to collect them before it goes. */
	while (pid1 && waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (real_guest && !no_poweroff) {
		fprintf(stderr, "guest-init: powering off (status %d)\n", code);
		sync();
		reboot(RB_POWER_OFF);
	}
	return code;
}
