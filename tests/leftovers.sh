#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# After every other test: nothing of ours may be left on the machine.
n=0
check() {
	n=$((n + 1))
	if [ -z "$2" ]; then echo "ok $n - no $1 left"; else echo "not ok $n - $1 left: $2"; fi
}
check "lab or cage netns" "$(ip netns list 2>/dev/null | grep -E '^(lab-|cage-|cagetest)' | tr '\n' ' ')"
cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
check "cagectl cgroup" "$( [ -n "$cg" ] && find "$cg" -maxdepth 2 -name 'cagectl*' 2>/dev/null | tr '\n' ' ')"
check "bpf pins" "$(ls -A /sys/fs/bpf/cagectl 2>/dev/null | tr '\n' ' ')"
check "nft tables" "$(nft list tables 2>/dev/null | grep -E 'cagectl|lab' | tr '\n' ' ')"
check "veths" "$(ip -br link 2>/dev/null | awk '{print $1}' | grep -E '^(cg|lab)' | tr '\n' ' ')"
# Zombies are left out: they run nothing, and only their reaper (PID 1 for daemons, which on
# some machines never reaps) can remove them.
check "processes" "$(ps -eo pid=,stat=,args= | awk '$2 !~ /^Z/' | grep -E 'cagectl|cage-proxy|cage-dns|/run/lab/' | grep -v -e leftovers -e grep | tr '\n' ' ')"
