#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""The peer of make bench's scenario 9: a Python scan in agentcage's style.

Not agentcage itself (it is not installable here): the same work cagectl's chain does on a
request body, written the way agentcage's inspectors are (the body decoded to text once, the
entropy from collections.Counter, each secret family a compiled `re` searched over the whole
text in turn), with cagectl's own regexes and decoders so both sides do the same job:

  - the 20 secret families of userspace/inspect/patterns.c (checked against the table
    inspect_bench wrote; a drift is an error, never a silent comparison of different work);
  - JSON string escapes decoded and rescanned (JSON and untyped bodies), percent-decoding
    (form, multipart and untyped bodies), each only when the body holds an escape, as cagectl's
    lazy views;
  - base64 / base64url, hex and base32 runs of 16 characters or more decoded and rescanned,
    two levels deep (a run continues across CR/LF; a codec decodes while the run stays in its
    alphabet, and only if the run's first 16 characters are); once an escaped view applies,
    the runs are decoded in the unescaped text (a form's with its literal '+' kept) and the raw
    runs are only measured, as cagectl's views take the runs over at their first escape;
  - the content-type verdict for text types: entropy over 6.5 bits/byte, or a base64 run of 256
    characters or more that is not an image.

It is slower than agentcage itself would be on the same body: cagectl's regexes start with \b,
which keeps CPython's re from its fast literal search, and agentcage decodes no runs. What it
measures is the same detection done in CPython (docs/benchmarks.md, scenario 9).

usage: py_scan_peer.py DIR [REPS]
DIR is what `inspect_bench --write-bodies DIR` wrote. Per shape: one untimed scan, then REPS (5)
timed ones; prints "shape<TAB>median ms", as `inspect_bench --tsv` does. Exits non-zero when it
cannot measure.
"""
import base64
import binascii
import math
import re
import statistics
import sys
import time
import urllib.parse
from collections import Counter

# userspace/inspect/patterns.c, translated. Vectorscan's syntax here is the PCRE subset that
# Python's re reads alike; re.ASCII gives \b and the classes Vectorscan's byte semantics.
_NOT_TOK = r"[^A-Za-z0-9+/=_\-]"
_LEFT = r"(?:^|" + _NOT_TOK + r")"
_RIGHT = r"(?:" + _NOT_TOK + r"|$)"
FAMILIES = [
    ("openai_key", r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}"),
    ("anthropic_key", r"sk-ant-(?:api|admin|oat|ort|sid)[0-9]{2}-[A-Za-z0-9_\-]{80,}"),
    ("aws_access_key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b"),
    ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    ("github_pat", r"\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b"),
    ("google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    ("slack_token", r"\bxox[abposre]-[0-9]{8,}-[0-9A-Za-z\-]{8,}"),
    ("stripe_key", r"\b[sr]k_(?:live|test)_[0-9A-Za-z]{24,}"),
    ("private_key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    ("gitlab_token", r"\bgl(?:pat|dt|rt|ptt|soat)-[0-9A-Za-z_\-]{20,}"),
    ("huggingface_token", r"\bhf_[A-Za-z]{34}\b"),
    ("databricks_token", r"\bdapi[0-9a-f]{32}(?:-[0-9])?\b"),
    ("jwt", r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{20,}"),
    ("openrouter_key", r"\bsk-or-v1-[0-9a-f]{64}\b"),
    ("perplexity_key", _LEFT + r"pplx-[A-Za-z0-9]{48}" + _RIGHT),
    ("brave_api_key", _LEFT + r"BSA[A-Za-z0-9_\-]{28,29}" + _RIGHT),
    ("telegram_bot_token", r"\b[0-9]{8,10}:AA[A-Za-z0-9_\-]{33}\b"),
    ("discord_bot_token", r"\b[MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27}"),
    ("firecrawl_key", r"\bfc-[0-9a-f]{32}\b"),
    ("google_oauth_token", r"\bya29\.[0-9A-Za-z_\-]{30,}"),
]
# The text of the body is searched as str (agentcage's body_text); decoded runs are bytes.
STR_PATS = [(n, re.compile(r, re.ASCII)) for n, r in FAMILIES]
BYTES_PATS = [(n, re.compile(r.encode())) for n, r in FAMILIES]

MAX_DEPTH = 2      # scan.c SCAN_MAX_DEPTH: base64 of hex of a secret is found
RUN_MIN = 16       # scan.c SCAN_RUN_MIN
CT_CEILING = 6.5   # content_type defaults (inspect_conf.c)
BASE64_MIN = 256
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded",
              "multipart/form-data", "application/javascript", "application/graphql",
              "application/x-ndjson", "application/yaml")
IMAGE_HEADS = (b"iVBORw0KGgo", b"/9j/", b"R0lGOD", b"UklGR")

RUN_RE = re.compile(rb"[A-Za-z0-9+/_\-]{16,}(?:[\r\n]+[A-Za-z0-9+/_\-]+)*")
HEX_PREFIX = re.compile(rb"[0-9A-Fa-f]*")
B32_PREFIX = re.compile(rb"[A-Za-z2-7]*")
URLSAFE = bytes.maketrans(b"-_", b"+/")
JSON_ESC = re.compile(r'\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})'
                      r'|\\u([0-9a-fA-F]{4})|\\(["\\/bfnrt])')
JSON_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def shannon_entropy(data):
    """Bits per byte, as agentcage's orchestrator computes it once per body."""
    if not data:
        return 0.0
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values())


def json_unescape(m):
    if m.group(4):
        return JSON_SIMPLE[m.group(4)]
    if m.group(3):
        return chr(int(m.group(3), 16))
    hi, lo = int(m.group(1), 16), int(m.group(2), 16)
    return chr(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))


def b64(run):
    run = run.translate(URLSAFE)
    cut = len(run) - len(run) % 4
    out = binascii.a2b_base64(run[:cut])
    # The trailing 2 or 3 characters still carry whole bytes, as scan.c's decoder emits them.
    if len(run) - cut >= 2:
        out += binascii.a2b_base64(run[cut:] + b"=" * (4 - (len(run) - cut)))
    return out


def b32(run):
    # Whole 8-character groups: the 0-4 bytes of a ragged tail are the only difference from
    # scan.c, which emits them.
    return base64.b32decode(run[:len(run) - len(run) % 8].upper())


def scan_bytes(data, depth, hits):
    """A decoded view or a decoded run: the families, then (below MAX_DEPTH) its own runs."""
    for name, pat in BYTES_PATS:
        if pat.search(data):
            hits.append(name)
    if depth < MAX_DEPTH:
        scan_runs(data, depth, hits)


def scan_runs(data, depth, hits, decode=True):
    """Runs of 16 or more decoded by every codec whose alphabet holds the first 16 (decode
    False: only measured); returns the longest run that is not a base64 image (content type's
    dlp.ctype_base64)."""
    longest = 0
    for m in RUN_RE.finditer(data):
        run = m.group()
        if b"\r" in run or b"\n" in run:
            run = run.replace(b"\r", b"").replace(b"\n", b"")
        if not run.startswith(IMAGE_HEADS):
            longest = max(longest, len(run))
        if not decode:
            continue
        head = run[:RUN_MIN]
        children = [b64(run)]
        if HEX_PREFIX.fullmatch(head):
            h = HEX_PREFIX.match(run).group()
            children.append(binascii.unhexlify(h[:len(h) & ~1]))
        if B32_PREFIX.fullmatch(head):
            children.append(b32(B32_PREFIX.match(run).group()))
        for child in children:
            scan_bytes(child, depth + 1, hits)
    return longest


def chain(body, ctype):
    """One request body through the chain; returns (families found, content-type verdict)."""
    hits = []
    text = body.decode("utf-8", errors="replace")
    entropy = shannon_entropy(body)
    for name, pat in STR_PATS:
        if pat.search(text):
            hits.append(name)
    untyped = not ctype
    plain = ctype.lower().startswith("text/plain")
    form = ctype.lower().startswith("application/x-www-form-urlencoded")
    json_view = untyped or plain or "json" in ctype.lower()
    pct_view = untyped or plain or form or ctype.lower().startswith("multipart/")
    json_on = json_view and "\\" in text
    pct_on = pct_view and (b"%" in body or (form and b"+" in body))
    if json_on:
        view = JSON_ESC.sub(json_unescape, text)
        for name, pat in STR_PATS:
            if pat.search(view):
                hits.append(name)
        scan_runs(view.encode("utf-8", errors="surrogatepass"), 0, hits)
    if pct_on:
        kept = urllib.parse.unquote_to_bytes(body)
        view = urllib.parse.unquote_to_bytes(body.replace(b"+", b" ")) if form else kept
        for name, pat in BYTES_PATS:
            if pat.search(view):
                hits.append(name)
        scan_runs(kept, 0, hits)
    # The raw runs are decoded only while a view that applies has not started.
    raw_decodes = (json_view and not json_on) or (pct_view and not pct_on) or not (json_view or pct_view)
    longest = scan_runs(body, 0, hits, decode=raw_decodes)
    verdict = None
    if ctype and ctype.lower().startswith(TEXT_TYPES):
        if len(body) >= 64 and entropy > CT_CEILING:
            verdict = "dlp.ctype_entropy"
        elif longest >= BASE64_MIN:
            verdict = "dlp.ctype_base64"
    return hits, verdict


def check_table(path):
    """cagectl's table as inspect_bench wrote it; any difference means different work."""
    theirs = []
    with open(path) as f:
        for line in f:
            name, _, regex = line.rstrip("\n").partition("\t")
            theirs.append((name, regex))
    if theirs != FAMILIES:
        diff = sorted({n for n, _ in set(theirs) ^ set(FAMILIES)})
        sys.exit(f"py_scan_peer: the family table differs from cagectl's patterns.c ({', '.join(diff)}): "
                 "update FAMILIES in tests/bench/py_scan_peer.py")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    bodies = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if reps < 1:
        sys.exit("py_scan_peer: REPS must be at least 1")
    check_table(f"{bodies}/patterns.tsv")
    with open(f"{bodies}/shapes.tsv") as f:
        shapes = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    for slug, ctype, _label in shapes:
        with open(f"{bodies}/{slug}.body", "rb") as f:
            body = f.read()
        ctype = "" if ctype == "-" else ctype
        chain(body, ctype)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            chain(body, ctype)
            times.append((time.perf_counter() - t0) * 1e3)
        print(f"{slug}\t{statistics.median(times):.3f}", flush=True)


if __name__ == "__main__":
    main()
