#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Prints, dependencies first, the .ko files of the named modules and everything they depend on,
# reading each module's own `depends=` (its .modinfo section): the Debian package ships no
# modules.dep, and kmod is not installed on the build host.
import os
import sys

root, names = sys.argv[1], sys.argv[2:]
by_name = {}
for d, _, files in os.walk(root):
    for f in files:
        if f.endswith(".ko"):
            by_name[f[:-3].replace("-", "_")] = os.path.join(d, f)


def depends(path):
    data = open(path, "rb").read()
    i = data.find(b"\0depends=")
    if i < 0:
        return []
    end = data.index(b"\0", i + 1)
    deps = data[i + 9:end].decode()
    return [x.replace("-", "_") for x in deps.split(",") if x]


order, seen = [], set()


def visit(name):
    name = name.replace("-", "_")
    if name in seen:
        return
    seen.add(name)
    if name not in by_name:
        sys.exit(f"modules.py: no module {name} under {root}")
    for dep in depends(by_name[name]):
        visit(dep)
    order.append(by_name[name])


for n in names:
    visit(n)
print("\n".join(order))
