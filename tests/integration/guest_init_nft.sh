#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# guest-init's nftables-only mode: tests/integration/guest_init_ns.sh with the guest kernel's
# cgroup BPF reported missing (CAGECTL_GUEST_NO_BPF=1, set by that script for guest-init only).
GUEST_NFT_ONLY=1 exec "$(dirname "$0")/guest_init_ns.sh"
