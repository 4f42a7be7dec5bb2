#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Acceptance for `cagectl run`: in tmux (send-keys, capture-pane), `cagectl run generic --project
# DIR -s LAB_TOKEN` in the lab gives an interactive shell inside the cage, in DIR, that shows the
# placeholder and never the secret, and reaches an allowed lab host through the cage's proxy. The
# user scaffold "generic" (in a private XDG_CONFIG_HOME) shadows the built-in one to allow the lab
# hosts. Leaving the shell removes the cage. CLI_TMUX_PRIVATE=1 uses a private netns instead of the
# lab (no allowed host to reach): for running it while another test holds the lab.
export CAGECTL_RUN_DIR=/run/cagectl-clitmux-$$
. "$(dirname "$0")/../lib.sh"
export CAGECTL_STATE_DIR=$TEST_ROOT/clitmux-$$/state CAGECTL_LOG_DIR=$TEST_ROOT/clitmux-$$/log
LAB=$TOP/scripts/lab
T=$(mktemp -d /tmp/cli-tmux.XXXXXX)
SESSION=clitmux$$
export XDG_CONFIG_HOME=$T/xdg
lab_ours=
HOSTNS=lab-host

cleanup() {
	tmux kill-session -t "$SESSION" 2>/dev/null
	for c in $(ls "$CAGECTL_RUN_DIR" 2>/dev/null); do
		nsenter --net=/run/netns/$HOSTNS "$CAGECTL" -q down "$c" >/dev/null 2>&1
	done
	[ -n "$lab_ours" ] && LAB_NO_CAGE=1 "$LAB" down >/dev/null 2>&1
	[ "$HOSTNS" != lab-host ] && ip netns delete "$HOSTNS" 2>/dev/null
	rm -rf "$T" "$CAGECTL_RUN_DIR" "$TEST_ROOT/clitmux-$$"
}
trap cleanup EXIT
if ! command -v tmux >/dev/null; then
	ok "# SKIP tmux is not installed"
	exit 0
fi
if [ -n "${CLI_TMUX_PRIVATE:-}" ]; then
	HOSTNS=cagetest-tmux-$$
	ip netns add "$HOSTNS" && ip -n "$HOSTNS" link set lo up
elif [ -e /run/netns/lab-host ]; then
	ok "# SKIP a lab is already up (another test owns it)"
	exit 0
else
	LAB_NO_CAGE=1 "$LAB" up >"$T/lab-up.log" 2>&1 || { not_ok "lab up: $(tail -3 "$T/lab-up.log")"; exit 1; }
	lab_ours=1
	RESOLV=/run/lab/resolv.conf   # lab-host's resolvers, as `scripts/lab exec` sets them
fi
mkdir -p "$T/proj" && chmod 0777 "$T/proj" && echo project-file > "$T/proj/README"
printf 'name: generic\ndomains:\n  allow: [api.allowed.test]\nsecrets:\n  LAB_TOKEN:\n    inject_to: [api.allowed.test]\n' > "$T/g.yaml"
"$CAGECTL" -q scaffold create generic -c "$T/g.yaml" >/dev/null 2>&1

# The secret travels from this environment to `secret set` on a pipe: never in any argv.
tmux new-session -d -s "$SESSION" -x 200 -y 50 \
	"cd '$T/proj' && LAB_TOKEN=tmux-secret-value-789 XDG_CONFIG_HOME='$XDG_CONFIG_HOME' CAGECTL_RESOLV_CONF=${RESOLV:-/etc/resolv.conf} \
	 nsenter --net=/run/netns/$HOSTNS '$CAGECTL' run generic --project '$T/proj' -s LAB_TOKEN; \
	 echo RUN-EXITED-\$?; sleep 30"
pane() { tmux capture-pane -p -t "$SESSION" -S -200; }
wait_for() { for _ in $(seq 1 "${2:-100}"); do pane | grep -q -- "$1" && return 0; sleep 0.1; done; return 1; }
check "an interactive shell starts in the cage" wait_for "is up; project"
tmux send-keys -t "$SESSION" 'echo "PWD=$(pwd) CAGE=$CAGECTL_CAGE TOKEN=$LAB_TOKEN"' Enter
check "the shell answers" wait_for "PWD=$T/proj"
line=$(pane | grep -E '^PWD=' | tail -1)
like "it runs in the project directory, in the cage" "$line" "PWD=$T/proj CAGE=generic-[a-z]+-[a-z]+"
like "it shows the placeholder" "$line" "TOKEN=cagectl:secret:LAB_TOKEN:"
refute "never the secret" bash -c "tmux capture-pane -p -t '$SESSION' -S -200 | grep -q tmux-secret-value"
name=$(printf '%s\n' "$line" | grep -oE 'generic-[a-z]+-[a-z]+')
if [ "$HOSTNS" != lab-host ]; then
	ok "# SKIP reaching the allowed host: CLI_TMUX_PRIVATE has no lab"
elif [ -n "$name" ] && pid=$(cat "$CAGECTL_RUN_DIR/$name/cage-proxy.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
	tmux send-keys -t "$SESSION" "curl -s -m 10 -o /dev/null -w 'HTTP=%{http_code}\\n' http://api.allowed.test/headers; echo CURL-DONE" Enter
	wait_for "^CURL-DONE" 150
	if pane | grep -q "HTTP=200"; then
		ok "an allowed lab host answers through the proxy"
	else
		not_ok "an allowed lab host answers through the proxy"
		pane | tail -5 | sed 's/^/# pane: /'
		tail -5 "$CAGECTL_LOG_DIR/$name/audit.jsonl" 2>/dev/null | sed 's/^/# audit: /'
	fi
else
	ok "# SKIP reaching the allowed host: cage-proxy is not running in this cage"
fi
tmux send-keys -t "$SESSION" 'exit' Enter
check "leaving the shell ends run" wait_for "RUN-EXITED-0"
check "and removes the cage" test ! -e "$CAGECTL_RUN_DIR/$name"
check "the audit log is kept" test -d "$CAGECTL_LOG_DIR/$name"
done_testing
