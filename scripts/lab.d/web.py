#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""The fake internet's web server: HTTP on :80 and HTTPS on :443 of ALLOW4/ALLOW6.

A small hand-rolled HTTP/1.1 server rather than http.server, because the lab must log what clients
really send (duplicate Host headers, hundreds of headers, non-HTTP bytes) instead of what a strict
parser accepts, and because CONNECT and WebSocket need the bytes a buffered reader already holds.
Every request is logged to the sentinel before it is answered.
"""
import argparse
import base64
import hashlib
import json
import os
import select
import socket
import socketserver
import ssl
import struct
import sys
import threading
import urllib.parse

import lablog

ALLOW4, ALLOW6 = '198.51.100.10', '2001:db8:51::10'
EVIL4, EVIL6 = '198.51.100.20', '2001:db8:51::20'
# proxy.allowed.test dials by name without a resolver: the lab's names are fixed.
LAB_NAMES = {'evil.test': EVIL4, 'dns.google': '8.8.8.8', 'rebind.allowed.test': '127.0.0.1'}
WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
MAX_LINE = 64 * 1024
MAX_HEADER_BLOCK = 1024 * 1024
ECHO_KEEP = 1024 * 1024
PATTERN_BLOCK = bytes(range(256)) * 4096
# Static files under https://api.allowed.test/git/: tests put bare repositories here (made
# servable with `git update-server-info`) for `git clone` over dumb HTTP. Removed with /run/lab.
GIT_ROOT = '/run/lab/git'
# Package registries under https://api.allowed.test/pkg/: tests put a tiny npm registry
# (a directory per package holding index.json, tarballs below it) and a pip simple index
# (directories holding index.html) here. A directory answers with its index file.
PKG_ROOT = '/run/lab/pkg'
PKG_TYPES = {'.json': 'application/json', '.html': 'text/html', '.tgz': 'application/octet-stream',
             '.whl': 'application/octet-stream', '.gz': 'application/octet-stream'}
SECRETS = []


class BadRequest(Exception):
    def __init__(self, reason, data=b''):
        super().__init__(reason)
        self.data = data


class Reader:
    """Buffered reads from a socket whose leftover bytes can be handed to a relay."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(256 * 1024)
        if not data:
            return False
        self.buf += data
        return True

    def readline(self, limit=MAX_LINE):
        start = 0
        while True:
            i = self.buf.find(b'\n', start)
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > limit:
                raise BadRequest('line too long')
            start = len(self.buf)
            if not self._fill():
                line = bytes(self.buf)
                self.buf.clear()
                return line

    def read(self, n):
        if self.buf:
            data = bytes(self.buf[:n])
            del self.buf[:n]
            return data
        return self.sock.recv(min(n, 1024 * 1024))

    def read_exact(self, n):
        out = bytearray()
        while len(out) < n:
            data = self.read(n - len(out))
            if not data:
                raise EOFError
            out += data
        return bytes(out)

    def take(self):
        data = bytes(self.buf)
        self.buf.clear()
        return data


class Request:
    def __init__(self, line, raw_headers, headers):
        self.line = line
        self.raw_headers = raw_headers
        self.headers = headers
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith('HTTP/'):
            raise BadRequest('malformed request line')
        self.method, self.target, self.version = parts
        path = self.target
        if '://' in path:
            path = '/' + path.split('://', 1)[1].partition('/')[2]
        self.url = urllib.parse.urlsplit(path)
        self.path = self.url.path
        self.query = urllib.parse.parse_qs(self.url.query)

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def host(self, sni):
        host = self.header('host') or sni or ''
        if host.startswith('['):
            host = host[1:].partition(']')[0]
        elif host.count(':') == 1:
            host = host.partition(':')[0]
        return host.lower().rstrip('.')

    def keep_alive(self):
        conn = (self.header('connection') or '').lower()
        if self.version == 'HTTP/1.1':
            return 'close' not in conn
        return 'keep-alive' in conn


def read_request(reader):
    line = reader.readline()
    while line in (b'\r\n', b'\n'):
        line = reader.readline()
    if not line:
        return None
    text = line.decode('latin-1').rstrip('\r\n')
    parts = text.split()
    # Checked before any header is read, so non-HTTP bytes (an SSH banner, say) are logged at once
    # instead of waiting for a header block that never comes.
    if len(parts) != 3 or not parts[2].startswith('HTTP/'):
        raise BadRequest('not an HTTP request line', line)
    raw = bytearray()
    headers = []
    try:
        while True:
            h = reader.readline(MAX_HEADER_BLOCK)
            if not h:
                raise BadRequest('connection closed inside headers', line + raw)
            raw += h
            if len(raw) > MAX_HEADER_BLOCK:
                raise BadRequest('header block too large', line + raw)
            if h in (b'\r\n', b'\n'):
                break
            name, sep, value = h.decode('latin-1').partition(':')
            if sep:
                headers.append((name.strip(), value.strip()))
    except OSError:
        raise BadRequest('timeout inside headers', line + raw)
    return Request(text, bytes(raw), headers)


def body_chunks(req, reader):
    """Yields the request body, framed by Content-Length or chunked transfer coding."""
    if 'chunked' in (req.header('transfer-encoding') or '').lower():
        while True:
            size_line = reader.readline()
            try:
                size = int(size_line.split(b';')[0].strip(), 16)
            except ValueError:
                raise BadRequest('bad chunk size')
            if size == 0:
                while reader.readline() not in (b'\r\n', b'\n', b''):
                    pass
                return
            left = size
            while left:
                data = reader.read(min(left, 1024 * 1024))
                if not data:
                    raise EOFError
                left -= len(data)
                yield data
            reader.readline()
    length = req.header('content-length')
    if length is None:
        return
    try:
        left = int(length)
    except ValueError:
        raise BadRequest('bad content-length')
    while left > 0:
        data = reader.read(min(left, 1024 * 1024))
        if not data:
            raise EOFError
        left -= len(data)
        yield data


class Conn:
    def __init__(self, sock, peer, local, tls, sni):
        self.sock = sock
        self.reader = Reader(sock)
        self.peer = lablog.addr(peer)
        self.local = lablog.addr(local)
        self.tls = tls
        self.sni = sni

    def send(self, status, body=b'', ctype='text/plain', extra=(), close=False):
        if isinstance(body, str):
            body = body.encode()
        head = [f'HTTP/1.1 {status}', f'Content-Type: {ctype}', f'Content-Length: {len(body)}']
        head += [f'{k}: {v}' for k, v in extra]
        if close:
            head.append('Connection: close')
        self.sock.sendall(('\r\n'.join(head) + '\r\n\r\n').encode('latin-1') + body)

    def log_request(self, req, scan):
        fields = {'peer': self.peer, 'local': self.local, 'tls': self.tls, 'sni': self.sni,
                  'line': req.line, 'headers': lablog.printable(req.raw_headers, MAX_HEADER_BLOCK)}
        if scan is not None:
            fields.update(scan.fields())
        lablog.log('web', **fields)

    def read_body(self, req, keep=0):
        # curl waits a second for this before sending a large body; answering at once keeps
        # uploads (and benchmarks through the proxy) from stalling.
        if (req.header('expect') or '').lower() == '100-continue' and req.version == 'HTTP/1.1':
            self.sock.sendall(b'HTTP/1.1 100 Continue\r\n\r\n')
        scan = lablog.BodyScan(SECRETS)
        kept = bytearray()
        sha = hashlib.sha256()
        for data in body_chunks(req, self.reader):
            scan.feed(data)
            sha.update(data)
            if len(kept) < keep:
                kept += data[:keep - len(kept)]
        return scan, bytes(kept), sha.hexdigest()

    def serve(self):
        while True:
            try:
                req = read_request(self.reader)
            except BadRequest as e:
                data = e.data + self.reader.take()
                lablog.log('web', peer=self.peer, local=self.local, tls=self.tls, sni=self.sni,
                           event='bad_request', error=str(e), data=lablog.printable(data, 2 * MAX_HEADER_BLOCK))
                try:
                    self.send('400 Bad Request', 'bad request\n', close=True)
                except OSError:
                    pass
                return
            if req is None:
                return
            if req.version not in ('HTTP/1.0', 'HTTP/1.1'):
                self.log_request(req, None)
                self.send('505 HTTP Version Not Supported', 'http/1.x only\n', close=True)
                return
            if req.method == 'CONNECT':
                self.log_request(req, None)
                self.connect(req)
                return
            host = req.host(self.sni)
            if host == 'echo.allowed.test' and req.path == '/ws' and \
                    (req.header('upgrade') or '').lower() == 'websocket':
                self.log_request(req, None)
                self.websocket(req)
                return
            keep = ECHO_KEEP if host == 'echo.allowed.test' else 1024 * 1024
            scan, body, sha = self.read_body(req, keep)
            self.log_request(req, scan)
            close = not req.keep_alive()
            self.route(req, host, scan, body, sha, close)
            if close:
                return

    def route(self, req, host, scan, body, sha, close):
        if host == 'api.allowed.test':
            return self.api(req, scan, body, sha, close)
        if host == 'echo.allowed.test':
            return self.echo(req, scan, body, close)
        if host == 'doh.allowed.test' and req.path == '/dns-query':
            return self.doh(req, body, close)
        # Bulk transfers through passthrough need a second name with /bytes and /upload
        # (pass.wild.allowed.test is the proxy tests' passthrough name).
        if host.endswith('.wild.allowed.test') and (req.path == '/upload' or req.path.startswith('/bytes/')):
            return self.api(req, scan, body, sha, close)
        if host.endswith('.wild.allowed.test') or host in (
                'rebind.allowed.test', 'flip.allowed.test', 'alias.allowed.test',
                'doh.allowed.test', 'proxy.allowed.test'):
            return self.send('200 OK', f'ok {host}\n', close=close)
        if host == 'evil.test' or host.endswith('.evil.test'):
            return self.send('200 OK', f'evil {host}\n', close=close)
        return self.send('404 Not Found', f'no vhost {host}\n', close=close)

    def api(self, req, scan, body, sha, close):
        path = req.path
        if path == '/headers':
            merged = {}
            for k, v in req.headers:
                merged[k] = merged[k] + ', ' + v if k in merged else v
            doc = {'headers': merged, 'method': req.method, 'target': req.target}
            return self.send('200 OK', json.dumps(doc, indent=1) + '\n', 'application/json', close=close)
        if path == '/tls':
            # Whether this connection resumed a TLS session (cage-proxy keeps upstream tickets).
            doc = {'session_reused': bool(getattr(self.sock, 'session_reused', False)),
                   'version': self.sock.version() if hasattr(self.sock, 'version') else None}
            return self.send('200 OK', json.dumps(doc) + '\n', 'application/json', close=close)
        if path == '/redirect':
            to = req.query.get('to', ['https://api.allowed.test/'])[0]
            return self.send('302 Found', '', extra=[('Location', to)], close=close)
        if path == '/oauth':
            back = req.query.get('redirect_uri', ['https://api.allowed.test/callback'])[0]
            token = 'labtok-' + hashlib.sha256(os.urandom(16)).hexdigest()[:24]
            sep = '&' if '?' in back else '?'
            return self.send('302 Found', '', extra=[('Location', f'{back}{sep}token={token}')], close=close)
        if path in ('/store', '/gists'):
            doc = {'ok': True, 'id': sha[:12], 'method': req.method, 'bytes': scan.total}
            return self.send('201 Created' if req.method == 'POST' else '200 OK',
                             json.dumps(doc) + '\n', 'application/json', close=close)
        if path == '/upload':
            return self.send('200 OK', sha + '\n', close=close)
        if path.startswith('/git/'):
            return self.static_file(GIT_ROOT, path[len('/git/'):], close)
        if path.startswith('/pkg/'):
            return self.package_file(path[len('/pkg/'):], close)
        if path.startswith('/bytes/'):
            try:
                n = int(path[len('/bytes/'):])
            except ValueError:
                return self.send('400 Bad Request', 'bad length\n', close=close)
            return self.stream_bytes(n, close)
        doc = {'ok': True, 'host': 'api.allowed.test', 'path': path, 'method': req.method}
        return self.send('200 OK', json.dumps(doc) + '\n', 'application/json', close=close)

    def static_file(self, root, rel, close):
        # Only regular files below root: no '..', no symlink leading out of it.
        full = os.path.realpath(os.path.join(root, urllib.parse.unquote(rel)))
        if not full.startswith(os.path.realpath(root) + os.sep) or not os.path.isfile(full):
            return self.send('404 Not Found', 'no such file\n', close=close)
        with open(full, 'rb') as f:
            data = f.read()
        return self.send('200 OK', data, 'application/octet-stream', close=close)

    def package_file(self, rel, close):
        root = os.path.realpath(PKG_ROOT)
        full = os.path.realpath(os.path.join(root, urllib.parse.unquote(rel)))
        if full != root and not full.startswith(root + os.sep):
            return self.send('404 Not Found', 'no such file\n', close=close)
        if os.path.isdir(full):
            full = next((os.path.join(full, i) for i in ('index.json', 'index.html')
                         if os.path.isfile(os.path.join(full, i))), full)
        if not os.path.isfile(full):
            return self.send('404 Not Found', 'no such file\n', close=close)
        with open(full, 'rb') as f:
            data = f.read()
        ctype = PKG_TYPES.get(os.path.splitext(full)[1], 'application/octet-stream')
        return self.send('200 OK', data, ctype, close=close)

    def stream_bytes(self, n, close):
        head = ['HTTP/1.1 200 OK', 'Content-Type: application/octet-stream', f'Content-Length: {n}']
        if close:
            head.append('Connection: close')
        self.sock.sendall(('\r\n'.join(head) + '\r\n\r\n').encode())
        view = memoryview(PATTERN_BLOCK)
        while n > 0:
            k = min(n, len(PATTERN_BLOCK))
            self.sock.sendall(view[:k])
            n -= k

    def echo(self, req, scan, body, close):
        text = req.line.encode('latin-1') + b'\r\n' + req.raw_headers + body
        if scan.total > len(body):
            text += f'\n[body truncated: {scan.total} bytes]\n'.encode()
        self.send('200 OK', text, close=close)

    def doh(self, req, body, close):
        if req.method == 'GET':
            q = req.query.get('dns', [''])[0]
            try:
                query = base64.urlsafe_b64decode(q + '=' * (-len(q) % 4))
            except ValueError:
                return self.send('400 Bad Request', 'bad dns parameter\n', close=close)
        else:
            query = body
        answer = fixed_dns_answer(query)
        if answer is None:
            return self.send('400 Bad Request', 'bad dns message\n', close=close)
        self.send('200 OK', answer, 'application/dns-message', close=close)

    def connect(self, req):
        host, _, port = req.target.rpartition(':')
        host = host.strip('[]').lower().rstrip('.')
        addr = LAB_NAMES.get(host)
        if addr is None:
            if host.endswith('.evil.test'):
                addr = EVIL4
            elif host == 'allowed.test' or host.endswith('.allowed.test'):
                addr = ALLOW4
            else:
                addr = host
        try:
            upstream = socket.create_connection((addr, int(port)), timeout=5)
        except (OSError, ValueError) as e:
            lablog.log('web', peer=self.peer, event='connect_failed', target=req.target, error=str(e))
            return self.send('502 Bad Gateway', 'connect failed\n', close=True)
        self.sock.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
        pending = self.reader.take()
        if pending:
            upstream.sendall(pending)
        relay(self.sock, upstream)

    def websocket(self, req):
        key = req.header('sec-websocket-key') or ''
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.sock.sendall(('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'
                           f'Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n').encode())
        message, message_op = bytearray(), 1
        while True:
            try:
                b0, b1 = self.reader.read_exact(2)
                n = b1 & 0x7f
                if n == 126:
                    n = struct.unpack('>H', self.reader.read_exact(2))[0]
                elif n == 127:
                    n = struct.unpack('>Q', self.reader.read_exact(8))[0]
                mask = self.reader.read_exact(4) if b1 & 0x80 else b'\0\0\0\0'
                payload = bytes(c ^ mask[i % 4] for i, c in enumerate(self.reader.read_exact(n)))
            except (EOFError, OSError, ValueError):
                return
            fin, op = b0 & 0x80, b0 & 0x0f
            lablog.log('web', peer=self.peer, event='ws_frame', opcode=op, fin=bool(fin),
                       rsv=(b0 >> 4) & 7, data=lablog.printable(payload, 1 << 20))
            if op == 8:
                self.sock.sendall(ws_frame(8, payload[:2]))
                return
            if op == 9:
                self.sock.sendall(ws_frame(10, payload))
                continue
            if op == 10:
                continue
            if op in (1, 2):
                message, message_op = bytearray(), op
            message += payload
            if fin:
                self.sock.sendall(ws_frame(message_op, bytes(message)))
                message = bytearray()


def ws_frame(op, payload):
    n = len(payload)
    if n < 126:
        head = struct.pack('>BB', 0x80 | op, n)
    elif n < 65536:
        head = struct.pack('>BBH', 0x80 | op, 126, n)
    else:
        head = struct.pack('>BBQ', 0x80 | op, 127, n)
    return head + payload


def fixed_dns_answer(query):
    """Answers any well-formed query with api.allowed.test's address (A or AAAA), TTL 60."""
    if len(query) < 12:
        return None
    i = 12
    while i < len(query) and query[i]:
        i += query[i] + 1
    if i + 5 > len(query):
        return None
    question = query[12:i + 5]
    qtype = struct.unpack('>H', query[i + 1:i + 3])[0]
    rdata = {1: socket.inet_pton(socket.AF_INET, ALLOW4), 28: socket.inet_pton(socket.AF_INET6, ALLOW6)}.get(qtype)
    header = query[:2] + struct.pack('>HHHHH', 0x8180, 1, 1 if rdata else 0, 0, 0)
    answer = struct.pack('>HHHIH', 0xc00c, qtype, 1, 60, len(rdata)) + rdata if rdata else b''
    return header + question + answer


def relay(a, b):
    """Copies both ways until either side closes; SSL sockets may hold decrypted bytes select misses."""
    socks = [a, b]
    try:
        while True:
            ready = [s for s in socks if isinstance(s, ssl.SSLSocket) and s.pending()]
            if not ready:
                ready, _, _ = select.select(socks, [], [], 300)
                if not ready:
                    return
            for s in ready:
                data = s.recv(256 * 1024)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(30)
        sni = None
        tls = self.server.tls_context is not None
        try:
            if tls:
                first = sock.recv(4096, socket.MSG_PEEK)
                if not first or first[0] != 0x16:
                    lablog.log('web', peer=lablog.addr(self.client_address),
                               local=lablog.addr(sock.getsockname()), tls=True, event='not_tls',
                               data=lablog.printable(first))
                    return
                sock = self.server.tls_context.wrap_socket(sock, server_side=True)
                sni = getattr(sock, 'lab_sni', None)
            Conn(sock, self.client_address, sock.getsockname(), tls, sni).serve()
        except ssl.SSLError as e:
            lablog.log('web', peer=lablog.addr(self.client_address), event='tls_error', error=str(e))
        except (OSError, EOFError, BadRequest):
            pass


def remember_sni(sslsock, name, context):
    sslsock.lab_sni = name


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


class Server6(Server):
    address_family = socket.AF_INET6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cert', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--log', default=lablog.SENTINEL)
    ap.add_argument('--listen', action='append', required=True, help='ADDR,PORT,http|https')
    args = ap.parse_args()
    lablog.open_log(args.log)
    SECRETS.extend(lablog.known_secrets())
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(['http/1.1'])
    ctx.sni_callback = remember_sni
    servers = []
    for spec in args.listen:
        host, port, kind = spec.rsplit(',', 2)
        cls = Server6 if ':' in host else Server
        srv = cls((host, int(port)), Handler)
        srv.tls_context = ctx if kind == 'https' else None
        servers.append(srv)
    for srv in servers[1:]:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == '__main__':
    sys.exit(main())
