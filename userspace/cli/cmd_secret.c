// SPDX-License-Identifier: GPL-2.0-only
/*
 * cagectl secret set|list|rm|rotate-placeholders. A value only ever arrives on stdin (a hidden
 * prompt on a terminal); it is never an argument, never printed, and never in an error: any
 * argument we do not expect is reported by position, not by content, in case it is a value.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "config/config.h"
#include "enforce/daemon.h"
#include "enforce/paths.h"
#include "lib/domain.h"
#include "lib/json.h"
#include "lib/log.h"
#include "secrets/secrets.h"

struct secret_args {
	const char *cage, *key, *placeholder;
	const char **keys;          /* positional keys after CAGE */
	int n_keys;
	const char **inject_to;
	int n_inject_to;
	bool encrypt;
};

static bool flag_json(const char *a)
{
	if (strcmp(a, "--json") && strcmp(a, "-j"))
		return false;
	json_output = log_json = true;
	return true;
}

/*
 * CAGE, then keys; options anywhere. `with_set_options` admits --inject-to/--placeholder/
 * --encrypt. Arguments are named by position only: a mistyped value must not reach a log.
 */
static int parse_args(int argc, char **argv, bool with_set_options, struct secret_args *a)
{
	memset(a, 0, sizeof(*a));
	a->keys = calloc((size_t)argc + 1, sizeof(char *));
	a->inject_to = calloc((size_t)argc + 1, sizeof(char *));
	if (!a->keys || !a->inject_to) {
		p_err("out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];

		if (flag_json(s))
			continue;
		if (with_set_options && (!strcmp(s, "--inject-to") || !strcmp(s, "--placeholder"))) {
			if (i + 1 >= argc) {
				p_err("%s needs an argument", s);
				return -EINVAL;
			}
			if (!strcmp(s, "--inject-to"))
				a->inject_to[a->n_inject_to++] = argv[++i];
			else
				a->placeholder = argv[++i];
			continue;
		}
		if (with_set_options && !strcmp(s, "--encrypt")) {
			a->encrypt = true;
			continue;
		}
		if (s[0] == '-') {
			p_err("unknown option at argument %d; see 'cagectl secret help'", i + 1);
			return -EINVAL;
		}
		if (!a->cage)
			a->cage = s;
		else
			a->keys[a->n_keys++] = s;
	}
	if (!a->cage || !cage_name_valid(a->cage)) {
		p_err("%s", a->cage ? "invalid cage name" : "missing CAGE; see 'cagectl secret help'");
		return -EINVAL;
	}
	for (int i = 0; i < a->n_keys; i++) {
		if (!secrets_key_valid(a->keys[i])) {
			p_err("argument %d is not a secret name ([A-Za-z_][A-Za-z0-9_]*, at most %d); "
			      "values are read from stdin, never from the command line",
			      i + 2, SECRETS_KEY_MAX);
			return -EINVAL;
		}
	}
	a->key = a->n_keys ? a->keys[0] : NULL;
	return 0;
}

static void args_free(struct secret_args *a)
{
	free(a->keys);
	free(a->inject_to);
}

static void cage_paths(const char *cage, struct cage_paths *p)
{
	/* Only the state and run roots are needed: a missing cgroup2 mount does not matter here. */
	(void)cage_paths_init(p, cage);
}

/* The config copy `cagectl up` keeps, or NULL when the cage was never brought up. */
static struct cage_config_file *load_config_copy(const struct cage_paths *p)
{
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;
	char path[PATH_MAX + 16];
	char buf[1024];
	int err;

	snprintf(path, sizeof(path), "%s/cage.yaml", p->state_dir);
	if (access(path, F_OK) != 0)
		return NULL;
	memset(&diag, 0, sizeof(diag));
	err = cage_config_load(path, &cfg, &diag, NULL, NULL);
	if (err) {
		cage_config_diag_format(&diag, buf, sizeof(buf));
		p_warn("ignoring the config copy of cage %s: %s", p->name, buf);
		return NULL;
	}
	return cfg;
}

static const struct cage_secret_rule *config_rule(const struct cage_config_file *cfg,
						  const char *key)
{
	for (size_t i = 0; cfg && i < cfg->n_secrets; i++)
		if (!strcmp(cfg->secrets[i].name, key))
			return &cfg->secrets[i];
	return NULL;
}

/*
 * SIGHUP to the cage's proxy, if one runs: it reloads the store with no restart. An idle one
 * (proxy.idle_exit) reads the store when the next connection starts it: true as well.
 */
static bool reload_proxy(const struct cage_paths *p)
{
	char path[PATH_MAX + 32], buf[32] = "", comm[32] = "";
	long pid;
	FILE *f;

	if (daemon_is_idle(p->run_dir, "cage-proxy"))
		return true;

	snprintf(path, sizeof(path), "%s/cage-proxy.pid", p->run_dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	pid = strtol(buf, NULL, 10);
	if (pid <= 1)
		return false;
	/* A stale pid file may name a recycled pid: only ever signal a cage-proxy. */
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	if (strcmp(comm, "cage-proxy") != 0)
		return false;
	if (kill((pid_t)pid, SIGHUP) < 0) {
		p_warn("can't signal cage-proxy %ld of cage %s: %s", pid, p->name, strerror(errno));
		return false;
	}
	return true;
}

/* Reads the value: a prompt with echo off on a terminal, else stdin to EOF. */
static int read_value(const char *cage, const char *key, unsigned char *buf, size_t cap,
		      size_t *len)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO);
	size_t n = 0;

	if (tty) {
		fprintf(stderr, "value for secret %s of cage %s: ", key, cage);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		} else {
			tty = false;
		}
	}
	for (;;) {
		ssize_t r = read(STDIN_FILENO, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			n = 0;
			break;
		}
		n += (size_t)r;
		if (r == 0 || n == cap || (tty && n && buf[n - 1] == '\n'))
			break;
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n == cap) {
		p_err("the value for secret %s of cage %s is over %u bytes", key, cage,
		      SECRETS_VALUE_MAX);
		return -EMSGSIZE;
	}
	if (n && buf[n - 1] == '\n')
		n--;  /* one trailing newline: what `echo` and a terminal add */
	if (n && buf[n - 1] == '\r')
		n--;
	if (!n) {
		p_err("empty value for secret %s of cage %s (read from %s)", key, cage,
		      tty ? "the terminal" : "stdin");
		return -EINVAL;
	}
	*len = n;
	return 0;
}

static int canonical_patterns(const struct secret_args *a, struct cage_strv *out)
{
	for (int i = 0; i < a->n_inject_to; i++) {
		const char *s = a->inject_to[i];
		bool wild = !strncmp(s, "*.", 2);
		char canon[DOMAIN_BUF_SIZE + 2];
		char **v;
		int err = domain_canonicalize(s + (wild ? 2 : 0), strlen(s) - (wild ? 2 : 0),
					      canon + (wild ? 2 : 0), DOMAIN_BUF_SIZE);

		if (err) {
			p_err("--inject-to '%s' is not a domain pattern: %s", s, strerror(-err));
			return err;
		}
		if (wild)
			memcpy(canon, "*.", 2);
		v = realloc(out->v, (out->n + 1) * sizeof(*v));
		if (!v || !(v[out->n] = strdup(canon))) {
			if (v)
				out->v = v;
			p_err("out of memory");
			return -ENOMEM;
		}
		out->v = v;
		out->n++;
	}
	return 0;
}

/* Another key of this cage already uses the placeholder? */
static const char *placeholder_taken(const char *state_dir, const char *key, const char *ph,
				     char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct secrets_meta m;
		bool same;

		if (!strcmp(keys[i], key) || secrets_meta_read(state_dir, keys[i], &m))
			continue;
		same = !strcmp(m.placeholder, ph);
		secrets_meta_free(&m);
		if (same)
			return keys[i];
	}
	return NULL;
}

static int load_hostkey(const struct cage_paths *p, bool create, struct secrets_hostkey *hk,
			bool *sealed)
{
	int err = secrets_hostkey_load(p->state_root, create, hk);

	*sealed = !err;
	if (err == -ENOENT && !create)
		return 0;
	if (err)
		p_err("can't %s host key %s/host.key: %s", create ? "create or read" : "read",
		      p->state_root, err == -EBADMSG ? "not a 32-byte key"
				     : err == -EPERM ? "readable by group or others"
						     : strerror(-err));
	return err;
}

static int secret_set(int argc, char **argv)
{
	const size_t cap = SECRETS_VALUE_MAX + 1;
	struct secrets_meta meta = { 0 };
	struct cage_config_file *cfg = NULL;
	struct secrets_hostkey hk;
	struct secret_args a;
	struct cage_paths p;
	unsigned char *value = NULL;
	char **keys = NULL;
	size_t len = 0, n_keys = 0;
	const char *other;
	bool sealed = false, reloaded;
	int err, ret = 1;

	memset(&hk, 0, sizeof(hk));
	/* No core file of this process may hold the value. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (parse_args(argc, argv, true, &a)) {
		ret = EXIT_USAGE;
		goto out_args;
	}
	if (a.n_keys != 1) {
		p_err("%s", a.n_keys ? "one KEY per 'secret set'; values are read from stdin, never "
				       "from the command line"
				     : "missing KEY; see 'cagectl secret help'");
		ret = EXIT_USAGE;
		goto out_args;
	}
	if (a.placeholder && !secrets_placeholder_valid(a.placeholder)) {
		p_err("--placeholder for secret %s must be %d-%d printable characters without spaces",
		      a.key, SECRETS_PLACEHOLDER_MIN, SECRETS_PLACEHOLDER_MAX);
		ret = EXIT_USAGE;
		goto out_args;
	}
	cage_paths(a.cage, &p);
	if (canonical_patterns(&a, &meta.inject_to)) {
		ret = EXIT_USAGE;
		goto out_meta;
	}
	if (load_hostkey(&p, a.encrypt, &hk, &sealed))
		goto out_meta;
	value = calloc(1, cap);
	if (!value) {
		p_err("out of memory");
		goto out_key;
	}
	(void)mlock(value, cap);
	if (read_value(a.cage, a.key, value, cap, &len))
		goto out_value;

	/* The placeholder: --placeholder, else the one already stored, else a new one. */
	{
		struct secrets_meta old;
		struct cage_strv keep = meta.inject_to;

		err = secrets_meta_read(p.state_dir, a.key, &old);
		if (!err) {
			memcpy(meta.placeholder, old.placeholder, sizeof(meta.placeholder));
			if (!a.n_inject_to) {
				keep = old.inject_to;
				old.inject_to = (struct cage_strv){ 0 };
			}
			secrets_meta_free(&old);
		} else if (err != -ENOENT) {
			p_warn("replacing unreadable %s/secrets/%s.meta: %s", p.state_dir, a.key,
			       strerror(-err));
		}
		meta.inject_to = keep;
	}
	if (a.placeholder)
		snprintf(meta.placeholder, sizeof(meta.placeholder), "%s", a.placeholder);
	if (!meta.placeholder[0] &&
	    (err = secrets_placeholder_generate(a.key, meta.placeholder, sizeof(meta.placeholder)))) {
		p_err("can't generate a placeholder for secret %s: %s", a.key, strerror(-err));
		goto out_value;
	}
	if (len == strlen(meta.placeholder) && !memcmp(value, meta.placeholder, len)) {
		p_err("the value of secret %s of cage %s equals its placeholder", a.key, a.cage);
		goto out_value;
	}
	if (secrets_store_list(p.state_dir, &keys, &n_keys) == 0 &&
	    (other = placeholder_taken(p.state_dir, a.key, meta.placeholder, keys, n_keys))) {
		p_err("placeholder of secret %s of cage %s is already secret %s's", a.key, a.cage,
		      other);
		goto out_value;
	}

	err = secrets_store_write(p.state_dir, a.key, value, len, sealed ? &hk : NULL);
	if (err) {
		p_err("can't write %s/secrets/%s: %s", p.state_dir, a.key, strerror(-err));
		goto out_value;
	}
	err = secrets_meta_write(p.state_dir, a.key, &meta);
	if (err) {
		p_err("can't write %s/secrets/%s.meta: %s", p.state_dir, a.key, strerror(-err));
		goto out_value;
	}
	cfg = load_config_copy(&p);
	{
		const struct cage_secret_rule *rule = config_rule(cfg, a.key);

		if (rule && rule->placeholder && strcmp(rule->placeholder, meta.placeholder))
			p_warn("cage.yaml of cage %s gives secret %s its own placeholder; that one "
			       "is used", a.cage, a.key);
		if (rule && rule->inject_to.n && a.n_inject_to)
			p_warn("cage.yaml of cage %s binds secret %s; its inject_to wins over "
			       "--inject-to", a.cage, a.key);
	}
	reloaded = reload_proxy(&p);
	if (json_output) {
		printf("{\"cage\":");
		json_write_string(stdout, a.cage);
		printf(",\"key\":");
		json_write_string(stdout, a.key);
		printf(",\"placeholder\":");
		json_write_string(stdout, meta.placeholder);
		printf(",\"encrypted\":%s,\"proxy_reloaded\":%s}\n", sealed ? "true" : "false",
		       reloaded ? "true" : "false");
	} else {
		p_info("secret %s of cage %s stored%s%s", a.key, a.cage, sealed ? " (encrypted)" : "",
		       reloaded ? "; cage-proxy reloaded" : "");
	}
	ret = 0;
out_value:
	secrets_keys_free(keys, n_keys);
	OPENSSL_cleanse(value, cap);
	(void)munlock(value, cap);
	free(value);
out_key:
	secrets_hostkey_clear(&hk);
out_meta:
	secrets_meta_free(&meta);
	cage_config_free(cfg);
out_args:
	args_free(&a);
	return ret;
}

/* Every name the config or the store knows, sorted, once. */
static int collect_names(const struct cage_config_file *cfg, char **stored, size_t n_stored,
			 char ***out, size_t *n)
{
	size_t cap = n_stored + (cfg ? cfg->n_secrets : 0), cnt = 0;
	char **v = calloc(cap ? cap : 1, sizeof(char *));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n_stored; i++)
		v[cnt++] = stored[i];
	for (size_t i = 0; cfg && i < cfg->n_secrets; i++) {
		bool dup = false;

		for (size_t k = 0; k < cnt && !dup; k++)
			dup = !strcmp(v[k], cfg->secrets[i].name);
		if (!dup)
			v[cnt++] = cfg->secrets[i].name;
	}
	for (size_t i = 1; i < cnt; i++)
		for (size_t k = i; k > 0 && strcmp(v[k - 1], v[k]) > 0; k--) {
			char *t = v[k];

			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	*out = v;
	*n = cnt;
	return 0;
}

static int secret_list(int argc, char **argv)
{
	struct cage_config_file *cfg = NULL;
	char **stored = NULL, **names = NULL;
	size_t n_stored = 0, n = 0;
	struct secret_args a;
	struct cage_paths p;
	int err, ret = 1;

	if (parse_args(argc, argv, false, &a) || a.n_keys) {
		if (a.n_keys)
			p_err("'secret list' takes only CAGE");
		args_free(&a);
		return EXIT_USAGE;
	}
	cage_paths(a.cage, &p);
	err = secrets_store_list(p.state_dir, &stored, &n_stored);
	if (err) {
		p_err("can't list %s/secrets: %s", p.state_dir, strerror(-err));
		goto out;
	}
	cfg = load_config_copy(&p);
	if (collect_names(cfg, stored, n_stored, &names, &n)) {
		p_err("out of memory");
		goto out;
	}
	if (json_output)
		printf("[");
	else if (n)
		printf("%-24s %-8s %-9s %-56s %s\n", "NAME", "STATUS", "IN_CONFIG", "PLACEHOLDER",
		       "INJECT_TO");
	for (size_t i = 0; i < n; i++) {
		const struct cage_secret_rule *rule = config_rule(cfg, names[i]);
		struct secrets_meta meta = { 0 };
		const struct cage_strv *to;
		bool has = secrets_store_has(p.state_dir, names[i]);
		const char *ph;

		(void)secrets_meta_read(p.state_dir, names[i], &meta);
		ph = rule && rule->placeholder ? rule->placeholder
		     : meta.placeholder[0]      ? meta.placeholder
						: NULL;
		to = rule && rule->inject_to.n ? &rule->inject_to : &meta.inject_to;
		if (json_output) {
			printf("%s{\"name\":", i ? "," : "");
			json_write_string(stdout, names[i]);
			printf(",\"status\":\"%s\",\"in_config\":%s,\"placeholder\":",
			       has ? "ok" : "MISSING", rule ? "true" : "false");
			if (ph)
				json_write_string(stdout, ph);
			else
				printf("null");
			printf(",\"inject_to\":[");
			for (size_t k = 0; k < to->n; k++) {
				printf(k ? "," : "");
				json_write_string(stdout, to->v[k]);
			}
			printf("]}");
		} else {
			printf("%-24s %-8s %-9s %-56s ", names[i], has ? "ok" : "MISSING",
			       rule ? "yes" : "no", ph ? ph : "-");
			for (size_t k = 0; k < to->n; k++)
				printf("%s%s", k ? "," : "", to->v[k]);
			printf("%s\n", to->n ? "" : "-");
		}
		secrets_meta_free(&meta);
	}
	if (json_output)
		printf("]\n");
	ret = 0;
out:
	free(names);
	secrets_keys_free(stored, n_stored);
	cage_config_free(cfg);
	args_free(&a);
	return ret;
}

static int secret_rm(int argc, char **argv)
{
	struct cage_config_file *cfg;
	struct secret_args a;
	struct cage_paths p;
	int err, ret = 1;

	if (parse_args(argc, argv, false, &a) || a.n_keys != 1) {
		if (a.cage && a.n_keys != 1)
			p_err("usage: cagectl secret rm CAGE KEY");
		args_free(&a);
		return EXIT_USAGE;
	}
	cage_paths(a.cage, &p);
	err = secrets_store_remove(p.state_dir, a.key);
	if (err) {
		if (err == -ENOENT)
			p_err("cage %s has no secret %s (%s/secrets)", a.cage, a.key, p.state_dir);
		else
			p_err("can't remove secret %s of cage %s: %s", a.key, a.cage, strerror(-err));
		goto out;
	}
	cfg = load_config_copy(&p);
	if (config_rule(cfg, a.key))
		p_warn("cage.yaml of cage %s names secret %s: 'cagectl up' refuses to start until "
		       "it is set again", a.cage, a.key);
	cage_config_free(cfg);
	(void)reload_proxy(&p);
	if (json_output)
		printf("{\"removed\":true}\n");
	else
		p_info("secret %s of cage %s removed", a.key, a.cage);
	ret = 0;
out:
	args_free(&a);
	return ret;
}

static int rotate_one(const struct cage_paths *p, const struct cage_config_file *cfg,
		      const char *key, bool *first)
{
	const struct cage_secret_rule *rule = config_rule(cfg, key);
	struct secrets_meta meta;
	int err;

	if (rule && rule->placeholder) {
		p_warn("secret %s of cage %s: its placeholder comes from cage.yaml; not rotated", key,
		       p->name);
		return 0;
	}
	err = secrets_meta_read(p->state_dir, key, &meta);
	if (err == -ENOENT && !secrets_store_has(p->state_dir, key)) {
		p_err("cage %s has no secret %s (%s/secrets)", p->name, key, p->state_dir);
		return err;
	}
	err = secrets_placeholder_generate(key, meta.placeholder, sizeof(meta.placeholder)) ?:
	      secrets_meta_write(p->state_dir, key, &meta);
	if (err) {
		p_err("can't write %s/secrets/%s.meta: %s", p->state_dir, key, strerror(-err));
	} else if (json_output) {
		printf("%s{\"name\":", *first ? "" : ",");
		json_write_string(stdout, key);
		printf(",\"placeholder\":");
		json_write_string(stdout, meta.placeholder);
		printf("}");
		*first = false;
	} else {
		printf("%s %s\n", key, meta.placeholder);
	}
	secrets_meta_free(&meta);
	return err;
}

static int secret_rotate(int argc, char **argv)
{
	struct cage_config_file *cfg = NULL;
	char **stored = NULL;
	size_t n_stored = 0;
	struct secret_args a;
	struct cage_paths p;
	bool first = true;
	int err = 0, ret = 1;

	if (parse_args(argc, argv, false, &a)) {
		args_free(&a);
		return EXIT_USAGE;
	}
	cage_paths(a.cage, &p);
	cfg = load_config_copy(&p);
	if (!a.n_keys && (err = secrets_store_list(p.state_dir, &stored, &n_stored))) {
		p_err("can't list %s/secrets: %s", p.state_dir, strerror(-err));
		goto out;
	}
	if (json_output)
		printf("[");
	for (int i = 0; i < a.n_keys && !err; i++)
		err = rotate_one(&p, cfg, a.keys[i], &first);
	for (size_t i = 0; i < n_stored && !err; i++)
		err = rotate_one(&p, cfg, stored[i], &first);
	if (json_output)
		printf("]\n");
	if (!err) {
		(void)reload_proxy(&p);
		p_info("restart the workloads of cage %s: their environment holds the old "
		       "placeholders, which are now refused", a.cage);
		ret = 0;
	}
out:
	secrets_keys_free(stored, n_stored);
	cage_config_free(cfg);
	args_free(&a);
	return ret;
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: cagectl secret COMMAND CAGE [ARGS]\n"
		"\n"
		"  set CAGE KEY [--inject-to DOMAIN]... [--placeholder P] [--encrypt]\n"
		"                                the value comes from a hidden prompt on a terminal,\n"
		"                                else from stdin (one trailing newline dropped);\n"
		"                                never from the command line\n"
		"  list CAGE [--json]            name, status (ok|MISSING), placeholder, domains\n"
		"  rm CAGE KEY\n"
		"  rotate-placeholders CAGE [KEY...]\n"
		"\n"
		"A running cage's proxy reloads on every change. --encrypt seals values with\n"
		"<state root>/host.key (created on first use); once it exists every value is sealed.\n");
	return 0;
}

static const struct cmd secret_cmds[] = {
	{ "set", secret_set },
	{ "list", secret_list },
	{ "ls", secret_list },
	{ "rm", secret_rm },
	{ "remove", secret_rm },
	{ "rotate-placeholders", secret_rotate },
	{ "help", do_help },
	{ NULL, NULL },
};

int do_secret(int argc, char **argv)
{
	return cmd_select(secret_cmds, argc, argv, do_help);
}
