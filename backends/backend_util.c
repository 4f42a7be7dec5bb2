// SPDX-License-Identifier: GPL-2.0-only
/* Template rendering, running the guest CLIs, and the paths a guest may never see. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/backend.h"
#include "backends/backend_util.h"
#include "lib/log.h"

int backend_mkdir_p(const char *dir, int mode)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(path, (mode_t)mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static char *slurp(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	*len_out = len;
	return buf;
}

int tmpl_render_file(const char *in_path, const struct tmpl_var *vars, size_t n_vars,
		     const char *out_path)
{
	char tmp[PATH_MAX + 8];
	size_t len;
	char *in = slurp(in_path, &len), *s, *at;
	FILE *out = NULL;
	int err = 0;

	if (!in) {
		p_err("can't read template %s: %s", in_path, strerror(errno));
		return -errno ?: -ENOMEM;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", out_path);
	out = fopen(tmp, "we");
	if (!out) {
		err = -errno;
		p_err("can't write %s: %s", tmp, strerror(-err));
		goto out;
	}
	for (s = in; (at = strchr(s, '@')); ) {
		char *end = strchr(at + 1, '@');
		size_t i, klen;

		fwrite(s, 1, (size_t)(at - s), out);
		if (!end) {
			s = at;
			break;
		}
		klen = (size_t)(end - at - 1);
		for (i = 0; i < n_vars; i++)
			if (strlen(vars[i].key) == klen && !strncmp(vars[i].key, at + 1, klen))
				break;
		if (i == n_vars) {
			p_err("template %s: unknown key @%.*s@", in_path, (int)klen, at + 1);
			err = -EINVAL;
			goto out;
		}
		fputs(vars[i].value, out);
		s = end + 1;
	}
	fputs(s, out);
	if (fclose(out)) {
		out = NULL;
		err = -errno;
		goto out;
	}
	out = NULL;
	if (rename(tmp, out_path)) {
		err = -errno;
		p_err("can't rename %s to %s: %s", tmp, out_path, strerror(-err));
	}
out:
	if (out)
		fclose(out);
	if (err)
		unlink(tmp);
	free(in);
	return err;
}

int run_argv(char *const argv[], const char *input, size_t input_len, int *exit_code)
{
	int pipefd[2] = { -1, -1 }, status, err = 0;
	pid_t pid;

	if (input && pipe(pipefd))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto out;
	}
	if (pid == 0) {
		if (input) {
			dup2(pipefd[0], 0);
			close(pipefd[0]);
			close(pipefd[1]);
		}
		execvp(argv[0], argv);
		_exit(errno == ENOENT ? 127 : 126);
	}
	if (input) {
		/* A guest that exits early must not kill us with SIGPIPE mid-secret. */
		void (*old)(int) = signal(SIGPIPE, SIG_IGN);
		size_t off = 0;

		close(pipefd[0]);
		pipefd[0] = -1;
		while (off < input_len) {
			ssize_t n = write(pipefd[1], input + off, input_len - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		close(pipefd[1]);
		pipefd[1] = -1;
		signal(SIGPIPE, old);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			err = -errno;
			goto out;
		}
	if (WIFEXITED(status))
		*exit_code = WEXITSTATUS(status);
	else
		*exit_code = 128 + WTERMSIG(status);
	if (*exit_code == 127)
		err = -ENOENT;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return err;
}

/* Credentials of the user's other tools: never shared into a guest, whatever the config says. */
static const char *const forbidden_dirs[] = { ".ssh", ".gnupg", ".aws", ".kube", ".docker", NULL };

bool backend_path_forbidden(const char *path, const char **why)
{
	const char *home = getenv("HOME");
	char dir[PATH_MAX];
	size_t dl, pl = strlen(path);

	if (home && *home && strcmp(home, "/") && !strcmp(path, home)) {
		*why = "the whole home directory";
		return true;
	}
	if (!strcmp(path, "/")) {
		*why = "the root directory";
		return true;
	}
	for (const char *const *d = forbidden_dirs; *d; d++) {
		/* Under $HOME, and by name anywhere (a project that symlinks ~/.ssh in, say). */
		if (home && *home) {
			snprintf(dir, sizeof(dir), "%s/%s", home, *d);
			dl = strlen(dir);
			/* the dir itself, something below it, or a parent that contains it */
			if ((!strncmp(path, dir, dl) && (path[dl] == '\0' || path[dl] == '/')) ||
			    (pl < dl && !strncmp(dir, path, pl) && dir[pl] == '/')) {
				*why = *d;
				return true;
			}
		}
		for (const char *s = strstr(path, *d); s; s = strstr(s + 1, *d))
			if (s > path && s[-1] == '/' && (s[strlen(*d)] == '\0' || s[strlen(*d)] == '/')) {
				*why = *d;
				return true;
			}
	}
	return false;
}

int backend_cli_run(const struct backend_ctx *ctx, const char *what, struct argv_buf *a,
		    const char *input, size_t input_len, int *code_out)
{
	char prog[32];
	int code = 0, err;

	snprintf(prog, sizeof(prog), "%s", a->n ? a->v[0] : "?");
	err = argv_run(a, input, input_len, &code);
	argv_free(a);
	if (code_out) {
		*code_out = code;
		return err == -ENOENT ? err : 0;
	}
	if (!err && code) {
		p_err("%s: %s %s failed (exit %d)", ctx->instance, prog, what, code);
		err = -EIO;
	}
	return err;
}

void argv_add_all(struct argv_buf *a, char *const argv[])
{
	for (size_t i = 0; argv[i]; i++)
		argv_add(a, argv[i]);
}

void argv_add_cage_exec(struct argv_buf *a, const char *name, char *const argv[])
{
	argv_add(a, "exec");
	argv_add(a, name);
	argv_add(a, "--");
	argv_add_all(a, argv);
}

int backend_status_in_guest(const struct backend_ops *ops, const struct backend_ctx *ctx)
{
	char *argv[] = { "status", (char *)ctx->name, NULL };
	int code, err = ops->guest_cagectl(ctx, argv, NULL, 0, &code);

	return err ?: code ? -EIO : 0;
}
