#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# Test stand-in for the cage monitor's part in starting cage-dns: binds UDP and TCP port 53 on
# the cage gateway addresses as root, hands the sockets to cage-dns as inherited fds, waits for
# its ready byte, prints "ready <pid>", then stays the daemon's parent (PID 1 here reaps no
# orphans) and passes SIGTERM on.
#
#   dns_launch.py --bind ADDR [--bind ADDR] [--port 53] -- /path/cage-dns --cage ... (no fd args)
import os
import signal
import socket
import sys


def main():
    args = sys.argv[1:]
    if '--' not in args:
        sys.exit('usage: dns_launch.py --bind ADDR [--bind ADDR] [--port N] -- CAGE_DNS ARGS...')
    sep = args.index('--')
    opts, cmd = args[:sep], args[sep + 1:]
    binds, port = [], 53
    while opts:
        k = opts.pop(0)
        if k == '--bind':
            binds.append(opts.pop(0))
        elif k == '--port':
            port = int(opts.pop(0))
        else:
            sys.exit(f'unknown option {k}')
    udp, tcp = [], []
    for a in binds:
        fam = socket.AF_INET6 if ':' in a else socket.AF_INET
        u = socket.socket(fam, socket.SOCK_DGRAM)
        t = socket.socket(fam, socket.SOCK_STREAM)
        for s in (u, t):
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((a, port))
        u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        t.listen(128)
        udp.append(u)
        tcp.append(t)
    rd, wr = os.pipe()
    fds = [s.fileno() for s in udp + tcp] + [wr]
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        for fd in fds:
            os.set_inheritable(fd, True)
        os.execv(cmd[0], cmd + ['--udp-fd', ','.join(str(s.fileno()) for s in udp),
                                '--tcp-fd', ','.join(str(s.fileno()) for s in tcp),
                                '--ready-fd', str(wr)])
    os.close(wr)
    for s in udp + tcp:
        s.close()
    signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
    signal.signal(signal.SIGINT, lambda *_: os.kill(pid, signal.SIGTERM))
    ready = os.read(rd, 1)
    os.close(rd)
    if ready == b'1':
        print(f'ready {pid}', flush=True)
    else:
        print('failed', flush=True)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    sys.exit(os.waitstatus_to_exitcode(status) if ready == b'1' else 1)


main()
