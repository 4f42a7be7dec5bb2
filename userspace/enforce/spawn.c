// SPDX-License-Identifier: GPL-2.0-only
/*
 * clone3() into the cage and the child's path from there to exec. The order matters: the netns
 * is joined first (sysfs shows whichever netns mounts it), the mounts are built while the child
 * is still root, the identity is dropped next, and the seccomp filter goes last because it
 * forbids mount() and setns(). Between clone3() and exec the child only makes system calls:
 * glibc's locks and thread list belong to the parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "enforce/spawn.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

/* "cagectl: <step> <path>: <error>" on stderr, without stdio (its locks may be held). */
static void report(const char *step, const char *path, int err)
{
	const char *desc = strerrordesc_np(err);
	struct iovec iov[] = {
		{ (void *)"cagectl: ", 9 },
		{ (void *)step, strlen(step) },
		{ (void *)" ", path ? 1 : 0 },
		{ (void *)(path ? path : ""), path ? strlen(path) : 0 },
		{ (void *)": ", 2 },
		{ (void *)(desc ? desc : "unknown error"), strlen(desc ? desc : "unknown error") },
		{ (void *)"\n", 1 },
	};

	if (writev(STDERR_FILENO, iov, sizeof(iov) / sizeof(iov[0])) < 0)
		return;
}

static void __attribute__((noreturn)) child_fail(const struct spawn_failure *failure, int err)
{
	report(failure->step, failure->path, -err);
	_exit(CAGE_SPAWN_EXIT_SETUP);
}

/* The workload starts with default signal dispositions and nothing blocked, whatever the caller
 * (which may ignore SIGINT while it waits) had set. */
static int reset_signals(const sigset_t *unblocked)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* glibc reserves the first real-time signals; EINVAL for those is expected. */
		if (sigaction(sig, &dfl, NULL) < 0 && errno != EINVAL)
			return -errno;
	}
	if (sigprocmask(SIG_SETMASK, unblocked, NULL) < 0)
		return -errno;
	return 0;
}

/* Descriptors the caller forgot to mark close-on-exec (cgroup, netns, map fds) must not reach
 * the workload; stdin, stdout and stderr do. */
static int close_inherited_fds(void)
{
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -errno;
	for (int fd = 3; fd < 65536; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

static void __attribute__((noreturn)) child_run(const struct cage_spawn *s,
						const struct spawn_mount_plan *plan,
						const struct sock_fprog *prog)
{
	static char *const empty_env[] = { NULL };
	struct spawn_failure failure = { NULL, NULL };
	char *const *envp = s->envp ? s->envp : empty_env;
	sigset_t unblocked;
	int err;

	sigemptyset(&unblocked);
	failure.step = "reset signals";
	err = reset_signals(&unblocked);
	if (err)
		child_fail(&failure, err);
	failure.step = "join the cage netns";
	if (setns(s->netns_fd, CLONE_NEWNET) < 0)
		child_fail(&failure, -errno);
	err = spawn_mounts_apply(s, plan, &failure);
	if (err)
		child_fail(&failure, err);
	failure.step = "close inherited fds";
	failure.path = NULL;
	err = close_inherited_fds();
	if (err)
		child_fail(&failure, err);
	err = spawn_identity_drop(s->uid, s->gid, &failure);
	if (err)
		child_fail(&failure, err);
	/* After the identity change, so the workload gets only a directory it may enter itself. */
	failure.step = "chdir";
	failure.path = s->workdir ? s->workdir : "/";
	if (chdir(failure.path) < 0)
		child_fail(&failure, -errno);
	err = spawn_seccomp_apply(prog, &failure);
	if (err)
		child_fail(&failure, err);
	if (s->ready_fd >= 0)
		close(s->ready_fd);
	/* execvpe() searches the PATH of the current environment, which must be the workload's. */
	environ = (char **)envp;
	execvpe(s->argv[0], s->argv, envp);
	report("exec", s->argv[0], errno);
	_exit(CAGE_SPAWN_EXIT_EXEC);
}

static bool spawn_args_valid(const struct cage_spawn *s)
{
	if (s->cgroup_fd < 0 || s->netns_fd < 0 || !s->argv || !s->argv[0] || !s->argv[0][0])
		return false;
	if (s->resolv_conf && s->resolv_conf[0] != '/')
		return false;
	if (s->workdir && s->workdir[0] != '/')
		return false;
	if ((s->n_binds && !s->binds) || s->n_binds > CAGE_SPAWN_MAX_BINDS)
		return false;
	for (size_t i = 0; i < s->n_binds; i++) {
		if (!s->binds[i].src || !s->binds[i].dst || s->binds[i].dst[0] != '/')
			return false;
	}
	return true;
}

int cage_spawn(const struct cage_spawn *s, pid_t *pid_out)
{
	struct spawn_mount_plan plan;
	struct sock_fprog prog;
	sigset_t all, saved;
	long pid;
	int err;

	if (!spawn_args_valid(s))
		return -EINVAL;
	err = spawn_mounts_prepare(&plan);
	if (err)
		return err;
	err = spawn_seccomp_build(&prog);
	if (err)
		return err;

	/* CLONE_NEWCGROUP is taken after the child is placed by CLONE_INTO_CGROUP, so the cage
	 * cgroup is the root of the child's cgroup namespace. */
	struct clone_args args = {
		.flags = CLONE_INTO_CGROUP | CLONE_NEWNS | CLONE_NEWCGROUP |
			 (s->new_pidns ? CLONE_NEWPID : 0),
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)s->cgroup_fd,
	};

	/* No handler of the caller may run in the child before it resets them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		child_run(s, &plan, &prog);
	err = pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);

	/* E2BIG: a clone3() that predates the cgroup field. No fork-then-move fallback. */
	if (err == -E2BIG)
		err = -ENOSYS;
	if (!err)
		*pid_out = (pid_t)pid;
	spawn_seccomp_free(&prog);
	return err;
}

int cage_spawn_wait(pid_t pid, int *exit_code)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (WIFEXITED(status))
		*exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		*exit_code = 128 + WTERMSIG(status);
	else
		return -ECHILD;
	return 0;
}
