# SPDX-License-Identifier: GPL-2.0-only
"""Shared by the lab's servers: one JSON line per event appended to the sentinel log.

Every writer opens the file with O_APPEND and emits each line with a single write(), so lines from
concurrent processes and threads never interleave (the kernel serialises appends per inode).
"""
import json
import os
import re
import time

SENTINEL = '/run/lab/sentinel.log'
_fd = -1

# Printable ASCII stays, tab/newline/CR stay (JSON escapes them), every other byte becomes '.', so a
# nonce or canary in any payload shows up verbatim in the log.
_PRINTABLE = bytes(c if 32 <= c < 127 or c in (9, 10, 13) else 46 for c in range(256))


def open_log(path=SENTINEL):
    global _fd
    _fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def log(source, **fields):
    record = {'ts': round(time.time(), 6), 'src': source}
    record.update(fields)
    line = json.dumps(record, ensure_ascii=True, separators=(',', ':')) + '\n'
    os.write(_fd, line.encode())


def printable(data, limit=4096):
    return bytes(data[:limit]).translate(_PRINTABLE).decode('ascii')


def addr(sockaddr):
    host, port = sockaddr[0], sockaddr[1]
    return f'[{host}]:{port}' if ':' in host else f'{host}:{port}'


def known_secrets(paths=('/run/lab/env.sh', '/run/lab/real.env')):
    """Values a leak scan looks for: the canaries of env.sh and every value of real.env."""
    values = []
    for path in paths:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        for m in re.finditer(r'(?:export\s+)?(CANARY_\w+|REAL_\w+)=(\S+)', text):
            values.append(m.group(2).strip('\'"'))
    return [v for v in values if len(v) >= 8]


class BodyScan:
    """Keeps the head and tail of a body of any size and finds nonces and secrets in the middle.

    Bodies may be gigabytes (benchmarks, row 98), so only a window is logged verbatim; a regex over
    every chunk (with an overlap, so matches split between chunks are found) reports what a leak
    check needs from the part that is not kept.
    """
    HEAD = 64 * 1024
    TAIL = 16 * 1024
    OVERLAP = 128

    def __init__(self, secrets):
        alternatives = [re.escape(s.encode()) for s in secrets] + [rb'rt-[A-Za-z0-9_.-]{1,64}']
        self.pattern = re.compile(b'|'.join(alternatives))
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.hits = []
        self.carry = b''

    def feed(self, chunk):
        self.total += len(chunk)
        if len(self.head) < self.HEAD:
            self.head += chunk[:self.HEAD - len(self.head)]
        self.tail += chunk
        if len(self.tail) > 2 * self.TAIL:
            del self.tail[:len(self.tail) - self.TAIL]
        window = self.carry + bytes(chunk)
        if len(self.hits) < 32:
            for m in self.pattern.finditer(window):
                hit = m.group().decode('latin-1')
                if hit not in self.hits:
                    self.hits.append(hit)
        self.carry = window[-self.OVERLAP:]

    def fields(self):
        out = {'body_len': self.total, 'body': printable(self.head, self.HEAD)}
        if self.total > self.HEAD:
            out['body_tail'] = printable(self.tail[-self.TAIL:], self.TAIL)
            out['body_hits'] = self.hits
        return out
