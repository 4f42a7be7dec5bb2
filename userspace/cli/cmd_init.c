// SPDX-License-Identifier: GPL-2.0-only
/* `cagectl init` and `cagectl scaffold list|show|create|export`. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "lib/json.h"
#include "lib/log.h"
#include "scaffolds/scaffolds.h"
#include "scaffolds/yaml_edit.h"

static void print_warning(const struct cage_config_diag *d, void *arg)
{
	char buf[1024];

	(void)arg;
	cage_config_diag_format(d, buf, sizeof(buf));
	p_warn("%s", buf);
}

/* Every scaffold must be a valid cage.yaml once named; a user scaffold may not be. */
static int check_valid(const char *cmd, const char *label, const char *text)
{
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag = { 0 };
	char buf[1024];

	if (cage_config_parse(label, text, strlen(text), &cfg, &diag, print_warning, NULL)) {
		cage_config_diag_format(&diag, buf, sizeof(buf));
		p_err("%s: %s", cmd, buf);
		return 1;
	}
	cage_config_free(cfg);
	return 0;
}

/* Writes text to path ("-" = stdout) unless it exists and force is off. */
static int write_out(const char *cmd, const char *path, const char *text, bool force)
{
	int fd, err = 0;
	size_t len = strlen(text);

	if (!strcmp(path, "-")) {
		fputs(text, stdout);
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			p_err("%s: %s exists; use --force to overwrite it", cmd, path);
		else
			p_err("%s: can't create %s: %s", cmd, path, strerror(errno));
		return 1;
	}
	if (write(fd, text, len) != (ssize_t)len)
		err = errno ? errno : EIO;
	close(fd);
	if (err) {
		p_err("%s: can't write %s: %s", cmd, path, strerror(err));
		return 1;
	}
	return 0;
}

static int list_scaffolds(void)
{
	struct scaffold_entry *v;
	size_t n;

	if (scaffold_list(&v, &n)) {
		p_err("scaffold list: out of memory");
		return 1;
	}
	if (json_output)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		if (json_output) {
			printf("%s{\"name\":", i ? "," : "");
			json_write_string(stdout, v[i].name);
			printf(",\"builtin\":%s,\"description\":", v[i].builtin ? "true" : "false");
			json_write_string(stdout, v[i].description);
			if (!v[i].builtin) {
				printf(",\"path\":");
				json_write_string(stdout, v[i].path);
			}
			printf("}");
		} else {
			printf("%-16s %-8s %s\n", v[i].name, v[i].builtin ? "builtin" : "user",
			       v[i].description);
		}
	}
	if (json_output)
		printf("]\n");
	free(v);
	return 0;
}

/* A cage name from a directory name: lower case, [a-z0-9-], at most 63 characters. */
static void name_from_dir(char *out, size_t len)
{
	char cwd[PATH_MAX], *base;
	size_t o = 0;

	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "cage");
	base = basename(cwd);
	for (const char *s = base; *s && o + 1 < len && o < CAGE_NAME_MAX; s++) {
		char c = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[o++] = c;
		else if (o && out[o - 1] != '-')
			out[o++] = '-';
	}
	while (o && out[o - 1] == '-')
		o--;
	out[o] = '\0';
	if (!o || out[0] == '-')
		snprintf(out, len, "cage");
}

static int scaffold_error(const char *cmd, const char *scaffold, int err)
{
	if (err == -ENOENT || err == -EINVAL)
		p_err("%s: no scaffold named '%s'; see 'cagectl scaffold list'", cmd, scaffold);
	else
		p_err("%s: can't read scaffold %s: %s", cmd, scaffold, strerror(-err));
	return 1;
}

int do_init(int argc, char **argv)
{
	const char *name = NULL, *scaffold = "generic", *out = "cage.yaml";
	char auto_name[CAGE_NAME_MAX + 1], *text = NULL;
	bool force = false, list = false;
	int err, rc;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "--scaffold") || !strcmp(argv[i], "-s")) && i + 1 < argc)
			scaffold = argv[++i];
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--force"))
			force = true;
		else if (!strcmp(argv[i], "--list-scaffolds"))
			list = true;
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else
			return cli_usage_error("init", "unexpected argument '%s'", argv[i]);
	}
	if (list)
		return list_scaffolds();
	if (!name) {
		name_from_dir(auto_name, sizeof(auto_name));
		name = auto_name;
	}
	if (!cage_name_valid(name))
		return cli_usage_error("init", "'%s' is not a cage name ([a-z0-9][a-z0-9-]{0,62})", name);
	err = scaffold_render(scaffold, name, &text);
	if (err)
		return scaffold_error("init", scaffold, err);
	rc = check_valid("init", scaffold, text);
	if (!rc)
		rc = write_out("init", out, text, force);
	if (!rc && strcmp(out, "-")) {
		if (json_output)
			printf("{\"file\":\"%s\",\"name\":\"%s\",\"scaffold\":\"%s\"}\n", out, name, scaffold);
		else
			p_info("wrote %s (cage %s, scaffold %s); next: cagectl up %s", out, name, scaffold, out);
	}
	free(text);
	return rc;
}

static int scaffold_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_print_usage("scaffold");
}

static int scaffold_list_cmd(int argc, char **argv)
{
	cli_strip_json(&argc, argv);
	if (argc)
		return cli_usage_error("scaffold", "unexpected argument '%s'", argv[0]);
	return list_scaffolds();
}

static int scaffold_show(int argc, char **argv)
{
	char *text = NULL;
	int err;

	cli_strip_json(&argc, argv);
	if (argc != 1)
		return cli_usage_error("scaffold", "show takes one scaffold name");
	err = scaffold_text(argv[0], &text, NULL);
	if (err)
		return scaffold_error("scaffold show", argv[0], err);
	if (json_output) {
		printf("{\"name\":");
		json_write_string(stdout, argv[0]);
		printf(",\"text\":");
		json_write_string(stdout, text);
		printf("}\n");
	} else {
		fputs(text, stdout);
	}
	free(text);
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	return mkdir(buf, 0755) && errno != EEXIST ? -errno : 0;
}

static int scaffold_create(int argc, char **argv)
{
	const char *name = NULL, *from = "generic", *file = NULL;
	char dir[PATH_MAX], path[PATH_MAX + 80], *text = NULL;
	bool force = false;
	int err, rc = 1;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--from") && i + 1 < argc)
			from = argv[++i];
		else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--force"))
			force = true;
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else
			return cli_usage_error("scaffold", "unexpected argument '%s'", argv[i]);
	}
	if (!name)
		return cli_usage_error("scaffold", "create needs a NAME");
	if (!scaffold_name_valid(name))
		return cli_usage_error("scaffold", "'%s' is not a scaffold name ([a-z0-9-], at most 40)", name);
	if (scaffold_user_dir(dir, sizeof(dir))) {
		p_err("scaffold create: neither XDG_CONFIG_HOME nor HOME is set");
		return 1;
	}
	err = file ? cli_read_file(file, &text, NULL, 1 << 20) : scaffold_text(from, &text, NULL);
	if (err) {
		if (file)
			p_err("scaffold create: can't read %s: %s", file, strerror(-err));
		else
			scaffold_error("scaffold create", from, err);
		return 1;
	}
	/* Stored under its own name so `scaffold show` reads like what `init` will write. */
	if (yaml_set_top_scalar(&text, "name", name) || check_valid("scaffold create", file ? file : from, text))
		goto out;
	err = mkdir_p(dir);
	if (err) {
		p_err("scaffold create: can't create %s: %s", dir, strerror(-err));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s.yaml", dir, name);
	rc = write_out("scaffold create", path, text, force);
	if (!rc) {
		if (json_output)
			printf("{\"name\":\"%s\",\"path\":\"%s\"}\n", name, path);
		else
			p_info("scaffold %s written to %s", name, path);
	}
out:
	free(text);
	return rc;
}

static int scaffold_export(int argc, char **argv)
{
	const char *name = NULL, *out = "-";
	char *text = NULL;
	int err, rc;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else
			return cli_usage_error("scaffold", "unexpected argument '%s'", argv[i]);
	}
	if (!name)
		return cli_usage_error("scaffold", "export needs a SCAFFOLD");
	err = scaffold_text(name, &text, NULL);
	if (err)
		return scaffold_error("scaffold export", name, err);
	rc = write_out("scaffold export", out, text, true);
	free(text);
	return rc;
}

static const struct cmd scaffold_cmds[] = {
	{ "list", scaffold_list_cmd },
	{ "ls", scaffold_list_cmd },
	{ "show", scaffold_show },
	{ "create", scaffold_create },
	{ "export", scaffold_export },
	{ "help", scaffold_help },
	{ NULL, NULL },
};

int do_scaffold(int argc, char **argv)
{
	return cmd_select(scaffold_cmds, argc, argv, scaffold_help);
}
