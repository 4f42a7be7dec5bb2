// SPDX-License-Identifier: GPL-2.0-only
/* The installed inspection hooks: set once before the workers start, read by every worker. */
#include "proxy/hooks.h"

static struct proxy_hooks installed;
static bool have_hooks;

void proxy_hooks_set(const struct proxy_hooks *hooks)
{
	have_hooks = hooks != NULL;
	if (hooks)
		installed = *hooks;
}

const struct proxy_hooks *proxy_hooks_get(void)
{
	return have_hooks ? &installed : NULL;
}
