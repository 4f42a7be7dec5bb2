#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Regenerates tests/cli/help/*.txt from `cagectl CMD --help` and the help block of every man page
# in docs/man/ (between the BEGIN HELP / END HELP markers); the prose around it is kept in this
# file. Run after changing a usage text in userspace/cli/cmd_help.c:
#   tests/cli/mkman.py build/cagectl
# tests/integration/cli_help.sh checks that the three agree.
import os, subprocess, sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATE = "2026-11"

# name: (one-line summary, description paragraphs, extra sections)
PAGES = {
 "up": ("create a cage and start its monitor",
  ["Loads CAGE.YAML exactly as \\fBcagectl validate\\fR does (agentcage keys that cannot apply print one warning each), "
   "creates every layer of the cage in order (cgroup, netns, veth, addresses, nftables, BPF programs and pins), verifies "
   "them and starts the monitor, which drains kernel events into the audit log and supervises cage-proxy and cage-dns. "
   "On any failure everything created so far is removed again and no workload starts.",
   "A copy of the config is kept in the state directory; \\fBexec\\fR, \\fBdomain\\fR and \\fBshow\\fR read that copy.",
   "\\fBcreate\\fR is an alias."], []),
 "down": ("remove a cage",
  ["Stops the cage's processes and daemons and removes its BPF pins, nftables tables, veth, netns, cgroup, addresses and "
   "run directory. The state directory (config copy, CA, secrets) and the logs (audit, capture) stay. Removing a cage "
   "that does not exist succeeds.", "Aliases: \\fBdestroy\\fR, \\fBrm\\fR, \\fBdelete\\fR."], []),
 "start": ("start a cage's daemons",
  ["Sends SIGUSR2 to the cage's monitor (pid in \\fI<run_dir>/monitor.pid\\fR), which starts cage-proxy and cage-dns. "
   "The kernel layer is never touched by start, stop or restart."], []),
 "stop": ("stop a cage's daemons, keep enforcement",
  ["Sends SIGUSR1 to the cage's monitor, which stops cage-proxy and cage-dns. The BPF programs and nftables rules stay: "
   "the workload keeps running but cannot reach anything until \\fBcagectl start\\fR."], []),
 "restart": ("restart a cage's daemons",
  ["SIGUSR1, then SIGUSR2 to the monitor. \\fBreload\\fR is an alias."], []),
 "update": ("apply a changed config to a running cage",
  ["Validates CAGE.YAML, replaces the cage's config copy and sends SIGHUP to the monitor, which relays it to the daemons: "
   "domains, secrets, inspectors, DNS, logging and capture limits apply live. Turning capture on is listed as "
   "\\fIneeds restart\\fR (\\fBcagectl restart\\fR: cage-proxy opens the capture file when it starts). Changes to the "
   "network pools, ports, ipv6, user, resources or isolation are listed as \\fIneeds down/up\\fR. A config that names "
   "another cage is refused."], []),
 "status": ("layers, monitor and counters of cages",
  ["Without NAME, every cage with a run directory. State is \\fBrunning\\fR, \\fBenforcing-unmonitored\\fR (layers in place, "
   "monitor gone), \\fBdegraded\\fR (a layer is missing; exit 1) or \\fBbroken\\fR.",
   "JSON keys: name, state, problem, monitor_pid, processes, ipv4, gateway4, ipv6, gateway6, host_ifname, config, "
   "created_at, counters."], []),
 "list": ("list cages", ["One line per cage. Aliases: \\fBls\\fR, \\fBps\\fR."], []),
 "show": ("everything about one cage",
  ["The config summary (user, workdir, ports, exec aliases), addresses, domains with their expiry, each configured secret "
   "with whether a value is stored (never the value), the pinned BPF maps, the daemons from \\fI<run_dir>/*.pid\\fR and the "
   "non-zero counters. Works for a cage that is down but has a state directory. Aliases: \\fBdescribe\\fR, \\fBinspect\\fR."], []),
 "prune": ("remove stopped ephemeral cages",
  ["Runs \\fBdown\\fR for every cage whose config copy says \\fBephemeral: true\\fR and whose cgroup holds no process. "
   "Logs and state stay, as with down."], []),
 "exec": ("run a command inside a cage",
  ["Starts CMD directly in the cage's cgroup and netns as the configured unprivileged user, with the proxy variables set "
   "and the config's env, mounts and workdir. When the first word is a key of the config's \\fBexec_aliases\\fR, its "
   "command line runs under /bin/sh \\-c with the remaining arguments appended."], []),
 "shell": ("interactive shell in a cage", ["Runs bash \\-i (or sh \\-i when bash is missing) through \\fBcagectl exec\\fR."], []),
 "run": ("one-shot cage around a project",
  ["Renders SCAFFOLD into a temporary cage.yaml named SCAFFOLD-ADJECTIVE-NOUN (or NAME), adds the project directory "
   "as a read-write mount at the same path, sets it as workdir and marks the cage ephemeral; stores each \\fB\\-s\\fR "
   "secret through \\fBcagectl secret set\\fR (the value travels on a pipe, never in argv of a child); brings the cage up, "
   "runs an interactive shell (or CMD) and takes the cage down when it exits. The audit log stays in the log directory.",
   "A \\fB\\-s KEY\\fR the scaffold does not name gets a rule with an empty inject_to list: the workload sees its "
   "placeholder, and the value is never sent anywhere."], []),
 "init": ("write a commented cage.yaml",
  ["NAME defaults to the current directory's name. Built-in scaffolds: \\fBclaude-code\\fR (anthropic.com, claude.com, "
   "claude.ai, npm, PyPI, GitHub; ANTHROPIC_API_KEY bound to anthropic.com), \\fBcodex\\fR (openai.com, chatgpt.com, "
   "registries; OPENAI_API_KEY bound to openai.com) and \\fBgeneric\\fR (registries and GitHub). The written file is "
   "validated first."], []),
 "scaffold": ("manage scaffolds",
  ["\\fBlist\\fR shows built-in and user scaffolds; \\fBshow\\fR prints one; \\fBcreate\\fR stores a new user scaffold "
   "from another scaffold (default generic) or from a cage.yaml, after validating it; \\fBexport\\fR writes a scaffold to "
   "a file or stdout. A user scaffold with a built-in's name takes its place."], []),
 "verify": ("check every layer of a cage and probe from inside",
  ["Checks: the state file; the layers (cgroup, netns, BPF links and pins, nftables tables identical to what was applied); "
   "the monitor; cage-proxy and cage-dns. Probes, run with \\fBcagectl exec\\fR as the workload would: an HTTPS CONNECT "
   "to cagectl-verify.invalid through the proxy must get 403; a query for a random name under cagectl-verify.invalid "
   "must get the configured deny answer (NXDOMAIN by default) and a dns audit record that shows it was not forwarded; "
   "a TCP connect to 192.0.2.1:4444 must fail with EPERM; the same over IPv6 (2001:db8::1) when the cage has IPv6. "
   "Probes use only reserved names and documentation addresses. While a daemon is not running its probes fail and "
   "say so."], []),
 "domain": ("edit a cage's domains live",
  ["Edits \\fI<state_dir>/cage.yaml\\fR in place (comments and layout kept; block lists and one-line flow lists), validates "
   "the result as \\fBup\\fR would, replaces the file atomically and sends SIGHUP to the monitor, which relays it to the "
   "proxy and resolver. \\fB\\-\\-expires\\-in\\fR writes an absolute \\fBexpires\\fR time, so reloads never extend it; the daemons "
   "stop matching an expired entry within a minute. Without \\fB\\-\\-passthrough\\fR or \\fB\\-\\-block\\fR the allow list "
   "is edited."], []),
 "audit": ("read a cage's audit log",
  ["Reads \\fI<log_dir>/audit.jsonl\\fR after its rotated \\fIaudit.jsonl.1\\fR. Filters combine with AND; several "
   "\\fB\\-d\\fR combine with OR. The host of a record is its host, sni, qname or domain member; \\fB\\-\\-host\\fR matches "
   "that name and its subdomains. A record without a severity member counts as error (decision error), warning "
   "(decision blocked) or info. Text output is one line per record; \\fB\\-\\-json\\fR prints the records unchanged, one "
   "per line. \\fB\\-\\-summary\\fR counts the matching records by decision, host, reason (or event) and layer."], []),
 "har": ("export the HTTP capture as HAR 1.2",
  ["Reads \\fI<log_dir>/capture.jsonl\\fR (and .1), written by cage-proxy when \\fBcapture.enable\\fR is true; the record "
   "format is in docs/cli.md. Lines that are not capture records are skipped and counted. The file opens in the network "
   "panel of a browser's developer tools."], []),
 "logs": ("show the log of a cage's monitor and daemons",
  ["Reads \\fI<log_dir>/monitor.log\\fR after its rotated \\fImonitor.log.1\\fR. The monitor, cage-proxy and cage-dns all "
   "write there (the daemons inherit the monitor's stderr), each line as "
   "\"2026-11-27T09:10:00.123Z cage-proxy: warning: ...\" (UTC, milliseconds). \\fB\\-s proxy\\fR selects the lines of "
   "cage-proxy, \\fB\\-s dns\\fR those of cage-dns, \\fB\\-s monitor\\fR the monitor's own (it writes as \"cagectl\"). "
   "With more than one service each line is prefixed by the service. \\fB\\-\\-since\\fR uses the RFC 3339 time a line "
   "starts with. A line without a time (a stack trace, a wrapped message) belongs to the line before, for "
   "\\fB\\-s\\fR and \\fB\\-\\-since\\fR alike. \\fB\\-f\\fR follows the file across rotation, like "
   "\\fBtail \\-F\\fR."], []),
 "backup": ("archive a cage",
  ["Writes a gzip-compressed ustar archive: manifest.json first (format cagectl-backup, version 1, cage, created_at, "
   "include_secrets, files), then state/ (the state directory: cage.yaml, the CA certificate, ...) and log/ (audit and "
   "capture, with their rotated files). *.key files (the CA key) and state/secrets/ are included only with "
   "\\fB\\-\\-include\\-secrets\\fR; stored secret values stay encrypted with the host key when they were sealed."], []),
 "restore": ("restore a cage from a backup",
  ["Verifies the manifest, every tar header checksum and the gzip CRC before anything is changed; a corrupt or foreign "
   "archive is refused with the reason. Refuses to replace an existing cage (a state directory or any live object) "
   "without \\fB\\-\\-force\\fR; with it, a running cage is taken down first. Then brings the cage up unless "
   "\\fB\\-\\-no\\-start\\fR."], []),
 "stats": ("counters of a cage",
  ["The per-reason counters of the cage's pinned BPF stats map, plus the metrics the daemons publish in "
   "\\fI<run_dir>/DAEMON.metrics\\fR. \\fB\\-\\-json\\fR keeps the counters as top-level keys and puts daemon metrics "
   "under \\fBdaemons\\fR. \\fB\\-\\-prometheus\\fR prints cagectl_kernel_events_total{cage,reason} and "
   "cagectl_DAEMON_METRIC{cage}."], []),
 "validate": ("check cage.yaml files",
  ["Loads each file exactly as \\fBup\\fR does. Errors are file:line:column: key: message; agentcage keys that cannot apply "
   "on this backend give one warning each."], []),
 "doctor": ("check the machine", ["Kernel program types, BTF, cgroup v2, nftables, capabilities."], []),
 "version": ("print the version", [""], []),
}

EXIT = (".SH EXIT STATUS\n0 on success, 1 when the operation failed, 2 on a usage error.\n"
        "Under \\fB\\-\\-json\\fR errors are printed as {\"error\": \"...\"} on stdout.\n")


def esc(line):
    line = line.replace("\\", "\\e")
    if line.startswith(".") or line.startswith("'"):
        line = "\\&" + line
    return line


def page(name, text, summary, paras):
    title = "cagectl-" + name if name != "cagectl" else "cagectl"
    out = ['.\\" SPDX-License-Identifier: GPL-2.0-only',
           '.TH %s 8 "%s" "cagectl" "System Administration"' % (title.upper(), DATE),
           ".SH NAME", "%s \\- %s" % (title, summary), ".SH SYNOPSIS",
           '.\\" BEGIN HELP: `cagectl %s --help`, kept identical by tests/integration/cli_help.sh' % name,
           ".nf"]
    out += [esc(l) for l in text.rstrip("\n").split("\n")]
    out += [".fi", '.\\" END HELP', ".SH DESCRIPTION"]
    for p in paras:
        if p:
            out += [".PP", p]
    return "\n".join(out) + "\n" + EXIT + ".SH SEE ALSO\n\\fBcagectl\\fR(8), docs/cli.md\n"


def main():
    cagectl = sys.argv[1]
    for name, (summary, paras, _) in PAGES.items():
        text = subprocess.run([cagectl, name, "--help"], capture_output=True, text=True, check=True).stdout
        open(os.path.join(TOP, "tests/cli/help", name + ".txt"), "w").write(text)
        open(os.path.join(TOP, "docs/man", "cagectl-%s.8" % name), "w").write(page(name, text, summary, paras))
    text = subprocess.run([cagectl, "--help"], capture_output=True, text=True, check=True).stdout
    open(os.path.join(TOP, "tests/cli/help", "cagectl.txt"), "w").write(text)
    paras = ["cagectl cages the network egress of AI coding agents in the Linux kernel: each cage is a cgroup v2 and a "
             "network namespace; eBPF cgroup programs and nftables pin every packet to a per-cage inspecting TLS proxy "
             "(cage-proxy) and an allowlist DNS resolver (cage-dns).",
             "Commands may be abbreviated to a unique prefix, bpftool style. Every command that shows something takes "
             "\\fB\\-\\-json\\fR. \\fBcagectl COMMAND \\-\\-help\\fR prints a command's usage; each command has its own page, "
             "\\fBcagectl\\-COMMAND\\fR(8).",
             ".SH ENVIRONMENT\n.TP\n\\fBCAGECTL_STATE_DIR\\fR\nstate root (/var/lib/cagectl): config copies, CA, secrets\n"
             ".TP\n\\fBCAGECTL_RUN_DIR\\fR\nrun root (/run/cagectl): state files, pid files\n"
             ".TP\n\\fBCAGECTL_LOG_DIR\\fR\nlog root (/var/log/cagectl): audit.jsonl, capture.jsonl, daemon logs\n"
             ".TP\n\\fBXDG_CONFIG_HOME\\fR\nuser scaffolds live in $XDG_CONFIG_HOME/cagectl/scaffolds (~/.config/...)"]
    body = page("cagectl", text, "cage the network egress of AI coding agents", paras)
    body = body.replace("\\fBcagectl\\fR(8), docs/cli.md", ", ".join(
        "\\fBcagectl\\-%s\\fR(8)" % n for n in PAGES) + ", docs/cli.md, docs/cage-yaml.md")
    open(os.path.join(TOP, "docs/man", "cagectl.8"), "w").write(body)


if __name__ == "__main__":
    main()
