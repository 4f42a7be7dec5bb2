#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The workload sandbox against escapes.md rows 83-93, driven through cage_spawn() by the
# test_spawn binary's "spawn" mode: a throwaway cgroup and netns (cagetest-sb-<pid>), probes run
# as uid 1000, verdicts from what they print. The netns has only lo: nothing can leave it.
set -u
. "$(dirname "$0")/../lib.sh"

DRIVER=$BUILD/tests/test_spawn
if [ "$(id -u)" -ne 0 ] || [ ! -x "$DRIVER" ]; then
	echo "ok 1 # SKIP needs root and $DRIVER"
	exit 0
fi

ID=cagetest-sb-$$
CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
CG=$CG2/$ID
STATE=$(mktemp -d /var/tmp/cagetest-sb-state.XXXXXX)
PY=/usr/bin/python3
HOST_PIDS=()

cleanup() {
	local pid
	for pid in "${HOST_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	ip netns del "$ID" 2>/dev/null
	for _ in $(seq 100); do rmdir "$CG" 2>/dev/null || [ ! -d "$CG" ] && break; sleep 0.05; done
	rm -rf "$STATE" "/tmp/$ID.sock"
}
trap cleanup EXIT

mkdir "$CG" && ip netns add "$ID" && ip -n "$ID" link set lo up || { not_ok "set up cgroup and netns"; exit 1; }
chmod 0755 "$STATE"
echo "-----BEGIN PRIVATE KEY-----" > "$STATE/ca.key"
echo "nameserver 10.200.0.1" > "$STATE/resolv.conf"

# cage [--pidns] CMD...: runs CMD in the cage as uid 1000 with $STATE hidden; output on stdout.
cage() {
	local opts=()
	[ "${1:-}" = --pidns ] && { opts+=(--pidns); shift; }
	"$DRIVER" spawn "${opts[@]}" --hide "$STATE" --resolv "$STATE/resolv.conf" "$CG" "/run/netns/$ID" -- "$@"
}

# Host services the cage must not reach: a loopback listener, a unix socket in the host's /tmp,
# an abstract socket (scoped to the host netns).
$PY -c 'import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(("127.0.0.1",18083));s.listen();time.sleep(60)' &
HOST_PIDS+=($!)
$PY -c "import socket,time;a=socket.socket(socket.AF_UNIX);a.bind('/tmp/$ID.sock');a.listen();b=socket.socket(socket.AF_UNIX);b.bind('\0$ID');b.listen();time.sleep(60)" &
HOST_PIDS+=($!)
sleep 0.3

# 83: loopback is the cage's own.
out=$(cage sh -c 'for p in 22 2375 3128 5432 6379 8080 18083; do nc -z -w1 127.0.0.1 $p 2>/dev/null && echo open:$p; done; true')
is "83 no host loopback service is reachable" "$out" ""

# 84: no host socket is visible or connectable.
out=$(cage sh -c 'find / -xdev -type s 2>/dev/null; echo run=$(ls -A /run) var_run=$(ls -A /var/run) tmp=$(ls -A /tmp)')
is "84 only lock in /run, empty /tmp, no sockets" "$out" "run=lock var_run=lock tmp="
out=$(cage $PY -c "
import socket
for a in ['/tmp/$ID.sock', '\0$ID']:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(a); print('REACHED', repr(a))
    except OSError as e:
        print(e.errno)
")
is "84 host unix and abstract sockets unreachable" "$out" "$(printf '2\n111')"

# 85: docker.sock and friends.
out=$(cage sh -c 'for s in /var/run/docker.sock /run/containerd/containerd.sock /run/podman/podman.sock /run/dbus/system_bus_socket /run/systemd/private; do curl -s -m2 --unix-socket $s http://x/version >/dev/null 2>&1 && echo REACHED:$s; done; true')
is "85 no daemon socket reached" "$out" ""

# 87: leave the cgroup.
out=$(cage sh -c 'cat /proc/self/cgroup | grep ^0::; for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/unified/cgroup.procs "/sys/fs/cgroup$(dirname "$(cut -d: -f3 /proc/self/cgroup | tail -1)")/cgroup.procs"; do (echo $$ > "$f") 2>/dev/null && echo MOVED:$f; done; grep ^0:: /proc/self/cgroup')
is "87 cgroup unchanged and not writable" "$out" "$(printf '0::/\n0::/')"

# 89: bpf() (321 = bpf on x86_64, 280 on arm64; cmd 5 = BPF_PROG_LOAD).
nr=321; [ "$(uname -m)" = aarch64 ] && nr=280
out=$(cage $PY -c "import ctypes;l=ctypes.CDLL(None,use_errno=True);print(l.syscall($nr,5,0,0),ctypes.get_errno())")
is "89 bpf() is EPERM" "$out" "-1 1"
refute "89 bpftool prog list fails" cage bpftool prog list
out=$(cage sh -c 'ls -A /sys/fs/bpf | wc -l')
is "89 no bpffs" "$out" "0"

# 90: unshare / setns.
refute "90 unshare -Urn fails" cage unshare -Urn true
refute "90 nsenter into pid 1's netns fails" cage nsenter -t 1 -n true
out=$(cage $PY -c "
import ctypes, os
l = ctypes.CDLL(None, use_errno=True)
try:
    fd = os.open('/proc/1/ns/net', os.O_RDONLY)
    print('JOINED' if l.setns(fd, 0) == 0 else ctypes.get_errno())
except OSError as e:
    print(e.errno)
")
like "90 setns is EPERM or EACCES" "$out" '^(1|13)$'

# 91: with a pid namespace nothing of the host is visible.
out=$(cage --pidns sh -c 'ls /proc | grep -c "^[0-9][0-9]*$"')
is "91 pid namespace shows only the workload" "$out" "3"

# 92: state directories are empty; the key in them is not found (the host has unrelated *.key files).
out=$(cage sh -c "ls -A $STATE; find / -xdev -name ca.key -readable 2>/dev/null | grep -F '$STATE'")
is "92 hidden state is empty, its key not found" "$out" ""

# 93: privileges cannot be regained and the network cannot be reconfigured.
out=$(cage sh -c "grep -E 'Cap(Eff|Bnd)|NoNewPrivs' /proc/self/status | tr '\t\n' '  '")
is "93 CapEff/CapBnd 0, NoNewPrivs 1" "$out" "CapEff: 0000000000000000 CapBnd: 0000000000000000 NoNewPrivs: 1 "
command -v sudo >/dev/null && refute "93 sudo -n fails" cage sudo -n true
refute "93 nft list ruleset fails" cage nft list ruleset
refute "93 ip route replace fails" cage ip route replace default dev lo
refute "93 ip link set lo down fails" cage ip link set lo down
refute "93 ip_forward is not writable" cage sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
is "93 lo still up" "$(ip -n "$ID" -br link show lo | awk '{print $2}')" "UNKNOWN"

# The workload's standard streams and a terminal pass through.
is "stdin passes through" "$(echo hello | cage sh -c 'read x; echo $x')" "hello"
cage sh -c 'exit 7'
is "exit status passes through" "$?" "7"
if command -v script >/dev/null; then
	out=$(script -qec "$DRIVER spawn $CG /run/netns/$ID -- sh -c 'test -t 0 && test -t 1 && echo TTY'" /dev/null </dev/null | tr -d '\r')
	is "a terminal passes through" "$out" "TTY"
fi
is "resolv.conf is the cage's" "$(cage cat /etc/resolv.conf)" "nameserver 10.200.0.1"

done_testing
