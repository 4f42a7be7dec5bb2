#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# kill -9 of cage-proxy during a transfer loop (issue 3 acceptance): the download in flight
# fails at once (an error, not a hang), nothing reaches the fake internet while the proxy is
# gone (the kernel redirect keeps the cage closed; the monitor keeps the listeners, so new
# connections wait in their backlog), the monitor restarts cage-proxy within 1 s (measured from
# the kill to the first request the new process answers), and downloads resume byte-exact.
# The load runs inside the cage: tests/integration/proxy_restart.py.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/integration/proxy_setup.bash"

SIZE=${PROXY_RESTART_BYTES:-134217728}
SECS=${PROXY_RESTART_SECONDS:-8}
OUT=$(mktemp)
LOAD=
trap '[ -n "$LOAD" ] && kill "$LOAD" 2>/dev/null && wait "$LOAD" 2>/dev/null; rm -f "$OUT"; cleanup' EXIT

n=$(N restart); ALL_N="$ALL_N $n"
m=$(audit_mark)
SENT_MARK=$(wc -l < /run/lab/sentinel.log)
OLD=$PROXY_PID
"$LAB" exec "$CAGECTL" exec "$CAGE" -- $NOPX python3 - "$SIZE" "$SECS" "$GW4" "$E4" "$n" \
	< "$TOP/tests/integration/proxy_restart.py" > "$OUT" 2>&1 &
LOAD=$!

# Kill while the second download is moving bytes.
for _ in $(seq 200); do grep -q '^progress 2$' "$OUT" && break; sleep 0.05; done
check "the transfer loop is running (second download under way)" grep -q '^progress 2$' "$OUT"
# The kill's time on the clock the load uses, taken right before the syscall.
t_kill=$(python3 -c 'import os, sys, time; t = time.time(); os.kill(int(sys.argv[1]), 9); print(t)' "$OLD")
NEW=
for _ in $(seq 100); do
	NEW=$(cat "$CAGECTL_RUN_DIR/$CAGE/cage-proxy.pid" 2>/dev/null)
	[ -n "$NEW" ] && [ "$NEW" != "$OLD" ] && kill -0 "$NEW" 2>/dev/null && break
	NEW=; sleep 0.02
done
like "the monitor started a new cage-proxy" "$NEW" '^[0-9]+$'
wait "$LOAD"; LOAD=

res=$(tail -1 "$OUT")
verdict=$(python3 - "$t_kill" "$res" <<'EOF'
import json, sys
k, r = float(sys.argv[1]), json.loads(sys.argv[2])
dl = r['downloads']
hit = [d for d in dl if d['start'] < k < d['end']]
after = [d for d in dl if d['start'] > k]
# Requests begun after the kill wait in the listener's backlog (the monitor holds the sockets)
# until the new process accepts: the first one answered gives the restart latency.
ans = sorted(end for start, end in r['answers'] if start > k)
print('inflight=%s' % (hit[0]['error'] if hit else 'none'))
print('inflight_ms=%d' % ((hit[0]['end'] - k) * 1000 if hit else -1))
print('restart_ms=%d' % ((ans[0] - k) * 1000 if ans else -1))
print('before_ok=%d' % sum(1 for d in dl if d['end'] < k and d['error'] is None))
print('after_ok=%d' % sum(1 for d in after if d['error'] is None))
print('after_bad=%d' % sum(1 for d in after if d['error'] is not None and d['end'] > (ans[0] if ans else k) + 0.5))
print('escapes=%d' % r['escapes'])
EOF
) || { diag "load output: $(tail -3 "$OUT")"; verdict=; }
val() { echo "$verdict" | sed -n "s/^$1=//p"; }

is "downloads before the kill were byte-exact" "$(( $(val before_ok) > 0 ))" 1
like "the download in flight failed with an error ($(val inflight))" "$(val inflight)" '^([A-Z][A-Za-z]+|short body)$'
refute "…never a full-length body with wrong bytes" test "$(val inflight)" = "digest mismatch"
ms=$(val inflight_ms)
check "…within 2 s of the kill, not a hang ($ms ms)" test "${ms:--1}" -ge 0 -a "${ms:-9999}" -lt 2000
rs=$(val restart_ms)
check "restart: kill -9 → new cage-proxy answering in under 1 s ($rs ms)" test "${rs:--1}" -ge 0 -a "${rs:-9999}" -lt 1000
diag "restart latency (kill -9 to the first answer of the new process): $rs ms"
like "downloads after the restart are byte-exact (traffic resumes)" "$(val after_ok)" '^[1-9]'
is "no download failed after the restart settled" "$(val after_bad)" 0
like "escape probes ran throughout" "$(val escapes)" '^[1-9][0-9]+$'

# The monitor's view: the exit (signal 9) and the restart, in the cage's audit log.
check "monitor audited daemon.exited" audit_has "$m" daemon.exited cage-proxy
check "monitor audited daemon.restarted" audit_has "$m" daemon.restarted cage-proxy
# A second view of the same gap: the monitor's own record of the new process reporting ready.
ready_ms=$(tail -n +$((m + 1)) "$AUDIT" | grep '"event":"daemon.restarted"' | grep cage-proxy | head -1 |
	python3 -c 'import datetime, json, sys
r = json.loads(sys.stdin.read())
t = datetime.datetime.strptime(r["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
print(round((t - float(sys.argv[1])) * 1000))' "$t_kill" 2>/dev/null)
diag "monitor: daemon.restarted (new cage-proxy ready) $ready_ms ms after the kill (audit ts, ms resolution)"

# Nothing of the cage reached the fake internet except the proxy's own upstream requests.
sleep 1
# Allowed: web requests from lab-host's address (the proxy's upstream side) and DNS queries from
# it to the lab resolvers (cage-dns's upstream side). Anything else is a leak.
stray=$(tail -n +$((SENT_MARK + 1)) /run/lab/sentinel.log | python3 -c '
import json, sys
HOST = ("192.0.2.1:", "[2001:db8:ffff::1]:")
PUB = ("8.8.8.8:53", "[2001:4860:4860::8888]:53")
for line in sys.stdin:
    r = json.loads(line)
    if r.get("kind") == "LEAK-UNNATED" or r["src"] == "evil":
        print(line.strip()[:200])
    elif r["src"] == "web" and not r.get("peer", "").startswith(HOST):
        print(line.strip()[:200])
    elif r["src"] == "sniff" and "from" in r and not (r["from"].startswith(HOST) and r.get("to") in PUB):
        print(line.strip()[:200])
')
is "sentinel: only the proxy's requests and cage-dns's queries, from lab-host" "$stray" ""

PROXY_PID=$NEW
sentinel_clean
done_testing
