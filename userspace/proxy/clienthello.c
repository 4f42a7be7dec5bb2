// SPDX-License-Identifier: GPL-2.0-only
/*
 * ClientHello parsing straight from the record layer: a reader walks the handshake bytes
 * across record boundaries, so a hello split over many records and TCP segments needs no
 * reassembly buffer. Every check happens at a fixed position in the stream, which is what
 * makes an answer for a prefix final.
 */
#include "proxy/clienthello.h"

#include <string.h>

#define TLS_RECORD_HANDSHAKE 22
#define TLS_RECORD_HEADER 5
#define TLS_RECORD_MAX_PAYLOAD 16384u
#define TLS_HANDSHAKE_CLIENT_HELLO 1
#define TLS_HANDSHAKE_HEADER 4

#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
#define EXT_SESSION_TICKET 35
#define EXT_PRE_SHARED_KEY 41
#define EXT_EARLY_DATA 42
#define EXT_SUPPORTED_VERSIONS 43
#define EXT_ECH_OUTER_EXTENSIONS 0xfd00
#define EXT_ECH 0xfe0d

#define SNI_TYPE_HOST_NAME 0

/* The handshake stream as seen through the records that carry it. */
struct hs_reader {
	const uint8_t *buf;
	size_t len;
	size_t rec_next;   /* offset of the next record header */
	size_t frag_pos;   /* offset of the next unread payload byte of the current record */
	size_t frag_left;  /* unread payload bytes of the current record (some may not be here yet) */
	unsigned n_records;
	size_t hs_read;    /* handshake bytes consumed so far */
	size_t hs_total;   /* handshake header + body, 0 until the header was read */
	size_t need;
	enum clienthello_result status;
	uint16_t first_record_version;
};

static bool reader_fail(struct hs_reader *r, enum clienthello_result status)
{
	if (r->status == CH_OK)
		r->status = status;
	return false;
}

static bool reader_open_record(struct hs_reader *r)
{
	const uint8_t *h = r->buf + r->rec_next;
	size_t have = r->len - r->rec_next;
	bool first = r->n_records == 0;
	uint16_t length;

	/* Judge the bytes that are here before asking for more, so garbage is refused at once. */
	if (have >= 1 && h[0] != TLS_RECORD_HANDSHAKE)
		return reader_fail(r, first ? CH_NOT_TLS : CH_BAD_RECORD);
	if (have >= 2 && h[1] != 3)
		return reader_fail(r, first ? CH_NOT_TLS : CH_BAD_RECORD);
	if (have >= 3 && h[2] > 4)
		return reader_fail(r, CH_BAD_RECORD);
	if (have < TLS_RECORD_HEADER) {
		r->need = TLS_RECORD_HEADER - have + 1;
		return reader_fail(r, CH_NEED_MORE);
	}
	length = (uint16_t)(h[3] << 8 | h[4]);
	if (length == 0 || length > TLS_RECORD_MAX_PAYLOAD)
		return reader_fail(r, CH_BAD_RECORD);
	if (++r->n_records > CLIENTHELLO_MAX_RECORDS ||
	    r->rec_next + TLS_RECORD_HEADER + length > CLIENTHELLO_MAX_WIRE)
		return reader_fail(r, CH_TOO_BIG);
	if (first)
		r->first_record_version = (uint16_t)(h[1] << 8 | h[2]);
	r->frag_pos = r->rec_next + TLS_RECORD_HEADER;
	r->frag_left = length;
	r->rec_next = r->frag_pos + length;
	return true;
}

/* Copies (dst != NULL) or skips n handshake bytes. */
static bool reader_take(struct hs_reader *r, uint8_t *dst, size_t n)
{
	while (n > 0) {
		size_t want, here;

		if (r->frag_left == 0 && !reader_open_record(r))
			return false;
		want = n < r->frag_left ? n : r->frag_left;
		here = r->len - r->frag_pos;
		if (here < want) {
			size_t missing = want - here;
			size_t hs_missing = r->hs_total ? r->hs_total - (r->hs_read + here) : 0;

			r->need = hs_missing > missing ? hs_missing : missing;
			return reader_fail(r, CH_NEED_MORE);
		}
		if (dst) {
			memcpy(dst, r->buf + r->frag_pos, want);
			dst += want;
		}
		r->frag_pos += want;
		r->frag_left -= want;
		r->hs_read += want;
		n -= want;
	}
	return true;
}

static bool read_u8(struct hs_reader *r, uint8_t *v)
{
	return reader_take(r, v, 1);
}

static bool read_u16(struct hs_reader *r, uint16_t *v)
{
	uint8_t b[2];

	if (!reader_take(r, b, 2))
		return false;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return true;
}

static bool read_u24(struct hs_reader *r, uint32_t *v)
{
	uint8_t b[3];

	if (!reader_take(r, b, 3))
		return false;
	*v = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
	return true;
}

static bool sni_byte_ok(uint8_t c)
{
	/* Printable ASCII without space: NUL, controls and UTF-8 are differentials waiting to happen. */
	return c > 0x20 && c < 0x7f;
}

static bool parse_server_name(struct hs_reader *r, struct clienthello *ch, uint16_t ext_len)
{
	uint16_t list_len, name_len;
	uint8_t name_type;
	size_t left;

	if (ext_len < 2)
		return reader_fail(r, CH_BAD_SNI);
	if (!read_u16(r, &list_len))
		return false;
	if (list_len != ext_len - 2 || list_len == 0)
		return reader_fail(r, CH_BAD_SNI);
	for (left = list_len; left > 0; left -= 3u + name_len) {
		if (left < 3)
			return reader_fail(r, CH_BAD_SNI);
		if (!read_u8(r, &name_type) || !read_u16(r, &name_len))
			return false;
		if (name_type != SNI_TYPE_HOST_NAME || name_len == 0 || name_len > left - 3)
			return reader_fail(r, CH_BAD_SNI);
		if (ch->has_sni)
			return reader_fail(r, CH_MULTIPLE_SNI);
		if (name_len > CLIENTHELLO_SNI_MAX)
			return reader_fail(r, CH_BAD_SNI);
		if (!reader_take(r, (uint8_t *)ch->sni, name_len))
			return false;
		for (uint16_t i = 0; i < name_len; i++)
			if (!sni_byte_ok((uint8_t)ch->sni[i]))
				return reader_fail(r, CH_BAD_SNI);
		ch->sni[name_len] = '\0';
		ch->sni_len = (uint8_t)name_len;
		ch->has_sni = true;
	}
	return true;
}

static bool parse_alpn(struct hs_reader *r, struct clienthello *ch, uint16_t ext_len)
{
	uint16_t list_len, used = 0;
	uint8_t name_len;
	size_t left;

	if (ext_len < 2)
		return reader_fail(r, CH_BAD_ALPN);
	if (!read_u16(r, &list_len))
		return false;
	if (list_len != ext_len - 2 || list_len == 0)
		return reader_fail(r, CH_BAD_ALPN);
	ch->has_alpn = true;
	for (left = list_len; left > 0; left -= 1u + name_len) {
		if (!read_u8(r, &name_len))
			return false;
		if (name_len == 0 || name_len > left - 1)
			return reader_fail(r, CH_BAD_ALPN);
		if (ch->n_alpn < CLIENTHELLO_ALPN_MAX && used + name_len <= CLIENTHELLO_ALPN_DATA_MAX) {
			if (!reader_take(r, ch->alpn_data + used, name_len))
				return false;
			ch->alpn[ch->n_alpn].off = used;
			ch->alpn[ch->n_alpn].len = name_len;
			ch->n_alpn++;
			used += name_len;
		} else {
			ch->alpn_truncated = true;
			if (!reader_take(r, NULL, name_len))
				return false;
		}
	}
	return true;
}

static bool parse_supported_versions(struct hs_reader *r, struct clienthello *ch, uint16_t ext_len)
{
	uint8_t list_len;
	uint16_t version;

	if (ext_len < 1)
		return reader_fail(r, CH_BAD_HANDSHAKE);
	if (!read_u8(r, &list_len))
		return false;
	if (list_len != ext_len - 1 || list_len < 2 || list_len % 2)
		return reader_fail(r, CH_BAD_HANDSHAKE);
	ch->has_supported_versions = true;
	for (unsigned i = 0; i < list_len / 2u; i++) {
		if (!read_u16(r, &version))
			return false;
		if (ch->n_versions < CLIENTHELLO_VERSIONS_MAX)
			ch->versions[ch->n_versions++] = version;
	}
	return true;
}

static bool parse_extension(struct hs_reader *r, struct clienthello *ch, uint16_t type,
			    uint16_t ext_len)
{
	switch (type) {
	case EXT_SERVER_NAME:
		return parse_server_name(r, ch, ext_len);
	case EXT_ALPN:
		return parse_alpn(r, ch, ext_len);
	case EXT_SUPPORTED_VERSIONS:
		return parse_supported_versions(r, ch, ext_len);
	case EXT_SESSION_TICKET:
		ch->has_session_ticket = true;
		ch->session_ticket_len = ext_len;
		break;
	case EXT_PRE_SHARED_KEY:
		ch->has_psk = true;
		break;
	case EXT_EARLY_DATA:
		ch->has_early_data = true;
		break;
	case EXT_ECH:
		ch->has_ech = true;
		break;
	case EXT_ECH_OUTER_EXTENSIONS:
		ch->has_ech_outer_extensions = true;
		break;
	}
	return reader_take(r, NULL, ext_len);
}

static bool parse_extensions(struct hs_reader *r, struct clienthello *ch, size_t body_left)
{
	uint16_t seen[CLIENTHELLO_MAX_EXTENSIONS];
	uint16_t block_len, type, ext_len;
	size_t left;

	if (body_left < 2)
		return reader_fail(r, CH_BAD_HANDSHAKE);
	if (!read_u16(r, &block_len))
		return false;
	if (block_len != body_left - 2)
		return reader_fail(r, CH_BAD_HANDSHAKE);
	for (left = block_len; left > 0; left -= 4u + ext_len) {
		size_t start;

		if (left < 4)
			return reader_fail(r, CH_BAD_HANDSHAKE);
		if (!read_u16(r, &type) || !read_u16(r, &ext_len))
			return false;
		if (ext_len > left - 4)
			return reader_fail(r, CH_BAD_HANDSHAKE);
		for (unsigned i = 0; i < ch->n_extensions; i++)
			if (seen[i] == type)
				return reader_fail(r, CH_DUPLICATE_EXTENSION);
		if (ch->n_extensions == CLIENTHELLO_MAX_EXTENSIONS)
			return reader_fail(r, CH_TOO_BIG);
		/* RFC 8446 4.2.11: pre_shared_key must be the last extension. */
		if (ch->has_psk)
			return reader_fail(r, CH_BAD_HANDSHAKE);
		seen[ch->n_extensions++] = type;
		start = r->hs_read;
		if (!parse_extension(r, ch, type, ext_len))
			return false;
		if (r->hs_read - start != ext_len)
			return reader_fail(r, CH_BAD_HANDSHAKE);
	}
	return true;
}

static bool parse_hello_body(struct hs_reader *r, struct clienthello *ch, uint32_t body_len)
{
	uint16_t suites_len;
	uint8_t session_id_len, compression_len;
	size_t body_start = r->hs_read;
	size_t used;

	if (!read_u16(r, &ch->legacy_version) || !reader_take(r, NULL, 32) ||
	    !read_u8(r, &session_id_len))
		return false;
	if (session_id_len > 32)
		return reader_fail(r, CH_BAD_HANDSHAKE);
	if (!reader_take(r, NULL, session_id_len) || !read_u16(r, &suites_len))
		return false;
	if (suites_len < 2 || suites_len % 2 || suites_len > body_len - (r->hs_read - body_start))
		return reader_fail(r, CH_BAD_HANDSHAKE);
	ch->cipher_suites_len = suites_len;
	if (!reader_take(r, NULL, suites_len))
		return false;
	if (r->hs_read - body_start >= body_len)
		return reader_fail(r, CH_BAD_HANDSHAKE);
	if (!read_u8(r, &compression_len))
		return false;
	if (compression_len < 1 || compression_len > body_len - (r->hs_read - body_start))
		return reader_fail(r, CH_BAD_HANDSHAKE);
	if (!reader_take(r, NULL, compression_len))
		return false;
	used = r->hs_read - body_start;
	/* A hello without extensions is legal (and has no SNI). */
	if (used == body_len)
		return true;
	return parse_extensions(r, ch, body_len - used);
}

enum clienthello_result clienthello_parse(const uint8_t *buf, size_t len, struct clienthello *ch,
					  size_t *need)
{
	struct hs_reader r = { .buf = buf, .len = len, .status = CH_OK };
	uint8_t hs_type;
	uint32_t body_len;

	memset(ch, 0, sizeof(*ch));
	if (!read_u8(&r, &hs_type))
		goto out;
	if (hs_type != TLS_HANDSHAKE_CLIENT_HELLO) {
		reader_fail(&r, CH_BAD_HANDSHAKE);
		goto out;
	}
	if (!read_u24(&r, &body_len))
		goto out;
	if (body_len > CLIENTHELLO_MAX_HANDSHAKE - TLS_HANDSHAKE_HEADER) {
		reader_fail(&r, CH_TOO_BIG);
		goto out;
	}
	/* legacy_version, random, three length bytes and one suite and one compression method. */
	if (body_len < 2 + 32 + 1 + 2 + 2 + 1 + 1) {
		reader_fail(&r, CH_BAD_HANDSHAKE);
		goto out;
	}
	r.hs_total = TLS_HANDSHAKE_HEADER + body_len;
	if (!parse_hello_body(&r, ch, body_len))
		goto out;
	/* Nothing else may share a record with the hello: the server has not spoken yet. */
	if (r.frag_left != 0) {
		reader_fail(&r, CH_BAD_HANDSHAKE);
		goto out;
	}
	ch->record_version = r.first_record_version;
	ch->handshake_len = body_len;
	ch->wire_len = r.rec_next;
out:
	if (r.status == CH_NEED_MORE && need)
		*need = r.need ? r.need : 1;
	return r.status;
}

bool clienthello_offers_alpn(const struct clienthello *ch, const char *proto)
{
	size_t len = strlen(proto);

	for (unsigned i = 0; i < ch->n_alpn; i++)
		if (ch->alpn[i].len == len && !memcmp(ch->alpn_data + ch->alpn[i].off, proto, len))
			return true;
	return false;
}

const char *clienthello_result_name(enum clienthello_result r)
{
	static const char *const names[CH_RESULT_MAX] = {
		[CH_OK] = "ok",
		[CH_NEED_MORE] = "need_more",
		[CH_NOT_TLS] = "not_tls",
		[CH_BAD_RECORD] = "bad_record",
		[CH_BAD_HANDSHAKE] = "bad_handshake",
		[CH_TOO_BIG] = "too_big",
		[CH_BAD_SNI] = "bad_sni",
		[CH_MULTIPLE_SNI] = "multiple_sni",
		[CH_BAD_ALPN] = "bad_alpn",
		[CH_DUPLICATE_EXTENSION] = "duplicate_extension",
	};

	if ((unsigned)r >= CH_RESULT_MAX || !names[r])
		return "unknown";
	return names[r];
}
