// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "inspect/websocket.h"

void ws_parser_init(struct ws_parser *p, bool from_client, bool allow_rsv1)
{
	memset(p, 0, sizeof(*p));
	p->from_client = from_client;
	p->allow_rsv1 = allow_rsv1;
	p->hneed = 2;
}

static bool is_control(uint8_t op)
{
	return op & 0x8;
}

/* Validates a complete header; 0 or -EPROTO. */
static int header_done(struct ws_parser *p, const struct ws_callbacks *cb, void *ctx)
{
	uint8_t b0 = p->hdr[0], b1 = p->hdr[1];
	uint8_t len7 = b1 & 0x7f, rsv = (b0 >> 4) & 7;
	size_t at = 2;
	uint64_t len = len7;

	p->fin = b0 >> 7;
	p->opcode = b0 & 0xf;
	if (len7 == 126) {
		len = (uint64_t)p->hdr[2] << 8 | p->hdr[3];
		if (len < 126)
			return -EPROTO;
		at = 4;
	} else if (len7 == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p->hdr[2 + i];
		if (len >> 63 || len < 65536)
			return -EPROTO;
		at = 10;
	}
	if (p->masked)
		memcpy(p->mask, p->hdr + at, 4);
	if (rsv & 3)
		return -EPROTO;
	switch (p->opcode) {
	case WS_OP_CONT:
		if (!p->in_message || (rsv & 4))
			return -EPROTO;
		break;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (p->in_message || ((rsv & 4) && !p->allow_rsv1))
			return -EPROTO;
		break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!p->fin || len > 125 || rsv)
			return -EPROTO;
		break;
	default:
		return -EPROTO;
	}
	p->remaining = len;
	p->done = 0;
	p->ctl_len = 0;
	if (p->opcode == WS_OP_TEXT || p->opcode == WS_OP_BINARY) {
		p->in_message = true;
		if (cb->message_start)
			return cb->message_start(ctx, p->opcode, rsv & 4);
	}
	return 0;
}

static int frame_done(struct ws_parser *p, const struct ws_callbacks *cb, void *ctx)
{
	int err = 0;

	if (is_control(p->opcode)) {
		if (cb->control)
			err = cb->control(ctx, p->opcode, p->ctl, p->ctl_len);
	} else if (p->fin) {
		p->in_message = false;
		if (cb->message_end)
			err = cb->message_end(ctx);
	}
	p->state = 0;
	p->hlen = 0;
	p->hneed = 2;
	return err;
}

int ws_parser_feed(struct ws_parser *p, const uint8_t *data, size_t len,
		   const struct ws_callbacks *cb, void *ctx)
{
	size_t i = 0;
	int err;

	if (p->failed)
		return -EPROTO;
	while (i < len) {
		if (p->state == 0) {
			p->hdr[p->hlen++] = data[i++];
			if (p->hlen == 2) {
				uint8_t len7 = p->hdr[1] & 0x7f;

				p->masked = p->hdr[1] >> 7;
				if (p->masked != p->from_client)
					goto proto;
				p->hneed = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) +
						     (p->masked ? 4 : 0));
			}
			if (p->hlen < p->hneed)
				continue;
			err = header_done(p, cb, ctx);
			if (err == -EPROTO)
				goto proto;
			if (err)
				return err;
			p->state = 1;
			if (p->remaining == 0 && (err = frame_done(p, cb, ctx)))
				return err;
			continue;
		}
		/* Payload: unmask into a bounce buffer, hand it on. */
		size_t n = len - i;
		uint8_t buf[4096];

		if (n > p->remaining)
			n = (size_t)p->remaining;
		if (n > sizeof(buf))
			n = sizeof(buf);
		for (size_t k = 0; k < n; k++)
			buf[k] = data[i + k] ^ (p->masked ? p->mask[(p->done + k) & 3] : 0);
		i += n;
		p->done += n;
		p->remaining -= n;
		if (is_control(p->opcode)) {
			memcpy(p->ctl + p->ctl_len, buf, n);
			p->ctl_len = (uint8_t)(p->ctl_len + n);
		} else if (cb->message_data && (err = cb->message_data(ctx, buf, n))) {
			return err;
		}
		if (p->remaining == 0 && (err = frame_done(p, cb, ctx)))
			return err;
	}
	return 0;
proto:
	p->failed = true;
	return -EPROTO;
}

long ws_build_close(uint8_t *out, size_t outlen, uint16_t code, const char *reason,
		    const uint8_t *mask)
{
	size_t rlen = reason ? strlen(reason) : 0, plen, at = 2;

	if (rlen > 123)
		rlen = 123;
	plen = 2 + rlen;
	if (outlen < 2 + (mask ? 4 : 0) + plen)
		return -ENOSPC;
	out[0] = 0x80 | WS_OP_CLOSE;
	out[1] = (uint8_t)((mask ? 0x80 : 0) | plen);
	if (mask) {
		memcpy(out + 2, mask, 4);
		at = 6;
	}
	out[at] = (uint8_t)(code >> 8);
	out[at + 1] = (uint8_t)code;
	memcpy(out + at + 2, reason, rlen);
	if (mask)
		for (size_t k = 0; k < plen; k++)
			out[at + k] ^= mask[k & 3];
	return (long)(at + plen);
}

/* End of the element starting at b: the next ',' outside a quoted string. */
static size_t element_end(const char *v, size_t b, size_t len)
{
	bool quoted = false;

	for (size_t i = b; i < len; i++) {
		if (quoted && v[i] == '\\' && i + 1 < len)
			i++;
		else if (v[i] == '"')
			quoted = !quoted;
		else if (!quoted && v[i] == ',')
			return i;
	}
	return len;
}

long ws_strip_extension(const char *value, size_t len, const char *name, char *out,
			size_t outlen)
{
	size_t o = 0, nlen = strlen(name);

	for (size_t b = 0; b < len;) {
		size_t e = element_end(value, b, len), s = b, t;

		while (s < e && (value[s] == ' ' || value[s] == '\t'))
			s++;
		t = s;
		while (t < e && value[t] != ';' && value[t] != ' ' && value[t] != '\t')
			t++;
		bool drop = t - s == nlen && strncasecmp(value + s, name, nlen) == 0;
		size_t te = e;

		while (te > s && (value[te - 1] == ' ' || value[te - 1] == '\t'))
			te--;
		if (!drop && te > s) {
			size_t need = te - s + (o ? 2 : 0);

			if (o + need >= outlen)
				return -ENOSPC;
			if (o) {
				out[o++] = ',';
				out[o++] = ' ';
			}
			memcpy(out + o, value + s, te - s);
			o += te - s;
		}
		b = e + 1;
	}
	if (o < outlen)
		out[o] = 0;
	return (long)o;
}
