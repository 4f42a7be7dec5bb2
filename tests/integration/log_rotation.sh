#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Size rotation of a cage's log files (issue 7 "log files rotate by size", issue 2 "a flood cannot
# fill the disk"). cage-proxy and cage-dns cannot rename in the root-owned log dir, so the monitor
# rotates audit.jsonl and monitor.log on its one-second timer and every writer reopens on its own
# tick (userspace/audit/logfile.h). A paced flood at all three audit writers with
# logging.max_size 64K must leave: several generations, none over the limit by more than what
# the writers produce in two ticks (the monitor's timer, then the writer's), every line valid
# JSON, and exactly one line per denied query, request and refused connect (nothing lost).
# CAGECTL_LOG_KEEP (a test hook) keeps every generation so the lines can be counted.
. "$(dirname "$0")/../lib.sh"
LAB="$TOP/scripts/lab"
CAGE=logrot
LAB_MINE=
T=$(mktemp -d /tmp/log-rotation.XXXXXX)
YAML=$T/cage.yaml
MAX=65536
KEEP=60
EVIL4=198.51.100.20
A4=198.51.100.10
export CAGECTL_LOG_KEEP=$KEEP


cleanup() {
	"$LAB" exec "$CAGECTL" -q down "$CAGE" >/dev/null 2>&1
	[ -n "$LAB_MINE" ] && LAB_NO_CAGE=1 "$LAB" down >/dev/null 2>&1
	rm -rf "$T" "$CAGECTL_LOG_DIR/$CAGE"
}

cat > "$YAML" <<YAML
name: $CAGE
user: "1000:1000"
domains:
  allow: [api.allowed.test]
ports:
  tcp:
    inspect: [80, 443]
dns:
  upstream: [8.8.8.8]
network:
  pool4: 10.200.247.0/24
  pool6: fd00:200:f7::/56
proxy:
  upstream_ca: /run/lab/ca/lab-ca.crt
logging:
  max_size: 64K
YAML

if ! "$LAB" status 2>/dev/null | grep -q 'lab-host: up'; then
	LAB_NO_CAGE=1 "$LAB" up >/dev/null || { not_ok "lab up"; exit 1; }
	LAB_MINE=1
fi
trap cleanup EXIT
"$LAB" exec "$CAGECTL" -q down "$CAGE" >/dev/null 2>&1
rm -rf "$CAGECTL_LOG_DIR/$CAGE"
check "cagectl up $CAGE (logging.max_size 64K)" "$LAB" exec "$CAGECTL" -q up "$YAML"
AUDIT=$(audit_file "$CAGE")
LOGDIR=$(dirname "$AUDIT")
RUN=$CAGECTL_RUN_DIR/$CAGE
is "the log dir is traversable, not listable, for the daemons" "$(stat -c %a "$LOGDIR")" 711

nonce=lr$$
out=$("$LAB" exec "$CAGECTL" exec "$CAGE" -- python3 - "$nonce" 6 40 "$EVIL4" "$A4" \
	< "$TOP/tests/integration/log_flood.py" 2>"$T/flood.err")
diag "flood: $out"
[ -s "$T/flood.err" ] && diag "flood stderr: $(head -c 400 "$T/flood.err")"
like "the flood ran" "$out" '"rounds": [0-9]+'
sleep 2.5   # the monitor's last rotation, then every writer's tick and flush

ls -l "$LOGDIR" | sed 's/^/# /'
tap_from < <(python3 - "$LOGDIR" "$MAX" "$KEEP" "$nonce" "$out" "$EVIL4" <<'PY'

import json, os, sys
d, mx, keep, nonce, want, evil4 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], json.loads(sys.argv[5]), sys.argv[6]
def say(ok, what): print(("ok - " if ok else "not ok - ") + what)
gens = [g for g in range(keep + 1) if os.path.exists(os.path.join(d, "audit.jsonl" + (f".{g}" if g else "")))]
say(len(gens) >= 3, f"audit.jsonl rotated under the flood ({len(gens)} files)")
say(keep not in gens, "no generation fell off the end (the count below is complete)")
bad = 0; n = {"dns": 0, "proxy": 0, "kernel": 0}; supp = 0; total = 0; sizes = []
for g in gens:
    p = os.path.join(d, "audit.jsonl" + (f".{g}" if g else ""))
    sizes.append(os.path.getsize(p))
    with open(p, "rb") as f:
        for raw in f:
            total += 1
            try:
                r = json.loads(raw)
            except ValueError:
                bad += 1
                continue
            if not raw.endswith(b"\n"):
                bad += 1
            if r.get("event") == "audit.suppressed":
                supp += r.get("count", 0)
            elif r.get("layer") == "dns" and nonce in r.get("qname", ""):
                n["dns"] += 1
            elif r.get("layer") == "proxy" and nonce in r.get("path", ""):
                n["proxy"] += 1
            elif r.get("layer") == "kernel" and r.get("dst") == evil4 and r.get("dport") == 4999:
                n["kernel"] += 1
say(bad == 0, f"every one of the {total} lines is one whole JSON object ({bad} bad)")
say(supp == 0, f"the flood stayed under the audit budget ({supp} suppressed)")
say(want["errors"] == 0, f"every probe got its answer ({want['errors']} errors)")
say(n["dns"] == want["dns_denied"], f"cage-dns: one line per denied query ({n['dns']} of {want['dns_denied']})")
say(n["proxy"] == want["proxy"], f"cage-proxy: one line per request ({n['proxy']} of {want['proxy']})")
say(n["kernel"] == want["kernel"], f"monitor: one line per refused connect ({n['kernel']} of {want['kernel']})")
# What all writers produce in two ticks: the monitor's timer, then the writer's follow.
per_sec = sum(sizes) / max(want["seconds"], 1)
slack = int(2.2 * per_sec) + 8192
over = [s for s in sizes if s > mx + slack]
say(not over, f"no generation over {mx} + {slack} (two ticks of {int(per_sec)} B/s + a line): largest {max(sizes)}")
say(all(s >= mx for s in sizes[1:]), "every rotated generation had reached the limit")
print("# end")
PY
)

# The new files: created by the monitor for the writers, write-only, and the daemons are on them.
like "the new audit.jsonl is the daemons' to append to" "$(stat -c '%U %G %a' "$AUDIT")" \
	'^cagectl-proxy cagectl-dns 220$'
for daemon in cage-proxy cage-dns; do
	pid=$(cat "$RUN/$daemon.pid" 2>/dev/null)
	links=$(ls -l "/proc/$pid/fd" 2>/dev/null | grep -o "$LOGDIR/audit[^ ]*" | sort -u | tr '\n' ' ')
	is "$daemon writes to the live audit.jsonl" "$links" "$AUDIT "
done

# monitor.log: the daemons' stderr is the monitor's; pad it past the limit and all three follow.
head -c $((MAX + 100)) /dev/zero | tr '\0' '#' >> "$LOGDIR/monitor.log"
echo >> "$LOGDIR/monitor.log"
sleep 2.5
check "monitor.log rotated" test -s "$LOGDIR/monitor.log.1"
for daemon in monitor cage-proxy cage-dns; do
	pid=$(cat "$RUN/$daemon.pid" 2>/dev/null)
	is "$daemon: stderr on the live monitor.log" "$(readlink "/proc/$pid/fd/2")" "$LOGDIR/monitor.log"
done
# A daemon's line after the rotation lands in the new file (a reload says so on stderr or not:
# the audit line is what counts; here the proxy's stderr fd is what we checked above).

# `update` applies a new logging.max_size live: 1M, then the same padding does not rotate.
sed -i 's/max_size: 64K/max_size: 1M/' "$YAML"
check "cagectl update: logging.max_size 1M" "$LAB" exec "$CAGECTL" -q update "$CAGE" -c "$YAML"
sleep 1.5
before=$(stat -c %i "$LOGDIR/monitor.log")
head -c $((MAX + 100)) /dev/zero | tr '\0' '#' >> "$LOGDIR/monitor.log"
echo >> "$LOGDIR/monitor.log"
sleep 2.5
is "under the new limit monitor.log stays" "$(stat -c %i "$LOGDIR/monitor.log")" "$before"
check "cagectl logs still reads monitor.log" "$LAB" exec "$CAGECTL" logs "$CAGE" -s monitor -n 5
check "cagectl audit still reads the log" "$LAB" exec "$CAGECTL" audit "$CAGE" -n 5
done_testing
