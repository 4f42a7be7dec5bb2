#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# cage-dns on its own, in a private network namespace: a local dnsmasq as the upstream, a
# dns_allow map made with bpftool, the daemon started the way the monitor starts it (sockets
# bound as root, then privileges dropped). Policy, TCP, caching, binding, SERVFAIL on a full
# map, SIGHUP reload and the rate limit. The lab tests (dns_rows.sh) add the kernel redirect.
. "$(dirname "$0")/../lib.sh"

if [ "${DNS_SA_INNER:-}" != 1 ]; then
	exec env DNS_SA_INNER=1 unshare -n "$0" "$@"
fi
W=$(mktemp -d /tmp/dns-sa.XXXXXX)
chmod 0755 "$W"  # the daemon rereads cage.yaml as its own user on SIGHUP
PIN=/sys/fs/bpf/cagectl-dns-sa-$$
LPID= DPID=
cleanup() {
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	rm -rf "$PIN" "$W"
}
trap cleanup EXIT
ip link set lo up
ip addr add 127.0.0.2/8 dev lo 2>/dev/null
mkdir -p "$PIN"
bpftool map create "$PIN/dns_allow" type hash key 20 value 16 entries 16384 name dns_allow
cat >"$W/dnsmasq.conf" <<-C
no-resolv
no-hosts
bind-interfaces
listen-address=127.0.0.2
log-queries=extra
local-ttl=60
local=/allowed.test/
local=/evil.test/
host-record=api.allowed.test,198.51.100.10,2001:db8:51::10
host-record=echo.allowed.test,198.51.100.11
host-record=rebind.allowed.test,127.0.0.1,::1
address=/evil.test/198.51.100.20
cname=alias.allowed.test,evil.test
cname=chain.allowed.test,api.allowed.test
txt-record=api.allowed.test,"v=lab1"
C
cat >"$W/cage.yaml" <<-C
name: dnssa
domains:
  allow: [api.allowed.test, rebind.allowed.test, alias.allowed.test, chain.allowed.test]
dns:
  upstream: [127.0.0.2]
  log_allowed: true
  rate_limit: 300
C
chmod 0644 "$W/cage.yaml"
dnsmasq --conf-file="$W/dnsmasq.conf" --keep-in-foreground --user=root --group=root \
	--pid-file="$W/dm.pid" --log-facility="$W/upstream.log" &
DPID=$!
AUDIT=$W/audit.jsonl
"$TOP/tests/tools/dns_launch.py" --bind 127.0.0.1 --bind ::1 -- "$BUILD/cage-dns" --cage dnssa \
	--config "$W/cage.yaml" --pins "$PIN" --audit "$AUDIT" --uid 65534 --gid 65534 >"$W/launch.out" 2>&1 &
LPID=$!
for _ in $(seq 100); do grep -q ready "$W/launch.out" && break; sleep 0.05; done
like "cage-dns reports ready" "$(cat "$W/launch.out")" '^ready [0-9]+'
DNSD=$(awk '/^ready/{print $2}' "$W/launch.out")
is "cage-dns runs unprivileged" "$(stat -c %u /proc/"$DNSD" 2>/dev/null)" 65534

d() { dig +time=2 +tries=1 "$@"; }
st() { d "$@" | sed -n 's/.*status: \([A-Z]*\).*/\1/p'; }
is "allowed A" "$(d +short @127.0.0.1 api.allowed.test)" 198.51.100.10
is "allowed AAAA over TCP/IPv6, case-folded" "$(d +short +tcp @::1 API.Allowed.TEST. AAAA)" 2001:db8:51::10
is "denied name NXDOMAIN (UDP)" "$(st @127.0.0.1 rt-sa-1.evil.test)" NXDOMAIN
is "denied name NXDOMAIN (TCP)" "$(st +tcp @::1 rt-sa-2.evil.test)" NXDOMAIN
for t in TXT NULL ANY MX SRV CNAME HTTPS; do
	is "qtype $t refused" "$(st @127.0.0.1 api.allowed.test $t)" REFUSED
done
is "escaped dot denied" "$(st @127.0.0.1 'api\.allowed.test')" NXDOMAIN
is "suffix over-match denied" "$(st @127.0.0.1 api.allowed.test.rt-sa-3.evil.test)" NXDOMAIN
is "CNAME to a denied name denied" "$(st @127.0.0.1 alias.allowed.test)" NXDOMAIN
like "CNAME chain inside the allowlist" "$(d +short @127.0.0.1 chain.allowed.test | tr '\n' ' ')" 'api.allowed.test. 198.51.100.10'
is "rebinding answer dropped" "$(d +short @127.0.0.1 rebind.allowed.test)" ""
refute "upstream never saw a denied name" grep -q 'rt-sa-\|query\[TXT\]\|query\[HTTPS\]' "$W/upstream.log"
before=$(grep -c 'query\[A\] api.allowed.test' "$W/upstream.log")
d +short @127.0.0.1 api.allowed.test >/dev/null
d +short @127.0.0.1 aPi.allowed.test >/dev/null
is "cache: repeated name does not hit upstream" "$(grep -c 'query\[A\] api.allowed.test' "$W/upstream.log")" "$before"
refute "0x20 letter case never reaches upstream" grep -q 'aPi\|API' "$W/upstream.log"
dump=$(bpftool -j map dump pinned "$PIN/dns_allow")
like "dns_allow holds 198.51.100.10" "$dump" '"0x02","0x00","0x00","0x00","0xc6","0x33","0x64","0x0a"'
like "audit: dns.denied not_allowed" "$(grep rt-sa-1 "$AUDIT")" '"event":"dns.denied".*"reason":"not_allowed".*"qtype":"A"'
like "audit: dns.qtype_denied HTTPS" "$(grep '"qtype":"HTTPS"' "$AUDIT")" 'dns.qtype_denied'
like "audit: dns.allowed with answers" "$(grep '"event":"dns.allowed"' "$AUDIT" | head -1)" '"answers":\["198.51.100.10"\]'
like "audit: rebinding logged" "$(cat "$AUDIT")" 'dns.rebind_denied'
like "audit: log injection escaped" "$(d @127.0.0.1 'rt-sa-5\010x.evil.test' >/dev/null; grep rt-sa-5 "$AUDIT")" 'rt-sa-5\\\\010x'
is "audit: every line is JSON" "$(python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]; print(1)' "$AUDIT")" 1

# SIGHUP: echo.allowed.test becomes allowed without a restart.
is "echo.allowed.test denied before reload" "$(st @127.0.0.1 echo.allowed.test)" NXDOMAIN
sed -i 's/allow: \[/allow: [echo.allowed.test, /' "$W/cage.yaml"
kill -HUP "$DNSD"
sleep 0.3
is "echo.allowed.test allowed after SIGHUP" "$(d +short @127.0.0.1 echo.allowed.test)" 198.51.100.11
is "same daemon after reload" "$(awk '/^ready/{print $2}' "$W/launch.out")" "$DNSD"
kill -0 "$DNSD" && ok "daemon alive after reload" || not_ok "daemon alive after reload"

# A full dns_allow map: a new address cannot be bound, so the answer is SERVFAIL.
python3 - "$W/fill" <<-P
import sys
with open(sys.argv[1], "w") as f:
    for i in range(16383):
        key = [2, 0, 0, 0, 10, 99, i >> 8, i & 255] + [0] * 12
        f.write("map update pinned $PIN/dns_allow key " + " ".join(map(str, key)) +
                " value 1 0 0 0 0 0 0 0 255 255 255 255 255 255 255 127\n")
P
bpftool batch file "$W/fill" >/dev/null 2>&1  # stops at E2BIG: full is the point
sed -i 's/allow: \[/allow: [new.allowed.test, /' "$W/cage.yaml"
echo 'host-record=new.allowed.test,198.51.100.77' >>"$W/dnsmasq.conf"
kill "$DPID"; wait "$DPID" 2>/dev/null
dnsmasq --conf-file="$W/dnsmasq.conf" --keep-in-foreground --user=root --group=root \
	--pid-file="$W/dm.pid" --log-facility="$W/upstream.log" &
DPID=$!
kill -HUP "$DNSD"; sleep 0.5
is "full dns_allow map: SERVFAIL" "$(st @127.0.0.1 new.allowed.test)" SERVFAIL
like "audit: dns.servfail dns_allow_write" "$(grep new.allowed.test "$AUDIT")" 'dns.servfail.*dns_allow_write'
is "an address already bound still answers" "$(d +short @127.0.0.1 api.allowed.test)" 198.51.100.10

# Rate limit 300/s: a burst of 2000 is cut, with one aggregated audit line per second.
python3 - <<-P >"$W/flood.out"
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
for i in range(2000):
    name = b"".join(bytes([len(l)]) + l for l in [b"f%d" % i, b"rt-sa-flood", b"evil", b"test"]) + b"\0"
    s.sendto(struct.pack(">HHHHHH", i, 0x100, 1, 0, 0, 0) + name + b"\0\1\0\1", ("127.0.0.1", 53))
codes = {}
try:
    while True:
        d = s.recv(2048); codes[d[3] & 15] = codes.get(d[3] & 15, 0) + 1
except socket.timeout:
    pass
print(codes.get(5, 0), codes.get(3, 0))
P
read -r refused nx <"$W/flood.out"
sleep 1.2
cut=$(grep '"event":"limit.dns_rate"' "$AUDIT" | sed 's/.*"refused":\([0-9]*\).*/\1/' | paste -sd+ | bc)
[ "${cut:-0}" -ge 1000 ] && ok "flood: $cut of 2000 REFUSED by the rate limit (client saw $refused REFUSED, $nx NXDOMAIN)" ||
	not_ok "flood: only ${cut:-0} refused"
like "audit: limit.dns_rate aggregated" "$(grep -c '"event":"limit.dns_rate"' "$AUDIT")" '^[1-3]$'
[ "$(wc -l <"$AUDIT")" -lt 1400 ] && ok "flood audit bounded ($(wc -l <"$AUDIT") lines)" || not_ok "audit grew to $(wc -l <"$AUDIT") lines"
refute "upstream saw no flood name" grep -q rt-sa-flood "$W/upstream.log"

kill "$LPID"; wait "$LPID"; rc=$?
LPID=
is "SIGTERM: clean exit" "$rc" 0
done_testing
