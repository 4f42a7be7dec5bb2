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

{ lab_cage_yaml 242; cat <<YAML; } > "$YAML"
secrets:
  GITHUB_TOKEN: { inject_to: [api.allowed.test] }
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
