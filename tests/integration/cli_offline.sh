#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The CLI without a running cage: init and scaffolds, validate (agentcage warnings), every
# "unknown cage" and usage error path with its exit code and message, JSON errors, and restore's
# refusal of archives that are not cagectl backups.
export CAGECTL_RUN_DIR=/run/cagectl-clioff-$$
. "$(dirname "$0")/../lib.sh"
export CAGECTL_STATE_DIR=$TEST_ROOT/clioff-$$/state CAGECTL_LOG_DIR=$TEST_ROOT/clioff-$$/log
T=$(mktemp -d /tmp/cli-offline.XXXXXX)
export XDG_CONFIG_HOME=$T/xdg
SCHEMA=$TOP/tests/cli/schemas
cleanup() { rm -rf "$T" "$CAGECTL_RUN_DIR" "$TEST_ROOT/clioff-$$"; }
trap cleanup EXIT
cd "$T" || exit 1

# run CMD...: sets $out (stdout+stderr) and $rc
run() { out=$("$@" 2>&1); rc=$?; }
schema() { local s=$1; shift; "$@" 2>/dev/null | python3 "$TOP/tests/cli/schema.py" "$SCHEMA/$s.json"; }

run "$CAGECTL" version
like "version" "$out" '^cagectl [0-9]'
check "version --json is JSON" bash -c "'$CAGECTL' version --json | python3 -c 'import json,sys; json.load(sys.stdin)'"
run "$CAGECTL" frobnicate
is "unknown command exits 2" "$rc" 2
like "and says so" "$out" "unknown command 'frobnicate'"
run "$CAGECTL" --bogus
is "unknown option exits 2" "$rc" 2
check "a JSON error has the error schema" schema error "$CAGECTL" --json show nosuchcage

# init and the built-in scaffolds: each one validates.
for s in claude-code codex generic; do
	run "$CAGECTL" init "t-$s" --scaffold "$s" -o "$s.yaml"
	is "init --scaffold $s exits 0" "$rc" 0
	check "the $s scaffold passes validate" "$CAGECTL" validate "$s.yaml"
	check "the $s cage.yaml is commented" grep -q '^# ' "$s.yaml"
done
like "claude-code allows anthropic.com" "$(cat claude-code.yaml)" "- anthropic.com"
like "claude-code binds ANTHROPIC_API_KEY to anthropic.com" "$(grep -A1 ANTHROPIC_API_KEY: claude-code.yaml)" "inject_to: \[anthropic.com\]"
like "codex binds OPENAI_API_KEY to openai.com" "$(grep -A1 OPENAI_API_KEY: codex.yaml)" "inject_to: \[openai.com\]"
like "codex allows chatgpt.com" "$(cat codex.yaml)" "- chatgpt.com"
run "$CAGECTL" init t-x --scaffold generic -o generic.yaml
is "init over an existing file exits 1" "$rc" 1
like "and says --force" "$out" "exists; use --force"
check "init --force overwrites" "$CAGECTL" init t-x --scaffold generic -o generic.yaml --force
run "$CAGECTL" init t-y --scaffold nope -o nope.yaml
is "init with an unknown scaffold exits 1" "$rc" 1
like "and points at scaffold list" "$out" "no scaffold named 'nope'"
run "$CAGECTL" init Bad_Name
is "init with a bad cage name exits 2" "$rc" 2
mkdir -p "$T/My Project" && (cd "$T/My Project" && "$CAGECTL" -q init >/dev/null 2>&1)
like "init names the cage after the directory" "$(grep '^name:' "$T/My Project/cage.yaml")" "^name: my-project$"
check "init --list-scaffolds --json matches the schema" schema scaffold_list "$CAGECTL" init --list-scaffolds --json
like "init --list-scaffolds lists claude-code" "$("$CAGECTL" init --list-scaffolds)" "claude-code +builtin"

# scaffold list|show|create|export with a user directory.
check "scaffold list --json matches the schema" schema scaffold_list "$CAGECTL" scaffold list --json
like "scaffold show prints the YAML" "$("$CAGECTL" scaffold show codex)" "name: codex"
run "$CAGECTL" scaffold show nope
is "scaffold show of an unknown scaffold exits 1" "$rc" 1
printf 'name: anything\ndomains:\n  allow: [api.allowed.test]\n' > mine.yaml
check "scaffold create -c FILE" "$CAGECTL" -q scaffold create mine -c mine.yaml
check "it lands in XDG_CONFIG_HOME" test -f "$XDG_CONFIG_HOME/cagectl/scaffolds/mine.yaml"
like "scaffold list shows it as a user scaffold" "$("$CAGECTL" scaffold list)" "mine +user"
check "scaffold create --from claude-code" "$CAGECTL" -q scaffold create cc2 --from claude-code
run "$CAGECTL" scaffold create mine -c mine.yaml
is "scaffold create over an existing one exits 1" "$rc" 1
printf 'name: x\ndomains:\n  alow: [a.test]\n' > broken.yaml
run "$CAGECTL" scaffold create broken -c broken.yaml
is "scaffold create refuses an invalid config" "$rc" 1
like "naming the key" "$out" "domains.alow: unknown key"
check "init from a user scaffold validates" bash -c "'$CAGECTL' -q init u1 --scaffold mine -o u1.yaml && '$CAGECTL' validate u1.yaml"
check "scaffold export -o FILE" "$CAGECTL" scaffold export mine -o exported.yaml
check "the export is the scaffold" cmp exported.yaml "$XDG_CONFIG_HOME/cagectl/scaffolds/mine.yaml"
run "$CAGECTL" scaffold frob
is "unknown scaffold subcommand exits 2" "$rc" 2

# agentcage compatibility: up and validate print one warning per key that cannot apply.
run "$CAGECTL" validate "$TOP/tests/config/good/agentcage.yaml"
is "validate accepts an agentcage config" "$rc" 0
like "with a warning naming file:line:column and the key" "$out" "agentcage.yaml:[0-9]+:[0-9]+: .*: .*agentcage key|warning: .*agentcage"

# Unknown cages and bad names: exit 1 and "no cage named", or 2 for a name that cannot be one.
for c in "status nosuch" "show nosuch" "describe nosuch" "stats nosuch" "audit nosuch" "har nosuch" \
	 "logs nosuch" "backup nosuch" "domain list nosuch" "domain add nosuch a.test" "verify nosuch" \
	 "start nosuch" "stop nosuch" "restart nosuch" "shell nosuch" "update nosuch -c generic.yaml"; do
	run "$CAGECTL" $c
	is "'$c' exits 1" "$rc" 1
	like "'$c' says no cage named nosuch" "$out" "no cage named nosuch"
done
run "$CAGECTL" exec nosuch -- true
is "exec on an unknown cage exits 1" "$rc" 1
for c in "show Bad_Name" "audit ../x" "stats UPPER"; do
	run "$CAGECTL" $c
	is "'$c' exits 2" "$rc" 2
	like "'$c' says it is not a cage name" "$out" "is not a cage name"
done
for c in "show" "audit" "stats" "verify" "backup" "restore" "har" "logs" "domain add x" "update x" "run"; do
	run "$CAGECTL" $c
	is "'$c' without arguments exits 2" "$rc" 2
	like "'$c' prints its usage" "$out" "usage: "
done

# Bad durations and filters are usage errors, caught before the cage is looked up.
run "$CAGECTL" domain add nosuch a.test --expires-in 5q
is "a bad --expires-in exits 2" "$rc" 2
like "and says what a duration is" "$out" "bad duration '5q'"
for d in 0m 1.5h m 30 -1h; do
	run "$CAGECTL" domain add nosuch a.test --expires-in "$d"
	is "--expires-in '$d' is refused" "$rc" 2
done
run "$CAGECTL" audit nosuch --since yesterday
is "a bad --since exits 2" "$rc" 2
run "$CAGECTL" audit nosuch --severity loud
is "an unknown severity exits 2" "$rc" 2
run "$CAGECTL" audit nosuch --layer disk
is "an unknown layer exits 2" "$rc" 2
run "$CAGECTL" logs nosuch -s web
is "an unknown log service exits 2" "$rc" 2
run "$CAGECTL" stats nosuch --json --prometheus
is "--json with --prometheus exits 2" "$rc" 2

# restore refuses what is not a backup, and changes nothing.
run "$CAGECTL" restore "$T/missing.tar.gz"
is "restore of a missing file exits 1" "$rc" 1
echo "plain text" > notgz.tar.gz
run "$CAGECTL" restore notgz.tar.gz
is "restore of a non-gzip file exits 1" "$rc" 1
like "and says it is not gzip" "$out" "not a gzip file"
echo '{"format":"something-else"}' > manifest.json && tar czf foreign.tar.gz manifest.json
run "$CAGECTL" restore foreign.tar.gz
is "restore of a foreign tar.gz exits 1" "$rc" 1
like "and says it is not a cagectl backup" "$out" "not a cagectl backup"
echo '{"format":"cagectl-backup","version":99,"cage":"x"}' > manifest.json && tar czf future.tar.gz manifest.json
run "$CAGECTL" restore future.tar.gz
like "a newer format version is named" "$out" "format version 99"
run "$CAGECTL" restore future.tar.gz --name Bad_Name
is "restore --name with a bad name exits 2" "$rc" 2
check "nothing was restored" test ! -e "$CAGECTL_STATE_DIR/x"
done_testing
