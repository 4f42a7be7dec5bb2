#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Real clients through cage-proxy's transparent path (issue 3 acceptance): git clone over HTTPS,
# curl, python urllib and node fetch, with the proxy variables removed, names resolved by
# cage-dns and the certificate trusted through the cage's own bundle and *_CA_* variables (no
# --cacert, no pinned address). Each must be answered and audited on the transparent listener.
# Also keep-alive and pipelined requests inside one TLS connection (proxy_lab.sh pipelines over
# plain HTTP only).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/integration/proxy_setup.bash"

# A bare repository served over dumb HTTP by the lab web server (web.py serves
# /run/lab/git/* as https://api.allowed.test/git/*).
REPO=/run/lab/git/pxt-$$.git
WORK=$(mktemp -d)
trap 'rm -rf "$REPO" "$WORK"; cleanup' EXIT
mkdir -p /run/lab/git
git init -q --bare "$REPO"
git init -q "$WORK/src"
head -c 3000000 /dev/urandom > "$WORK/src/blob.bin"
printf 'hello from the lab\n' > "$WORK/src/README"
git -C "$WORK/src" add -A
git -C "$WORK/src" -c user.name=lab -c user.email=lab@allowed.test commit -q -m one
printf 'second\n' >> "$WORK/src/README"
git -C "$WORK/src" -c user.name=lab -c user.email=lab@allowed.test commit -q -am two
git -C "$WORK/src" push -q "$REPO" HEAD:refs/heads/main
git -C "$REPO" symbolic-ref HEAD refs/heads/main
# One pack and loose objects: the dumb protocol fetches both kinds.
git -C "$REPO" repack -q -d
printf 'third\n' >> "$WORK/src/README"
git -C "$WORK/src" -c user.name=lab -c user.email=lab@allowed.test commit -q -am three
git -C "$WORK/src" push -q "$REPO" HEAD:refs/heads/main
git -C "$REPO" update-server-info
chmod -R a+rX /run/lab/git
head=$(git -C "$REPO" rev-parse HEAD)
blob=$(sha256sum < "$WORK/src/blob.bin" | cut -d' ' -f1)

# The agent's view: no proxy variables, the cage's resolver, the cage's CA bundle.
agent() { "$LAB" exec "$CAGECTL" exec "$CAGE" -- $NOPX sh -c "$1"; }
transparent_request() {  # MARK PATH-FRAGMENT: a transparent, allowed request line appeared
	audit_has "$1" proxy.request "\"decision\":\"allowed\".*\"path\":\"$2.*\"listener\":\"transparent\""
}

m=$(audit_mark)
out=$(agent "cd \$(mktemp -d) && git clone -q https://api.allowed.test/git/pxt-$$.git r && git -C r rev-parse HEAD && sha256sum < r/blob.bin | cut -d' ' -f1 && tail -1 r/README; rm -rf \$PWD" 2>&1)
is "git clone over HTTPS (dumb HTTP): HEAD" "$(echo "$out" | sed -n 1p)" "$head"
is "git clone: blob content" "$(echo "$out" | sed -n 2p)" "$blob"
is "git clone: last commit's file" "$(echo "$out" | sed -n 3p)" third
check "git clone went through the transparent listener" transparent_request "$m" "/git/pxt-$$.git/info/refs"

m=$(audit_mark)
is "curl (default trust store, cage-dns)" \
	"$(agent "curl -s -o /dev/null -w '%{http_code}' -m 10 https://api.allowed.test/headers" 2>&1)" 200
check "curl went through the transparent listener" transparent_request "$m" /headers

m=$(audit_mark)
is "python urllib" "$(agent "python3 -c \"import urllib.request; r=urllib.request.urlopen('https://api.allowed.test/bytes/4096', timeout=10); print(r.status, len(r.read()))\"" 2>&1)" "200 4096"
check "python urllib went through the transparent listener" transparent_request "$m" /bytes/4096

if [ -x /usr/bin/node ]; then
	m=$(audit_mark)
	is "node fetch (NODE_EXTRA_CA_CERTS)" \
		"$(agent "node -e \"fetch('https://api.allowed.test/bytes/5000').then(r => r.arrayBuffer().then(b => console.log(r.status, b.byteLength))).catch(e => { console.log(String(e.cause || e)); process.exit(1); })\"" 2>&1)" "200 5000"
	check "node fetch went through the transparent listener" transparent_request "$m" /bytes/5000
else
	ok "# SKIP node is not installed"
fi

# Keep-alive and pipelining inside TLS: three requests written at once on one connection, the
# last with Connection: close; all three answered, in order.
m=$(audit_mark)
pipe=$(agent "python3 -c \"
import socket, ssl
ctx = ssl.create_default_context()
s = ctx.wrap_socket(socket.create_connection(('api.allowed.test', 443), timeout=10), server_hostname='api.allowed.test')
req = lambda p, extra='': ('GET %s HTTP/1.1\r\nHost: api.allowed.test\r\n%s\r\n' % (p, extra)).encode()
s.sendall(req('/bytes/300') + req('/headers') + req('/bytes/7', 'Connection: close\r\n'))
data = b''
while True:
    d = s.recv(65536)
    if not d: break
    data += d
print(data.count(b'HTTP/1.1 200'), data.find(b'Content-Length: 300') < data.find(b'\\\"headers\\\"') < data.find(b'Content-Length: 7'))
\"" 2>&1)
is "pipelined requests on one TLS connection: three answers, in order" "$pipe" "3 True"
is "pipelined requests: one audit line each" \
	"$(audit_count "$m" '"event":"proxy.request".*"decision":"allowed".*"listener":"transparent"')" 3

sentinel_clean
# Upstream TLS resumption: each curl is a new agent connection, so a new upstream dial; from the
# second one on cage-proxy offers the ticket the lab server gave the first (the server reports it).
tls_reused() { agent "curl -s -m 10 https://api.allowed.test/tls" 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["session_reused"])' 2>/dev/null; }
first=$(tls_reused)
is "a later upstream dial to the same host resumes the TLS session" "$(tls_reused)" True
diag "first dial of this run: session_reused $first (an earlier test may have left a ticket)"
done_testing
