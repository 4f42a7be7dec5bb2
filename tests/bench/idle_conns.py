# SPDX-License-Identifier: GPL-2.0-only
"""Scenario 7: open N keep-alive HTTPS connections, make one request on each, then hold them idle.

usage: idle_conns.py HOST PORT N HOLD_SECONDS
Prints "ready OK FAILED" once every connection has answered (or failed), holds them open for
HOLD_SECONDS so the caller can read the proxy's memory, then closes them and exits. Certificates
are not verified: this measures memory, and every contender presents a different CA.
"""
import asyncio
import resource
import ssl
import sys


async def one(host, port, ctx, gate, conns):
    async with gate:
        try:
            r, w = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=ctx, server_hostname=host), 30)
            w.write(f"GET /1k HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 30)
            if not head.startswith(b"HTTP/1.1 200"):
                w.close()
                return False
            await asyncio.wait_for(r.readexactly(1024), 30)
            conns.append(w)
            return True
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            return False


async def main():
    host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    gate = asyncio.Semaphore(64)
    conns = []
    results = await asyncio.gather(*(one(host, port, ctx, gate, conns) for _ in range(n)))
    ok = sum(results)
    print(f"ready {ok} {n - ok}", flush=True)
    await asyncio.sleep(hold)
    for w in conns:
        w.close()


asyncio.run(main())
