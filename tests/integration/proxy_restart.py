#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""In-cage load for tests/integration/proxy_restart.sh (read from stdin by python3 in the cage).

Three threads for SECONDS seconds, all without proxy variables:
- downloads: urllib GETs of https://api.allowed.test/bytes/SIZE through the transparent path,
  each checked against the pattern's sha256; prints "progress K" once the K-th download has
  received its first MiB, so the test can kill cage-proxy while bytes are flowing;
- accept probe: every 10 ms a request on the explicit port that cage-proxy answers itself
  (origin-form → 400) without an upstream: (start, answer) times;
- escape probe: every 20 ms a nonce-carrying request to the EVIL address (port 80), which the
  kernel redirects to cage-proxy and cage-proxy denies; the test checks the sentinel for it.
At the end one JSON line: the downloads, the accept-probe answer times and the probe count.
"""
import hashlib
import json
import socket
import sys
import threading
import time
import urllib.request

SIZE, SECONDS, GW, EVIL, NONCE = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
WANT = hashlib.sha256()
_n = SIZE
while _n:
    _k = min(_n, 1 << 20)
    WANT.update((bytes(range(256)) * 4096)[:_k])
    _n -= _k
WANT = WANT.hexdigest()
END = time.time() + SECONDS
out = {'downloads': [], 'answers': [], 'escapes': 0}
lock = threading.Lock()


def downloads():
    k = 0
    while time.time() < END:
        k += 1
        t0, err, h, got = time.time(), None, hashlib.sha256(), 0
        try:
            with urllib.request.urlopen(f'https://api.allowed.test/bytes/{SIZE}', timeout=10) as r:
                while True:
                    d = r.read(1 << 20)
                    if not d:
                        break
                    if got == 0:
                        print('progress', k, flush=True)
                    got += len(d)
                    h.update(d)
        except Exception as e:  # any failure counts, its kind is reported
            err = type(e).__name__
        # http.client ends a read(amt) at EOF without raising, even short of Content-Length
        # (and ssl treats a missing close_notify as EOF): the length check is the client's.
        if err is None and got != SIZE:
            err = 'short body'
        if err is None and h.hexdigest() != WANT:
            err = 'digest mismatch'
        with lock:
            out['downloads'].append({'start': t0, 'end': time.time(), 'bytes': got, 'error': err})
        if err:
            time.sleep(0.05)


def accept_probe():
    while time.time() < END:
        t0 = time.time()
        try:
            with socket.create_connection((GW, 3128), timeout=3) as s:
                s.settimeout(3)
                s.sendall(b'GET / HTTP/1.1\r\nHost: api.allowed.test\r\nConnection: close\r\n\r\n')
                if s.recv(12).startswith(b'HTTP/1.1 4'):
                    with lock:
                        out['answers'].append((t0, time.time()))
        except OSError:
            pass
        time.sleep(0.01)


def escape_probe():
    while time.time() < END:
        try:
            with socket.create_connection((EVIL, 80), timeout=2) as s:
                s.settimeout(2)
                s.sendall(f'GET /{NONCE} HTTP/1.1\r\nHost: evil.test\r\n\r\n'.encode())
                s.recv(100)
        except OSError:
            pass
        with lock:
            out['escapes'] += 1
        time.sleep(0.02)


threads = [threading.Thread(target=f) for f in (downloads, accept_probe, escape_probe)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(out), flush=True)
