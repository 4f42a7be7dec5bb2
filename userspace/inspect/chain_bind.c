// SPDX-License-Identifier: GPL-2.0-only
/*
 * The chain's own copy of the secret bindings (name, inject_to, inject_headers, inject_body)
 * that the known-value matcher needs whenever inspect_set_known_values() rebuilds the scan
 * database. The proxy reloads its config on SIGHUP and frees the old one: a chain that kept
 * pointing into it would read freed memory on the next `cagectl secret set`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "inspect/inspect_internal.h"

static int strv_copy(const struct cage_strv *in, struct cage_strv *out)
{
	out->v = calloc(in->n ? in->n : 1, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < in->n; i++) {
		out->v[i] = strdup(in->v[i] ? in->v[i] : "");
		if (!out->v[i])
			return -ENOMEM;
		out->n++;
	}
	return 0;
}

/* A config holding only cfg's secrets, freed with cage_config_free(). */
int chain_bind_copy(const struct cage_config_file *cfg, struct cage_config_file **out)
{
	struct cage_config_file *b = calloc(1, sizeof(*b));
	size_t n = cfg ? cfg->n_secrets : 0;
	int err = -ENOMEM;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	b->secrets = calloc(n ? n : 1, sizeof(*b->secrets));
	if (!b->secrets)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const struct cage_secret_rule *in = &cfg->secrets[i];
		struct cage_secret_rule *r = &b->secrets[i];

		b->n_secrets++;
		r->inject_body = in->inject_body;
		if (in->name && !(r->name = strdup(in->name)))
			goto fail;
		if ((err = strv_copy(&in->inject_to, &r->inject_to)) ||
		    (err = strv_copy(&in->inject_headers, &r->inject_headers)))
			goto fail;
		err = -ENOMEM;
	}
	*out = b;
	return 0;
fail:
	cage_config_free(b);
	return err;
}
