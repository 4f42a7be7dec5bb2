# SPDX-License-Identifier: GPL-2.0-only
# A cage of the test's own in the lab world, brought up by `cagectl up` exactly as in
# production. Sourced (after lib.sh) by tests/integration/secrets_setup.bash,
# tests/integration/cli_lab_setup.bash, tests/escapes/dlp_more_rows.sh and
# tests/escapes/ws_rows.sh. The test sets CAGE (a name and pool no other test uses), writes its
# cage.yaml (`lab_cage_yaml N` prints the part they share, then the test adds its own keys),
# then calls in this order:
#   lab_cage_tmp PATH...      paths removed (rm -rf) at exit, after the lab is down
#   lab_cage_join [fresh]     the lab up unless one is; then the EXIT trap; then AUDIT (the
#                             cage's audit path, emptied) and SENT0 (the sentinel's line count).
#                             "fresh": first down a cage of that name left behind and remove its
#                             whole log dir (audit and capture files) instead of the audit file.
#   lab_cage_secret KEY       stores stdin as the cage's secret KEY (piped: never in argv)
#   lab_cage_up YAML NOTE     check "cagectl up $CAGE (NOTE)"; sets PROXY_PID
# and then probes with in_cage LINE (set LAB_CAGE_RESOLVE to a lab name to resolve it first),
# cc HOST CURL-ARGS and status_of. A function lab_cage_cleanup, when the test defines one, runs
# at exit between the cage's down and the lab's.
LAB="$TOP/scripts/lab"
LAB_MINE=
LAB_CAGE_TMP=()
CA=/etc/cage/ca.crt
A4=198.51.100.10
NOPX="env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy -u ALL_PROXY -u NO_PROXY"

lab_cage_tmp() { LAB_CAGE_TMP+=("$@"); }

# lab_cage_yaml N [NAME...]: the keys every lab cage here shares: the agent user, the two lab
# hosts (and NAMEs) allowed, 80/443 inspected, the lab resolver, pool 10.200.N.0/24 (N 241-255;
# the IPv6 pool follows it) and the lab CA trusted upstream.
lab_cage_yaml() {
	local n=$1 names="api.allowed.test, echo.allowed.test" h
	shift
	for h in "$@"; do names+=", \"$h\""; done
	cat <<YAML
name: $CAGE
user: "1000:1000"
domains:
  allow: [$names]
ports:
  tcp:
    inspect: [80, 443]
dns:
  upstream: [8.8.8.8]
ipv6: true
network:
  pool4: 10.200.$n.0/24
  pool6: fd00:200:$(printf %x "$n")::/56
proxy:
  upstream_ca: /run/lab/ca/lab-ca.crt
YAML
}

# The EXIT trap. The lab goes down only if this test brought it up: another test (or a person)
# may be using a lab that was already there.
lab_cage_teardown() {
	"$LAB" exec "$CAGECTL" -q down "$CAGE" >/dev/null 2>&1
	declare -F lab_cage_cleanup >/dev/null && lab_cage_cleanup
	[ -n "$LAB_MINE" ] && LAB_NO_CAGE=1 "$LAB" down >/dev/null 2>&1
	[ ${#LAB_CAGE_TMP[@]} -gt 0 ] && rm -rf "${LAB_CAGE_TMP[@]}"
}

# LAB_NO_CAGE=1: the lab's own cage would take the first pool and is not what these tests
# probe. The trap is armed only once the lab is up, so a failed `lab up` downs nothing.
lab_cage_join() {
	if ! "$LAB" status 2>/dev/null | grep -q 'lab-host: up'; then
		LAB_NO_CAGE=1 "$LAB" up >/dev/null || { not_ok "lab up"; exit 1; }
		LAB_MINE=1
	fi
	trap lab_cage_teardown EXIT
	if [ "${1:-}" = fresh ]; then
		"$LAB" exec "$CAGECTL" -q down "$CAGE" >/dev/null 2>&1
		rm -rf "$CAGECTL_LOG_DIR/$CAGE"
		AUDIT=$(audit_file "$CAGE")
	else
		AUDIT=$(audit_file "$CAGE")
		rm -f "$AUDIT"
	fi
	SENT0=$(wc -l < /run/lab/sentinel.log)
}

# Secrets are stored before `cagectl up`: the monitor hands them to cage-proxy at start.
lab_cage_secret() { "$LAB" exec "$CAGECTL" -q secret set "$CAGE" "$1" >/dev/null 2>&1; }

lab_cage_up() {
	check "cagectl up $CAGE ($2)" "$LAB" exec "$CAGECTL" -q up "$1"
	PROXY_PID=$(cat "$CAGECTL_RUN_DIR/$CAGE/cage-proxy.pid" 2>/dev/null)
}

# Runs a shell line inside the cage as the agent. With LAB_CAGE_RESOLVE it first resolves that
# lab name through cage-dns, as any client would: probes that pin the lab address (--resolve)
# then find it bound in dns_allow (a binding lives 30 s at least, not for a whole test; all lab
# names share the two addresses). Tests that count DNS queries leave it unset.
in_cage() {
	local first=
	[ -n "${LAB_CAGE_RESOLVE:-}" ] && first="getent ahosts $LAB_CAGE_RESOLVE >/dev/null 2>&1; "
	"$LAB" exec "$CAGECTL" exec "$CAGE" -- sh -c "$first$1"
}
# curl inside the cage, transparent: resolves HOST through cage-dns first (binds the address in
# dns_allow), then pins the lab address. Prints the body, then the status on its own line.
# The arguments are shell words inside the cage: "$PH" there is the cage's own placeholder.
cc() { in_cage "getent ahosts $1 >/dev/null; $NOPX curl -s -w '\n%{http_code}' --cacert $CA -m 20 --resolve $1:443:$A4 $2" 2>/dev/null; }
status_of() { tail -n1 <<<"$1"; }
