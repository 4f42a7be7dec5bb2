# SPDX-License-Identifier: GPL-2.0-only
# Sourced by tests/integration/proxy_lab.sh and tests/escapes/proxy_rows.sh (after lib.sh):
# a cage of its own (proxy_cage.yaml) in the lab, brought up by `cagectl up` so that its monitor
# runs cage-proxy and cage-dns exactly as in production, and helpers that run probes inside the
# cage and read its audit log.
LAB="$TOP/scripts/lab"
CAGE=pxt
PINS=/sys/fs/bpf/cagectl/$CAGE
LAB_MINE=
CFGCOPY=$CAGECTL_STATE_DIR/$CAGE/cage.yaml   # what the daemons read, and re-read on SIGHUP
BIG=${PROXY_BIG_BYTES:-104857600}

cleanup() {
	"$LAB" exec "$CAGECTL" -q down "$CAGE" >/dev/null 2>&1
	[ -n "$LAB_MINE" ] && LAB_NO_CAGE=1 "$LAB" down >/dev/null 2>&1
}

if ! "$LAB" status 2>/dev/null | grep -q 'lab-host: up'; then
	LAB_NO_CAGE=1 "$LAB" up >/dev/null || { not_ok "lab up"; exit 1; }
	LAB_MINE=1
fi
trap cleanup EXIT
AUDIT=$(audit_file "$CAGE")
rm -f "$AUDIT"
SENT0=$(wc -l < /run/lab/sentinel.log)

# The production path: the cage monitor starts cage-proxy and cage-dns with their sockets.
check "cagectl up $CAGE (monitor starts cage-proxy and cage-dns)" \
	"$LAB" exec "$CAGECTL" -q up "$TOP/tests/integration/proxy_cage.yaml"
status=$("$LAB" exec "$CAGECTL" status "$CAGE" --json)
GW4=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway4"])' <<<"$status")
GW6=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway6"])' <<<"$status")
PX="http://$GW4:3128"
PROXY_PID=$(cat "$CAGECTL_RUN_DIR/$CAGE/cage-proxy.pid" 2>/dev/null)
DNS_PID=$(cat "$CAGECTL_RUN_DIR/$CAGE/cage-dns.pid" 2>/dev/null)
like "cage-proxy runs under the monitor" "$PROXY_PID" '^[0-9]+$'
like "cage-dns runs under the monitor" "$DNS_PID" '^[0-9]+$'

# Runs a shell line inside the cage as the agent. It first resolves a lab name through cage-dns,
# as any client would: probes that pin the lab address (--resolve) then find it bound in dns_allow
# (a binding lives 30 s at least, not for a whole test; all lab names share the two addresses).
in_cage() { "$LAB" exec "$CAGECTL" exec "$CAGE" -- sh -c "getent ahosts api.allowed.test >/dev/null 2>&1; $1"; }
# The cage CA as the agent sees it (the bundle the agent trusts by default includes it too).
CA=/etc/cage/ca.crt
# An audit line with this event (and optional fragment) appeared after mark $1.
audit_mark() { wc -l < "$AUDIT"; }
# (after a short settle: the proxy logs when it has processed the close, the client may be gone)
audit_has() { sleep 0.2; tail -n +"$(( $1 + 1 ))" "$AUDIT" | grep "\"event\":\"$2\"" | grep -q -- "${3:-}"; }
audit_count() { sleep 0.2; tail -n +"$(( $1 + 1 ))" "$AUDIT" | grep -c -- "$2"; }
N() { echo "rt-$1-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"; }
NOPX="env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy -u ALL_PROXY -u NO_PROXY"
A4=198.51.100.10 A6=2001:db8:51::10 E4=198.51.100.20
# Transparent probes pin the lab address with --resolve so that even names cage-dns refuses
# reach the proxy (an agent can always hard-code an address); the name is first resolved through
# cage-dns, as any client would, so that dns_allow holds the address for allowed names.
# Explicit clients let the proxy resolve through the lab's 8.8.8.8.
# ct HOST CURL-ARGS...: transparent; cx CURL-ARGS...: explicit. Both print the status (for a
# refused CONNECT curl reports it as http_connect).
ct() { local h=$1; shift; in_cage "getent ahosts $h >/dev/null; $NOPX curl -s -o /dev/null -w '%{http_code}' --cacert $CA -m 10 --resolve $h:443:$A4 --resolve $h:80:$A4 $*" 2>/dev/null; }
cx() { in_cage "curl -s -o /dev/null -w '%{http_code} %{http_connect}' --cacert $CA -m 10 -x $PX $*" 2>/dev/null | awk '{print ($1 != "000") ? $1 : $2}'; }
# A shell pipeline's output, inside the cage, without proxy variables.
sh_cage() { in_cage "$NOPX sh -c \"$1\""; }
py_resolve="import socket;o=socket.getaddrinfo;socket.getaddrinfo=lambda h,*a,**k:o('$A4' if str(h).endswith('allowed.test') else h,*a,**k)"

ALL_N=

# Fails the test if a probe nonce reached the fake internet; call last.
sentinel_clean() {
	local leaks=0 n
	for n in $ALL_N; do
		tail -n +$((SENT0 + 1)) /run/lab/sentinel.log | grep -q -- "$n" && { diag "sentinel has $n"; leaks=$((leaks + 1)); }
	done
	is "sentinel: no probe nonce reached the fake internet" "$leaks" 0
	check "cage-proxy still running" kill -0 "$PROXY_PID"
}
