# SPDX-License-Identifier: GPL-2.0-only
# Sourced by tests/integration/secrets_proxy.sh, tests/escapes/secrets_rows.sh and
# tests/escapes/dlp_rows.sh (after lib.sh): a cage of its own ("sec", its own pool) in the lab
# with GITHUB_TOKEN bound to api.allowed.test, its value stored before `cagectl up`, and helpers
# that run probes inside the cage and read its audit log. REAL never reaches argv: it is piped.
LAB="$TOP/scripts/lab"
CAGE=sec
LAB_MINE=
YAML=$(mktemp /tmp/sec-cage.XXXXXX.yaml)
REAL="realtok-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
CANARY_GH=ghp_R3dT3amC4nary00000000000000000000000
CANARY_AWS=AKIAIOSFODNN7EXAMPLE

cleanup() {
	"$LAB" exec "$CAGECTL" -q down "$CAGE" >/dev/null 2>&1
	[ -n "$LAB_MINE" ] && LAB_NO_CAGE=1 "$LAB" down >/dev/null 2>&1
	rm -f "$YAML"
}

cat > "$YAML" <<YAML
name: $CAGE
user: "1000:1000"
domains:
  allow: [api.allowed.test, echo.allowed.test]
ports:
  tcp:
    inspect: [80, 443]
dns:
  upstream: [8.8.8.8]
ipv6: true
network:
  pool4: 10.200.241.0/24
  pool6: fd00:200:f1::/56
secrets:
  GITHUB_TOKEN: { inject_to: [api.allowed.test] }
proxy:
  upstream_ca: /run/lab/ca/lab-ca.crt
YAML

if ! "$LAB" status 2>/dev/null | grep -q 'lab-host: up'; then
	LAB_NO_CAGE=1 "$LAB" up >/dev/null || { not_ok "lab up"; exit 1; }
	LAB_MINE=1
fi
trap cleanup EXIT
AUDIT=$(audit_file "$CAGE")
rm -f "$AUDIT"
SENT0=$(wc -l < /run/lab/sentinel.log)

printf %s "$REAL" | "$LAB" exec "$CAGECTL" -q secret set "$CAGE" GITHUB_TOKEN >/dev/null 2>&1
check "cagectl up $CAGE (secret stored first)" "$LAB" exec "$CAGECTL" -q up "$YAML"
PROXY_PID=$(cat "$CAGECTL_RUN_DIR/$CAGE/cage-proxy.pid" 2>/dev/null)
like "cage-proxy runs under the monitor" "$PROXY_PID" '^[0-9]+$'

# Runs a shell line inside the cage as the agent. It first resolves a lab name through cage-dns,
# as any client would: probes that pin the lab address (--resolve) then find it bound in dns_allow
# (a binding lives 30 s at least, not for a whole test; all lab names share the two addresses).
in_cage() { "$LAB" exec "$CAGECTL" exec "$CAGE" -- sh -c "getent ahosts api.allowed.test >/dev/null 2>&1; $1"; }
CA=/etc/cage/ca.crt
A4=198.51.100.10
NOPX="env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy -u ALL_PROXY -u NO_PROXY"
PH=$(in_cage 'printf %s "$GITHUB_TOKEN"')
audit_mark() { wc -l < "$AUDIT"; }
audit_has() { sleep 0.3; tail -n +"$(( $1 + 1 ))" "$AUDIT" | grep "\"event\":\"$2\"" | grep -q -- "${3:-}"; }
N() { echo "rt-$1-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"; }
# curl inside the cage (transparent, lab address pinned); prints the body, then the status.
# Arguments are shell words inside the cage: "$PH" there is the cage's own $GITHUB_TOKEN.
cc() { in_cage "getent ahosts $1 >/dev/null; $NOPX curl -s -w '\n%{http_code}' --cacert $CA -m 20 --resolve $1:443:$A4 $2" 2>/dev/null; }
status_of() { tail -n1 <<<"$1"; }
# The real value reached the lab in anything but api.allowed.test's Authorization header.
real_leaks() {
	tail -n +$((SENT0 + 1)) /run/lab/sentinel.log | grep -F -- "$REAL" | python3 -c '
import json, sys
bad = 0
for line in sys.stdin:
    try:
        d = json.loads(line)
    except Exception:
        bad += 1; continue
    if d.get("sni") != "api.allowed.test":
        bad += 1; continue
    d["headers"] = "\n".join(l for l in d.get("headers", "").split("\n")
                             if not l.lower().startswith("authorization:"))
    if sys.argv[1] in json.dumps(d):
        bad += 1
print(bad)' "$REAL"
}
# unlike: the text does not match the regex; lacks: the text does not contain the fixed string.
unlike() { if [[ "$2" =~ $3 ]]; then not_ok "$1 (matches /$3/)"; else ok "$1"; fi; }
lacks() { if [[ "$2" == *"$3"* ]]; then not_ok "$1 (found it)"; else ok "$1"; fi; }
