# SPDX-License-Identifier: GPL-2.0-only
"""Turns tests/bench/results/raw.tsv into the markdown tables and latest.json.

usage: report.py RAW.tsv OUT.json OUT.md
raw.tsv lines: scenario, metric, contender, value (a number, or "ERR:why" when it could not run).
Prints the tables (scenarios 1-8, then scenario 9's own); exits 1 when any figure of cagectl
itself is missing (make bench must fail then).
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time

COLUMNS = ["direct", "cagectl", "mitmdump", "mitmdump-regular", "haproxy", "squid", "relay", "dnsmasq"]

# scenario, metric, label, higher is better, reference contender, target
#   target: ("ratio", f)  cagectl / reference >= f (or <= f when lower is better)
#           ("added", x)  cagectl - reference <= x
#           ("abs", x)    cagectl <= x
#           None          reported only
METRICS = [
    ("1", "bulk_MBps", "bulk HTTPS download, inspected, MB/s", True, "direct", ("ratio", 0.6)),
    ("2", "rps", "keep-alive 1 KiB, 50 conns, req/s", True, "direct", ("ratio", 0.4)),
    ("2", "p50_us", "  p50 latency at saturation, µs", False, "direct", None),
    ("2", "p99_us", "  p99 latency at saturation, µs", False, "direct", None),
    ("2", "lat1k_rps", "  offered ~1,000 req/s: achieved req/s", True, "direct", None),
    ("2", "lat1k_p50_us", "  p50 at ~1,000 req/s, µs (target: added)", False, "direct", ("added", 150)),
    ("2", "lat1k_p99_us", "  p99 at ~1,000 req/s, µs (target: added)", False, "direct", ("added", 1000)),
    ("3", "cps", "new TLS connection per request, conn/s", True, "direct", ("ratio", 0.5)),
    ("4", "splice_MBps", "passthrough download, MB/s", True, "relay", ("ratio", 0.9)),
    ("4", "cpu_s_per_GiB", "  proxy CPU seconds per GiB", False, "relay", ("ratio", 0.6)),
    ("5", "qps", "DNS queries/s (dnsperf)", True, "dnsmasq", ("ratio", 1.0)),
    ("6", "up_ms", "cagectl up to ready, ms", False, None, ("abs", 100)),
    ("6", "down_ms", "cagectl down, ms", False, None, ("abs", 100)),
    ("7", "idle_rss_MiB", "idle RSS, proxy + resolver, MiB", False, None, ("abs", 4)),
    ("7", "idle_exit_rss_MiB", "  the same after proxy.idle_exit (cagectl's proxy exited), MiB", False, None, ("abs", 4)),
    ("7", "first_req_ms", "  first HTTPS request after up, ms", False, None, None),
    ("7", "wake_ms", "  first HTTPS request after the idle exit (the start included), ms", False, None, None),
    ("7", "wake_again_ms", "  the same request again, proxy up, ms", False, None, None),
    ("7", "peak_rss_MiB", "peak proxy RSS during scenario 1, MiB", False, None, ("abs", 32)),
    ("7", "conn_bytes", "proxy RSS per idle keep-alive connection, bytes", False, None, None),
    ("7", "conns_ok", "  idle connections established", True, None, None),
    ("8", "bulk_off", "bulk MB/s, inspectors off", True, None, None),
    ("8", "bulk_default", "bulk MB/s, default inspectors", True, None, None),
    ("8", "bulk_all", "bulk MB/s, every inspector", True, None, None),
    ("8", "bulk_cost_pct", "  default chain cost vs off, %", False, None, ("abs", 15)),
    ("8", "rps_off", "keep-alive req/s, inspectors off", True, None, None),
    ("8", "rps_default", "keep-alive req/s, default inspectors", True, None, None),
    ("8", "rps_all", "keep-alive req/s, every inspector", True, None, None),
    ("8", "rps_cost_pct", "  default chain cost vs off, %", False, None, ("abs", 15)),
]

# Scenario 9: metric ms_<shape> per body shape (inspect_bench's shapes.tsv), cagectl against a
# Python scan in agentcage's style; target from issue 5: at most 10 ms per 5 MB body.
SCAN_PEER = "py-scan"
SCAN_TARGET_MS = 10
SCAN_SHAPES = {
    "json": "JSON text (`application/json`)",
    "base64_json": "one 5 MB base64 string in JSON (decoded and rescanned)",
    "binary": "random binary (`application/octet-stream`)",
    "json_untyped": "JSON text, no Content-Type",
    "base64_json_esc": "one 5 MB base64 string in JSON, every `/` escaped as `\\/`",
    "form_b64_pct": "a form field holding 5 MB of percent-escaped base64 (`%2B`, `%2F`, `%3D`)",
}


def load(path):
    samples, errors = {}, {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                continue
            scen, metric, who, value = parts
            key = (scen, metric, who)
            if value.startswith("ERR:"):
                errors.setdefault(key, []).append(value[4:])
                continue
            try:
                samples.setdefault(key, []).append(float(value))
            except ValueError:
                errors.setdefault(key, []).append(f"unparsable {value!r}")
    return samples, errors


def summary(vals):
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def fmt(x):
    if x >= 100 or x == int(x):
        return f"{x:,.0f}"
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


def derive_cost(figs, scen, base, off, default):
    """Scenario 8's cost rows: 1 - default/off, from the medians."""
    o, d = figs.get((scen, off, "cagectl")), figs.get((scen, default, "cagectl"))
    if o and d and "median" in o and "median" in d and o["median"] > 0:
        c = (1 - d["median"] / o["median"]) * 100
        figs[(scen, base, "cagectl")] = {"median": c, "min": c, "max": c, "n": 1}


def judge(target, higher, cage, ref):
    if target is None or cage is None or "median" not in cage:
        return None, None
    kind, x = target
    v = cage["median"]
    if kind == "abs":
        return None, v <= x
    if ref is None or "median" not in ref or ref["median"] == 0:
        return None, None
    if kind == "added":
        return v - ref["median"], v - ref["median"] <= x
    r = v / ref["median"]
    return r, (r >= x if higher else r <= x)


def target_text(target, higher):
    if target is None:
        return ""
    kind, x = target
    if kind == "abs":
        return f"≤ {fmt(x)}"
    if kind == "added":
        return f"+≤ {fmt(x)} µs"
    return f"{'≥' if higher else '≤'} {x}×"


def cell(v):
    if v is None:
        return ""
    if "error" in v:
        return "not run: " + v["error"].replace("|", "/")[:80]
    s = fmt(v["median"])
    if v["n"] > 1:
        s += f" ({fmt(v['min'])}–{fmt(v['max'])})"
    return s


def scan_table(figs, rows, missing):
    """Scenario 9: one line per body shape; the ratio is how many times longer the peer takes."""
    shapes = []
    for scen, metric, _ in figs:
        if scen == "9" and metric.startswith("ms_") and metric[3:] not in shapes:
            shapes.append(metric[3:])
    err = figs.get(("9", "scan_ms", "cagectl"))
    if err:
        missing.append(f"9/scan_ms: {err['error']}")
    if not shapes and not err:
        return []
    md = ["Scenario 9: inspector scan of a 5 MB request body, ms (median, then min–max over the "
          f"rounds; each run's figure is the median of {os.environ.get('SCAN_REPS', '?')} scans). "
          f"{SCAN_PEER} is a Python scan in agentcage's style (tests/bench/py_scan_peer.py), not "
          "agentcage itself.", "",
          f"| body (5 MB) | cagectl, ms | {SCAN_PEER}, ms | {SCAN_PEER} / cagectl | target | cagectl vs target |",
          "|---|---|---|---|---|---|"]
    if err:
        md.append(f"| (all) | {cell(err)} | {cell(figs.get(('9', 'scan_ms', SCAN_PEER)))} |  | "
                  f"≤ {SCAN_TARGET_MS} ms | not run |")
    for shape in shapes:
        cage, peer = figs.get(("9", "ms_" + shape, "cagectl")), figs.get(("9", "ms_" + shape, SCAN_PEER))
        label = SCAN_SHAPES.get(shape, shape)
        ratio = met = None
        if cage is None or "error" in cage:
            verdict = "not run"
            missing.append(f"9/ms_{shape}: {cage['error'] if cage else 'no figure'}")
        else:
            met = cage["median"] <= SCAN_TARGET_MS
            verdict = "met" if met else "NOT met"
            if peer and "median" in peer and cage["median"] > 0:
                ratio = peer["median"] / cage["median"]
        md.append(f"| {label} | {cell(cage)} | {cell(peer)} | "
                  f"{'' if ratio is None else f'{ratio:,.0f}×' if ratio >= 10 else f'{ratio:.2f}×'} | "
                  f"≤ {SCAN_TARGET_MS} ms | {verdict} |")
        rows.append({"scenario": "9", "metric": "ms_" + shape, "label": label.replace("`", ""),
                     "higher_is_better": False, "reference": SCAN_PEER,
                     "target": {"kind": "abs", "value": SCAN_TARGET_MS}, "cagectl": cage,
                     "peers": {SCAN_PEER: peer} if peer else {}, "ratio_or_added": ratio,
                     "ratio_is": f"{SCAN_PEER} / cagectl", "met": met})
    return md


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_GiB": round(mem, 1),
            "kernel": platform.release()}


def main():
    raw, out_json, out_md = sys.argv[1:4]
    samples, errors = load(raw)
    figs = {k: summary(v) for k, v in samples.items()}
    for k, v in errors.items():
        if k not in figs:
            figs[k] = {"error": v[0]}
    derive_cost(figs, "8", "bulk_cost_pct", "bulk_off", "bulk_default")
    derive_cost(figs, "8", "rps_cost_pct", "rps_off", "rps_default")

    rows, md, missing = [], [], []
    used = [c for c in COLUMNS if any(k[2] == c and k[0] != "9" for k in figs)]
    md.append("| # | metric | " + " | ".join(used) + " | target | cagectl vs target |")
    md.append("|---|---|" + "---|" * len(used) + "---|---|")
    for scen, metric, label, higher, ref, target in METRICS:
        cells = {c: figs.get((scen, metric, c)) for c in used}
        if all(v is None for v in cells.values()):
            continue
        cage = cells.get("cagectl")
        refv = cells.get(ref) if ref else None
        ratio, met = judge(target, higher, cage, refv)
        md_cells = []
        for c in used:
            v = cells[c]
            if v is None:
                md_cells.append("")
            elif "error" in v:
                md_cells.append("not run: " + v["error"].replace("|", "/")[:80])
            else:
                s = fmt(v["median"])
                if v["n"] > 1:
                    s += f" ({fmt(v['min'])}–{fmt(v['max'])})"
                if ref and c != ref and refv and "median" in refv and refv["median"]:
                    s += f" ×{v['median'] / refv['median']:.2f}"
                md_cells.append(s)
        if cage is None or "error" in cage:
            verdict = "not run"
            missing.append(f"{scen}/{metric}: {cage['error'] if cage else 'no figure'}")
        elif met is None:
            verdict = "" if target is None else "no reference"
        else:
            shown = "" if ratio is None else (f" (+{fmt(ratio)} µs)" if target[0] == "added" else f" ({ratio:.2f}×)")
            verdict = ("met" if met else "NOT met") + shown
        md.append(f"| {scen} | {label} | " + " | ".join(md_cells) + f" | {target_text(target, higher)} | {verdict} |")
        rows.append({"scenario": scen, "metric": metric, "label": label.strip(),
                     "higher_is_better": higher, "reference": ref,
                     "target": None if target is None else {"kind": target[0], "value": target[1]},
                     "cagectl": cage, "peers": {c: v for c, v in cells.items() if c != "cagectl" and v},
                     "ratio_or_added": ratio, "met": met})

    if len(md) == 2:
        md = []
    scan_md = scan_table(figs, rows, missing)
    if md and scan_md:
        md.append("")
    md += scan_md

    doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": git_commit(),
           "quick": os.environ.get("QUICK", "0") == "1", "rounds": int(os.environ.get("ROUNDS", "0")),
           "machine": machine(), "load_average": os.environ.get("BENCH_LOAD", ""),
           "idle_connections": int(os.environ.get("IDLE_N", "0")),
           "scan_reps": int(os.environ.get("SCAN_REPS", "0")),
           "results": rows, "cagectl_missing": missing}
    with open(out_json, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    m = doc["machine"]
    head = (f"{doc['date']}, commit {doc['commit']}, {m['cpu']}, {m['cores']} cores, "
            f"{m['memory_GiB']} GiB, Linux {m['kernel']}, rounds {doc['rounds']}, "
            f"load average {doc['load_average']}"
            + (", QUICK=1 (reduced sizes)" if doc["quick"] else ""))
    text = head + "\n\n" + "\n".join(md) + "\n"
    with open(out_md, "w") as f:
        f.write(text)
    print(text)
    if missing:
        print("cagectl could not be measured in: " + "; ".join(missing), file=sys.stderr)
        return 1
    return 0


sys.exit(main())
