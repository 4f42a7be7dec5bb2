#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make check-guest, as part of make check: a Debian guest kernel under qemu (TCG) with
# `cagectl guest-init` as PID 1, networked only to the lab (about 30 s).
exec "$(dirname "$0")/../guest/check_guest.sh"
