// SPDX-License-Identifier: GPL-2.0-only
/*
 * The usage text of every command, in one place: `cagectl CMD --help` prints it, the golden
 * files in tests/cli/help/ hold it, and each man page in docs/man/ carries it verbatim.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/log.h"

struct usage {
	const char *cmd;
	const char *text;
};

static const struct usage usages[] = {
	{ "up",
	  "Usage: cagectl up CAGE.YAML [--foreground]\n"
	  "       cagectl up -c CAGE.YAML [--foreground]\n"
	  "Create a cage from CAGE.YAML and start its monitor (alias: create).\n"
	  "  -f, --foreground   keep the monitor in the foreground (for systemd)\n"
	  "  --json             print {\"name\",\"state\"}\n" },
	{ "down",
	  "Usage: cagectl down NAME...\n"
	  "Remove a cage: processes, BPF pins, nft tables, netns, cgroup. Logs, audit\n"
	  "and the state directory stay. Idempotent (aliases: destroy, rm, delete).\n"
	  "  --json             one {\"name\",\"state\"} line per cage\n" },
	{ "start",
	  "Usage: cagectl start NAME\n"
	  "Start the cage's daemons (proxy, resolver). Enforcement is never touched.\n"
	  "  --json             print {\"name\",\"action\",\"monitor_pid\"}\n" },
	{ "stop",
	  "Usage: cagectl stop NAME\n"
	  "Stop the cage's daemons and keep enforcement: the workload stays caged and\n"
	  "loses network egress until 'cagectl start'.\n"
	  "  --json             print {\"name\",\"action\",\"monitor_pid\"}\n" },
	{ "restart",
	  "Usage: cagectl restart NAME\n"
	  "Stop, then start the cage's daemons (alias: reload).\n"
	  "  --json             print {\"name\",\"action\",\"monitor_pid\"}\n" },
	{ "update",
	  "Usage: cagectl update NAME -c CAGE.YAML [--dry-run]\n"
	  "Validate CAGE.YAML, make it the cage's config and tell the monitor to reload.\n"
	  "Changes to name, network pools, ports, ipv6 and user need 'down' and 'up';\n"
	  "they are listed.\n"
	  "  --dry-run          only list what would change\n"
	  "  --json             print {\"name\",\"applied\",\"changed\",\"needs_restart\",\n"
	  "                     \"needs_daemon_restart\"}\n" },
	{ "status",
	  "Usage: cagectl status [NAME] [--json]\n"
	  "Layers, monitor, addresses and counters of one cage or of every cage.\n"
	  "Exits 1 when a cage is degraded.\n" },
	{ "list",
	  "Usage: cagectl list [--json]\n"
	  "Every cage with its state, address and process count (aliases: ls, ps).\n" },
	{ "show",
	  "Usage: cagectl show NAME [--json]\n"
	  "Config summary, addresses, domains, secrets, pinned maps, daemon pids and\n"
	  "counters of one cage (aliases: describe, inspect).\n" },
	{ "prune",
	  "Usage: cagectl prune [--dry-run] [--json]\n"
	  "Remove every ephemeral cage (ephemeral: true) that has no process left.\n"
	  "  --dry-run          only list what would be removed\n" },
	{ "exec",
	  "Usage: cagectl exec NAME [--] CMD [ARG...]\n"
	  "       cagectl exec NAME ALIAS [ARG...]\n"
	  "Run CMD inside the cage as its unprivileged user. ALIAS is a key of the\n"
	  "config's exec_aliases; its command line runs under /bin/sh -c.\n"
	  "Exits with the command's status.\n" },
	{ "shell",
	  "Usage: cagectl shell NAME\n"
	  "An interactive shell inside the cage (bash if present, else sh).\n" },
	{ "run",
	  "Usage: cagectl run SCAFFOLD [--project DIR] [--name NAME] [-s KEY[=VALUE]]...\n"
	  "                   [--keep] [-- CMD [ARG...]]\n"
	  "One-shot cage: write a cage.yaml from SCAFFOLD with DIR (default: the current\n"
	  "directory) mounted at the same path, bring it up, open an interactive shell\n"
	  "(or CMD) in DIR, and take the cage down on exit. The audit log is kept.\n"
	  "  --project DIR      the project directory to mount read-write\n"
	  "  --name NAME        cage name (default: SCAFFOLD-ADJECTIVE-NOUN)\n"
	  "  -s KEY             set secret KEY from the environment variable KEY\n"
	  "  -s KEY=VALUE       set secret KEY to VALUE (visible in ps; prefer -s KEY)\n"
	  "  --keep             leave the cage up on exit\n" },
	{ "init",
	  "Usage: cagectl init [NAME] [--scaffold SCAFFOLD] [-o FILE] [--force]\n"
	  "       cagectl init --list-scaffolds [--json]\n"
	  "Write a commented cage.yaml (default ./cage.yaml) from a scaffold:\n"
	  "claude-code, codex, generic (default) or a user scaffold.\n"
	  "  -o FILE            write FILE instead of ./cage.yaml; - for stdout\n"
	  "  --force            overwrite an existing file\n" },
	{ "scaffold",
	  "Usage: cagectl scaffold list [--json]\n"
	  "       cagectl scaffold show SCAFFOLD\n"
	  "       cagectl scaffold create NAME [--from SCAFFOLD | -c CAGE.YAML] [--force]\n"
	  "       cagectl scaffold export SCAFFOLD [-o FILE]\n"
	  "Built-in scaffolds and user scaffolds in ~/.config/cagectl/scaffolds\n"
	  "($XDG_CONFIG_HOME/cagectl/scaffolds). A user scaffold is a cage.yaml whose\n"
	  "name is replaced on use; it must pass 'cagectl validate'.\n" },
	{ "verify",
	  "Usage: cagectl verify NAME [--no-probes] [--json]\n"
	  "Check every layer of a running cage (cgroup, netns, BPF links and pins, nft\n"
	  "tables, monitor and daemons), then probe from inside the cage: an unlisted\n"
	  "HTTPS host gets 403, a denied DNS name gets NXDOMAIN, a raw TCP connect to a\n"
	  "denied port gets EPERM, for IPv4 and IPv6. Prints [PASS]/[FAIL] lines and\n"
	  "'N passed, N failed'; exits 1 when anything failed.\n"
	  "  --no-probes        only check the layers\n" },
	{ "domain",
	  "Usage: cagectl domain list NAME [--json]\n"
	  "       cagectl domain add NAME DOMAIN... [--passthrough] [--block]\n"
	  "                          [--expires-in DURATION]\n"
	  "       cagectl domain rm NAME DOMAIN... [--passthrough] [--block]\n"
	  "Edit the domains of a cage's config copy and tell the monitor to reload; the\n"
	  "proxy and resolver pick the change up without dropping connections.\n"
	  "DURATION is a number with s, m, h, d or w (30m, 2h, 1d, 1h30m); an expired\n"
	  "entry stops matching within a minute.\n" },
	{ "audit",
	  "Usage: cagectl audit NAME [-d DECISION]... [--host HOST] [--inspector NAME]\n"
	  "                     [--severity LEVEL] [--layer kernel|dns|proxy]\n"
	  "                     [--since DURATION|TIME] [-n N] [-f] [--summary] [--json]\n"
	  "The cage's audit records, oldest first.\n"
	  "  -d, --decision D   only records with decision D (repeatable)\n"
	  "  --host HOST        only records for HOST or its subdomains\n"
	  "  --inspector NAME   only records from inspector NAME\n"
	  "  --severity LEVEL   at least LEVEL: debug, info, warning, error, critical\n"
	  "  --layer LAYER      only records of one layer\n"
	  "  --since WHEN       30m, 2h, 1d or an RFC 3339 time\n"
	  "  -n N               only the last N matching records\n"
	  "  -f, --follow       keep printing new records\n"
	  "  --summary          counts by decision, host, reason and layer\n" },
	{ "har",
	  "Usage: cagectl har NAME [-o FILE]\n"
	  "Write the cage's HTTP capture (capture.enable: true) as HAR 1.2 to FILE or\n"
	  "stdout. Bodies are truncated at capture.max_body_size; secrets appear as\n"
	  "their placeholders only.\n" },
	{ "logs",
	  "Usage: cagectl logs NAME [-s proxy|dns|monitor] [-f] [-n N] [--since WHEN] [--json]\n"
	  "The log of a cage's monitor, cage-proxy and cage-dns (monitor.log), the\n"
	  "rotated file first; each line starts with its UTC time and program.\n"
	  "  -s, --service S    only that program's lines (repeatable)\n"
	  "  -f, --follow       keep printing new lines\n"
	  "  -n N               only the last N lines\n"
	  "  --since WHEN       30m, 2h, 1d or an RFC 3339 time\n" },
	{ "backup",
	  "Usage: cagectl backup NAME [-o FILE] [--include-secrets]\n"
	  "Write a tar.gz (default NAME-YYYYmmdd-HHMMSS.tar.gz) with a manifest, the\n"
	  "config, the CA certificate, the capture and the audit log.\n"
	  "  --include-secrets  also the CA key and stored secrets\n" },
	{ "restore",
	  "Usage: cagectl restore FILE [--name NEW] [--no-start] [--force]\n"
	  "Restore a backup and bring the cage up.\n"
	  "  --name NEW         restore under another name\n"
	  "  --no-start         only restore the files\n"
	  "  --force            replace an existing cage of that name\n" },
	{ "stats",
	  "Usage: cagectl stats NAME [--json | --prometheus]\n"
	  "The cage's pinned per-reason counters and the daemons' metrics.\n"
	  "  --prometheus       Prometheus text exposition format\n" },
	{ "validate",
	  "Usage: cagectl validate CAGE.YAML... [--json]\n"
	  "Check configs exactly as 'up' loads them; errors name file:line:column and\n"
	  "key; agentcage keys that cannot apply get one warning each.\n" },
	{ "doctor",
	  "Usage: cagectl doctor [--json]\n"
	  "Check this machine for everything cagectl needs.\n" },
	{ "version",
	  "Usage: cagectl version [--json]\n" },
	{ NULL, NULL },
};

const char *cli_usage(const char *cmd)
{
	for (const struct usage *u = usages; u->cmd; u++)
		if (!strcmp(u->cmd, cmd))
			return u->text;
	return NULL;
}

int cli_print_usage(const char *cmd)
{
	const char *t = cli_usage(cmd);

	if (!t)
		return 1;
	fputs(t, stdout);
	return 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	const char *t = cli_usage(cmd);
	char msg[512];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = t ? strcspn(t, "\n") : 0;
	/* The first usage line without "Usage: " keeps the message short and greppable. */
	if (t && n > 7)
		p_err("%s: %s; usage: %.*s", cmd, msg, (int)(n - 7), t + 7);
	else
		p_err("%s: %s", cmd, msg);
	return EXIT_USAGE;
}
