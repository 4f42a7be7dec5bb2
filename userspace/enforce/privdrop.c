// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <seccomp.h>
#include <sys/syscall.h>

#include "enforce/privdrop.h"

const char *const privdrop_base_syscalls[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close", "fstat", "newfstatat",
	"lseek", "mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "rt_sigaction",
	"rt_sigprocmask", "rt_sigreturn", "sigaltstack", "ioctl", "fcntl", "dup", "dup2", "dup3",
	"pipe", "pipe2", "splice", "tee", "sendfile", "clock_gettime", "clock_nanosleep",
	"nanosleep", "gettimeofday", "time", "getpid", "gettid", "getuid", "geteuid", "getgid",
	"getegid", "getrandom", "futex", "set_robust_list", "rseq", "clone", "clone3", "exit",
	"exit_group", "tgkill", "sched_yield", "sched_getaffinity", "prlimit64", "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select",
	"pselect6", "eventfd2", "timerfd_create", "timerfd_settime", "signalfd4", "socket",
	"connect", "accept", "accept4", "bind", "listen", "getsockname", "getpeername",
	"setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
	"recvmmsg", "shutdown", "bpf", "openat", "access", "faccessat", "faccessat2", "readlink",
	"stat", "lstat", "statx", "uname", "membarrier", "getdents64", "restart_syscall",
	"prctl", "arch_prctl", "mlock", "munlock", "mlock2", "madvise", NULL,
};

static int drop_identity(uint32_t uid, uint32_t gid)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	gid_t g = gid;

	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	if (setgroups(1, &g) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
		return -errno;
	/* setresuid away from 0 clears the effective and permitted sets; make sure of all three. */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return -errno;
	return 0;
}

/*
 * open/openat, whose flags are argument `arg`: reading, or writing at the end only. After the
 * first rotation the monitor's new audit.jsonl and monitor.log are writable by the daemon users
 * (so they can reopen them, audit/logfile.h); these two rules keep that to appending, so a
 * compromised daemon cannot truncate (O_TRUNC) or overwrite (no O_APPEND) what was logged.
 */
static int add_open_rules(scmp_filter_ctx ctx, int nr, unsigned arg)
{
	struct scmp_arg_cmp read_only = { arg, SCMP_CMP_MASKED_EQ, O_ACCMODE | O_TRUNC, O_RDONLY };
	struct scmp_arg_cmp append_only = { arg, SCMP_CMP_MASKED_EQ, O_APPEND | O_TRUNC, O_APPEND };

	if (seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &read_only) ||
	    seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &append_only))
		return -EINVAL;
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, const char *const *names)
{
	for (; names && *names; names++) {
		int nr = seccomp_syscall_resolve_name(*names);

		if (nr == __NR_SCMP_ERROR)
			continue;  /* not on this architecture */
		if (!strcmp(*names, "openat") || !strcmp(*names, "open")) {
			if (add_open_rules(ctx, nr, !strcmp(*names, "openat") ? 2 : 1))
				return -EINVAL;
			continue;
		}
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0))
			return -EINVAL;
	}
	return 0;
}

int privdrop_enter(uint32_t uid, uint32_t gid, const char *const *extra)
{
	scmp_filter_ctx ctx;
	int err;

	if (uid == 0 || gid == 0)
		return -EINVAL;  /* a daemon never stays root */
	err = drop_identity(uid, gid);
	if (err)
		return err;
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return -ENOMEM;
	err = add_rules(ctx, privdrop_base_syscalls);
	if (!err)
		err = add_rules(ctx, extra);
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	return err < 0 ? err : (err ? -EINVAL : 0);
}

int privdrop_system_user(const char *name, uint32_t *uid, uint32_t *gid)
{
	struct passwd *pw = getpwnam(name);
	int status;
	pid_t pid;

	if (!pw) {
		pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0) {
			execl("/usr/sbin/useradd", "useradd", "--system", "--no-create-home", "--home-dir",
			      "/nonexistent", "--shell", "/usr/sbin/nologin", "--user-group", name, (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return -EIO;
		pw = getpwnam(name);
		if (!pw)
			return -ENOENT;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}
