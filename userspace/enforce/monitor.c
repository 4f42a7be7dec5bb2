// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/types.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "audit/audit.h"
#include "audit/kernel_event.h"
#include "audit/logfile.h"
#include "config/config.h"
#include "enforce/bpf_loader.h"
#include "enforce/daemon.h"
#include "enforce/monitor.h"
#include "enforce/supervise.h"
#include "lib/log.h"

static int on_event(void *ctx, void *data, size_t len)
{
	struct audit_log *log = ctx;

	if (len < sizeof(struct cage_event))
		return 0;
	audit_kernel_event(log, data);
	return 0;
}

static void audit_lifecycle(struct audit_log *log, const char *event, const struct cage_state *st)
{
	struct json_buf *jb = audit_begin(log, "monitor", event, "info", event);

	if (!jb)
		return;
	jb_uint(jb, "pid", (uint64_t)getpid());
	if (st->config_path[0])
		jb_str(jb, "config", st->config_path);
	audit_commit(log);
}

static void reap_children(struct supervisor *sv)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		supervisor_reaped(sv, pid, status);
}

/* The end of the monitor's stderr (monitor.log) before the daemons start, or -1 if not a file. */
static off_t log_offset(void)
{
	struct stat sb;

	if (fstat(STDERR_FILENO, &sb) || !S_ISREG(sb.st_mode))
		return -1;
	return sb.st_size;
}

/*
 * The last line a daemon wrote to monitor.log since `from` (the daemons inherit the monitor's
 * stderr): its own "cage-dns: ..." line if there is one, else the last line of anyone, so a
 * daemon that dies before it can print still gets a hint. Control bytes are replaced.
 */
static void last_log_line(off_t from, const char *name, char *out, size_t len)
{
	char buf[8192], *line, *save = NULL, *mine = NULL, *any = NULL;
	size_t name_len = strlen(name);
	off_t end = log_offset();
	ssize_t n;
	int fd;

	snprintf(out, len, "(it wrote nothing)");
	if (from < 0 || end <= from)
		return;
	/* The tail is what matters: skip ahead when a noisy daemon wrote more than the buffer. */
	if (end - from > (off_t)sizeof(buf) - 1)
		from = end - (off_t)sizeof(buf) + 1;
	/* stderr is write-only (O_APPEND): read the same file through a descriptor of our own. */
	fd = open("/proc/self/fd/2", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = pread(fd, buf, sizeof(buf) - 1, from);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line = (char *)log_skip_timestamp(line);   /* `up` quotes the message, not when */
		if (!*line)
			continue;
		any = line;
		if (!strncmp(line, name, name_len) && line[name_len] == ':')
			mine = line;
	}
	line = mine ? mine : any;
	if (!line)
		return;
	snprintf(out, len, "%s", line);
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

/*
 * After the first start: a wanted daemon that is not running failed it (exited, or was not ready
 * in time and was killed). `up` must fail then rather than hand over a cage whose DNS or proxy
 * never worked; later crashes are restarted as usual. 0, or -ECHILD with msg set.
 */
static int first_start_check(struct supervisor *sv, off_t log_from, char *msg, size_t len)
{
	for (int i = 0; i < DAEMON_COUNT; i++) {
		const struct supervised *d = &sv->d[i];
		char line[512];
		struct json_buf *jb;

		if (!d->wanted || d->pid)
			continue;
		last_log_line(log_from, d->name, line, sizeof(line));
		snprintf(msg, len, "%s failed its first start; its last log line: %s", d->name, line);
		jb = audit_begin(sv->log, "monitor", "daemon.start_failed", "error", "daemon.start_failed");
		if (jb) {
			jb_str(jb, "daemon", d->name);
			jb_str(jb, "last_log_line", line);
			audit_commit(sv->log);
		}
		return -ECHILD;
	}
	return 0;
}

/* Returns false when the monitor should stop. */
/* Set on SIGHUP: the rotator re-reads logging.max_size on its next tick. */
static bool log_size_stale;

/* `update` may change logging.max_size (applied live): take the new size. */
static void reload_log_size(struct logfile_rotator *r, const char *cfg_path, const char *origin)
{
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;

	memset(&diag, 0, sizeof(diag));
	if (cage_config_load_copy(cfg_path, origin, &cfg, &diag, NULL, NULL) == 0) {
		logfile_rotator_set_max(r, cfg->log_max_bytes);
		cage_config_free(cfg);
	}
}

static bool handle_signal(int sfd, struct supervisor *sv, struct audit_log *log)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap_children(sv);
			break;
		case SIGHUP:
			/* A changed config or allowlist: the daemons reload it themselves. */
			supervisor_signal(sv, SIGHUP);
			log_size_stale = true;
			break;
		case SIGUSR1:
			audit_lifecycle(log, "daemons.stopping", sv->st);
			supervisor_set_wanted(sv, false);
			break;
		case SIGUSR2:
			audit_lifecycle(log, "daemons.starting", sv->st);
			supervisor_set_wanted(sv, true);
			break;
		default:
			return false;
		}
	}
	return true;
}

int monitor_run(const struct cage_paths *p, const struct cage_state *st, int ready_fd)
{
	struct epoll_event ev, evs[4];
	struct ring_buffer *rb = NULL;
	struct supervisor sv;
	struct logfile_rotator rotator;
	struct audit_log *log;
	time_t last_flush = time(NULL);
	sigset_t mask;
	int fd = -1, sfd = -1, efd = -1, err, n, timeout;
	bool running = true, sv_ready = false;
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;
	char cfg_path[PATH_MAX + 16], fail_msg[768];
	off_t log_from;

	log_timestamps = true;   /* stderr is monitor.log, or the terminal of `up --foreground` */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	log = audit_open(p->audit_file, p->name, 0);
	if (!log) {
		err = -errno;
		p_err("can't open audit log %s: %s", p->audit_file, strerror(errno));
		return err;
	}
	fd = cage_bpf_map_open(p->pin_dir, CAGE_PIN_EVENTS, false);
	if (fd < 0) {
		err = fd;
		p_err("can't open pinned map %s/%s: %s", p->pin_dir, CAGE_PIN_EVENTS, strerror(-fd));
		goto out;
	}
	rb = ring_buffer__new(fd, on_event, log, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	efd = epoll_create1(EPOLL_CLOEXEC);
	if (!rb || sfd < 0 || efd < 0) {
		err = -errno;
		p_err("can't set up the event loop: %s", strerror(errno));
		goto out;
	}
	ev.events = EPOLLIN;
	ev.data.fd = ring_buffer__epoll_fd(rb);
	epoll_ctl(efd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &ev);

	err = supervisor_init(&sv, p, st, log);
	if (err)
		goto out;
	sv_ready = true;
	ev.data.fd = sv.wake_fd;
	epoll_ctl(efd, EPOLL_CTL_ADD, sv.wake_fd, &ev);
	snprintf(cfg_path, sizeof(cfg_path), "%s/cage.yaml", p->state_dir);
	memset(&diag, 0, sizeof(diag));
	if (cage_config_load_copy(cfg_path, st->config_path, &cfg, &diag, NULL, NULL) == 0)
		sv.upstream_ca = cfg->upstream_ca;
	/* The daemons cannot rename in the log dir: we rotate for everyone (audit/logfile.h). */
	if (logfile_rotator_init(&rotator, p->log_dir, cfg ? cfg->log_max_bytes : 0,
				 sv.d[DAEMON_PROXY].uid, sv.d[DAEMON_DNS].gid))
		p_warn("can't open %s for the daemons: their logs will not rotate", p->log_dir);
	audit_follow_stdio(log, "monitor.log");
	/* Daemons first: `up` reports ready only when the cage can be used. */
	log_from = log_offset();
	supervisor_tick(&sv);
	/*
	 * With someone waiting for readiness (`up`, guest-init), a daemon that fails its first start
	 * fails the whole start: "0" and the reason go back instead of "1", and `up` rolls back.
	 * In the foreground there is no one to tell: keep restarting, as after any later crash.
	 */
	if (ready_fd >= 0) {
		err = first_start_check(&sv, log_from, fail_msg, sizeof(fail_msg));
		if (err) {
			p_err("%s", fail_msg);
			if (write(ready_fd, "0", 1) != 1 || write(ready_fd, fail_msg, strlen(fail_msg)) < 0)
				p_warn("can't report the failed start: %s", strerror(errno));
			close(ready_fd);
			goto out;
		}
	}

	err = pidfile_write(p->monitor_pid, getpid());
	if (err) {
		p_err("can't write %s: %s", p->monitor_pid, strerror(-err));
		goto out;
	}
	audit_lifecycle(log, "monitor.started", st);
	if (ready_fd >= 0) {
		if (write(ready_fd, "1", 1) != 1)
			p_warn("can't signal readiness: %s", strerror(errno));
		close(ready_fd);
	}
	while (running) {
		timeout = supervisor_next_timeout(&sv);
		if (timeout < 0 || timeout > 1000)
			timeout = 1000;
		n = epoll_wait(efd, evs, 4, timeout);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == sfd)
				running = handle_signal(sfd, &sv, log);
			else if (evs[i].data.fd == sv.wake_fd)
				supervisor_wake(&sv);
			else
				ring_buffer__consume(rb);
		}
		supervisor_tick(&sv);
		if (time(NULL) != last_flush) {
			if (log_size_stale)
				reload_log_size(&rotator, cfg_path, st->config_path);
			log_size_stale = false;
			logfile_rotator_tick(&rotator);
			audit_flush_suppressed(log);
			last_flush = time(NULL);
		}
	}
	/* Whatever is still queued belongs in the log before we go. */
	ring_buffer__consume(rb);
	audit_lifecycle(log, "monitor.stopped", st);
	unlink(p->monitor_pid);
	err = 0;
out:
	if (sv_ready)
		supervisor_shutdown(&sv);
	if (efd >= 0)
		close(efd);
	if (sfd >= 0)
		close(sfd);
	ring_buffer__free(rb);
	if (fd >= 0)
		close(fd);
	audit_close(log);
	cage_config_free(cfg);
	return err;
}

int monitor_start(const struct cage_paths *p, const struct cage_state *st, bool detach, pid_t *pid_out)
{
	char log_path[PATH_MAX + 16], c, why[768];
	const char *fail_at = getenv("CAGECTL_FAIL_AT");
	struct pollfd pfd;
	int pipefd[2], status, fd;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (pid == 0) {
		close(pipefd[0]);
		/* Test hook: a monitor that dies before it is ready. */
		if (fail_at && !strcmp(fail_at, "monitor"))
			_exit(1);
		/* The caller (guest-init as PID 1) may have handlers of its own. */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		if (detach) {
			setsid();
			fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				dup2(fd, 0);
				close(fd);
			}
		}
		snprintf(log_path, sizeof(log_path), "%s/monitor.log", p->log_dir);
		fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		_exit(monitor_run(p, st, pipefd[1]) ? 1 : 0);
	}
	close(pipefd[1]);
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	/* The monitor reports ready after its daemons do: wait longer than it waits for them. */
	if (poll(&pfd, 1, SUPERVISOR_READY_TIMEOUT_MS + 5000) == 1 && read(pipefd[0], &c, 1) == 1) {
		if (c == '1') {
			close(pipefd[0]);
			if (pid_out)
				*pid_out = pid;
			return 0;
		}
		/* "0" + why: a daemon failed its first start; the monitor is exiting. */
		ssize_t n = read(pipefd[0], why, sizeof(why) - 1);

		why[n > 0 ? n : 0] = '\0';
		p_err("%s", n > 0 ? why : "a daemon failed its first start");
		/* Let it stop the daemon that did start (a SIGKILL now would orphan it). */
		for (int t = 0; t < 400; t++) {
			if (waitpid(pid, &status, WNOHANG) == pid) {
				close(pipefd[0]);
				return -ECHILD;
			}
			usleep(5000);
		}
	}
	close(pipefd[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -ECHILD;
}
