#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Cage lifecycle: `cagectl up` to ready and `cagectl down`, N rounds (default 20), in a
# throwaway host netns. Prints medians and min-max in milliseconds; with BENCH_RAW=FILE it also
# appends each sample as a raw.tsv line for tests/bench/report.py (scenario 6).
#
# The host netns gets a veth pair (both ends inside it) with a default route and the resolver a
# TEST-NET-1 upstream, so cage-dns can open its upstream socket and both daemons really start;
# nothing can leave the netns. A round only counts if both daemons reported
# ready (their pid files exist when `up` returns); the idle RSS of each is printed at the end.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
ROUNDS=${ROUNDS:-20}
HOSTNS=cagebench-$$
CFG=$BUILD/bench-lifecycle.yaml
RESOLV=$BUILD/bench-lifecycle.resolv
H() { nsenter --net=/run/netns/$HOSTNS "$@"; }
trap 'H "$CAGECTL" -q down benchlc >/dev/null 2>&1; ip netns delete $HOSTNS 2>/dev/null' EXIT
scratch_host_netns "$HOSTNS" "$RESOLV" || exit 1
printf 'name: benchlc\ndomains:\n  allow: [api.allowed.test]\n' > "$CFG"
ms() { date +%s%N; }
ready() {
	local d
	for d in cage-proxy cage-dns; do
		[ -s "$CAGECTL_RUN_DIR/benchlc/$d.pid" ] || { echo "lifecycle: $d is not running after up" >&2; return 1; }
	done
}
# VmRSS = RssAnon (private) + RssFile (mostly shared-library pages, shared with every process
# that maps them); Pss divides shared pages among their users.
rss() {
	local pid
	pid=$(cat "$CAGECTL_RUN_DIR/benchlc/$1.pid")
	awk '/^(VmRSS|RssAnon|RssFile):/ { printf "%s %d kB  ", $1, $2 }' "/proc/$pid/status"
	awk '/^Pss:/ { printf "Pss: %d kB", $2 }' "/proc/$pid/smaps_rollup"
}
ups=() downs=() idle=""
for i in $(seq "$ROUNDS"); do
	t0=$(ms); H "$CAGECTL" -q up "$CFG" || exit 1; t1=$(ms)
	ready || exit 1
	if [ "$i" = "$ROUNDS" ]; then
		sleep 1
		idle="cage-proxy idle: $(rss cage-proxy)
cage-dns idle:   $(rss cage-dns)"
	fi
	t1b=$(ms)
	H "$CAGECTL" -q down benchlc || exit 1; t2=$(ms)
	ups+=($(( (t1 - t0) / 1000 ))) downs+=($(( (t2 - t1b) / 1000 )))
	if [ -n "${BENCH_RAW:-}" ]; then
		printf '6\tup_ms\tcagectl\t%s\n6\tdown_ms\tcagectl\t%s\n' \
			"$(awk -v u=$(( (t1 - t0) / 1000 )) 'BEGIN { print u / 1000 }')" \
			"$(awk -v u=$(( (t2 - t1b) / 1000 )) 'BEGIN { print u / 1000 }')" >>"$BENCH_RAW"
	fi
done
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "median %.1f ms (min %.1f, max %.1f)", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)/1000, a[1]/1000, a[NR]/1000}'; }
echo "cagectl up (to ready), $ROUNDS rounds: $(stats "${ups[@]}")"
echo "cagectl down,          $ROUNDS rounds: $(stats "${downs[@]}")"
echo "$idle"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
