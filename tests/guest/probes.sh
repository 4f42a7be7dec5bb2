#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The workload of the qemu guest (make check-guest), run by guest-init as uid 1000 inside the
# cage. It prints "GUEST ok|not ok - ..." lines on the console for tests/guest/check_guest.sh.
# Variables come from /g9/env (written by the harness): EVIL4 ALLOW4 PUB4 NONCE HAVE_PROXY.
. /g9/env
GW=$(ip route 2>/dev/null | awk '/^default/{print $3; exit}')
[ -n "$GW" ] || GW=10.200.0.1
pass() { echo "GUEST ok - $*"; }
fail() { echo "GUEST not ok - $*"; }
t() { d=$1; shift; if "$@" >/tmp/out 2>&1; then pass "$d"; else fail "$d: $(tail -2 /tmp/out | tr '\n' ' ')"; fi; }

echo "GUEST uid=$(id -u) $(grep -E '^(CapEff|NoNewPrivs)' /proc/self/status | tr '\t\n' '  ')"
t "runs as uid 1000" [ "$(id -u)" = 1000 ]
t "no capabilities, NoNewPrivs" sh -c 'grep -q "^CapEff:.0000000000000000" /proc/self/status && grep -q "^NoNewPrivs:.1" /proc/self/status'
t "a raw TCP connect to EVIL4 fails with EPERM" sh -c "nc -w 3 $EVIL4 4444 </dev/null 2>&1 | grep -q 'not permitted'"
t "a TCP connect to an allowed address on port 22 fails" sh -c "! nc -w 3 $ALLOW4 22 </dev/null"
t "a denied name asked of the cage resolver is not answered" sh -c "! nslookup $NONCE-1.evil.test $GW"
t "a lab resolver asked directly is not reached" sh -c "! nslookup $NONCE-2.denied.test $PUB4"
if [ "$HAVE_PROXY" = 1 ]; then
	t "an allowed HTTPS request succeeds through the proxy" sh -c \
		"[ \"\$(curl -sS -m 60 -o /dev/null -w %{http_code} --cacert /etc/cage/ca.crt https://api.allowed.test/headers)\" = 200 ]"
	t "a blocked host is denied" sh -c "! curl -sf -m 60 --cacert /etc/cage/ca.crt https://evil.test/$NONCE-3"
fi
sleep 1
echo "GUEST done"
