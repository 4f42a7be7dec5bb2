#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Catch-all logger behind EVIL4/EVIL6: lab-inet's nft DNATs every TCP and UDP port there to one port.

Each TCP connection is logged when accepted (with the original port, from conntrack) and again with
what it sent: up to 64 KiB or until a short timeout. TLS clients are terminated with the lab
certificate so an HTTPS probe's path and headers are visible too (clients that leak use -k).
"""
import argparse
import socket
import ssl
import struct
import sys
import threading
import time

import lablog

SO_ORIGINAL_DST = 80
READ_LIMIT = 64 * 1024
READ_SECONDS = 2.0


def original_dst(sock, family):
    try:
        if family == socket.AF_INET:
            raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
            port, = struct.unpack('>H', raw[2:4])
            return lablog.addr((socket.inet_ntop(socket.AF_INET, raw[4:8]), port))
        raw = sock.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
        port, = struct.unpack('>H', raw[2:4])
        return lablog.addr((socket.inet_ntop(socket.AF_INET6, raw[8:24]), port))
    except OSError:
        return lablog.addr(sock.getsockname())


def request_complete(data):
    """True once an HTTP request (headers plus Content-Length body) has fully arrived."""
    end = data.find(b'\r\n\r\n')
    if end < 0:
        return False
    for line in data[:end].split(b'\r\n')[1:]:
        name, _, value = line.partition(b':')
        if name.strip().lower() == b'content-length':
            try:
                return len(data) - end - 4 >= int(value.strip())
            except ValueError:
                return True
    return True


def read_some(sock):
    data = bytearray()
    deadline = time.monotonic() + READ_SECONDS
    while len(data) < READ_LIMIT:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(READ_LIMIT - len(data))
        except (socket.timeout, ssl.SSLError, OSError):
            break
        if not chunk:
            break
        data += chunk
        if data[:1].isalpha() and request_complete(data):
            break
    return bytes(data)


def serve_tcp(conn, peer, family, tls_context):
    dst = original_dst(conn, family)
    lablog.log('evil', proto='tcp', event='connect', peer=lablog.addr(peer), dst=dst)
    sni = None
    try:
        conn.settimeout(READ_SECONDS)
        try:
            first = conn.recv(1, socket.MSG_PEEK)
        except socket.timeout:
            first = b''
        if first == b'\x16':
            conn = tls_context.wrap_socket(conn, server_side=True)
            sni = getattr(conn, 'lab_sni', None)
        data = read_some(conn) if first else b''
        lablog.log('evil', proto='tcp', event='data', peer=lablog.addr(peer), dst=dst,
                   tls=first == b'\x16', sni=sni, len=len(data), data=lablog.printable(data, READ_LIMIT))
        if data[:1].isalpha():
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nevil\n')
    except Exception as e:  # a logger thread must never die silently: say what broke
        lablog.log('evil', proto='tcp', event='error', peer=lablog.addr(peer), dst=dst, error=repr(e))
    finally:
        conn.close()


def remember_sni(sslsock, name, context):
    sslsock.lab_sni = name


def tcp_loop(sock, family, tls_context):
    while True:
        conn, peer = sock.accept()
        threading.Thread(target=serve_tcp, args=(conn, peer, family, tls_context), daemon=True).start()


def udp_loop(sock):
    while True:
        data, peer = sock.recvfrom(65535)
        lablog.log('evil', proto='udp', event='datagram', peer=lablog.addr(peer),
                   dst=lablog.addr(sock.getsockname()), len=len(data), data=lablog.printable(data, READ_LIMIT))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, default=9)
    ap.add_argument('--cert', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--log', default=lablog.SENTINEL)
    ap.add_argument('addrs', nargs='+')
    args = ap.parse_args()
    lablog.open_log(args.log)
    tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_context.load_cert_chain(args.cert, args.key)
    tls_context.sni_callback = remember_sni
    threads = []
    for host in args.addrs:
        family = socket.AF_INET6 if ':' in host else socket.AF_INET
        tcp = socket.socket(family, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((host, args.port))
        tcp.listen(1024)
        udp = socket.socket(family, socket.SOCK_DGRAM)
        udp.bind((host, args.port))
        threads.append(threading.Thread(target=tcp_loop, args=(tcp, family, tls_context), daemon=True))
        threads.append(threading.Thread(target=udp_loop, args=(udp,), daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == '__main__':
    sys.exit(main())
