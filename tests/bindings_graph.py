#!/usr/bin/env python3
"""The shape of bindings/: a star around laux, as TAP.

Edges come from two sources: the #include lines of bindings/*.c and *.h,
and the objects' symbols (nm): file A depends on file B when A.o uses an
lg_* symbol that B.o defines.  The rules:
  - the graph has no circle;
  - a binding file lX.c includes no other lY.c's header and uses no lg_*
    symbol of another lY.c: it depends on laux only;
  - only lgenlab.c (the table of modules) and main.c (the program) reach
    the openers, and laux.c depends on no binding file.
Usage: tests/bindings_graph.py [BUILD]  (BUILD holds bindings/*.o; default build)
"""
import os
import re
import subprocess
import sys

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BUILD", "build")
HUBS = {"lgenlab", "main"}          # may depend on every binding file
results = []


def check(ok, name, detail=""):
    results.append((ok, name, detail))


def includes(path):
    with open(path) as f:
        return re.findall(r'^\s*#\s*include\s+"([^"]+)"', f.read(), re.M)


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-1].startswith("lg_"):
            kind, name = parts[-2], parts[-1]
            (used if kind == "U" else defined).add(name)
    return defined, used


sources = sorted(f[:-2] for f in os.listdir("bindings") if f.endswith(".c"))
headers = {f[:-2] for f in os.listdir("bindings") if f.endswith(".h")}
edges = {s: set() for s in sources}

for s in sources:
    for inc in includes(f"bindings/{s}.c"):
        h = os.path.basename(inc)[:-2]
        if "/" not in inc and h in headers and h != s:
            edges[s].add(h)       # the header stands for its .c file

owner = {}
syms = {}
for s in sources:
    obj = f"{BUILD}/bindings/{s}.o"
    if not os.path.exists(obj):
        check(False, f"{obj} exists (build first)")
        continue
    syms[s] = symbols(obj)
    for name in syms[s][0]:
        owner[name] = s
for s, (_, used) in syms.items():
    for name in used:
        if name in owner and owner[name] != s:
            edges[s].add(owner[name])

for s in sources:
    if s in HUBS or s == "laux":
        continue
    others = sorted(e for e in edges[s] if e != "laux" and e not in HUBS)
    check(not others, f"bindings/{s}.c depends on laux only",
          "also on " + ", ".join(others) if others else "")
    check("lgenlab" not in edges[s], f"bindings/{s}.c does not reach lgenlab")
check(edges.get("laux", set()) == set(), "bindings/laux.c depends on no binding file",
      ", ".join(sorted(edges.get("laux", set()))))

# A circle: depth-first search for a back-edge.
state, circle = {}, []


def visit(n, path):
    state[n] = 1
    for m in sorted(edges.get(n, ())):
        if state.get(m) == 1:
            circle.append(" -> ".join(path[path.index(m):] + [m]) if m in path else f"{n} -> {m}")
        elif m in edges and m not in state:
            visit(m, path + [m])
    state[n] = 2


for s in sources:
    if s not in state:
        visit(s, [s])
check(not circle, "the include and symbol graph of bindings/ has no circle", "; ".join(circle))

print(f"1..{len(results)}")
for i, (ok, name, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        print(f"# {detail}")
sys.exit(0 if all(r[0] for r in results) else 1)
