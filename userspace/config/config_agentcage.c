// SPDX-License-Identifier: GPL-2.0-only
/*
 * agentcage's cage.yaml keys: `container:`, `lifecycle:` and `vm:`. Keys with a cagectl meaning
 * fill the same fields as cagectl's own keys; keys that cannot apply here warn once each.
 */
#include <string.h>

#include "config/config_internal.h"

static int parse_drop_capabilities(struct loader *ld, const struct ynode *v, void *ctx)
{
	struct cage_strv caps = { 0 };
	bool all = false;
	int err = cfg_string_list(ld, v, &caps);

	for (size_t i = 0; !err && i < caps.n; i++)
		all |= strcmp(caps.v[i], "ALL") == 0 || strcmp(caps.v[i], "all") == 0;
	strv_free(&caps);
	if (!err && !all)
		cfg_warn(ld, v, "cagectl drops every capability, not only the listed ones");
	return err;
}

static int parse_add_capabilities(struct loader *ld, const struct ynode *v, void *ctx)
{
	struct cage_strv caps = { 0 };
	int err = cfg_string_list(ld, v, &caps);

	if (!err && caps.n)
		cfg_warn(ld, v, "cagectl grants the workload no capabilities; ignored");
	strv_free(&caps);
	return err;
}

static int parse_no_new_privileges(struct loader *ld, const struct ynode *v, void *ctx)
{
	bool on;
	int err = cfg_bool(ld, v, &on);

	if (!err && !on)
		cfg_warn(ld, v, "cagectl always sets NoNewPrivs; ignored");
	return err;
}

int cfg_parse_container(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = {
		{ "command", cfg_parse_command, NULL },
		{ "user", cfg_parse_user, NULL },
		{ "env", cfg_parse_env, NULL },
		{ "volumes", cfg_parse_mounts, NULL },
		{ "memory", cfg_parse_memory, NULL },
		{ "cpus", cfg_parse_cpus, NULL },
		{ "workdir", cfg_parse_workdir, NULL },
		{ "drop_capabilities", parse_drop_capabilities, NULL },
		{ "add_capabilities", parse_add_capabilities, NULL },
		{ "no_new_privileges", parse_no_new_privileges, NULL },
		{ "image", NULL, "agentcage key: cagectl runs host programs in the cage, not an OCI "
				 "image; ignored" },
		{ "read_only", NULL, "agentcage key: cagectl does not remount the root filesystem "
				     "read-only; use mounts with :ro; ignored" },
		{ "named_volumes", NULL, "agentcage key: podman named volumes do not exist in cagectl; "
					 "use mounts; ignored" },
		{ "tmpfs", NULL, "agentcage key: tmpfs mounts are not supported yet; ignored" },
		{ "ports", NULL, "agentcage key: inbound port publishing does not exist in cagectl; "
				 "ignored" },
		{ "nested_containers", NULL, "agentcage key: nested podman does not apply to cagectl; "
					     "ignored" },
		{ "restart", NULL, "agentcage key: use the cagectl@.service unit for restarts; "
				   "ignored" },
		{ "restart_sec", NULL, "agentcage key: use the cagectl@.service unit for restarts; "
				       "ignored" },
		{ "podman_secrets", NULL, "agentcage key: podman secrets do not exist in cagectl; bind "
					  "secrets under 'secrets:' and set them with 'cagectl "
					  "secret set'; ignored" },
	};

	return cfg_walk_map(ld, v, keys, sizeof(keys) / sizeof(keys[0]), NULL);
}

/* service | interactive | ephemeral: only ephemeral has a cagectl meaning. */
int cfg_parse_lifecycle(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const char *const names[] = { "service", "interactive", "ephemeral" };
	int mode;
	int err = cfg_enum(ld, v, names, 3, &mode);

	if (err)
		return err;
	if (mode == 2)
		return cfg_claim(ld, FIELD_EPHEMERAL, v) ?: (ld->cfg->ephemeral = true, 0);
	cfg_warn(ld, v, "agentcage lifecycle '%s' does not apply: cages stay up until 'cagectl "
		 "down'; use the cagectl@.service unit for a managed service", names[mode]);
	return 0;
}

static int parse_vcpus(struct loader *ld, const struct ynode *v, void *ctx)
{
	uint64_t vcpus;

	return cfg_claim(ld, FIELD_CPUS, v) ?: cfg_uint(ld, v, 1, 1024, &vcpus) ?:
	       (ld->cfg->cpus_milli = (uint32_t)(vcpus * 1000), 0);
}

static int parse_mem_mb(struct loader *ld, const struct ynode *v, void *ctx)
{
	uint64_t mb;

	return cfg_claim(ld, FIELD_MEMORY, v) ?: cfg_uint(ld, v, 1, 1ull << 30, &mb) ?:
	       (ld->cfg->memory_max = mb << 20, 0);
}

/* Lima VM sizing in agentcage; here it sizes the cage's cgroup limits, which is what it meant. */
int cfg_parse_vm(struct loader *ld, const struct ynode *v, void *ctx)
{
	static const struct key_spec keys[] = {
		{ "vcpus", parse_vcpus, NULL },
		{ "mem_mb", parse_mem_mb, NULL },
	};

	return cfg_walk_map(ld, v, keys, 2, NULL);
}
