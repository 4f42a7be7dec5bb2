/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How cage-proxy and cage-dns give up root after opening what they need (sockets, map fds, the
 * audit log, the CA key): supplementary groups cleared, uid/gid switched, every capability and
 * the bounding set dropped, NoNewPrivs, not dumpable (no core files with secrets in them), then a
 * seccomp allowlist: any syscall not listed fails with EPERM.
 */
#ifndef CAGE_ENFORCE_PRIVDROP_H
#define CAGE_ENFORCE_PRIVDROP_H

#include <stdbool.h>
#include <stdint.h>

/* Syscalls every daemon needs (I/O, memory, time, threads, exit, epoll, sockets it already has). */
extern const char *const privdrop_base_syscalls[];

/*
 * Drops privileges and installs a seccomp filter allowing privdrop_base_syscalls plus `extra`
 * (NULL-terminated names, as libseccomp spells them). A syscall outside the list fails with
 * EPERM (so a missing entry shows up as a clear error, not a crash). 0 or -errno; on failure
 * the process must exit: it is in an unknown state.
 */
int privdrop_enter(uint32_t uid, uint32_t gid, const char *const *extra);

/* uid/gid of the system user `name`, creating it (useradd --system) if it does not exist. */
int privdrop_system_user(const char *name, uint32_t *uid, uint32_t *gid);

#endif
