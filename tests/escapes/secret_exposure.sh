#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The real value of a secret exists in exactly one place on the host: the store. After the lab
# cage injected it, grep every file cagectl wrote (logs, audit, state, run files) and the
# cmdline and environment of every cagectl, daemon and cage process for it.
. "$(dirname "$0")/lib.sh"
lab_start
REAL=$(sed -n 's/^REAL_GITHUB_TOKEN=//p' /run/lab/real.env)
like "the lab holds a real token" "$REAL" '^ghp_'

# Use it: an injected request, a misdirected one, a reflection.
"$LAB" cage-exec sh -c '. /run/lab/env.sh
	curl -s -m10 https://api.allowed.test/headers -H "Authorization: Bearer $GITHUB_TOKEN" >/dev/null
	curl -s -m10 https://echo.allowed.test/ -H "Authorization: Bearer $GITHUB_TOKEN" >/dev/null
	sleep 30' &
agent=$!
sleep 3
check "the bound API received the real value" grep -qF "$REAL" "$SENTINEL"

# Files: everything under the state, run and log roots except the sealed store itself.
hits=$(grep -rlF -- "$REAL" "$CAGECTL_STATE_DIR" "$CAGECTL_RUN_DIR" "$CAGECTL_LOG_DIR" 2>/dev/null |
	grep -v "/secrets/")
is "no file cagectl wrote holds the value (outside the store)" "$hits" ""
store=$(grep -rlF -- "$REAL" "$CAGECTL_STATE_DIR"/lab/secrets 2>/dev/null | wc -l)
diag "store files holding the value in clear: $store (sealed when a host key exists)"

# Processes: cagectl and its daemons, and everything inside the cage cgroup.
cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/cagectl/lab
pids="$(pgrep -f 'cagectl|cage-proxy|cage-dns') $(cat "$cg/cgroup.procs" 2>/dev/null)"
found=
for p in $pids; do
	for f in cmdline environ; do
		tr '\0' '\n' < /proc/$p/$f 2>/dev/null | grep -qF -- "$REAL" && found="$found $p/$f"
	done
done
is "no cmdline or environment of cagectl, cage-proxy, cage-dns or the cage holds the value" "$found" ""
n=$(echo $pids | wc -w)
[ "$n" -ge 4 ] && ok "looked at $n processes" || not_ok "looked at only $n processes"
kill "$agent" 2>/dev/null; wait "$agent" 2>/dev/null
done_testing
