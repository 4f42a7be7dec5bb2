# SPDX-License-Identifier: GPL-2.0-only
# TAP helpers for shell tests: ok/not_ok/is/like, a plan-free counter, and cleanup traps.
TAP_N=0
TAP_FAILED=0
ok()     { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }
# check DESC CMD... : ok if CMD succeeds
check()  { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; fi; }
# refute DESC CMD... : ok if CMD fails
refute() { local d=$1; shift; if "$@" >/dev/null 2>&1; then not_ok "$d"; else ok "$d"; fi; }
# is DESC GOT WANT
is()     { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi; }
# like DESC GOT REGEX
like()   { if [[ "$2" =~ $3 ]]; then ok "$1"; else not_ok "$1 ('$2' does not match /$3/)"; fi; }
diag()   { echo "# $*"; }
done_testing() { [ "$TAP_FAILED" -eq 0 ]; }
# Feeds "ok - ..." / "not ok - ..." lines (from a python check) into this script's TAP counters.
# The check must print "# end" last: a traceback before it is a failure, not a silent pass.
tap_from() {
	local l ended=
	while IFS= read -r l; do
		case "$l" in
		"ok - "*) ok "${l#ok - }" ;;
		"not ok - "*) not_ok "${l#not ok - }" ;;
		"# end") ended=1 ;;
		*) diag "$l" ;;
		esac
	done
	[ -n "$ended" ] || not_ok "the python check ran to its end"
}

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
CAGECTL=$BUILD/cagectl

# Tests never touch the real state roots; the BPF pins keep their real place (bpffs). The test
# roots live under /run, not in the checkout: the daemons re-read their config after dropping
# root, and a checkout may sit below a directory only root can enter (mktemp -d makes one 0700).
TEST_ROOT=/run/cagectl-test-root
export CAGECTL_RUN_DIR=${CAGECTL_RUN_DIR:-/run/cagectl-test}
export CAGECTL_STATE_DIR=${CAGECTL_STATE_DIR:-$TEST_ROOT/state}
export CAGECTL_LOG_DIR=${CAGECTL_LOG_DIR:-$TEST_ROOT/log}
audit_file() { echo "$CAGECTL_LOG_DIR/$1/audit.jsonl"; }
# scratch_host_netns NS RESOLV: a throwaway host netns for a cage outside the lab, with a route out
# into a veth whose peer is in the same netns (so cage-dns can open its upstream socket; nothing
# leaves the netns), and a resolv.conf naming a TEST-NET resolver, exported for cage-dns. The
# caller deletes NS in its EXIT trap.
scratch_host_netns() {
	ip netns add "$1" && ip -n "$1" link set lo up &&
		ip -n "$1" link add up0 type veth peer name up1 && ip -n "$1" link set up0 up &&
		ip -n "$1" addr add 192.0.2.1/24 dev up0 &&
		ip -n "$1" route add default via 192.0.2.254 dev up0 || return 1
	echo 'nameserver 192.0.2.53' > "$2"
	export CAGECTL_RESOLV_CONF=$2
}
