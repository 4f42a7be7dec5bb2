// SPDX-License-Identifier: GPL-2.0-only
/* Loading a cage.yaml for a command: every warning printed, the error with file:line:column. */
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "lib/log.h"

static void print_warning(const struct cage_config_diag *d, void *arg)
{
	char buf[1024];

	(void)arg;
	cage_config_diag_format(d, buf, sizeof(buf));
	p_warn("%s", buf);
}

int cli_load_config(const char *path, struct cage_config_file **out)
{
	struct cage_config_diag diag;
	char buf[1024];
	int err;

	memset(&diag, 0, sizeof(diag));
	err = cage_config_load(path, out, &diag, print_warning, NULL);
	if (err) {
		cage_config_diag_format(&diag, buf, sizeof(buf));
		p_err("%s", buf);
	}
	return err;
}
