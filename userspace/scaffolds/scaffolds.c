// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "scaffolds/scaffolds.h"
#include "scaffolds/yaml_edit.h"

struct builtin {
	const char *name;
	const char *description;
	const char *text;
};

#define COMMON_HEAD(what) \
	"# cage.yaml for " what ", written by `cagectl init`.\n" \
	"# Every key is documented in docs/cage-yaml.md; check changes with `cagectl validate`.\n" \
	"# The agent's traffic leaves only through the cage's proxy (HTTPS is inspected) and its\n" \
	"# resolver; anything not allowed below is refused and recorded (`cagectl audit NAME`).\n"

#define COMMON_TAIL \
	"# Only these TCP ports leave the cage, and only through the inspecting proxy.\n" \
	"ports:\n" \
	"  tcp:\n" \
	"    inspect: [80, 443]\n" \
	"ipv6: true\n" \
	"# The default rate limit (10 requests/s per host, burst 50, then 429) suits APIs; an install\n" \
	"# fetches hundreds of files from a registry in seconds. Every other inspector keeps its default.\n" \
	"inspectors:\n" \
	"  - name: rate_limit\n" \
	"    config:\n" \
	"      host_rate:\n" \
	"        registry.npmjs.org: { rate: 200, burst: 1000 }\n" \
	"        pypi.org: { rate: 200, burst: 1000 }\n" \
	"        files.pythonhosted.org: { rate: 200, burst: 1000 }\n" \
	"        codeload.github.com: { rate: 50, burst: 200 }\n" \
	"# Record requests for `cagectl har` (bodies truncated, secrets as placeholders only).\n" \
	"capture:\n" \
	"  enable: false\n" \
	"  max_body_size: 64K\n"

#define REGISTRIES \
	"    # Package registries the agent installs from.\n" \
	"    - registry.npmjs.org\n" \
	"    - pypi.org\n" \
	"    - files.pythonhosted.org\n" \
	"    # Source hosting: clone, fetch, the API for issues and pull requests.\n" \
	"    - github.com\n" \
	"    - api.github.com\n" \
	"    - codeload.github.com\n" \
	"    - objects.githubusercontent.com\n" \
	"    - raw.githubusercontent.com\n"

static const struct builtin builtins[] = {
	{ "claude-code", "Anthropic's Claude Code: the Anthropic API, npm, PyPI, GitHub",
	  COMMON_HEAD("Claude Code")
	  "name: claude-code\n"
	  "# The agent runs as this unprivileged user; it never gets root in the cage.\n"
	  "user: \"1000:1000\"\n"
	  "# Remove this cage with `cagectl prune` once nothing runs in it.\n"
	  "ephemeral: false\n"
	  "env:\n"
	  "  # Claude Code asks before it sends usage data; in a cage it cannot reach that endpoint anyway.\n"
	  "  DISABLE_TELEMETRY: \"1\"\n"
	  "exec_aliases:\n"
	  "  claude: claude\n"
	  "domains:\n"
	  "  allow:\n"
	  "    # The Anthropic API and sign-in.\n"
	  "    - anthropic.com\n"
	  "    - claude.com\n"
	  "    - claude.ai\n"
	  REGISTRIES
	  "secrets:\n"
	  "  # The agent sees a placeholder; the proxy puts the real key into requests to these hosts\n"
	  "  # only. Store it with `cagectl secret set NAME ANTHROPIC_API_KEY`.\n"
	  "  ANTHROPIC_API_KEY:\n"
	  "    inject_to: [anthropic.com]\n"
	  COMMON_TAIL },
	{ "codex", "OpenAI's Codex CLI: the OpenAI API, ChatGPT sign-in, npm, PyPI, GitHub",
	  COMMON_HEAD("OpenAI Codex")
	  "name: codex\n"
	  "# The agent runs as this unprivileged user; it never gets root in the cage.\n"
	  "user: \"1000:1000\"\n"
	  "# Remove this cage with `cagectl prune` once nothing runs in it.\n"
	  "ephemeral: false\n"
	  "exec_aliases:\n"
	  "  codex: codex\n"
	  "domains:\n"
	  "  allow:\n"
	  "    # The OpenAI API and ChatGPT sign-in.\n"
	  "    - openai.com\n"
	  "    - chatgpt.com\n"
	  REGISTRIES
	  "secrets:\n"
	  "  # The agent sees a placeholder; the proxy puts the real key into requests to these hosts\n"
	  "  # only. Store it with `cagectl secret set NAME OPENAI_API_KEY`.\n"
	  "  OPENAI_API_KEY:\n"
	  "    inject_to: [openai.com]\n"
	  COMMON_TAIL },
	{ "generic", "any agent or tool: package registries and GitHub, nothing else",
	  COMMON_HEAD("a generic agent")
	  "name: generic\n"
	  "# The agent runs as this unprivileged user; it never gets root in the cage.\n"
	  "user: \"1000:1000\"\n"
	  "# Remove this cage with `cagectl prune` once nothing runs in it.\n"
	  "ephemeral: false\n"
	  "domains:\n"
	  "  allow:\n"
	  REGISTRIES
	  "  # Listed here wins over allow.\n"
	  "  block: []\n"
	  "# Secrets: the agent sees a placeholder, the proxy injects the value for these hosts only.\n"
	  "# secrets:\n"
	  "#   GITHUB_TOKEN:\n"
	  "#     inject_to: [api.github.com]\n"
	  COMMON_TAIL },
};

#define N_BUILTINS (sizeof(builtins) / sizeof(builtins[0]))

bool scaffold_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 40 || name[0] == '-' || name[0] == '.')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

int scaffold_user_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (xdg && xdg[0] == '/')
		snprintf(buf, len, "%s/cagectl/scaffolds", xdg);
	else if (home && home[0] == '/')
		snprintf(buf, len, "%s/.config/cagectl/scaffolds", home);
	else
		return -ENOENT;
	return 0;
}

/* The first comment line after the header, or a fixed text: what `scaffold list` shows. */
static void user_description(const char *path, char *out, size_t len)
{
	char line[256];
	FILE *f = fopen(path, "re");

	snprintf(out, len, "user scaffold");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) && line[0] == '#') {
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, len, "%s", line + 1 + (line[1] == ' '));
	}
	fclose(f);
}

int scaffold_list(struct scaffold_entry **out, size_t *n_out)
{
	struct scaffold_entry *v;
	char dir[PATH_MAX];
	struct dirent *de;
	size_t n = 0, cap = N_BUILTINS + 64;
	DIR *d;

	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < N_BUILTINS; i++, n++) {
		snprintf(v[n].name, sizeof(v[n].name), "%s", builtins[i].name);
		snprintf(v[n].description, sizeof(v[n].description), "%s", builtins[i].description);
		v[n].builtin = true;
	}
	if (scaffold_user_dir(dir, sizeof(dir)) == 0 && (d = opendir(dir))) {
		while ((de = readdir(d)) && n < cap) {
			size_t len = strlen(de->d_name), slot = n;
			char name[64];

			if (len < 6 || len - 5 >= sizeof(name) || strcmp(de->d_name + len - 5, ".yaml"))
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)(len - 5), de->d_name);
			if (!scaffold_name_valid(name))
				continue;
			for (size_t i = 0; i < N_BUILTINS; i++)
				if (!strcmp(v[i].name, name))
					slot = i;
			snprintf(v[slot].name, sizeof(v[slot].name), "%s", name);
			snprintf(v[slot].path, sizeof(v[slot].path), "%s/%s", dir, de->d_name);
			user_description(v[slot].path, v[slot].description, sizeof(v[slot].description));
			v[slot].builtin = false;
			if (slot == n)
				n++;
		}
		closedir(d);
	}
	*out = v;
	*n_out = n;
	return 0;
}

int scaffold_text(const char *scaffold, char **out, bool *builtin)
{
	char dir[PATH_MAX], path[PATH_MAX + 80];
	int err;

	if (!scaffold_name_valid(scaffold))
		return -EINVAL;
	if (scaffold_user_dir(dir, sizeof(dir)) == 0) {
		snprintf(path, sizeof(path), "%s/%s.yaml", dir, scaffold);
		err = cli_read_file(path, out, NULL, 1 << 20);
		if (err != -ENOENT) {
			if (!err && builtin)
				*builtin = false;
			return err;
		}
	}
	for (size_t i = 0; i < N_BUILTINS; i++)
		if (!strcmp(builtins[i].name, scaffold)) {
			*out = strdup(builtins[i].text);
			if (builtin)
				*builtin = true;
			return *out ? 0 : -ENOMEM;
		}
	return -ENOENT;
}

int scaffold_render(const char *scaffold, const char *cage_name, char **out)
{
	int err = scaffold_text(scaffold, out, NULL);

	if (err)
		return err;
	err = yaml_set_top_scalar(out, "name", cage_name);
	if (err) {
		free(*out);
		*out = NULL;
	}
	return err;
}
