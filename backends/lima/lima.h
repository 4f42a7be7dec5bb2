/* SPDX-License-Identifier: GPL-2.0-only */
/* The Lima driver's one extra entry point: rendering without starting anything (tests, --dry-run). */
#ifndef CAGE_BACKEND_LIMA_H
#define CAGE_BACKEND_LIMA_H

#include <stddef.h>

#include "backends/backend.h"

/* Writes <work_dir>/lima.yaml (and cage.yaml); out_path receives its path. */
int lima_render(const struct backend_ctx *ctx, char *out_path, size_t len);

#endif
