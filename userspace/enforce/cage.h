/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A cage's lifecycle on the linux backend: every layer created in order, verified, and on any
 * failure removed again in reverse, so a half-finished `up` leaves nothing behind and starts no
 * workload. `down` removes whatever of a cage exists and is idempotent.
 */
#ifndef CAGE_ENFORCE_CAGE_H
#define CAGE_ENFORCE_CAGE_H

#include <stdbool.h>

#include "config/config.h"
#include "enforce/paths.h"
#include "enforce/state.h"

/* Called for each non-fatal problem (a cgroup controller that is not enabled, ...). */
typedef void (*cage_warn_fn)(const char *msg, void *arg);

/*
 * Creates every layer for cfg. On failure returns -errno, fills `err_msg` with a message that
 * names the step and the object, and has removed everything this call created.
 * For tests, CAGECTL_FAIL_AT=<step> makes the named step fail with -EIO (see cage_up_steps).
 */
int cage_up(const struct cage_config_file *cfg, const struct cage_paths *paths,
	    struct cage_state *st, char *err_msg, size_t err_len, cage_warn_fn warn, void *warn_arg);

/*
 * cage_up for a kernel that cannot load the cage's cgroup BPF programs (guest-init's
 * nftables-only mode, enforce/nft_only.h): the maps are pinned without programs, the cage netns
 * gets `table inet cagectl_nftonly`, the root netns a DNAT table to the proxy and resolver, and
 * <run_dir>/nft-only tells cage_verify and cage_down which layers the cage has.
 */
int cage_up_nft_only(const struct cage_config_file *cfg, const struct cage_paths *paths,
		     struct cage_state *st, char *err_msg, size_t err_len, cage_warn_fn warn,
		     void *warn_arg);

/* The step names CAGECTL_FAIL_AT accepts, NULL-terminated. */
extern const char *const cage_up_steps[];

/*
 * Removes everything of the cage that exists: processes, BPF pins, nft tables, veth, netns,
 * cgroup, addresses, run dir. Keeps logs and state_dir (audit and CA survive). 0 if the cage is
 * gone afterwards (also when nothing existed); -errno with err_msg naming what could not be removed.
 */
int cage_down(const struct cage_paths *paths, char *err_msg, size_t err_len);

/* Checks every layer of a running cage; 0 or -errno with `what` describing the first gap. */
int cage_verify(const struct cage_paths *paths, const struct cage_state *st, char *what, size_t len);

/* Removes the cage CA (only for undoing an `up` that created it; `down` keeps it). */
void cage_remove_ca(const struct cage_paths *p);

/* Whether any object of the cage exists (run dir, cgroup, netns or pins). */
bool cage_exists(const struct cage_paths *paths);

#endif
