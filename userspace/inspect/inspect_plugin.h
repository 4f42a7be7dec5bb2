/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ABI of custom inspectors: a shared object exporting one symbol,
 *
 *   const struct inspect_plugin cage_inspect_plugin = { .abi_version = INSPECT_PLUGIN_ABI, ... };
 *
 * loaded with dlopen() from the allowed plugin directory only (root-owned, not group or world
 * writable, no symlink out of it). The chain calls it last, over the same session events the
 * built-in inspectors see. Every callback is optional. A callback returns INSPECT_ABSTAIN,
 * INSPECT_FLAG or INSPECT_BLOCK and may fill *out (reason ≤ 31 bytes, shown as plugin.<name>
 * in the audit log unless it sets its own); anything else counts as a block (fail closed).
 * Body and frame bytes are the decoded bytes (after Content-Encoding / permessage-deflate).
 * The ABI version changes whenever this struct or struct inspect_plugin_request changes.
 */
#ifndef CAGE_INSPECT_PLUGIN_H
#define CAGE_INSPECT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "inspect/inspect.h"

#define INSPECT_PLUGIN_ABI 1u
#define INSPECT_PLUGIN_SYMBOL "cage_inspect_plugin"

struct inspect_plugin_request {
	const char *method;
	const char *host;
	const char *target;
	size_t target_len;
	const struct inspect_header *headers;
	size_t n_headers;
};

struct inspect_plugin_result {
	enum inspect_severity severity;
	char reason[32];
	char location[72];
};

struct inspect_plugin {
	uint32_t abi_version;
	const char *name;
	/* config_yaml: the inspector's config mapping as YAML text, or NULL. NULL return = error. */
	void *(*create)(const char *config_yaml);
	void (*destroy)(void *instance);
	/* Per-session state (NULL is fine). */
	void *(*session_new)(void *instance);
	void (*session_free)(void *instance, void *session);
	int (*request_start)(void *instance, void *session, const struct inspect_plugin_request *req,
			     struct inspect_plugin_result *out);
	int (*body_chunk)(void *instance, void *session, const uint8_t *data, size_t len,
			  struct inspect_plugin_result *out);
	int (*end)(void *instance, void *session, struct inspect_plugin_result *out);
	int (*ws_message_chunk)(void *instance, void *session, const uint8_t *data, size_t len,
				struct inspect_plugin_result *out);
	int (*ws_message_end)(void *instance, void *session, struct inspect_plugin_result *out);
};

#endif
