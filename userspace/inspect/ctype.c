// SPDX-License-Identifier: GPL-2.0-only
/*
 * Declared content types against what the body is. Text types are where a secret hides in
 * plain sight; binary types are where an agent claims "just an image" to get bytes skipped.
 * A declared binary type with a known signature must start with it; octet-stream and types
 * without a signature are CTM_UNKNOWN (scanned all the same, never skipped).
 */
#include <string.h>
#include <strings.h>

#include "inspect/inspect_internal.h"

static const char *const text_types[] = {
	"text/", "application/json", "application/xml", "application/x-www-form-urlencoded",
	"multipart/form-data", "application/javascript", "application/graphql",
	"application/x-ndjson", "application/yaml",
};

static bool prefix(const char *s, const char *p)
{
	return strncasecmp(s, p, strlen(p)) == 0;
}

bool ctype_is_text(const char *ct)
{
	for (size_t i = 0; i < sizeof(text_types) / sizeof(text_types[0]); i++)
		if (prefix(ct, text_types[i]))
			return true;
	/* application/vnd.foo+json, +xml */
	const char *semi = strchr(ct, ';');
	size_t n = semi ? (size_t)(semi - ct) : strlen(ct);

	return (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0) ||
	       (n > 4 && strncasecmp(ct + n - 4, "+xml", 4) == 0);
}

struct magic {
	const char *type;
	const char *sig;
	size_t len;
	size_t off;
};

static const struct magic magics[] = {
	{ "image/png", "\x89PNG\r\n\x1a\n", 8, 0 },
	{ "image/jpeg", "\xff\xd8\xff", 3, 0 },
	{ "image/gif", "GIF8", 4, 0 },
	{ "image/webp", "WEBP", 4, 8 },
	{ "image/bmp", "BM", 2, 0 },
	{ "application/pdf", "%PDF-", 5, 0 },
	{ "application/zip", "PK\x03\x04", 4, 0 },
	{ "application/gzip", "\x1f\x8b", 2, 0 },
	{ "application/x-gzip", "\x1f\x8b", 2, 0 },
	{ "application/zstd", "\x28\xb5\x2f\xfd", 4, 0 },
	{ "application/wasm", "\0asm", 4, 0 },
};

enum ctype_magic ctype_check_magic(const char *ct, const uint8_t *p, size_t len)
{
	bool known = false;

	if (ctype_is_text(ct))
		return CTM_NOT_BINARY;
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		const struct magic *m = &magics[i];
		size_t tl = strlen(m->type);

		if (strncasecmp(ct, m->type, tl) || (ct[tl] && ct[tl] != ';' && ct[tl] != ' '))
			continue;
		known = true;
		if (len >= m->off + m->len && memcmp(p + m->off, m->sig, m->len) == 0)
			return CTM_MATCH;
	}
	if (known)
		return len ? CTM_MISMATCH : CTM_MATCH;
	return CTM_UNKNOWN;
}

/*
 * Base64 images (thumbnails in JSON, data: URIs) are ordinary payloads that look like the
 * random runs the entropy and base64 checks are after. Only the run's opening is tested:
 * its bytes are still decoded and scanned for secrets like any other run.
 */
bool ctype_base64_image(const uint8_t *p, size_t len)
{
	static const char *const heads[] = { "iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR" };
	const uint8_t *comma;

	if (len > 11 && strncasecmp((const char *)p, "data:image/", 11) == 0) {
		comma = memchr(p, ',', len < 64 ? len : 64);
		if (!comma)
			return false;
		len -= (size_t)(comma + 1 - p);
		p = comma + 1;
	}
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		if (len >= strlen(heads[i]) && memcmp(p, heads[i], strlen(heads[i])) == 0)
			return true;
	return false;
}
