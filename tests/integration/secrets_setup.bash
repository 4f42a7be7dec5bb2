# SPDX-License-Identifier: GPL-2.0-only
# Sourced by tests/integration/secrets_proxy.sh, tests/escapes/secrets_rows.sh and
# tests/escapes/dlp_rows.sh (after lib.sh): a cage of its own ("sec", its own pool) in the lab
# with GITHUB_TOKEN bound to api.allowed.test, its value stored before `cagectl up`, and helpers
# that run probes inside the cage and read its audit log. REAL never reaches argv: it is piped.
# The cage's life in the lab (join, secret, up, in_cage, cc) is tests/lab_cage.bash.
. "$TOP/tests/lab_cage.bash"
CAGE=sec
LAB_CAGE_RESOLVE=api.allowed.test
YAML=$(mktemp /tmp/sec-cage.XXXXXX.yaml)
lab_cage_tmp "$YAML"
REAL="realtok-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
CANARY_GH=ghp_R3dT3amC4nary00000000000000000000000
CANARY_AWS=AKIAIOSFODNN7EXAMPLE

{ lab_cage_yaml 241; cat <<YAML; } > "$YAML"
secrets:
  GITHUB_TOKEN: { inject_to: [api.allowed.test] }
YAML

lab_cage_join
printf %s "$REAL" | lab_cage_secret GITHUB_TOKEN
lab_cage_up "$YAML" "secret stored first"
like "cage-proxy runs under the monitor" "$PROXY_PID" '^[0-9]+$'

PH=$(in_cage 'printf %s "$GITHUB_TOKEN"')
audit_mark() { wc -l < "$AUDIT"; }
audit_has() { sleep 0.3; tail -n +"$(( $1 + 1 ))" "$AUDIT" | grep "\"event\":\"$2\"" | grep -q -- "${3:-}"; }
N() { echo "rt-$1-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"; }
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
