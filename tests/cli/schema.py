#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Checks JSON on stdin against a small JSON Schema subset (type, required, properties, items,
# enum, additionalProperties as a schema). `--lines` checks every line as one document.
# Exit 0 when valid; otherwise prints the first problem as "path: message" and exits 1.
import json, sys

TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def check(v, s, path):
    t = s.get("type")
    if t:
        ts = t if isinstance(t, list) else [t]
        ok = False
        for one in ts:
            if one in ("integer", "number"):
                ok |= isinstance(v, (int, float)) and not isinstance(v, bool) and \
                    (one == "number" or float(v).is_integer())
            else:
                ok |= isinstance(v, TYPES[one])
        if not ok:
            return "%s: %r is not %s" % (path, v, t)
    if "enum" in s and v not in s["enum"]:
        return "%s: %r not in %s" % (path, v, s["enum"])
    if isinstance(v, dict):
        for k in s.get("required", []):
            if k not in v:
                return "%s: missing key %s" % (path, k)
        props = s.get("properties", {})
        for k, sub in v.items():
            sch = props.get(k, s.get("additionalProperties") if isinstance(s.get("additionalProperties"), dict) else None)
            if sch is not None:
                err = check(sub, sch, path + "." + k)
                if err:
                    return err
    if isinstance(v, list) and "items" in s:
        for i, sub in enumerate(v):
            err = check(sub, s["items"], "%s[%d]" % (path, i))
            if err:
                return err
    return None


def main():
    schema = json.load(open(sys.argv[1]))
    data = sys.stdin.read()
    docs = [l for l in data.splitlines() if l.strip()] if "--lines" in sys.argv else [data]
    if not docs:
        print("no JSON on stdin")
        return 1
    for d in docs:
        try:
            v = json.loads(d)
        except ValueError as e:
            print("not JSON: %s: %r" % (e, d[:200]))
            return 1
        err = check(v, schema, "$")
        if err:
            print(err)
            return 1
    return 0


sys.exit(main())
