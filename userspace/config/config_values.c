// SPDX-License-Identifier: GPL-2.0-only
/*
 * Typed readers for scalar and list values. Each one names what it expected and, for short
 * non-secret values, what it got. Numbers must be plain YAML scalars: "80" in quotes is a string.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/config_internal.h"

void *cfg_grow(void *v_ptr, size_t *n, size_t size)
{
	void **v = v_ptr;
	char *grown = reallocarray(*v, *n + 1, size);

	if (!grown)
		return NULL;
	*v = grown;
	memset(grown + *n * size, 0, size);
	return grown + (*n)++ * size;
}

int strv_push(struct cage_strv *sv, const char *s)
{
	char *copy = strdup(s);
	char **slot;

	if (!copy)
		return -ENOMEM;
	slot = cfg_grow(&sv->v, &sv->n, sizeof(*sv->v));
	if (!slot) {
		free(copy);
		return -ENOMEM;
	}
	*slot = copy;
	return 0;
}

void strv_free(struct cage_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static int expect_scalar(struct loader *ld, const struct ynode *v, const char *what)
{
	if (v->kind != YNODE_SCALAR || ynode_is_null(v))
		return cfg_fail(ld, v, "expected %s, got %s", what, ynode_kind_name(v));
	if (strlen(v->text) != v->len)
		return cfg_fail(ld, v, "contains a NUL byte");
	return 0;
}

int cfg_string(struct loader *ld, const struct ynode *v, char **out)
{
	int err = expect_scalar(ld, v, "a string");

	if (err)
		return err;
	*out = strdup(v->text);
	return *out ? 0 : -ENOMEM;
}

int cfg_bool(struct loader *ld, const struct ynode *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
	int err = expect_scalar(ld, v, "true or false");

	if (err)
		return err;
	if (v->quoted)
		return cfg_fail(ld, v, "expected true or false, got a quoted string");
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(v->text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v->text, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return cfg_fail(ld, v, "expected true or false, got '%.40s'", v->text);
}

/* Decimal digits only: no sign, no 0x, no exponent. */
static bool parse_decimal(const char *s, uint64_t *out)
{
	uint64_t value = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (value > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		value = value * 10 + (uint64_t)(*s - '0');
	}
	*out = value;
	return true;
}

int cfg_uint(struct loader *ld, const struct ynode *v, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t value;
	int err = expect_scalar(ld, v, "a number");

	if (err)
		return err;
	if (v->quoted)
		return cfg_fail(ld, v, "expected a number, got a quoted string");
	if (!parse_decimal(v->text, &value))
		return cfg_fail(ld, v, "expected a whole number, got '%.40s'", v->text);
	if (value < min || value > max)
		return cfg_fail(ld, v, "%llu is out of range %llu-%llu", (unsigned long long)value,
				(unsigned long long)min, (unsigned long long)max);
	*out = value;
	return 0;
}

int cfg_port(struct loader *ld, const struct ynode *v, uint16_t *out)
{
	uint64_t value;
	int err = expect_scalar(ld, v, "a port number (1-65535)");

	if (err)
		return err;
	if (v->quoted)
		return cfg_fail(ld, v, "expected a port number (1-65535), got a quoted string");
	if (!parse_decimal(v->text, &value))
		return cfg_fail(ld, v, "expected a port number (1-65535), got '%.40s'", v->text);
	if (value < 1 || value > 65535)
		return cfg_fail(ld, v, "port %.20s is out of range 1-65535", v->text);
	*out = (uint16_t)value;
	return 0;
}

int cfg_port_list(struct loader *ld, const struct ynode *v, struct cage_port_list *out)
{
	if (ynode_is_null(v))
		return 0;
	if (v->kind != YNODE_SEQUENCE)
		return cfg_fail(ld, v, "expected a list of port numbers, got %s", ynode_kind_name(v));
	for (size_t i = 0; i < v->n_items; i++) {
		size_t saved = cfg_push_index(ld, i);
		uint16_t port, *slot;
		int err = cfg_port(ld, v->items[i], &port);

		for (size_t j = 0; !err && j < out->n; j++)
			if (out->v[j] == port)
				err = cfg_fail(ld, v->items[i], "port %u is listed twice", port);
		if (err)
			return err;
		cfg_pop(ld, saved);
		slot = cfg_grow(&out->v, &out->n, sizeof(*out->v));
		if (!slot)
			return -ENOMEM;
		*slot = port;
	}
	return 0;
}

/* "512M", "64KiB", "4g", "1048576": binary multiples, as cgroup memory.max and podman use them. */
int cfg_size(struct loader *ld, const struct ynode *v, uint64_t *out)
{
	char digits[32];
	const char *s, *unit;
	uint64_t value, mult = 1;
	size_t n;
	int err = expect_scalar(ld, v, "a size such as 512M");

	if (err)
		return err;
	s = v->text;
	for (n = 0; s[n] >= '0' && s[n] <= '9'; n++)
		;
	unit = s + n;
	if (n == 0 || n >= sizeof(digits))
		goto bad;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (!parse_decimal(digits, &value))
		goto bad;
	if (*unit) {
		const char *units = "kmgt";
		const char *at = strchr(units, tolower((unsigned char)*unit));

		if (!at)
			goto bad;
		for (const char *u = units; u <= at; u++)
			mult *= 1024;
		unit++;
		if (*unit == 'i')
			unit++;
		if (*unit == 'B' || *unit == 'b')
			unit++;
		if (*unit)
			goto bad;
	}
	if (value > UINT64_MAX / mult)
		return cfg_fail(ld, v, "size '%.40s' is too large", v->text);
	*out = value * mult;
	return 0;
bad:
	return cfg_fail(ld, v, "expected a size such as 512M, 64KiB or 1048576, got '%.40s'", v->text);
}

/* "30m", "2h", "1d", "1w", "1h30m": number-unit pairs, at least one. */
int cfg_duration(struct loader *ld, const struct ynode *v, int64_t *seconds)
{
	const char *s;
	int64_t total = 0;
	int err = expect_scalar(ld, v, "a duration such as 30m");

	if (err)
		return err;
	s = v->text;
	if (!*s)
		goto bad;
	while (*s) {
		int64_t value = 0, unit;

		if (*s < '0' || *s > '9')
			goto bad;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (value > 1000000000)
				return cfg_fail(ld, v, "duration '%.40s' is too long", v->text);
			value = value * 10 + (*s - '0');
		}
		switch (*s++) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: goto bad;
		}
		total += value * unit;
		if (total > 100LL * 365 * 86400)
			return cfg_fail(ld, v, "duration '%.40s' is too long", v->text);
	}
	if (total == 0)
		return cfg_fail(ld, v, "duration must be longer than zero");
	*seconds = total;
	return 0;
bad:
	return cfg_fail(ld, v, "expected a duration such as 45s, 30m, 2h, 1d or 1h30m, got '%.40s'",
			v->text);
}

static bool take_number(const char **s, int digits, int *out)
{
	int value = 0;

	for (int i = 0; i < digits; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return false;
		value = value * 10 + ((*s)[i] - '0');
	}
	*s += digits;
	*out = value;
	return true;
}

static bool take_char(const char **s, const char *allowed)
{
	if (!**s || !strchr(allowed, **s))
		return false;
	(*s)++;
	return true;
}

/* RFC 3339: 2026-12-01T00:00:00Z, with optional fraction and ±HH:MM; or a bare date (UTC midnight). */
int cfg_timestamp(struct loader *ld, const struct ynode *v, int64_t *unix_seconds)
{
	struct tm tm = { 0 };
	const char *s;
	int year, mon, day, hour = 0, min = 0, sec = 0, off_h = 0, off_m = 0, sign = 0;
	time_t t;
	int err = expect_scalar(ld, v, "a timestamp such as 2026-12-01T00:00:00Z");

	if (err)
		return err;
	s = v->text;
	if (!take_number(&s, 4, &year) || !take_char(&s, "-") || !take_number(&s, 2, &mon) ||
	    !take_char(&s, "-") || !take_number(&s, 2, &day))
		goto bad;
	if (*s) {
		if (!take_char(&s, "Tt ") || !take_number(&s, 2, &hour) || !take_char(&s, ":") ||
		    !take_number(&s, 2, &min) || !take_char(&s, ":") || !take_number(&s, 2, &sec))
			goto bad;
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++)
				;
		if (!*s)
			return cfg_fail(ld, v, "timestamp needs a time zone (Z or +HH:MM)");
		if (take_char(&s, "Zz")) {
			sign = 0;
		} else if (*s == '+' || *s == '-') {
			sign = *s++ == '+' ? 1 : -1;
			if (!take_number(&s, 2, &off_h) || !take_char(&s, ":") || !take_number(&s, 2, &off_m))
				goto bad;
		} else {
			goto bad;
		}
		if (*s)
			goto bad;
	}
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 ||
	    off_h > 23 || off_m > 59 || year < 1970)
		return cfg_fail(ld, v, "timestamp '%.40s' is not a valid date and time", v->text);
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (tm.tm_mday != day)  /* timegm normalised 2026-02-30 into March */
		return cfg_fail(ld, v, "timestamp '%.40s' is not a valid date and time", v->text);
	*unix_seconds = (int64_t)t - sign * (off_h * 3600 + off_m * 60);
	return 0;
bad:
	return cfg_fail(ld, v, "expected a timestamp such as 2026-12-01T00:00:00Z, got '%.40s'", v->text);
}

/* "1.5", 2, "0.25": cores with at most three decimals, into thousandths. */
int cfg_cpus(struct loader *ld, const struct ynode *v, uint32_t *milli)
{
	const char *s;
	uint64_t whole = 0, frac = 0;
	int frac_digits = 0;
	int err = expect_scalar(ld, v, "a number of cpus such as 1.5");

	if (err)
		return err;
	s = v->text;
	if (*s < '0' || *s > '9')
		goto bad;
	for (; *s >= '0' && *s <= '9'; s++) {
		whole = whole * 10 + (uint64_t)(*s - '0');
		if (whole > 1024)
			goto range;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++) {
			if (frac_digits == 3) {
				if (*s != '0')
					return cfg_fail(ld, v, "cpus takes at most three decimals");
				continue;
			}
			frac = frac * 10 + (uint64_t)(*s - '0');
			frac_digits++;
		}
	}
	if (*s)
		goto bad;
	while (frac_digits++ < 3)
		frac *= 10;
	if (whole * 1000 + frac == 0 || whole * 1000 + frac > 1024000)
		goto range;
	*milli = (uint32_t)(whole * 1000 + frac);
	return 0;
range:
	return cfg_fail(ld, v, "cpus must be more than 0 and at most 1024");
bad:
	return cfg_fail(ld, v, "expected a number of cpus such as 2 or 1.5, got '%.40s'", v->text);
}

int cfg_enum(struct loader *ld, const struct ynode *v, const char *const *names, size_t n, int *out)
{
	char list[256] = "";
	size_t used = 0;
	int err = expect_scalar(ld, v, "one of the listed values");

	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v->text, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
		used += (size_t)snprintf(list + used, used < sizeof(list) ? sizeof(list) - used : 0,
					 "%s%s", i ? ", " : "", names[i]);
		if (used >= sizeof(list))
			used = sizeof(list) - 1;
	}
	return cfg_fail(ld, v, "unknown value '%.40s'; expected one of: %s", v->text, list);
}

int cfg_string_list(struct loader *ld, const struct ynode *v, struct cage_strv *out)
{
	if (ynode_is_null(v))
		return 0;
	if (v->kind != YNODE_SEQUENCE)
		return cfg_fail(ld, v, "expected a list of strings, got %s", ynode_kind_name(v));
	for (size_t i = 0; i < v->n_items; i++) {
		size_t saved = cfg_push_index(ld, i);
		char *s;
		int err = cfg_string(ld, v->items[i], &s);

		if (err)
			return err;
		cfg_pop(ld, saved);
		err = strv_push(out, s);
		free(s);
		if (err)
			return err;
	}
	return 0;
}

/* Canonical text of an IPv4 or IPv6 literal (family AF_UNSPEC: either). */
static bool address_canonical(const char *text, int family, char *out, size_t len, int *found)
{
	unsigned char bin[16];

	if ((family == AF_UNSPEC || family == AF_INET) && inet_pton(AF_INET, text, bin) == 1) {
		*found = AF_INET;
		return inet_ntop(AF_INET, bin, out, (socklen_t)len) != NULL;
	}
	if ((family == AF_UNSPEC || family == AF_INET6) && inet_pton(AF_INET6, text, bin) == 1) {
		*found = AF_INET6;
		return inet_ntop(AF_INET6, bin, out, (socklen_t)len) != NULL;
	}
	return false;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "an IPv4 address" : family == AF_INET6 ? "an IPv6 address" :
									    "an IP address";
}

int cfg_ip_address(struct loader *ld, const struct ynode *v, int family, char **out)
{
	char text[INET6_ADDRSTRLEN];
	int found;
	int err = expect_scalar(ld, v, family_name(family));

	if (err)
		return err;
	if (!address_canonical(v->text, family, text, sizeof(text), &found))
		return cfg_fail(ld, v, "expected %s, got '%.60s'", family_name(family), v->text);
	*out = strdup(text);
	return *out ? 0 : -ENOMEM;
}

int cfg_cidr(struct loader *ld, const struct ynode *v, int family, unsigned max_prefix, char **out)
{
	char addr[INET6_ADDRSTRLEN + 8], text[INET6_ADDRSTRLEN], full[INET6_ADDRSTRLEN + 8];
	const char *slash;
	uint64_t prefix;
	int found;
	int err = expect_scalar(ld, v, "a prefix such as 10.200.0.0/16");

	if (err)
		return err;
	slash = strchr(v->text, '/');
	if (!slash || (size_t)(slash - v->text) >= sizeof(addr) || !parse_decimal(slash + 1, &prefix))
		goto bad;
	memcpy(addr, v->text, (size_t)(slash - v->text));
	addr[slash - v->text] = '\0';
	if (!address_canonical(addr, family, text, sizeof(text), &found))
		goto bad;
	if (prefix > max_prefix)
		return cfg_fail(ld, v, "prefix /%llu is too long; at most /%u",
				(unsigned long long)prefix, max_prefix);
	snprintf(full, sizeof(full), "%s/%u", text, (unsigned)prefix);
	*out = strdup(full);
	return *out ? 0 : -ENOMEM;
bad:
	return cfg_fail(ld, v, "expected %s prefix such as %s, got '%.60s'",
			family == AF_INET ? "an IPv4" : "an IPv6",
			family == AF_INET ? "10.200.0.0/16" : "fd00:200::/48", v->text);
}

bool cfg_env_name_valid(const char *name)
{
	if (!*name || !(isalpha((unsigned char)*name) || *name == '_'))
		return false;
	for (const char *p = name; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_'))
			return false;
	return true;
}
