#!/usr/bin/python3
"""Differential tester: random tensor programs run by genlab and by numpy (or PyTorch).

    tests/diff/difftest.py --tap                       the fixed-seed suite (tests/run.sh runs it)
    tests/diff/difftest.py --programs 10000 [--seed S] the long mode (`make difftest`)
    tests/diff/difftest.py --only SEED:PROFILE:INDEX   one program: its texts and both results

gen.py makes each program; lang.py renders it as genlab Lua, numpy and PyTorch text from one AST.
Many programs go into one Lua file run by one genlab process (each in a pcall; it prints every
variable's dtype, shape and values with %.17g); the numpy programs run in this process, each
statement by itself so that an error names its statement. Per program the two sides must agree:
- both finish, or both raise at the same statement;
- every variable (and, in autograd programs, every leaf's .grad) has the same dtype and shape,
  and values within the tolerance: float64 programs |a - b| <= 1e-9 + 1e-9 |b|; programs with
  float32 tensors 1e-4 + 2e-4 |b|; NaN matches NaN and infinities match by sign (in gradients
  any two non-finite values match: inf * 0 gives NaN or not by the order of operations).
In autograd programs PyTorch's backward may refuse a saved tensor that was changed in place;
genlab may refuse it too, or go on when its rule does not read that tensor, and then it must give
the gradients of PyTorch run with every saved tensor copied when saved. Where genlab refuses and
PyTorch computes, the program is a note (NOTES), printed but failing nothing.
A divergent program is shrunk (statements dropped while the same kind of divergence remains, then
literals set to 1, 2, 3, ...) and printed as Lua and numpy (or PyTorch) text with both results.
Divergences are sorted into CATEGORIES by their messages and the statements left after
shrinking; an indexing program that agrees once its x[{...}] are spelled as narrow/select calls
is an indexing bug.
"""

import argparse
import os
import re
import random
import subprocess
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lang import Backward  # noqa: E402
try:
    import numpy as np
except ImportError:  # pragma: no cover - reported as a skip
    np = None

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

TOL = {False: (1e-9, 1e-9), True: (1e-4, 2e-4)}  # f32 program? -> (atol, rtol)

# The fixed-seed suite: (profile, programs). 560 programs, a few seconds.
SUITE = [("mixed", 150), ("alias", 80), ("expand", 60), ("index", 80), ("reduce", 50),
         ("grad", 60), ("saved", 80)]
SUITE_SEED = "ci1"
# Long mode: the share of each profile.
MIX = {"mixed": 3, "alias": 1.5, "expand": 1, "index": 1.5, "reduce": 1, "grad": 1, "saved": 1}

# Categories that are reported but fail nothing: genlab refusing a backward that PyTorch computes
# satisfies (4) when genlab's rule reads the changed tensor (div reads its result, PyTorch its
# operands; PyTorch's batched matmul reads a copy); it is a bug only where the rule does not.
NOTES = ("saved-strict", "nan-grad")

CATEGORIES = [
    ("expanded", "(2) write into an expanded view must raise"),
    ("saved", "(4) a saved tensor changed in place: backward neither raises nor gives the "
              "gradient of the values saved"),
    ("saved-strict", "(4, note) backward refuses a change to a tensor PyTorch does not save"),
    ("nan-grad", "(note) only gradients differ, PyTorch's all NaN: a NaN forward value (an empty "
                 "mean) meets PyTorch's NaN != NaN masks, e.g. min over a dim of size 1"),
    ("overlap", "(1) in-place op whose output overlaps an input"),
    ("index", "(3) index ranges"),
    ("dtype", "in-place op on float32 with a float64 operand (numpy and PyTorch cast)"),
    ("other", "other"),
]

LUA_HEAD = r'''local G = require "genlab"
io.stdout:setvbuf("full")
local S = 0
local fmt = string.format
local function flat(t, out)
  if type(t) == "table" then
    for i = 1, #t do flat(t[i], out) end
  else
    out[#out + 1] = fmt("%.17g", t)
  end
end
local function dump(name, t)
  if t == nil then io.write("#V ", name, " nil\n") return end
  if type(t) == "number" then io.write("#V ", name, " number [] ", fmt("%.17g", t), "\n") return end
  if not G.is_tensor(t) then io.write("#V ", name, " other ", type(t), "\n") return end
  local ok, line = pcall(function()
    local out = {}
    G.no_grad(function() flat(t:detach():totable(), out) end)
    return fmt("#V %s %s [%s] %s\n", name, t.dtype, table.concat(t.shape, ","), table.concat(out, " "))
  end)
  io.write(ok and line or ("#V " .. name .. " error " .. tostring(line):gsub("\n", " ") .. "\n"))
end
local function run(id, names, leaves, body)
  io.write("#P ", id, "\n")
  io.flush()
  local V = {}
  S = 0
  local ok, err = pcall(body, V)
  G.set_grad_enabled(true)
  if not ok then io.write("#E ", S, " ", (tostring(err):gsub("\n", " ")), "\n") end
  for _, n in ipairs(names) do dump(n, V[n]) end
  for _, n in ipairs(leaves) do
    local t = V[n]
    dump(n .. ".grad", G.is_tensor(t) and t.grad or nil)
  end
  io.write("#END\n")
end
'''


def lua_block(prog, desugar=False):
    from lang import Style
    st = Style(True, desugar)
    names = ", ".join('"%s"' % n for n in prog.names())
    leaves = ", ".join('"%s"' % n for n in prog.leaves)
    lines = ['run("%s", {%s}, {%s}, function(V)' % (prog.pid, names, leaves)]
    for k, s in enumerate(prog.stmts, 1):
        lines.append("S = %d; %s" % (k, s.lua(st)))
    lines.append("end)")
    return "\n".join(lines)


# ---- running genlab ---------------------------------------------------------------------------

def parse_output(text):
    """{pid: result}; result = {"error": (stmt, msg) | None, "vars": {name: value}}."""
    out, cur = {}, None
    for line in text.split("\n"):
        if line.startswith("#P "):
            cur = {"error": None, "vars": {}, "done": False}
            out[line[3:]] = cur
        elif cur is None:
            continue
        elif line.startswith("#E "):
            k, _, msg = line[3:].partition(" ")
            cur["error"] = (int(k), msg)
        elif line.startswith("#V "):
            parts = line[3:].split(" ", 3)
            name, kind = parts[0], parts[1]
            if kind == "nil":
                cur["vars"][name] = ("nil",)
            elif kind in ("error", "other"):
                cur["vars"][name] = (kind, " ".join(parts[2:]))
            else:
                shape = tuple(int(v) for v in parts[2][1:-1].split(",") if v)
                vals = parts[3].split() if len(parts) > 3 else []
                cur["vars"][name] = ("tensor", kind, shape, np.array([float(v) for v in vals]))
        elif line == "#END":
            cur["done"] = True
    return out


def run_genlab(progs, exe, timeout=300, desugar=False):
    """Run programs in as few genlab processes as it takes: a crash or hang costs the program
    that was running (its result says so) and the rest run again in a fresh process."""
    results = {}
    todo = list(progs)
    while todo:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(LUA_HEAD + "\n".join(lua_block(p, desugar) for p in todo) + "\n")
            path = f.name
        try:
            proc = subprocess.run([exe, path], capture_output=True, timeout=timeout,
                                  env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
            text, err, rc = proc.stdout.decode(errors="replace"), proc.stderr, proc.returncode
            hung = False
        except subprocess.TimeoutExpired as e:
            text = (e.stdout or b"").decode(errors="replace")
            err, rc, hung = e.stderr or b"", None, True
        finally:
            os.unlink(path)
        got = parse_output(text)
        rest = []
        for i, p in enumerate(todo):
            r = got.get(p.pid)
            if r is not None and r["done"]:
                results[p.pid] = r
            elif r is not None:  # it started and never finished: it crashed or hung
                why = "hung (killed after %ds)" % timeout if hung else "exited with status %s" % rc
                tail = err.decode(errors="replace").strip().splitlines()[-3:]
                results[p.pid] = {"error": None, "vars": {}, "done": False,
                                  "crash": "genlab %s: %s" % (why, " | ".join(tail))}
                rest = todo[i + 1:]
                break
            else:
                if not got and (rc or hung):
                    raise RuntimeError("genlab failed before the first program: %s"
                                       % err.decode(errors="replace")[-2000:])
                rest = todo[i:]
                break
        todo = rest
    return results


# ---- running the references -------------------------------------------------------------------

_NP_NS = None


def canon_np(v):
    if v is None:
        return ("nil",)
    if isinstance(v, np.generic):
        v = np.asarray(v)
    if isinstance(v, np.ndarray):
        return ("tensor", str(v.dtype), tuple(v.shape), np.asarray(v, dtype=np.float64).ravel())
    if isinstance(v, float):
        return ("number", v)
    return ("other", type(v).__name__)


def run_numpy(prog):
    global _NP_NS
    import lang
    if _NP_NS is None:
        _NP_NS = lang.np_namespace()
    env = dict(_NP_NS)
    error = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, s in enumerate(prog.stmts, 1):
            try:
                exec(s.np_code(), env)
            except Exception as e:
                error = (k, "%s: %s" % (type(e).__name__, str(e).split("\n")[0]))
                break
    return {"error": error, "vars": {n: canon_np(env.get(n)) for n in prog.names()}}


_TH_NS = None


def torch_available():
    try:
        import torch
        return torch is not None
    except ImportError:
        return False


def canon_th(v):
    import torch
    if isinstance(v, torch.Tensor):
        a = v.detach().numpy()
        return ("tensor", str(a.dtype), tuple(a.shape), np.asarray(a, dtype=np.float64).ravel())
    return canon_np(v)


def run_torch(prog, snapshot=False):
    """The program on PyTorch. snapshot: every tensor saved for backward is a copy taken when
    it is saved, so that changing it in place later neither raises nor changes the gradient:
    what a backward that checked nothing and read only what it needs would compute."""
    global _TH_NS
    import lang
    import torch
    if _TH_NS is None:
        _TH_NS = {}
        exec(lang.helper_text(lang.TH_HELPERS, lang.TH_HEADER,
                              " ".join(n + "(" for n in lang.TH_HELPERS)), _TH_NS)
        torch.set_num_threads(1)
    env = dict(_TH_NS)
    error = None
    torch.set_grad_enabled(True)
    hooks = torch.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t)
    if snapshot:
        hooks.__enter__()
    try:
        for k, s in enumerate(prog.stmts, 1):
            try:
                exec(compile(s.th(), "<stmt>", "exec"), env)
            except Exception as e:
                error = (k, "%s: %s" % (type(e).__name__, str(e).split("\n")[0]))
                break
    finally:
        if snapshot:
            hooks.__exit__(None, None, None)
    torch.set_grad_enabled(True)
    res = {n: canon_th(env.get(n)) for n in prog.names()}
    for n in prog.leaves:
        t = env.get(n)
        res[n + ".grad"] = canon_th(t.grad if isinstance(t, torch.Tensor) else None)
    out = {"error": error, "vars": res}
    if error and "modified by an inplace" in error[1] and not snapshot:
        out["snapshot"] = run_torch(prog, snapshot=True)
    return out


def run_reference(prog):
    return run_torch(prog) if prog.kind == "grad" else run_numpy(prog)


# ---- comparing --------------------------------------------------------------------------------

def describe(v, limit=24):
    if v is None:
        return "(absent)"
    if v[0] == "tensor":
        vals = " ".join("%.17g" % x for x in v[3][:limit]) + (" ..." if len(v[3]) > limit else "")
        return "%s %s: %s" % (v[1], list(v[2]), vals)
    return " ".join(str(x) for x in v)


def close(a, b, f32, any_nonfinite=False):
    """Elementwise within the tolerance; NaN matches NaN. any_nonfinite: any two non-finite
    values match (gradients: where an infinity meets a zero, inf or NaN depends on the order of
    the operations)."""
    atol, rtol = TOL[f32]
    if len(a) != len(b):
        return False
    if any_nonfinite:
        both_nan = ~np.isfinite(a) & ~np.isfinite(b)
    else:
        both_nan = np.isnan(a) & np.isnan(b)
    same = (a == b) | both_nan
    with np.errstate(all="ignore"):
        near = np.abs(a - b) <= atol + rtol * np.abs(b)
    return bool(np.all(same | near))


def compare(prog, gl, ref):
    """None when the sides agree, else (kind, lines): kind is what the shrinker keeps.

    Where PyTorch's backward refuses a saved tensor that was changed in place, genlab may
    refuse it too, or compute on when its rule does not read that tensor: then its values
    and gradients must be those of PyTorch with the saved tensors copied when saved."""
    if "crash" in gl:
        return ("crash", [gl["crash"]])
    ge, re_ = gl["error"], ref["error"]
    snap = ref.get("snapshot")
    if snap is not None and (ge and ge[0]) != re_[0]:
        d = compare(prog, gl, snap)
        if d is None:
            return None
        return ("saved-unchecked", [
            "torch: raised at statement %d: %s" % re_,
            "genlab: " + ("raised at statement %d: %s" % ge if ge else "ran to the end") +
            "; against torch with the saved tensors copied when saved:"] + d[1])
    ref_name = "torch" if prog.kind == "grad" else "numpy"
    if (ge and ge[0]) != (re_ and re_[0]):
        lines = ["genlab: " + ("raised at statement %d: %s" % ge if ge else "ran to the end"),
                 "%s: " % ref_name + ("raised at statement %d: %s" % re_ if re_ else "ran to the end")]
        if ge and re_:
            kind = "raise-elsewhere"
        else:
            kind = "genlab-raised" if ge else "reference-raised"
        return (kind, lines)
    bad = []
    names = prog.names() + [n + ".grad" for n in prog.leaves]
    if ge and isinstance(prog.stmts[ge[0] - 1], Backward):
        names = prog.names()  # what a failed backward leaves in .grad is unspecified
    f32 = prog.f32 or any(v[0] == "tensor" and v[1] == "float32" for v in ref["vars"].values())
    for n in names:
        a, b = gl["vars"].get(n), ref["vars"].get(n)
        if a is None or b is None:
            ok = False
        elif n.endswith(".grad") and "nil" in (a[0], b[0]) and a[0] != b[0]:
            # no gradient and a zero gradient are one answer (PyTorch leaves .grad unset when
            # only empty tensors carried it)
            t = a if a[0] == "tensor" else b
            ok = t[0] == "tensor" and not np.any(t[3])
        elif a[0] != b[0]:
            ok = False
        elif a[0] == "tensor":
            ok = a[1] == b[1] and a[2] == b[2] and close(a[3], b[3], f32, n.endswith(".grad"))
        elif a[0] == "number":
            ok = close(np.array([a[1]]), np.array([b[1]]), f32)
        else:
            ok = a == b
        if not ok:
            bad.append("%s:\n      genlab %s\n      %-6s %s" % (n, describe(a), ref_name, describe(b)))
    if bad:
        return ("value", bad)
    return None


RISKY_INDEX = ("idx-single", "idx-neg", "idx-step", "idx-4", "idx-whole")


def nan_grads_only(entries):
    """Whether a value divergence concerns only gradients, each all NaN on the reference side
    (compare's entries: "name:\n  genlab ...\n  torch ...")."""
    for e in entries:
        name, ref = e.split(":", 1)[0], e.rstrip().split("\n")[-1]
        values = ref.rsplit(":", 1)[-1].split()
        if not name.endswith(".grad") or not values or any(v != "nan" for v in values):
            return False
    return bool(entries)


def quick_category(prog, div):
    """The category from the program's tags and the messages alone, or None for "look closer":
    programs that index with the features of (3) may diverge because of the indexing or
    because of what they do with the view."""
    tags = prog.tags()
    text = " ".join(div[1])
    if div[0] != "value" and re.search(r"^genlab: .*output is \S+ float32, result is \S+ float64",
                                       div[1][0]):
        return "dtype"
    if "inplace-expanded" in tags or "expanded tensor" in text:
        return "expanded"
    if "modified by an inplace" in text:
        return "saved"
    if "modified in place" in text:
        return "saved-strict"
    if div[0] == "value" and nan_grads_only(div[1]):
        return "nan-grad"
    if any(t.startswith(RISKY_INDEX) for t in tags):
        return None
    return "overlap" if any(t.startswith("overlap") for t in tags) else "other"


def categorize(items, exe):
    """Categories for [(prog, div)]. A program that indexes is run again with every index
    spelled as narrow/select: when that agrees with the reference, the indexing was at fault."""
    from lang import Style
    cats = [quick_category(p, d) for p, d in items]
    look = [i for i, c in enumerate(cats) if c is None]
    if look:
        progs = [items[i][0] for i in look]
        gl = run_genlab(progs, exe, desugar=True)
        for i, p in zip(look, progs):
            tags = p.tags()
            lua = [s.lua(Style(False, True)) for s in p.stmts]
            desugared = "[{" not in "\n".join(lua)
            d2 = compare(p, gl[p.pid], run_reference(p))
            ge = gl[p.pid]["error"]
            if ge and "[{" not in lua[ge[0] - 1] and items[i][1][0] == "genlab-raised":
                desugared = True  # genlab refused a statement that does not index
            if d2 is None or not desugared:
                cats[i] = "index"
            else:
                cats[i] = "overlap" if any(t.startswith("overlap") for t in tags) else "other"
    return cats


def detail_tags(prog):
    keep = ("idx-", "overlap", "saved-", "inplace", "expand", "view", "reshape", "matmul",
            "reduce", "maxdim", "setindex", "index_select", "contiguous", "refused")
    return sorted(t for t in prog.tags() if t.startswith(keep))


# ---- shrinking and reporting ------------------------------------------------------------------

def run_both(progs, exe):
    """[(prog, genlab result, reference result)]; the programs may share a pid."""
    import copy
    tagged = []
    for i, p in enumerate(progs):
        q = copy.copy(p)
        q.pid = "%s#%d" % (p.pid, i)
        tagged.append(q)
    gl = run_genlab(tagged, exe)
    return [(p, gl[q.pid], run_reference(p)) for p, q in zip(progs, tagged)]


def same_kind(prog, gl, ref, kind):
    d = compare(prog, gl, ref)
    return d is not None and d[0] == kind


def shrink_all(items, exe):
    """Shrink every divergent program at once, [(prog, div)] -> [(shrunk, div)]: each round
    tries every one-statement deletion of every program in one genlab run and keeps, per
    program, the first that diverges the same way; then the literals get the values 1, 2, 3,
    ... where that keeps the divergence (easier to read)."""
    progs = [p for p, _ in items]
    kinds = [d[0] for _, d in items]
    active = set(range(len(progs)))
    while active:
        cands = [(i, progs[i].without(j)) for i in sorted(active)
                 for j in reversed(range(len(progs[i].stmts))) if len(progs[i].stmts) > 1]
        found = {}
        for (i, c), (_, gl, ref) in zip(cands, run_both([c for _, c in cands], exe)):
            if i not in found and same_kind(c, gl, ref, kinds[i]):
                found[i] = c
        for i in list(active):
            if i in found:
                progs[i] = found[i]
            else:
                active.discard(i)
    for j in range(max((len(p.stmts) for p in progs), default=0)):
        cands = [(i, progs[i].simpler_literal(j)) for i in range(len(progs))
                 if j < len(progs[i].stmts)]
        cands = [(i, c) for i, c in cands if c is not None]
        for (i, c), (_, gl, ref) in zip(cands, run_both([c for _, c in cands], exe)):
            if same_kind(c, gl, ref, kinds[i]):
                progs[i] = c
    out = []
    for (p, d), (q, gl, ref) in zip(items, run_both(progs, exe)):
        out.append((q, compare(q, gl, ref) or d))
    return out


def print_repro(orig, prog, div, cat, out):
    ref_name = "torch" if prog.kind == "grad" else "numpy"
    out("DIVERGENCE in program %s (%s), category %s" % (orig.pid, div[0], dict(CATEGORIES)[cat]))
    out("  shrunk from %d to %d statements; tags: %s" % (len(orig.stmts), len(prog.stmts),
                                                           ", ".join(detail_tags(prog))))
    out("  replay: tests/diff/difftest.py --only %s" % orig.pid)
    for line in div[1]:
        out("  " + line)
    out("  --- genlab (Lua) ---")
    for line in prog.lua_script().split("\n"):
        out("  " + line)
    out("  --- %s ---" % ref_name)
    for line in (prog.th_script() if prog.kind == "grad" else prog.np_script()).split("\n"):
        out("  " + line)


def analyse(divs, exe, max_shrink):
    """[(orig, shrunk, div, category)]: the first max_shrink divergences shrunk, all sorted
    into categories (the rest by their unshrunk programs)."""
    head, rest = divs[:max_shrink], divs[max_shrink:]
    shrunk = shrink_all(head, exe) if head else []
    items = shrunk + rest
    cats = categorize(items, exe) if items else []
    return [(o, p, d, c) for (o, _), (p, d), c in zip(divs, items, cats)]


def summarize(analysed, out, show, per_cat):
    """Counts per category, and reproducers: one per distinct shape of divergence (its kind
    and the indexing/aliasing tags of the shrunk program), per_cat per category, show in all."""
    shown = 0
    counts = {}
    for cat, label in CATEGORIES:
        items = [a for a in analysed if a[3] == cat]
        counts[cat] = len(items)
        if not items:
            continue
        out("%d divergent programs in category %s" % (len(items), label))
        seen, k = set(), 0
        for o, p, d, c in items:
            sig = (d[0], tuple(sorted(t for t in p.tags() if t.startswith(
                ("idx-", "overlap", "saved-", "inplace", "matmul", "reduce", "maxdim")))))
            if sig in seen or k >= per_cat or shown >= show:
                continue
            seen.add(sig)
            k += 1
            shown += 1
            print_repro(o, p, d, c, out)
    return counts


# ---- the driver -------------------------------------------------------------------------------

def gen_programs(seed, n, profiles, start=0):
    import gen
    rng = random.Random("mix:%s" % seed)
    names = list(profiles)
    weights = [MIX.get(p, 1) for p in names]
    out = []
    for i in range(start, start + n):
        prof = names[0] if len(names) == 1 else rng.choices(names, weights)[0]
        out.append(gen.generate(seed, i, prof))
    return out


def run_programs(progs, exe, batch, have_torch, log=None):
    """Returns (divergent [(prog, div)], skipped count)."""
    divs, skipped = [], 0
    runnable = []
    for p in progs:
        if p.kind == "grad" and not have_torch:
            skipped += 1
        else:
            runnable.append(p)
    for i in range(0, len(runnable), batch):
        chunk = runnable[i:i + batch]
        gl = run_genlab(chunk, exe)
        for p in chunk:
            d = compare(p, gl[p.pid], run_reference(p))
            if d:
                divs.append((p, d))
        if log:
            log(i + len(chunk), len(runnable), len(divs))
    return divs, skipped


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tap", action="store_true", help="the fixed-seed suite, as TAP")
    ap.add_argument("--programs", type=int, default=1000)
    ap.add_argument("--seed", default=None, help="default: a fresh random seed (printed)")
    ap.add_argument("--profiles", default=",".join(MIX), help="comma-separated: " + ",".join(MIX))
    ap.add_argument("--only", help="run the one program SEED:PROFILE:INDEX and print it")
    ap.add_argument("--genlab", default=os.environ.get("GENLAB_EXE", os.path.join(ROOT, "genlab")))
    ap.add_argument("--batch", type=int, default=1000, help="programs per genlab process")
    ap.add_argument("--shrink", type=int, default=300,
                    help="most divergences to shrink (the rest are sorted unshrunk)")
    ap.add_argument("--show", type=int, default=20, help="most reproducers to print")
    ap.add_argument("--per-category", type=int, default=6)
    args = ap.parse_args(argv)

    if np is None:
        print("1..1\nok 1 - difftest # SKIP numpy not installed (python3-numpy)" if args.tap
              else "difftest: numpy is not installed (apt-get install python3-numpy)")
        return 0 if args.tap else 2
    import gen
    have_torch = torch_available()
    exe = args.genlab

    if args.only:
        seed, prof, idx = args.only.rsplit(":", 2)
        p = gen.generate(seed, int(idx), prof)
        if p.kind == "grad" and not have_torch:
            print("skipped: torch not installed")
            return 0
        (_, gl, ref), = run_both([p], exe)
        d = compare(p, gl, ref)
        print("--- genlab (Lua) ---\n" + p.lua_script())
        print("--- reference ---\n" + (p.th_script() if p.kind == "grad" else p.np_script()))
        print("--- result ---")
        print("agree" if d is None else "\n".join([d[0]] + d[1]))
        if d:
            summarize(analyse([(p, d)], exe, 1), print, 1, 1)
        return 0 if d is None else 1

    if args.tap:
        return run_tap(exe, have_torch)

    seed = args.seed or "%08x" % random.SystemRandom().getrandbits(32)
    profiles = [s for s in args.profiles.split(",") if s]
    t0 = time.time()
    print("difftest: %d programs, seed %s, profiles %s" % (args.programs, seed, ",".join(profiles)))
    progs = gen_programs(seed, args.programs, profiles)
    t1 = time.time()

    def log(done, total, ndiv):
        print("  %d/%d programs run, %d divergent (%.0fs)" % (done, total, ndiv, time.time() - t0),
              flush=True)

    divs, skipped = run_programs(progs, exe, args.batch, have_torch, log)
    t2 = time.time()
    analysed = analyse(divs, exe, args.shrink)
    counts = summarize(analysed, print, args.show, args.per_category)
    t3 = time.time()
    ran = len(progs) - skipped
    notes = sum(1 for a in analysed if a[3] in NOTES)
    print("difftest seed %s: %d programs run, %d divergent, %d noted, %d skipped%s" % (
        seed, ran, len(divs) - notes, notes, skipped, ": torch not installed" if skipped else ""))
    per_prof = {}
    for p in progs:
        if p.kind != "grad" or have_torch:
            per_prof.setdefault(p.profile, [0, 0])[0] += 1
    for p, _ in divs:
        per_prof[p.profile][1] += 1
    print("  divergent or noted, by profile: " + ", ".join("%s %d/%d" % (k, v[1], v[0])
                                                 for k, v in sorted(per_prof.items())))
    if divs:
        print("  by category: " + ", ".join("%s %d" % (dict(CATEGORIES)[c], n)
                                           for c, n in counts.items() if n))
    print("  times: generate %.1fs, run %.1fs, shrink and sort %.1fs, total %.1fs" % (
        t1 - t0, t2 - t1, t3 - t2, t3 - t0))
    print("  replay: tests/diff/difftest.py --programs %d --seed %s --profiles %s" % (
        args.programs, seed, ",".join(profiles)))
    return 1 if len(divs) > notes else 0


def tap_note(text):
    print("\n".join("# " + line for line in text.split("\n")))


def run_tap(exe, have_torch):
    """One TAP test per profile of SUITE; a failing one lists its divergences by category and
    shows a shrunk reproducer of each."""
    print("1..%d" % len(SUITE))
    for k, (prof, n) in enumerate(SUITE, 1):
        progs = gen_programs(SUITE_SEED, n, [prof])
        ref = "torch" if prof in ("grad", "saved") else "numpy"
        if ref == "torch" and not have_torch:
            print("ok %d - difftest %s: %d programs skipped: torch not installed # SKIP"
                  % (k, prof, n))
            continue
        t0 = time.time()
        divs, _ = run_programs(progs, exe, 1000, have_torch)
        dt = time.time() - t0
        if not divs:
            print("ok %d - difftest %s: %d programs agree with %s (%.1fs)" % (k, prof, n, ref, dt))
            continue
        analysed = analyse(divs, exe, 40)
        cats = {}
        for a in analysed:
            cats[a[3]] = cats.get(a[3], 0) + 1
        text = "; ".join("%s %d" % (dict(CATEGORIES)[c], m) for c, m in cats.items())
        hard = sum(m for c, m in cats.items() if c not in NOTES)
        if hard:
            print("not ok %d - difftest %s: %d of %d programs diverge from %s: %s" % (
                k, prof, hard, n, ref, text))
        else:
            print("ok %d - difftest %s: %d programs agree with %s, but for notes: %s (%.1fs)" % (
                k, prof, n, ref, text, dt))
        summarize(analysed, tap_note, 4, 2)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
