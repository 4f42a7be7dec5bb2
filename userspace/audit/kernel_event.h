/* SPDX-License-Identifier: GPL-2.0-only */
/* Kernel (BPF ring buffer) events as audit records. */
#ifndef CAGE_AUDIT_KERNEL_EVENT_H
#define CAGE_AUDIT_KERNEL_EVENT_H

#include "audit/audit.h"
#include "cage/maps.h"

int audit_kernel_event(struct audit_log *log, const struct cage_event *ev);

#endif
