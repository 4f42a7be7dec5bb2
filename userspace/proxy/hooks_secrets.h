/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cage-proxy's hooks: the inspector chain, then the secrets engine (placeholder → value on the
 * way out, value → placeholder on the way back). main.c calls px_hooks_setup() as root before
 * the privilege drop and px_hooks_reload() on SIGHUP.
 */
#ifndef CAGE_PROXY_HOOKS_SECRETS_H
#define CAGE_PROXY_HOOKS_SECRETS_H

/* Loads the host key, the secrets ruleset and the inspector chain; installs the hooks. */
int px_hooks_setup(const char *cage, const char *config_path);
/* Builds a new ruleset (and known values) from the config and the store; keeps the old one on
 * failure. 0 or -errno. */
int px_hooks_reload(void);

#endif
