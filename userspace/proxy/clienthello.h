/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A TLS ClientHello parser for classifying connections before any upstream dial. It reads
 * only what the client sent so far (MSG_PEEK), never allocates, and re-parses from the first
 * byte on every call: the hello is capped at CLIENTHELLO_MAX_WIRE bytes, so that is cheap and
 * keeps the parser free of state. Results are final: once a prefix of the stream yields OK or
 * an error, every longer prefix yields the same answer.
 */
#ifndef CAGE_PROXY_CLIENTHELLO_H
#define CAGE_PROXY_CLIENTHELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The handshake message (4-byte header included) may not exceed one maximal record. */
#define CLIENTHELLO_MAX_HANDSHAKE 16384u
/* Records carrying the hello; more fragments than this is an evasion attempt, not a client. */
#define CLIENTHELLO_MAX_RECORDS 32u
/* The most bytes the parser will ever look at: size the peek buffer with this. */
#define CLIENTHELLO_MAX_WIRE (CLIENTHELLO_MAX_HANDSHAKE + 5u * CLIENTHELLO_MAX_RECORDS)

/* Real clients send about twenty extensions; hundreds are an attack on the parser. */
#define CLIENTHELLO_MAX_EXTENSIONS 128u

#define CLIENTHELLO_SNI_MAX 255u
#define CLIENTHELLO_ALPN_MAX 16u       /* protocols kept; further ones set alpn_truncated */
#define CLIENTHELLO_ALPN_DATA_MAX 256u /* bytes of protocol names kept */
#define CLIENTHELLO_VERSIONS_MAX 16u

enum clienthello_result {
	CH_OK = 0,
	CH_NEED_MORE,          /* a prefix of a possibly valid hello; *need says how many more bytes help */
	CH_NOT_TLS,            /* first bytes are not a TLS handshake record (SSLv2 hello included) */
	CH_BAD_RECORD,         /* record layer malformed: wrong type, version or length */
	CH_BAD_HANDSHAKE,      /* not a ClientHello, or its body is malformed */
	CH_TOO_BIG,            /* over CLIENTHELLO_MAX_HANDSHAKE, _MAX_RECORDS or _MAX_EXTENSIONS */
	CH_BAD_SNI,            /* server_name malformed: empty, NUL, non-ASCII, control, too long, odd type */
	CH_MULTIPLE_SNI,       /* more than one host_name entry */
	CH_BAD_ALPN,           /* ALPN list malformed (empty list or empty protocol name) */
	CH_DUPLICATE_EXTENSION,/* the same extension type twice (RFC 8446 4.2) */
	CH_RESULT_MAX,
};

struct clienthello_alpn {
	uint16_t off;          /* into clienthello.alpn_data */
	uint8_t len;
};

struct clienthello {
	uint16_t record_version;       /* of the first record */
	uint16_t legacy_version;       /* ClientHello.legacy_version */
	size_t wire_len;               /* bytes of records that carried the hello (headers included) */
	uint32_t handshake_len;        /* ClientHello body length */

	bool has_supported_versions;
	uint8_t n_versions;            /* kept, GREASE included, in wire order */
	uint16_t versions[CLIENTHELLO_VERSIONS_MAX];

	/* SNI: has_sni false is "no SNI" (no extension), distinct from every error above. The
	 * bytes are exactly what the client sent (case and trailing dot kept), NUL-terminated. */
	bool has_sni;
	uint8_t sni_len;
	char sni[CLIENTHELLO_SNI_MAX + 1];

	bool has_alpn;
	bool alpn_truncated;
	uint8_t n_alpn;
	struct clienthello_alpn alpn[CLIENTHELLO_ALPN_MAX];
	uint8_t alpn_data[CLIENTHELLO_ALPN_DATA_MAX];

	bool has_ech;                  /* encrypted_client_hello (0xfe0d) */
	bool has_ech_outer_extensions; /* ech_outer_extensions (0xfd00); only legal in an inner hello */
	bool has_session_ticket;       /* session_ticket (35), empty or not */
	uint16_t session_ticket_len;
	bool has_psk;                  /* pre_shared_key (41) */
	bool has_early_data;           /* early_data (42) */

	uint16_t cipher_suites_len;    /* bytes; two per suite */
	uint16_t n_extensions;
};

/*
 * Parses the bytes the client sent so far. On CH_OK fills *ch. On CH_NEED_MORE sets *need
 * (when need is not NULL) to a lower bound of the extra bytes that could change the answer;
 * the total never needs to exceed CLIENTHELLO_MAX_WIRE. *ch is scratch on any other result.
 */
enum clienthello_result clienthello_parse(const uint8_t *buf, size_t len, struct clienthello *ch,
					  size_t *need);

/* Whether the client offered this ALPN protocol id (exact bytes, e.g. "http/1.1"). */
bool clienthello_offers_alpn(const struct clienthello *ch, const char *proto);

/* Lower-case stable name for audit records: "ok", "need_more", "not_tls", "bad_sni", ... */
const char *clienthello_result_name(enum clienthello_result r);

#endif
