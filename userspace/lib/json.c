// SPDX-License-Identifier: GPL-2.0-only
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "lib/json.h"

/* Length of a valid UTF-8 sequence at s (at most len bytes), or 0 if it is not one. */
static size_t utf8_valid_len(const unsigned char *s, size_t len)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

typedef void (*emit_fn)(void *arg, const char *s, size_t n);

static void escape(emit_fn emit, void *arg, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[8];
	size_t i = 0;

	emit(arg, "\"", 1);
	while (i < len) {
		size_t run = i, n;

		while (run < len && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i)
			emit(arg, str + i, run - i);
		i = run;
		if (i >= len)
			break;
		switch (s[i]) {
		case '"': emit(arg, "\\\"", 2); i++; continue;
		case '\\': emit(arg, "\\\\", 2); i++; continue;
		case '\n': emit(arg, "\\n", 2); i++; continue;
		case '\r': emit(arg, "\\r", 2); i++; continue;
		case '\t': emit(arg, "\\t", 2); i++; continue;
		}
		if (s[i] >= 0x80 && (n = utf8_valid_len(s + i, len - i)) > 0) {
			emit(arg, str + i, n);
			i += n;
			continue;
		}
		snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
		emit(arg, esc, 6);
		i++;
	}
	emit(arg, "\"", 1);
}

static void emit_file(void *arg, const char *s, size_t n)
{
	fwrite(s, 1, n, (FILE *)arg);
}

void json_write_mem(FILE *f, const char *s, size_t len)
{
	escape(emit_file, f, s, len);
}

void json_write_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	json_write_mem(f, s, strlen(s));
}

static void emit_jb(void *arg, const char *s, size_t n)
{
	struct json_buf *jb = arg;

	if (jb->overflow || jb->len + n + 1 > jb->cap) {
		jb->overflow = true;
		return;
	}
	memcpy(jb->buf + jb->len, s, n);
	jb->len += n;
	jb->buf[jb->len] = '\0';
}

static void jb_puts(struct json_buf *jb, const char *s)
{
	emit_jb(jb, s, strlen(s));
}

void jb_init(struct json_buf *jb, char *buf, size_t cap)
{
	jb->buf = buf;
	jb->cap = cap;
	jb->len = 0;
	jb->first = true;
	jb->overflow = cap == 0;
	if (cap)
		buf[0] = '\0';
}

static void member(struct json_buf *jb, const char *key)
{
	if (!jb->first)
		jb_puts(jb, ",");
	jb->first = false;
	if (key) {
		escape(emit_jb, jb, key, strlen(key));
		jb_puts(jb, ":");
	}
}

void jb_key(struct json_buf *jb, const char *key)
{
	member(jb, key);
	jb->first = true;  /* the nested value opens next; its first member needs no comma */
}

void jb_open(struct json_buf *jb)
{
	jb_puts(jb, "{");
	jb->first = true;
}

void jb_close(struct json_buf *jb)
{
	jb_puts(jb, "}");
	jb->first = false;
}

void jb_array_open(struct json_buf *jb)
{
	jb_puts(jb, "[");
	jb->first = true;
}

void jb_array_close(struct json_buf *jb)
{
	jb_puts(jb, "]");
	jb->first = false;
}

void jb_array_str(struct json_buf *jb, const char *val)
{
	member(jb, NULL);
	escape(emit_jb, jb, val, strlen(val));
}

void jb_strn(struct json_buf *jb, const char *key, const char *val, size_t len)
{
	member(jb, key);
	escape(emit_jb, jb, val, len);
}

void jb_str(struct json_buf *jb, const char *key, const char *val)
{
	if (!val) {
		member(jb, key);
		jb_puts(jb, "null");
		return;
	}
	jb_strn(jb, key, val, strlen(val));
}

void jb_int(struct json_buf *jb, const char *key, int64_t val)
{
	char num[32];

	member(jb, key);
	snprintf(num, sizeof(num), "%" PRId64, val);
	jb_puts(jb, num);
}

void jb_uint(struct json_buf *jb, const char *key, uint64_t val)
{
	char num[32];

	member(jb, key);
	snprintf(num, sizeof(num), "%" PRIu64, val);
	jb_puts(jb, num);
}

void jb_bool(struct json_buf *jb, const char *key, bool val)
{
	member(jb, key);
	jb_puts(jb, val ? "true" : "false");
}

void jb_raw(struct json_buf *jb, const char *key, const char *json)
{
	member(jb, key);
	jb_puts(jb, json);
}

const char *jb_finish(struct json_buf *jb)
{
	return jb->overflow ? NULL : jb->buf;
}
