#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Run inside a cage by log_rotation.sh: paces a flood at each audit writer for DURATION seconds,
# RATE rounds a second. A round is one denied DNS query (cage-dns), one allowed and one refused
# HTTP request (cage-proxy) and one TCP connect to a port the kernel refuses (the monitor).
# Prints what each layer must have logged, as JSON: the test counts the lines against it.
import json, socket, struct, sys, time

nonce, duration, rate, evil4, allow4 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
ns = next(l.split()[1] for l in open('/etc/resolv.conf') if l.startswith('nameserver'))
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.settimeout(2)
done = {"dns_denied": 0, "proxy": 0, "kernel": 0, "errors": 0}
why = {}


def failed(what):
    done["errors"] += 1
    why[what] = why.get(what, 0) + 1


def query(name, qid):
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    q += b''.join(bytes([len(p)]) + p.encode() for p in name.split('.')) + b'\0' + struct.pack('>HH', 1, 1)
    udp.sendto(q, (ns, 53))
    while True:
        r = udp.recv(4096)
        if r[:2] == q[:2]:
            return r


def http(host, path):
    s = socket.create_connection((allow4, 80), timeout=5)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    data = b''
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return data.split(b' ', 2)[1] if data.startswith(b'HTTP/') else b''


query('api.allowed.test', 1)  # binds the lab address in dns_allow for the proxy's upstream dial
start = time.monotonic()
i = 0
while time.monotonic() - start < duration:
    i += 1
    try:
        query(f"q{i}-{nonce}.evil.test", i & 0xffff)
        done["dns_denied"] += 1
    except OSError as e:
        failed(f"dns {e}")
    for host in ('api.allowed.test', 'evil.test'):
        try:
            status = http(host, f"/r{i}-{nonce}")
            if status:  # any answer (the lab API may say 429) is one audited request
                done["proxy"] += 1
            else:
                failed(f"{host} status {status!r}")
        except OSError as e:
            failed(f"{host} {e}")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.connect((evil4, 4999))
        failed("connect succeeded")
    except PermissionError:
        done["kernel"] += 1
    except OSError as e:
        failed(f"connect {e}")
    s.close()
    sleep = start + i / rate - time.monotonic()
    if sleep > 0:
        time.sleep(sleep)
done["rounds"] = i
done["seconds"] = time.monotonic() - start
done["why"] = why
print(json.dumps(done))
