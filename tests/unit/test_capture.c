// SPDX-License-Identifier: GPL-2.0-only
/*
 * cage-proxy's capture wrapper against a fake inner hook table that does what the secrets hooks
 * do: it puts a real value into the request (header edit, new target) and redacts the response
 * (header edit, filtered body). The capture line must hold the agent's view only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proxy/capture.h"
#include "proxy/http1.h"

#define REAL "REALVALUE-0123456789"
#define PH "cagectl:secret:K:placeholder"

static char root[] = "/tmp/test-capture.XXXXXX";
static char capture_path[256];
static const struct proxy_hooks *hooks;
static int inner_txn_marker, inner_ended;
static bool inner_blocks;

static enum proxy_verdict inner_req(void *ctx, void **txn, const struct proxy_msg_info *info,
				    struct http1_message *m, const uint8_t *buf,
				    struct proxy_block *blk)
{
	(void)ctx, (void)info, (void)buf;
	*txn = &inner_txn_marker;
	if (inner_blocks) {
		blk->status = 403;
		snprintf(blk->reason, sizeof(blk->reason), "secret.misdirected");
		return PROXY_BLOCK;
	}
	http1_set_target(m, "/x?t=" REAL, strlen("/x?t=" REAL));
	http1_header_replace(m, 1, "Bearer " REAL, strlen("Bearer " REAL));
	return PROXY_EDIT;
}

static enum proxy_verdict inner_resp(void *ctx, void *txn, struct http1_message *m,
				     const uint8_t *buf, struct proxy_block *blk)
{
	(void)ctx, (void)buf, (void)blk;
	assert_ptr_equal(txn, &inner_txn_marker);
	http1_header_replace(m, 1, "echo " PH, strlen("echo " PH));
	return PROXY_EDIT;
}

static enum proxy_body_mode inner_mode(void *ctx, void *txn, bool response)
{
	(void)ctx, (void)txn;
	return response ? PROXY_BODY_RESIZE : PROXY_BODY_FILTER;
}

/* Request: injects; response: redacts whatever came (the upstream body holds REAL). */
static enum proxy_verdict inner_filter(void *ctx, void *txn, bool response, const uint8_t *data,
				       size_t len, proxy_emit_fn emit, void *arg,
				       struct proxy_block *blk)
{
	(void)ctx, (void)txn, (void)blk;
	if (!data)
		return PROXY_ALLOW;
	if (!response)
		return emit(arg, REAL, strlen(REAL)) ? PROXY_BLOCK : PROXY_ALLOW;
	(void)len;
	return emit(arg, "{\"echo\":\"" PH "\"}", strlen("{\"echo\":\"" PH "\"}")) ? PROXY_BLOCK
										   : PROXY_ALLOW;
}

static void inner_end(void *ctx, void *txn, bool complete)
{
	(void)ctx, (void)complete;
	assert_ptr_equal(txn, &inner_txn_marker);
	inner_ended++;
}

static const struct proxy_hooks inner = {
	.on_request_headers = inner_req,
	.on_response_headers = inner_resp,
	.body_mode = inner_mode,
	.filter_body = inner_filter,
	.on_end = inner_end,
};

static int sink(void *arg, const void *buf, size_t len)
{
	(void)arg, (void)buf, (void)len;
	return 0;
}

static void parse(struct http1_parser *p, enum http1_kind kind, const char *raw)
{
	size_t used = 0;

	http1_init(p, kind, NULL, NULL, NULL);
	if (kind == HTTP1_RESPONSE)
		http1_set_request_method(p, HTTP1_METHOD_POST);
	assert_int_equal(http1_feed(p, (const uint8_t *)raw, strlen(raw), &used), HTTP1_HEADERS);
}

static char *read_capture(void)
{
	static char text[65536];
	FILE *f = fopen(capture_path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void one_exchange(void)
{
	static const char req[] = "POST /x?t=" PH " HTTP/1.1\r\nHost: api.allowed.test\r\n"
				  "Authorization: Bearer " PH "\r\nContent-Length: 7\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				   "X-Echo: echo " REAL "\r\nContent-Length: 30\r\n\r\n";
	struct proxy_msg_info info = { .cage = "t", .host = "api.allowed.test", .port = 443,
				       .tls = true, .upstream_tls = true, .mode = "inspect" };
	struct http1_parser *rq = calloc(1, sizeof(*rq)), *rs = calloc(1, sizeof(*rs));
	struct proxy_block blk = { 0 };
	void *txn = NULL;

	assert_non_null(rq);
	assert_non_null(rs);
	parse(rq, HTTP1_REQUEST, req);
	if (hooks->on_request_headers(hooks->ctx, &txn, &info, &rq->msg, (const uint8_t *)req,
				      &blk) == PROXY_BLOCK) {
		hooks->on_end(hooks->ctx, txn, false);
		goto out;
	}
	assert_int_equal(hooks->body_mode(hooks->ctx, txn, false), PROXY_BODY_FILTER);
	hooks->filter_body(hooks->ctx, txn, false, (const uint8_t *)"key=abc", 7, sink, NULL, &blk);
	hooks->filter_body(hooks->ctx, txn, false, NULL, 0, sink, NULL, &blk);
	parse(rs, HTTP1_RESPONSE, resp);
	hooks->on_response_headers(hooks->ctx, txn, &rs->msg, (const uint8_t *)resp, &blk);
	assert_int_equal(hooks->body_mode(hooks->ctx, txn, true), PROXY_BODY_RESIZE);
	hooks->filter_body(hooks->ctx, txn, true, (const uint8_t *)"{\"echo\":\"" REAL "\"}", 30,
			   sink, NULL, &blk);
	hooks->on_end(hooks->ctx, txn, true);
out:
	free(rq);
	free(rs);
}

static void test_agent_view_only(void **state)
{
	char *text;

	(void)state;
	inner_blocks = false;
	inner_ended = 0;
	one_exchange();
	assert_int_equal(inner_ended, 1);
	text = read_capture();
	assert_null(strstr(text, REAL));
	assert_non_null(strstr(text, "\"url\":\"https://api.allowed.test/x?t=" PH "\""));
	assert_non_null(strstr(text, "Authorization: Bearer " PH "\\r\\n"));
	assert_non_null(strstr(text, "X-Echo: echo " PH));
	assert_non_null(strstr(text, "\"req_body\":\"key=abc\""));
	assert_non_null(strstr(text, "\"status\":200"));
	assert_non_null(strstr(text, "\"resp_mime_type\":\"application/json\""));
	assert_non_null(strstr(text, "\"decision\":\"allowed\""));
	/* max_body_size is 16: the 7-byte request body is whole, the response is cut. */
	assert_null(strstr(text, "req_body_truncated"));
	assert_non_null(strstr(text, "\"resp_body_truncated\":true"));
	assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));
}

static void test_blocked_request(void **state)
{
	char *text, *last;

	(void)state;
	truncate(capture_path, 0);
	inner_blocks = true;
	one_exchange();
	text = read_capture();
	last = text;
	assert_non_null(strstr(last, "\"decision\":\"blocked\""));
	assert_non_null(strstr(last, "\"status\":403"));
	assert_non_null(strstr(last, "\"reason\":\"secret.misdirected\""));
	assert_null(strstr(text, REAL));
}

static int setup(void **state)
{
	char path[256], dir[256];
	FILE *f;

	(void)state;
	if (!mkdtemp(root))
		return -1;
	snprintf(path, sizeof(path), "%s/log", root);
	setenv("CAGECTL_LOG_DIR", path, 1);
	mkdir(path, 0755);
	snprintf(dir, sizeof(dir), "%s/t", path);
	mkdir(dir, 0755);
	snprintf(capture_path, sizeof(capture_path), "%s/capture.jsonl", dir);
	snprintf(path, sizeof(path), "%s/run", root);
	setenv("CAGECTL_RUN_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/state", root);
	setenv("CAGECTL_STATE_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/cage.yaml", root);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("name: t\ncapture:\n  enable: true\n  max_body_size: 16\n", f);
	fclose(f);
	hooks = px_capture_wrap(&inner, "t", strdup(path));
	return hooks == &inner ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_view_only),
		cmocka_unit_test(test_blocked_request),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
