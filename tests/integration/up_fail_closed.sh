#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fail closed: a failure injected at every step of `up` leaves nothing behind; a daemon that fails
# its first start fails `up` (named, with its last log line) and leaves nothing behind; a dead
# monitor leaves enforcement in place; a second `up` of the same cage is refused; `down` is
# idempotent. The host netns here has no route at all: cage-dns must start anyway (its upstream
# is unreachable, which is a per-query SERVFAIL, not a start failure).
. "$(dirname "$0")/../lib.sh"
HOSTNS=cagetest-up-$$
CAGE=failclosed
CFG=$BUILD/failclosed.yaml
H() { nsenter --net=/run/netns/$HOSTNS "$@"; }

cleanup() {
	H "$CAGECTL" -q down "$CAGE" >/dev/null 2>&1
	ip netns delete "$HOSTNS" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$HOSTNS" && ip -n "$HOSTNS" link set lo up
rm -rf "${CAGECTL_STATE_DIR:?}/$CAGE"
printf 'name: %s\ndomains:\n  allow: [api.allowed.test]\n' "$CAGE" > "$CFG"

# Everything a cage can own, one word per object that exists.
leftovers() {
	local cg
	cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	[ -e "/run/netns/cage-$CAGE" ] && echo netns
	[ -e "$cg/cagectl/$CAGE" ] && echo cgroup
	[ -e "/sys/fs/bpf/cagectl/$CAGE" ] && echo pins
	H nft list tables 2>/dev/null | grep -q "cagectl_$CAGE" && echo nft
	H ip -br link | grep -q '^cg' && echo veth
	[ -e "$CAGECTL_RUN_DIR/$CAGE" ] && echo run-dir
	grep -rqs "^$CAGE\$" "$CAGECTL_STATE_DIR/addrs" && echo address
	pgrep -f "cagectl.*up $CFG" >/dev/null && echo monitor
}

for step in run-dir addresses cgroup limits netns veth ip routes sysctl nft-host nft-cage bpffs bpf verify ca state monitor; do
	out=$(CAGECTL_FAIL_AT=$step H "$CAGECTL" up "$CFG" 2>&1)
	rc=$?
	left=$(leftovers | tr '\n' ' ')
	# No up has succeeded yet, so no CA may exist either (a successful up keeps it on purpose).
	[ -e "$CAGECTL_STATE_DIR/$CAGE/ca/ca.key" ] && left="$left ca"
	if [ "$rc" -ne 0 ] && [ -z "$left" ]; then
		ok "failure injected at '$step': up exits $rc and leaves nothing behind"
	else
		not_ok "failure injected at '$step': rc=$rc, left behind: '$left' ($out)"
	fi
	[ "$step" = monitor ] || like "the error names step '$step'" "$out" "step $step"
done

# A daemon that fails its first start: a libexec dir with the real cage-proxy and a cage-dns that
# says why and exits 1. The monitor reports it instead of ready; up rolls everything back.
BROKEN=$BUILD/broken-libexec
mkdir -p "$BROKEN"
ln -sf "$(realpath "$BUILD/cage-proxy")" "$BROKEN/cage-proxy"
printf '#!/bin/sh\necho "cage-dns: error: stub refuses to start" >&2\nexit 1\n' > "$BROKEN/cage-dns"
chmod 0755 "$BROKEN/cage-dns"
out=$(CAGECTL_LIBEXEC=$BROKEN H "$CAGECTL" up "$CFG" 2>&1)
rc=$?
left=$(leftovers | tr '\n' ' ')
if [ "$rc" -ne 0 ] && [ -z "$left" ]; then
	ok "a daemon failing its first start fails up (rc $rc) and leaves nothing behind"
else
	not_ok "a daemon failing its first start: rc=$rc, left behind: '$left' ($out)"
fi
like "the error names the daemon" "$out" "cage-dns failed its first start"
like "the error quotes its last log line" "$out" "stub refuses to start"
refute "no cage-proxy of the failed up is left running" pgrep -f "$BROKEN/cage-proxy"
like "the audit log records the failed start" "$(cat "$(audit_file "$CAGE")" 2>/dev/null)" \
	'"daemon.start_failed".*"daemon":"cage-dns"'
rm -rf "$BROKEN"

check "up succeeds after all that" H "$CAGECTL" -q up "$CFG"
# No route out of this host netns: cage-dns started all the same, and a query is answered
# SERVFAIL (audited) instead of timing out.
like "cage-dns runs with its upstream unreachable" "$(cat "$CAGECTL_RUN_DIR/$CAGE/cage-dns.pid" 2>/dev/null)" '^[0-9]+$'
gw4=$(H "$CAGECTL" status "$CAGE" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway4"])')
out=$(H "$CAGECTL" exec "$CAGE" -- python3 -c '
import socket, struct, sys
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x03api\x07allowed\x04test\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, (sys.argv[1], 53))
print("rcode", s.recv(512)[3] & 15)' "$gw4" 2>&1)
is "an allowed name with the upstream unreachable is SERVFAIL at once" "$out" "rcode 2"
like "the SERVFAIL is audited as upstream_unreachable" "$(cat "$(audit_file "$CAGE")" 2>/dev/null)" \
	'"dns.servfail".*upstream_unreachable'
out=$(H "$CAGECTL" up "$CFG" 2>&1)
like "a second up of the same cage is refused" "$out" "already exists"
check "the first cage is intact after the refused second up" H "$CAGECTL" status "$CAGE"

mon=$(cat "$CAGECTL_RUN_DIR/$CAGE/monitor.pid")
kill -9 "$mon"
sleep 0.2
out=$(H "$CAGECTL" exec "$CAGE" -- python3 -c '
import socket
s = socket.socket()
try:
    s.connect(("198.51.100.20", 4444)); print("connected")
except OSError as e:
    print(e.errno)' 2>&1)
is "with the monitor killed, a denied connect still gets EPERM" "$out" "1"
like "status reports enforcement without a monitor" "$(H "$CAGECTL" status "$CAGE")" "enforcing-unmonitored"
check "with the monitor killed, every layer still verifies" H "$CAGECTL" status "$CAGE"

check "down removes the cage" H "$CAGECTL" -q down "$CAGE"
is "nothing of the cage is left" "$(leftovers | tr '\n' ' ')" ""
check "down again is a no-op that succeeds" H "$CAGECTL" -q down "$CAGE"
out=$(H "$CAGECTL" exec "$CAGE" -- true 2>&1)
like "exec on a cage that is not up names it" "$out" "no cage named $CAGE"
done_testing
