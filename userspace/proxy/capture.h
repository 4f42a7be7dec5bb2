/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * capture.enable: one line of <log_dir>/capture.jsonl per inspected request/response exchange,
 * in the format of docs/cli.md that `cagectl har` turns into HAR 1.2. The capture wraps the
 * proxy's hook table and records the agent's view only: the request as the agent sent it (before
 * the secrets hooks inject real values), the response as the agent got it (after they redacted
 * it). Bodies are cut at capture.max_body_size; binary bodies are base64.
 *
 * Bounded by logging.max_size: the proxy user cannot rename files in the root-owned log
 * directory, so the file is rotated (to capture.jsonl.1) when the proxy starts with a file of
 * half that size or more, and capture pauses (one audit line) when the file reaches it.
 */
#ifndef CAGE_PROXY_CAPTURE_H
#define CAGE_PROXY_CAPTURE_H

#include "proxy/hooks.h"

/*
 * The hook table to install: `inner` wrapped by the capture when the config enables it and the
 * file could be opened, else `inner` itself. Call as root, before the privilege drop; `inner`
 * must stay valid. Every hook of `inner` keeps its own per-request txn.
 */
const struct proxy_hooks *px_capture_wrap(const struct proxy_hooks *inner, const char *cage,
					  const char *config_path);
/* SIGHUP: capture.enable and capture.max_body_size again (the file stays the same). */
void px_capture_reload(void);

#endif
