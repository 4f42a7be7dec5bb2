/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HOST_ONLY builds only: include/cage/maps.h (shared with the BPF side) spells its fixed-width
 * types the kernel way. A macOS host has no <linux/types.h>, so this stand-in, first on the
 * include path of mk/host-only.mk, gives the same names from <stdint.h>. No kernel header.
 */
#ifndef CAGE_HOST_LINUX_TYPES_H
#define CAGE_HOST_LINUX_TYPES_H

#include <stdint.h>

typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int8_t __s8;
typedef int16_t __s16;
typedef int32_t __s32;
typedef int64_t __s64;
typedef uint16_t __be16;
typedef uint32_t __be32;

#endif
