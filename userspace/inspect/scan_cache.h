/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A disk cache of compiled Vectorscan databases, so that cage-proxy does not compile the same
 * pattern set on every start (30-60 ms on a 2-core machine, most of its start-up; loading the
 * serialized database takes microseconds and none of the compiler's transient heap).
 *
 * Entries are keyed by SHA-256 over everything that determines the bytecode: the Vectorscan
 * version, this host's platform, the mode and every expression with its flags and id. Callers
 * cache only pattern sets that hold nothing secret (no known secret values).
 *
 * The directory must be a root-owned 0700 directory outside anything a backup restores: a
 * database is bytecode, and the deserializer is not meant for hostile input.
 */
#ifndef CAGE_INSPECT_SCAN_CACHE_H
#define CAGE_INSPECT_SCAN_CACHE_H

#include <stddef.h>

#include <hs/hs.h>

#define SCAN_CACHE_KEY_LEN 32
#define SCAN_CACHE_MAX_ENTRIES 8    /* least recently used entries beyond this are removed */

/*
 * Turns the cache on in dir (created 0700 if missing; its parent must exist). -EPERM when dir
 * is not a directory of ours closed to others: the cache then stays off. NULL turns it off
 * (cage-proxy does so before it drops root: it could not write there afterwards).
 */
int scan_cache_set_dir(const char *dir);

/* The key of a pattern set, as hs_compile_multi() would receive it. */
int scan_cache_key(const char *const *exprs, const unsigned *flags, const unsigned *ids,
		   size_t n, unsigned mode, unsigned char key[SCAN_CACHE_KEY_LEN]);

/*
 * The cached database for key: 0 and *out, or -ENOENT (no entry, or the cache is off),
 * -EBADMSG (an entry that fails its checksum or will not deserialize: the caller compiles).
 */
int scan_cache_load(const unsigned char key[SCAN_CACHE_KEY_LEN], hs_database_t **out);

/* Best effort: a cache that cannot be written only costs the next start a compile. */
void scan_cache_store(const unsigned char key[SCAN_CACHE_KEY_LEN], const hs_database_t *db);

#endif
