// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cagectl backup` and `cagectl restore`. The archive (format version 1, docs/cli.md):
 *   manifest.json           always first: format, version, cage, created_at, include_secrets, files
 *   state/<file>            the state directory: cage.yaml, the CA certificate, ...
 *   state/secrets/<file>    only with --include-secrets, like every *.key file (the CA key)
 *   log/audit.jsonl[.1], log/capture.jsonl[.1]
 * Restore extracts into a staging directory first and moves files into place only once the
 * whole archive (every header checksum and the gzip CRC) has verified.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit_read.h"
#include "cli/cli.h"
#include "cli/cmd_backup_tar.h"
#include "config/config.h"
#include "enforce/cage.h"
#include "lib/json.h"
#include "lib/log.h"
#include "scaffolds/yaml_edit.h"

#ifndef CAGECTL_VERSION
#define CAGECTL_VERSION "0.1.0"
#endif

#define BACKUP_FORMAT "cagectl-backup"
#define BACKUP_VERSION 1
#define MAX_FILES 256

struct member {
	char name[100];
	char path[PATH_MAX];
	unsigned mode;
};

/* CA keys and anything under secrets/ are secret material. */
static bool is_secret(const char *rel)
{
	size_t n = strlen(rel);

	return !strncmp(rel, "secrets/", 8) || (n > 4 && !strcmp(rel + n - 4, ".key"));
}

static int collect_dir(const char *dir, const char *prefix, const char *rel, bool secrets,
		       struct member *m, int n, int *skipped)
{
	char path[PATH_MAX], sub[200];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s%s%s", dir, rel[0] ? "/" : "", rel);
	d = opendir(path);
	if (!d)
		return n;
	while ((de = readdir(d)) && n < MAX_FILES) {
		struct stat sb;
		char full[PATH_MAX + 256];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
		if (lstat(full, &sb))
			continue;
		if (S_ISDIR(sb.st_mode)) {
			n = collect_dir(dir, prefix, sub, secrets, m, n, skipped);
			continue;
		}
		if (!S_ISREG(sb.st_mode) || strstr(de->d_name, ".tmp"))
			continue;
		if (is_secret(sub) && !secrets) {
			(*skipped)++;
			continue;
		}
		if (strlen(prefix) + strlen(sub) + 1 >= sizeof(m[n].name))
			continue;
		snprintf(m[n].name, sizeof(m[n].name), "%s%s", prefix, sub);
		snprintf(m[n].path, sizeof(m[n].path), "%s", full);
		m[n].mode = sb.st_mode & 0777;
		n++;
	}
	closedir(d);
	return n;
}

static int collect_logs(const struct cage_paths *p, struct member *m, int n)
{
	static const char *const logs[] = { "audit.jsonl.1", "audit.jsonl", "capture.jsonl.1",
					    "capture.jsonl" };

	for (size_t i = 0; i < 4 && n < MAX_FILES; i++) {
		struct stat sb;

		snprintf(m[n].path, sizeof(m[n].path), "%s/%s", p->log_dir, logs[i]);
		if (stat(m[n].path, &sb) || !S_ISREG(sb.st_mode))
			continue;
		snprintf(m[n].name, sizeof(m[n].name), "log/%s", logs[i]);
		m[n].mode = 0640;
		n++;
	}
	return n;
}

int do_backup(int argc, char **argv)
{
	const char *name = NULL, *out = NULL;
	char def_out[128], manifest[65536], ts[40], tmp[PATH_MAX + 32];
	struct member *m = NULL;
	struct json_buf jb;
	struct cage_paths p;
	struct tgz *t = NULL;
	bool secrets = false;
	int rc, n, skipped = 0, err = 0;
	time_t now = time(NULL);
	struct tm tm;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--include-secrets"))
			secrets = true;
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else
			return cli_usage_error("backup", "unexpected argument '%s'", argv[i]);
	}
	if (!name)
		return cli_usage_error("backup", "no cage name");
	rc = cli_cage_lookup("backup", name, &p, false);
	if (rc)
		return rc;
	gmtime_r(&now, &tm);
	if (!out) {
		strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", &tm);
		snprintf(def_out, sizeof(def_out), "%s-%s.tar.gz", name, ts);
		out = def_out;
	}
	m = calloc(MAX_FILES, sizeof(*m));
	if (!m) {
		p_err("backup: out of memory");
		return 1;
	}
	n = collect_dir(p.state_dir, "state/", "", secrets, m, 0, &skipped);
	n = collect_logs(&p, m, n);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	jb_init(&jb, manifest, sizeof(manifest));
	jb_open(&jb);
	jb_str(&jb, "format", BACKUP_FORMAT);
	jb_int(&jb, "version", BACKUP_VERSION);
	jb_str(&jb, "cage", name);
	jb_str(&jb, "created_at", ts);
	jb_str(&jb, "cagectl_version", CAGECTL_VERSION);
	jb_bool(&jb, "include_secrets", secrets);
	jb_key(&jb, "files");
	jb_array_open(&jb);
	for (int i = 0; i < n; i++)
		jb_array_str(&jb, m[i].name);
	jb_array_close(&jb);
	jb_close(&jb);
	if (!jb_finish(&jb)) {
		p_err("backup: manifest too long");
		rc = 1;
		goto out;
	}
	/* Written under a temporary name: an interrupted backup never looks like a complete one. */
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", out, (int)getpid());
	err = tgz_create(tmp, &t);
	if (err) {
		p_err("backup: can't create %s: %s", out, strerror(-err));
		rc = 1;
		goto out;
	}
	err = tgz_add_mem(t, "manifest.json", manifest, strlen(manifest), 0644);
	for (int i = 0; i < n && !err; i++) {
		err = tgz_add_file(t, m[i].name, m[i].path, m[i].mode);
		if (err)
			p_err("backup: can't add %s: %s", m[i].path, strerror(-err));
	}
	if (tgz_finish(t) && !err)
		err = -EIO;
	if (!err && rename(tmp, out))
		err = -errno;
	if (err) {
		unlink(tmp);
		p_err("backup: can't write %s: %s", out, strerror(-err));
		rc = 1;
		goto out;
	}
	if (secrets)
		p_warn("backup: %s holds secrets; stored secret values are encrypted with this host's key "
		       "and restore only here", out);
	if (json_output)
		printf("{\"name\":\"%s\",\"file\":\"%s\",\"files\":%d,\"include_secrets\":%s,"
		       "\"secret_files_left_out\":%d}\n", name, out, n, secrets ? "true" : "false", skipped);
	else
		p_info("backup of %s written to %s (%d files%s)", name, out, n,
		       skipped ? "; secrets left out, see --include-secrets" : "");
out:
	free(m);
	return rc;
}

static int mkdir_p(const char *path, unsigned mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(buf, mode) && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	return mkdir(buf, mode) && errno != EEXIST ? -errno : 0;
}

static int rm_tree(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d)
		return unlink(path) && errno != ENOENT ? -errno : 0;
	while ((de = readdir(d))) {
		char sub[PATH_MAX + 256];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		rm_tree(sub);
	}
	closedir(d);
	return rmdir(path) ? -errno : 0;
}

/* Moves every file under src into dst (same relative paths), replacing what is there. */
static int move_tree(const char *src, const char *dst, unsigned dir_mode)
{
	struct dirent *de;
	DIR *d = opendir(src);
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	err = mkdir_p(dst, dir_mode);
	while (!err && (de = readdir(d))) {
		char s[PATH_MAX + 256], t[PATH_MAX + 256];
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(s, sizeof(s), "%s/%s", src, de->d_name);
		snprintf(t, sizeof(t), "%s/%s", dst, de->d_name);
		if (lstat(s, &sb))
			continue;
		if (S_ISDIR(sb.st_mode))
			err = move_tree(s, t, !strcmp(de->d_name, "secrets") ? 0700 : dir_mode);
		else if (rename(s, t))
			err = -errno;
	}
	closedir(d);
	return err;
}

struct manifest {
	int version;
	bool include_secrets;
	char cage[64];
};

static int parse_manifest(const char *text, struct manifest *mf, char *why, size_t len)
{
	struct audit_rec r;
	const char *v;

	if (audit_rec_parse(text, strlen(text), &r)) {
		snprintf(why, len, "the manifest is not a JSON object");
		return -EBADMSG;
	}
	v = audit_rec_get(&r, "format");
	if (!v || strcmp(v, BACKUP_FORMAT)) {
		snprintf(why, len, "not a cagectl backup (format %s)", v ? v : "missing");
		goto bad;
	}
	v = audit_rec_get(&r, "version");
	mf->version = v ? atoi(v) : 0;
	if (mf->version != BACKUP_VERSION) {
		snprintf(why, len, "backup format version %s; this cagectl reads version %d", v ? v : "missing",
			 BACKUP_VERSION);
		goto bad;
	}
	v = audit_rec_get(&r, "cage");
	if (!v || !cage_name_valid(v)) {
		snprintf(why, len, "the manifest names no valid cage");
		goto bad;
	}
	snprintf(mf->cage, sizeof(mf->cage), "%s", v);
	v = audit_rec_get(&r, "include_secrets");
	mf->include_secrets = v && !strcmp(v, "true");
	audit_rec_free(&r);
	return 0;
bad:
	audit_rec_free(&r);
	return -EBADMSG;
}

/* Extracts every member into staging/{state,log}; stops at the first problem. */
static int extract(struct tgz *t, const char *staging, char *why, size_t len)
{
	char name[100], path[PATH_MAX + 128], *slash;
	uint64_t size;
	int r, err;

	while ((r = tgz_next(t, name, sizeof(name), &size)) == 1) {
		if (strncmp(name, "state/", 6) && strncmp(name, "log/", 4)) {
			snprintf(why, len, "unexpected member %s", name);
			return -EBADMSG;
		}
		snprintf(path, sizeof(path), "%s/%s", staging, name);
		slash = strrchr(path, '/');
		*slash = '\0';
		err = mkdir_p(path, 0700);
		*slash = '/';
		if (!err)
			err = tgz_read_file(t, size, path, !strncmp(name, "log/", 4) ? 0640 : 0600);
		if (err) {
			snprintf(why, len, "%s: %s", name, err == -EBADMSG ? "truncated or corrupt" : strerror(-err));
			return err;
		}
	}
	if (r < 0)
		snprintf(why, len, "a corrupt tar header");
	return r;
}

int do_restore(int argc, char **argv)
{
	const char *file = NULL, *new_name = NULL;
	char staging[PATH_MAX + 64], why[512] = "", entry[100], *mtext = NULL, cfg_path[PATH_MAX + 128];
	char tmp_cfg[] = "/tmp/cagectl-restore-XXXXXX.yaml", *cfg_text = NULL, msg[512];
	struct cage_paths p, roots;
	struct manifest mf;
	struct tgz *t = NULL;
	bool force = false, start = true, existed;
	uint64_t size;
	const char *name;
	struct stat sb;
	int rc = 1, err, fd;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			new_name = argv[++i];
		else if (!strcmp(argv[i], "--no-start"))
			start = false;
		else if (!strcmp(argv[i], "--force"))
			force = true;
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			return cli_usage_error("restore", "unexpected argument '%s'", argv[i]);
	}
	if (!file)
		return cli_usage_error("restore", "no backup file");
	if (new_name && !cage_name_valid(new_name))
		return cli_usage_error("restore", "'%s' is not a cage name", new_name);
	err = tgz_open(file, &t);
	if (err) {
		p_err("restore: %s: %s", file, err == -EBADMSG ? "not a gzip file; is it a cagectl backup?"
								: strerror(-err));
		return 1;
	}
	err = tgz_next(t, entry, sizeof(entry), &size);
	if (err != 1 || strcmp(entry, "manifest.json") || tgz_read_mem(t, size, &mtext) ||
	    parse_manifest(mtext, &mf, why, sizeof(why))) {
		p_err("restore: %s is corrupt or not a cagectl backup: %s", file,
		      why[0] ? why : "manifest.json is not its first member");
		goto out_close;
	}
	name = new_name ? new_name : mf.cage;
	if (cage_paths_init(&p, name) || cage_paths_roots(&roots)) {
		p_err("restore: can't find a cgroup v2 mount");
		goto out_close;
	}
	existed = stat(p.state_dir, &sb) == 0 || cage_exists(&p);
	if (existed && !force) {
		p_err("restore: cage %s already exists; use --force to replace it (or --name NEW)", name);
		goto out_close;
	}
	if (mkdir_p(roots.state_root, 0755)) {
		p_err("restore: can't create %s: %s", roots.state_root, strerror(errno));
		goto out_close;
	}
	snprintf(staging, sizeof(staging), "%s/.restore-%s-%d", roots.state_root, name, (int)getpid());
	rm_tree(staging);
	err = mkdir_p(staging, 0700);
	if (!err)
		err = extract(t, staging, why, sizeof(why));
	if (!err) {
		err = tgz_close(t);
		t = NULL;
		if (err)
			snprintf(why, sizeof(why), "the gzip checksum does not match (truncated or modified)");
	}
	if (err) {
		p_err("restore: %s is corrupt: %s; nothing was changed", file, why);
		goto out_staging;
	}
	snprintf(cfg_path, sizeof(cfg_path), "%s/state/cage.yaml", staging);
	if (cli_read_file(cfg_path, &cfg_text, NULL, 1 << 20)) {
		p_err("restore: %s has no state/cage.yaml; nothing was changed", file);
		goto out_staging;
	}
	if (new_name && strcmp(new_name, mf.cage)) {
		if (yaml_set_top_scalar(&cfg_text, "name", new_name) ||
		    cli_write_file_atomic(cfg_path, cfg_text, strlen(cfg_text), 0600)) {
			p_err("restore: can't rename the config to %s", new_name);
			goto out_staging;
		}
	}
	if (existed && cage_exists(&p) && cage_down(&p, msg, sizeof(msg))) {
		p_err("restore: can't remove the existing cage %s: %s", name, msg);
		goto out_staging;
	}
	snprintf(cfg_path, sizeof(cfg_path), "%s/state", staging);
	err = move_tree(cfg_path, p.state_dir, 0700);
	snprintf(cfg_path, sizeof(cfg_path), "%s/log", staging);
	if (!err)
		err = move_tree(cfg_path, p.log_dir, 0750);
	if (err) {
		p_err("restore: can't move files into %s: %s", p.state_dir, strerror(-err));
		goto out_staging;
	}
	rc = 0;
	if (start) {
		/* `up` copies its config into the state dir; hand it a copy so it never reads what it writes. */
		fd = mkstemps(tmp_cfg, 5);
		if (fd < 0 || write(fd, cfg_text, strlen(cfg_text)) != (ssize_t)strlen(cfg_text)) {
			p_err("restore: can't write %s: %s", tmp_cfg, strerror(errno));
			rc = 1;
		} else {
			char *up_argv[] = { "cagectl", "-q", "up", tmp_cfg, NULL };

			if (cli_run_self(up_argv)) {
				p_err("restore: files restored, but cage %s did not come up", name);
				rc = 1;
			}
		}
		if (fd >= 0) {
			close(fd);
			unlink(tmp_cfg);
		}
	}
	if (json_output)
		printf("{\"name\":\"%s\",\"from\":\"%s\",\"replaced\":%s,\"started\":%s}\n", name, mf.cage,
		       existed ? "true" : "false", start && !rc ? "true" : "false");
	else if (!rc)
		p_info("cage %s restored from %s%s", name, file, start ? " and up" : "");
out_staging:
	rm_tree(staging);
out_close:
	if (t)
		tgz_close(t);
	free(cfg_text);
	free(mtext);
	return rc;
}
