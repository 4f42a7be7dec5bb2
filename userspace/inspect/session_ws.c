// SPDX-License-Identifier: GPL-2.0-only
/*
 * WebSocket messages on a session after the upgrade. Both directions are parsed (a proxy
 * that forwards frames it cannot parse forwards a tunnel); messages from the client run the
 * chain: they stream through the same scan views as bodies, fragment after fragment, with
 * permessage-deflate decoded on the way. Control frames from the client are scanned on their
 * own views because they may arrive between the fragments of a message.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inspect/inspect_internal.h"

static int ws_chunk_sink(void *ctx, const uint8_t *p, size_t len)
{
	return inspect_ws_message_chunk(ctx, p, len);
}

int inspect_ws_start(struct inspect_session *s, const char *host, unsigned flags)
{
	bool deflate = flags & INSPECT_WS_DEFLATE;
	int err;

	memset(&s->v, 0, sizeof(s->v));
	s->blocked = false;
	s->in_request = false;
	s->dec_prefix = NULL;
	err = session_bind_db_public(s);
	if (err)
		return err;
	snprintf(s->host, sizeof(s->host), "%s", host ? host : "");
	s->scan_patterns = session_inspector_on(s, INSPECTOR_SECRETS);
	s->scan_active = s->scan_patterns ||
			 s->db->n_rules > secret_family_count + s->chain->conf.n_extra;
	s->ws = true;
	s->ws_flags = flags;
	for (int d = 0; d < 2; d++) {
		inflater_free(s->wsd[d].inf);
		memset(&s->wsd[d], 0, sizeof(s->wsd[d]));
		ws_parser_init(&s->wsd[d].p, d == 1, deflate);
		if (deflate && (err = inflater_new(INFLATE_RAW, s->chain->conf.max_ws_message,
						   s->chain->conf.inflate_ratio, &s->wsd[d].inf)))
			return err;
	}
	return 0;
}

int inspect_ws_message_start(struct inspect_session *s)
{
	s->ws_msg_bytes = 0;
	session_set_loc(s, "ws-frame");
	scan_views_begin(&s->views, false, false, true);
	return s->v.action;
}

int inspect_ws_message_chunk(struct inspect_session *s, const void *data, size_t len)
{
	int err = 0;

	if (s->blocked)
		return INSPECT_BLOCK;
	session_set_loc(s, "ws-frame");
	s->ws_msg_bytes += len;
	if (s->chain->conf.max_ws_message && s->ws_msg_bytes > s->chain->conf.max_ws_message) {
		session_finding(s, INSPECTOR_BODY_SIZE, INSPECT_BLOCK, INSPECT_SEV_ERROR, 413,
				"limit.ws_message", NULL, NULL);
		return INSPECT_BLOCK;
	}
	if (s->scan_active)
		err = scan_views_feed(&s->views, data, len);
	if (!err)
		session_plugins(s, PS_WS_CHUNK, NULL, data, len);
	return err ? err : (int)s->v.action;
}

int inspect_ws_message_end(struct inspect_session *s)
{
	int err = 0;

	session_set_loc(s, "ws-frame");
	if (s->scan_active)
		err = scan_views_end(&s->views);
	if (!err && !s->blocked)
		session_plugins(s, PS_WS_END, NULL, NULL, 0);
	return err ? err : (int)s->v.action;
}

static int positive_or_zero(int rc)
{
	return rc < 0 ? rc : 0;
}

static int cb_message_start(void *ctx, enum ws_opcode op, bool compressed)
{
	struct inspect_session *s = ctx;
	struct ws_dir *d = &s->wsd[s->ws_cur_client];

	if (compressed && !d->inf)
		return -EPROTO;
	d->msg_compressed = compressed;
	d->msg_open = true;
	if (!s->ws_cur_client)
		return 0;
	return positive_or_zero(inspect_ws_message_start(s));
}

static int cb_message_data(void *ctx, const uint8_t *p, size_t len)
{
	struct inspect_session *s = ctx;
	struct ws_dir *d = &s->wsd[s->ws_cur_client];

	if (!s->ws_cur_client)
		return 0;     /* inbound: parsed for framing only */
	if (d->msg_compressed)
		return inflater_feed(d->inf, p, len, ws_chunk_sink, s);
	return positive_or_zero(inspect_ws_message_chunk(s, p, len));
}

static int cb_message_end(void *ctx)
{
	struct inspect_session *s = ctx;
	struct ws_dir *d = &s->wsd[s->ws_cur_client];
	int err = 0;

	d->msg_open = false;
	if (!s->ws_cur_client)
		return 0;
	if (d->msg_compressed)
		err = inflater_message_end(d->inf, !!(s->ws_flags & INSPECT_WS_CLIENT_NO_CONTEXT),
					   ws_chunk_sink, s);
	if (!err)
		err = positive_or_zero(inspect_ws_message_end(s));
	return err;
}

static int cb_control(void *ctx, enum ws_opcode op, const uint8_t *p, size_t len)
{
	struct inspect_session *s = ctx;
	int err;

	if (!s->ws_cur_client || !len || !s->scan_active)
		return 0;
	session_set_loc(s, "ws-frame");
	scan_views_begin(&s->ctl_views, false, false, true);
	err = scan_views_feed(&s->ctl_views, p, len);
	if (!err)
		err = scan_views_end(&s->ctl_views);
	return err;
}

static const struct ws_callbacks ws_cbs = {
	.message_start = cb_message_start,
	.message_data = cb_message_data,
	.message_end = cb_message_end,
	.control = cb_control,
};

int inspect_ws_feed(struct inspect_session *s, bool from_client, const void *data, size_t len)
{
	int err;

	if (!s->ws)
		return -EINVAL;
	if (s->blocked)
		return INSPECT_BLOCK;
	s->ws_cur_client = from_client;
	err = ws_parser_feed(&s->wsd[from_client].p, data, len, &ws_cbs, s);
	if (err == -EPROTO || err == -EBADMSG || err == -EFBIG) {
		session_set_loc(s, "ws-frame");
		session_finding(s, INSPECTOR_SECRETS, INSPECT_BLOCK, INSPECT_SEV_ERROR, 400,
				err == -EPROTO ? "ws.protocol" : err == -EFBIG ? "limit.inflate"
									 : "decode.failed",
				NULL, NULL);
		return INSPECT_BLOCK;
	}
	if (err)
		return err;
	return s->v.action;
}
