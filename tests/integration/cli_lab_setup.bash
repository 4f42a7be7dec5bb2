# SPDX-License-Identifier: GPL-2.0-only
# Sourced (after lib.sh) by cli_capture.sh, cli_stats.sh and cli_expiry.sh: a cage of their own
# ("clab", its own pool) in the lab, with capture on, GITHUB_TOKEN bound to api.allowed.test and
# its value stored before `cagectl up`. $CLAB_YAML_EXTRA is appended to the config. REAL never
# reaches argv: it is piped.
LAB="$TOP/scripts/lab"
CAGE=clab
LAB_MINE=
T=$(mktemp -d /tmp/cli-lab.XXXXXX)
YAML=$T/cage.yaml
REAL="realtok-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
CA=/etc/cage/ca.crt
A4=198.51.100.10
NOPX="env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy -u ALL_PROXY -u NO_PROXY"

cleanup() {
	"$LAB" exec "$CAGECTL" -q down "$CAGE" >/dev/null 2>&1
	[ -n "$LAB_MINE" ] && LAB_NO_CAGE=1 "$LAB" down >/dev/null 2>&1
	rm -rf "$T" "$CAGECTL_LOG_DIR/$CAGE"
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
network:
  pool4: 10.200.242.0/24
  pool6: fd00:200:f2::/56
secrets:
  GITHUB_TOKEN: { inject_to: [api.allowed.test] }
proxy:
  upstream_ca: /run/lab/ca/lab-ca.crt
capture:
  enable: true
  max_body_size: 1KiB
${CLAB_YAML_EXTRA:-}
YAML

if ! "$LAB" status 2>/dev/null | grep -q 'lab-host: up'; then
	LAB_NO_CAGE=1 "$LAB" up >/dev/null || { not_ok "lab up"; exit 1; }
	LAB_MINE=1
fi
trap cleanup EXIT
"$LAB" exec "$CAGECTL" -q down "$CAGE" >/dev/null 2>&1
rm -rf "$CAGECTL_LOG_DIR/$CAGE"
AUDIT=$(audit_file "$CAGE")
CAPTURE=$(dirname "$AUDIT")/capture.jsonl

printf %s "$REAL" | "$LAB" exec "$CAGECTL" -q secret set "$CAGE" GITHUB_TOKEN >/dev/null 2>&1
check "cagectl up $CAGE (capture on, secret stored first)" "$LAB" exec "$CAGECTL" -q up "$YAML"

X() { "$LAB" exec "$CAGECTL" "$@"; }
# A shell line inside the cage as the agent.
in_cage() { "$LAB" exec "$CAGECTL" exec "$CAGE" -- sh -c "$1"; }
PH=$(in_cage 'printf %s "$GITHUB_TOKEN"')
# curl inside the cage: resolves through cage-dns first (binds the address in dns_allow), then
# pins the lab address. Prints the body, then the status on its own line.
cc() { in_cage "getent ahosts $1 >/dev/null; $NOPX curl -s -w '\n%{http_code}' --cacert $CA -m 20 --resolve $1:443:$A4 $2" 2>/dev/null; }
status_of() { tail -n1 <<<"$1"; }
# Feeds "ok - ..." / "not ok - ..." lines (from a python check) into this script's TAP counters.
# The check must print "# end" last: a traceback before it is a failure, not a silent pass.
tap_from() {
	local l ended=
	while IFS= read -r l; do
		case "$l" in
		"ok - "*) ok "${l#ok - }" ;;
		"not ok - "*) not_ok "${l#not ok - }" ;;
		"# end") ended=1 ;;
		*) diag "$l" ;;
		esac
	done
	[ -n "$ended" ] || not_ok "the python check ran to its end"
}
