# SPDX-License-Identifier: GPL-2.0-only
# Sourced by tests/bench/run: the benchmark's additions to the lab world, and their teardown.
#
#   lab-inet : nginx on ALLOW4:8443 and :8444 (TLS, lab certificate), files in a private tmpfs.
#   lab-host : the peers (mitmdump, haproxy, squid, dnsmasq, a copy relay), a client netns
#              lab-bcli behind veth lab-bh0, and nft table `ip cagebench` whose one prerouting rule
#              redirects the client's connections to ALLOW4:8443/8444 to the peer being measured.
#   cages    : bench (8443 inspected, 8444 passthrough), bench-off and bench-all (inspector chains),
#              bench-idle (proxy.idle_exit 3s; the others keep their proxy up: idle_exit off).
#
# Every process started here is recorded in $B/pids and stopped by pid; everything else lives in
# namespaces that `scripts/lab down` or bench_world_down deletes.

B=/run/lab/bench
LAB_CA=/run/lab/ca/lab-ca.crt
ALLOW4=198.51.100.10 PUB4=8.8.8.8
CLI_NS=lab-bcli CLI_IF=lab-bc0 HOSTSIDE_IF=lab-bh0
CLI4=10.201.0.2 PEERGW4=10.201.0.1
ORIGIN=https://api.allowed.test
# What clients read (wrk script, dnsperf queries, the idle-connection client): bound into the
# bench cages at the same path, since a cage sees only what its mounts give it.
CLIENT_FILES=$B/client

# Peer listening ports on PEERGW4 (lab-host side of the client veth).
PORT_MITM_T=18001 PORT_MITM_R=18002 PORT_HAPROXY=18003 PORT_RELAY=18004 PORT_SQUID=18005

in_host() { nsenter --net=/run/netns/lab-host -- "$@"; }
in_inet() { nsenter --net=/run/netns/lab-inet -- "$@"; }

# bg NAME NS CMD...: a new session in netns NS, output to $B/logs/NAME.log, pid recorded. nsenter
# execs (it forks only to enter a pid namespace), so $! is the program itself.
bg() {
	local name=$1 ns=$2; shift 2
	setsid nsenter --net=/run/netns/"$ns" -- "$@" </dev/null >"$B/logs/$name.log" 2>&1 &
	echo $! >"$B/pids/$name.pid"
}

pid_of() { cat "$B/pids/$1.pid" 2>/dev/null; }

alive() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

# wait_listen NS PROTO ADDR:PORT [SECONDS]
wait_listen() {
	local ns=$1 proto=$2 want=$3 n=$(( ${4:-10} * 20 ))
	for _ in $(seq "$n"); do
		nsenter --net=/run/netns/"$ns" -- ss -Hln"${proto:0:1}" 2>/dev/null | awk '{print $4}' | grep -qxF "$want" && return 0
		sleep 0.05
	done
	return 1
}

# Clients outside the cage resolve lab names through this hosts file, bound over /etc/hosts in a
# private mount namespace; inside the cage they go through cage-dns as an agent would.
with_hosts() { unshare -m -- sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$B/hosts" "$@"; }

origin_up() {
	mkdir -p "$B/www" "$B/nginx/logs" || return 1
	cat >"$B/nginx.conf" <<-EOF
	daemon off;
	master_process on;
	worker_processes 2;
	user root;
	pid $B/nginx.pid;
	error_log $B/logs/nginx.err warn;
	worker_rlimit_nofile $(ulimit -Hn);
	events { worker_connections $(( $(ulimit -Hn) - 100 )); }
	http {
	    access_log off;
	    sendfile on;
	    keepalive_requests 100000000;
	    keepalive_timeout 600s;
	    default_type application/octet-stream;
	    client_body_temp_path $B/nginx/body;
	    proxy_temp_path $B/nginx/proxy;
	    fastcgi_temp_path $B/nginx/fcgi;
	    uwsgi_temp_path $B/nginx/uwsgi;
	    scgi_temp_path $B/nginx/scgi;
	    ssl_certificate /run/lab/ca/server.crt;
	    ssl_certificate_key /run/lab/ca/server.key;
	    ssl_protocols TLSv1.2 TLSv1.3;
	    # Every new connection is a full handshake, for every contender (scenario 3).
	    ssl_session_cache off;
	    ssl_session_tickets off;
	    server {
	        listen $ALLOW4:8443 ssl;
	        listen $ALLOW4:8444 ssl;
	        server_name api.allowed.test;
	        root $B/www;
	    }
	}
	EOF
	# The files live in a tmpfs private to nginx's mount namespace: the origin never waits on a
	# disk, and the memory goes away with nginx. Bytes are pseudo-random (AES-CTR of zeros), so no
	# inspector or compressor can shortcut them.
	local mk="mount -t tmpfs -o size=$((BULK_MB + SMALL_MB + 64))m benchwww $B/www &&
		openssl enc -aes-128-ctr -nosalt -pass pass:cagebench -pbkdf2 -in /dev/zero 2>/dev/null | head -c $((BULK_MB << 20)) >$B/www/bulk &&
		openssl enc -aes-128-ctr -nosalt -pass pass:cagebench2 -pbkdf2 -in /dev/zero 2>/dev/null | head -c $((SMALL_MB << 20)) >$B/www/mid &&
		head -c 1024 $B/www/bulk >$B/www/1k && exec nginx -p $B/nginx/ -e $B/logs/nginx.err -c $B/nginx.conf"
	bg nginx lab-inet unshare -m -- sh -c "$mk"
	wait_listen lab-inet tcp "$ALLOW4:8443" 60 && wait_listen lab-inet tcp "$ALLOW4:8444" 5 ||
		{ echo "bench: the origin (nginx) did not start: $(tail -3 "$B/logs/nginx.log" "$B/logs/nginx.err" 2>/dev/null)" >&2; return 1; }
}

client_ns_up() {
	ip netns add "$CLI_NS" || return 1
	ip link add "$HOSTSIDE_IF" netns lab-host type veth peer name "$CLI_IF" netns "$CLI_NS" || return 1
	ip -n lab-host addr add "$PEERGW4/30" dev "$HOSTSIDE_IF" &&
	ip -n lab-host link set "$HOSTSIDE_IF" up &&
	ip -n "$CLI_NS" link set lo up &&
	ip -n "$CLI_NS" addr add "$CLI4/30" dev "$CLI_IF" &&
	ip -n "$CLI_NS" link set "$CLI_IF" up &&
	ip -n "$CLI_NS" route add default via "$PEERGW4" || return 1
	# lab-host does not forward: a client packet reaches lab-inet only through a peer that
	# terminated it, as cage traffic reaches it only through cage-proxy.
	in_host nft -f - <<-EOF
	table ip cagebench {
	    chain pre { type nat hook prerouting priority dstnat; policy accept; }
	    chain in { type filter hook input priority filter; policy accept;
	        iifname "$HOSTSIDE_IF" ip daddr != $PEERGW4 drop; }
	}
	EOF
}

# redirect_to PORT: the client's TLS connections to the origin go to the peer on PORT.
redirect_to() {
	in_host nft -f - <<-EOF
	flush chain ip cagebench pre
	add rule ip cagebench pre iifname "$HOSTSIDE_IF" ip daddr $ALLOW4 tcp dport { 8443, 8444 } redirect to :$1
	EOF
}

peer_mitm_up() {
	mkdir -p "$B/mitm" && chmod 0755 "$B/mitm"
	local common=(--listen-host "$PEERGW4" --set confdir="$B/mitm" --set stream_large_bodies=1m
		--set ssl_verify_upstream_trusted_ca="$LAB_CA" --set termlog_verbosity=warn --set flow_detail=0)
	bg mitm-t lab-host mitmdump --mode transparent --listen-port "$PORT_MITM_T" "${common[@]}"
	# The first instance creates the CA in confdir; a second one started at once would make its own.
	wait_listen lab-host tcp "$PEERGW4:$PORT_MITM_T" 30 || return 1
	# Regular mode resolves the CONNECT name itself: through the lab hosts file, as clients do.
	bg mitm-r lab-host unshare -m -- sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$B/hosts" \
		mitmdump --mode regular --listen-port "$PORT_MITM_R" "${common[@]}"
	wait_listen lab-host tcp "$PEERGW4:$PORT_MITM_R" 30
}

peer_haproxy_up() {
	cat "/run/lab/ca/server.crt" "/run/lab/ca/server.key" >"$B/haproxy.pem" && chmod 0600 "$B/haproxy.pem"
	cat >"$B/haproxy.cfg" <<-EOF
	global
	    nbthread 2
	    maxconn $PEER_MAXCONN
	    tune.ssl.default-dh-param 2048
	defaults
	    timeout connect 5s
	    timeout client 600s
	    timeout server 600s
	    timeout http-keep-alive 600s
	frontend tls_in
	    mode http
	    option http-keep-alive
	    bind $PEERGW4:$PORT_HAPROXY ssl crt $B/haproxy.pem alpn http/1.1
	    default_backend origin
	backend origin
	    mode http
	    server o $ALLOW4:8443 ssl verify required ca-file $LAB_CA sni str(api.allowed.test) verifyhost api.allowed.test
	EOF
	# The copy relay of scenario 4: TCP mode, read()/write() through user-space buffers (haproxy
	# splices only when an `option splice-*` asks for it).
	cat >"$B/relay.cfg" <<-EOF
	global
	    nbthread 2
	    maxconn $PEER_MAXCONN
	defaults
	    mode tcp
	    timeout connect 5s
	    timeout client 600s
	    timeout server 600s
	frontend relay_in
	    bind $PEERGW4:$PORT_RELAY
	    default_backend origin
	backend origin
	    server o $ALLOW4:8444
	EOF
	bg haproxy lab-host haproxy -db -f "$B/haproxy.cfg"
	bg relay lab-host haproxy -db -f "$B/relay.cfg"
	wait_listen lab-host tcp "$PEERGW4:$PORT_HAPROXY" 10 && wait_listen lab-host tcp "$PEERGW4:$PORT_RELAY" 10
}

peer_squid_up() {
	local d=$B/squid
	mkdir -p "$d" && chown proxy:proxy "$d" || return 1
	(
		cd "$d" && umask 077 &&
		openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null &&
		openssl req -x509 -new -key ca.key -sha256 -days 2 -subj '/CN=bench squid ca' \
			-addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' \
			-out ca.crt 2>/dev/null && cat ca.crt ca.key >ca.pem && chmod 0644 ca.crt &&
		chown proxy:proxy ca.pem
	) || return 1
	/usr/lib/squid/security_file_certgen -c -s "$d/ssldb" -M 16MB >/dev/null 2>&1 &&
		chown -R proxy:proxy "$d/ssldb" || return 1
	cat >"$d/squid.conf" <<-EOF
	http_port $PEERGW4:18006
	https_port $PEERGW4:$PORT_SQUID intercept ssl-bump tls-cert=$d/ca.pem generate-host-certificates=on dynamic_cert_mem_cache_size=16MB
	sslcrtd_program /usr/lib/squid/security_file_certgen -s $d/ssldb -M 16MB
	sslcrtd_children 4 startup=1 idle=1
	acl step1 at_step SslBump1
	ssl_bump peek step1
	ssl_bump bump all
	tls_outgoing_options cafile=$LAB_CA
	http_access allow all
	cache deny all
	cache_mem 8 MB
	dns_nameservers $PUB4
	max_filedescriptors $(ulimit -Hn)
	pid_filename $d/squid.pid
	cache_log $d/cache.log
	access_log none
	coredump_dir $d
	cache_effective_user proxy
	workers 1
	EOF
	bg squid lab-host squid -N -f "$d/squid.conf"
	wait_listen lab-host tcp "$PEERGW4:$PORT_SQUID" 20 ||
		{ SQUID_ERR=$(tail -3 "$d/cache.log" 2>/dev/null | tr '\n' ' '); return 1; }
}

# The resolver agentcage runs: dnsmasq forwarding the allowed zone and answering everything else
# locally, with query logging (cage-dns is measured with its audit logging on).
peer_dnsmasq_up() {
	bg dnsmasq lab-host dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root --group=root \
		--listen-address="$PEERGW4" --bind-interfaces --port=53 --cache-size=10000 \
		--server=/allowed.test/"$PUB4" --address=/#/ --log-queries --log-facility="$B/logs/dnsmasq-queries.log" \
		--pid-file="$B/dnsmasq.pid"
	wait_listen lab-host udp "$PEERGW4:53" 10
}

# Bench cages: one with the default inspectors (8443 inspected, 8444 passed through), one with no
# inspector, one with every built-in inspector that does not throttle.
write_cage_yamls() {
	local name insp
	for name in bench bench-off bench-all bench-idle; do
		idle_exit=off
		# An `inspectors:` list adjusts the default chain (it does not replace it), so "off"
		# turns each one off. The rate limiter (default 10 requests/s per host, burst 50)
		# would answer most of wrk's requests with 429: it stays in the chain, with a bucket
		# no benchmark can empty, so its cost is measured but not its policy.
		case $name in
		bench) insp=$'inspectors:\n  - name: rate_limit\n    config: {rate: 1000000, burst: 1000000}' ;;
		bench-off) insp='inspectors:'
			for i in domain secrets body_size entropy content_type rate_limit; do
				insp+=$'\n'"  - {name: $i, enabled: false}"
			done ;;
		bench-all) insp=$'inspectors:\n  - domain\n  - secrets\n  - body_size\n  - name: entropy\n    config: {threshold: 7.5}\n  - content_type\n  - name: rate_limit\n    config: {rate: 1000000, burst: 1000000}' ;;
		bench-idle) insp=''; idle_exit=3s ;;
		esac
		cat >"$B/$name.yaml" <<-EOF
		name: $name
		user: "1000:1000"
		domains:
		  allow: [api.allowed.test]
		ports:
		  tcp:
		    inspect: [8443]
		    passthrough: [8444]
		ipv6: false
		dns:
		  upstream: [$PUB4]
		  rate_limit: 0
		  log_allowed: true
		proxy:
		  upstream_ca: $LAB_CA
		  idle_exit: $idle_exit
		mounts:
		  - source: $CLIENT_FILES
		    target: $CLIENT_FILES
		    read_only: true
		$insp
		EOF
	done
}

cage_up() { in_host "$CAGECTL" -q up "$B/$1.yaml"; }
cage_down() { in_host "$CAGECTL" -q down "$1" >/dev/null 2>&1; }

# daemon_pid CAGE cage-proxy|cage-dns: the supervised daemon of that cage, found by its argv.
daemon_pid() {
	local f pid
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}; pid=${pid%/cmdline}
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$BUILD/$2" ] || continue
		tr '\0' '\n' <"$f" 2>/dev/null | grep -A1 -x -- --cage | tail -1 | grep -qx -- "$1" && { echo "$pid"; return 0; }
	done
	return 1
}

# tree PID: PID and its descendants (squid's kid and helpers).
tree() {
	local p=$1 c
	echo "$p"
	for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree "$c"; done
}

rss_kib() { local s=0 p v; for p in "$@"; do v=$(awk '/^VmRSS/ {print $2}' /proc/"$p"/status 2>/dev/null); s=$((s + ${v:-0})); done; echo $s; }
hwm_kib() { local s=0 p v; for p in "$@"; do v=$(awk '/^VmHWM/ {print $2}' /proc/"$p"/status 2>/dev/null); s=$((s + ${v:-0})); done; echo $s; }
hwm_reset() { local p; for p in "$@"; do echo 5 >/proc/"$p"/clear_refs 2>/dev/null; done; }
cpu_ticks() { local s=0 p v; for p in "$@"; do v=$(awk '{print $14 + $15}' /proc/"$p"/stat 2>/dev/null); s=$((s + ${v:-0})); done; echo $s; }

# quiesce: wait (at most 5 s) until the contender processes (peers, origin, cage daemons) use at
# most 4 ticks of CPU in 200 ms (a fifth of a core: idle timers pass, a drain does not), so a slow contender still draining the previous run's connections
# does not steal CPU from the next one. Load from outside the benchmark is not waited for: the
# load average is recorded with the results.
quiesce() {
	local f pids a b c p
	pids=$(cat "$B"/pids/*.pid 2>/dev/null)
	for c in bench bench-off bench-all bench-idle; do
		pids="$pids $(daemon_pid "$c" cage-proxy) $(daemon_pid "$c" cage-dns)"
	done
	pids="$pids $(for p in $pids; do cat /proc/"$p"/task/*/children 2>/dev/null; done)"
	for _ in $(seq 25); do
		a=$(cpu_ticks $pids)
		sleep 0.2
		b=$(cpu_ticks $pids)
		[ $((b - a)) -le 4 ] && return 0
	done
	return 0
}

bench_world_down() {
	local f pid
	for c in bench bench-off bench-all bench-idle; do cage_down "$c"; done
	for f in "$B"/pids/*.pid; do
		[ -e "$f" ] || continue
		kill -TERM "$(cat "$f")" 2>/dev/null
	done
	for _ in $(seq 60); do
		local any=0
		for f in "$B"/pids/*.pid; do [ -e "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && any=1; done
		[ $any = 0 ] && break
		sleep 0.05
	done
	for f in "$B"/pids/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		kill -KILL "$pid" 2>/dev/null
		# They are this shell's children: reap them here, since PID 1 may never do it.
		wait "$pid" 2>/dev/null
		rm -f "$f"
	done
	ip netns del "$CLI_NS" 2>/dev/null
	[ -e /run/netns/lab-host ] && in_host nft delete table ip cagebench 2>/dev/null
	return 0
}
