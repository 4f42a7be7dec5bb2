#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# WebSocket frames through cage-proxy's inspect path, in a cage of its own ("wst") in the lab:
# escapes.md rows 53 and 68 (a secret in a frame, a secret split across fragments, a
# permessage-deflate offer) → close 1008 with the chain's reason at location ws-frame; the
# secrets engine in frames (issue 6: WS_TOKEN, inject_body on echo.allowed.test, is put in on
# the way out and redacted on the way back; GITHUB_TOKEN, bound elsewhere, closes the socket);
# responses of a bound host redacted even when the request carried no placeholder (a bound
# host reflecting the real value) while unbound hosts' responses are left as they are. Each
# probe checks the verdict, the audit reason and location, and the sentinel.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/lab_cage.bash"

CAGE=wst
LAB_CAGE_RESOLVE=echo.allowed.test
YAML=$(mktemp /tmp/wst-cage.XXXXXX.yaml)
lab_cage_tmp "$YAML"
CLIENT="$TOP/tests/escapes/ws_client.py"
CANARY_GH=ghp_R3dT3amC4nary00000000000000000000000
REAL_GH="realgh-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
REAL_WS="realws-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

{ lab_cage_yaml 244 "*.wild.allowed.test"; cat <<YAML; } > "$YAML"
mounts:
  - source: $CLIENT
    target: /run/wsc.py
    read_only: true
secrets:
  # Strict mode already binds Authorization (secrets_location_bound, shared by injection and
  # the known-value matcher); the explicit list keeps the reflection case below independent
  # of that default.
  GITHUB_TOKEN: { inject_to: [api.allowed.test], inject_headers: [Authorization] }
  WS_TOKEN: { inject_to: [echo.allowed.test], inject_body: true }
YAML

lab_cage_join
printf %s "$REAL_GH" | lab_cage_secret GITHUB_TOKEN
printf %s "$REAL_WS" | lab_cage_secret WS_TOKEN
lab_cage_up "$YAML" "secrets stored first"
GW4=$("$LAB" exec "$CAGECTL" status "$CAGE" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway4"])')

# ws URL STEP...: the probe client, transparent (set PXY=1 for the explicit port, CONNECT).
ws() {
	local url=$1 px=
	shift
	[ -n "${PXY:-}" ] && px="--proxy $GW4:3128"
	in_cage "$NOPX timeout 30 python3 /run/wsc.py $url $px $*" 2>&1
}
audit_mark() { wc -l < "$AUDIT"; }
# audit_has MARK EVENT [REGEX...]: a record since MARK with that event matching every regex.
audit_has() {
	local m=$1 ev=$2 lines
	shift 2
	sleep 0.3
	lines=$(tail -n +"$((m + 1))" "$AUDIT" | grep "\"event\":\"$ev\"")
	for re in "$@"; do lines=$(grep -- "$re" <<<"$lines"); done
	[ -n "$lines" ]
}
N() { echo "rt-$1-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"; }
sent_has() { sleep 0.5; tail -n +$((SENT0 + 1)) /run/lab/sentinel.log | grep -qF -- "$1"; }
lacks() { if [[ "$2" == *"$3"* ]]; then not_ok "$1 (found it)"; else ok "$1"; fi; }

PH_GH=$(in_cage 'printf %s "$GITHUB_TOKEN"')
PH_WS=$(in_cage 'printf %s "$WS_TOKEN"')
like "the workload sees placeholders" "$PH_WS" '^cagectl:secret:WS_TOKEN:[0-9a-f]{32}$'

for path in transparent explicit; do
	[ $path = explicit ] && export PXY=1 || unset PXY

	# Row 53: an allowed host, frames parsed and relayed; the upgrade and the end audited.
	n=$(N 53); m=$(audit_mark)
	r=$(ws wss://echo.allowed.test/ws "text:hello-$n" "frag3:frag-$n-abcdefghij" "big:1048576")
	like "row 53 ($path): 101" "$r" 'STATUS HTTP/1.1 101'
	like "row 53 ($path): a text message echoed" "$r" "ECHO hello-$n"
	like "row 53 ($path): fragments with a ping between them, reassembled" "$r" "ECHO frag-$n-abcdefghij"
	like "row 53 ($path): the ping answered" "$r" 'PONG ping'
	like "row 53 ($path): a 1 MiB binary message streams back intact" "$r" 'BIG ok 1048576'
	like "row 53 ($path): a normal close" "$r" 'CLOSE 1000'
	check "row 53 ($path): upgrade audited (reason websocket)" audit_has "$m" proxy.request '"reason":"websocket"'
	check "row 53 ($path): the end audited with message counts" audit_has "$m" proxy.websocket \
		'"decision":"allowed"' 'messages_out=3 messages_in=3'

	# Row 68: a secret in one frame, then split across two fragments: close 1008, dlp.hit at
	# ws-frame, nothing of the message (nor its nonce) reaches the echo host.
	for how in text frag; do
		n=$(N 68); m=$(audit_mark)
		r=$(ws wss://echo.allowed.test/ws "$how:$n-$CANARY_GH")
		like "row 68 ($path, $how): closed 1008" "$r" 'CLOSE 1008 cagectl: dlp.hit'
		check "row 68 ($path, $how): dlp.hit github_token at ws-frame" audit_has "$m" dlp.hit \
			'rule=github_token loc=ws-frame'
		check "row 68 ($path, $how): the connection's block audited" audit_has "$m" proxy.websocket \
			'"decision":"blocked"' '"reason":"dlp.hit"' 'loc=ws-frame' 'from=agent'
		refute "row 68 ($path, $how): the echo host never saw the message" sent_has "$n"
	done

	# Row 68, compressed: the permessage-deflate offer is removed, so frames stay readable.
	n=$(N 68); m=$(audit_mark)
	r=$(ws wss://echo.allowed.test/ws --deflate "text:deflate-$n" "text:$n-$CANARY_GH")
	like "row 68 ($path, deflate offered): no extension negotiated" "$r" 'EXT none'
	like "row 68 ($path, deflate offered): plain message echoed" "$r" "ECHO deflate-$n"
	like "row 68 ($path, deflate offered): the secret still closes 1008" "$r" 'CLOSE 1008'
	check "row 68 ($path, deflate offered): dlp.hit at ws-frame" audit_has "$m" dlp.hit 'loc=ws-frame'

	# Issue 6: WS_TOKEN (inject_body, echo.allowed.test) is injected in frames and the echo of
	# the real value comes back as the placeholder, also when the placeholder is split across
	# fragments.
	n=$(N 6); m=$(audit_mark)
	r=$(ws wss://echo.allowed.test/ws "text:$n-a={WS_TOKEN}" "frag:$n-b={WS_TOKEN}")
	like "issue 6 ($path): injected placeholder echoed back as the placeholder" "$r" "ECHO $n-a=$PH_WS"
	like "issue 6 ($path): ... split across fragments too" "$r" "ECHO $n-b=$PH_WS"
	lacks "issue 6 ($path): the agent never receives the real value" "$r" "$REAL_WS"
	check "issue 6 ($path): the echo host got the real value in the frame" sent_has "$n-a=$REAL_WS"
	check "issue 6 ($path): ... and in the reassembled fragments" sh -c \
		"tail -n +$((SENT0 + 1)) /run/lab/sentinel.log | grep -F -- '$n-b=' | grep -qF -- '${REAL_WS:$(( ${#REAL_WS} / 2 ))}'"
	check "issue 6 ($path): audited injected and redacted by name" audit_has "$m" secrets.used \
		'secrets_injected=WS_TOKEN secrets_redacted=WS_TOKEN'

	# A placeholder bound to another host in a frame: closed, misdirected, never sent.
	n=$(N 73); m=$(audit_mark)
	r=$(ws wss://echo.allowed.test/ws "text:$n-{GITHUB_TOKEN}")
	like "row 73 in a frame ($path): closed 1008" "$r" 'CLOSE 1008 cagectl: secret.placeholder_misdirected'
	check "row 73 in a frame ($path): audited unbound_host, websocket" audit_has "$m" proxy.websocket \
		'secret.placeholder_misdirected' 'where=websocket detail=unbound_host'
	refute "row 73 in a frame ($path): the echo host never saw it" sent_has "$n"
done
unset PXY

# Plain ws:// on port 80 is inspected the same way (no secret there: the engine only injects
# over https, and the chain judges the frame).
n=$(N 68); m=$(audit_mark)
r=$(ws ws://echo.allowed.test/ws "text:plain-$n" "text:$n-$CANARY_GH")
like "row 68 (ws://): plain message echoed" "$r" "ECHO plain-$n"
like "row 68 (ws://): the secret closes 1008" "$r" 'CLOSE 1008'
refute "row 68 (ws://): the echo host never saw it" sent_has "$n-$CANARY_GH"

# Responses of a bound host are redacted even when the request carried no placeholder: the
# agent sends the real value itself (where its binding allows it; piped, never in argv) and the
# host reflects it.
m=$(audit_mark)
r=$(printf %s "$REAL_WS" | in_cage "$NOPX curl -s --cacert $CA -m 20 --resolve echo.allowed.test:443:$A4 --data-binary @- https://echo.allowed.test/reflect")
like "bound host reflecting the real value (body): answered" "$r" 'POST /reflect'
lacks "bound host reflecting the real value (body): the agent never receives it" "$r" "$REAL_WS"
like "bound host reflecting the real value (body): the placeholder instead" "$r" "$PH_WS"
check "bound host reflecting (body): audited secrets_redacted=WS_TOKEN" audit_has "$m" secrets.used \
	'secrets_injected= secrets_redacted=WS_TOKEN'
r=$(printf 'Authorization: Bearer %s\n' "$REAL_GH" | in_cage "$NOPX curl -s --cacert $CA -m 20 --resolve api.allowed.test:443:$A4 -H @- https://api.allowed.test/headers")
like "bound host reflecting the real value (headers): answered" "$r" '"Authorization"'
lacks "bound host reflecting the real value (headers): the agent never receives it" "$r" "$REAL_GH"
like "bound host reflecting the real value (headers): the placeholder instead" "$r" "Bearer $PH_GH"
r=$(printf '%s' "$REAL_WS" | in_cage "$NOPX timeout 30 python3 /run/wsc.py wss://echo.allowed.test/ws 'text:x={STDIN}'")
like "bound host reflecting the real value (frame): the placeholder instead" "$r" "ECHO x=$PH_WS"
lacks "bound host reflecting the real value (frame): the agent never receives it" "$r" "$REAL_WS"

# Hosts no secret is bound to are not filtered: their responses keep their own framing.
r=$(in_cage "$NOPX curl -s -D - -o /dev/null --cacert $CA -m 20 --resolve x.wild.allowed.test:443:$A4 https://x.wild.allowed.test/")
like "unbound host: response passed as it came (Content-Length kept)" "$r" '[Cc]ontent-[Ll]ength: '
r=$(in_cage "$NOPX curl -s -D - -o /dev/null --cacert $CA -m 20 --resolve echo.allowed.test:443:$A4 https://echo.allowed.test/x")
like "bound host: response through the redaction stream (re-chunked)" "$r" '[Tt]ransfer-[Ee]ncoding: chunked'

# The sentinel: no canary anywhere; REAL_GH only in api.allowed.test's Authorization header;
# REAL_WS only at echo.allowed.test (its binding). The audit log carries no value.
leaks=$(tail -n +$((SENT0 + 1)) /run/lab/sentinel.log | grep -cF -- "$CANARY_GH")
is "sentinel: no canary reached the fake internet" "$leaks" 0
bad=$(tail -n +$((SENT0 + 1)) /run/lab/sentinel.log | python3 -c '
import json, sys
gh, ws = sys.argv[1], sys.argv[2]
bad = 0
for line in sys.stdin:
    if gh not in line and ws not in line:
        continue
    d = json.loads(line)
    if gh in line:
        hdrs = "\n".join(l for l in d.get("headers", "").split("\n") if not l.lower().startswith("authorization:"))
        if d.get("sni") != "api.allowed.test" or gh in hdrs or gh in d.get("body", ""):
            bad += 1
    if ws in line and d.get("sni") not in (None, "echo.allowed.test"):
        bad += 1
print(bad)' "$REAL_GH" "$REAL_WS")
is "sentinel: real values only where bound" "$bad" 0
is "audit log: no canary or real value" "$(grep -cF -e "$CANARY_GH" -e "$REAL_GH" -e "$REAL_WS" "$AUDIT")" 0
check "cage-proxy still running" kill -0 "$PROXY_PID"
done_testing
