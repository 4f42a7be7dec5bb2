/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The inspector chain (userspace/inspect) as seen from cage-proxy's hooks: one chain per
 * process, one session per request. The secrets hooks (hooks_secrets.c) own the proxy_hooks
 * table and call these first, so the chain judges the agent's bytes before any injection.
 */
#ifndef CAGE_PROXY_HOOKS_INSPECT_H
#define CAGE_PROXY_HOOKS_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/hooks.h"
#include "proxy/http1.h"

struct cage_config_file;
struct secrets_ruleset;
struct px_insp;

/* Builds the chain from cfg (as root: plugins are checked for their owner). 0 or -errno. */
int px_insp_setup(const struct cage_config_file *cfg, char *err, size_t errlen);
/*
 * Builds a chain from cfg with the real values of its secrets (from rs, may be NULL) and
 * makes it the current one; requests already running finish on the chain they started on.
 * cfg may be freed on return. On an error the current chain stays. 0 or -errno.
 */
int px_insp_load(const struct cage_config_file *cfg, const struct secrets_ruleset *rs, char *err,
		 size_t errlen);
/* The real values (from rs) of the current chain's secrets, matched by name; cfg is unused. */
void px_insp_known_values(const struct cage_config_file *cfg, const struct secrets_ruleset *rs);
bool px_insp_active(void);
/* The chain's shared state (rate buckets, split values) is a fresh chain's, after_s from now. */
bool px_insp_settled(double after_s);

/* A request head; *out is the session (NULL when the chain is off). BLOCK fills blk. */
enum proxy_verdict px_insp_request(const struct proxy_msg_info *info, const struct http1_message *m,
				   const uint8_t *buf, struct px_insp **out, struct proxy_block *blk);
enum proxy_verdict px_insp_body(struct px_insp *s, const uint8_t *data, size_t len,
				struct proxy_block *blk);
enum proxy_verdict px_insp_end(struct px_insp *s, struct proxy_block *blk);
/*
 * After a 101, the agent's WebSocket frames on the request's session (location ws-frame), in
 * the on_ws_frame order of hooks.h: (opcode, p, 0) starts a message, (opcode, piece, len)
 * feeds it, (opcode, NULL, 0) ends it; a control opcode is one whole frame. Frames from the
 * server are not judged (the chain inspects what the agent sends).
 */
enum proxy_verdict px_insp_ws_frame(struct px_insp *s, uint8_t opcode, const uint8_t *payload,
				    size_t len, struct proxy_block *blk);
/* Audits the flags of a request that was not blocked, then frees. */
void px_insp_free(struct px_insp *s);

#endif
