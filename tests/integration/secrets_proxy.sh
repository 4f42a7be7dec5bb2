#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# cage-proxy and the secrets store: `cagectl secret set` on a running cage sends SIGHUP, the
# proxy (already unprivileged, under seccomp) builds a new ruleset and swaps it in while a
# request loop runs: no request fails, the new value is injected from then on, and neither
# value ever comes back to the agent.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/integration/secrets_setup.bash"

OUT=$(mktemp /tmp/sec-loop.XXXXXX)
LOOP='for i in $(seq 1 40); do curl -s -w "\n%{http_code}\n" --cacert '$CA' -m 20 --resolve api.allowed.test:443:'$A4' -H "Authorization: Bearer $GITHUB_TOKEN" https://api.allowed.test/headers; sleep 0.05; done'
in_cage "getent ahosts api.allowed.test >/dev/null; $NOPX sh -c '$LOOP'" > "$OUT" 2>&1 &
loop_pid=$!
sleep 1
m=$(audit_mark)
OLD=$REAL
REAL="realtok2-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
check "secret set on the running cage" sh -c "printf %s '$REAL' | '$LAB' exec '$CAGECTL' -q secret set $CAGE GITHUB_TOKEN"
wait "$loop_pid"
is "40 requests across the reload, all 200" "$(grep -cx 200 "$OUT")" 40
check "proxy.reload secrets_reloaded audited" audit_has "$m" proxy.reload secrets_reloaded
check "cage-proxy survived the reload (seccomp)" kill -0 "$PROXY_PID"
lacks "the agent never saw the old value" "$(cat "$OUT")" "$OLD"
lacks "the agent never saw the new value" "$(cat "$OUT")" "$REAL"
like "the agent saw its placeholder reflected" "$(cat "$OUT")" "Bearer $PH"
r=$(cc api.allowed.test "https://api.allowed.test/headers -H \"Authorization: Bearer \$GITHUB_TOKEN\"")
is "after the reload: 200" "$(status_of "$r")" 200
check "after the reload the new value is injected" \
	sh -c "tail -n +$((SENT0 + 1)) /run/lab/sentinel.log | tail -n 5 | grep -qF 'Authorization: Bearer $REAL'"
is "placeholder unchanged by the new value" "$(in_cage 'printf %s "$GITHUB_TOKEN"')" "$PH"
real_now=$REAL
REAL=$OLD; is "sentinel: old value only in api.allowed.test's Authorization" "$(real_leaks)" 0
REAL=$real_now; is "sentinel: new value only in api.allowed.test's Authorization" "$(real_leaks)" 0
rm -f "$OUT"
done_testing
