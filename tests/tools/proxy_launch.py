#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# Test stand-in for the cage monitor's part in starting cage-proxy: binds the transparent and
# explicit ports on the cage gateway addresses as root, hands them over as inherited fds, waits
# for the ready byte, prints "ready <pid>", stays the daemon's parent (PID 1 here reaps no
# orphans) and passes SIGTERM and SIGHUP on.
#
#   proxy_launch.py --bind ADDR [--bind ADDR] [--transparent 15001] [--explicit 3128] \
#       -- /path/cage-proxy --cage ... (no fd arguments)
import os
import signal
import socket
import sys


def listener(addr, port):
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1024)
    return s


def main():
    args = sys.argv[1:]
    if '--' not in args:
        sys.exit('usage: proxy_launch.py --bind ADDR [--transparent N] [--explicit N] -- CAGE_PROXY ARGS...')
    sep = args.index('--')
    opts, cmd = args[:sep], args[sep + 1:]
    binds, tport, eport = [], 15001, 3128
    while opts:
        k = opts.pop(0)
        if k == '--bind':
            binds.append(opts.pop(0))
        elif k == '--transparent':
            tport = int(opts.pop(0))
        elif k == '--explicit':
            eport = int(opts.pop(0))
        else:
            sys.exit(f'unknown option {k}')
    trans = [listener(a, tport) for a in binds]
    expl = [listener(a, eport) for a in binds]
    rd, wr = os.pipe()
    fds = [s.fileno() for s in trans + expl] + [wr]
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        for fd in fds:
            os.set_inheritable(fd, True)
        os.execv(cmd[0], cmd + ['--transparent-fd', ','.join(str(s.fileno()) for s in trans),
                                '--explicit-fd', ','.join(str(s.fileno()) for s in expl),
                                '--ready-fd', str(wr)])
    os.close(wr)
    for s in trans + expl:
        s.close()
    signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
    signal.signal(signal.SIGINT, lambda *_: os.kill(pid, signal.SIGTERM))
    signal.signal(signal.SIGHUP, lambda *_: os.kill(pid, signal.SIGHUP))
    ready = os.read(rd, 1)
    os.close(rd)
    print(f'ready {pid}' if ready == b'1' else 'failed', flush=True)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    sys.exit(os.waitstatus_to_exitcode(status) if ready == b'1' else 1)


main()
