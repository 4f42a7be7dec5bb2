// SPDX-License-Identifier: GPL-2.0-only
/*
 * Running agents: `exec` with the config's exec_aliases, `shell`, and `run`, the one-shot cage
 * around a project directory. All three end in do_exec(), the one place that spawns into a cage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "enforce/cage.h"
#include "lib/log.h"
#include "scaffolds/scaffolds.h"
#include "scaffolds/yaml_edit.h"

/* The command line of exec alias `alias` in the cage's config copy (malloc'd), or NULL. */
static char *alias_line(const char *cage, const char *alias)
{
	struct cage_config_file *cfg = NULL;
	struct cage_paths p;
	char path[PATH_MAX + 16], *line = NULL;

	if (!cage_name_valid(cage) || cage_paths_init(&p, cage))
		return NULL;
	snprintf(path, sizeof(path), "%s/cage.yaml", p.state_dir);
	if (cage_config_load(path, &cfg, &(struct cage_config_diag){ 0 }, NULL, NULL))
		return NULL;
	for (size_t i = 0; i < cfg->n_exec_aliases; i++)
		if (!strcmp(cfg->exec_aliases[i].name, alias))
			line = strdup(cfg->exec_aliases[i].value);
	cage_config_free(cfg);
	return line;
}

int do_exec_alias(int argc, char **argv)
{
	char **nargv, *line, *script;
	int rc;

	if (argc < 2 || !strcmp(argv[1], "--"))
		return do_exec(argc, argv);
	line = alias_line(argv[0], argv[1]);
	if (!line)
		return do_exec(argc, argv);
	/* Extra arguments follow the alias's line, like a shell alias: sh -c 'LINE "$@"' ALIAS ARGS. */
	if (asprintf(&script, "%s \"$@\"", line) < 0) {
		free(line);
		p_err("exec: out of memory");
		return 1;
	}
	nargv = calloc((size_t)argc + 5, sizeof(char *));
	if (!nargv) {
		free(script);
		free(line);
		p_err("exec: out of memory");
		return 1;
	}
	nargv[0] = argv[0];
	nargv[1] = "--";
	nargv[2] = "/bin/sh";
	nargv[3] = "-c";
	nargv[4] = script;
	nargv[5] = argv[1];
	for (int i = 2; i < argc; i++)
		nargv[4 + i] = argv[i];
	rc = do_exec(argc + 4, nargv);
	free(nargv);
	free(script);
	free(line);
	return rc;
}

static const char *pick_shell(void)
{
	return access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
}

int do_shell(int argc, char **argv)
{
	char *nargv[5];
	struct cage_paths p;
	int rc;

	if (argc != 1)
		return cli_usage_error("shell", argc ? "unexpected argument '%s'" : "no cage name%s",
				       argc ? argv[1] : "");
	rc = cli_cage_lookup("shell", argv[0], &p, true);
	if (rc)
		return rc;
	nargv[0] = argv[0];
	nargv[1] = "--";
	nargv[2] = (char *)pick_shell();
	nargv[3] = "-i";
	nargv[4] = NULL;
	return do_exec(4, nargv);
}

static const char *const adjectives[] = {
	"bold", "calm", "eager", "fair", "gentle", "happy", "keen", "lucky", "merry", "nimble",
	"proud", "quiet", "rapid", "sunny", "tidy", "vivid", "warm", "witty", "brave", "clever",
};
static const char *const nouns[] = {
	"fox", "owl", "lynx", "otter", "heron", "badger", "falcon", "panda", "raven", "seal",
	"tiger", "whale", "yak", "zebra", "koala", "moose", "newt", "puffin", "robin", "wolf",
};

/* SCAFFOLD-ADJECTIVE-NOUN that no cage uses yet. */
static int generate_name(const char *scaffold, char *out, size_t len)
{
	for (int tries = 0; tries < 64; tries++) {
		unsigned r[2];
		struct cage_paths p;
		struct stat sb;

		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			return -EIO;
		snprintf(out, len, "%.40s-%s-%s", scaffold, adjectives[r[0] % 20], nouns[r[1] % 20]);
		if (!cage_name_valid(out))
			return -EINVAL;
		if (cage_paths_init(&p, out))
			return -ENOENT;
		if (stat(p.state_dir, &sb) && !cage_exists(&p))
			return 0;
	}
	return -EEXIST;
}

/*
 * Stores one secret through `cagectl secret set CAGE KEY`, the value on its stdin: a secret
 * never travels in argv. From the caller's environment (-s KEY) or the command line (-s KEY=V).
 */
static int set_secret(const char *cage, const char *spec)
{
	const char *eq = strchr(spec, '='), *value;
	char key[129];
	int pipefd[2], status;
	pid_t pid;

	snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - spec) : (int)strlen(spec), spec);
	value = eq ? eq + 1 : getenv(key);
	if (!value) {
		p_err("run: -s %s: the environment has no %s to take the secret from", key, key);
		return 1;
	}
	if (pipe2(pipefd, O_CLOEXEC))
		return 1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return 1;
	}
	if (pid == 0) {
		dup2(pipefd[0], 0);
		execl("/proc/self/exe", "cagectl", "-q", "secret", "set", cage, key, (char *)NULL);
		_exit(127);
	}
	close(pipefd[0]);
	if (write(pipefd[1], value, strlen(value)) < 0)
		p_warn("run: -s %s: short write", key);
	close(pipefd[1]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		p_err("run: can't store secret %s for cage %s ('cagectl secret set' failed)", key, cage);
		return 1;
	}
	return 0;
}

/* Adds `KEY: {inject_to: []}` for a -s KEY the scaffold does not name, so the cage shows its placeholder. */
static int ensure_secret_rule(char **text, const char *spec)
{
	char key[129], *line = NULL, *p;
	size_t kl;

	kl = strcspn(spec, "=");
	snprintf(key, sizeof(key), "%.*s", (int)kl, spec);
	for (p = *text; (p = strstr(p, key)); p += kl)
		if ((p == *text || p[-1] == ' ' || p[-1] == '\n') && p[kl] == ':')
			return 0;
	/* Only a top-level `secrets:` block (or none) is extended; anything else stays as it is. */
	if (strstr(*text, "\nsecrets:\n") || !strncmp(*text, "secrets:\n", 9)) {
		char *at = strstr(*text, "\nsecrets:\n");
		size_t off = at ? (size_t)(at - *text) + 10 : 9;

		if (asprintf(&line, "%.*s  %s:\n    inject_to: []\n%s", (int)off, *text, key, *text + off) < 0)
			return -ENOMEM;
	} else if (!strstr(*text, "\nsecrets:")) {
		if (asprintf(&line, "%ssecrets:\n  %s:\n    inject_to: []\n", *text, key) < 0)
			return -ENOMEM;
	} else {
		return 0;
	}
	free(*text);
	*text = line;
	return 0;
}

int do_run(int argc, char **argv)
{
	const char *scaffold = NULL, *project = NULL, *name = NULL;
	const char *secrets[32];
	char cage[CAGE_NAME_MAX + 1], proj[PATH_MAX], tmp[] = "/tmp/cagectl-run-XXXXXX.yaml";
	char **cmd = NULL, *text = NULL, *nargv[64];
	struct cage_paths p;
	bool keep = false;
	int n_secrets = 0, n_cmd = 0, err, rc = 1, fd = -1;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			cmd = argv + i + 1;
			n_cmd = argc - i - 1;
			break;
		} else if (!strcmp(argv[i], "--project") && i + 1 < argc) {
			project = argv[++i];
		} else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
			name = argv[++i];
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			if (n_secrets >= 32)
				return cli_usage_error("run", "too many -s");
			secrets[n_secrets++] = argv[++i];
		} else if (!strcmp(argv[i], "--keep")) {
			keep = true;
		} else if (argv[i][0] != '-' && !scaffold) {
			scaffold = argv[i];
		} else {
			return cli_usage_error("run", "unexpected argument '%s'", argv[i]);
		}
	}
	if (!scaffold)
		return cli_usage_error("run", "no scaffold (see 'cagectl scaffold list')");
	if (n_cmd > 56)
		return cli_usage_error("run", "command too long");
	if (!realpath(project ? project : ".", proj)) {
		p_err("run: project directory %s: %s", project ? project : ".", strerror(errno));
		return 1;
	}
	if (name) {
		if (!cage_name_valid(name))
			return cli_usage_error("run", "'%s' is not a cage name", name);
		snprintf(cage, sizeof(cage), "%s", name);
	} else if ((err = generate_name(scaffold, cage, sizeof(cage)))) {
		p_err("run: can't make a cage name from '%s': %s", scaffold, strerror(-err));
		return 1;
	}
	err = scaffold_render(scaffold, cage, &text);
	if (err) {
		p_err("run: no scaffold named '%s'; see 'cagectl scaffold list'", scaffold);
		return 1;
	}
	/* The project at the same path, the session starts in it; the cage goes away with prune too. */
	err = yaml_add_mount(&text, proj, proj);
	if (!err)
		err = yaml_set_top_scalar(&text, "workdir", proj);
	if (!err)
		err = yaml_set_top_scalar(&text, "ephemeral", "true");
	for (int i = 0; !err && i < n_secrets; i++)
		err = ensure_secret_rule(&text, secrets[i]);
	if (err) {
		p_err("run: can't adapt scaffold %s: %s", scaffold, strerror(-err));
		goto out;
	}
	fd = mkstemps(tmp, 5);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		p_err("run: can't write %s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	for (int i = 0; i < n_secrets; i++)
		if (set_secret(cage, secrets[i]))
			goto out_unlink;
	{
		char *up_argv[] = { "cagectl", "-q", "up", tmp, NULL };

		rc = cli_run_self(up_argv);
	}
	if (rc) {
		p_err("run: cage %s did not come up", cage);
		rc = 1;
		goto out_unlink;
	}
	unlink(tmp);
	if (!log_quiet && !json_output)
		fprintf(stderr, "cagectl: cage %s is up; project %s; leave the shell to remove it\n", cage, proj);
	nargv[0] = cage;
	nargv[1] = "--";
	if (n_cmd) {
		for (int i = 0; i < n_cmd; i++)
			nargv[2 + i] = cmd[i];
		nargv[2 + n_cmd] = NULL;
	} else {
		nargv[2] = (char *)pick_shell();
		nargv[3] = "-i";
		nargv[4] = NULL;
		n_cmd = 2;
	}
	rc = do_exec(2 + n_cmd, nargv);
	if (!keep) {
		char *down_argv[] = { "cagectl", "-q", "down", cage, NULL };

		if (cli_run_self(down_argv))
			p_err("run: could not remove cage %s; run 'cagectl down %s'", cage, cage);
		cage_paths_init(&p, cage);
		if (!log_quiet && !json_output)
			fprintf(stderr, "cagectl: cage %s removed; audit kept in %s\n", cage, p.audit_file);
	}
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	free(text);
	return rc;
}
