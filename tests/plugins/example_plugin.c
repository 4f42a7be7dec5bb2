// SPDX-License-Identifier: GPL-2.0-only
/*
 * An example custom inspector: blocks a request or WebSocket message whose decoded body
 * contains a configured word (default "EXFIL"), even when the word is cut across chunks, and
 * flags requests without a User-Agent. Build:
 *   cc -shared -fPIC -O2 -Iuserspace -Iinclude -o example_plugin.so tests/plugins/example_plugin.c
 * and install it root-owned, mode 0644, in the proxy's plugin directory; then in cage.yaml:
 *   inspectors:
 *     - name: custom:/usr/lib/cagectl/inspectors/example_plugin.so
 *       config: { forbidden_word: EXFIL }
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inspect/inspect_plugin.h"

struct example {
	char word[64];
	size_t len;
};

struct example_session {
	size_t matched;   /* bytes of the word matched so far, carried across chunks */
	int hit;
};

static void *create(const char *config_yaml)
{
	struct example *e = calloc(1, sizeof(*e));
	const char *p = config_yaml ? strstr(config_yaml, "forbidden_word:") : NULL;

	if (!e)
		return NULL;
	snprintf(e->word, sizeof(e->word), "EXFIL");
	if (p && sscanf(p + 15, " %63[A-Za-z0-9_-]", e->word) != 1) {
		free(e);
		return NULL;
	}
	e->len = strlen(e->word);
	return e;
}

static void destroy(void *instance)
{
	free(instance);
}

static void *session_new(void *instance)
{
	return calloc(1, sizeof(struct example_session));
}

static void session_free(void *instance, void *session)
{
	free(session);
}

static int request_start(void *instance, void *session, const struct inspect_plugin_request *req,
			 struct inspect_plugin_result *out)
{
	struct example_session *s = session;

	if (s) {
		s->matched = 0;
		s->hit = 0;
	}
	for (size_t i = 0; i < req->n_headers; i++)
		if (req->headers[i].name_len == 10 &&
		    strncasecmp(req->headers[i].name, "user-agent", 10) == 0)
			return INSPECT_ABSTAIN;
	out->severity = INSPECT_SEV_INFO;
	snprintf(out->reason, sizeof(out->reason), "example.no_user_agent");
	return INSPECT_FLAG;
}

/* Naive matching is enough here: the word has no repeated prefix in the tests. */
static int chunk(void *instance, void *session, const uint8_t *data, size_t len,
		 struct inspect_plugin_result *out)
{
	const struct example *e = instance;
	struct example_session *s = session;

	for (size_t i = 0; s && i < len && !s->hit; i++) {
		s->matched = data[i] == (uint8_t)e->word[s->matched] ? s->matched + 1
				: data[i] == (uint8_t)e->word[0];
		if (s->matched == e->len)
			s->hit = 1;
	}
	if (!s || !s->hit)
		return INSPECT_ABSTAIN;
	out->severity = INSPECT_SEV_ERROR;
	snprintf(out->reason, sizeof(out->reason), "example.forbidden_word");
	return INSPECT_BLOCK;
}

static int ws_end(void *instance, void *session, struct inspect_plugin_result *out)
{
	struct example_session *s = session;

	if (s) {
		s->matched = 0;
		s->hit = 0;
	}
	return INSPECT_ABSTAIN;
}

const struct inspect_plugin cage_inspect_plugin = {
	.abi_version = INSPECT_PLUGIN_ABI,
	.name = "example",
	.create = create,
	.destroy = destroy,
	.session_new = session_new,
	.session_free = session_free,
	.request_start = request_start,
	.body_chunk = chunk,
	.ws_message_chunk = chunk,
	.ws_message_end = ws_end,
};
