#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Every command and alias against running cages, in a private host netns: lifecycle (create, ls/ps,
# status, show/describe/inspect, stop/start/restart/reload, update, prune, rm/delete), exec
# aliases, shell, run, domain edits, audit filters and follow, logs, har, stats, verify, backup and
# restore (including restore over an existing cage and corrupted archives). JSON against
# tests/cli/schemas.
export CAGECTL_RUN_DIR=/run/cagectl-clicage-$$
. "$(dirname "$0")/../lib.sh"
export CAGECTL_STATE_DIR=$TEST_ROOT/clicage-$$/state CAGECTL_LOG_DIR=$TEST_ROOT/clicage-$$/log
HOSTNS=cagetest-cli-$$
C=cli$$        # the main cage
E=cli$$e       # an ephemeral one, for prune
R=cli$$r       # restored under another name
T=$(mktemp -d /tmp/cli-cage.XXXXXX)
SCHEMA=$TOP/tests/cli/schemas
H() { nsenter --net=/run/netns/$HOSTNS "$@"; }
X() { H "$CAGECTL" "$@"; }
run() { out=$(H "$CAGECTL" "$@" 2>&1); rc=$?; }
schema() { local s=$1; shift; H "$CAGECTL" "$@" 2>/dev/null | python3 "$TOP/tests/cli/schema.py" "$SCHEMA/$s.json"; }
schema_lines() { local s=$1; shift; H "$CAGECTL" "$@" 2>/dev/null | python3 "$TOP/tests/cli/schema.py" "$SCHEMA/$s.json" --lines; }

cleanup() {
	[ -n "${KEEP:-}" ] && return
	for c in "$C" "$E" "$R" "cli$$s"; do X -q down "$c" >/dev/null 2>&1; done
	for c in $(ls "$CAGECTL_RUN_DIR" 2>/dev/null); do X -q down "$c" >/dev/null 2>&1; done
	ip netns delete "$HOSTNS" 2>/dev/null
	rm -rf "$T" "$CAGECTL_RUN_DIR" "$TEST_ROOT/clicage-$$"
}
trap cleanup EXIT
ip netns add "$HOSTNS" && ip -n "$HOSTNS" link set lo up
mkdir -p "$T/proj" && chmod 0777 "$T/proj" && echo data > "$T/proj/file.txt"

cat > "$T/cage.yaml" <<YAML
# the CLI test cage
name: $C
exec_aliases:
  hello: echo hello from
  where: pwd
domains:
  allow:
    # kept: a comment inside the list
    - api.allowed.test
YAML
printf 'name: %s\nephemeral: true\ndomains:\n  allow: [api.allowed.test]\n' "$E" > "$T/eph.yaml"

# --- lifecycle -------------------------------------------------------------------------------
check "create (alias of up) matches the schema" schema simple_state --json create "$T/cage.yaml"
run up "$T/cage.yaml"
like "a second up is refused" "$out" "already exists"
check "list --json matches the schema" schema list --json list
like "ls shows the cage" "$(X ls)" "$C +running"
like "ps shows the cage" "$(X ps)" "$C +running"
check "status NAME --json matches the schema" schema status status "$C" --json
for a in show describe inspect; do
	check "$a --json matches the schema" schema show $a "$C" --json
done
like "show lists the domains" "$(X show "$C")" "api.allowed.test"
like "show lists the exec aliases" "$(X show "$C")" "exec aliases: hello where"
like "show lists the pinned maps" "$(X show "$C")" "stats"

mon=$(cat "$CAGECTL_RUN_DIR/$C/monitor.pid")
for a in stop start restart reload; do
	check "$a --json matches the schema" schema lifecycle --json $a "$C"
	sleep 0.3
	check "the monitor survives $a" kill -0 "$mon"
done
check "enforcement stays after stop" bash -c "'$CAGECTL' -q stop '$C' >/dev/null 2>&1; true"
out=$(X exec "$C" -- python3 -c '
import socket
s = socket.socket()
try: s.connect(("192.0.2.99", 4444)); print("connected")
except OSError as e: print(e.errno)' 2>&1)
is "with the daemons stopped, a denied connect still gets EPERM" "$out" "1"
X -q start "$C" >/dev/null 2>&1

# --- exec, exec aliases, shell -----------------------------------------------------------------
is "exec runs a command" "$(X exec "$C" -- sh -c 'echo $CAGECTL_CAGE')" "$C"
is "an exec alias runs its command line with the extra arguments" "$(X exec "$C" hello world)" "hello from world"
run exec "$C" -- sh -c 'exit 7'
is "exec passes the exit status through" "$rc" 7
out=$(printf 'echo in-shell $CAGECTL_CAGE\nexit 3\n' | X shell "$C" 2>/dev/null); rc=$?
like "shell runs an interactive shell in the cage" "$out" "in-shell $C"
is "shell passes the exit status through" "$rc" 3

# --- domains ---------------------------------------------------------------------------------
check "domain add --json matches the schema" schema domain_edit domain add "$C" extra.allowed.test --json
check "domain add --expires-in 2h" X -q domain add "$C" temp.allowed.test --expires-in 2h
check "domain add --passthrough" X -q domain add "$C" pinned.allowed.test --passthrough
check "domain list --json matches the schema" schema domain_list domain list "$C" --json
like "domain ls shows the expiry" "$(X domain ls "$C")" "temp.allowed.test +\(expires 20"
like "the passthrough list" "$(X domain list "$C")" "passthrough +pinned.allowed.test"
check "the config copy keeps its comments" grep -q "kept: a comment inside the list" "$CAGECTL_STATE_DIR/$C/cage.yaml"
check "the config copy still validates" X validate "$CAGECTL_STATE_DIR/$C/cage.yaml"
run domain add "$C" extra.allowed.test
is "adding a domain twice exits 1" "$rc" 1
like "and says so" "$out" "already in domains.allow"
check "domain rm" X -q domain rm "$C" extra.allowed.test temp.allowed.test
run domain rm "$C" never.allowed.test
is "removing a domain that is not there exits 1" "$rc" 1
run domain add "$C" "bad domain!"
is "an invalid domain is refused" "$rc" 1
like "with the validation error" "$out" "would make the config invalid"
run domain add "$C" x.allowed.test --expires-in 10y
is "a bad duration exits 2" "$rc" 2
check "the monitor survives the reloads" kill -0 "$mon"

# --- update ----------------------------------------------------------------------------------
cp "$CAGECTL_STATE_DIR/$C/cage.yaml" "$T/new.yaml"
printf 'ipv6: false\nlogging:\n  level: debug\n' >> "$T/new.yaml"
check "update --dry-run --json matches the schema" schema update update "$C" -c "$T/new.yaml" --dry-run --json
like "update names what needs down/up" "$(X update "$C" -c "$T/new.yaml" --dry-run)" "ipv6 +needs down/up"
like "and what applies live" "$(X update "$C" -c "$T/new.yaml" --dry-run)" "logging +would apply live"
cp "$CAGECTL_STATE_DIR/$C/cage.yaml" "$T/cap.yaml"
printf 'capture:\n  enable: true\n' >> "$T/cap.yaml"
like "turning capture on needs a daemon restart" "$(X update "$C" -c "$T/cap.yaml" --dry-run)" "capture +needs restart"
like "and says how" "$(X update "$C" -c "$T/cap.yaml" --dry-run)" "run 'cagectl restart $C'"
like "the JSON lists it under needs_daemon_restart" \
	"$(X update "$C" -c "$T/cap.yaml" --dry-run --json)" '"needs_daemon_restart":\["capture"\]'
cp "$CAGECTL_STATE_DIR/$C/cage.yaml" "$T/px.yaml"
printf 'proxy:\n  idle_exit: 2m\n' >> "$T/px.yaml"
like "proxy.idle_exit applies live" "$(X update "$C" -c "$T/px.yaml" --dry-run)" "proxy.idle_exit +would apply live"
printf '  upstream_ca: /etc/ssl/certs/ca-certificates.crt\n' >> "$T/px.yaml"
like "proxy.upstream_ca needs down/up (the monitor passes it at start)" \
	"$(X update "$C" -c "$T/px.yaml" --dry-run)" "proxy.upstream_ca +needs down/up"
check "update applies" X -q update "$C" -c "$T/new.yaml"
check "the config copy is the new one" cmp "$T/new.yaml" "$CAGECTL_STATE_DIR/$C/cage.yaml"
sed "s/^name: .*/name: other/" "$T/new.yaml" > "$T/other.yaml"
run update "$C" -c "$T/other.yaml"
is "update with another cage's config exits 1" "$rc" 1
printf 'name: %s\nbogus: 1\n' "$C" > "$T/bad.yaml"
run update "$C" -c "$T/bad.yaml"
is "update with an invalid config exits 1" "$rc" 1
like "naming the key" "$out" "bogus: unknown key"

# --- audit -----------------------------------------------------------------------------------
X exec "$C" -- python3 -c '
import socket
for port in (4444, 5555):
    s = socket.socket()
    try: s.connect(("192.0.2.77", port))
    except OSError: pass' >/dev/null 2>&1
sleep 0.5
check "audit --json lines match the record schema" schema_lines audit_record audit "$C" --json
like "audit -d blocked --layer kernel shows the denied connect" "$(X audit "$C" -d blocked --layer kernel)" "192.0.2.77:4444 tcp_port_denied"
is "-n 1 gives the last one" "$(X audit "$C" -d blocked --layer kernel -n 1 | grep -c 5555)" 1
is "-d is repeatable (OR)" "$(X audit "$C" -d blocked -d nothing --layer kernel --host 192.0.2.77 | wc -l)" 2
is "--host filters" "$(X audit "$C" --host api.elsewhere.test | wc -l)" 0
is "--since 1h keeps them" "$(X audit "$C" --layer kernel --host 192.0.2.77 --since 1h | wc -l)" 2
is "--since a future time drops them" "$(X audit "$C" --since 2099-01-01T00:00:00Z | wc -l)" 0
is "--severity critical drops them" "$(X audit "$C" --layer kernel --severity critical | wc -l)" 0
is "--severity warning keeps blocked ones" "$(X audit "$C" --layer kernel --host 192.0.2.77 --severity warning | wc -l)" 2
check "audit --summary --json matches the schema" schema audit_summary audit "$C" --summary --json
like "the summary counts by reason" "$(X audit "$C" --summary --host 192.0.2.77)" "2 +tcp_port_denied"
# timeout delivers SIGINT to cagectl itself: a background job of a script ignores SIGINT.
H timeout --preserve-status -s INT 3 "$CAGECTL" audit "$C" -f -n 0 > "$T/follow.out" 2>&1 &
fpid=$!
sleep 0.5
X exec "$C" -- python3 -c '
import socket
s = socket.socket()
try: s.connect(("192.0.2.77", 6666))
except OSError: pass' >/dev/null 2>&1
wait "$fpid"
is "audit -f ends on SIGINT with status 0" "$?" 0
like "audit -f prints new records" "$(cat "$T/follow.out")" "192.0.2.77:6666"

# --- logs, stats, har ------------------------------------------------------------------------
# monitor.log holds the monitor's and both daemons' lines, each "TIME PROG: message"; -s picks by
# program. Known daemon lines without a test hook: cage-proxy warns about an expired allow entry
# whenever it loads the config (update's reload, restart, reload), and cage-dns, when it starts,
# that its upstream is unreachable (this host netns has no route). -f must follow the proxy's
# lines across a rotation of monitor.log (logging.max_size, applied live).
L=$CAGECTL_LOG_DIR/$C
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
# n_lines TEXT: its lines; n_not REGEX TEXT: its lines that do not match
n_lines() { printf '%s' "$1" | grep -c ''; }
n_not() { printf '%s' "$2" | grep -cvE "$1"; }
sleep 1.1
mid=$(date -u +%FT%TZ)   # after every line so far (--since has second resolution)
sleep 1.1
cp "$CAGECTL_STATE_DIR/$C/cage.yaml" "$T/expired.yaml"
sed -i -e 's/^  allow:$/  allow:\n    - domain: old.allowed.test\n      expires: 2020-01-01T00:00:00Z/' \
	-e 's/^logging:$/logging:\n  max_size: 16K/' "$T/expired.yaml"
H timeout --preserve-status -s INT 30 "$CAGECTL" logs "$C" -f -n 0 -s proxy > "$T/logs-follow.out" 2>&1 &
fpid=$!
sleep 0.5
check "update: an expired allow entry and logging.max_size 16K" X -q update "$C" -c "$T/expired.yaml"
X -q restart "$C" >/dev/null 2>&1
for i in $(seq 50); do
	[ "$(n_lines "$(X logs "$C" -s proxy --since "$mid")")" -ge 2 ] &&
		[ "$(n_lines "$(X logs "$C" -s dns --since "$mid")")" -ge 1 ] && break
	sleep 0.2
done
printf '%s cagectl: padding %s\n' "$(date -u +%FT%T.000Z)" "$(head -c 17000 /dev/zero | tr '\0' '#')" >> "$L/monitor.log"
for i in $(seq 50); do [ -s "$L/monitor.log.1" ] && break; sleep 0.1; done
check "monitor.log rotated" test -s "$L/monitor.log.1"
# cage-proxy moves to the new file on its own tick; its next line must land there.
pxpid=$(cat "$CAGECTL_RUN_DIR/$C/cage-proxy.pid" 2>/dev/null)
for i in $(seq 50); do [ "$(readlink "/proc/$pxpid/fd/2")" = "$L/monitor.log" ] && break; sleep 0.1; done
X -q reload "$C" >/dev/null 2>&1
for i in $(seq 50); do [ "$(grep -c 'already expired' "$T/logs-follow.out")" -ge 3 ] && break; sleep 0.2; done
grep -q 'already expired' "$L/monitor.log"
is "the reload after the rotation wrote to the new monitor.log" "$?" 0
kill -INT "$fpid" 2>/dev/null
wait "$fpid"
is "logs -f ends on SIGINT with status 0" "$?" 0
out=$(cat "$T/logs-follow.out")
like "logs -f -s proxy prints cage-proxy's new lines, across the rotation" \
	"$(grep -c 'already expired' "$T/logs-follow.out")" '^[3-9]$'
is "and nothing else (no padding, no cage-dns)" "$(n_not "^$TS cage-proxy: " "$out")" 0

run logs "$C" -s proxy
like "logs -s proxy shows cage-proxy's lines" "$out" "$TS cage-proxy: warning: .*already expired"
is "and only those, each with its time" "$(n_not "^$TS cage-proxy: " "$out")" 0
run logs "$C" -s dns
like "logs -s dns shows cage-dns's lines" "$out" "$TS cage-dns: warning: upstream .* unreachable at start"
is "and only those, each with its time" "$(n_not "^$TS cage-dns: " "$out")" 0
dns_all=$(n_lines "$out")
run logs "$C" -s monitor
like "logs -s monitor shows the monitor's lines" "$out" "cagectl: padding #"
is "and no daemon's" "$(printf '%s' "$out" | grep -cE "^$TS cage-(proxy|dns): ")" 0
like "logs --since 1m keeps the new lines" "$(X logs "$C" -s proxy --since 1m)" "cage-proxy: warning: .*already expired"
run logs "$C" -s dns --since "$mid"
like "logs --since TIME keeps the later lines" "$out" "cage-dns: warning: upstream"
n_since=$(n_lines "$out")
check "and drops the earlier ones ($n_since of $dns_all)" test "$n_since" -lt "$dns_all"
is "logs --since a later time drops them all" \
	"$(X logs "$C" --since "$(date -u -d @$(($(date +%s) + 2)) +%FT%TZ)")" ""
check "logs --json lines match the schema" schema_lines logs_line logs "$C" -n 5 --json
check "logs -s proxy --json: every line is a proxy line" bash -c \
	"nsenter --net=/run/netns/$HOSTNS '$CAGECTL' logs '$C' -s proxy --json | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin]
sys.exit(not lines or any(l[\"service\"] != \"proxy\" or \"cage-proxy: \" not in l[\"line\"] for l in lines))'"
run logs "$C" -n 2
is "logs -n 2 prints two lines" "$(printf '%s\n' "$out" | wc -l)" 2
check "update back (no expired entry, the default max_size)" X -q update "$C" -c "$T/new.yaml"
check "stats --json matches the schema" schema stats stats "$C" --json
like "stats --prometheus" "$(X stats "$C" --prometheus)" "cagectl_kernel_events_total\{cage=\"$C\",reason=\"tcp_port_denied\"\} [1-9]"
run har "$C"
is "har without a capture exits 1" "$rc" 1
like "and says how to turn it on" "$out" "capture.enable: true"
printf '%s\n' '{"ts":"2026-11-27T03:00:00.000Z","method":"POST","url":"https://api.allowed.test/v1/x?a=1&b=2","http_version":"HTTP/1.1","status":200,"status_text":"OK","req_headers":"Host: api.allowed.test\r\nAuthorization: Bearer cagectl:secret:K:00000000000000000000000000000000\r\n","req_body":"{\"q\":1}","req_body_size":7,"req_mime_type":"application/json","resp_headers":"Content-Type: text/plain\r\n","resp_body":"hi","resp_body_size":70000,"resp_body_truncated":true,"resp_mime_type":"text/plain","time_send":1,"time_wait":20,"time_receive":2,"server_ip":"198.51.100.10","decision":"allowed"}' \
	'not json' > "$CAGECTL_LOG_DIR/$C/capture.jsonl"
check "har -o FILE" X -q har "$C" -o "$T/out.har"
check "the HAR matches the schema" bash -c "python3 '$TOP/tests/cli/schema.py' '$SCHEMA/har.json' < '$T/out.har'"
like "it carries the placeholder, query and truncation" "$(cat "$T/out.har")" 'Bearer cagectl:secret:K:0+".*"queryString":\[\{"name":"a","value":"1"\}.*truncated'
check "har to stdout matches the schema" schema har har "$C"

# --- verify ----------------------------------------------------------------------------------
run verify "$C"
like "verify checks the layers" "$out" "\[PASS\] layers"
like "verify probes a raw connect over IPv4" "$out" "\[PASS\] probe tcp ipv4"
like "and over IPv6" "$out" "\[PASS\] probe tcp ipv6"
like "verify ends with the counts" "$(printf '%s\n' "$out" | tail -1)" "^[0-9]+ passed, [0-9]+ failed$"
failed=$(printf '%s\n' "$out" | tail -1 | awk '{print $3}')
is "verify exits 1 exactly when something failed" "$rc" "$([ "$failed" -gt 0 ] && echo 1 || echo 0)"
if ! [ -s "$CAGECTL_RUN_DIR/$C/cage-proxy.pid" ] || ! kill -0 "$(cat "$CAGECTL_RUN_DIR/$C/cage-proxy.pid")" 2>/dev/null; then
	like "a missing proxy fails its probe with the reason" "$out" "\[FAIL\] probe https ipv4 .*cage-proxy is not running"
fi
check "verify --json matches the schema" schema verify verify "$C" --json --no-probes

# --- backup and restore ----------------------------------------------------------------------
check "backup --json matches the schema" schema backup backup "$C" -o "$T/b.tar.gz" --json
is "the manifest comes first" "$(tar tzf "$T/b.tar.gz" | head -1)" "manifest.json"
like "with the config and the audit" "$(tar tzf "$T/b.tar.gz" | tr '\n' ' ')" "state/cage.yaml .*log/audit.jsonl"
touch "$CAGECTL_STATE_DIR/$C/ca.key"
X -q backup "$C" -o "$T/nosecrets.tar.gz" >/dev/null 2>&1
refute "a key stays out without --include-secrets" bash -c "tar tzf '$T/nosecrets.tar.gz' | grep -q ca.key"
X -q backup "$C" -o "$T/secrets.tar.gz" --include-secrets >/dev/null 2>&1
check "and is in with --include-secrets" bash -c "tar tzf '$T/secrets.tar.gz' | grep -q state/ca.key"
run restore "$T/b.tar.gz"
is "restore over an existing cage exits 1" "$rc" 1
like "and says to use --force" "$out" "already exists; use --force"
check "restore --name NEW --no-start --json matches the schema" schema restore restore "$T/b.tar.gz" --name "$R" --no-start --json
like "the restored config carries the new name" "$(grep '^name:' "$CAGECTL_STATE_DIR/$R/cage.yaml")" "name: $R"
check "the audit came along" test -s "$CAGECTL_LOG_DIR/$R/audit.jsonl"
check "restore --force replaces the running cage and brings it up" X -q restore "$T/b.tar.gz" --force
like "it is running" "$(X ls)" "$C +running"
head -c 400 "$T/b.tar.gz" > "$T/trunc.tar.gz"
run restore "$T/trunc.tar.gz" --name "${R}x"
is "a truncated backup exits 1" "$rc" 1
like "and says it is corrupt" "$out" "corrupt"
python3 -c "
d = bytearray(open('$T/b.tar.gz', 'rb').read()); d[len(d) - 12] ^= 0xff
open('$T/flip.tar.gz', 'wb').write(d)"
run restore "$T/flip.tar.gz" --name "${R}y"
is "a backup with a flipped byte exits 1" "$rc" 1
check "and leaves nothing behind" test ! -e "$CAGECTL_STATE_DIR/${R}y"

# --- secrets: a missing one stops up; run -s stores it; the cage sees only the placeholder ------
S=cli$$s
printf 'name: %s\nsecrets:\n  LAB_TOKEN:\n    inject_to: [api.allowed.test]\n' "$S" > "$T/sec.yaml"
run up "$T/sec.yaml"
is "up with a missing secret exits 1" "$rc" 1
like "and names the secret set command" "$out" "secret set $S LAB_TOKEN"
printf 'real-secret-value-123' | X -q secret set "$S" LAB_TOKEN >/dev/null 2>&1
check "up succeeds once the secret is stored" X -q up "$T/sec.yaml"
like "show reports it stored" "$(X show "$S" --json)" '"name":"LAB_TOKEN","stored":true'
out=$(X exec "$S" -- sh -c 'echo "$LAB_TOKEN"' 2>&1)
like "the workload sees the placeholder" "$out" "^cagectl:secret:LAB_TOKEN:"
refute "never the value" bash -c "printf '%s' '$out' | grep -q real-secret-value"
X -q down "$S" >/dev/null 2>&1
out=$(cd "$T" && LAB_TOKEN=from-env-value-456 H "$CAGECTL" run generic --project "$T/proj" -s LAB_TOKEN -- sh -c 'echo "tok=$LAB_TOKEN"' 2>&1); rc=$?
is "run -s KEY exits 0" "$rc" 0
like "run -s KEY gives the cage a placeholder" "$out" "tok=cagectl:secret:LAB_TOKEN:"
refute "and not the value" bash -c "printf '%s' '$out' | grep -q from-env-value"
run run generic --project "$T/proj" -s NOT_IN_ENV_$$ -- true
is "run -s KEY with no such variable exits 1" "$rc" 1
like "and says so" "$out" "the environment has no NOT_IN_ENV_$$"

# --- run, prune, down aliases ----------------------------------------------------------------
out=$(cd "$T" && H "$CAGECTL" run generic --project "$T/proj" -- sh -c 'pwd; cat file.txt; echo $CAGECTL_CAGE; touch made' 2>&1); rc=$?
is "run exits with the command's status" "$rc" 0
like "run starts in the project directory" "$out" "$T/proj"
like "the project is mounted" "$out" "data"
like "the name is SCAFFOLD-ADJECTIVE-NOUN" "$out" "generic-[a-z]+-[a-z]+"
name=$(printf '%s\n' "$out" | grep -oE '^generic-[a-z]+-[a-z]+$' | head -1)
check "writes in the project persist" test -f "$T/proj/made"
check "the cage is gone afterwards" test ! -e "$CAGECTL_RUN_DIR/$name"
check "and its audit log is kept" test -d "$CAGECTL_LOG_DIR/$name"
run run nope --project "$T/proj" -- true
is "run with an unknown scaffold exits 1" "$rc" 1
X -q up "$T/eph.yaml" >/dev/null 2>&1
like "prune --dry-run names the idle ephemeral cage" "$(X prune --dry-run)" "would prune $E"
check "prune --json" bash -c "'$CAGECTL' --json prune >/dev/null 2>&1; true"
H "$CAGECTL" -q prune >/dev/null 2>&1
check "prune removed it" test ! -e "$CAGECTL_RUN_DIR/$E"
check "and left the other cage" test -e "$CAGECTL_RUN_DIR/$C"
check "rm (alias of down)" X -q rm "$C"
like "delete of an absent cage says so and succeeds" "$(X delete "$C" 2>&1)" "does not exist"
check "destroy --json" schema simple_state --json destroy "$C"
done_testing
