#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Packet sentinel on lab-inet's side of the veth: logs every packet that reaches the fake internet.

An AF_PACKET socket sees frames before netfilter, so the EVIL catch-all's DNAT has not yet hidden
the original port. Everything arriving is logged except the lab's own web traffic (TCP to ALLOW
ports 80/443, which the web server logs per request) and pure TCP ACK/FIN/RST segments. Packets
whose source is a cage pool address are tagged LEAK-UNNATED whatever they carry: cage traffic must
only ever leave lab-host from the host's own address. A classic BPF filter compiled by tcpdump
keeps bulk web transfers out of this process; without tcpdump every frame is parsed here.
"""
import argparse
import ctypes
import ipaddress
import socket
import struct
import subprocess
import sys

import lablog

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
ALLOW = {'198.51.100.10', '2001:db8:51::10'}
CAGE_POOLS = [ipaddress.ip_network('10.200.0.0/16'), ipaddress.ip_network('fd00:200::/48')]
PROTO_NAMES = {1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6', 132: 'sctp'}
BPF_EXPR = ('(src net 10.200.0.0/16 or src net fd00:200::/48) or not '
            '(tcp and (host 198.51.100.10 or host 2001:db8:51::10) and (port 80 or port 443))')


def attach_filter(sock, ifname):
    try:
        out = subprocess.run(['tcpdump', '-ddd', '-i', ifname, BPF_EXPR], capture_output=True,
                             text=True, timeout=10, check=True).stdout.split('\n')
    except (OSError, subprocess.SubprocessError):
        return False
    count = int(out[0])
    insns = b''.join(struct.pack('HBBI', *map(int, line.split())) for line in out[1:count + 1])
    buf = ctypes.create_string_buffer(insns)
    prog = struct.pack('HL', count, ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, prog)
    attach_filter.keep = buf
    return True


def dns_question(payload):
    """Decodes the first question of a DNS message into (qname, qtype), or None."""
    if len(payload) < 17:
        return None
    labels, i = [], 12
    while i < len(payload):
        n = payload[i]
        if n == 0 or n > 63:
            break
        label = payload[i + 1:i + 1 + n]
        labels.append(''.join(chr(c) if 33 <= c < 127 and c not in (46, 92) else '\\%03d' % c for c in label))
        i += n + 1
    if i + 3 > len(payload):
        return '.'.join(labels), None
    return '.'.join(labels), struct.unpack('>H', payload[i + 1:i + 3])[0]


def transport(proto, data):
    """Returns (sport, dport, flags, payload, wanted) for the L4 header at the start of data."""
    if proto == 6 and len(data) >= 20:
        sport, dport, _, _, off_flags = struct.unpack('>HHIIH', data[:14])
        flags = off_flags & 0x3f
        payload = data[(off_flags >> 12) * 4:]
        names = ''.join(c for bit, c in ((2, 'S'), (16, 'A'), (1, 'F'), (4, 'R'), (8, 'P')) if flags & bit)
        wanted = bool(flags & 2) or bool(payload)
        return sport, dport, names, payload, wanted
    if proto == 17 and len(data) >= 8:
        sport, dport = struct.unpack('>HH', data[:4])
        return sport, dport, None, data[8:], True
    if proto in (1, 58) and len(data) >= 4:
        return None, None, f'type={data[0]} code={data[1]}', data[4:], True
    return None, None, None, data, True


def parse(frame):
    ethertype = struct.unpack('>H', frame[12:14])[0]
    off = 14
    while ethertype in (0x8100, 0x88a8) and len(frame) >= off + 4:
        ethertype = struct.unpack('>H', frame[off + 2:off + 4])[0]
        off += 4
    ip = frame[off:]
    if ethertype == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 0x0f) * 4
        proto = ip[9]
        src, dst = socket.inet_ntop(socket.AF_INET, ip[12:16]), socket.inet_ntop(socket.AF_INET, ip[16:20])
        total = struct.unpack('>H', ip[2:4])[0]
        fragment_offset = struct.unpack('>H', ip[6:8])[0] & 0x1fff
        body = ip[ihl:total] if total >= ihl else ip[ihl:]
        if fragment_offset:
            return src, dst, proto, None, body
        return src, dst, proto, transport(proto, body), body
    if ethertype == 0x86dd and len(ip) >= 40:
        src, dst = socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40])
        proto, body = ip[6], ip[40:]
        while proto in (0, 43, 60, 44, 51) and len(body) >= 8:
            if proto == 44:
                size = 8
            elif proto == 51:
                size = (body[1] + 2) * 4
            else:
                size = (body[1] + 1) * 8
            proto, body = body[0], body[size:]
        return src, dst, proto, transport(proto, body), body
    return None


def in_cage_pool(address):
    ip = ipaddress.ip_address(address)
    return any(ip in net for net in CAGE_POOLS)


def handle(frame):
    parsed = parse(frame)
    if parsed is None:
        return
    src, dst, proto, l4, body = parsed
    leak = in_cage_pool(src)
    if not leak and (dst.startswith('ff') or src.startswith('fe80:')):
        return
    if not leak and proto == 58 and body[:1] and 133 <= body[0] <= 137:
        return  # neighbour discovery between the veth ends
    sport = dport = flags = None
    payload, wanted = body, True
    if l4 is not None:
        sport, dport, flags, payload, wanted = l4
    if not leak:
        if not wanted:
            return
        if proto == 6 and dst in ALLOW and dport in (80, 443):
            return
    record = {'proto': PROTO_NAMES.get(proto, str(proto)),
              'from': lablog.addr((src, sport)) if sport is not None else src,
              'to': lablog.addr((dst, dport)) if dport is not None else dst,
              'len': len(payload), 'data': lablog.printable(payload, 4096)}
    if flags:
        record['flags'] = flags
    if leak:
        record['kind'] = 'LEAK-UNNATED'
    if dport == 53 and proto in (6, 17):
        question = dns_question(payload[2:] if proto == 6 else payload)
        if question:
            record['qname'], record['qtype'] = question
    lablog.log('sniff', **record)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--log', default=lablog.SENTINEL)
    ap.add_argument('--ready', help='file created once capturing')
    ap.add_argument('ifname')
    args = ap.parse_args()
    lablog.open_log(args.log)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    filtered = attach_filter(sock, args.ifname)
    sock.bind((args.ifname, 0))
    lablog.log('sniff', event='start', ifname=args.ifname, bpf_filter=filtered)
    if args.ready:
        open(args.ready, 'w').close()
    while True:
        frame, meta = sock.recvfrom(262144)
        if meta[2] == PACKET_OUTGOING:
            continue
        try:
            handle(frame)
        except (ValueError, struct.error, IndexError) as e:
            lablog.log('sniff', event='parse_error', error=str(e), data=lablog.printable(frame, 256))


if __name__ == '__main__':
    sys.exit(main())
