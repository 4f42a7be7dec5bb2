# SPDX-License-Identifier: GPL-2.0-only
# WebSocket probe of tests/escapes/ws_rows.sh (python3 stdlib; runs inside the cage as the agent).
# wsc.py URL [--proxy HOST:PORT] [--deflate] STEP...   STEP: text:S | frag:S | frag3:S | big:N
# S expands {VAR} from the environment and {STDIN} from standard input. Prints one line per
# event: STATUS <line>, EXT <extensions or none>, ECHO <text>, BIG <ok|bad>, PONG, CLOSE <code> <reason>.
import base64, hashlib, os, socket, ssl, struct, sys, urllib.parse

args = sys.argv[1:]
url = urllib.parse.urlparse(args.pop(0))
proxy = None
deflate = False
steps = []
while args:
    a = args.pop(0)
    if a == '--proxy':
        proxy = args.pop(0)
    elif a == '--deflate':
        deflate = True
    else:
        steps.append(a)
stdin_text = sys.stdin.read() if any('{STDIN}' in s for s in steps) else ''
port = url.port or (443 if url.scheme == 'wss' else 80)

def expand(s):
    s = s.replace('{STDIN}', stdin_text)
    for k, v in os.environ.items():
        s = s.replace('{' + k + '}', v)
    return s.encode()

if proxy:
    h, p = proxy.rsplit(':', 1)
    s = socket.create_connection((h, int(p)), timeout=20)
    s.sendall(f'CONNECT {url.hostname}:{port} HTTP/1.1\r\nHost: {url.hostname}:{port}\r\n\r\n'.encode())
    resp = b''
    while b'\r\n\r\n' not in resp:
        d = s.recv(1)
        if not d:
            sys.exit('proxy closed')
        resp += d
    if b' 200 ' not in resp.split(b'\r\n')[0]:
        sys.exit('CONNECT failed: ' + resp.split(b'\r\n')[0].decode())
else:
    s = socket.create_connection((url.hostname, port), timeout=20)
if url.scheme == 'wss':
    s = ssl.create_default_context(cafile='/etc/cage/ca.crt').wrap_socket(s, server_hostname=url.hostname)
key = base64.b64encode(os.urandom(16)).decode()
ext = 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' if deflate else ''
s.sendall((f'GET {url.path or "/"} HTTP/1.1\r\nHost: {url.hostname}\r\nUpgrade: websocket\r\n'
           f'Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n').encode())
buf = b''
def fill(n):
    global buf
    while len(buf) < n:
        d = s.recv(65536)
        if not d:
            raise EOFError
        buf += d
def take(n):
    global buf
    fill(n)
    r, buf = buf[:n], buf[n:]
    return r
head = b''
while b'\r\n\r\n' not in head:
    head += take(1)
lines = head.decode('latin-1').split('\r\n')
print('STATUS', lines[0], flush=True)
exts = [l.split(':', 1)[1].strip() for l in lines[1:] if l.lower().startswith('sec-websocket-extensions:')]
print('EXT', ','.join(exts) or 'none', flush=True)
if ' 101 ' not in lines[0]:
    sys.exit(0)

def frame(op, fin, p):
    m = os.urandom(4)
    n = len(p)
    h = bytes([op | (0x80 if fin else 0)])
    if n < 126:
        h += bytes([0x80 | n])
    elif n < 65536:
        h += bytes([0x80 | 126]) + struct.pack('>H', n)
    else:
        h += bytes([0x80 | 127]) + struct.pack('>Q', n)
    return h + m + bytes(b ^ m[i % 4] for i, b in enumerate(p))

def read_message():
    """The next data message, answering nothing; prints PONG and CLOSE as they come."""
    msg, op0 = b'', None
    while True:
        b0, b1 = take(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack('>H', take(2))[0]
        elif n == 127:
            n = struct.unpack('>Q', take(8))[0]
        if b1 & 0x80:
            sys.exit('server frame masked')
        p = take(n)
        op = b0 & 0x0f
        if op == 8:
            code = struct.unpack('>H', p[:2])[0] if len(p) >= 2 else 0
            print('CLOSE', code, p[2:].decode('utf-8', 'replace'), flush=True)
            sys.exit(0)
        if op == 10:
            print('PONG', p.decode('utf-8', 'replace'), flush=True)
            continue
        if op == 9:
            continue
        if op in (1, 2):
            op0, msg = op, b''
        msg += p
        if b0 & 0x80:
            return op0, msg

try:
    for st in steps:
        kind, _, arg = st.partition(':')
        if kind == 'text':
            s.sendall(frame(1, True, expand(arg)))
        elif kind == 'frag':
            m = expand(arg); h = len(m) // 2
            s.sendall(frame(1, False, m[:h]) + frame(0, True, m[h:]))
        elif kind == 'frag3':
            m = expand(arg); a, b = len(m) // 3, 2 * len(m) // 3
            s.sendall(frame(1, False, m[:a]) + frame(9, True, b'ping') + frame(0, False, m[a:b]) + frame(0, True, m[b:]))
        elif kind == 'big':
            data = os.urandom(int(arg))
            chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)]
            for i, c in enumerate(chunks):
                s.sendall(frame(2 if i == 0 else 0, i == len(chunks) - 1, c))
            op, m = read_message()
            print('BIG', 'ok' if hashlib.sha256(m).digest() == hashlib.sha256(data).digest() else 'bad', len(m), flush=True)
            continue
        op, m = read_message()
        print('ECHO', m.decode('utf-8', 'replace'), flush=True)
    s.sendall(frame(8, True, struct.pack('>H', 1000)))
    read_message()
except EOFError:
    print('EOF', flush=True)
