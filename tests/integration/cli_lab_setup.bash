# SPDX-License-Identifier: GPL-2.0-only
# Sourced (after lib.sh) by cli_capture.sh, cli_stats.sh and cli_expiry.sh: a cage of their own
# ("clab", its own pool) in the lab, with capture on, GITHUB_TOKEN bound to api.allowed.test and
# its value stored before `cagectl up`. $CLAB_YAML_EXTRA is appended to the config. REAL never
# reaches argv: it is piped. The cage's life in the lab (join, secret, up, in_cage, cc) is
# tests/lab_cage.bash. in_cage resolves nothing first: the probes here meet unresolved
# addresses and names on purpose (dns_allow must not already bind them).
. "$TOP/tests/lab_cage.bash"
CAGE=clab
T=$(mktemp -d /tmp/cli-lab.XXXXXX)
YAML=$T/cage.yaml
lab_cage_tmp "$T" "$CAGECTL_LOG_DIR/$CAGE"
REAL="realtok-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

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

# fresh: down a clab left behind and remove its log dir, so audit and capture start empty.
lab_cage_join fresh
CAPTURE=$(dirname "$AUDIT")/capture.jsonl

printf %s "$REAL" | lab_cage_secret GITHUB_TOKEN
lab_cage_up "$YAML" "capture on, secret stored first"

X() { "$LAB" exec "$CAGECTL" "$@"; }
PH=$(in_cage 'printf %s "$GITHUB_TOKEN"')
