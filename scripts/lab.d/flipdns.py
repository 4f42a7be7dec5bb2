#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Authoritative answers for flip.allowed.test (dnsmasq forwards it here): each query gets the next of
ALLOW and EVIL in turn, TTL 0, so a client that resolves twice sees the name move (rebinding row)."""
import argparse
import itertools
import socket
import socketserver
import struct
import sys
import threading

ANSWERS = {1: [('198.51.100.10', socket.AF_INET), ('198.51.100.20', socket.AF_INET)],
           28: [('2001:db8:51::10', socket.AF_INET6), ('2001:db8:51::20', socket.AF_INET6)]}
_turn = itertools.count()
_lock = threading.Lock()


def respond(query):
    if len(query) < 17:
        return None
    i = 12
    while i < len(query) and query[i]:
        i += query[i] + 1
    if i + 5 > len(query):
        return None
    qtype = struct.unpack('>H', query[i + 1:i + 3])[0]
    choices = ANSWERS.get(qtype)
    answer = b''
    if choices:
        with _lock:
            address, family = choices[next(_turn) % 2]
        rdata = socket.inet_pton(family, address)
        answer = struct.pack('>HHHIH', 0xc00c, qtype, 1, 0, len(rdata)) + rdata
    header = query[:2] + struct.pack('>HHHHH', 0x8400, 1, 1 if answer else 0, 0, 0)
    return header + query[12:i + 5] + answer


class Udp(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        reply = respond(data)
        if reply:
            sock.sendto(reply, self.client_address)


class Tcp(socketserver.StreamRequestHandler):
    def handle(self):
        self.request.settimeout(5)
        try:
            while True:
                head = self.rfile.read(2)
                if len(head) < 2:
                    return
                reply = respond(self.rfile.read(struct.unpack('>H', head)[0]))
                if not reply:
                    return
                self.wfile.write(struct.pack('>H', len(reply)) + reply)
        except OSError:
            return


class UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True


class TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--addr', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=5300)
    ap.add_argument('--tag', help='ignored; marks the process as the lab\'s')
    args = ap.parse_args()
    tcp = TcpServer((args.addr, args.port), Tcp)
    threading.Thread(target=tcp.serve_forever, daemon=True).start()
    UdpServer((args.addr, args.port), Udp).serve_forever()


if __name__ == '__main__':
    sys.exit(main())
