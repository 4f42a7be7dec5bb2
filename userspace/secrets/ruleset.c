// SPDX-License-Identifier: GPL-2.0-only
/*
 * A ruleset is the read-only snapshot the engine works from: rules, the compiled matchers for
 * both directions and the list of known values. cage-proxy builds a new one on SIGHUP and swaps
 * the current pointer; streams keep a reference to the one they started with.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/domain.h"
#include "secrets/internal.h"

struct secrets_ruleset *secrets_ruleset_new(const struct secrets_policy *pol)
{
	struct secrets_ruleset *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	atomic_init(&rs->refs, 1);
	if (pol)
		rs->pol = *pol;
	else
		rs->pol.misdirected = SECRETS_BLOCK;
	return rs;
}

static void rule_free(struct secrets_rule *r)
{
	free(r->key);
	free(r->placeholder);
	secure_free(r->value, r->value_len);
	domain_set_free(r->inject_to);
	for (size_t i = 0; i < r->n_inject_headers; i++)
		free(r->inject_headers[i]);
	free(r->inject_headers);
}

static void ruleset_free(struct secrets_ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		rule_free(&rs->rules[i]);
	free(rs->rules);
	matcher_free(&rs->inject);
	matcher_free(&rs->redact);
	free(rs->known);
	free(rs);
}

struct secrets_ruleset *secrets_ruleset_get(struct secrets_ruleset *rs)
{
	if (rs)
		atomic_fetch_add(&rs->refs, 1);
	return rs;
}

void secrets_ruleset_put(struct secrets_ruleset *rs)
{
	if (rs && atomic_fetch_sub(&rs->refs, 1) == 1)
		ruleset_free(rs);
}

int secrets_ruleset_add(struct secrets_ruleset *rs, const struct secrets_rule_spec *spec)
{
	struct secrets_rule *rules, *r;
	int err = -ENOMEM;

	if (rs->compiled || !secrets_key_valid(spec->key) ||
	    !secrets_placeholder_valid(spec->placeholder) ||
	    (spec->value && (!spec->value_len || spec->value_len > SECRETS_VALUE_MAX)))
		return -EINVAL;
	if (rs->n >= SECRETS_RULES_MAX)
		return -E2BIG;
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->rules[i].key, spec->key) == 0 ||
		    strcmp(rs->rules[i].placeholder, spec->placeholder) == 0)
			return -EEXIST;
	rules = realloc(rs->rules, (rs->n + 1) * sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	rs->rules = rules;
	r = &rules[rs->n];
	memset(r, 0, sizeof(*r));
	r->key = strdup(spec->key);
	r->placeholder = strdup(spec->placeholder);
	if (!r->key || !r->placeholder)
		goto err_free;
	if (spec->value) {
		r->value = secure_alloc(spec->value_len);
		if (!r->value)
			goto err_free;
		memcpy(r->value, spec->value, spec->value_len);
		r->value_len = spec->value_len;
	}
	if (spec->inject_to && spec->inject_to->n) {
		r->inject_to = domain_set_new();
		if (!r->inject_to)
			goto err_free;
		for (size_t i = 0; i < spec->inject_to->n; i++) {
			err = domain_set_add(r->inject_to, spec->inject_to->v[i], (uint32_t)i);
			if (err && err != -EEXIST)
				goto err_free;
		}
		err = -ENOMEM;
	}
	if (spec->inject_headers && spec->inject_headers->n) {
		r->inject_headers = calloc(spec->inject_headers->n, sizeof(char *));
		if (!r->inject_headers)
			goto err_free;
		for (size_t i = 0; i < spec->inject_headers->n; i++) {
			r->inject_headers[i] = strdup(spec->inject_headers->v[i]);
			if (!r->inject_headers[i])
				goto err_free;
			r->n_inject_headers++;
		}
	}
	r->inject_body = spec->inject_body;
	rs->n++;
	return 0;

err_free:
	rule_free(r);
	return err;
}

/*
 * The base64 characters that depend on value bytes only, when the value starts `shift` bytes
 * into a 3-byte group: the form that survives inside a longer encoded string (Basic auth of
 * "user:value", a JSON blob). Characters shared with neighbouring bytes are left out.
 */
static int b64_core(const unsigned char *v, size_t len, unsigned shift, bool url, char **out,
		    size_t *out_len)
{
	size_t n = shift + len, first = (8 * shift + 5) / 6, last = (8 * n) / 6;
	unsigned char *tmp = secure_alloc(n);
	char *enc = secure_alloc(b64_encoded_len(n) + 1);

	*out = NULL;
	if (!tmp || !enc) {
		secure_free(tmp, n);
		secure_free(enc, b64_encoded_len(n) + 1);
		return -ENOMEM;
	}
	memcpy(tmp + shift, v, len);
	b64_encode(tmp, n, enc, url, false);
	secure_free(tmp, n);
	*out_len = last > first ? last - first : 0;
	memmove(enc, enc + first, *out_len);
	enc[*out_len] = '\0';
	*out = enc;
	return 0;
}

#define B64_CORE_MIN 12  /* shorter encoded fragments would match unrelated base64 */

static int add_b64_forms(struct matcher *m, const struct secrets_rule *r, int id)
{
	for (unsigned shift = 0; shift < 3; shift++) {
		for (int url = 0; url < 2; url++) {
			char *v = NULL, *ph = NULL;
			size_t vl = 0, pl = 0;
			int err = b64_core(r->value, r->value_len, shift, url, &v, &vl) ?:
				  b64_core((const unsigned char *)r->placeholder,
					   strlen(r->placeholder), shift, url, &ph, &pl);

			if (!err && vl >= B64_CORE_MIN)
				err = matcher_add(m, v, vl, ph, pl, id, false);
			if (v)
				secure_free(v, b64_encoded_len(shift + r->value_len) + 1);
			if (ph)
				secure_free(ph, b64_encoded_len(shift + strlen(r->placeholder)) + 1);
			if (err)
				return err;
		}
	}
	return 0;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* %XX forms (upper and lower hex), only when the value has a byte that gets encoded. */
static int add_percent_forms(struct matcher *m, const struct secrets_rule *r, int id)
{
	size_t cap = 3 * r->value_len + 1;
	char *enc = secure_alloc(cap);
	bool differs = false;
	int err = 0;

	if (!enc)
		return -ENOMEM;
	for (int upper = 0; upper < 2 && !err; upper++) {
		size_t o = 0;

		for (size_t i = 0; i < r->value_len; i++) {
			unsigned char c = r->value[i];

			if (unreserved(c)) {
				enc[o++] = (char)c;
				continue;
			}
			differs = true;
			snprintf(enc + o, 4, upper ? "%%%02X" : "%%%02x", c);
			o += 3;
		}
		if (differs)
			err = matcher_add(m, enc, o, r->placeholder, strlen(r->placeholder), id, false);
	}
	secure_free(enc, cap);
	return err;
}

int secrets_ruleset_compile(struct secrets_ruleset *rs)
{
	static const char *const shapes[] = { SECRETS_PREFIX, "cagectl%3asecret%3a" };
	int err = 0;

	if (rs->compiled)
		return -EINVAL;
	rs->known = calloc(rs->n ? rs->n : 1, sizeof(*rs->known));
	if (!rs->known)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]) && !err; i++)
		err = matcher_add(&rs->inject, shapes[i], strlen(shapes[i]), NULL, 0, PAT_SHAPE, true);
	for (size_t i = 0; i < rs->n && !err; i++) {
		const struct secrets_rule *r = &rs->rules[i];

		err = matcher_add(&rs->inject, r->placeholder, strlen(r->placeholder), r->value,
				  r->value_len, (int)i, false);
		if (err || !r->value)
			continue;
		err = matcher_add(&rs->redact, r->value, r->value_len, r->placeholder,
				  strlen(r->placeholder), (int)i, false) ?:
		      add_b64_forms(&rs->redact, r, (int)i) ?: add_percent_forms(&rs->redact, r, (int)i);
		rs->known[rs->n_known++] = (struct secrets_known_value){
			.key = r->key, .value = r->value, .len = r->value_len,
		};
	}
	if (err)
		return err;
	matcher_build(&rs->inject);
	rs->redact.fold_overlaps = true;
	matcher_build(&rs->redact);
	rs->compiled = true;
	return 0;
}

size_t secrets_rule_count(const struct secrets_ruleset *rs)
{
	return rs ? rs->n : 0;
}

const char *secrets_rule_key(const struct secrets_ruleset *rs, size_t i)
{
	return rs && i < rs->n ? rs->rules[i].key : NULL;
}

size_t secrets_mask_names(const struct secrets_ruleset *rs, uint64_t mask, char *buf, size_t len)
{
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; rs && i < rs->n && i < 64; i++) {
		int n;

		if (!(mask & (1ull << i)))
			continue;
		n = snprintf(buf + off, off < len ? len - off : 0, "%s%s", off ? "," : "",
			     rs->rules[i].key);
		if (n > 0)
			off = off + (size_t)n < len ? off + (size_t)n : (len ? len - 1 : 0);
	}
	return off;
}

const struct secrets_known_value *secrets_known_values(const struct secrets_ruleset *rs, size_t *n)
{
	*n = rs ? rs->n_known : 0;
	return rs ? rs->known : NULL;
}

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct secrets_ruleset *current;

void secrets_current_set(struct secrets_ruleset *rs)
{
	struct secrets_ruleset *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = rs;
	pthread_mutex_unlock(&current_lock);
	secrets_ruleset_put(old);
}

struct secrets_ruleset *secrets_current_get(void)
{
	struct secrets_ruleset *rs;

	pthread_mutex_lock(&current_lock);
	rs = secrets_ruleset_get(current);
	pthread_mutex_unlock(&current_lock);
	return rs;
}

/* One rule from the config and the store. A value that exists but does not open is an error. */
static int load_one(struct secrets_ruleset *rs, const struct cage_config_file *cfg,
		    const struct cage_secret_rule *crule, const char *key, const char *state_dir,
		    const struct secrets_hostkey *hk, char *msg, size_t len)
{
	struct secrets_rule_spec spec = { .key = key };
	struct secrets_meta meta = { 0 };
	char ph[SECRETS_PLACEHOLDER_MAX + 1];
	unsigned char *value = NULL;
	size_t vlen = 0;
	int err;

	err = secrets_meta_read(state_dir, key, &meta);
	if (err && err != -ENOENT) {
		snprintf(msg, len, "secret %s: can't read %s/secrets/%s.meta: %s", key, state_dir, key,
			 strerror(-err));
		return err;
	}
	err = secrets_placeholder_for(cfg, state_dir, key, ph, sizeof(ph));
	if (err) {
		snprintf(msg, len, "secret %s: no placeholder (%s/secrets/%s.meta): %s", key,
			 state_dir, key, strerror(-err));
		goto out;
	}
	err = secrets_store_read(state_dir, key, hk, &value, &vlen);
	if (err && err != -ENOENT) {
		snprintf(msg, len, "secret %s: can't read %s/secrets/%s: %s", key, state_dir, key,
			 err == -EBADMSG ? "corrupt, tampered with, or sealed with another host key"
			 : err == -ENOKEY ? "sealed, and no host key is loaded"
					  : strerror(-err));
		goto out;
	}
	spec.placeholder = ph;
	spec.value = value;
	spec.value_len = vlen;
	spec.inject_to = crule && crule->inject_to.n ? &crule->inject_to : &meta.inject_to;
	spec.inject_headers = crule ? &crule->inject_headers : NULL;
	spec.inject_body = crule && crule->inject_body;
	err = secrets_ruleset_add(rs, &spec);
	if (err)
		snprintf(msg, len, "secret %s: %s", key,
			 err == -EEXIST ? "its placeholder is also another secret's"
			 : err == -E2BIG ? "too many secrets (at most 64)"
					 : "invalid placeholder or inject_to pattern");
out:
	if (value)
		secrets_value_free(value, vlen);
	secrets_meta_free(&meta);
	return err;
}

int secrets_ruleset_load(const struct cage_config_file *cfg, const char *state_dir,
			 const struct secrets_hostkey *hk, const struct secrets_policy *pol,
			 struct secrets_ruleset **out, char *msg, size_t len)
{
	struct secrets_ruleset *rs = secrets_ruleset_new(pol);
	char **keys = NULL;
	size_t n = 0;
	int err;

	if (!rs)
		return -ENOMEM;
	err = secrets_store_list(state_dir, &keys, &n);
	if (err) {
		snprintf(msg, len, "can't list %s/secrets: %s", state_dir, strerror(-err));
		goto err_free;
	}
	for (size_t i = 0; cfg && i < cfg->n_secrets && !err; i++)
		err = load_one(rs, cfg, &cfg->secrets[i], cfg->secrets[i].name, state_dir, hk, msg,
			       len);
	for (size_t i = 0; i < n && !err; i++) {
		bool named = false;

		for (size_t j = 0; cfg && j < cfg->n_secrets; j++)
			named = named || strcmp(cfg->secrets[j].name, keys[i]) == 0;
		if (!named)
			err = load_one(rs, cfg, NULL, keys[i], state_dir, hk, msg, len);
	}
	if (!err && (err = secrets_ruleset_compile(rs)))
		snprintf(msg, len, "can't compile the secrets of %s: %s", state_dir, strerror(-err));
	if (err)
		goto err_free;
	secrets_keys_free(keys, n);
	*out = rs;
	return 0;

err_free:
	secrets_keys_free(keys, n);
	secrets_ruleset_put(rs);
	return err;
}
