// SPDX-License-Identifier: GPL-2.0-only
/*
 * The workload's identity and system-call filter. The filter is built with libseccomp in the
 * parent and exported as classic BPF, so the child only has to install it. Identity changes use
 * raw system calls: glibc's setresuid()/setgroups() (and libcap-ng's capng_change_id(), which
 * calls them) broadcast to every thread glibc believes exists, and after a raw clone3() from a
 * multi-threaded caller those threads are not ours, so the broadcast would wait for them forever.
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "enforce/spawn.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/*
 * Calls that reach past the cage: kernel objects that outlive or outrank it (bpf, modules, kexec,
 * keys), namespace and mount changes (which would undo the mount namespace or leave the netns),
 * other processes' memory, file handles that bypass path lookup, and io_uring, whose operations
 * are not seen by this filter. Most already need a capability the workload lacks; the filter makes
 * the answer EPERM even where a kernel bug or a sysctl would have said yes.
 */
static const char *const denied_syscalls[] = {
	"bpf", "setns", "mount", "umount", "umount2", "pivot_root", "chroot",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
	"open_by_handle_at", "name_to_handle_at", "iopl", "ioperm", "swapon", "swapoff",
	"reboot", "acct", "quotactl", "quotactl_fd", "syslog", "lookup_dcookie", "vm86", "vm86old",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
};

/* Namespace flags valid in clone(); CLONE_NEWTIME shares its bit with the exit signal there. */
static const unsigned long clone_ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
	CLONE_NEWNET,
};

/* Netlink families a workload may use: routes and links (ip, getaddrinfo) and socket diagnostics
 * (ss). Audit, netfilter, uevents, xfrm and the rest are kernel interfaces it has no use for. */
static bool netlink_protocol_allowed(int protocol)
{
	return protocol == NETLINK_ROUTE || protocol == NETLINK_SOCK_DIAG;
}

#define NETLINK_PROTOCOL_MAX 32  /* MAX_LINKS in the kernel; higher numbers fail anyway */

static int add_deny(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned int n_args,
		    const struct scmp_arg_cmp *args)
{
	int nr = seccomp_syscall_resolve_name(name);

	/* Calls this architecture does not have (vm86 on x86_64, iopl on arm64) need no rule. */
	if (nr == __NR_SCMP_ERROR)
		return 0;
	return seccomp_rule_add_array(ctx, action, nr, n_args, args);
}

static int add_rules(scmp_filter_ctx ctx)
{
	const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
	int err;

	for (size_t i = 0; i < sizeof(denied_syscalls) / sizeof(denied_syscalls[0]); i++) {
		err = add_deny(ctx, eperm, denied_syscalls[i], 0, NULL);
		if (err)
			return err;
	}

	/* clone3() passes its flags in memory, where a filter cannot look. glibc falls back to
	 * clone() on ENOSYS, and clone()'s flags are a register the rules below can inspect. */
	err = add_deny(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
	if (err)
		return err;

	/* One rule per flag: libseccomp ORs the rules of a call, and has no "masked != 0". */
	for (size_t i = 0; i < sizeof(clone_ns_flags) / sizeof(clone_ns_flags[0]); i++) {
		struct scmp_arg_cmp flag = SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]);

		err = add_deny(ctx, eperm, "clone", 1, &flag);
		if (!err)
			err = add_deny(ctx, eperm, "unshare", 1, &flag);
		if (err)
			return err;
	}
	struct scmp_arg_cmp newtime = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWTIME, CLONE_NEWTIME);
	err = add_deny(ctx, eperm, "unshare", 1, &newtime);
	if (err)
		return err;

	/* int arguments are compared on their low 32 bits only, as the kernel reads them, so garbage
	 * in the upper half cannot slip past an equality test. */
	struct scmp_arg_cmp packet = SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_PACKET);
	err = add_deny(ctx, eperm, "socket", 1, &packet);
	if (err)
		return err;
	for (int protocol = 0; protocol < NETLINK_PROTOCOL_MAX; protocol++) {
		if (netlink_protocol_allowed(protocol))
			continue;
		struct scmp_arg_cmp netlink[] = {
			SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_NETLINK),
			SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, (unsigned int)protocol),
		};
		err = add_deny(ctx, eperm, "socket", 2, netlink);
		if (err)
			return err;
	}
	return 0;
}

/* libseccomp 2.5 exports only to an fd; a memfd turns that into the buffer the child needs. */
static int export_filter(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	struct sock_filter *filter = NULL;
	off_t size;
	int fd, err;

	fd = memfd_create("cage-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = seccomp_export_bpf(ctx, fd);
	if (err)
		goto out_close;
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % sizeof(*filter) || size / sizeof(*filter) > BPF_MAXINSNS) {
		err = -E2BIG;
		goto out_close;
	}
	filter = malloc(size);
	if (!filter) {
		err = -ENOMEM;
		goto out_close;
	}
	if (pread(fd, filter, size, 0) != size) {
		err = -EIO;
		free(filter);
		goto out_close;
	}
	prog->filter = filter;
	prog->len = size / sizeof(*filter);
out_close:
	close(fd);
	return err;
}

int spawn_seccomp_build(struct sock_fprog *prog)
{
	scmp_filter_ctx ctx;
	int err;

	prog->filter = NULL;
	prog->len = 0;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	/* NoNewPrivs is set by the child itself, right before it installs the filter. */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (!err)
		err = add_rules(ctx);
	if (!err)
		err = export_filter(ctx, prog);
	seccomp_release(ctx);
	return err;
}

void spawn_seccomp_free(struct sock_fprog *prog)
{
	free(prog->filter);
	prog->filter = NULL;
	prog->len = 0;
}

static int drop_bounding_set(void)
{
	for (unsigned long cap = 0; cap < 64; cap++) {
		/* EINVAL past the last capability this kernel knows. */
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	}
	return 0;
}

static int clear_capability_sets(void)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &header, data) < 0)
		return -errno;
	return 0;
}

int spawn_identity_drop(uint32_t uid, uint32_t gid, struct spawn_failure *failure)
{
	gid_t groups[1] = { gid };
	int err;

	failure->path = NULL;
	/* The bounding set needs CAP_SETPCAP to shrink, so it goes while we are still root. */
	failure->step = "drop capability bounding set";
	err = drop_bounding_set();
	if (err)
		return err;
	failure->step = "clear ambient capabilities";
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	failure->step = "setgroups";
	if (syscall(SYS_setgroups, 1, groups) < 0)
		return -errno;
	failure->step = "setresgid";
	if (syscall(SYS_setresgid, gid, gid, gid) < 0)
		return -errno;
	failure->step = "setresuid";
	if (syscall(SYS_setresuid, uid, uid, uid) < 0)
		return -errno;
	/* Leaving uid 0 already empties the sets; clearing them again also covers uid 0 itself. */
	failure->step = "clear capabilities";
	return clear_capability_sets();
}

int spawn_seccomp_apply(const struct sock_fprog *prog, struct spawn_failure *failure)
{
	failure->path = NULL;
	failure->step = "set no_new_privs";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	failure->step = "install seccomp filter";
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
		return -errno;
	return 0;
}
