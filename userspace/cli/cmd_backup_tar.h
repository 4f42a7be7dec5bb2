/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A minimal ustar reader/writer over zlib's gzip streams, for `cagectl backup`/`restore`: regular
 * files only, names under 100 bytes. The reader checks every header checksum, the gzip CRC at the
 * end and refuses anything that is not a plain relative path, so a hostile archive cannot write
 * outside the directory it is extracted into.
 */
#ifndef CAGE_CLI_BACKUP_TAR_H
#define CAGE_CLI_BACKUP_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tgz;

int tgz_create(const char *path, struct tgz **out);
/* Adds a member from memory. */
int tgz_add_mem(struct tgz *t, const char *name, const void *data, size_t len, unsigned mode);
/* Adds a member from a file (its size at open time). */
int tgz_add_file(struct tgz *t, const char *name, const char *path, unsigned mode);
/* Writes the end blocks and closes; -EIO when anything failed on the way. */
int tgz_finish(struct tgz *t);

int tgz_open(const char *path, struct tgz **out);      /* -EBADMSG: not gzip */
/*
 * The next member: name (NUL-terminated, checked safe) and size; 1 = got one, 0 = end of archive,
 * -EBADMSG on a corrupt header, a bad name or a member that is not a regular file.
 */
int tgz_next(struct tgz *t, char *name, size_t name_len, uint64_t *size);
/* Reads the current member's data: whole into a malloc'd buffer, or into a file (mode). */
int tgz_read_mem(struct tgz *t, uint64_t size, char **data);
int tgz_read_file(struct tgz *t, uint64_t size, const char *path, unsigned mode);
/* Closes; -EBADMSG when the gzip trailer (CRC, length) did not verify. */
int tgz_close(struct tgz *t);

#endif
