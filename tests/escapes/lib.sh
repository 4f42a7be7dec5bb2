# SPDX-License-Identifier: GPL-2.0-only
# Runs escapes.md probes inside the lab cage as the agent and judges each one three ways:
# the probe's own verdict, a clean sentinel, and the audit events it must have caused.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
LAB="$TOP/scripts/lab"
SENTINEL=/run/lab/sentinel.log
AUDIT=$(audit_file lab)

# The trap is set only once our `up` succeeded: a failed up (say, a lab already running) must
# not tear down a lab that belongs to someone else.
lab_start() {
	"$LAB" up >"$BUILD/lab-up.log" 2>&1 || { not_ok "lab up: $(tail -3 "$BUILD/lab-up.log")"; exit 1; }
	trap lab_stop EXIT
}
lab_stop() {
	"$LAB" down >"$BUILD/lab-down.log" 2>&1 || echo "# lab down: $(tail -3 "$BUILD/lab-down.log")"
}

nonce() { echo "rt-$1-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"; }

# Lines the monitor wrote since line $1 with reason $2.
audit_since() { tail -n +"$(($1 + 1))" "$AUDIT" | grep -c "\"reason\":\"$2\""; }

# probe ID DESCRIPTION EXPECT SCRIPT
#   EXPECT: space-separated reason=count pairs the audit log must gain ("-" for none: the
#   layer that refuses, e.g. a missing capability, has no hook to log from).
#   SCRIPT runs under sh in the cage with /run/lab/env.sh sourced and $N set; it must exit 0
#   exactly when the row's verdict holds.
probe() {
	local id=$1 desc=$2 expect=$3 script=$4 n before evil_before out rc pair reason want got
	n=$(nonce "$id")
	before=$(wc -l <"$AUDIT")
	evil_before=$(grep -cE '198\.51\.100\.20|2001:db8:51::20' "$SENTINEL")
	out=$("$LAB" cage-exec sh -c ". /run/lab/env.sh; N=$n; $script" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then ok "row $id: $desc"; else not_ok "row $id: $desc (exit $rc: $(echo "$out" | tail -3 | tr '\n' ' '))"; fi
	sleep 0.3  # the monitor drains the ring buffer every 200 ms
	if grep -q "$n" "$SENTINEL"; then not_ok "row $id: the sentinel saw the nonce"; else ok "row $id: sentinel clean"; fi
	is "row $id: nothing reached EVIL" "$(grep -cE '198\.51\.100\.20|2001:db8:51::20' "$SENTINEL")" "$evil_before"
	[ "$expect" = - ] && return
	for pair in $expect; do
		reason=${pair%=*} want=${pair#*=}
		got=$(audit_since "$before" "$reason")
		is "row $id: audit has $want $reason event(s)" "$got" "$want"
	done
}
