/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small JSON writer: enough for audit lines and --json output. Strings are escaped per
 * RFC 8259 (control characters as \u00XX, invalid UTF-8 bytes as \u00XX of the byte), so no
 * input can forge a line or a key.
 */
#ifndef CAGE_LIB_JSON_H
#define CAGE_LIB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void json_write_string(FILE *f, const char *s);
void json_write_mem(FILE *f, const char *s, size_t len);

/* A JSON object built into a caller buffer; truncation is reported, never silent. */
struct json_buf {
	char *buf;
	size_t cap, len;
	bool first;       /* no member written yet in the current object */
	bool overflow;
};

void jb_init(struct json_buf *jb, char *buf, size_t cap);
void jb_open(struct json_buf *jb);                 /* { */
void jb_close(struct json_buf *jb);                /* } */
void jb_str(struct json_buf *jb, const char *key, const char *val);  /* val NULL → null */
void jb_strn(struct json_buf *jb, const char *key, const char *val, size_t len);
void jb_int(struct json_buf *jb, const char *key, int64_t val);
void jb_uint(struct json_buf *jb, const char *key, uint64_t val);
void jb_bool(struct json_buf *jb, const char *key, bool val);
void jb_raw(struct json_buf *jb, const char *key, const char *json); /* already valid JSON */
void jb_key(struct json_buf *jb, const char *key); /* before a nested jb_open / array */
void jb_array_open(struct json_buf *jb);
void jb_array_close(struct json_buf *jb);
void jb_array_str(struct json_buf *jb, const char *val);
const char *jb_finish(struct json_buf *jb);        /* NUL-terminated, NULL on overflow */

#endif
