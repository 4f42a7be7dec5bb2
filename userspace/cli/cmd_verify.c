// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cagectl verify`: every layer checked from outside (cage_verify: cgroup, netns, BPF links and
 * pins, nft tables as applied; the monitor and the daemons alive), then probes from inside through
 * `cagectl exec`, so they run exactly as a workload would. Probes only use names under .invalid
 * and documentation addresses (RFC 5737/3849): nothing they send could reach a real host.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit_read.h"
#include "cli/cli.h"
#include "config/config.h"
#include "enforce/cage.h"
#include "enforce/daemon.h"
#include "lib/json.h"
#include "lib/log.h"

struct results {
	int passed, failed;
	bool first;
};

static void result(struct results *r, const char *check, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void result(struct results *r, const char *check, bool ok, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	ok ? r->passed++ : r->failed++;
	if (json_output) {
		printf("%s{\"check\":\"%s\",\"ok\":%s,\"detail\":", r->first ? "" : ",", check,
		       ok ? "true" : "false");
		json_write_string(stdout, detail);
		printf("}");
		r->first = false;
	} else {
		printf("[%s] %-22s %s\n", ok ? "PASS" : "FAIL", check, detail);
	}
	fflush(stdout);
}

/*
 * One line per probe: "<probe> <observed>". Each probe is independent; a Python exception in
 * one is reported as its observation, never stops the others.
 */
static const char probe_script[] =
	"import os, socket, struct, sys\n"
	"gw4, gw6, port, label = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]\n"
	"def connect_403(fam, gw):\n"
	"    s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(5)\n"
	"    try:\n"
	"        s.connect((gw, port))\n"
	"        s.sendall(b'CONNECT cagectl-verify.invalid:443 HTTP/1.1\\r\\nHost: cagectl-verify.invalid:443\\r\\n\\r\\n')\n"
	"        line = s.recv(200).split(b'\\r\\n')[0].decode('latin-1')\n"
	"        return 'status:' + (line.split(' ')[1] if ' ' in line else line or 'closed')\n"
	"    except OSError as e: return 'errno:%d' % e.errno if e.errno else 'timeout'\n"
	"    finally: s.close()\n"
	"def dns(fam, gw, qtype):\n"
	"    s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(3)\n"
	"    q = struct.pack('>HHHHHH', 0x4242, 0x0100, 1, 0, 0, 0)\n"
	"    for part in (label + '.cagectl-verify.invalid').split('.'): q += bytes([len(part)]) + part.encode()\n"
	"    q += b'\\0' + struct.pack('>HH', qtype, 1)\n"
	"    try:\n"
	"        s.sendto(q, (gw, 53)); a = s.recv(512)\n"
	"        return 'rcode:%d' % (a[3] & 15)\n"
	"    except OSError as e: return 'errno:%d' % e.errno if e.errno else 'timeout'\n"
	"    finally: s.close()\n"
	"def raw(fam, addr):\n"
	"    s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(3)\n"
	"    try: s.connect((addr, 4444)); return 'connected'\n"
	"    except OSError as e: return 'errno:%d' % e.errno if e.errno else 'timeout'\n"
	"    finally: s.close()\n"
	"print('https4', connect_403(socket.AF_INET, gw4))\n"
	"print('dns4', dns(socket.AF_INET, gw4, 1))\n"
	"print('tcp4', raw(socket.AF_INET, '192.0.2.1'))\n"
	"if gw6 != '-':\n"
	"    print('https6', connect_403(socket.AF_INET6, gw6))\n"
	"    print('dns6', dns(socket.AF_INET6, gw6, 28))\n"
	"    print('tcp6', raw(socket.AF_INET6, '2001:db8::1'))\n";

/* Runs the probe script in the cage; its stdout (bounded) into out. */
static int run_probes(const char *cage, const struct cage_state *st, const char *label, char *out,
		      size_t len)
{
	char gw4[INET_ADDRSTRLEN], gw6[INET6_ADDRSTRLEN] = "-", port[8];
	int pipefd[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	inet_ntop(AF_INET, &st->addrs.gw4, gw4, sizeof(gw4));
	if (st->ipv6)
		inet_ntop(AF_INET6, st->addrs.gw6, gw6, sizeof(gw6));
	snprintf(port, sizeof(port), "%u", st->explicit_port);
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(pipefd[1], 1);
		if (devnull >= 0)
			dup2(devnull, 2);
		execl("/proc/self/exe", "cagectl", "exec", cage, "--", "python3", "-c", probe_script,
		      gw4, gw6, port, label, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	while (got + 1 < len && (n = read(pipefd[0], out + got, len - got - 1)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

static const char *observed(const char *out, const char *probe)
{
	static char buf[64];
	size_t pl = strlen(probe);

	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, probe, pl) && l[pl] == ' ') {
			snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(l + pl + 1, "\n"), l + pl + 1);
			return buf;
		}
	return NULL;
}

/* Whether the resolver logged the probe's name as blocked, and did not forward it. */
static int dns_audited(const struct cage_paths *p, const char *label)
{
	char line[16384];
	int found = 0;
	FILE *f = fopen(p->audit_file, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		struct audit_rec r;
		const char *host, *layer, *dec, *up;

		if (!strstr(line, label) || audit_rec_parse(line, strcspn(line, "\n"), &r))
			continue;
		host = audit_rec_host(&r);
		layer = audit_rec_get(&r, "layer");
		dec = audit_rec_get(&r, "decision");
		up = audit_rec_get(&r, "upstream");
		if (host && strstr(host, label) && layer && !strcmp(layer, "dns")) {
			if (dec && strcmp(dec, "allowed") && (!up || !strcmp(up, "false")))
				found = found ? found : 1;
			else
				found = -1;
		}
		audit_rec_free(&r);
	}
	fclose(f);
	return found;
}

static void probe_results(struct results *r, const struct cage_paths *p, const struct cage_config_file *cfg,
			  const char *out, const char *label, bool v6, bool daemons_up)
{
	static const int deny_rcode[] = { [DNS_DENY_NXDOMAIN] = 3, [DNS_DENY_REFUSED] = 5,
					  [DNS_DENY_SINKHOLE] = 0 };
	int want_rcode = deny_rcode[cfg ? cfg->dns_deny : DNS_DENY_NXDOMAIN];
	const char *fams[] = { "4", "6" };

	for (int f = 0; f < (v6 ? 2 : 1); f++) {
		char name[32], want[16];
		const char *o;
		int audited;

		snprintf(name, sizeof(name), "https%s", fams[f]);
		o = observed(out, name);
		snprintf(name, sizeof(name), "probe https ipv%s", fams[f]);
		if (o && !strcmp(o, "status:403"))
			result(r, name, true, "unlisted host: 403 from the proxy");
		else
			result(r, name, false, "unlisted host: %s, want status:403%s", o ? o : "no answer",
			       daemons_up ? "" : " (cage-proxy is not running)");

		snprintf(name, sizeof(name), "dns%s", fams[f]);
		o = observed(out, name);
		snprintf(name, sizeof(name), "probe dns ipv%s", fams[f]);
		snprintf(want, sizeof(want), "rcode:%d", want_rcode);
		audited = o && !strcmp(o, want) ? dns_audited(p, label) : 0;
		if (audited > 0)
			result(r, name, true, "denied name: %s, answered locally (audited)", o);
		else if (o && !strcmp(o, want))
			result(r, name, false, "denied name: %s but %s", o,
			       audited < 0 ? "the audit shows it allowed or forwarded upstream"
					   : "no dns audit record for it");
		else
			result(r, name, false, "denied name: %s, want %s%s", o ? o : "no answer", want,
			       daemons_up ? "" : " (cage-dns is not running)");

		snprintf(name, sizeof(name), "tcp%s", fams[f]);
		o = observed(out, name);
		snprintf(name, sizeof(name), "probe tcp ipv%s", fams[f]);
		if (o && !strcmp(o, "errno:1"))
			result(r, name, true, "connect to port 4444: EPERM");
		else
			result(r, name, false, "connect to port 4444: %s, want errno:1 (EPERM)",
			       o ? o : "no answer");
	}
}

int do_verify(int argc, char **argv)
{
	static const char *const daemons[] = { "cage-proxy", "cage-dns" };
	struct results r = { .first = true };
	struct cage_config_file *cfg = NULL;
	struct cage_paths p;
	struct cage_state st;
	char what[512], path[PATH_MAX + 16], label[24], out[4096];
	const char *name = NULL;
	bool probes = true, daemons_up = true;
	unsigned rnd = 0;
	pid_t pid;
	int rc, err;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--no-probes"))
			probes = false;
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else
			return cli_usage_error("verify", "unexpected argument '%s'", argv[i]);
	}
	if (!name)
		return cli_usage_error("verify", "no cage name");
	rc = cli_cage_lookup("verify", name, &p, true);
	if (rc)
		return rc;
	if (json_output)
		printf("{\"name\":\"%s\",\"checks\":[", name);
	err = cage_state_read(p.state_file, &st);
	if (err) {
		result(&r, "state", false, "no state file %s: %s", p.state_file, strerror(-err));
		goto done;
	}
	snprintf(path, sizeof(path), "%s/cage.yaml", p.state_dir);
	cage_config_load(path, &cfg, &(struct cage_config_diag){ 0 }, NULL, NULL);
	err = cage_verify(&p, &st, what, sizeof(what));
	result(&r, "layers", !err, "%s", err ? what : "cgroup, netns, BPF links and pins, nft tables as applied");
	pid = cli_monitor_pid(&p);
	if (pid > 0)
		result(&r, "monitor", true, "running (pid %d)", (int)pid);
	else
		result(&r, "monitor", false, "not running: nothing audits kernel events or supervises the daemons");
	for (size_t i = 0; i < 2; i++) {
		enum daemon_state ds = daemon_state(p.run_dir, daemons[i], &pid);
		bool alive = ds == DAEMON_RUNNING;

		if (ds == DAEMON_IDLE) {
			/* The probes' connection starts it (proxy.idle_exit): it is up when they run. */
			result(&r, daemons[i], true, "idle (proxy.idle_exit): started by the next connection");
			continue;
		}
		daemons_up &= alive;
		if (alive)
			result(&r, daemons[i], true, "running (pid %d)", (int)pid);
		else
			result(&r, daemons[i], false, "not running (no live %s/%s.pid)", p.run_dir, daemons[i]);
	}
	if (!probes)
		goto done;
	getrandom(&rnd, sizeof(rnd), 0);
	snprintf(label, sizeof(label), "v%08x", rnd);
	err = run_probes(name, &st, label, out, sizeof(out));
	if (err && !out[0]) {
		result(&r, "probes", false, "could not run python3 in the cage ('cagectl exec %s -- python3' "
		       "failed)", name);
		goto done;
	}
	/* The resolver writes its record after answering; give it a moment. */
	usleep(200 * 1000);
	probe_results(&r, &p, cfg, out, label, st.ipv6, daemons_up);
done:
	if (json_output)
		printf("],\"passed\":%d,\"failed\":%d}\n", r.passed, r.failed);
	else
		printf("%d passed, %d failed\n", r.passed, r.failed);
	cage_config_free(cfg);
	return r.failed ? 1 : 0;
}
