#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""A DNS client that builds its own query bytes (python3 stdlib only), for the escapes.md DNS
rows: it runs inside a cage as the agent and talks to whatever resolver address it is given, so
the test can show that the kernel redirect catches every port-53 packet, not only those sent to
the cage resolver. dig and glibc both normalise what they send; this does not.

  dns_probe.py query [--server A[,A…]] [--proto udp|tcp|both] [--type T] [--class C] NAME
      one line per (proto, server): "<proto> <server> <RCODE> [answers…]". RCODE is the
      answer's rcode name, TIMEOUT, ERR:<errno name> (the socket call failed), BADID (the reply
      does not match the query) or BADSRC:<addr> (a UDP reply from another address than the
      one asked: the redirect must be invisible).
  dns_probe.py loop --seconds S --interval I --server A[,A…] NAME[,NAME…]
      queries the names round robin over UDP and TCP and every server until S seconds have
      passed; prints "q <ms> <name> <proto> <server> <RCODE> [answers…]" per query, then
      "sent N", "lost N" and, per name, "runs NAME RCODE RCODE…" (consecutive equal rcodes
      collapsed).
  dns_probe.py flood --count N --server A SUFFIX
      sends N UDP A queries for <i>.SUFFIX as fast as possible without waiting, then reads
      answers for a second; prints "sent N", then "rcode NAME COUNT" per rcode seen.

NAME is presentation form: "\\." is a dot inside a label, "\\DDD" a byte, "\\\\" a backslash.
The query has RD set and, unless --no-edns, an EDNS0 OPT record (UDP size 1232).
"""
import errno
import ipaddress
import os
import socket
import struct
import sys
import time

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "NULL": 10, "PTR": 12, "HINFO": 13, "MX": 15,
         "TXT": 16, "AAAA": 28, "SRV": 33, "NAPTR": 35, "DNAME": 39, "OPT": 41, "DS": 43,
         "DNSKEY": 48, "SVCB": 64, "HTTPS": 65, "SPF": 99, "IXFR": 251, "AXFR": 252,
         "MAILB": 253, "ANY": 255, "URI": 256, "CAA": 257, "PRIVATE": 65399}
CLASSES = {"IN": 1, "CH": 3, "HS": 4, "NONE": 254, "ANY": 255}


def parse_name(text):
    """Presentation form to a list of raw labels (bytes)."""
    labels, cur, i = [], bytearray(), 0
    if text in (".", ""):
        return []
    while i < len(text):
        c = text[i]
        if c == "\\":
            if text[i + 1:i + 4].isdigit() and len(text[i + 1:i + 4]) == 3:
                cur.append(int(text[i + 1:i + 4]))
                i += 4
                continue
            cur += text[i + 1].encode()
            i += 2
            continue
        if c == ".":
            labels.append(bytes(cur))
            cur = bytearray()
        else:
            cur += c.encode()
        i += 1
    if cur or not text.endswith("."):
        labels.append(bytes(cur))
    return labels


def build_query(qid, name, qtype, qclass, edns=True):
    wire = b"".join(bytes([len(l)]) + l for l in parse_name(name)) + b"\0"
    hdr = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    opt = b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0) if edns else b""
    return hdr + wire + struct.pack(">HH", qtype, qclass) + opt


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n
        if n == 0:
            return off


def read_name(msg, off, depth=0):
    out = []
    while depth < 20:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            off = ((n & 0x3F) << 8) | msg[off + 1]
            depth += 1
            continue
        if n == 0:
            break
        out.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(out) + "."


def parse_reply(msg, qid):
    """(rcode name, [answers]) or ("BADID", [])."""
    if len(msg) < 12:
        return "BADID", []
    rid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    if rid != qid or not flags & 0x8000:
        return "BADID", []
    rcode = RCODES.get(flags & 15, "RCODE%d" % (flags & 15))
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    answers = []
    for _ in range(an):
        off = skip_name(msg, off)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        rdata = msg[off + 10:off + 10 + rdlen]
        if rtype == 1 and rdlen == 4:
            answers.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == 28 and rdlen == 16:
            answers.append(socket.inet_ntop(socket.AF_INET6, rdata))
        elif rtype == 5:
            answers.append("CNAME:" + read_name(msg, off + 10))
        else:
            answers.append("TYPE%d" % rtype)
        off += 10 + rdlen
    return rcode, answers


def family(server):
    return socket.AF_INET6 if ":" in server else socket.AF_INET


def same_addr(a, b):
    try:
        return ipaddress.ip_address(a.split("%")[0]) == ipaddress.ip_address(b)
    except ValueError:
        return False


def ask(server, proto, name, qtype, qclass, timeout=3.0, edns=True):
    """One query; returns the rcode word and the answers."""
    qid = int.from_bytes(os.urandom(2), "big")
    q = build_query(qid, name, qtype, qclass, edns)
    try:
        if proto == "udp":
            with socket.socket(family(server), socket.SOCK_DGRAM) as s:
                s.settimeout(timeout)
                s.sendto(q, (server, 53))
                deadline = time.monotonic() + timeout
                while True:
                    s.settimeout(max(0.01, deadline - time.monotonic()))
                    data, peer = s.recvfrom(65535)
                    if not same_addr(peer[0], server) or peer[1] != 53:
                        return "BADSRC:%s" % peer[0], []
                    res = parse_reply(data, qid)
                    if res[0] != "BADID":
                        return res
        with socket.create_connection((server, 53), timeout=timeout) as s:
            s.sendall(struct.pack(">H", len(q)) + q)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
                chunk = s.recv(65535)
                if not chunk:
                    return "CLOSED", []
                buf += chunk
            return parse_reply(buf[2:2 + struct.unpack(">H", buf[:2])[0]], qid)
    except socket.timeout:
        return "TIMEOUT", []
    except OSError as e:
        return "ERR:%s" % errno.errorcode.get(e.errno, e.errno), []


def opt(args, key, default=None):
    if key in args:
        i = args.index(key)
        v = args[i + 1]
        del args[i:i + 2]
        return v
    return default


def flag(args, key):
    if key in args:
        args.remove(key)
        return True
    return False


def main():
    args = sys.argv[1:]
    mode = args.pop(0) if args and args[0] in ("query", "loop", "flood") else "query"
    servers = opt(args, "--server", "10.200.0.1").split(",")
    proto = opt(args, "--proto", "udp")
    qtype = opt(args, "--type", "A")
    qtype = int(qtype[4:]) if qtype.upper().startswith("TYPE") else TYPES[qtype.upper()]
    qclass = opt(args, "--class", "IN")
    qclass = int(qclass[5:]) if qclass.upper().startswith("CLASS") else CLASSES[qclass.upper()]
    timeout = float(opt(args, "--timeout", "3"))
    edns = not flag(args, "--no-edns")
    if mode == "query":
        protos = ["udp", "tcp"] if proto == "both" else [proto]
        for p in protos:
            for s in servers:
                rcode, ans = ask(s, p, args[0], qtype, qclass, timeout, edns)
                print(" ".join([p, s, rcode] + ans), flush=True)
    elif mode == "loop":
        seconds = float(opt(args, "--seconds", "5"))
        interval = float(opt(args, "--interval", "0.01"))
        names = args[0].split(",")
        combos = [(p, s) for s in servers for p in ("udp", "tcp")]
        runs = {n: [] for n in names}
        sent = lost = i = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            name = names[i % len(names)]
            p, s = combos[(i // len(names)) % len(combos)]
            i += 1
            rcode, ans = ask(s, p, name, 1, 1, 2.0)
            sent += 1
            if rcode in ("TIMEOUT", "CLOSED") or rcode.startswith(("ERR", "BAD")):
                lost += 1
            print("q %d %s %s %s %s %s" % ((time.monotonic() - t0) * 1000, name, p, s, rcode,
                                           " ".join(ans)), flush=True)
            if not runs[name] or runs[name][-1] != rcode:
                runs[name].append(rcode)
            time.sleep(interval)
        print("sent %d" % sent)
        print("lost %d" % lost)
        for n in names:
            print("runs %s %s" % (n, " ".join(runs[n])))
    else:
        count = int(opt(args, "--count", "1000"))
        s = socket.socket(family(servers[0]), socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        for i in range(count):
            s.sendto(build_query(i & 0xFFFF, "f%d.%s" % (i, args[0]), 1, 1), (servers[0], 53))
        seen = {}
        s.settimeout(1.0)
        try:
            while True:
                data = s.recv(65535)
                rc = RCODES.get(data[3] & 15, str(data[3] & 15))
                seen[rc] = seen.get(rc, 0) + 1
        except socket.timeout:
            pass
        print("sent %d" % count)
        for rc, c in sorted(seen.items()):
            print("rcode %s %d" % (rc, c))


if __name__ == "__main__":
    main()
