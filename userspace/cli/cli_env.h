/* SPDX-License-Identifier: GPL-2.0-only */
/* The workload's environment, the same for `cagectl exec`, `shell`, `run` and guest-init. */
#ifndef CAGE_CLI_ENV_H
#define CAGE_CLI_ENV_H

#include <stddef.h>

#include "config/config.h"
#include "enforce/state.h"

#define CLI_ENV_MAX 256
#define CAGE_BUNDLE_IN_CAGE "/etc/ssl/certs/ca-certificates.crt"
#define CAGE_CA_IN_CAGE "/etc/cage/ca.crt"

struct cli_env {
	char *v[CLI_ENV_MAX + 1];   /* NULL-terminated */
	size_t n;
};

void cli_env_add(struct cli_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * A clean base (PATH, HOME, TERM=term, LANG), the proxy variables, the CA trust variables, the
 * config's env, then a placeholder for each of the config's secrets. cfg may be NULL.
 */
void cli_env_build(struct cli_env *e, const struct cage_state *st, const struct cage_config_file *cfg,
		   const char *state_dir, const char *term);
void cli_env_free(struct cli_env *e);

#endif
