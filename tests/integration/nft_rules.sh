#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The nft layer end to end, in throwaway netns only (cagetest-nft?-<pid>):
#  1. the tables the C builder makes (through the test_nft driver) list exactly like nft/cage.nft
#     and nft/host.nft rendered with sed and loaded by `nft -f`, with and without IPv6;
#  2. real packets between a "cage" netns and a "host" netns joined by a veth: the proxy and
#     resolver ports connect, other ports and ICMP are dropped and counted, first with both
#     tables, then with the host table alone, and finally (the control) with none.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

DRIVER=$BUILD/tests/test_nft
if [ "$(id -u)" -ne 0 ]; then
	echo "ok 1 # SKIP needs root"; exit 0
fi
if [ ! -x "$DRIVER" ] || ! command -v nft >/dev/null || ! command -v socat >/dev/null; then
	echo "ok 1 # SKIP needs $DRIVER, nft and socat"; exit 0
fi

ID=$$
CAGE_NS=cagetest-nftc-$ID   # plays the cage netns
HOST_NS=cagetest-nfth-$ID   # plays the host netns
REF_NS=cagetest-nftr-$ID    # nft/*.nft loaded by nft -f
V4_NS=cagetest-nft4-$ID     # C-built tables of an IPv4-only cage
NAME=nfttest-$ID
IFNAME=cgt-$ID
GW4=10.200.0.1 CAGE4=10.200.0.2 GW6=fd00:200::1 CAGE6=fd00:200::2
PROXY=15001 EXPLICIT=3128 DNS=53
TMP=$(mktemp -d /tmp/cagetest-nft.XXXXXX)
PIDS=()

cleanup() {
	local p ns
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for ns in "$CAGE_NS" "$HOST_NS" "$REF_NS" "$V4_NS"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# driver VERB NETNS cage|host [ipv4-only]
driver() {
	local gw6=$GW6
	[ "${4:-}" = ipv4-only ] && gw6=-
	"$DRIVER" "$1" "/run/netns/$2" "$3" "$NAME" "$IFNAME" "$GW4" "$gw6" \
		"$PROXY" "$EXPLICIT" "$DNS"
}

# render FILE [ipv4-only]: the placeholders filled in, IPv6 lines dropped for an IPv4-only cage.
render() {
	local drop='^$'
	[ "${2:-}" = ipv4-only ] && drop='(ip6 |icmpv6 )'
	grep -Ev "$drop" "$TOP/$1" | sed -e "s/@NAME@/$NAME/g" -e "s/@IFNAME@/$IFNAME/g" \
		-e "s/@GW4@/$GW4/g" -e "s/@GW6@/$GW6/g" -e "s/@PROXY_PORT@/$PROXY/g" \
		-e "s/@EXPLICIT_PORT@/$EXPLICIT/g" -e "s/@DNS_PORT@/$DNS/g"
}

# listing NETNS TABLE: `nft -s list`, whitespace normalised and blank lines removed.
listing() {
	in_ns "$1" nft -s list table inet "$2" 2>&1 | sed -e 's/[[:space:]]\+/ /g' -e 's/^ //' \
		-e 's/ $//' -e '/^$/d' -e 's/ # handle [0-9]*$//'
}

# same_listing DESC NETNS_C NETNS_REF TABLE
same_listing() {
	local c ref
	c=$(listing "$2" "$4")
	ref=$(listing "$3" "$4")
	if [[ $c == "table inet $4 {"* ]] && [ "$c" = "$ref" ]; then
		ok "$1"
	else
		not_ok "$1"
		diff <(echo "$ref") <(echo "$c") | sed 's/^/# /'
	fi
}

# drop_count NETNS TABLE CHAIN: the packets counted by the chain's counter rules, summed.
drop_count() {
	in_ns "$1" nft list chain inet "$2" "$3" |
		awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) }
		     END { print n + 0 }'
}

for ns in "$CAGE_NS" "$HOST_NS" "$REF_NS" "$V4_NS"; do
	ip netns add "$ns" || { not_ok "create netns $ns"; exit 1; }
	in_ns "$ns" ip link set lo up
done
ip -n "$HOST_NS" link add "$IFNAME" type veth peer name eth0 netns "$CAGE_NS"
ip -n "$HOST_NS" addr add "$GW4/30" dev "$IFNAME"
ip -n "$HOST_NS" addr add "$GW6/64" dev "$IFNAME" nodad
ip -n "$CAGE_NS" addr add "$CAGE4/30" dev eth0
ip -n "$CAGE_NS" addr add "$CAGE6/64" dev eth0 nodad
ip -n "$HOST_NS" link set "$IFNAME" up
ip -n "$CAGE_NS" link set eth0 up

# --- 1. the C builder and nft/*.nft agree --------------------------------------------------
check "C API applies the cage table" driver apply "$CAGE_NS" cage
check "C API applies the host table" driver apply "$HOST_NS" host
check "C API verifies the cage table" driver verify "$CAGE_NS" cage
check "C API verifies the host table" driver verify "$HOST_NS" host
refute "a second apply of the cage table fails" driver apply "$CAGE_NS" cage

render nft/cage.nft >"$TMP/cage.nft"
render nft/host.nft >"$TMP/host.nft"
check "nft/cage.nft loads" in_ns "$REF_NS" nft -f "$TMP/cage.nft"
check "nft/host.nft loads" in_ns "$REF_NS" nft -f "$TMP/host.nft"
same_listing "cage table: C builder = nft/cage.nft" "$CAGE_NS" "$REF_NS" cagectl
same_listing "host table: C builder = nft/host.nft" "$HOST_NS" "$REF_NS" "cagectl_$NAME"
# Stateless on purpose (escapes.md S35): no rule may let an established flow through.
is "no ct rule in either file" "$(cat "$TOP/nft/cage.nft" "$TOP/nft/host.nft" | grep -v '^ *#' |
	grep -c '\bct ')" 0

in_ns "$REF_NS" nft flush ruleset
render nft/cage.nft ipv4-only >"$TMP/cage4.nft"
render nft/host.nft ipv4-only >"$TMP/host4.nft"
check "IPv4-only nft/cage.nft loads" in_ns "$REF_NS" nft -f "$TMP/cage4.nft"
check "IPv4-only nft/host.nft loads" in_ns "$REF_NS" nft -f "$TMP/host4.nft"
apply_ipv4_only() { driver apply "$V4_NS" cage ipv4-only && driver apply "$V4_NS" host ipv4-only; }
check "C API applies IPv4-only tables" apply_ipv4_only
same_listing "IPv4-only cage table: C builder = nft/cage.nft" "$V4_NS" "$REF_NS" cagectl
same_listing "IPv4-only host table: C builder = nft/host.nft" "$V4_NS" "$REF_NS" "cagectl_$NAME"

# --- 2. packets ------------------------------------------------------------------------------
# Started straight from ip(8), which execs, so $! is the listener itself and the trap can kill
# it; its output goes nowhere so it holds no pipe of the test open.
listen() {  # listen NETNS CMD...
	ip netns exec "$@" >/dev/null 2>&1 </dev/null &
	PIDS+=($!)
}
for port in "$PROXY" "$EXPLICIT" "$DNS" 8080; do
	listen "$HOST_NS" socat TCP6-LISTEN:"$port",ipv6only=0,reuseaddr,fork SYSTEM:true
done
for port in "$DNS" 5353; do
	listen "$HOST_NS" socat -u UDP6-RECV:"$port",ipv6only=0 \
		OPEN:"$TMP/udp$port",creat,append
done
listen "$CAGE_NS" socat TCP6-LISTEN:8080,ipv6only=0,reuseaddr,fork SYSTEM:true
sleep 0.3

tcp_ok()  { in_ns "$1" nc -z -w1 "$2" "$3"; }
udp_got() {  # udp_got NETNS DST PORT: sends a marker, then looks for it at the listener
	local mark=m$RANDOM$RANDOM dst=$2
	[[ $dst == *:* ]] && dst="[$dst]"
	echo "$mark" | in_ns "$1" socat -u - UDP-SENDTO:"$dst:$3" 2>/dev/null
	sleep 0.2
	grep -q "$mark" "$TMP/udp$3" 2>/dev/null
}
ping_ok() { in_ns "$1" ping -c1 -W1 "$2" >/dev/null 2>&1; }

# behaviour LABEL: what a cage may and may not reach, whichever tables are in place.
behaviour() {
	local label=$1 gw p
	for gw in "$GW4" "$GW6"; do
		for p in "$PROXY" "$EXPLICIT" "$DNS"; do
			check "$label: cage reaches $gw tcp/$p" tcp_ok "$CAGE_NS" "$gw" "$p"
		done
		check "$label: cage reaches $gw udp/53" udp_got "$CAGE_NS" "$gw" "$DNS"
		refute "$label: cage cannot reach $gw tcp/8080" tcp_ok "$CAGE_NS" "$gw" 8080
		refute "$label: cage cannot reach $gw udp/5353" udp_got "$CAGE_NS" "$gw" 5353
		refute "$label: cage cannot ping $gw" ping_ok "$CAGE_NS" "$gw"
	done
}

behaviour "both tables"
refute "both tables: host cannot reach the cage's tcp/8080" tcp_ok "$HOST_NS" "$CAGE4" 8080
like "cage table counted its drops" "$(drop_count "$CAGE_NS" cagectl output)" '^[1-9][0-9]*$'
like "cage input counted the host's probe" "$(drop_count "$CAGE_NS" cagectl input)" '^[1-9]'

check "C API removes the cage table" driver remove "$CAGE_NS" cage
refute "a second remove fails" driver remove "$CAGE_NS" cage
behaviour "host table alone"
like "host table counted its drops" "$(drop_count "$HOST_NS" "cagectl_$NAME" input)" '^[1-9]'

check "C API removes the host table" driver remove "$HOST_NS" host
# The control: without tables the same probes get through, so the refusals above were the tables.
check "no tables: cage reaches tcp/8080" tcp_ok "$CAGE_NS" "$GW4" 8080
check "no tables: cage reaches udp/5353" udp_got "$CAGE_NS" "$GW4" 5353
check "no tables: cage pings the gateway" ping_ok "$CAGE_NS" "$GW4"
is "nothing left in the cage netns" "$(in_ns "$CAGE_NS" nft list ruleset)" ""
is "nothing left in the host netns" "$(in_ns "$HOST_NS" nft list ruleset)" ""

echo "1..$TAP_N"
done_testing
