// SPDX-License-Identifier: GPL-2.0-only
/*
 * The built-in secret families. The regexes are written for Vectorscan (no lookaround): where
 * a family needs "not inside a longer token", the pattern consumes one delimiter byte or
 * anchors at the stream edge instead. Each pattern is explained in docs/inspectors.md; the
 * tests in tests/unit/test_inspect_secrets.c hold a real-shaped positive and near misses for
 * every one. Provider domains are where the secret is expected to go (subdomains included).
 */
#include "inspect/inspect_internal.h"

/* Bytes that continue a base64 / base64url / token run: a match must not sit inside one. */
#define NOT_TOK "[^A-Za-z0-9+/=_\\-]"
#define LEFT "(?:^|" NOT_TOK ")"
#define RIGHT "(?:" NOT_TOK "|$)"

const struct secret_family secret_families[] = {
	/* sk-proj- / sk-svcacct- / sk-admin- project keys, and the legacy T3BlbkFJ ("OpenAI"
	 * in base64) keys. sk-ant- and sk-or- are other families. */
	{ "openai_key",
	  "sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\\-]{40,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}",
	  INSPECT_BLOCK, { "openai.com" } },
	/* sk-ant-api03-, sk-ant-admin01-, sk-ant-oat01- ...: a type, two digits, then 80+. */
	{ "anthropic_key", "sk-ant-(?:api|admin|oat|ort|sid)[0-9]{2}-[A-Za-z0-9_\\-]{80,}",
	  INSPECT_BLOCK, { "anthropic.com", "claude.ai" } },
	/* Long-term (AKIA) and temporary (ASIA) key ids: 16 base32 characters after the prefix. */
	{ "aws_access_key", "\\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\\b",
	  INSPECT_BLOCK, { "amazonaws.com", "aws.amazon.com" } },
	/* ghp_ (classic PAT), gho_ (OAuth), ghu_/ghs_ (app), ghr_ (refresh): 36 base62. */
	{ "github_token", "\\bgh[pousr]_[A-Za-z0-9]{36}\\b",
	  INSPECT_BLOCK, { "github.com", "githubusercontent.com" } },
	{ "github_pat", "\\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\\b",
	  INSPECT_BLOCK, { "github.com", "githubusercontent.com" } },
	{ "google_api_key", "\\bAIza[0-9A-Za-z_\\-]{35}\\b",
	  INSPECT_BLOCK, { "googleapis.com", "google.com" } },
	/* Bot, user, app-level, refresh and config tokens. */
	{ "slack_token", "\\bxox[abposre]-[0-9]{8,}-[0-9A-Za-z\\-]{8,}",
	  INSPECT_BLOCK, { "slack.com" } },
	/* Secret and restricted keys; publishable pk_ keys are public by design. */
	{ "stripe_key", "\\b[sr]k_(?:live|test)_[0-9A-Za-z]{24,}",
	  INSPECT_BLOCK, { "stripe.com" } },
	{ "private_key", "-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
	  INSPECT_BLOCK, { NULL } },
	/* Personal, deploy, runner, pipeline-trigger and service-account tokens. */
	{ "gitlab_token", "\\bgl(?:pat|dt|rt|ptt|soat)-[0-9A-Za-z_\\-]{20,}",
	  INSPECT_BLOCK, { "gitlab.com" } },
	/* hf_ + 34 letters exactly: longer letter runs are prose or identifiers. */
	{ "huggingface_token", "\\bhf_[A-Za-z]{34}\\b",
	  INSPECT_BLOCK, { "huggingface.co", "hf.co" } },
	{ "databricks_token", "\\bdapi[0-9a-f]{32}(?:-[0-9])?\\b",
	  INSPECT_BLOCK, { "cloud.databricks.com", "azuredatabricks.net", "gcp.databricks.com" } },
	/* A signed JWT (three parts, JSON header and payload). Flag only: bearer JWTs to the
	 * service that issued them are ordinary traffic; a cage that wants them blocked says so
	 * with action: block plus allow_to_domains. */
	{ "jwt", "\\beyJ[A-Za-z0-9_\\-]{10,}\\.eyJ[A-Za-z0-9_\\-]{10,}\\.[A-Za-z0-9_\\-]{20,}",
	  INSPECT_FLAG, { NULL } },
	{ "openrouter_key", "\\bsk-or-v1-[0-9a-f]{64}\\b",
	  INSPECT_BLOCK, { "openrouter.ai" } },
	/* pplx- then exactly 48 base62: '-' or '_' inside, or a longer run, is not a key. */
	{ "perplexity_key", LEFT "pplx-[A-Za-z0-9]{48}" RIGHT,
	  INSPECT_BLOCK, { "perplexity.ai" } },
	/* BSA + 28 or 29 token bytes, alone: "BSA" occurs all the time inside base64 (images in
	 * Anthropic request bodies), so the bytes on either side must not be base64 either. */
	{ "brave_api_key", LEFT "BSA[A-Za-z0-9_\\-]{28,29}" RIGHT,
	  INSPECT_BLOCK, { "brave.com" } },
	/* bot id, ':', then a 35-byte secret that starts with AA. */
	{ "telegram_bot_token", "\\b[0-9]{8,10}:AA[A-Za-z0-9_\\-]{33}\\b",
	  INSPECT_BLOCK, { "api.telegram.org", "telegram.org" } },
	/* base64(user id).timestamp.hmac. No right boundary: a bounded repeat followed by \\b
	 * costs Vectorscan ten times more on binary bodies, and a longer HMAC part is no less
	 * a token. */
	{ "discord_bot_token",
	  "\\b[MNO][A-Za-z0-9_\\-]{23,25}\\.[A-Za-z0-9_\\-]{6}\\.[A-Za-z0-9_\\-]{27}",
	  INSPECT_BLOCK, { "discord.com", "discordapp.com" } },
	{ "firecrawl_key", "\\bfc-[0-9a-f]{32}\\b",
	  INSPECT_BLOCK, { "firecrawl.dev" } },
	/* Google OAuth 2.0 access tokens. */
	{ "google_oauth_token", "\\bya29\\.[0-9A-Za-z_\\-]{30,}",
	  INSPECT_BLOCK, { "googleapis.com", "google.com" } },
};

const size_t secret_family_count = sizeof(secret_families) / sizeof(secret_families[0]);
