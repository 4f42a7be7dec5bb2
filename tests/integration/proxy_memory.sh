#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Idle memory and start-up of the daemons (issue 3: idle RSS; issue 2: up to ready): a cage in a
# throwaway host netns, its idle cage-proxy measured from /proc. Shared-library pages (RssFile:
# libcrypto, libc, libstdc++, libhs are most of it) are shared with every other process that maps
# them, so the bound that matters is the private one (RssAnon); VmRSS gets a looser bound. This is
# the proxy up with no connection; after proxy.idle_exit it exits and the idle cage holds no proxy
# at all (tests/integration/proxy_idle_exit.sh).
# Also: the compiled pattern database is cached under <state root>/.cache, root's only, and a
# corrupt entry is ignored and rewritten, never trusted.
. "$(dirname "$0")/../lib.sh"
HOSTNS=cagetest-mem-$$
CAGE=pxmem
CFG=$BUILD/proxy_memory.yaml
RESOLV=$BUILD/proxy_memory.resolv
ANON_MAX_KB=${PROXY_IDLE_ANON_MAX_KB:-2048}
RSS_MAX_KB=${PROXY_IDLE_RSS_MAX_KB:-12288}
# cage-dns hands out its pool entries lazily, so an idle one faults in none of them (~1.1 MB
# measured; 8.8 MB when the free lists were threaded through every entry at start).
DNS_ANON_MAX_KB=${DNS_IDLE_ANON_MAX_KB:-2048}
H() { nsenter --net=/run/netns/$HOSTNS "$@"; }
cleanup() {
	H "$CAGECTL" -q down "$CAGE" >/dev/null 2>&1
	ip netns delete "$HOSTNS" 2>/dev/null
}
trap cleanup EXIT
scratch_host_netns "$HOSTNS" "$RESOLV" || { not_ok "host netns"; exit 1; }
printf 'name: %s\ndomains:\n  allow: [api.allowed.test]\n' "$CAGE" > "$CFG"
CACHE=$CAGECTL_STATE_DIR/.cache

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
daemon_pid() { cat "$CAGECTL_RUN_DIR/$CAGE/$1.pid" 2>/dev/null; }
# Waits until the monitor has restarted cage-proxy under a new pid.
wait_restart() {
	local old=$1 pid
	for _ in $(seq 50); do
		pid=$(daemon_pid cage-proxy)
		[ -n "$pid" ] && [ "$pid" != "$old" ] && [ -e "/proc/$pid" ] && { echo "$pid"; return 0; }
		sleep 0.1
	done
	return 1
}

check "cagectl up $CAGE" H "$CAGECTL" -q up "$CFG"
PROXY=$(daemon_pid cage-proxy)
DNS=$(daemon_pid cage-dns)
like "cage-proxy is ready when up returns" "$PROXY" '^[0-9]+$'
like "cage-dns is ready when up returns" "$DNS" '^[0-9]+$'

entry=$(ls "$CACHE"/scan-*.hsdb 2>/dev/null | head -1)
ok_entry=no
[ -n "$entry" ] && [ "$(stat -c '%a %U' "$CACHE")" = "700 root" ] &&
	[ "$(stat -c '%a %U' "$entry")" = "600 root" ] && ok_entry=yes
is "the compiled pattern database is cached, root's only" "$ok_entry" yes

# A start that loads the cached database: what an idle proxy normally is.
kill -9 "$PROXY"
PROXY=$(wait_restart "$PROXY")
like "the monitor restarts cage-proxy" "$PROXY" '^[0-9]+$'
sleep 1
anon=$(status_kb "$PROXY" RssAnon) file=$(status_kb "$PROXY" RssFile) rss=$(status_kb "$PROXY" VmRSS)
diag "idle cage-proxy: VmRSS $rss kB (RssAnon $anon kB, RssFile $file kB)"
# The same shared libraries, loaded by a program that calls none of them: the part of VmRSS that
# is the loader's and the libraries' own, before any line of ours runs.
read -r f_rss f_anon f_file < <("$BUILD/tools/lib_floor")
diag "the libraries alone (tools/lib_floor): VmRSS $f_rss kB (RssAnon $f_anon kB, RssFile $f_file kB)"
like "lib_floor measures the libraries' floor" "$f_rss" '^[0-9]+$'
diag "idle cage-dns: VmRSS $(status_kb "$DNS" VmRSS) kB (RssAnon $(status_kb "$DNS" RssAnon) kB, RssFile $(status_kb "$DNS" RssFile) kB)"
if grep -q __asan_init "$BUILD/cage-proxy" 2>/dev/null; then
	ok "# SKIP idle cage-proxy RssAnon ($anon kB): ASan's shadow memory is not the daemon's"
	ok "# SKIP idle cage-proxy VmRSS ($rss kB): ASan's shadow memory is not the daemon's"
else
	if [ -n "$anon" ] && [ "$anon" -le "$ANON_MAX_KB" ]; then
		ok "idle cage-proxy private memory (RssAnon) $anon kB <= $ANON_MAX_KB kB"
	else
		not_ok "idle cage-proxy private memory (RssAnon) ${anon:-?} kB > $ANON_MAX_KB kB"
	fi
	if [ -n "$rss" ] && [ "$rss" -le "$RSS_MAX_KB" ]; then
		ok "idle cage-proxy VmRSS $rss kB <= $RSS_MAX_KB kB"
	else
		not_ok "idle cage-proxy VmRSS ${rss:-?} kB > $RSS_MAX_KB kB"
	fi
fi

dns_anon=$(status_kb "$DNS" RssAnon)
if grep -q __asan_init "$BUILD/cage-dns" 2>/dev/null; then
	ok "# SKIP idle cage-dns RssAnon ($dns_anon kB): ASan's shadow memory is not the daemon's"
elif [ -n "$dns_anon" ] && [ "$dns_anon" -le "$DNS_ANON_MAX_KB" ]; then
	ok "idle cage-dns private memory (RssAnon) $dns_anon kB <= $DNS_ANON_MAX_KB kB"
else
	not_ok "idle cage-dns private memory (RssAnon) ${dns_anon:-?} kB > $DNS_ANON_MAX_KB kB"
fi

# A corrupt entry is refused (checksum), the database compiled and the entry written again.
entry=$(ls "$CACHE"/scan-*.hsdb 2>/dev/null | head -1)
good=$(sha256sum < "$entry")
printf 'XXXXXXXX' | dd of="$entry" bs=1 seek=100 conv=notrunc status=none
kill -9 "$PROXY"
PROXY=$(wait_restart "$PROXY")
like "cage-proxy starts past a corrupt cache entry" "$PROXY" '^[0-9]+$'
is "the corrupt entry is replaced by a good one" "$(sha256sum < "$entry")" "$good"

check "cagectl down $CAGE" H "$CAGECTL" -q down "$CAGE"
done_testing
