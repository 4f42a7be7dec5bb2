// SPDX-License-Identifier: GPL-2.0-only
/*
 * Domain patterns and cage names. A pattern is stored canonical (lower case, no trailing dot) so
 * the proxy, the resolver and `cagectl domain rm` all compare the same bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "lib/domain.h"
#include "lib/ipclass.h"

bool cage_name_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strlen(name);
	if (len < 1 || len > CAGE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);

		if (!ok)
			return false;
	}
	return true;
}

/* "1.2.3.4", "127.1", "[::1]", "10.0.0.0/8": the shapes people write for an address. */
static bool looks_like_address(const char *in)
{
	struct cage_addr addr;
	char buf[128];
	size_t len = strcspn(in, "/");

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, in, len);
	buf[len] = '\0';
	return ip_literal_parse(buf, &addr) == 0;
}

/*
 * A pattern of domains.* or inject_to: "*." plus a name, or a name. The name part goes through
 * lib/domain.c, the one canonicalizer the proxy and the resolver use too, so all three compare
 * the same bytes.
 */
int config_domain_pattern(const char *in, char *out, const char **why)
{
	size_t len = strlen(in), label = 0, off = 0;
	char name[CAGE_DOMAIN_MAX + 2];
	int err;

	if (len == 0) {
		*why = "empty domain";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)in[i] >= 0x80) {
			*why = "non-ASCII domain names are not supported; write the IDNA A-label "
			       "(xn--...) form";
			return -EINVAL;
		}
	}
	if (looks_like_address(in)) {
		*why = "IP addresses and CIDR ranges are not supported (no CIDR support yet); list "
		       "host names";
		return -EINVAL;
	}
	if (len > 1 && in[len - 1] == '.')
		len--;
	if (len > CAGE_DOMAIN_MAX) {
		*why = "domain longer than 253 characters";
		return -EINVAL;
	}
	if (len >= 2 && strncmp(in, "*.", 2) == 0)
		off = 2;
	if (off == len) {
		*why = "'*.' needs a domain after it";
		return -EINVAL;
	}
	/* Structural checks first, for precise messages. */
	for (size_t i = off; i <= len; i++) {
		char c = i < len ? in[i] : '\0';

		if (c == '.' || c == '\0') {
			if (label == 0) {
				*why = "empty label (a leading dot or two dots in a row)";
				return -EINVAL;
			}
			if (label > 63) {
				*why = "label longer than 63 characters";
				return -EINVAL;
			}
			label = 0;
			continue;
		}
		if (c == '*') {
			*why = "'*' is only allowed as a leading '*.' label";
			return -EINVAL;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_')) {
			*why = "only letters, digits, '-', '_' and '.' are allowed in a domain name";
			return -EINVAL;
		}
		label++;
	}
	/*
	 * Then the one canonicalizer the proxy and the resolver use (lib/domain.c), so all three
	 * compare the same bytes and refuse the same names.
	 */
	err = domain_canonicalize(in + off, len - off, name, sizeof(name));
	if (err) {
		*why = err == -EADDRNOTAVAIL ?
			"IP addresses and CIDR ranges are not supported (no CIDR support yet); list host names" :
			"not a host name: a label starts with '-' or the last label is a number";
		return -EINVAL;
	}
	memcpy(out, in, off);
	memcpy(out + off, name, strlen(name) + 1);
	return 0;
}

void domain_list_free(struct cage_domain_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->v[i].pattern);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

static int domain_from_scalar(struct loader *ld, const struct ynode *v, char *out)
{
	const char *why;
	int err;

	if (v->kind != YNODE_SCALAR || ynode_is_null(v))
		return cfg_fail(ld, v, "expected a domain, got %s", ynode_kind_name(v));
	if (strlen(v->text) != v->len)
		return cfg_fail(ld, v, "contains a NUL byte");
	err = config_domain_pattern(v->text, out, &why);
	if (err)
		return cfg_fail(ld, v, "%s", why);
	return 0;
}

struct domain_entry {
	char pattern[CAGE_DOMAIN_MAX + 1];
	const struct ynode *domain, *expires, *expires_in;
};

static int entry_domain(struct loader *ld, const struct ynode *v, void *ctx)
{
	struct domain_entry *e = ctx;

	e->domain = v;
	return domain_from_scalar(ld, v, e->pattern);
}

static int entry_expires(struct loader *ld, const struct ynode *v, void *ctx)
{
	((struct domain_entry *)ctx)->expires = v;
	return 0;
}

static int entry_expires_in(struct loader *ld, const struct ynode *v, void *ctx)
{
	((struct domain_entry *)ctx)->expires_in = v;
	return 0;
}

static const struct key_spec domain_entry_keys[] = {
	{ "domain", entry_domain, NULL },
	{ "expires", entry_expires, NULL },
	{ "expires_in", entry_expires_in, NULL },
};

static int domain_entry(struct loader *ld, const struct ynode *v, struct cage_domain *d)
{
	struct domain_entry e = { 0 };
	size_t saved;
	int err;

	if (v->kind != YNODE_MAPPING) {
		err = domain_from_scalar(ld, v, e.pattern);
		goto out_copy;
	}
	err = cfg_walk_map(ld, v, domain_entry_keys, 3, &e);
	if (err)
		return err;
	if (!e.domain)
		return cfg_fail(ld, v, "entry needs 'domain:'");
	if (e.expires && e.expires_in) {
		saved = cfg_push_key(ld, "expires_in");
		err = cfg_fail(ld, e.expires_in, "give 'expires' or 'expires_in', not both");
		cfg_pop(ld, saved);
		return err;
	}
	if (e.expires) {
		saved = cfg_push_key(ld, "expires");
		err = cfg_timestamp(ld, e.expires, &d->expires_at);
		if (!err && d->expires_at <= ld->now)
			cfg_warn(ld, e.expires, "already expired; the entry has no effect");
		cfg_pop(ld, saved);
	} else if (e.expires_in) {
		int64_t seconds;

		saved = cfg_push_key(ld, "expires_in");
		err = cfg_duration(ld, e.expires_in, &seconds);
		cfg_pop(ld, saved);
		d->expires_at = ld->now + seconds;
	}
out_copy:
	if (err)
		return err;
	d->pattern = strdup(e.pattern);
	return d->pattern ? 0 : -ENOMEM;
}

int cfg_domain_list(struct loader *ld, const struct ynode *v, struct cage_domain_list *out)
{
	if (ynode_is_null(v))
		return 0;
	if (v->kind != YNODE_SEQUENCE)
		return cfg_fail(ld, v, "expected a list of domains, got %s", ynode_kind_name(v));
	for (size_t i = 0; i < v->n_items; i++) {
		size_t saved = cfg_push_index(ld, i);
		struct cage_domain d = { 0 }, *slot;
		int err = domain_entry(ld, v->items[i], &d);

		for (size_t j = 0; !err && j < out->n; j++)
			if (strcmp(out->v[j].pattern, d.pattern) == 0)
				err = cfg_fail(ld, v->items[i], "'%s' is listed twice", d.pattern);
		if (err) {
			free(d.pattern);
			return err;
		}
		cfg_pop(ld, saved);
		slot = cfg_grow(&out->v, &out->n, sizeof(*out->v));
		if (!slot) {
			free(d.pattern);
			return -ENOMEM;
		}
		*slot = d;
	}
	return 0;
}

int cfg_domain_strv(struct loader *ld, const struct ynode *v, struct cage_strv *out)
{
	if (ynode_is_null(v))
		return 0;
	if (v->kind != YNODE_SEQUENCE)
		return cfg_fail(ld, v, "expected a list of domains, got %s", ynode_kind_name(v));
	for (size_t i = 0; i < v->n_items; i++) {
		char pattern[CAGE_DOMAIN_MAX + 1];
		size_t saved = cfg_push_index(ld, i);
		int err = domain_from_scalar(ld, v->items[i], pattern);

		if (err)
			return err;
		cfg_pop(ld, saved);
		err = strv_push(out, pattern);
		if (err)
			return err;
	}
	return 0;
}
