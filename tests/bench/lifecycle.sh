#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Cage lifecycle: `cagectl up` to ready and `cagectl down`, N rounds (default 20), in a
# throwaway host netns. Prints medians and min-max in milliseconds; with BENCH_RAW=FILE it also
# appends each sample as a raw.tsv line for tests/bench/report.py (scenario 6).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
ROUNDS=${ROUNDS:-20}
HOSTNS=cagebench-$$
CFG=$BUILD/bench-lifecycle.yaml
trap 'nsenter --net=/run/netns/$HOSTNS "$CAGECTL" -q down benchlc >/dev/null 2>&1; ip netns delete $HOSTNS 2>/dev/null' EXIT
ip netns add "$HOSTNS" && ip -n "$HOSTNS" link set lo up
printf 'name: benchlc\ndomains:\n  allow: [api.allowed.test]\n' > "$CFG"
ms() { date +%s%N; }
ups=() downs=()
for _ in $(seq "$ROUNDS"); do
	t0=$(ms); nsenter --net=/run/netns/$HOSTNS "$CAGECTL" -q up "$CFG" || exit 1; t1=$(ms)
	nsenter --net=/run/netns/$HOSTNS "$CAGECTL" -q down benchlc || exit 1; t2=$(ms)
	ups+=($(( (t1 - t0) / 1000 ))) downs+=($(( (t2 - t1) / 1000 )))
	if [ -n "${BENCH_RAW:-}" ]; then
		printf '6\tup_ms\tcagectl\t%s\n6\tdown_ms\tcagectl\t%s\n' \
			"$(awk -v u=$(( (t1 - t0) / 1000 )) 'BEGIN { print u / 1000 }')" \
			"$(awk -v u=$(( (t2 - t1) / 1000 )) 'BEGIN { print u / 1000 }')" >>"$BENCH_RAW"
	fi
done
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "median %.1f ms (min %.1f, max %.1f)", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)/1000, a[1]/1000, a[NR]/1000}'; }
echo "cagectl up (to ready), $ROUNDS rounds: $(stats "${ups[@]}")"
echo "cagectl down,          $ROUNDS rounds: $(stats "${downs[@]}")"
