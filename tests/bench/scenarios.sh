# SPDX-License-Identifier: GPL-2.0-only
# Sourced by tests/bench/run: where each contender's client runs, and one measurement function
# per scenario. A measurement prints its figures on one line, or "ERR:<why>" (never nothing).
#
# Contenders and where their client runs:
#   direct              lab-host, straight to the origin (one veth hop)
#   cagectl[-off|-all]  inside cage bench[-off|-all] (kernel redirect to cage-proxy in lab-host)
#   mitmdump, haproxy, squid, relay
#                       lab-bcli, whose connections to the origin lab-host redirects (nft) to the
#                       peer in lab-host: the same two hops and the same kind of redirect
#   mitmdump-regular    lab-bcli, explicit HTTP proxy (curl -x), no redirect
#   dnsmasq             lab-bcli, queries sent to dnsmasq on lab-host

cage_of() { case $1 in cagectl) echo bench ;; cagectl-off) echo bench-off ;; cagectl-all) echo bench-all ;; cagectl-idle) echo bench-idle ;; esac; }
is_cage() { case $1 in cagectl*) return 0 ;; esac; return 1; }

in_ns_hosts() { local ns=$1; shift; nsenter --net=/run/netns/"$ns" -- unshare -m -- sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$B/hosts" "$@"; }

# run_in CONTENDER CMD...: CMD where that contender's client belongs (redirect set first).
run_in() {
	local c=$1; shift
	case $c in
	direct) in_ns_hosts lab-host "$@" ;;
	cagectl*) in_host "$CAGECTL" exec "$(cage_of "$c")" -- "$@" ;;
	mitmdump) redirect_to "$PORT_MITM_T" && in_ns_hosts "$CLI_NS" "$@" ;;
	haproxy) redirect_to "$PORT_HAPROXY" && in_ns_hosts "$CLI_NS" "$@" ;;
	squid) redirect_to "$PORT_SQUID" && in_ns_hosts "$CLI_NS" "$@" ;;
	relay) redirect_to "$PORT_RELAY" && in_ns_hosts "$CLI_NS" "$@" ;;
	mitmdump-regular|dnsmasq) in_ns_hosts "$CLI_NS" "$@" ;;
	*) echo "unknown contender $c" >&2; return 2 ;;
	esac
}

# Why a contender cannot run now, or nothing.
unavailable() {
	case $1 in
	cagectl*) [ -n "$CAGE_WHY" ] && { echo "$CAGE_WHY"; return; }
		[ "$1" != cagectl ] && [ -n "$CAGE8_WHY" ] && echo "$CAGE8_WHY" ;;
	mitmdump|mitmdump-regular) [ -n "${PEER_WHY[mitmdump]:-}" ] && echo "${PEER_WHY[mitmdump]}" ;;
	haproxy|relay) [ -n "${PEER_WHY[haproxy]:-}" ] && echo "${PEER_WHY[haproxy]}" ;;
	*) [ -n "${PEER_WHY[$1]:-}" ] && echo "${PEER_WHY[$1]}" ;;
	esac
}

curl_tls_opts() {
	case $1 in
	direct|haproxy) echo "--cacert $LAB_CA" ;;
	mitmdump) echo "--cacert $B/mitm/mitmproxy-ca-cert.pem" ;;
	mitmdump-regular) echo "--cacert $B/mitm/mitmproxy-ca-cert.pem -x http://$PEERGW4:$PORT_MITM_R" ;;
	squid) echo "--cacert $B/squid/ca.crt" ;;
	esac
}

# Process ids whose CPU and memory are the contender's proxy (and resolver, for memory).
proxy_pids() {
	case $1 in
	cagectl*) daemon_pid "$(cage_of "$1")" cage-proxy ;;
	mitmdump) pid_of mitm-t ;;
	mitmdump-regular) pid_of mitm-r ;;
	haproxy) pid_of haproxy ;;
	relay) pid_of relay ;;
	squid) tree "$(pid_of squid)" ;;
	esac
}
resolver_pids() {
	case $1 in
	cagectl*) daemon_pid "$(cage_of "$1")" cage-dns ;;
	*) pid_of dnsmasq ;;
	esac
}

# m_bulk CONTENDER FILE BYTES [PORT]: MB/s of one HTTPS download, checked for length.
m_bulk() {
	local c=$1 file=$2 bytes=$3 port=${4:-8443} tls out
	tls=$(curl_tls_opts "$c")
	# Passthrough (8444) is end-to-end TLS with the origin; -k for every contender alike there,
	# since the cage's bundle does not hold the lab CA.
	[ "$port" = 8444 ] && tls=-k
	# shellcheck disable=SC2086 # tls is a list of options
	out=$(run_in "$c" curl -sS --http1.1 --max-time 600 $tls -o /dev/null \
		-w '%{http_code} %{size_download} %{speed_download}' "$ORIGIN:$port/$file" 2>&1 | tail -1)
	set -- $out
	if [ "${1:-}" != 200 ] || [ "${2:-}" != "$bytes" ]; then
		echo "ERR:curl: $(echo "$out" | tr '\t' ' ' | head -c 160)"
		return
	fi
	awk -v s="$3" 'BEGIN { printf "%.1f\n", s / 1e6 }'
}

# m_wrk CONTENDER rps|lat1k|cps: "req_per_s p50_us p99_us errors"
m_wrk() {
	local c=$1 mode=$2 extra=() out
	case $mode in
	lat1k) extra=(-s "$CLIENT_FILES/pace.lua") ;;
	cps) extra=(-H 'Connection: close') ;;
	esac
	out=$(run_in "$c" wrk -t2 -c50 -d"${WRK_SECS}s" --timeout 5s --latency "${extra[@]}" "$ORIGIN:8443/1k" 2>&1)
	echo "$out" | awk -v mode="$mode" '
		function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v }
		/^ +50%/ { p50 = us($2) } /^ +99%/ { p99 = us($2) }
		/Requests\/sec:/ { rps = $2 }
		/Socket errors:/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
		/Non-2xx/ { non2xx += $NF }
		END { if (rps == "") { print "ERR:wrk: no result"; exit }
			# A refused request (429, 403, 5xx) is no throughput: the run does not count.
			if (non2xx > 0) { printf "ERR:wrk: %d responses were not 2xx/3xx\n", non2xx; exit }
			if (mode == "lat1k" && rps > 1500) { print "ERR:wrk: the pacing script did not apply"; exit }
			printf "%.0f %.0f %.0f %d\n", rps, p50, p99, err }'
}

# m_splice CONTENDER: "MB/s cpu_seconds_per_GiB" of a passthrough download (port 8444).
m_splice() {
	local c=$1 pids t0 t1 mbs hz
	pids=$(proxy_pids "$c")
	t0=$(cpu_ticks $pids)
	mbs=$(m_bulk "$c" mid $((SMALL_MB << 20)) 8444)
	t1=$(cpu_ticks $pids)
	case $mbs in ERR:*) echo "$mbs"; return ;; esac
	hz=$(getconf CLK_TCK)
	if [ "$c" = direct ]; then echo "$mbs -"; return; fi
	awk -v d=$((t1 - t0)) -v hz="$hz" -v mb="$SMALL_MB" -v m="$mbs" 'BEGIN { printf "%s %.3f\n", m, d / hz / (mb / 1024) }'
}

# m_dns CONTENDER: queries/s with dnsperf.
m_dns() {
	local c=$1 server out
	case $c in direct|cagectl*) server=$PUB4 ;; dnsmasq) server=$PEERGW4 ;; esac
	out=$(run_in "$c" dnsperf -s "$server" -d "$CLIENT_FILES/queries" -l "$DNS_SECS" -c 4 -T 2 -q 200 -t 2 2>&1)
	echo "$out" | awk '/Queries per second:/ { q = $4 } /Queries lost:/ { lost = $3 }
		END { if (q == "") { print "ERR:dnsperf: no result"; exit } printf "%.0f %d\n", q, lost }'
}

# m_idle CONTENDER N: "kib_before kib_ready ok failed" with N idle keep-alive connections open.
m_idle() {
	local c=$1 n=$2 pids before ready out=$B/idle.$c.out pid
	pids=$(proxy_pids "$c")
	[ -n "$pids" ] || { echo "ERR:no proxy process"; return; }
	before=$(rss_kib $pids)
	: >"$out"
	run_in "$c" /usr/bin/python3 "$CLIENT_FILES/idle_conns.py" api.allowed.test 8443 "$n" 4 >"$out" 2>&1 &
	pid=$!
	for _ in $(seq 1800); do
		grep -q '^ready' "$out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	pids=$(proxy_pids "$c")
	ready=$(rss_kib $pids)
	wait "$pid"
	if ! grep -q '^ready' "$out"; then
		echo "ERR:idle client: $(tail -1 "$out" | head -c 160)"
		return
	fi
	set -- $(grep '^ready' "$out")
	echo "$before $ready $2 $3"
}

# m_idle_exit: the bench-idle cage (proxy.idle_exit 3s), just up: "kib up_ms wake_ms again_ms".
# curl's time for one HTTPS request to a proxy that has served none since its start (a leaf
# minted, the proxy's trust bundle parsed, a full upstream handshake); then, once it has exited,
# VmRSS of what the idle cage's daemons hold (cage-dns; no cage-proxy) and the same request
# again, which now also waits for the proxy's start; then once more with the proxy up and warm.
m_idle_exit() {
	local st kib tls out t=()
	# The cage's CA alone, not the system bundle the cage's trust store holds: each curl process
	# parses that bundle (~30 ms here), which would hide the proxy's own share.
	tls="--cacert /etc/cage/ca.crt"
	for round in up wake again; do
		if [ "$round" = wake ]; then
			for _ in $(seq 100); do
				st=$(in_host "$CAGECTL" status bench-idle --json 2>/dev/null)
				case $st in *'"cage-proxy":"idle"'*) break ;; esac
				sleep 0.1
			done
			case $st in *'"cage-proxy":"idle"'*) ;; *) echo "ERR:bench-idle's cage-proxy did not exit"; return ;; esac
			kib=$(rss_kib $(daemon_pid bench-idle cage-proxy) $(daemon_pid bench-idle cage-dns))
		fi
		# shellcheck disable=SC2086 # tls is a list of options
		out=$(run_in cagectl-idle curl -sS --http1.1 --max-time 30 $tls -o /dev/null \
			-w '%{http_code} %{time_total} %{time_namelookup} %{time_connect} %{time_appconnect} %{time_starttransfer}' \
			"$ORIGIN:8443/1k" 2>&1 | tail -1)
		set -- $out
		[ "${1:-}" = 200 ] || { echo "ERR:curl ($round): $(echo "$out" | head -c 160)"; return; }
		t+=("$2")
		# Where the time went, in the log: name lookup, TCP connect, TLS, first byte (s, cumulative).
		echo "bench: idle exit, request '$round': total $2 s: lookup $3, connect $4, tls $5, first byte $6" >&2
	done
	awk -v k="$kib" -v a="${t[0]}" -v b="${t[1]}" -v c="${t[2]}" \
		'BEGIN { printf "%d %.1f %.1f %.1f\n", k, a * 1000, b * 1000, c * 1000 }'
}

# Scenario 9 (no lab): the inspector chain over 5 MB bodies, cagectl (inspect_bench --tsv)
# against py_scan_peer.py, both reading the bodies inspect_bench wrote to $SCAN_DIR.
SCAN_PEER=py-scan

# m_scan CONTENDER: each shape's median ms, in shapes.tsv order, or ERR:why.
m_scan() {
	local c=$1 out rc err=$SCAN_DIR/$1.err
	case $c in
	cagectl) out=$("$BUILD/bench/inspect_bench" --tsv "$SCAN_DIR" "$SCAN_REPS" 2>"$err") ;;
	"$SCAN_PEER") out=$(/usr/bin/python3 "$BENCH_DIR/py_scan_peer.py" "$SCAN_DIR" "$SCAN_REPS" 2>"$err") ;;
	esac
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "ERR:exit $rc: $(tail -1 "$err" | tr '\t' ' ' | head -c 200)"
		return
	fi
	awk -F'\t' 'NR == FNR { want[++n] = $1; next } { got[$1] = $2 }
		END { for (i = 1; i <= n; i++) {
				if (!(want[i] in got) || got[want[i]] !~ /^[0-9.]+$/) { print "ERR:no figure for " want[i]; exit }
				s = s (i > 1 ? " " : "") got[want[i]] }
			print s }' "$SCAN_DIR/shapes.tsv" - <<<"$out"
}

# Records ms_<shape> for cagectl and the peer, ROUNDS rounds, the two alternating in each.
scenario_9() {
	local who=(cagectl "$SCAN_PEER") metrics=() why='' r c out vals i
	if [ ! -x "$BUILD/bench/inspect_bench" ]; then
		why="no $BUILD/bench/inspect_bench (make bench builds it)"
	elif ! out=$("$BUILD/bench/inspect_bench" --write-bodies "$SCAN_DIR" 2>&1); then
		why="inspect_bench --write-bodies: $(echo "$out" | tail -1 | head -c 200)"
	fi
	if [ -n "$why" ]; then
		say "scenario 9: $why"
		for c in "${who[@]}"; do rec 9 scan_ms "$c" "ERR:$why"; done
		return
	fi
	while IFS=$'\t' read -r i _; do metrics+=("ms_$i"); done <"$SCAN_DIR/shapes.tsv"
	for r in $(seq "$ROUNDS"); do
		for c in "${who[@]}"; do
			out=$(m_scan "$c")
			say "$(date +%T) scenario 9 round $r $c: $out"
			if [[ "$out" == ERR:* ]]; then
				for i in "${metrics[@]}"; do rec 9 "$i" "$c" "$out"; done
				continue
			fi
			vals=($out)
			for i in "${!metrics[@]}"; do rec 9 "${metrics[$i]}" "$c" "${vals[$i]}"; done
		done
	done
}
