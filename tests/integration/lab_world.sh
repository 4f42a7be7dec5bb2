#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The lab world on its own (no cage): services answer from lab-host, every probe towards EVIL shows
# up in the sentinel with its nonce, lab-inet has no way out, and down leaves the root netns as it was.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
LAB=$TOP/scripts/lab
RUN=/run/lab
N=rt-lab-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')

# This test takes the lab down and up; never someone else's lab.
if ip netns list | grep -q '^lab-'; then
	not_ok "a lab is already up: refusing to touch it"
	exit 1
fi
trap '"$LAB" down >/dev/null 2>&1' EXIT
lab() { "$LAB" exec "$@"; }
# in_sentinel PATTERN: polls briefly, because the loggers write asynchronously to the client.
in_sentinel() {
	local _
	for _ in $(seq 30); do
		grep -qF -- "$1" "$RUN/sentinel.log" && return 0
		sleep 0.1
	done
	return 1
}

refute "up with an injected failure fails" env LAB_NO_CAGE=1 LAB_INJECT_FAIL=servers "$LAB" up
refute "a failed up leaves no lab netns" sh -c 'ip netns list | grep -q "^lab-"'
refute "a failed up leaves no $RUN" test -e "$RUN"
refute "a failed up leaves no lab process" pgrep -f "scripts/lab.d/"

start=$(date +%s%N)
if ! LAB_NO_CAGE=1 "$LAB" up >&2; then
	not_ok "scripts/lab up"
	exit 1
fi
ok "scripts/lab up in $(( ($(date +%s%N) - start) / 1000000 )) ms"
. "$RUN/env.sh"

is "env.sh is world-readable" "$(stat -c %a "$RUN/env.sh")" 644
is "real.env is root-only" "$(stat -c %a "$RUN/real.env")" 600
like "CANARY_RAND is 40 base62" "$CANARY_RAND" '^[A-Za-z0-9]{40}$'
refute "a second up refuses while the lab is up" env LAB_NO_CAGE=1 "$LAB" up
lab sh -c 'exit 7'
is "exec returns the command's status" "$?" 7

for ip in "$ALLOW4" "[$ALLOW6]"; do
	out=$(lab curl -sS -m5 --cacert "$LAB_CA" --resolve "api.allowed.test:443:$ip" \
		-H "X-Nonce: $N" https://api.allowed.test/headers)
	like "https api.allowed.test/headers via $ip reflects headers" "$out" "\"X-Nonce\": \"$N\""
done
refute "the lab CA is not in the system trust store" \
	lab curl -sS -m5 --resolve "api.allowed.test:443:$ALLOW4" https://api.allowed.test/headers
out=$(lab curl -sS -m5 --cacert "$LAB_CA" --resolve "echo.allowed.test:443:$ALLOW4" \
	--data-binary "body-$N" https://echo.allowed.test/reflect)
like "echo reflects the request line" "$out" 'POST /reflect HTTP/1.1'
like "echo reflects the body" "$out" "body-$N"
check "the vhost logged the body" in_sentinel "body-$N"

want=$(python3 -c 'import hashlib;print(hashlib.sha256((bytes(range(256))*4096)[:1048576]).hexdigest())')
got=$(lab curl -sS -m10 --cacert "$LAB_CA" --resolve "api.allowed.test:443:$ALLOW4" \
	https://api.allowed.test/bytes/1048576 | sha256sum | cut -d' ' -f1)
is "/bytes/1048576 has the documented pattern" "$got" "$want"
got=$(head -c 300000 /dev/urandom | tee /tmp/lab-upload.$$ | lab curl -sS -m10 -T - \
	--resolve "api.allowed.test:80:$ALLOW4" http://api.allowed.test/upload)
is "/upload answers the sha256 of a chunked body" "$got" "$(sha256sum </tmp/lab-upload.$$ | cut -d' ' -f1)"
rm -f /tmp/lab-upload.$$

is "dig @PUB4 A" "$(lab dig +short +time=2 +tries=1 @"$PUB4" api.allowed.test A)" "$ALLOW4"
is "dig @PUB4 AAAA" "$(lab dig +short +time=2 +tries=1 @"$PUB4" api.allowed.test AAAA)" "$ALLOW6"
is "dig @PUB6 AAAA" "$(lab dig +short +time=2 +tries=1 @"$PUB6" api.allowed.test AAAA)" "$ALLOW6"
is "dig @PUB4 evil.test" "$(lab dig +short +time=2 +tries=1 @"$PUB4" "$N.evil.test" A)" "$EVIL4"
check "a DNS query reaching PUB4 is in the sentinel" in_sentinel "\"qname\":\"$N.evil.test\""

printf 'tcp-%s' "$N" | lab nc -w1 "$EVIL4" 4444 >/dev/null
check "TCP to EVIL4:4444 is in the sentinel" in_sentinel "tcp-$N"
check "the catch-all recovered the original port" in_sentinel "\"dst\":\"$EVIL4:4444\""
printf 'udp-%s' "$N" | lab nc -u -w1 "$EVIL4" 9999 >/dev/null
check "UDP to EVIL4:9999 is in the sentinel" in_sentinel "udp-$N"
printf 'tcp6-%s' "$N" | lab nc -6 -w1 "$EVIL6" 22 >/dev/null
check "TCP to EVIL6:22 is in the sentinel" in_sentinel "tcp6-$N"
P=${N: -8}
lab ping -c1 -W2 -p "$(printf %s "$P" | xxd -p)" "$EVIL4" >/dev/null
check "a ping to EVIL4 with the nonce as payload is in the sentinel" in_sentinel "$P$P"

out=$(lab unshare -m sh -c "mount --bind $RUN/resolv.conf /etc/resolv.conf &&
	CA=$LAB_CA python3 $RUN/ws.py wss://echo.allowed.test/ws ws-$N" 2>&1)
like "WebSocket upgrade" "$out" '101 Switching Protocols'
like "WebSocket echo" "$out" "ws-$N"

r=$(ip -n lab-inet route get 9.9.9.9 2>&1)
like "lab-inet has no route out (v4)" "$r" 'blackhole|unreachable|Invalid argument'
r=$(ip -n lab-inet -6 route get 2620:fe::9 2>&1)
like "lab-inet has no route out (v6)" "$r" 'blackhole|unreachable|Invalid argument'
refute "nothing leaves lab-inet" grep -q LEAK-UNNATED "$RUN/sentinel.log"

"$LAB" down >&2
is "down leaves the root netns as it was" "$?" 0
trap - EXIT
refute "no lab netns is left" sh -c 'ip netns list | grep -q "^lab-"'
refute "$RUN is gone" test -e "$RUN"
done_testing
