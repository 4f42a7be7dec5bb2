#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The kernel cage in the style of the kernel's connect_force_port selftest: a cage in the lab,
# a stand-in listener where cage-proxy and cage-dns will stand, and a client inside the cage
# running IPv4 / IPv6 / IPv4-mapped x TCP / UDP. Then the audit log against the pinned counters.
. "$(dirname "$0")/../lib.sh"
LAB="$TOP/scripts/lab"
CAGE=matrix
PINS=/sys/fs/bpf/cagectl/$CAGE
LISTENER_PID=

cleanup() {
	[ -n "$LISTENER_PID" ] && kill "$LISTENER_PID" 2>/dev/null
	"$LAB" exec "$CAGECTL" -q down "$CAGE" >/dev/null 2>&1
	LAB_NO_CAGE=1 "$LAB" down >/dev/null 2>&1
}
LAB_NO_CAGE=1 "$LAB" up >/dev/null || { not_ok "lab up"; exit 1; }
trap cleanup EXIT  # only now: a failed up must not take down someone else's lab
# Counters start at zero with each `up`; so does this run's part of the audit log.
rm -f "$(audit_file "$CAGE")"
# A kernel-only cage: no daemons (CAGECTL_LIBEXEC names a directory without them), so the gateway
# ports are free for the stand-in listener.
export CAGECTL_LIBEXEC=$BUILD/no-daemons
mkdir -p "$CAGECTL_LIBEXEC"
check "cagectl up matrix.yaml in lab-host" "$LAB" exec "$CAGECTL" -q up "$TOP/tests/integration/matrix.yaml"
status=$("$LAB" exec "$CAGECTL" status "$CAGE" --json)
gw4=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway4"])' <<<"$status")
gw6=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway6"])' <<<"$status")
c4=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"])' <<<"$status")
c6=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv6"])' <<<"$status")
like "status names the gateway" "$gw4" '^10\.200\.0\.[0-9]+$'

"$LAB" exec "$BUILD/tools/origdst_listener" "$PINS" "$gw4" "$gw6" 15001 53 >"$BUILD/listener.out" 2>&1 &
LISTENER_PID=$!
for _ in $(seq 50); do grep -q ready "$BUILD/listener.out" 2>/dev/null && break; sleep 0.05; done

# The client prints its own TAP lines; they count as this test's.
"$LAB" exec "$CAGECTL" exec "$CAGE" -- python3 - "$gw4" "$gw6" "$c4" "$c6" \
	< "$TOP/tests/integration/matrix_client.py" | tee "$BUILD/matrix.tap" | sed 's/^\(not \)\{0,1\}ok [0-9]* - /&matrix: /'
grep -q '^not ok' "$BUILD/matrix.tap" && TAP_FAILED=$((TAP_FAILED + 1))

# Every denial is one audit line, and the lines agree with the pinned counters.
sleep 0.5
audit=$(audit_file "$CAGE")
# (No raw_socket: the missing CAP_NET_RAW refuses it before the sock_create hook runs.)
for reason in tcp_port_denied udp_denied gateway_port_denied socket_protocol_denied; do
	logged=$(grep -c "\"reason\":\"$reason\"" "$audit")
	counted=$("$LAB" exec "$CAGECTL" stats "$CAGE" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$reason'])")
	if [ "$logged" -gt 0 ] && [ "$logged" = "$counted" ]; then
		ok "audit has $logged $reason events, matching the pinned counter"
	else
		not_ok "audit has $logged $reason events, the pinned counter says $counted"
	fi
done
like "audit lines carry pid, comm and uid" "$(grep -m1 tcp_port_denied "$audit")" '"pid":[0-9]+,"comm":"python3","uid":1000'
check "bpftool reads the pinned stats map by reason name" \
	sh -c "bpftool map dump pinned $PINS/stats | grep -q REASON_TCP_PORT_DENIED"
done_testing
