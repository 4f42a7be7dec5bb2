/* SPDX-License-Identifier: GPL-2.0-only */
/* The Apple container driver's extra entry point: rendering without building (tests). */
#ifndef CAGE_BACKEND_APPLE_CONTAINER_H
#define CAGE_BACKEND_APPLE_CONTAINER_H

#include <stddef.h>

#include "backends/backend.h"

/* Writes <work_dir>/Containerfile (and cage.yaml); out_path receives its path. */
int apple_container_render(const struct backend_ctx *ctx, char *out_path, size_t len);

#endif
