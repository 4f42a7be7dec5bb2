#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# proxy.idle_exit (issue 3: idle memory): with no connection for that long cage-proxy exits, the
# monitor keeps its listening sockets and starts it again when a connection waits. Checked: the
# idle state as status/show/verify report it, what an idle cage holds in memory, the wake-up on
# the explicit and the transparent port, connections that land right at the exit, counters that
# count on, stop/start and down while idle. A cage in a throwaway host netns, no lab needed.
. "$(dirname "$0")/../lib.sh"
HOSTNS=cagetest-idle-$$
CAGE=pxidle
CFG=$BUILD/proxy_idle_exit.yaml
RESOLV=$BUILD/proxy_idle_exit.resolv
H() { nsenter --net=/run/netns/$HOSTNS "$@"; }
X() { H "$CAGECTL" "$@"; }
cleanup() {
	X -q down "$CAGE" >/dev/null 2>&1
	ip netns delete "$HOSTNS" 2>/dev/null
}
trap cleanup EXIT
scratch_host_netns "$HOSTNS" "$RESOLV" || { not_ok "host netns"; exit 1; }
printf 'name: %s\ndomains:\n  allow: [api.allowed.test]\nproxy:\n  idle_exit: 1s\n' "$CAGE" > "$CFG"
AUDIT=$(audit_file "$CAGE")
RUN=$CAGECTL_RUN_DIR/$CAGE

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
proxy_pid() { cat "$RUN/cage-proxy.pid" 2>/dev/null; }
# Waits (10 s at most) for the proxy to have exited idle; prints its last pid's fate.
wait_idle() {
	for _ in $(seq 100); do
		[ -e "$RUN/cage-proxy.idle" ] && [ ! -e "$RUN/cage-proxy.pid" ] && return 0
		sleep 0.1
	done
	return 1
}
# The audit log outlives the cage (and earlier runs): count from the mark taken at up.
audit_new() { tail -n +"$((MARK + 1))" "$AUDIT" 2>/dev/null; }
audit_count() { audit_new | grep -c "\"event\":\"$1\""; }
# The cage's proxy processes: the monitor starts them with --cage NAME.
proxies_of_cage() { pgrep -f -- "cage-proxy --cage $CAGE " | wc -l; }
ask() { H curl -s -o /dev/null -m 10 -w '%{http_code}' -x "http://$GW:3128" "$1"; }
# cage-proxy publishes its counters once a second: wait for the expected value (3 s at most).
requests_reach() {
	local got
	for _ in $(seq 30); do
		got=$(requests)
		[ "$got" = "$1" ] && break
		sleep 0.1
	done
	echo "$got"
}
requests() { X stats "$CAGE" --json | python3 -c 'import json,sys
print(json.load(sys.stdin)["daemons"].get("cage-proxy", {}).get("requests"))' 2>/dev/null; }

MARK=$(cat "$AUDIT" 2>/dev/null | wc -l)
check "cagectl up $CAGE (idle_exit: 1s)" X -q up "$CFG"
first=$(proxy_pid)
like "cage-proxy runs when up returns" "$first" '^[0-9]+$'
GW=$(X status "$CAGE" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway4"])')

# --- idle ---------------------------------------------------------------------------------
check "cage-proxy exits after 1 s without a connection" wait_idle
sleep 0.2
is "its process is gone" "$(proxies_of_cage)" 0
is "the monitor audited daemon.idle" "$(audit_count daemon.idle)" 1
is "no daemon.exited (an idle exit is not a failure)" "$(audit_new | grep '"daemon.exited"' | grep -c cage-proxy)" 0
like "status says idle" "$(X status "$CAGE")" 'proxy: +idle: no connection for proxy.idle_exit'
like "status --json: daemons.cage-proxy is idle" "$(X status "$CAGE" --json)" '"cage-proxy":"idle"'
like "show --json: cage-proxy state idle" "$(X show "$CAGE" --json)" '"name":"cage-proxy","pid":0,"alive":false,"state":"idle"'
like "verify --no-probes passes an idle proxy" "$(X verify "$CAGE" --no-probes 2>&1)" 'cage-proxy.*idle'

# What an idle cage holds: the monitor (cagectl) and cage-dns; cage-proxy nothing.
mon=$(cat "$RUN/monitor.pid") dns=$(cat "$RUN/cage-dns.pid")
diag "idle cage: cage-proxy 0 kB (not running), cage-dns VmRSS $(status_kb "$dns" VmRSS) kB, monitor VmRSS $(status_kb "$mon" VmRSS) kB"

# --- the next connection starts it ----------------------------------------------------------
t0=$(date +%s%N)
code=$(ask http://denied.test/)
t1=$(date +%s%N)
is "a request on the explicit port while idle is answered (403, denied.test)" "$code" 403
diag "wake-up to answer: $(((t1 - t0) / 1000000)) ms (the proxy's start included)"
is "the monitor audited daemon.woken" "$(audit_count daemon.woken)" 1
like "cage-proxy runs again" "$(proxy_pid)" '^[0-9]+$'
check "under a new pid" test "$(proxy_pid)" != "$first"
like "the denial is audited by the woken proxy" "$(audit_new | grep '"event":"proxy.request"')" '"path":"http://denied.test/","status":403,"reason":"not_allowed"'
is "stats: 1 request" "$(requests_reach 1)" 1

# The counters count on across an idle exit (the metrics file is resumed, not restarted).
check "idle again" wait_idle
is "a second request while idle: 403" "$(ask http://denied.test/second)" 403
is "stats: 2 requests, the first one kept" "$(requests_reach 2)" 2

# The transparent port wakes it too: a workload's plain-HTTP connection to a literal address.
check "idle again" wait_idle
code=$(X exec "$CAGE" -- curl -s -o /dev/null -m 10 -w '%{http_code}' --noproxy '*' http://198.51.100.7/)
is "a transparent connection while idle is answered by the woken proxy (403)" "$code" 403

# Connections that arrive around the moment of the exit: none is reset or lost.
lost=0
for i in 0 1 2 3 4 5 6 7; do
	sleep "$(printf '1.%02d' $((i * 13)))"
	code=$(ask "http://denied.test/race$i")
	[ "$code" = 403 ] || { diag "request $i near the idle exit: $code"; lost=$((lost + 1)); }
done
is "8 requests around the idle exit, all answered" "$lost" 0
diag "idle exits so far: $(audit_count daemon.idle), wake-ups: $(audit_count daemon.woken)"

# --- stop / start / down while idle ------------------------------------------------------------
check "idle again" wait_idle
check "cagectl stop while idle" X -q stop "$CAGE"
check "stop clears the idle marker" test ! -e "$RUN/cage-proxy.idle"
like "status: proxy not running" "$(X status "$CAGE")" 'proxy: +not running'
is "a stopped cage's proxy is not woken by a connection" "$(ask http://denied.test/stopped)" 000
is "no cage-proxy process" "$(proxies_of_cage)" 0
check "cagectl start" X -q start "$CAGE"
for _ in $(seq 50); do [ -n "$(proxy_pid)" ] && break; sleep 0.1; done
like "start runs cage-proxy at once" "$(proxy_pid)" '^[0-9]+$'
check "idle again" wait_idle
check "cagectl down while idle" X -q down "$CAGE"
check "down leaves no run directory" test ! -e "$RUN"
is "and no cage-proxy process" "$(proxies_of_cage)" 0
done_testing
