"""Random tensor programs for the differential tester (tests/diff/difftest.py).

A program is a list of statements (lang.py) over a few small tensors. The generator runs each
statement on numpy as it builds the program (lang.NP_HELPERS) to learn the shapes, dtypes and
aliasing of what it made, so that most programs are valid; it keeps a small share of statements
that the reference refuses (non-broadcastable shapes, writes into expanded views, bad index
tables), where both sides must raise. Each profile leans towards one kind of statement: "alias"
towards in-place ops whose argument overlaps the target, "expand" towards writes into expanded
views, "index" towards index ranges, "reduce" towards reductions and matmul, "grad" and "saved"
towards autograd (the latter modifying saved tensors in place before backward).
"""

import math
import random
import warnings

import numpy as np

from lang import (BINARY, UNARY, Assign, Backward, Binary, Cat, Clamp, COrder, DimOp, Expand,
                  Expr, Index, Matmul,
                  IndexSelect, InPlace, Lit, MaxDim, Method0, Narrow, NoGrad, Num, Permute,
                  Program, Reduce, Reshape, Select, SetIndex, Squeeze, T, Transpose, Unary,
                  Unsqueeze, Var, np_namespace)

# ---- the generator -----------------------------------------------------------------------------

PROFILES = ["mixed", "alias", "expand", "index", "reduce", "grad", "saved"]
GRAD_PROFILES = ("grad", "saved")


def bcast(*shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


def expanded(a):
    return any(s == 0 and n > 1 for n, s in zip(a.shape, a.strides))


def has_expand(e):
    if isinstance(e, Expand):
        return True
    return any(has_expand(getattr(e, k)) for k in ("x", "a", "b", "target")
               if isinstance(getattr(e, k, None), Expr))


def roots(e):
    """The names of the variables that expression e reads."""
    if isinstance(e, Var):
        return [e.name]
    out = []
    for c in getattr(e, "xs", ()) or ():
        out += roots(c)
    for k in ("x", "a", "b", "target", "value"):
        c = getattr(e, k, None)
        if isinstance(c, Expr):
            out += roots(c)
    for c in getattr(e, "args", ()) or ():
        if isinstance(c, Expr):
            out += roots(c)
    return out


class Gen:
    def __init__(self, rng, profile, pid):
        self.r, self.profile, self.pid = rng, profile, pid
        self.grad = profile in GRAD_PROFILES
        # a quarter of the plain programs mix float32 with float64; a fifth of the autograd
        # programs are all float32 (PyTorch would keep float32 where a float64 0-d tensor joins,
        # genlab and numpy give float64: not mixed there)
        self.f32 = rng.random() < (0.2 if self.grad else 0.25)
        # some plain programs hold infinities, NaN and signed zeros. Not the autograd ones:
        # there the gradients at NaN and infinity follow conventions (relu passes a NaN
        # gradient in PyTorch, genlab masks it; maximum at NaN; inf * 0 in which order)
        self.special = (not self.grad) and rng.random() < 0.15
        self.stmts, self.leaves = [], []
        self.meta = {}          # name -> {"rg": requires grad, "base": storage owner name}
        self.ns = np_namespace()
        self.env = dict(self.ns)
        self.count = 0
        self.ended = False      # a statement the reference refuses ends the program
        self.recorded = False   # an op on a tensor that requires grad has been recorded
        self.saved = []         # names a recorded op read or made: what backward may need

    # -- values and names
    def value(self):
        r = self.r
        if self.special and r.random() < 0.15:
            return r.choice([math.inf, -math.inf, math.nan, 0.0, -0.0])
        if self.grad:
            return round(r.gauss(0, 1), 4)
        return r.randint(-24, 24) / 8.0

    def name(self, prefix="x"):
        self.count += 1
        return "%s%d" % (prefix, self.count)

    def shape(self, ndim=None):
        r = self.r
        if ndim is None:
            ndim = r.choices([0, 1, 2, 3, 4], [1, 5, 8, 5, 1])[0]
        return tuple(r.choice([1, 2, 2, 3, 3, 4, 5]) for _ in range(ndim))

    def dtype(self):
        if self.f32 and (self.grad or self.r.random() < 0.5):
            return "float32"
        return "float64"

    def lit(self, shape, rg=False, dtype=None):
        n = int(np.prod(shape)) if shape else 1
        return Lit([self.value() for _ in range(n)], shape, dtype or self.dtype(), rg)

    def tensors(self, pred=None):
        out = []
        for n, m in self.meta.items():
            a = self.env.get(n)
            if isinstance(a, np.ndarray) and (pred is None or pred(n, a, m)):
                out.append(n)
        return out

    # -- running candidates on numpy
    def replay(self):
        self.env = dict(self.ns)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for s in self.stmts:
                exec(s.np_code(), self.env)

    def empty_expanded_write(self, stmt):
        """Whether stmt writes into an empty tensor with an expand in its making. Such a write
        changes nothing; genlab refuses it when a dimension repeats (its rule is about strides),
        PyTorch allows it, and numpy's strides of empty arrays say nothing: not tested. In
        autograd programs no write into an expanded tensor is tested: PyTorch lets fill_ and
        zero_ through (every copy gets the same value), genlab refuses them as numpy does."""
        if isinstance(stmt, NoGrad):
            stmt = stmt.inner
        if isinstance(stmt, InPlace):
            target = stmt.target
        elif isinstance(stmt, SetIndex):
            target = Index(stmt.var, stmt.entries, stmt.shape)
        else:
            return False
        try:
            t = self.eval(target)
        except Exception:
            return False
        if not isinstance(t, np.ndarray):
            return False
        if self.grad and expanded(t):
            return True
        if t.size:
            return False
        return has_expand(target) or any(self.meta.get(n, {}).get("exp") for n in roots(target))

    def try_stmt(self, stmt, allow_error=0.0):
        """Run stmt on numpy. Keep it when it runs; when it raises keep it (ending the program)
        with probability allow_error, else drop it. Returns True when kept."""
        if self.empty_expanded_write(stmt):
            return False
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(stmt.np_code(), self.env)
        except Exception:
            self.replay()
            if self.r.random() < allow_error:
                stmt.tags = stmt.tags | {"refused"}
                self.stmts.append(stmt)
                self.ended = True
                return True
            return False
        self.stmts.append(stmt)
        return True

    def eval(self, expr):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return eval(expr.np(), self.env)

    def assign(self, expr, tags=(), allow_error=0.0, prefix="x", rg=None, srcs=None):
        name = self.name(prefix)
        srcs = roots(expr) if srcs is None else srcs
        st = Assign([name], expr, tags)
        if not self.try_stmt(st, allow_error):
            return None
        if self.ended:
            return name
        a = self.env[name]
        # PyTorch lays out results by rules of its own: in autograd programs every fresh
        # result of 2 dims or more is made row-major
        if isinstance(a, np.ndarray) and not isinstance(expr, Lit) and (
                not a.flags.c_contiguous or self.grad and a.ndim > 1) \
                and not any(np.shares_memory(a, self.env[s]) for s in srcs if s in self.env):
            st.expr = COrder(st.expr)
            st._np_code = None
            a = self.env[name] = np.asarray(a, order="C")
        base = name
        for s in srcs:
            if s in self.meta and np.shares_memory(a, self.env[s]):
                base = self.meta[s]["base"]
        if rg is None:
            rg = any(self.meta.get(s, {}).get("rg") for s in srcs)
        if rg:
            self.recorded = True
            if not getattr(expr, "view", False):
                self.saved += [s for s in srcs if s not in self.saved] + [name]
        exp = has_expand(expr) or any(self.meta.get(s, {}).get("exp") for s in srcs)
        self.meta[name] = {"rg": rg, "base": base, "exp": exp}
        return name

    # -- views
    def view_expr(self, x, a, tags, allow_bad=False):
        """A random view of expression x whose numpy value is a. Returns (expr, kind)."""
        r = self.r
        nd = a.ndim
        kinds = ["index", "index", "narrow", "select", "transpose", "t", "permute", "expand",
                 "reshape", "unsqueeze", "squeeze"]
        k = r.choice(kinds)
        if nd == 0 and k not in ("expand", "reshape", "unsqueeze"):
            k = r.choice(["expand", "reshape", "unsqueeze"])
        if k == "index":
            return self.index_expr(x, a, tags, allow_bad), k
        if k == "narrow":
            d = r.randint(1, nd)
            n = a.shape[d - 1]
            s = r.randint(1, max(1, n))
            ln = r.randint(0, n - s + 1) if n else 0
            if r.random() < 0.2:
                d = d - nd - 1
            tags.add("narrow")
            return Narrow(x, d, s, ln, nd), k
        if k == "select":
            d = r.randint(1, nd)
            n = a.shape[d - 1]
            if n == 0:
                return Narrow(x, d, 1, 0, nd), "narrow"
            i = r.randint(1, n) if r.random() < 0.8 else -r.randint(1, n)
            if allow_bad and r.random() < 0.1:
                i = n + 1
            return Select(x, d, i, nd), k
        if k == "transpose" and nd >= 2:
            d1, d2 = r.sample(range(1, nd + 1), 2)
            if r.random() < 0.2:
                d2 = d2 - nd - 1
            return Transpose(x, d1, d2, nd), k
        if k == "t" and nd <= 2:
            return T(x, field=r.random() < 0.3), k
        if k == "permute" and nd >= 2:
            p = list(range(nd))
            r.shuffle(p)
            return Permute(x, p), k
        if k == "expand":
            shape = list(a.shape)
            for i, n in enumerate(shape):
                if n == 1 and r.random() < 0.7:
                    shape[i] = r.randint(2, 4)
                elif r.random() < 0.2:
                    shape[i] = -1
            if nd == 0 or nd < 4 and r.random() < 0.4:
                shape = [r.randint(1, 3)] + shape
            tags.add("expand")
            return Expand(x, shape), k
        if k == "reshape":
            return self.reshape_expr(x, a, tags), k
        if k == "unsqueeze":
            d = r.randint(1, nd + 1)
            if r.random() < 0.2:
                d = d - nd - 2
            return Unsqueeze(x, d, nd), k
        if k == "squeeze":
            ones = [i + 1 for i, n in enumerate(a.shape) if n == 1]
            if ones:
                return Squeeze(x, r.choice(ones), nd), k
        return self.index_expr(x, a, tags, allow_bad), "index"

    def reshape_expr(self, x, a, tags):
        r = self.r
        n = a.size
        divs = [d for d in range(1, n + 1) if n % d == 0] or [1]
        d1 = r.choice(divs)
        shapes = [(n,), (d1, n // d1), (n // d1, d1), (d1, 1, n // d1), (1, n)]
        if n == 1:
            shapes.append(())
        shape = list(r.choice(shapes))
        if shape and r.random() < 0.3:
            shape[r.randrange(len(shape))] = -1
        strict = r.random() < 0.25
        tags.add("view" if strict else "reshape")
        return Reshape(x, shape, strict)

    def index_expr(self, x, a, tags, allow_bad=False):
        r = self.r
        nd = a.ndim
        count = r.randint(1, nd) if nd else 0
        entries = []
        for d in range(count):
            n = a.shape[d]
            kinds = ["range", "range", "single", "whole", "int", "step"]
            k = r.choice(kinds)
            if k == "int" and n > 0 and (len(entries) < nd - 1 or any(e[0] != "int" for e in entries)):
                i = r.randint(1, n)
                entries.append(("int", i if r.random() < 0.7 else i - n - 1))
                tags.add("idx-int")
            elif k == "single" and n > 0:
                i = r.randint(1, n)
                neg = r.random() < 0.3
                entries.append(("single", i - n - 1 if neg else i))
                tags.add("idx-single")
                if neg:
                    tags.add("idx-neg")
            elif k == "whole":
                entries.append(("whole",))
                tags.add("idx-whole")
            else:
                lo = r.randint(1, n + 1)
                hi = r.randint(lo - 1, n)
                a_, b_ = lo, hi
                if r.random() < 0.3 and lo <= n:
                    a_ = lo - n - 1
                    tags.add("idx-neg")
                if r.random() < 0.3 and hi >= 1:
                    b_ = hi - n - 1
                    tags.add("idx-neg")
                step = None
                if k == "step":
                    step = r.randint(1, 3)
                    tags.add("idx-step")
                entries.append(("range", a_, b_, step))
                tags.add("idx-range")
        if allow_bad and nd and r.random() < 0.08:
            n = a.shape[0]
            entries[0] = ("bad", [1, max(n, 1), 1, 1, 1][:r.choice([4, 4, 5])])
            tags.add("idx-4")
        return Index(x, entries, a.shape)

    def view_of(self, name, depth=None, allow_bad=False, tags=None):
        """A chain of 0..2 views of variable name: (expr, numpy value)."""
        x, a = Var(name), self.env[name]
        tags = set() if tags is None else tags
        depth = self.r.choice([0, 0, 1, 1, 2]) if depth is None else depth
        for _ in range(depth):
            t2 = set()
            e, _ = self.view_expr(x, a, t2, allow_bad)
            try:
                a2 = self.eval(e)
            except Exception:
                if allow_bad and self.r.random() < 0.5:  # the reference refuses it: keep it
                    tags |= t2
                    return e, None, tags
                break
            if not isinstance(a2, np.ndarray):
                break
            tags |= t2
            x, a = e, a2
        return x, a, tags

    # -- statement kinds
    def s_literal(self):
        rg = self.grad and self.r.random() < 0.6
        e = self.lit(self.shape(), rg=rg)
        n = self.assign(e, prefix="w" if rg else "c", rg=rg)
        if n and rg:
            self.leaves.append(n)
            self.meta[n]["leaf"] = True

    def pick(self, pred=None):
        names = self.tensors(pred)
        if self.profile == "saved" and names and self.r.random() < 0.6:
            # a chain: the latest result that requires grad, so that backward passes through
            # the ops whose saved tensors the program changes
            latest = [n for n in names if self.meta[n]["rg"]]
            if latest:
                return latest[-1]
        return self.r.choice(names) if names else None

    def s_view(self):
        n = self.pick()
        if not n:
            return self.s_literal()
        tags = set()
        e, _, tags = self.view_of(n, depth=self.r.choice([1, 1, 2]), allow_bad=not self.grad,
                                  tags=tags)
        if isinstance(e, Var):
            return
        self.assign(e, tags | {"view"}, allow_error=0.3, srcs=[n])

    def operand(self, shape_hint=None, scalar_ok=True):
        """A tensor expression (var or view of one) or a number, for a binary op."""
        r = self.r
        if scalar_ok and r.random() < 0.2:
            return Num(self.value()), None, set()
        if shape_hint is not None and r.random() < 0.6:
            fits = self.tensors(lambda n, a, m: bcast(a.shape, shape_hint) is not None)
            if fits:
                return self.view_of(r.choice(fits), depth=0)
        n = self.pick()
        if not n:
            return Num(self.value()), None, set()
        return self.view_of(n)

    def s_unary(self):
        n = self.pick()
        if not n:
            return self.s_literal()
        x, a, tags = self.view_of(n)
        r = self.r
        if r.random() < 0.15:
            # bounds stay finite in autograd programs: PyTorch clamps to NaN at a NaN bound,
            # numpy (and genlab) ignore it
            val = (lambda: round(r.gauss(0, 1), 4)) if self.grad else self.value
            lo = val() if r.random() < 0.8 else None
            hi = val() if r.random() < 0.8 else None
            if lo is not None and hi is not None and lo > hi:
                # numpy and PyTorch give max everywhere; genlab refuses min > max by design
                lo, hi = hi, lo
            e = Clamp(x, lo, hi)
        else:
            ops = list(UNARY)
            if self.grad:  # keep gradients finite where PyTorch and genlab may differ at kinks
                ops = [o for o in ops if o not in ("sqrt", "log")]
            if np.max(np.abs(a[np.isfinite(a)]), initial=0) > 1e4:
                ops = [o for o in ops if o != "sin"]  # ill-conditioned there: 1 ulp moves it
            e = Unary(r.choice(ops), x, r.choice(["method", "method", "fn"]))
        self.assign(e, tags | {"unary"}, srcs=[n])

    def s_binary(self):
        r = self.r
        n = self.pick()
        if not n:
            return self.s_literal()
        x, a, tags = self.view_of(n)
        op = r.choice(list(BINARY))
        y, b, t2 = self.operand(a.shape, scalar_ok=op in ("add", "sub", "mul", "div"))
        tags |= t2
        if isinstance(y, Num) and r.random() < 0.3:
            x, y = y, x
        form = "op" if isinstance(x, Num) or BINARY[op][0] and r.random() < 0.5 else \
            r.choice(["method", "fn"])
        if BINARY[op][0] is None and form == "op":
            form = "method"
        self.assign(Binary(op, x, y, form), tags | {"binary"}, allow_error=0.15)

    def s_reduce(self):
        r = self.r
        n = self.pick()
        if not n:
            return self.s_literal()
        x, a, tags = self.view_of(n)
        nd = a.ndim
        op = r.choice(["sum", "sum", "mean", "max", "min", "prod"])
        if self.grad and op in ("max", "min", "prod") and (a.size != len(set(a.ravel().tolist()))
                                                           or expanded(a)):
            op = "sum"  # ties: PyTorch splits the gradient, a convention we do not test here
        if nd and op in ("max", "min") and r.random() < 0.5:
            d = r.randint(1, nd) if r.random() < 0.8 else -r.randint(1, nd)
            keep = r.random() < 0.5
            v, i = self.name(), self.name()
            st = Assign([v, i], MaxDim(op, x, d, keep, nd), tags | {"reduce", "maxdim"})
            if self.try_stmt(st, allow_error=0.3) and not self.ended:
                rg = self.meta[n]["rg"]
                self.meta[v] = {"rg": rg, "base": v}
                if not self.grad:  # float64 positions would mix into float32 programs,
                    self.meta[i] = {"rg": False, "base": i}  # which PyTorch refuses
                self.recorded |= rg
            return
        keep = r.choice([None, True, False])
        if nd == 0 or r.random() < 0.25:
            dims = None
        elif op != "prod" and r.random() < 0.3 and nd >= 2:
            dims = sorted(r.sample(range(1, nd + 1), r.randint(1, nd)))
            if r.random() < 0.3:
                dims[0] = dims[0] - nd - 1
        else:
            dims = r.randint(1, nd) if r.random() < 0.8 else -r.randint(1, nd)
        scalar = dims is None or (not keep and (isinstance(dims, int) and nd == 1 or
                                                isinstance(dims, list) and len(dims) == nd))
        self.assign(Reduce(op, x, dims, keep, nd, scalar), tags | {"reduce"}, allow_error=0.3,
                    srcs=[n])

    def s_matmul(self):
        r = self.r
        n = self.pick(lambda n, a, m: a.ndim >= 1)
        if not n:
            return self.s_literal()
        x, a, tags = self.view_of(n, depth=r.choice([0, 1]))
        if a.ndim == 0:
            return
        k = a.shape[-1]
        fits = self.tensors(lambda m, b, mm: b.ndim >= 1 and
                            (b.shape[0] if b.ndim == 1 else b.shape[-2]) == k)
        if fits and r.random() < 0.7:
            y, b, t2 = self.view_of(r.choice(fits), depth=0)
            tags |= t2
        else:
            shape = r.choice([(k,), (k, r.randint(1, 4)), (r.randint(1, 2), k, r.randint(1, 3))])
            if r.random() < 0.1:
                shape = (k + 1,)
            y = self.lit(shape, rg=self.grad and r.random() < 0.5)
            if y.rg:  # an inline leaf has no name to read .grad from: make it a constant
                y.rg = False
            b = None
        nd_out = None
        try:
            res = np.matmul(a, b if b is not None else np.zeros(y.shape))
            nd_out = res.ndim
        except Exception:
            pass
        self.assign(Matmul(x, y, r.choice(["method", "fn"]), nd_out == 0), tags | {"matmul"},
                    allow_error=0.3)

    def s_method0(self):
        n = self.pick()
        if not n:
            return self.s_literal()
        x, a, tags = self.view_of(n)
        ops = ["contiguous", "clone", "float", "double"]
        op = self.r.choice(ops)
        if self.grad and op in ("float", "double"):
            op = "float" if self.f32 else "double"  # no float32/float64 mixing in autograd
        self.assign(Method0(op, x), tags | {op}, srcs=[n])

    def s_dimop(self):
        """logsumexp, softmax, cumsum or var along one dim, or cat of two tensors."""
        r = self.r
        n = self.pick(lambda n, a, m: a.ndim >= 1)
        if not n:
            return self.s_literal()
        x, a, tags = self.view_of(n)
        nd = a.ndim
        if nd == 0:
            return
        d = r.randint(1, nd) if r.random() < 0.8 else -r.randint(1, nd)
        op = r.choice(["logsumexp", "softmax", "cumsum", "var", "cat", "cat"])
        if op == "cat":
            shape = list(a.shape)
            shape[d - 1 if d > 0 else d] = r.randint(0, 3)
            fits = self.tensors(lambda m, b, mm: b.shape == tuple(shape))
            if fits and r.random() < 0.7:
                y, _, t2 = self.view_of(r.choice(fits), depth=0)
            else:
                y = self.lit(tuple(shape) if all(shape) else tuple(s or 1 for s in shape))
            xs = [x, y] if r.random() < 0.7 else [y, x, x]
            self.assign(Cat(xs, d, nd), tags | {"cat"}, allow_error=0.2)
            return
        keep = r.choice([None, True, False]) if op in ("logsumexp", "var") else None
        unbiased = r.random() < 0.5 if op == "var" else None
        scalar = op in ("logsumexp", "var") and nd == 1 and not keep
        self.assign(DimOp(op, x, d, nd, keep, unbiased, scalar), tags | {op}, allow_error=0.2)

    def s_index_select(self):
        n = self.pick(lambda n, a, m: a.ndim >= 1)
        if not n:
            return self.s_literal()
        a = self.env[n]
        d = self.r.randint(1, a.ndim)
        size = a.shape[d - 1]
        if not size:
            return
        idx = [self.r.randint(1, size) for _ in range(self.r.randint(1, 4))]
        self.assign(IndexSelect(Var(n), d, idx, a.ndim), {"index_select"}, srcs=[n])

    def writable(self, n, a, m):
        """Names the program may write into: not requiring grad (genlab refuses those in grad
        mode, PyTorch refuses leaves), and in grad programs not derived from a graph."""
        return not m["rg"]

    def arg_ok(self, n, m):
        """May m be the argument of an in-place write into n? In grad programs it must not
        require grad (PyTorch would record the write, genlab does not) nor share n's storage
        (PyTorch refuses partial overlap, where numpy copies first: the numpy programs test
        that)."""
        if not self.grad:
            return True
        return not self.meta[m]["rg"] and self.meta[m]["base"] != self.meta[n]["base"]

    def s_inplace(self, overlap=False):
        r = self.r
        n = self.pick(self.writable)
        if not n:
            return self.s_literal()
        tags = set()
        if overlap and not self.grad:
            got = self.overlap_pair(n, tags)
            if got is None:
                return
            op, target, arg = got
            args = [arg]
        else:
            target, t, tags = self.view_of(n, allow_bad=False)
            op = r.choice(["add", "sub", "mul", "div", "copy", "fill", "zero", "clamp",
                           "add", "mul", "copy"])
            if op in ("fill", "zero", "clamp"):
                lo, hi = self.value(), self.value()
                if lo > hi:
                    lo, hi = hi, lo
                args = {"fill": [Num(self.value())], "zero": [],
                        "clamp": [Num(lo), Num(hi)]}[op]
            else:
                if r.random() < 0.25 and op != "copy":
                    arg, b = Num(self.value()), None
                else:
                    fits = self.tensors(lambda m, b, mm: bcast(b.shape, t.shape) == t.shape and
                                        self.arg_ok(n, m))
                    if fits and r.random() < 0.85:
                        arg, b, t2 = self.view_of(r.choice(fits), depth=0)
                    else:
                        m = self.pick(lambda m, b, mm: self.arg_ok(n, m))
                        if m is None:
                            return
                        arg, b, t2 = self.view_of(m)
                    tags |= t2
                    if b is not None and np.shares_memory(b, t):
                        tags.add("overlap")
                args = [arg]
            if expanded(t):
                tags.add("inplace-expanded")
        if self.grad and self.recorded:
            tags.add("inplace-after-record")
        form = "fn" if r.random() < 0.15 else "method"
        st = InPlace(op, target, args, tags | {"inplace", op + "_"}, form)
        self.try_stmt(st, allow_error=0.5 if "inplace-expanded" in tags else 0.15)

    def overlap_pair(self, n, tags):
        """An in-place op whose argument overlaps its target in memory."""
        r = self.r
        a = self.env[n]
        if a.ndim == 0 or expanded(a):
            return None
        op = r.choice(["add", "sub", "mul", "copy", "copy", "add", "div"])
        pat = r.choice(["shift", "shift", "shift", "transpose", "bcast", "step", "permute"])
        x = Var(n)
        tags.add("overlap")
        nd = a.ndim
        if pat == "transpose" and nd >= 2:
            sq = [(i, j) for i in range(nd) for j in range(i + 1, nd) if a.shape[i] == a.shape[j]]
            if sq:
                i, j = r.choice(sq)
                tags.add("overlap-transpose")
                if nd == 2 and r.random() < 0.5:
                    return op, x, T(x)
                return op, x, Transpose(x, i + 1, j + 1, nd)
        if pat == "permute" and nd == 3 and len(set(a.shape)) == 1:
            p = [1, 2, 0] if r.random() < 0.5 else [2, 0, 1]
            tags.add("overlap-permute")
            return op, x, Permute(x, p)
        d = r.randint(1, nd)
        size = a.shape[d - 1]
        if size < 2:
            return None
        if pat == "bcast":
            tags.add("overlap-bcast")
            i = r.randint(1, size)
            if d == 1 and r.random() < 0.5:
                return op, x, Select(x, 1, i, nd)
            if r.random() < 0.5:
                tags.update(["idx-single", "idx-whole"] if d > 1 else ["idx-single"])
                return op, x, Index(x, [("whole",)] * (d - 1) + [("single", i)], a.shape)
            return op, x, Narrow(x, d, i, 1, nd)
        if pat == "step" and size >= 3:
            ln = (size + 1) // 2
            e1 = ("range", 1, 2 * ln - 1, 2)
            e2 = ("range", 2, size, 2) if size % 2 == 0 else ("range", 1, size, 2)
            pre = [("whole",)] * (d - 1)
            tags.update(["overlap-step", "idx-step"] + (["idx-whole"] if d > 1 else []))
            if size % 2 == 0:  # odd positions from even ones
                return op, Index(x, pre + [e1], a.shape), Index(x, pre + [e2], a.shape)
            # odd size: the same stride, shifted by one step
            return op, Index(x, pre + [("range", 1, size - 2, 2)], a.shape), \
                Index(x, pre + [("range", 3, size, 2)], a.shape)
        tags.add("overlap-shift")
        ln = r.randint(1, size - 1)
        s1, s2 = r.sample(range(1, size - ln + 2), 2) if size - ln + 1 >= 2 else (1, 2)
        if r.random() < 0.5:
            return op, Narrow(x, d, s1, ln, nd), Narrow(x, d, s2, ln, nd)
        pre = [("whole",)] * (d - 1)
        if d > 1:
            tags.add("idx-whole")
        return op, Index(x, pre + [("range", s1, s1 + ln - 1, None)], a.shape), \
            Index(x, pre + [("range", s2, s2 + ln - 1, None)], a.shape)

    def s_setindex(self):
        r = self.r
        n = self.pick(self.writable)
        if not n:
            return self.s_literal()
        a = self.env[n]
        if a.ndim == 0:
            return
        tags = {"setindex"}
        idx = self.index_expr(Var(n), a, tags, allow_bad=not self.grad)
        try:
            t = self.eval(idx)
        except Exception:
            t = None
        if r.random() < 0.4 or t is None:
            val = Num(self.value())
        else:
            fits = self.tensors(lambda m, b, mm: bcast(b.shape, t.shape) == t.shape and
                                self.arg_ok(n, m))
            if not fits:
                val = Num(self.value())
            else:
                val, b, _ = self.view_of(r.choice(fits), depth=0)
                if np.shares_memory(b, t):
                    tags.add("overlap")
                    tags.add("overlap-setindex")
        if t is not None and expanded(t):
            tags.add("inplace-expanded")
        if self.grad and self.recorded:
            tags.add("inplace-after-record")
        self.try_stmt(SetIndex(Var(n), idx.entries, val, tags, a.shape), allow_error=0.3)

    def s_expand_write(self):
        """Expand a variable and write into the expanded view (or a view of it)."""
        r = self.r
        n = self.pick(lambda n, a, m: not m["rg"] and (1 in a.shape or a.ndim < 3))
        if not n:
            return self.s_literal()
        tags = {"expand"}
        x, a = Var(n), self.env[n]
        e, _ = self.view_expr(x, a, set())
        if not isinstance(e, Expand):
            shape = [r.randint(2, 3) if s == 1 else s for s in a.shape]
            e = Expand(x, ([r.randint(2, 3)] if r.random() < 0.5 or a.ndim == 0 else []) + shape)
        name = self.assign(e, tags | {"view"}, allow_error=0.2, srcs=[n])
        if not name or self.ended:
            return
        self.s_inplace_on(name)

    def s_inplace_on(self, name):
        r = self.r
        x, t, tags = self.view_of(name, depth=r.choice([0, 0, 1]))
        if expanded(t):
            tags.add("inplace-expanded")
        op = r.choice(["add", "mul", "fill", "zero", "copy", "clamp"])
        args = {"add": [Num(self.value())], "mul": [Num(2.0)], "fill": [Num(self.value())],
                "zero": [], "copy": [self.lit(t.shape)] if t.ndim else [Num(1.0)],
                "clamp": [Num(-1.0), Num(1.0)]}[op]
        if op == "copy" and isinstance(args[0], Num):
            op = "fill"
        self.try_stmt(InPlace(op, x, args, tags | {"inplace", op + "_"}), allow_error=0.9)

    # -- autograd
    def s_grad_inplace(self):
        """Modify, in place, a tensor the graph may have saved: a constant, a leaf under
        no_grad, or the detached value of an intermediate."""
        r = self.r
        if not self.recorded:
            return self.s_binary()
        choice = r.choice(["const", "const", "nograd", "detach"])
        tags = {"inplace", "inplace-after-record"}
        op = r.choice(["mul", "add", "fill", "zero"])
        args = {"mul": [Num(2.0)], "add": [Num(1.0)], "fill": [Num(0.5)], "zero": []}[op]
        def pick(pred):
            # mostly a tensor that a recorded op read or made (its base or a view of it)
            near = [n for n in self.tensors(pred) if n in self.saved or any(
                self.meta[n]["base"] == self.meta[s]["base"] for s in self.saved if s in self.meta)]
            return r.choice(near) if near and r.random() < 0.8 else self.pick(pred)

        if choice == "const":
            n = pick(lambda n, a, m: not m["rg"])
            if not n:
                return
            x, t, _ = self.view_of(n, depth=r.choice([0, 0, 1]))
            if expanded(t) or t.size == 0:
                return
            self.try_stmt(InPlace(op, x, args, tags | {"saved-const"}))
        elif choice == "nograd":
            n = pick(lambda n, a, m: m["rg"] and m.get("leaf"))
            if not n:
                return
            x, t, _ = self.view_of(n, depth=r.choice([0, 0, 1]))
            if expanded(t) or t.size == 0:
                return
            self.try_stmt(NoGrad(InPlace(op, x, args), tags | {"saved-nograd"}))
        else:
            n = pick(lambda n, a, m: m["rg"] and not m.get("leaf"))
            if not n:
                return
            x, t, _ = self.view_of(n, depth=0)
            if expanded(t) or t.size == 0:
                return
            self.try_stmt(InPlace(op, Method0("detach", x), args, tags | {"saved-detach"}))

    def finish_grad(self):
        r = self.r
        names = self.tensors(lambda n, a, m: m["rg"])
        if not names:
            return
        latest = 0.9 if self.profile == "saved" else 0.6
        n = names[-1] if r.random() < latest else r.choice(names)  # mostly the latest result
        x, a, tags = self.view_of(n, depth=0)
        if r.random() < 0.5:
            sq = self.assign(Binary("mul", x, x, "op"), {"binary"})
            if not sq:
                return
            x = Var(sq)
        loss = self.name("loss")
        self.try_stmt(Assign([loss], Reduce(r.choice(["sum", "mean"]), x, None, None, a.ndim,
                                            True), {"reduce"}))
        self.try_stmt(Backward(loss))

    # -- the program
    WEIGHTS = {
        "mixed": {"literal": 1, "view": 3, "unary": 2, "binary": 3, "reduce": 2, "matmul": 1,
                  "method0": 1, "inplace": 3, "overlap": 1, "setindex": 1, "expand": 1,
                  "index_select": 0.5, "dimop": 1},
        "alias": {"literal": 0.5, "view": 2, "binary": 1, "inplace": 1, "overlap": 5,
                  "setindex": 1},
        "expand": {"literal": 0.5, "view": 1, "binary": 1, "inplace": 1, "expand": 4,
                   "method0": 1, "reduce": 0.5},
        "index": {"literal": 0.5, "view": 4, "setindex": 3, "inplace": 1, "binary": 1,
                  "index_select": 1},
        "reduce": {"literal": 1, "view": 1, "reduce": 4, "matmul": 3, "binary": 1, "unary": 1,
                   "dimop": 2},
        "grad": {"literal": 1.5, "view": 2, "unary": 2, "binary": 3, "reduce": 1.5, "matmul": 1.5,
                 "method0": 0.5, "inplace": 0.5, "dimop": 1},
        "saved": {"literal": 1, "view": 1, "unary": 2, "binary": 3, "reduce": 1, "matmul": 1,
                  "grad_inplace": 3},
    }

    def step(self):
        w = self.WEIGHTS[self.profile]
        k = self.r.choices(list(w), list(w.values()))[0]
        {"literal": self.s_literal, "view": self.s_view, "unary": self.s_unary,
         "binary": self.s_binary, "reduce": self.s_reduce, "matmul": self.s_matmul,
         "method0": self.s_method0, "inplace": self.s_inplace,
         "overlap": lambda: self.s_inplace(overlap=True), "setindex": self.s_setindex,
         "expand": self.s_expand_write, "index_select": self.s_index_select,
         "grad_inplace": self.s_grad_inplace, "dimop": self.s_dimop}[k]()


def generate(seed, index, profile):
    """Program number index of the stream seed, for profile (deterministic)."""
    pid = "%s:%s:%d" % (seed, profile, index)
    rng = random.Random(pid)
    g = Gen(rng, profile, pid)
    if g.grad:
        # leaves first, so that something requires grad
        for _ in range(rng.randint(1, 2)):
            e = g.lit(g.shape(rng.choice([1, 2, 2, 3])), rg=True)
            n = g.assign(e, prefix="w", rg=True)
            g.leaves.append(n)
            g.meta[n]["leaf"] = True
    for _ in range(rng.randint(1, 3)):
        g.s_literal()
    target = rng.randint(2, 9)
    tries = 0
    while len(g.stmts) < target + 3 and not g.ended and tries < 40:
        g.step()
        tries += 1
    if g.grad and not g.ended:
        g.finish_grad()
    return Program(g.pid, profile, "grad" if g.grad else "np", g.stmts, g.leaves, g.f32)
