// SPDX-License-Identifier: GPL-2.0-only
/* `cagectl har`: <log_dir>/capture.jsonl (.1 first) as one HAR 1.2 document. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit/har.h"
#include "cli/cli.h"
#include "enforce/cage.h"
#include "lib/json.h"
#include "lib/log.h"

#ifndef CAGECTL_VERSION
#define CAGECTL_VERSION "0.1.0"
#endif

int do_har(int argc, char **argv)
{
	const char *name = NULL, *out_path = NULL;
	char cur[PATH_MAX + 32], old[PATH_MAX + 32], tmp[PATH_MAX + 32];
	struct har_counts counts;
	struct cage_paths p;
	FILE *in[2], *out = stdout;
	int rc, err;

	cli_strip_json(&argc, argv);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out_path = argv[++i];
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else
			return cli_usage_error("har", "unexpected argument '%s'", argv[i]);
	}
	if (!name)
		return cli_usage_error("har", "no cage name");
	rc = cli_cage_lookup("har", name, &p, false);
	if (rc)
		return rc;
	snprintf(cur, sizeof(cur), "%s/capture.jsonl", p.log_dir);
	snprintf(old, sizeof(old), "%s/capture.jsonl.1", p.log_dir);
	in[0] = fopen(old, "re");
	in[1] = fopen(cur, "re");
	if (!in[0] && !in[1]) {
		p_err("har: cage %s has no capture (%s); set capture.enable: true and 'cagectl update' it",
		      name, cur);
		return 1;
	}
	if (out_path && strcmp(out_path, "-")) {
		/* Written next to the target and renamed: a failed run never leaves half a HAR. */
		snprintf(tmp, sizeof(tmp), "%s.tmp%d", out_path, (int)getpid());
		out = fopen(tmp, "we");
		if (!out) {
			p_err("har: can't create %s: %s", out_path, strerror(errno));
			rc = 1;
			goto out;
		}
	}
	err = har_write(in, 2, out, CAGECTL_VERSION, &counts);
	if (out != stdout) {
		if (fclose(out))
			err = -errno;
		if (!err && rename(tmp, out_path))
			err = -errno;
		if (err)
			unlink(tmp);
	}
	if (err) {
		p_err("har: can't write %s: %s", out_path ? out_path : "stdout", strerror(-err));
		rc = 1;
		goto out;
	}
	if (out != stdout) {
		if (json_output) {
			/* The path is the user's: escaped like every other string we print as JSON. */
			printf("{\"name\":");
			json_write_string(stdout, name);
			printf(",\"file\":");
			json_write_string(stdout, out_path);
			printf(",\"entries\":%ld,\"skipped\":%ld}\n", counts.entries, counts.skipped);
		} else {
			p_info("har: %ld requests written to %s%s", counts.entries, out_path,
			       counts.skipped ? " (some capture lines were unreadable and skipped)" : "");
		}
	}
out:
	for (int i = 0; i < 2; i++)
		if (in[i])
			fclose(in[i]);
	return rc;
}
