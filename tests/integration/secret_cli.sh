#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# cagectl secret set/list/rm/rotate-placeholders without a cage: file modes, --json, MISSING
# against the config copy, SIGHUP to a running proxy, sealing with the host key, and the real
# value nowhere but the store (not in argv, output, errors, or any other file).
. "$(dirname "$0")/../lib.sh"
# A private state root: host.key lives at the root and must not leak into other tests.
export CAGECTL_STATE_DIR=$TEST_ROOT/secret-cli-$$
export CAGECTL_RUN_DIR=$TEST_ROOT/secret-cli-run-$$
CAGE=sectest
TMP=$(mktemp -d /tmp/secret-cli.XXXXXX)
PROXY_PID=

cleanup() {
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
	rm -rf "$TMP" "$CAGECTL_STATE_DIR" "$CAGECTL_RUN_DIR"
}
trap cleanup EXIT

if ! "$CAGECTL" secret help >/dev/null 2>&1; then
	echo "ok 1 # SKIP cagectl has no 'secret' command registered"
	exit 0
fi

# The value is made and kept in a file; it never is an argument of any process here.
python3 -c 'import secrets,string; print("ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36)))' > "$TMP/real"
chmod 600 "$TMP/real"
SD=$CAGECTL_STATE_DIR/$CAGE
mode() { stat -c %a "$1"; }
has_real() { grep -rqsF -f "$TMP/real" "$@"; }

"$CAGECTL" secret set "$CAGE" GITHUB_TOKEN --inject-to api.allowed.test < "$TMP/real" \
	> "$TMP/set.out" 2> "$TMP/set.err"
is "set exits 0" "$?" 0
is "value file is 0600" "$(mode "$SD/secrets/GITHUB_TOKEN")" 600
is "meta file is 0600" "$(mode "$SD/secrets/GITHUB_TOKEN.meta")" 600
is "secrets dir is 0700" "$(mode "$SD/secrets")" 700
check "plain store holds the value (one trailing newline dropped)" \
	cmp -s <(head -c -1 "$TMP/real") <(tail -c +41 "$SD/secrets/GITHUB_TOKEN")
refute "no temp files left" sh -c "ls -A '$SD/secrets' | grep -q tmp"

json=$("$CAGECTL" --json secret list "$CAGE")
is "list --json parses" "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(len(d), d[0]["name"], d[0]["status"], d[0]["inject_to"][0], d[0]["in_config"])' "$json")" \
	"1 GITHUB_TOKEN ok api.allowed.test False"
PH=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[0]["placeholder"])' "$json")
like "placeholder shape" "$PH" '^cagectl:secret:GITHUB_TOKEN:[0-9a-f]{32}$'
like "list (text) shows ok" "$("$CAGECTL" secret list "$CAGE")" "GITHUB_TOKEN +ok"

# Setting again keeps the placeholder (stable across restarts) and the binding.
printf 'second-value-1234567\n' | "$CAGECTL" -q secret set "$CAGE" GITHUB_TOKEN 2>>"$TMP/set.err"
is "placeholder stable across set" \
	"$("$CAGECTL" --json secret list "$CAGE" | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; print(d["placeholder"], d["inject_to"])')" \
	"$PH ['api.allowed.test']"
"$CAGECTL" -q secret set "$CAGE" GITHUB_TOKEN < "$TMP/real" 2>>"$TMP/set.err"

# MISSING against the config copy `cagectl up` keeps.
printf 'name: %s\ndomains:\n  allow: [api.allowed.test]\nsecrets:\n  GITHUB_TOKEN:\n    inject_to: [api.allowed.test]\n  OPENAI_API_KEY:\n    inject_to: [api.openai.com]\n' \
	"$CAGE" > "$SD/cage.yaml"
is "config secret without value is MISSING" \
	"$("$CAGECTL" --json secret list "$CAGE" | python3 -c 'import json,sys; print(" ".join(e["name"]+"="+e["status"] for e in json.load(sys.stdin)))')" \
	"GITHUB_TOKEN=ok OPENAI_API_KEY=MISSING"

# A value on the command line is refused without echoing it.
out=$("$CAGECTL" secret set "$CAGE" GITHUB_TOKEN decoy-value-on-argv < /dev/null 2>&1)
is "value as argument refused" "$?" 2
refute "refusal does not echo the argument" grep -q decoy-value-on-argv <<<"$out"
out=$("$CAGECTL" secret set "$CAGE" GITHUB_TOKEN < /dev/null 2>&1)
like "empty value names cage and key" "$out" "GITHUB_TOKEN.*$CAGE"
out=$("$CAGECTL" secret set "$CAGE" GITHUB_TOKEN --placeholder short < "$TMP/real" 2>&1)
like "short placeholder refused" "$out" "placeholder"

# SIGHUP to the cage's proxy (a stand-in named cage-proxy that dies of SIGHUP).
mkdir -p "$CAGECTL_RUN_DIR/$CAGE"
cp "$(command -v sleep)" "$TMP/cage-proxy"
"$TMP/cage-proxy" 30 &
PROXY_PID=$!
echo "$PROXY_PID" > "$CAGECTL_RUN_DIR/$CAGE/cage-proxy.pid"
"$CAGECTL" -q secret set "$CAGE" GITHUB_TOKEN < "$TMP/real"
wait "$PROXY_PID"
is "running proxy got SIGHUP" "$?" $((128 + 1))
PROXY_PID=
# A pid file naming some other process is not signalled.
sleep 30 &
other=$!
echo "$other" > "$CAGECTL_RUN_DIR/$CAGE/cage-proxy.pid"
"$CAGECTL" -q secret set "$CAGE" GITHUB_TOKEN < "$TMP/real"
check "a recycled pid is not signalled" kill -0 "$other"
kill "$other"; wait "$other" 2>/dev/null

# rotate-placeholders changes it; rm removes value and meta.
new=$("$CAGECTL" -q --json secret rotate-placeholders "$CAGE" GITHUB_TOKEN | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["placeholder"])')
like "rotated placeholder shape" "$new" '^cagectl:secret:GITHUB_TOKEN:[0-9a-f]{32}$'
refute "rotated placeholder differs" test "$new" = "$PH"

# Sealing: --encrypt creates host.key 0600; values are ciphertext from then on.
"$CAGECTL" -q secret set "$CAGE" GITHUB_TOKEN --encrypt < "$TMP/real" 2>>"$TMP/set.err"
is "host.key is 0600" "$(mode "$CAGECTL_STATE_DIR/host.key")" 600
refute "sealed store does not hold the value" has_real "$SD/secrets/GITHUB_TOKEN"
printf 'another-sealed-value-99\n' | "$CAGECTL" -q secret set "$CAGE" OTHER_KEY 2>>"$TMP/set.err"
refute "later values are sealed too" grep -q another-sealed-value-99 "$SD/secrets/OTHER_KEY"

# The value is in no file cagectl wrote (the store is sealed now), no output, no error.
refute "value in no state, run or log file" has_real "$CAGECTL_STATE_DIR" "$CAGECTL_RUN_DIR" \
	"$CAGECTL_LOG_DIR"
refute "value in no output or error" has_real "$TMP/set.out" "$TMP/set.err"

"$CAGECTL" -q secret rm "$CAGE" GITHUB_TOKEN 2>/dev/null
is "rm exits 0" "$?" 0
check "rm removed value and meta" test ! -e "$SD/secrets/GITHUB_TOKEN" -a ! -e "$SD/secrets/GITHUB_TOKEN.meta"
out=$("$CAGECTL" secret rm "$CAGE" GITHUB_TOKEN 2>&1)
is "rm of a missing secret fails" "$?" 1
like "error names cage and key" "$out" "$CAGE.*GITHUB_TOKEN"
is "list after rm" \
	"$("$CAGECTL" --json secret list "$CAGE" | python3 -c 'import json,sys; print(" ".join(e["name"]+"="+e["status"] for e in json.load(sys.stdin)))')" \
	"GITHUB_TOKEN=MISSING OPENAI_API_KEY=MISSING OTHER_KEY=ok"
done_testing
