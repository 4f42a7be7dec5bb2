# SPDX-License-Identifier: GPL-2.0-only
# Runs inside a cage as the agent user: IPv4 / IPv6 / IPv4-mapped x TCP / UDP against the
# kernel redirect. Prints TAP lines. argv: GW4 GW6 CAGE4 CAGE6
import errno, os, socket, sys, time

GW4, GW6, CAGE4, CAGE6 = sys.argv[1:5]
ALLOW4, ALLOW6, EVIL4, EVIL6 = "198.51.100.10", "2001:db8:51::10", "198.51.100.20", "2001:db8:51::20"
PUB4, PUB6 = "8.8.8.8", "2001:4860:4860::8888"
n = 0

def tap(ok, desc):
    global n
    n += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n, desc), flush=True)

FAMILIES = [
    ("ipv4", socket.AF_INET, lambda a4, a6: a4, CAGE4),
    ("ipv6", socket.AF_INET6, lambda a4, a6: a6, CAGE6),
    ("mapped", socket.AF_INET6, lambda a4, a6: "::ffff:" + a4, "::ffff:" + CAGE4),
]

def recv_line(s):
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(256)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()

def expect_fast_eperm(desc, fn):
    t0 = time.monotonic()
    try:
        fn()
        tap(False, desc + ": succeeded")
    except OSError as e:
        dt = time.monotonic() - t0
        tap(e.errno == errno.EPERM and dt < 0.5, "%s: %s in %.3fs" % (desc, errno.errorcode.get(e.errno, e.errno), dt))

for fam_name, fam, pick, own in FAMILIES:
    orig_fam = "ipv6" if fam_name == "ipv6" else "ipv4"
    plain = lambda a: a.replace("::ffff:", "")
    for port in (443, 80):
        dst = pick(ALLOW4, ALLOW6)
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            s.connect((dst, port))
            peer, local = s.getpeername(), s.getsockname()
            line = recv_line(s)
            want = "ORIG %s %s %d 1 " % (orig_fam, plain(dst), port)
            tap(line.startswith(want) and line.endswith(" python3"),
                "%s tcp/%d reaches the proxy stand-in, which recovers the original (%s)" % (fam_name, port, line))
            tap(peer[0] == dst and peer[1] == port, "%s tcp/%d getpeername shows the original %s" % (fam_name, port, peer[:2]))
            tap(local[0] == own, "%s tcp/%d getsockname shows the cage's own address %s" % (fam_name, port, local[:2]))
        except OSError as e:
            for what in ("reaches the proxy stand-in", "getpeername", "getsockname"):
                tap(False, "%s tcp/%d %s: %s" % (fam_name, port, what, e))
        finally:
            s.close()
    # TCP 53 to a public resolver goes to the cage resolver.
    dst = pick(PUB4, PUB6)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((dst, 53))
        line = recv_line(s)
        tap(line.startswith("ORIG %s %s 53 3 " % (orig_fam, plain(dst))), "%s tcp/53 reaches the resolver stand-in (%s)" % (fam_name, line))
        tap(s.getpeername()[0] == dst, "%s tcp/53 getpeername shows %s" % (fam_name, s.getpeername()[0]))
    except OSError as e:
        tap(False, "%s tcp/53: %s" % (fam_name, e)); tap(False, "%s tcp/53 getpeername" % fam_name)
    finally:
        s.close()
    # UDP 53, unconnected: the reply appears to come from the server the agent named.
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(b"q-" + fam_name.encode(), (dst, 53))
        data, src = s.recvfrom(512)
        tap(data == b"DNS q-" + fam_name.encode(), "%s udp/53 sendto reaches the resolver stand-in" % fam_name)
        tap(src[0] == dst and src[1] == 53, "%s udp/53 reply source restored to %s" % (fam_name, src[:2]))
    except OSError as e:
        tap(False, "%s udp/53 sendto: %s" % (fam_name, e)); tap(False, "%s udp/53 reply source" % fam_name)
    finally:
        s.close()
    # UDP 53, connected.
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.connect((dst, 53))
        s.send(b"c")
        tap(s.recv(512) == b"DNS c" and s.getpeername()[0] == dst, "%s udp/53 connected works, peer %s" % (fam_name, s.getpeername()[0]))
    except OSError as e:
        tap(False, "%s udp/53 connected: %s" % (fam_name, e))
    finally:
        s.close()
    # Everything else fails at once.
    evil = pick(EVIL4, EVIL6)
    def tcp_evil(port, a=evil):
        s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(3)
        try: s.connect((a, port))
        finally: s.close()
    def udp_evil(port, connect, a=evil):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            if connect: s.connect((a, port)); s.send(b"x")
            else: s.sendto(b"x", (a, port))
        finally: s.close()
    expect_fast_eperm("%s tcp/4444 to EVIL" % fam_name, lambda: tcp_evil(4444))
    expect_fast_eperm("%s tcp/22 to an allowed name's address" % fam_name, lambda: tcp_evil(22, pick(ALLOW4, ALLOW6)))
    expect_fast_eperm("%s udp/9999 sendto EVIL" % fam_name, lambda: udp_evil(9999, False))
    expect_fast_eperm("%s udp/9999 connect EVIL" % fam_name, lambda: udp_evil(9999, True))
    expect_fast_eperm("%s udp/443 (QUIC) to an allowed address" % fam_name, lambda: udp_evil(443, False, pick(ALLOW4, ALLOW6)))
    expect_fast_eperm("%s tcp/22 to the gateway" % fam_name, lambda: tcp_evil(22, pick(GW4, GW6)))

def sock_fails(desc, *args):
    try:
        socket.socket(*args).close()
        tap(False, desc + ": created")
    except OSError as e:
        # SCTP: EPROTONOSUPPORT where the kernel has no sctp module; sock_create refuses it otherwise.
        tap(e.errno in (errno.EPERM, errno.EACCES, errno.EPROTONOSUPPORT), "%s: %s" % (desc, errno.errorcode.get(e.errno, e.errno)))

sock_fails("ICMP ping socket (v4)", socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
sock_fails("ICMPv6 ping socket", socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)
sock_fails("raw IPv4 socket", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
sock_fails("raw IPv6 socket", socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_UDP)
sock_fails("AF_PACKET socket", 17, socket.SOCK_RAW, 0)
sock_fails("SCTP socket", socket.AF_INET, socket.SOCK_STREAM, 132)
