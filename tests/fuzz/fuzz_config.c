// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: cage_config_parse on arbitrary bytes must never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/config.h"

static void count_warning(const struct cage_config_diag *diag, void *arg)
{
	char line[1024];

	cage_config_diag_format(diag, line, sizeof(line));
	(*(size_t *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cage_config_file *cfg = NULL;
	struct cage_config_diag diag;
	size_t warnings = 0;
	char line[1024];

	if (cage_config_parse("fuzz.yaml", (const char *)data, size, &cfg, &diag, count_warning,
			      &warnings) == 0) {
		/* Touch what consumers read, so ASan sees any bad pointer. */
		for (size_t i = 0; i < cfg->n_inspectors; i++)
			if (cfg->inspectors[i].config_yaml)
				(void)strlen(cfg->inspectors[i].config_yaml);
		for (size_t i = 0; i < cfg->allow.n; i++)
			(void)strlen(cfg->allow.v[i].pattern);
		cage_config_free(cfg);
	} else {
		cage_config_diag_format(&diag, line, sizeof(line));
	}
	return 0;
}
