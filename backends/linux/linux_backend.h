/* SPDX-License-Identifier: GPL-2.0-only */
/* The linux backend behind the backends/backend.h interface (full Linux build only). */
#ifndef CAGE_BACKEND_LINUX_H
#define CAGE_BACKEND_LINUX_H

#include "backends/backend.h"

extern const struct backend_ops backend_linux;

#endif
