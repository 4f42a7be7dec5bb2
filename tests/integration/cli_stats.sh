#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `cagectl stats` in the lab: cage-proxy and cage-dns publish <run_dir>/<daemon>.metrics (root's
# 0644 files, rewritten in place with a check line), the counters follow what the agent did, and
# --json / --prometheus show them.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/integration/cli_lab_setup.bash"

PM=$CAGECTL_RUN_DIR/$CAGE/cage-proxy.metrics
DM=$CAGECTL_RUN_DIR/$CAGE/cage-dns.metrics
for _ in $(seq 1 30); do [ -s "$PM" ] && [ -s "$DM" ] && break; sleep 0.1; done
check "cage-proxy publishes its metrics" test -s "$PM"
check "cage-dns publishes its metrics" test -s "$DM"
is "the proxy's file is root's, 0644" "$(stat -c '%U %a' "$PM")" "root 644"
is "the resolver's file is root's, 0644" "$(stat -c '%U %a' "$DM")" "root 644"
like "the file ends with its check line" "$(tail -n1 "$PM")" '^# check [0-9a-f]{16}$'

stat_of() { X stats "$CAGE" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['daemons']['$1']['$2'])"; }
q0=$(stat_of cage-dns queries); d0=$(stat_of cage-dns denied); f0=$(stat_of cage-dns forwarded)
r0=$(stat_of cage-proxy requests); b0=$(stat_of cage-proxy blocked)
like "stats --json: cage-proxy requests is a number" "$r0" '^[0-9]+$'

for i in 1 2 3; do
	r=$(cc api.allowed.test "https://api.allowed.test/headers")
	is "request $i: 200" "$(status_of "$r")" 200
done
r=$(in_cage "$NOPX curl -s -o /dev/null -w '%{http_code}' -m 10 --resolve evil.test:80:$A4 http://evil.test/")
is "a host not on the allowlist: 403" "$r" 403
refute "a denied name does not resolve" in_cage "getent ahosts denied-$$.evil.test"
sleep 1.5   # the daemons rewrite the files once a second

r1=$(stat_of cage-proxy requests); b1=$(stat_of cage-proxy blocked)
q1=$(stat_of cage-dns queries); d1=$(stat_of cage-dns denied); f1=$(stat_of cage-dns forwarded)
check "proxy requests grew by at least 4 ($r0 -> $r1)" test "$r1" -ge $((r0 + 4))
check "proxy blocked grew by at least 1 ($b0 -> $b1)" test "$b1" -ge $((b0 + 1))
check "proxy bytes_out counts the answers" test "$(stat_of cage-proxy bytes_out)" -gt 0
like "proxy connections_open is a number" "$(stat_of cage-proxy connections_open)" '^[0-9]+$'
check "dns queries grew ($q0 -> $q1)" test "$q1" -gt "$q0"
check "dns denied grew ($d0 -> $d1)" test "$d1" -gt "$d0"
check "dns forwarded grew ($f0 -> $f1)" test "$f1" -gt "$f0"

prom=$(X stats "$CAGE" --prometheus)
like "prometheus: the proxy's requests" "$prom" "cagectl_cage_proxy_requests\{cage=\"$CAGE\"\} [0-9]+"
like "prometheus: the resolver's denied" "$prom" "cagectl_cage_dns_denied\{cage=\"$CAGE\"\} [0-9]+"
refute "prometheus: no check line leaks into the export" grep -q check <<<"$prom"
like "text: daemon.metric lines" "$(X stats "$CAGE")" "cage-dns\.queries +[0-9]+"
check "stats --json matches the schema" bash -c "'$LAB' exec '$CAGECTL' stats '$CAGE' --json | python3 '$TOP/tests/cli/schema.py' '$TOP/tests/cli/schemas/stats.json'"

# A torn file (a read that raced a rewrite) fails its check and is not shown.
cp "$PM" "$T/pm.good"
python3 -c '
import sys
p = sys.argv[1]
t = open(p).read()
first, rest = t.split("\n", 1)
first = first[:-1] + ("1" if first[-1] != "1" else "2")
open(p, "r+").write(first + "\n" + rest)' "$PM"
unlike_prom=$(X stats "$CAGE" --json | python3 -c "import json,sys; print('cage-proxy' in json.load(sys.stdin)['daemons'])")
is "a metrics file whose check fails is left out" "$unlike_prom" False
done_testing
