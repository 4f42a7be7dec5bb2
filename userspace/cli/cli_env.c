// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli_env.h"
#include "secrets/secrets.h"

void cli_env_add(struct cli_env *e, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (e->n >= CLI_ENV_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0)
		e->v[e->n++] = s;
	va_end(ap);
	e->v[e->n] = NULL;
}

void cli_env_build(struct cli_env *e, const struct cage_state *st, const struct cage_config_file *cfg,
		   const char *state_dir, const char *term)
{
	char gw[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &st->addrs.gw4, gw, sizeof(gw));
	cli_env_add(e, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	cli_env_add(e, "HOME=%s", cfg && cfg->workdir ? cfg->workdir : "/tmp");
	cli_env_add(e, "TERM=%s", term ? term : "dumb");
	cli_env_add(e, "LANG=C.UTF-8");
	cli_env_add(e, "CAGECTL_CAGE=%s", st->name);
	/* Clients that honour proxy variables use the explicit port; the rest are redirected. */
	cli_env_add(e, "HTTP_PROXY=http://%s:%u", gw, st->explicit_port);
	cli_env_add(e, "HTTPS_PROXY=http://%s:%u", gw, st->explicit_port);
	cli_env_add(e, "http_proxy=http://%s:%u", gw, st->explicit_port);
	cli_env_add(e, "https_proxy=http://%s:%u", gw, st->explicit_port);
	/* Every TLS stack the agent may use trusts the system roots plus the cage CA. */
	cli_env_add(e, "SSL_CERT_FILE=%s", CAGE_BUNDLE_IN_CAGE);
	cli_env_add(e, "REQUESTS_CA_BUNDLE=%s", CAGE_BUNDLE_IN_CAGE);
	cli_env_add(e, "CURL_CA_BUNDLE=%s", CAGE_BUNDLE_IN_CAGE);
	cli_env_add(e, "GIT_SSL_CAINFO=%s", CAGE_BUNDLE_IN_CAGE);
	cli_env_add(e, "NODE_EXTRA_CA_CERTS=%s", CAGE_CA_IN_CAGE);
	cli_env_add(e, "NO_PROXY=localhost,127.0.0.1,::1");
	cli_env_add(e, "no_proxy=localhost,127.0.0.1,::1");
	for (size_t i = 0; cfg && i < cfg->n_env; i++)
		cli_env_add(e, "%s=%s", cfg->env[i].name, cfg->env[i].value);
	/* The agent holds placeholders only; cage-proxy swaps the real value in where it is bound. */
	for (size_t i = 0; cfg && i < cfg->n_secrets; i++) {
		char ph[512];

		if (secrets_placeholder_for(cfg, state_dir, cfg->secrets[i].name, ph, sizeof(ph)) == 0)
			cli_env_add(e, "%s=%s", cfg->secrets[i].name, ph);
	}
}

void cli_env_free(struct cli_env *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
}
