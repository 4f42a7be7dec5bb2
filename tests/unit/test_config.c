// SPDX-License-Identifier: GPL-2.0-only
/*
 * cage.yaml loader: a full config field by field, the defaults, an agentcage file with its
 * warnings, and every malformed file in tests/config/bad/ with its exact diagnostic.
 * Runs from the repository root (tests/run does).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "config/config.h"

struct warnings {
	char lines[32][512];
	size_t n;
};

static void collect_warning(const struct cage_config_diag *diag, void *arg)
{
	struct warnings *w = arg;

	if (w->n < 32)
		cage_config_diag_format(diag, w->lines[w->n], sizeof(w->lines[0]));
	w->n++;
}

static struct cage_config_file *load_ok(const char *path, struct warnings *w)
{
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;
	char line[1024] = "";
	int err = cage_config_load(path, &cfg, &diag, collect_warning, w);

	if (err) {
		cage_config_diag_format(&diag, line, sizeof(line));
		print_error("%s\n", line);
	}
	assert_int_equal(err, 0);
	assert_non_null(cfg);
	return cfg;
}

static struct cage_config_file *parse_ok(const char *text, struct warnings *w)
{
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;
	char line[1024] = "";
	int err = cage_config_parse("mem.yaml", text, strlen(text), &cfg, &diag, collect_warning, w);

	if (err) {
		cage_config_diag_format(&diag, line, sizeof(line));
		print_error("%s\n", line);
	}
	assert_int_equal(err, 0);
	return cfg;
}

static void parse_fails(const char *text, const char *expected)
{
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;
	char line[1024];

	assert_int_equal(cage_config_parse("mem.yaml", text, strlen(text), &cfg, &diag, NULL, NULL),
			 -EINVAL);
	assert_null(cfg);
	cage_config_diag_format(&diag, line, sizeof(line));
	assert_string_equal(line, expected);
}

static void assert_ports(const struct cage_port_list *list, const uint16_t *want, size_t n)
{
	assert_int_equal(list->n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(list->v[i], want[i]);
}

static void test_full_config(void **state)
{
	struct warnings w = { 0 };
	struct cage_config_file *cfg = load_ok("tests/config/good/full.yaml", &w);
	int64_t now = (int64_t)time(NULL);

	assert_int_equal(w.n, 0);
	assert_string_equal(cfg->path, "tests/config/good/full.yaml");
	assert_string_equal(cfg->name, "full-cage");
	assert_int_equal(cfg->isolation, ISOLATION_LINUX);
	assert_true(cfg->ephemeral);
	assert_int_equal(cfg->uid, 1001);
	assert_int_equal(cfg->gid, 1002);
	assert_int_equal(cfg->command.n, 3);
	assert_string_equal(cfg->command.v[0], "python3");
	assert_string_equal(cfg->command.v[2], "http.server");
	assert_string_equal(cfg->workdir, "/workspace");

	assert_int_equal(cfg->n_env, 3);
	assert_string_equal(cfg->env[0].name, "NODE_ENV");
	assert_string_equal(cfg->env[0].value, "development");
	assert_string_equal(cfg->env[1].value, "3");
	assert_string_equal(cfg->env[2].name, "EMPTY");
	assert_string_equal(cfg->env[2].value, "");

	assert_int_equal(cfg->n_mounts, 3);
	assert_string_equal(cfg->mounts[0].source, "/srv/project");
	assert_string_equal(cfg->mounts[0].target, "/workspace");
	assert_false(cfg->mounts[0].read_only);
	assert_true(cfg->mounts[1].read_only);
	assert_string_equal(cfg->mounts[2].source, "/opt/tools");
	assert_string_equal(cfg->mounts[2].target, "/tools");
	assert_true(cfg->mounts[2].read_only);

	assert_int_equal(cfg->n_exec_aliases, 2);
	assert_string_equal(cfg->exec_aliases[0].name, "claude");
	assert_string_equal(cfg->exec_aliases[0].value, "claude --print");
	assert_string_equal(cfg->exec_aliases[1].value, "npm test -- 'a b'");

	assert_int_equal(cfg->allow.n, 4);
	assert_string_equal(cfg->allow.v[0].pattern, "api.example.com");
	assert_int_equal(cfg->allow.v[0].expires_at, 0);
	assert_string_equal(cfg->allow.v[1].pattern, "*.wild.allowed.test");
	assert_string_equal(cfg->allow.v[2].pattern, "temp.example.org");
	assert_int_equal(cfg->allow.v[2].expires_at, 1796083200);  /* 2026-12-01T00:00:00Z */
	assert_string_equal(cfg->allow.v[3].pattern, "short.example.org");
	assert_in_range(cfg->allow.v[3].expires_at, now + 1800 - 5, now + 1800 + 5);
	assert_int_equal(cfg->block.n, 1);
	assert_string_equal(cfg->block.v[0].pattern, "evil.example.com");
	assert_int_equal(cfg->passthrough.n, 1);
	assert_string_equal(cfg->passthrough.v[0].pattern, "pinned.example.net");

	assert_ports(&cfg->tcp_inspect, (const uint16_t[]){ 80, 443, 8443 }, 3);
	assert_ports(&cfg->tcp_passthrough, (const uint16_t[]){ 5432 }, 1);
	assert_ports(&cfg->udp, (const uint16_t[]){ 123 }, 1);
	assert_true(cfg->icmp);
	assert_false(cfg->ipv6);
	assert_string_equal(cfg->pool4, "10.77.0.0/16");
	assert_string_equal(cfg->pool6, "fd00:77::/48");

	assert_int_equal(cfg->dns_upstream.n, 2);
	assert_string_equal(cfg->dns_upstream.v[0], "192.0.2.53");
	assert_string_equal(cfg->dns_upstream.v[1], "2001:db8::53");
	assert_int_equal(cfg->dns_deny, DNS_DENY_SINKHOLE);
	assert_string_equal(cfg->dns_sinkhole4, "192.0.2.1");
	assert_string_equal(cfg->dns_sinkhole6, "2001:db8::1");
	assert_true(cfg->dns_log_allowed);
	assert_int_equal(cfg->dns_rate_limit, 50);
	assert_int_equal(cfg->dns_label_max, 40);

	assert_int_equal(cfg->n_secrets, 2);
	assert_string_equal(cfg->secrets[0].name, "GITHUB_TOKEN");
	assert_int_equal(cfg->secrets[0].inject_to.n, 2);
	assert_string_equal(cfg->secrets[0].inject_to.v[0], "api.github.com");
	assert_string_equal(cfg->secrets[0].inject_to.v[1], "*.githubusercontent.com");
	assert_int_equal(cfg->secrets[0].inject_headers.n, 1);
	assert_string_equal(cfg->secrets[0].inject_headers.v[0], "X-Custom-Auth");
	assert_true(cfg->secrets[0].inject_body);
	assert_string_equal(cfg->secrets[0].placeholder, "ghp_placeholder0000000000000000000000000");
	assert_string_equal(cfg->secrets[1].name, "ANTHROPIC_API_KEY");
	assert_false(cfg->secrets[1].inject_body);
	assert_null(cfg->secrets[1].placeholder);
	assert_int_equal(cfg->secrets[1].inject_headers.n, 0);

	assert_int_equal(cfg->n_inspectors, 3);
	assert_string_equal(cfg->inspectors[0].name, "secrets");
	assert_true(cfg->inspectors[0].enabled);
	assert_null(cfg->inspectors[0].config_yaml);
	assert_string_equal(cfg->inspectors[1].name, "entropy");
	assert_false(cfg->inspectors[1].enabled);
	assert_non_null(cfg->inspectors[1].config_yaml);
	assert_non_null(strstr(cfg->inspectors[1].config_yaml, "threshold: 7.5"));
	assert_non_null(strstr(cfg->inspectors[1].config_yaml, "'80'"));  /* still a string */
	assert_string_equal(cfg->inspectors[2].name, "content_type");

	assert_int_equal(cfg->log_level, SEVERITY_DEBUG);
	assert_int_equal(cfg->log_max_bytes, 16ull << 20);
	assert_true(cfg->capture);
	assert_int_equal(cfg->capture_max_body, 128ull << 10);
	assert_int_equal(cfg->memory_max, 512ull << 20);
	assert_int_equal(cfg->pids_max, 256);
	assert_int_equal(cfg->cpus_milli, 1500);
	assert_int_equal(cfg->proxy_port, 15002);
	assert_int_equal(cfg->explicit_port, 3129);
	assert_int_equal(cfg->proxy_idle_exit, 600);
	cage_config_free(cfg);
}

/* The inspector config text parses back to itself: it is what the inspector will read. */
static void test_inspector_config_round_trip(void **state)
{
	struct warnings w = { 0 };
	struct cage_config_file *cfg = load_ok("tests/config/good/full.yaml", &w), *again;
	const char *yaml = cfg->inspectors[1].config_yaml;
	char doc[1024] = "name: again\nentropy:\n";
	size_t used = strlen(doc);

	for (const char *p = yaml; *p; p++) {
		if (p == yaml || p[-1] == '\n')
			used += (size_t)snprintf(doc + used, sizeof(doc) - used, "  ");
		doc[used++] = *p;
	}
	doc[used] = '\0';
	again = parse_ok(doc, &w);
	assert_string_equal(again->inspectors[0].name, "entropy");
	assert_string_equal(again->inspectors[0].config_yaml, yaml);
	cage_config_free(again);
	cage_config_free(cfg);
}

static void test_defaults(void **state)
{
	struct warnings w = { 0 };
	struct cage_config_file *cfg = parse_ok("name: d\n", &w);

	assert_int_equal(w.n, 0);
	assert_string_equal(cfg->name, "d");
	assert_int_equal(cfg->isolation, ISOLATION_AUTO);
	assert_false(cfg->ephemeral);
	assert_int_equal(cfg->uid, 1000);
	assert_int_equal(cfg->gid, 1000);
	assert_int_equal(cfg->command.n, 0);
	assert_null(cfg->workdir);
	assert_int_equal(cfg->n_env, 0);
	assert_int_equal(cfg->n_mounts, 0);
	assert_int_equal(cfg->allow.n, 0);
	assert_ports(&cfg->tcp_inspect, (const uint16_t[]){ 80, 443 }, 2);
	assert_int_equal(cfg->tcp_passthrough.n, 0);
	assert_int_equal(cfg->udp.n, 0);
	assert_false(cfg->icmp);
	assert_true(cfg->ipv6);
	assert_null(cfg->pool4);
	assert_null(cfg->pool6);
	assert_int_equal(cfg->dns_upstream.n, 0);
	assert_int_equal(cfg->dns_deny, DNS_DENY_NXDOMAIN);
	assert_false(cfg->dns_log_allowed);
	assert_int_equal(cfg->dns_rate_limit, 200);
	assert_int_equal(cfg->dns_label_max, 63);
	assert_int_equal(cfg->n_secrets, 0);
	assert_int_equal(cfg->n_inspectors, 0);
	assert_int_equal(cfg->log_level, SEVERITY_INFO);
	assert_int_equal(cfg->log_max_bytes, 64ull << 20);
	assert_false(cfg->capture);
	assert_int_equal(cfg->capture_max_body, 64ull << 10);
	assert_int_equal(cfg->memory_max, 0);
	assert_int_equal(cfg->pids_max, 0);
	assert_int_equal(cfg->cpus_milli, 0);
	assert_int_equal(cfg->proxy_port, 15001);
	assert_int_equal(cfg->explicit_port, 3128);
	assert_int_equal(cfg->proxy_idle_exit, 300);
	cage_config_free(cfg);
}

static void test_agentcage_file(void **state)
{
	static const char *const expected_warnings[] = {
		"tests/config/good/agentcage.yaml:5:1: scaffold: agentcage key: scaffolds are chosen "
		"with 'cagectl init --scaffold'; ignored",
		"tests/config/good/agentcage.yaml:10:3: container.image: agentcage key: cagectl runs "
		"host programs in the cage, not an OCI image; ignored",
		"tests/config/good/agentcage.yaml:13:3: container.read_only: agentcage key: cagectl "
		"does not remount the root filesystem read-only; use mounts with :ro; ignored",
		"tests/config/good/agentcage.yaml:22:3: container.podman_secrets: agentcage key: "
		"podman secrets do not exist in cagectl; bind secrets under 'secrets:' and set them "
		"with 'cagectl secret set'; ignored",
		"tests/config/good/agentcage.yaml:43:3: secrets.backend: agentcage key: cagectl keeps "
		"secrets in its own store; ignored",
		"tests/config/good/agentcage.yaml:52:5: secret_injection[1].source: agentcage key: "
		"cagectl reads secret values from its own store ('cagectl secret set'); ignored",
		"tests/config/good/agentcage.yaml:51:5: secret_injection[1]: no inject_to: agentcage "
		"injects such a secret everywhere, cagectl injects it nowhere; list the domains",
		"tests/config/good/agentcage.yaml:58:3: logging.allowed_requests: agentcage key: "
		"cagectl logs allowed requests in the audit log; ignored",
		"tests/config/good/agentcage.yaml:62:1: agents: agentcage key: the LLM decider and "
		"watcher do not exist in cagectl; ignored",
	};
	struct warnings w = { 0 };
	struct cage_config_file *cfg = load_ok("tests/config/good/agentcage.yaml", &w);

	assert_int_equal(w.n, sizeof(expected_warnings) / sizeof(expected_warnings[0]));
	for (size_t i = 0; i < w.n; i++)
		assert_string_equal(w.lines[i], expected_warnings[i]);

	assert_string_equal(cfg->name, "my-agent");
	assert_int_equal(cfg->isolation, ISOLATION_LINUX);
	assert_true(cfg->ephemeral);
	assert_int_equal(cfg->dns_upstream.n, 1);
	assert_string_equal(cfg->dns_upstream.v[0], "1.1.1.1");
	assert_string_equal(cfg->exec_aliases[0].value, "claude --print");
	assert_int_equal(cfg->command.n, 1);
	assert_string_equal(cfg->command.v[0], "bash");
	assert_int_equal(cfg->uid, 1000);
	assert_int_equal(cfg->memory_max, 4ull << 30);
	assert_int_equal(cfg->cpus_milli, 2000);
	assert_int_equal(cfg->n_mounts, 1);
	assert_false(cfg->mounts[0].read_only);
	assert_string_equal(cfg->env[0].name, "NODE_ENV");
	assert_int_equal(cfg->allow.n, 3);
	assert_int_equal(cfg->allow.v[2].expires_at, 1788890400);  /* 2026-09-08T18:00:00Z */
	assert_string_equal(cfg->passthrough.v[0].pattern, "whatsapp.com");
	assert_ports(&cfg->tcp_inspect, (const uint16_t[]){ 80, 443 }, 2);
	assert_ports(&cfg->tcp_passthrough, (const uint16_t[]){ 5432 }, 1);
	assert_ports(&cfg->udp, (const uint16_t[]){ 123 }, 1);
	assert_false(cfg->icmp);
	assert_int_equal(cfg->n_secrets, 2);
	assert_string_equal(cfg->secrets[0].name, "ANTHROPIC_API_KEY");
	assert_null(cfg->secrets[0].placeholder);
	assert_string_equal(cfg->secrets[0].inject_to.v[0], "api.anthropic.com");
	assert_string_equal(cfg->secrets[1].name, "SUPPORT_EMAIL");
	assert_int_equal(cfg->secrets[1].inject_to.n, 0);
	assert_int_equal(cfg->n_inspectors, 1);
	assert_string_equal(cfg->inspectors[0].name, "entropy");
	assert_string_equal(cfg->inspectors[0].config_yaml, "threshold: 7.0\n");
	assert_true(cfg->dns_log_allowed);
	assert_true(cfg->capture);
	assert_int_equal(cfg->capture_max_body, 1048576);
	cage_config_free(cfg);
}

/* Each malformed file and the exact line cagectl validate prints for it. */
static const struct {
	const char *file;
	const char *expected;
} bad_files[] = {
	{ "typo.yaml", "4:3: domains.alow: unknown key; did you mean 'allow'?" },
	{ "typo-top.yaml", "1:1: nmae: unknown key; did you mean 'name'?" },
	{ "agentcage-typo.yaml", "3:3: container.imagee: unknown key; did you mean 'image'?" },
	{ "unknown-key.yaml", "2:1: frobnicate: unknown key" },
	{ "port-zero.yaml", "4:15: ports.tcp.inspect[0]: port 0 is out of range 1-65535" },
	{ "port-too-big.yaml", "4:19: ports.tcp.inspect[1]: port 65536 is out of range 1-65535" },
	{ "port-word.yaml", "4:19: ports.tcp.passthrough[0]: expected a port number (1-65535), got "
			    "'http'" },
	{ "port-quoted.yaml", "3:9: ports.udp[0]: expected a port number (1-65535), got a quoted "
			      "string" },
	{ "port-overlap.yaml", "4:19: ports.tcp.inspect[1]: port 443 is both inspected and passed "
			       "through" },
	{ "inspect-and-allow.yaml", "5:12: ports.tcp.allow: give 'inspect' or agentcage's 'allow', "
				    "not both" },
	{ "duplicate-key.yaml", "3:1: name: duplicate key (first at line 1)" },
	{ "bad-duration.yaml", "5:19: domains.allow[0].expires_in: expected a duration such as 45s, "
			       "30m, 2h, 1d or 1h30m, got '30x'" },
	{ "bad-timestamp.yaml", "5:16: domains.allow[0].expires: timestamp '2026-13-01T00:00:00Z' is "
				"not a valid date and time" },
	{ "bad-size.yaml", "3:11: resources.memory: expected a size such as 512M, 64KiB or 1048576, "
			   "got '12Q'" },
	{ "cpus-zero.yaml", "3:9: resources.cpus: cpus must be more than 0 and at most 1024" },
	{ "bad-isolation.yaml", "2:12: isolation: unknown value 'docker'; expected one of: auto, "
				"linux, lima, apple-container, container, vm" },
	{ "bad-deny.yaml", "3:16: dns.deny_answer: unknown value 'drop'; expected one of: nxdomain, "
			   "refused, sinkhole" },
	{ "sinkhole-missing.yaml", "3:16: dns.deny_answer: sinkhole needs sinkhole4 or sinkhole6" },
	{ "syntax.yaml", "4:6: yaml syntax error: did not find expected ',' or ']' while parsing a "
			 "flow sequence that starts at 3:10" },
	{ "alias.yaml", "4:10: yaml aliases (*b) are not supported; write the value out" },
	{ "two-documents.yaml", "2:1: more than one yaml document; a cage.yaml holds exactly one" },
	{ "missing-name.yaml", "1:1: name: required key is missing" },
	{ "empty.yaml", "1:1: file is empty; a cage needs at least 'name:'" },
	{ "not-mapping.yaml", "1:1: expected a mapping of keys at the top level, got a list" },
	{ "bad-name.yaml", "1:7: name: must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, "
			   "digits and '-', at most 63)" },
	{ "domain-ip.yaml", "5:7: domains.allow[1]: IP addresses and CIDR ranges are not supported "
			    "(no CIDR support yet); list host names" },
	{ "domain-cidr.yaml", "3:11: domains.allow[0]: IP addresses and CIDR ranges are not "
			      "supported (no CIDR support yet); list host names" },
	{ "domain-wildcard.yaml", "3:11: domains.block[0]: '*' is only allowed as a leading '*.' "
				  "label" },
	{ "domain-empty-label.yaml", "3:11: domains.allow[0]: empty label (a leading dot or two "
				     "dots in a row)" },
	{ "domain-long-label.yaml", "3:11: domains.allow[0]: label longer than 63 characters" },
	{ "domain-unicode.yaml", "3:11: domains.allow[0]: non-ASCII domain names are not supported; "
				 "write the IDNA A-label (xn--...) form" },
	{ "wrong-type.yaml", "2:6: env: expected a mapping of NAME: value, got a list" },
	{ "quoted-bool.yaml", "2:7: ipv6: expected true or false, got a quoted string" },
	{ "command-twice.yaml", "4:12: container.command: already set by 'command' (line 2)" },
	{ "secret-name.yaml", "3:3: secrets.api-key: secret names are environment variable names "
			      "([A-Za-z_][A-Za-z0-9_]*)" },
	{ "inspector-typo.yaml", "3:11: inspectors[0].name: unknown inspector 'entrpy'; did you mean "
				 "'entropy'?" },
	{ "mount-relative.yaml", "3:5: mounts[0]: mount target must be an absolute path" },
	{ "missing.yaml", "cannot open: No such file or directory" },
};

static void test_bad_files(void **state)
{
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		struct cage_config_file *cfg = (struct cage_config_file *)0x1;  /* must stay untouched */
		struct cage_config_diag diag;
		char path[256], got[1024], want[1024];
		const char *sep = bad_files[i].expected[0] >= '0' && bad_files[i].expected[0] <= '9' ?
					  ":" : ": ";
		int err;

		snprintf(path, sizeof(path), "tests/config/bad/%s", bad_files[i].file);
		snprintf(want, sizeof(want), "%s%s%s", path, sep, bad_files[i].expected);
		err = cage_config_load(path, &cfg, &diag, NULL, NULL);
		cage_config_diag_format(&diag, got, sizeof(got));
		if (err == 0 || strcmp(got, want) != 0)
			print_error("%s\n  got:  %s\n  want: %s\n", path, got, want);
		assert_true(err < 0);
		assert_ptr_equal(cfg, (struct cage_config_file *)0x1);
		assert_string_equal(got, want);
	}
	assert_true(sizeof(bad_files) / sizeof(bad_files[0]) >= 20);
}

static void test_domain_canonical_forms(void **state)
{
	struct warnings w = { 0 };
	struct cage_config_file *cfg = parse_ok(
		"name: dom\ndomains:\n  allow:\n    - Example.COM.\n    - \"*.Foo.example\"\n"
		"    - under_score.example\n    - localhost\n    - xn--bcher-kva.example\n", &w);

	assert_string_equal(cfg->allow.v[0].pattern, "example.com");
	assert_string_equal(cfg->allow.v[1].pattern, "*.foo.example");
	assert_string_equal(cfg->allow.v[2].pattern, "under_score.example");
	assert_string_equal(cfg->allow.v[3].pattern, "localhost");
	assert_string_equal(cfg->allow.v[4].pattern, "xn--bcher-kva.example");
	cage_config_free(cfg);

	parse_fails("name: d\ndomains:\n  allow: [\"*\"]\n",
		    "mem.yaml:3:11: domains.allow[0]: '*' is only allowed as a leading '*.' label");
	parse_fails("name: d\ndomains:\n  allow: [\"*..\"]\n",
		    "mem.yaml:3:11: domains.allow[0]: '*.' needs a domain after it");
	parse_fails("name: d\ndomains:\n  allow: [\"*example.com\"]\n",
		    "mem.yaml:3:11: domains.allow[0]: '*' is only allowed as a leading '*.' label");
	parse_fails("name: d\ndomains:\n  allow: [\"[2001:db8::1]\"]\n",
		    "mem.yaml:3:11: domains.allow[0]: IP addresses and CIDR ranges are not supported "
		    "(no CIDR support yet); list host names");
	parse_fails("name: d\ndomains:\n  allow: [a.example, A.example.]\n",
		    "mem.yaml:3:22: domains.allow[1]: 'a.example' is listed twice");
	parse_fails("name: d\ndomains:\n  allow: [\"a b.example\"]\n",
		    "mem.yaml:3:11: domains.allow[0]: only letters, digits, '-', '_' and '.' are "
		    "allowed in a domain name");
}

static void test_long_domain(void **state)
{
	char text[600], label[64];
	size_t used;

	memset(label, 'a', 63);
	label[63] = '\0';
	used = (size_t)snprintf(text, sizeof(text), "name: d\ndomains:\n  allow: [%s.%s.%s.%s.x]\n",
				label, label, label, label);
	assert_true(used < sizeof(text));
	parse_fails(text, "mem.yaml:3:11: domains.allow[0]: domain longer than 253 characters");
}

static void test_name_valid(void **state)
{
	char longest[64], too_long[65];

	memset(longest, 'a', 63);
	longest[63] = '\0';
	memset(too_long, 'a', 64);
	too_long[64] = '\0';
	assert_true(cage_name_valid("lab"));
	assert_true(cage_name_valid("0-a"));
	assert_true(cage_name_valid(longest));
	assert_false(cage_name_valid(too_long));
	assert_false(cage_name_valid(""));
	assert_false(cage_name_valid("-a"));
	assert_false(cage_name_valid("A"));
	assert_false(cage_name_valid("a_b"));
	assert_false(cage_name_valid("a.b"));
	assert_false(cage_name_valid(NULL));
}

static void test_value_forms(void **state)
{
	struct warnings w = { 0 };
	struct cage_config_file *cfg = parse_ok(
		"name: forms\nuser: {uid: 2000}\ncommand: echo hi\nresources: {memory: 1G, cpus: 2}\n"
		"ports: {udp: {allow: [53]}, icmp: {allow: true}, tcp: {passthrough: [443]}}\n"
		"lifecycle: service\ndomains:\n  allow:\n    - domain: x.example\n"
		"      expires: 2026-01-01T01:00:00+01:00\n", &w);

	assert_int_equal(cfg->uid, 2000);
	assert_int_equal(cfg->gid, 2000);
	assert_int_equal(cfg->command.n, 3);
	assert_string_equal(cfg->command.v[0], "/bin/sh");
	assert_string_equal(cfg->command.v[2], "echo hi");
	assert_int_equal(cfg->memory_max, 1ull << 30);
	assert_int_equal(cfg->cpus_milli, 2000);
	assert_ports(&cfg->udp, (const uint16_t[]){ 53 }, 1);
	assert_true(cfg->icmp);
	/* 443 passed through, so the default inspected set keeps only 80 */
	assert_ports(&cfg->tcp_inspect, (const uint16_t[]){ 80 }, 1);
	assert_int_equal(cfg->allow.v[0].expires_at, 1767225600);  /* 2026-01-01T00:00:00Z */
	assert_int_equal(w.n, 2);  /* lifecycle: service, and the expiry in the past */
	cage_config_free(cfg);
}

static void test_parse_edge_cases(void **state)
{
	static const char with_nul[] = "name: a\0b\n";
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;
	char deep[400] = "name: d\nx: ";
	char line[1024];

	parse_fails("name: d\nenv:\n  PATH: \"a\\0b\"\n", "mem.yaml:3:9: env.PATH: contains a NUL byte");
	assert_int_equal(cage_config_parse("nul.yaml", with_nul, sizeof(with_nul) - 1, &cfg, &diag,
					   NULL, NULL), -EINVAL);
	assert_null(cfg);
	for (size_t i = 0; i < 100; i++)
		strcat(deep, "[");
	assert_int_equal(cage_config_parse("deep.yaml", deep, strlen(deep), &cfg, &diag, NULL, NULL),
			 -EINVAL);
	cage_config_diag_format(&diag, line, sizeof(line));
	assert_non_null(strstr(line, "nesting deeper than 64 levels"));
	parse_fails("name: d\n---\n", "mem.yaml:2:1: more than one yaml document; a cage.yaml holds "
		    "exactly one");
	parse_fails("---\n", "mem.yaml:2:1: file is empty; a cage needs at least 'name:'");
	parse_fails("name: d\nsecret_injection:\n  - env: A\n  - env: A\n",
		    "mem.yaml:4:10: secret_injection[1].env: secret A has two injection rules");
	parse_fails("name: d\nproxy: {port: 3128}\n",
		    "mem.yaml:2:8: proxy: port and explicit_port must differ (both 3128)");
	parse_fails("name: d\nproxy:\n  idle_exit: soon\n",
		    "mem.yaml:3:14: proxy.idle_exit: expected a duration such as 45s, 30m, 2h, 1d or "
		    "1h30m, got 'soon'");
	parse_fails("name: d\nproxy:\n  idle_exit: 8d\n",
		    "mem.yaml:3:14: proxy.idle_exit: idle_exit is at most 1w (or off), got '8d'");
	parse_fails("name: d\nproxy:\n  idle_exit: [1s]\n",
		    "mem.yaml:3:14: proxy.idle_exit: expected a duration such as 30m, got a list");
}

/* proxy.idle_exit: a duration, or off (false, 0) for a proxy that never exits on its own. */
static void test_proxy_idle_exit(void **state)
{
	static const char *const off[] = { "off", "false", "0" };
	struct warnings w = { 0 };
	struct cage_config_file *cfg;
	char text[64];

	(void)state;
	cfg = parse_ok("name: d\nproxy:\n  idle_exit: 1m30s\n", &w);
	assert_int_equal(cfg->proxy_idle_exit, 90);
	cage_config_free(cfg);
	for (size_t i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "name: d\nproxy:\n  idle_exit: %s\n", off[i]);
		cfg = parse_ok(text, &w);
		assert_int_equal(cfg->proxy_idle_exit, 0);
		cage_config_free(cfg);
	}
}

static void test_diag_format(void **state)
{
	struct cage_config_diag diag = { .file = "f.yaml", .line = 2, .column = 5, .key = "a.b",
					 .message = "bad" };
	char line[128];

	cage_config_diag_format(&diag, line, sizeof(line));
	assert_string_equal(line, "f.yaml:2:5: a.b: bad");
	diag.key[0] = '\0';
	cage_config_diag_format(&diag, line, sizeof(line));
	assert_string_equal(line, "f.yaml:2:5: bad");
	diag.line = 0;
	cage_config_diag_format(&diag, line, sizeof(line));
	assert_string_equal(line, "f.yaml: bad");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_inspector_config_round_trip),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_agentcage_file),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_domain_canonical_forms),
		cmocka_unit_test(test_long_domain),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_value_forms),
		cmocka_unit_test(test_parse_edge_cases),
		cmocka_unit_test(test_diag_format),
		cmocka_unit_test(test_proxy_idle_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
