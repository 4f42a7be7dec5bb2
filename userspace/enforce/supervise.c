// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "enforce/daemon.h"
#include "enforce/privdrop.h"
#include "enforce/supervise.h"
#include "lib/log.h"

#define BACKOFF_MAX_MS 5000
#define HEALTHY_MS 30000

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A socket bound to one of the cage's gateway addresses, not inherited by anything we exec. */
static int listen_on(int family, int type, const void *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd, err;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, addr, 4);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, addr, 16);
		len = sizeof(*in6);
	}
	fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || (type == SOCK_STREAM && listen(fd, 1024))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/*
 * The daemons live where CAGECTL_LIBEXEC says, else next to cagectl (a build tree), else in the
 * libexec directory `make install` put them in.
 */
static void find_executable(const char *name, char *out, size_t len)
{
	const char *dir = getenv("CAGECTL_LIBEXEC");
	char self[PATH_MAX], *slash;
	ssize_t n;

	out[0] = '\0';
	if (dir && *dir) {
		snprintf(out, len, "%s/%s", dir, name);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return;
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (!slash)
			return;
		*slash = '\0';
		snprintf(out, len, "%s/%s", self, name);
		if (access(out, X_OK) == 0)
			return;
#ifdef CAGECTL_LIBEXECDIR
		snprintf(out, len, "%s/%s", CAGECTL_LIBEXECDIR, name);
#endif
	}
	if (access(out, X_OK))
		out[0] = '\0';
}

static void audit_daemon(struct supervisor *s, const struct supervised *d, const char *event,
			 const char *decision, int status)
{
	struct json_buf *jb = audit_begin(s->log, "monitor", event, decision, event);

	if (!jb)
		return;
	jb_str(jb, "daemon", d->name);
	if (d->pid)
		jb_int(jb, "pid", d->pid);
	if (status >= 0) {
		if (WIFSIGNALED(status))
			jb_int(jb, "signal", WTERMSIG(status));
		else if (WIFEXITED(status))
			jb_int(jb, "exit_code", WEXITSTATUS(status));
	}
	if (d->restarts)
		jb_uint(jb, "restarts", d->restarts);
	audit_commit(s->log);
}

static int open_sockets(struct supervisor *s)
{
	const struct cage_state *st = s->st;
	struct supervised *px = &s->d[DAEMON_PROXY], *dns = &s->d[DAEMON_DNS];
	int fd;

/* Only for daemons that exist: a cage without them keeps its gateway ports closed. */
#define ADD(d, expr) do { if (!(d)->path[0]) break; fd = (expr); if (fd < 0) return fd; \
			  (d)->fds[(d)->n_fds++] = fd; } while (0)
	ADD(px, listen_on(AF_INET, SOCK_STREAM, &st->addrs.gw4, st->proxy_port));
	ADD(px, listen_on(AF_INET, SOCK_STREAM, &st->addrs.gw4, st->explicit_port));
	ADD(dns, listen_on(AF_INET, SOCK_DGRAM, &st->addrs.gw4, st->dns_port));
	ADD(dns, listen_on(AF_INET, SOCK_STREAM, &st->addrs.gw4, st->dns_port));
	if (st->ipv6) {
		ADD(px, listen_on(AF_INET6, SOCK_STREAM, st->addrs.gw6, st->proxy_port));
		ADD(px, listen_on(AF_INET6, SOCK_STREAM, st->addrs.gw6, st->explicit_port));
		ADD(dns, listen_on(AF_INET6, SOCK_DGRAM, st->addrs.gw6, st->dns_port));
		ADD(dns, listen_on(AF_INET6, SOCK_STREAM, st->addrs.gw6, st->dns_port));
	}
#undef ADD
	return 0;
}

static void chown_secrets(const char *state_dir, uint32_t uid, uint32_t gid)
{
	char path[PATH_MAX + 16], file[PATH_MAX + 300];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/secrets", state_dir);
	dir = opendir(path);
	if (!dir)
		return;
	if (chown(path, uid, gid))
		p_warn("can't hand %s to the proxy user: %s", path, strerror(errno));
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		if (chown(file, uid, gid))
			p_warn("can't hand %s to the proxy user: %s", file, strerror(errno));
	}
	closedir(dir);
}

int supervisor_init(struct supervisor *s, const struct cage_paths *p, const struct cage_state *st,
		    struct audit_log *log)
{
	static const char *const names[DAEMON_COUNT] = { "cage-proxy", "cage-dns" };
	static const char *const users[DAEMON_COUNT] = { "cagectl-proxy", "cagectl-dns" };
	int err;

	memset(s, 0, sizeof(*s));
	s->p = p;
	s->st = st;
	s->log = log;
	s->wake_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->wake_fd < 0)
		return -errno;
	for (int i = 0; i < DAEMON_COUNT; i++) {
		struct supervised *d = &s->d[i];

		d->kind = (enum daemon_kind)i;
		d->name = names[i];
		for (int j = 0; j < 6; j++)
			d->fds[j] = -1;
		find_executable(d->name, d->path, sizeof(d->path));
		d->wanted = d->path[0] != '\0';
		if (!d->wanted) {
			audit_daemon(s, d, "daemon.missing", "error", -1);
			p_warn("%s is not installed next to cagectl: its traffic fails (closed)", d->name);
			continue;
		}
		err = privdrop_system_user(users[i], &d->uid, &d->gid);
		if (err) {
			p_err("can't find or create system user %s: %s", users[i], strerror(-err));
			return err;
		}
		/* cage-proxy re-reads the store after dropping root (secret set on a running cage). */
		if (d->kind == DAEMON_PROXY)
			chown_secrets(p->state_dir, d->uid, d->gid);
	}
	err = open_sockets(s);
	if (err)
		p_err("can't open the daemons' listening sockets on the cage gateway: %s", strerror(-err));
	return err;
}

/* Puts the daemon's sockets at fds 3.., execs it. Only async-signal-safe calls after fork. */
static pid_t spawn_daemon(struct supervisor *s, struct supervised *d, int ready_w)
{
	char arg_uid[16], arg_gid[16], fds_a[32], fds_b[32], arg_ready[16], ca_dir[PATH_MAX + 8];
	char config[PATH_MAX + 16], dns_addr[INET_ADDRSTRLEN];
	const char *argv[40];
	int n = 0, target = 3, moved[8];
	pid_t pid;

	inet_ntop(AF_INET, &s->st->addrs.gw4, dns_addr, sizeof(dns_addr));
	snprintf(arg_uid, sizeof(arg_uid), "%u", d->uid);
	snprintf(arg_gid, sizeof(arg_gid), "%u", d->gid);
	snprintf(config, sizeof(config), "%s/cage.yaml", s->p->state_dir);
	snprintf(ca_dir, sizeof(ca_dir), "%s/ca", s->p->state_dir);
	/* fds 3..: the sockets in the order open_sockets made them, then the ready pipe. */
	for (int i = 0; i < d->n_fds; i++)
		moved[i] = target + i;
	snprintf(arg_ready, sizeof(arg_ready), "%d", target + d->n_fds);
	if (d->kind == DAEMON_PROXY) {
		/* [transparent4, explicit4, transparent6, explicit6] */
		if (d->n_fds == 4) {
			snprintf(fds_a, sizeof(fds_a), "%d,%d", moved[0], moved[2]);
			snprintf(fds_b, sizeof(fds_b), "%d,%d", moved[1], moved[3]);
		} else {
			snprintf(fds_a, sizeof(fds_a), "%d", moved[0]);
			snprintf(fds_b, sizeof(fds_b), "%d", moved[1]);
		}
	} else {
		/* [udp4, tcp4, udp6, tcp6] */
		if (d->n_fds == 4) {
			snprintf(fds_a, sizeof(fds_a), "%d,%d", moved[0], moved[2]);
			snprintf(fds_b, sizeof(fds_b), "%d,%d", moved[1], moved[3]);
		} else {
			snprintf(fds_a, sizeof(fds_a), "%d", moved[0]);
			snprintf(fds_b, sizeof(fds_b), "%d", moved[1]);
		}
	}
	argv[n++] = d->path;
	argv[n++] = "--cage";
	argv[n++] = s->p->name;
	argv[n++] = "--config";
	argv[n++] = config;
	argv[n++] = "--pins";
	argv[n++] = s->p->pin_dir;
	argv[n++] = "--audit";
	argv[n++] = s->p->audit_file;
	argv[n++] = "--uid";
	argv[n++] = arg_uid;
	argv[n++] = "--gid";
	argv[n++] = arg_gid;
	argv[n++] = "--ready-fd";
	argv[n++] = arg_ready;
	if (d->kind == DAEMON_PROXY) {
		argv[n++] = "--ca-dir";
		argv[n++] = ca_dir;
		argv[n++] = "--transparent-fd";
		argv[n++] = fds_a;
		argv[n++] = "--explicit-fd";
		argv[n++] = fds_b;
		if (s->upstream_ca) {
			argv[n++] = "--upstream-ca";
			argv[n++] = s->upstream_ca;
		}
		/*
		 * With cage-dns in place, an address it never answered is never dialled, and the
		 * proxy's own look-ups (CONNECT, absolute-form) go through it too: the same policy,
		 * and the answers land in dns_allow.
		 */
		if (s->d[DAEMON_DNS].path[0]) {
			argv[n++] = "--dns-allow-fallback";
			argv[n++] = "off";
			argv[n++] = "--dns-upstream";
			argv[n++] = dns_addr;
		}
	} else {
		/* Where the host's resolvers are listed, when not /etc/resolv.conf (the test lab). */
		if (getenv("CAGECTL_RESOLV_CONF")) {
			argv[n++] = "--resolv-conf";
			argv[n++] = getenv("CAGECTL_RESOLV_CONF");
		}
		argv[n++] = "--udp-fd";
		argv[n++] = fds_a;
		argv[n++] = "--tcp-fd";
		argv[n++] = fds_b;
	}
	argv[n] = NULL;

	pid = fork();
	if (pid != 0)
		return pid;
	/* Child: move the fds into place without clobbering one another (they are all > 2). */
	{
		int tmp[8], k;

		for (k = 0; k < d->n_fds; k++)
			tmp[k] = fcntl(d->fds[k], F_DUPFD_CLOEXEC, 64);
		tmp[k] = fcntl(ready_w, F_DUPFD_CLOEXEC, 64);
		for (k = 0; k <= d->n_fds; k++)
			if (dup2(tmp[k], target + k) < 0)
				_exit(126);
	}
	setsid();
	{
		sigset_t none;

		/* The monitor blocks the signals it reads through a signalfd; the daemon must not. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	{
		/*
		 * Sanitized builds: LeakSanitizer stops the world with ptrace and symbolizes in a child
		 * process, both refused by the daemon's seccomp filter (a refused leak check spins rather
		 * than fails). Later options win, so append. No effect on a normal build.
		 */
		const char *asan = getenv("ASAN_OPTIONS");
		char opts[1024];

		snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0:symbolize=0", asan ? asan : "",
			 asan && *asan ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
	}
	execv(d->path, (char *const *)argv);
	_exit(127);
}

/* CAGECTL_TIMING=1: when each daemon was started and reported ready (CLOCK_MONOTONIC, ms). */
static void timing_mark(const struct supervised *d, const char *what)
{
	struct timespec ts;

	if (!getenv("CAGECTL_TIMING"))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "monitor: %.1f ms %s %s\n",
		(double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6, d->name, what);
}

/* Waits for a started daemon's ready byte; a daemon not ready in time is killed and restarted. */
static void await_ready(struct supervisor *s, struct supervised *d, int ready_r, uint64_t deadline)
{
	struct pollfd pfd = { .fd = ready_r, .events = POLLIN };
	char pidfile[PATH_MAX + 16], c;
	uint64_t now = now_ms();
	int status;

	if (poll(&pfd, 1, now < deadline ? (int)(deadline - now) : 0) == 1 && read(ready_r, &c, 1) == 1) {
		timing_mark(d, "ready");
		snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", s->p->run_dir, d->name);
		pidfile_write(pidfile, d->pid);
		audit_daemon(s, d, d->woken ? "daemon.woken" : d->restarts ? "daemon.restarted" :
			     "daemon.started", "info", -1);
	} else {
		/* The exit goes through the normal restart path, with its backoff. */
		audit_daemon(s, d, "daemon.not_ready", "error", -1);
		kill(d->pid, SIGKILL);
		if (waitpid(d->pid, &status, 0) == d->pid)
			supervisor_reaped(s, d->pid, status);
	}
	d->woken = false;
	close(ready_r);
}

/* Starts every wanted daemon that is due, all at once, then waits for each to be ready. */
void supervisor_tick(struct supervisor *s)
{
	int ready_r[DAEMON_COUNT], pipefd[2];
	uint64_t now = now_ms(), deadline = now + SUPERVISOR_READY_TIMEOUT_MS;

	for (int i = 0; i < DAEMON_COUNT; i++) {
		struct supervised *d = &s->d[i];

		ready_r[i] = -1;
		if (!d->wanted || d->pid || d->idle || now < d->next_start_ms ||
		    pipe2(pipefd, O_CLOEXEC))
			continue;
		timing_mark(d, "spawn");
		d->pid = spawn_daemon(s, d, pipefd[1]);
		close(pipefd[1]);
		if (d->pid <= 0) {
			d->pid = 0;
			close(pipefd[0]);
			continue;
		}
		d->started_ms = now;
		ready_r[i] = pipefd[0];
	}
	for (int i = 0; i < DAEMON_COUNT; i++)
		if (ready_r[i] >= 0)
			await_ready(s, &s->d[i], ready_r[i], deadline);
}

/* Watches (or stops watching) the daemon's listening sockets for a waiting connection. */
static int watch_sockets(struct supervisor *s, struct supervised *d, bool on)
{
	for (int j = 0; j < d->n_fds; j++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)d->kind };

		if (!on) {
			epoll_ctl(s->wake_fd, EPOLL_CTL_DEL, d->fds[j], NULL);
		} else if (epoll_ctl(s->wake_fd, EPOLL_CTL_ADD, d->fds[j], &ev)) {
			int err = -errno;

			while (j-- > 0)
				epoll_ctl(s->wake_fd, EPOLL_CTL_DEL, d->fds[j], NULL);
			return err;
		}
	}
	return 0;
}

/* Leaves the idle state: stop watching; the next tick starts the daemon if it is wanted. */
static void leave_idle(struct supervisor *s, struct supervised *d)
{
	if (!d->idle)
		return;
	watch_sockets(s, d, false);
	daemon_mark_idle(s->p->run_dir, d->name, false);
	d->idle = false;
	d->next_start_ms = 0;
}

/* The daemon exited because it was idle: not a failure, no backoff, started on demand. */
static void enter_idle(struct supervisor *s, struct supervised *d)
{
	int err = watch_sockets(s, d, true);

	d->restarts = 0;
	d->next_start_ms = 0;
	if (err) {
		/* Can't watch: run it again now rather than leave the sockets unserved. */
		p_warn("%s: can't watch its sockets (%s): starting it again", d->name, strerror(-err));
		return;
	}
	d->idle = true;
	daemon_mark_idle(s->p->run_dir, d->name, true);
}

void supervisor_wake(struct supervisor *s)
{
	struct epoll_event evs[8];
	int n = epoll_wait(s->wake_fd, evs, 8, 0);

	for (int i = 0; i < n; i++) {
		struct supervised *d = &s->d[evs[i].data.u32 % DAEMON_COUNT];

		if (!d->idle)
			continue;
		leave_idle(s, d);
		d->woken = true;
		timing_mark(d, "wake");
	}
}

bool supervisor_reaped(struct supervisor *s, pid_t pid, int status)
{
	char pidfile[PATH_MAX + 16];
	uint64_t backoff, now = now_ms();

	for (int i = 0; i < DAEMON_COUNT; i++) {
		struct supervised *d = &s->d[i];

		if (d->pid != pid)
			continue;
		if (d->wanted && WIFEXITED(status) && WEXITSTATUS(status) == DAEMON_EXIT_IDLE) {
			audit_daemon(s, d, "daemon.idle", "info", -1);
			snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", s->p->run_dir, d->name);
			unlink(pidfile);
			d->pid = 0;
			enter_idle(s, d);
			return true;
		}
		audit_daemon(s, d, "daemon.exited", d->wanted ? "error" : "info", status);
		snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", s->p->run_dir, d->name);
		unlink(pidfile);
		d->pid = 0;
		if (now - d->started_ms > HEALTHY_MS)
			d->restarts = 0;
		/* First restart at once, then 100 ms doubling up to 5 s. */
		backoff = d->restarts ? 100ull << (d->restarts - 1 > 6 ? 6 : d->restarts - 1) : 0;
		if (backoff > BACKOFF_MAX_MS)
			backoff = BACKOFF_MAX_MS;
		d->next_start_ms = now + backoff;
		d->restarts++;
		return true;
	}
	return false;
}

void supervisor_signal(struct supervisor *s, int sig)
{
	for (int i = 0; i < DAEMON_COUNT; i++)
		if (s->d[i].pid)
			kill(s->d[i].pid, sig);
}

static void stop_all(struct supervisor *s)
{
	int status;

	for (int i = 0; i < DAEMON_COUNT; i++) {
		struct supervised *d = &s->d[i];

		if (!d->pid)
			continue;
		kill(d->pid, SIGTERM);
		for (int t = 0; t < 200; t++) {
			if (waitpid(d->pid, &status, WNOHANG) == d->pid)
				break;
			if (t == 100)
				kill(d->pid, SIGKILL);
			usleep(5000);
		}
		supervisor_reaped(s, d->pid, status);
	}
}

void supervisor_set_wanted(struct supervisor *s, bool wanted)
{
	for (int i = 0; i < DAEMON_COUNT; i++) {
		leave_idle(s, &s->d[i]);
		s->d[i].wanted = wanted && s->d[i].path[0];
		s->d[i].restarts = 0;
		s->d[i].next_start_ms = 0;
	}
	if (!wanted)
		stop_all(s);
}

void supervisor_shutdown(struct supervisor *s)
{
	supervisor_set_wanted(s, false);
	for (int i = 0; i < DAEMON_COUNT; i++)
		for (int j = 0; j < s->d[i].n_fds; j++)
			close(s->d[i].fds[j]);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	s->wake_fd = -1;
}

int supervisor_next_timeout(const struct supervisor *s)
{
	uint64_t now = now_ms(), best = UINT64_MAX;

	for (int i = 0; i < DAEMON_COUNT; i++) {
		const struct supervised *d = &s->d[i];

		if (d->wanted && !d->pid && !d->idle && d->next_start_ms < best)
			best = d->next_start_ms;
	}
	if (best == UINT64_MAX)
		return -1;
	return best <= now ? 0 : (int)(best - now);
}
