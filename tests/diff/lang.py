"""The language of the differential tester's programs: one AST, three renderings.

Every statement and expression renders itself as genlab Lua (lua), numpy (np) and PyTorch (th)
text. numpy is the reference for plain programs, PyTorch for autograd programs (values and the
leaves' .grad). gen.py builds programs of these nodes; difftest.py runs and compares them.

The reference semantics are numpy's, and where numpy is silent PyTorch's:
- a write whose output overlaps an input gives the result "as if the inputs were copied first"
  (numpy >= 1.13 ufuncs and assignment do this);
- a write into an expanded tensor (stride 0 along a dimension of size > 1) raises: `_w` below;
- Lua index ranges are 1-based and inclusive, x[{{a, b, step}}], {i} keeps a size-1 dim, {} is the
  whole dim, negative a/b count from the end, an integer selects, four or more numbers raise;
- a tensor saved for backward and then modified in place makes backward raise (PyTorch does).
"""

import math
# ---- preludes: the helpers the numpy and torch texts call ---------------------------------------

# name -> source. A reproducer prints only the helpers its text names.
NP_HELPERS = {
    "_w": '''def _w(x):
    # genlab (and PyTorch) refuse to write through an expanded view
    if x.size and any(s == 0 and n > 1 for n, s in zip(x.shape, x.strides)):
        raise ValueError("in-place write into an expanded tensor")
    return x''',
    "add_": "def add_(x, b):\n    np.add(_w(x), b, out=x)\n    return x",
    "sub_": "def sub_(x, b):\n    np.subtract(_w(x), b, out=x)\n    return x",
    "mul_": "def mul_(x, b):\n    np.multiply(_w(x), b, out=x)\n    return x",
    "div_": "def div_(x, b):\n    np.divide(_w(x), b, out=x)\n    return x",
    "copy_": "def copy_(x, b):\n    _w(x)[...] = np.broadcast_to(b, x.shape)\n    return x",
    "fill_": "def fill_(x, v):\n    _w(x)[...] = v\n    return x",
    "zero_": "def zero_(x):\n    _w(x)[...] = 0\n    return x",
    "clamp_": "def clamp_(x, lo, hi):\n    np.clip(_w(x), lo, hi, out=x)\n    return x",
    "setitem": '''def setitem(x, idx, v):
    # x[idx] = v: a number fills, a tensor is copied (broadcast to the view)
    t = x[idx]
    return fill_(t, v) if isinstance(v, float) else copy_(t, v)''',
    "expand": '''def expand(x, *shape):
    # a writable broadcast view (np.broadcast_to's is read-only): _w guards the writes
    shape = tuple(x.shape[i - (len(shape) - x.ndim)] if n == -1 else n
                  for i, n in enumerate(shape))
    b = np.broadcast_to(x, shape)
    return as_strided(x, b.shape, b.strides)''',
    "view": '''def view(x, *shape):
    v = x.view()
    v.shape = shape  # raises when the strides do not allow it
    return v''',
    "contiguous": "def contiguous(x):\n    return x if x.flags.c_contiguous else x.copy()",
    "sigmoid": "def sigmoid(x):\n    return 1 / (1 + np.exp(-x))",
    "relu": "def relu(x):\n    return np.maximum(x, 0)",
    "max_": '''def max_(x, d, keepdim):
    return (np.asarray(np.max(x, axis=d, keepdims=keepdim), order="C"),
            np.asarray(np.argmax(x, axis=d, keepdims=keepdim) + 1.0, order="C"))''',
    "min_": '''def min_(x, d, keepdim):
    return (np.asarray(np.min(x, axis=d, keepdims=keepdim), order="C"),
            np.asarray(np.argmin(x, axis=d, keepdims=keepdim) + 1.0, order="C"))''',
    "bad_index": '''def bad_index():
    raise IndexError("an index range has at most 3 numbers")''',
    "logsumexp": '''def logsumexp(x, d, keepdim):
    # shifted by the max; an infinite max shifts by 0 (as PyTorch)
    if x.shape[d] == 0:
        return np.sum(x, axis=d, keepdims=keepdim) - np.inf
    m = np.max(x, axis=d, keepdims=True)
    m = np.where(np.isinf(m), np.zeros_like(m), m)
    r = np.log(np.sum(np.exp(x - m), axis=d, keepdims=True)) + m
    return np.asarray(r if keepdim else np.squeeze(r, d), order="C")''',
    "softmax": '''def softmax(x, d):
    if x.size == 0:
        return x.copy()
    e = np.exp(x - np.max(x, axis=d, keepdims=True))
    return np.asarray(e / np.sum(e, axis=d, keepdims=True), order="C")''',
}
NP_HEADER = '''import numpy as np
from numpy.lib.stride_tricks import as_strided
if hasattr(np, "_set_promotion_state"):  # numpy 1.24-1.26; numpy 2 promotes so already
    np._set_promotion_state("weak")  # float32 tensor op float64 tensor -> float64, as genlab
np.seterr(all="ignore")'''

TH_HELPERS = {
    "max_": '''def max_(x, d, keepdim):
    v, i = torch.max(x, d, keepdim)
    return v.contiguous(), i.double() + 1''',
    "min_": '''def min_(x, d, keepdim):
    v, i = torch.min(x, d, keepdim)
    return v.contiguous(), i.double() + 1''',
    "bad_index": '''def bad_index():
    raise IndexError("an index range has at most 3 numbers")''',
}
TH_HEADER = "import torch"


def helper_text(helpers, header, text):
    """The header plus the helpers that text calls (and the ones those call)."""
    need, todo = [], [text]
    while todo:
        t = todo.pop()
        for name, src in helpers.items():
            if name not in need and (name + "(") in t:
                need.append(name)
                todo.append(src)
    order = [n for n in helpers if n in need]
    return "\n".join([header] + [helpers[n] for n in order])


def np_namespace():
    ns = {}
    exec(helper_text(NP_HELPERS, NP_HEADER, " ".join(n + "(" for n in NP_HELPERS)), ns)
    return ns


# ---- expressions ------------------------------------------------------------------------------

class Style:
    """How Lua names variables: fields of V in the batch file, locals in a reproducer.
    desugar: spell index expressions x[{...}] as narrow/select chains (same meaning), to tell
    a bug of indexing from a bug of what follows it."""

    def __init__(self, batch, desugar=False):
        self.batch, self.desugar = batch, desugar

    def ref(self, name):
        return "V." + name if self.batch else name


def num_lua(v):
    if v != v:
        return "(0/0)"
    if v in (math.inf, -math.inf):
        return "(1/0)" if v > 0 else "(-1/0)"
    s = repr(float(v))
    return "(" + s + ")" if v < 0 else s


def num_py(v):
    if v != v:
        return "float('nan')"
    if v in (math.inf, -math.inf):
        return "float('inf')" if v > 0 else "-float('inf')"
    s = repr(float(v))
    return "(" + s + ")" if v < 0 else s


def nested(vals, shape, fmt):
    if not shape:
        return fmt(vals[0])
    n = shape[0]
    step = len(vals) // n if n else 0
    return [nested(vals[i * step:(i + 1) * step], shape[1:], fmt) for i in range(n)]


def render_nested(v, open_, close):
    if isinstance(v, list):
        return open_ + ", ".join(render_nested(x, open_, close) for x in v) + close
    return v


class Expr:
    view = False  # True when the result shares the operand's storage


class Var(Expr):
    def __init__(self, name):
        self.name = name

    def lua(self, st):
        return st.ref(self.name)

    def np(self):
        return self.name

    def th(self):
        return self.name


class Num(Expr):
    def __init__(self, v):
        self.v = float(v)

    def lua(self, st):
        return num_lua(self.v)

    def np(self):
        return num_py(self.v)

    th = np


class Lit(Expr):
    """A tensor literal (float64 or float32; a leaf that requires grad when rg)."""

    def __init__(self, vals, shape, dtype, rg=False):
        self.vals, self.shape, self.dtype, self.rg = list(vals), tuple(shape), dtype, rg

    def _body(self, open_, close, fmt):
        return render_nested(nested(self.vals, self.shape, fmt), open_, close)

    def lua(self, st):
        s = 'G.tensor(%s, {dtype = "%s"})' % (self._body("{", "}", num_lua), self.dtype)
        return s + ":requires_grad_()" if self.rg else s

    def np(self):
        return "np.array(%s, dtype=np.%s)" % (self._body("[", "]", num_py), self.dtype)

    def th(self):
        rg = ", requires_grad=True" if self.rg else ""
        return "torch.tensor(%s, dtype=torch.%s%s)" % (self._body("[", "]", num_py), self.dtype, rg)


def dim0(d, ndim):
    """A 1-based (or negative) genlab dim as numpy's 0-based axis."""
    return d - 1 if d > 0 else d + ndim


def np_entries(x, entries):
    return "%s[%s]" % (x, ", ".join(entries + ["..."]))


class Narrow(Expr):
    view = True

    def __init__(self, x, d, s, n, ndim):
        self.x, self.d, self.s, self.n, self.ndim = x, d, s, n, ndim

    def lua(self, st):
        return "%s:narrow(%d, %d, %d)" % (self.x.lua(st), self.d, self.s, self.n)

    def np(self):
        a = dim0(self.d, self.ndim)
        return np_entries(self.x.np(), [":"] * a + ["%d:%d" % (self.s - 1, self.s - 1 + self.n)])

    def th(self):
        return "%s.narrow(%d, %d, %d)" % (self.x.th(), dim0(self.d, self.ndim), self.s - 1, self.n)


class Select(Expr):
    view = True

    def __init__(self, x, d, i, ndim):
        self.x, self.d, self.i, self.ndim = x, d, i, ndim

    def lua(self, st):
        return "%s:select(%d, %d)" % (self.x.lua(st), self.d, self.i)

    def np(self):
        a = dim0(self.d, self.ndim)
        return np_entries(self.x.np(), [":"] * a + [str(self.i - 1 if self.i > 0 else self.i)])

    def th(self):
        return "%s.select(%d, %d)" % (self.x.th(), dim0(self.d, self.ndim),
                                      self.i - 1 if self.i > 0 else self.i)


def index_entry_py(e):
    """One Lua index entry as a numpy/torch basic index."""
    kind = e[0]
    if kind == "int":
        i = e[1]
        return str(i - 1 if i > 0 else i)
    if kind == "whole":
        return ":"
    if kind == "single":
        i = e[1]
        if i > 0:
            return "%d:%d" % (i - 1, i)
        return "%d:" % i if i == -1 else "%d:%d" % (i, i + 1)
    if kind == "range":
        a, b, step = e[1], e[2], e[3]
        start = "" if a == 1 else str(a - 1 if a > 0 else a)
        stop = str(b) if b >= 0 else ("" if b == -1 else str(b + 1))
        return start + ":" + stop + ("" if step is None else ":%d" % step)
    raise AssertionError(kind)


def index_entry_lua(e):
    kind = e[0]
    if kind == "int":
        return str(e[1])
    if kind == "whole":
        return "{}"
    if kind == "single":
        return "{%d}" % e[1]
    if kind == "range":
        return "{%s}" % ", ".join(str(v) for v in e[1:] if v is not None)
    if kind == "bad":
        return "{%s}" % ", ".join(str(v) for v in e[1])
    raise AssertionError(kind)


class Index(Expr):
    """x[{e1, e2, ...}]: entries as in index_entry_lua; shape is x's at generation."""
    view = True

    def __init__(self, x, entries, shape=None):
        self.x, self.entries, self.shape = x, entries, shape

    def desugared(self, x):
        """The same view as a narrow/select chain on Lua text x, or None (steps, bad)."""
        if self.shape is None:
            return None
        d = 1
        for k, e in enumerate(self.entries):
            n = self.shape[k]
            if e[0] == "int":
                x += ":select(%d, %d)" % (d, e[1] if e[1] > 0 else e[1] + n + 1)
                continue
            if e[0] == "single":
                i = e[1] if e[1] > 0 else e[1] + n + 1
                x += ":narrow(%d, %d, 1)" % (d, i)
            elif e[0] == "range":
                a = e[1] if e[1] > 0 else e[1] + n + 1
                b = e[2] if e[2] >= 0 else e[2] + n + 1
                count = b - a + 1 if e[3] in (None, 1) else max(0, (b - a) // e[3] + 1)
                if count > 1 and e[3] not in (None, 1):
                    return None  # a real step: no narrow/select spelling
                x += ":narrow(%d, %d, %d)" % (d, a, count)
            elif e[0] != "whole":
                return None
            d += 1
        return x

    def lua(self, st):
        x = self.x.lua(st)
        if st.desugar:
            got = self.desugared(x)
            if got is not None:
                return got
        return "%s[{%s}]" % (x, ", ".join(index_entry_lua(e) for e in self.entries))

    def _py(self, x):
        if any(e[0] == "bad" for e in self.entries):
            return "bad_index()"
        return np_entries(x, [index_entry_py(e) for e in self.entries])

    def np(self):
        return self._py(self.x.np())

    def th(self):
        return self._py(self.x.th())


class Transpose(Expr):
    view = True

    def __init__(self, x, d1, d2, ndim):
        self.x, self.d1, self.d2, self.ndim = x, d1, d2, ndim

    def lua(self, st):
        return "%s:transpose(%d, %d)" % (self.x.lua(st), self.d1, self.d2)

    def np(self):
        return "np.swapaxes(%s, %d, %d)" % (self.x.np(), dim0(self.d1, self.ndim),
                                            dim0(self.d2, self.ndim))

    def th(self):
        return "%s.transpose(%d, %d)" % (self.x.th(), dim0(self.d1, self.ndim),
                                         dim0(self.d2, self.ndim))


class T(Expr):
    view = True

    def __init__(self, x, field=False):
        self.x, self.field = x, field

    def lua(self, st):
        return self.x.lua(st) + (".T" if self.field else ":t()")

    def np(self):
        return self.x.np() + ".T"

    def th(self):
        return self.x.th() + ".t()"


class Permute(Expr):
    view = True

    def __init__(self, x, perm):
        self.x, self.perm = x, perm

    def lua(self, st):
        return "%s:permute(%s)" % (self.x.lua(st), ", ".join(str(p + 1) for p in self.perm))

    def np(self):
        return "np.transpose(%s, %r)" % (self.x.np(), tuple(self.perm))

    def th(self):
        return "%s.permute(%s)" % (self.x.th(), ", ".join(str(p) for p in self.perm))


def ints(v):
    return ", ".join(str(n) for n in v)


class Expand(Expr):
    view = True

    def __init__(self, x, shape):
        self.x, self.shape = x, shape

    def lua(self, st):
        return "%s:expand(%s)" % (self.x.lua(st), ints(self.shape))

    def np(self):
        return "expand(%s, %s)" % (self.x.np(), ints(self.shape))

    def th(self):
        return "%s.expand([%s])" % (self.x.th(), ints(self.shape))


class Reshape(Expr):
    view = True  # when possible; the generator asks numpy whether it was

    def __init__(self, x, shape, strict=False):
        self.x, self.shape, self.strict = x, shape, strict

    def lua(self, st):
        return "%s:%s(%s)" % (self.x.lua(st), "view" if self.strict else "reshape", ints(self.shape))

    def np(self):
        if self.strict:
            return "view(%s, %s)" % (self.x.np(), ints(self.shape))
        return "%s.reshape(%s)" % (self.x.np(), ints(self.shape) or "()")

    def th(self):
        return "%s.%s(%s)" % (self.x.th(), "view" if self.strict else "reshape",
                              ints(self.shape) or "()")


class Unsqueeze(Expr):
    view = True

    def __init__(self, x, d, ndim):
        self.x, self.d, self.ndim = x, d, ndim

    def lua(self, st):
        return "%s:unsqueeze(%d)" % (self.x.lua(st), self.d)

    def np(self):
        return "np.expand_dims(%s, %d)" % (self.x.np(), dim0(self.d, self.ndim + 1))

    def th(self):
        return "%s.unsqueeze(%d)" % (self.x.th(), dim0(self.d, self.ndim + 1))


class Squeeze(Expr):
    view = True

    def __init__(self, x, d, ndim):
        self.x, self.d, self.ndim = x, d, ndim

    def lua(self, st):
        return "%s:squeeze(%d)" % (self.x.lua(st), self.d)

    def np(self):
        return "np.squeeze(%s, %d)" % (self.x.np(), dim0(self.d, self.ndim))

    def th(self):
        return "%s.squeeze(%d)" % (self.x.th(), dim0(self.d, self.ndim))


class COrder(Expr):
    """A fresh result laid out row-major. genlab lays out every new tensor row-major; numpy and
    PyTorch follow the layout of the operands (a transposed operand gives a transposed result).
    The layout is unspecified, but reshape and view make a view or a copy according to it, so
    the reference is made to agree with genlab's choice: the text says so where it matters."""

    def __init__(self, x):
        self.x = x

    def lua(self, st):
        return self.x.lua(st)

    def np(self):
        return "np.asarray(%s, order=\"C\")" % self.x.np()

    def th(self):
        return "(%s).contiguous()" % self.x.th()


class Method0(Expr):
    """contiguous, clone, detach, float, double: (lua, numpy, torch) spellings."""
    SPELL = {
        "contiguous": ("{}:contiguous()", "contiguous({})", "{}.contiguous()"),
        "clone": ("{}:clone()", "{}.copy()", "{}.clone()"),
        "detach": ("{}:detach()", "{}", "{}.detach()"),
        "float": ("{}:float()", "{}.astype(np.float32, copy=False)", "{}.float()"),
        "double": ("{}:double()", "{}.astype(np.float64, copy=False)", "{}.double()"),
    }

    def __init__(self, op, x):
        self.op, self.x = op, x
        self.view = op == "detach"

    def lua(self, st):
        return self.SPELL[self.op][0].format(self.x.lua(st))

    def np(self):
        return self.SPELL[self.op][1].format(self.x.np())

    def th(self):
        return self.SPELL[self.op][2].format(self.x.th())


UNARY = {  # name: (numpy, torch)
    "exp": ("np.exp({})", "torch.exp({})"),
    "tanh": ("np.tanh({})", "torch.tanh({})"),
    "sigmoid": ("sigmoid({})", "torch.sigmoid({})"),
    "neg": ("np.negative({})", "torch.neg({})"),
    "abs": ("np.abs({})", "torch.abs({})"),
    "sqrt": ("np.sqrt({})", "torch.sqrt({})"),
    "log": ("np.log({})", "torch.log({})"),
    "square": ("np.square({})", "torch.square({})"),
    "relu": ("relu({})", "torch.relu({})"),
    "sin": ("np.sin({})", "torch.sin({})"),
}


class Unary(Expr):
    def __init__(self, op, x, form="method"):
        self.op, self.x, self.form = op, x, form

    def lua(self, st):
        if self.form == "fn":
            return "G.%s(%s)" % (self.op, self.x.lua(st))
        return "%s:%s()" % (self.x.lua(st), self.op)

    def np(self):
        return UNARY[self.op][0].format(self.x.np())

    def th(self):
        return UNARY[self.op][1].format(self.x.th())


def opt(v, py=False):
    if v is None:
        return "None" if py else "nil"
    return num_py(v) if py else num_lua(v)


class Clamp(Expr):
    def __init__(self, x, lo, hi):
        self.x, self.lo, self.hi = x, lo, hi

    def lua(self, st):
        return "%s:clamp(%s, %s)" % (self.x.lua(st), opt(self.lo), opt(self.hi))

    def np(self):
        return "np.clip(%s, %s, %s)" % (self.x.np(), opt(self.lo, 1), opt(self.hi, 1))

    def th(self):
        return "torch.clamp(%s, %s, %s)" % (self.x.th(), opt(self.lo, 1), opt(self.hi, 1))


BINARY = {  # name: (lua operator, numpy, torch)
    "add": ("+", "{} + {}", "{} + {}"),
    "sub": ("-", "{} - {}", "{} - {}"),
    "mul": ("*", "{} * {}", "{} * {}"),
    "div": ("/", "{} / {}", "{} / {}"),
    "maximum": (None, "np.maximum({}, {})", "torch.maximum({}, {})"),
    "minimum": (None, "np.minimum({}, {})", "torch.minimum({}, {})"),
}


def paren(e, text):
    return "(" + text + ")" if isinstance(e, Binary) else text


class Binary(Expr):
    def __init__(self, op, a, b, form):
        self.op, self.a, self.b, self.form = op, a, b, form

    def lua(self, st):
        a, b = self.a.lua(st), self.b.lua(st)
        if self.form == "op":
            return "%s %s %s" % (paren(self.a, a), BINARY[self.op][0], paren(self.b, b))
        if self.form == "fn":
            return "G.%s(%s, %s)" % (self.op, a, b)
        return "%s:%s(%s)" % (a, self.op, b)

    def np(self):
        return BINARY[self.op][1].format(paren(self.a, self.a.np()), paren(self.b, self.b.np()))

    def th(self):
        return BINARY[self.op][2].format(paren(self.a, self.a.th()), paren(self.b, self.b.th()))


class Reduce(Expr):
    """sum/mean/prod/max/min over all (dims None), one dim or a list of dims (values only)."""
    NP = {"sum": "np.sum", "mean": "np.mean", "prod": "np.prod", "max": "np.max", "min": "np.min"}
    TH = {"sum": "sum", "mean": "mean", "prod": "prod", "max": "amax", "min": "amin"}

    def __init__(self, op, x, dims, keepdim, ndim, scalar):
        self.op, self.x, self.dims, self.keepdim, self.ndim = op, x, dims, keepdim, ndim
        self.scalar = scalar  # the result is 0-d: numpy gives a scalar, wrap it

    def lua(self, st):
        x = self.x.lua(st)
        if self.dims is None:
            return "%s:%s()" % (x, self.op)
        d = str(self.dims) if isinstance(self.dims, int) else "{%s}" % ints(self.dims)
        k = ", true" if self.keepdim else (", false" if self.keepdim is False else "")
        return "%s:%s(%s%s)" % (x, self.op, d, k)

    def _axes(self):
        if isinstance(self.dims, int):
            return str(dim0(self.dims, self.ndim))
        return "(%s,)" % ", ".join(str(dim0(d, self.ndim)) for d in self.dims)

    def np(self):
        if self.dims is None:
            s = "%s(%s)" % (self.NP[self.op], self.x.np())
        else:
            s = "%s(%s, axis=%s%s)" % (self.NP[self.op], self.x.np(), self._axes(),
                                       ", keepdims=True" if self.keepdim else "")
        return "np.asarray(%s)" % s if self.scalar else s

    def th(self):
        x = self.x.th()
        if self.dims is None:
            return "%s.%s()" % (x, self.op)
        op = self.op if isinstance(self.dims, int) and self.op in ("sum", "mean", "prod") \
            else self.TH[self.op]
        return "%s.%s(%s%s)" % (x, op, self._axes(), ", keepdim=True" if self.keepdim else "")


class Matmul(Expr):
    def __init__(self, a, b, form, scalar):
        self.a, self.b, self.form, self.scalar = a, b, form, scalar

    def lua(self, st):
        if self.form == "fn":
            return "G.matmul(%s, %s)" % (self.a.lua(st), self.b.lua(st))
        return "%s:matmul(%s)" % (self.a.lua(st), self.b.lua(st))

    def np(self):
        s = "np.matmul(%s, %s)" % (self.a.np(), self.b.np())
        return "np.asarray(%s)" % s if self.scalar else s

    def th(self):
        return "torch.matmul(%s, %s)" % (self.a.th(), self.b.th())


class DimOp(Expr):
    """logsumexp(d, keepdim), softmax(d), cumsum(d), var(d, unbiased, keepdim) along one dim."""

    def __init__(self, op, x, d, ndim, keepdim=None, unbiased=None, scalar=False):
        self.op, self.x, self.d, self.ndim = op, x, d, ndim
        self.keepdim, self.unbiased, self.scalar = keepdim, unbiased, scalar

    def lua(self, st):
        args = [str(self.d)]
        if self.op == "var":
            args.append("true" if self.unbiased else "false")
        if self.keepdim is not None:
            args.append("true" if self.keepdim else "false")
        return "%s:%s(%s)" % (self.x.lua(st), self.op, ", ".join(args))

    def np(self):
        a, x = dim0(self.d, self.ndim), self.x.np()
        k = bool(self.keepdim)
        if self.op == "logsumexp":
            s = "logsumexp(%s, %d, %s)" % (x, a, k)
        elif self.op == "softmax":
            s = "softmax(%s, %d)" % (x, a)
        elif self.op == "cumsum":
            s = "np.cumsum(%s, axis=%d)" % (x, a)
        else:
            s = "np.var(%s, axis=%d, ddof=%d, keepdims=%s)" % (x, a, 1 if self.unbiased else 0, k)
        return "np.asarray(%s)" % s if self.scalar else s

    def th(self):
        a, x = dim0(self.d, self.ndim), self.x.th()
        k = bool(self.keepdim)
        if self.op == "logsumexp":
            return "torch.logsumexp(%s, %d, %s)" % (x, a, k)
        if self.op in ("softmax", "cumsum"):
            return "torch.%s(%s, %d)" % (self.op, x, a)
        return "torch.var(%s, %d, unbiased=%s, keepdim=%s)" % (x, a, bool(self.unbiased), k)


class Cat(Expr):
    """genlab.cat({a, b, ...}, d)."""

    def __init__(self, xs, d, ndim):
        self.xs, self.d, self.ndim = xs, d, ndim

    def lua(self, st):
        return "G.cat({%s}, %d)" % (", ".join(x.lua(st) for x in self.xs), self.d)

    def np(self):
        return "np.concatenate([%s], axis=%d)" % (", ".join(x.np() for x in self.xs),
                                                  dim0(self.d, self.ndim))

    def th(self):
        return "torch.cat([%s], %d)" % (", ".join(x.th() for x in self.xs), dim0(self.d, self.ndim))


class IndexSelect(Expr):
    def __init__(self, x, d, idx, ndim):
        self.x, self.d, self.idx, self.ndim = x, d, idx, ndim

    def lua(self, st):
        return "%s:index_select(%d, G.tensor({%s}))" % (self.x.lua(st), self.d, ints(self.idx))

    def np(self):
        return "np.take(%s, [%s], axis=%d)" % (self.x.np(), ints(i - 1 for i in self.idx),
                                               dim0(self.d, self.ndim))

    def th(self):
        return "%s.index_select(%d, torch.tensor([%s]))" % (
            self.x.th(), dim0(self.d, self.ndim), ints(i - 1 for i in self.idx))


# ---- statements --------------------------------------------------------------------------------

class Stmt:
    tags = frozenset()
    defines = ()

    def np_code(self):
        c = getattr(self, "_np_code", None)
        if c is None:
            c = self._np_code = compile(self.np(), "<stmt>", "exec")
        return c


class Assign(Stmt):
    def __init__(self, names, expr, tags=()):
        self.defines, self.expr, self.tags = tuple(names), expr, frozenset(tags)

    def lua(self, st):
        lhs = ", ".join(st.ref(n) for n in self.defines)
        return ("" if st.batch else "local ") + "%s = %s" % (lhs, self.expr.lua(st))

    def np(self):
        return "%s = %s" % (", ".join(self.defines), self.expr.np())

    def th(self):
        return "%s = %s" % (", ".join(self.defines), self.expr.th())


class MaxDim(Expr):
    """v, i = x:max(d, keepdim): values and 1-based positions (float64)."""

    def __init__(self, op, x, d, keepdim, ndim):
        self.op, self.x, self.d, self.keepdim, self.ndim = op, x, d, keepdim, ndim

    def lua(self, st):
        k = ", true" if self.keepdim else ""
        return "%s:%s(%d%s)" % (self.x.lua(st), self.op, self.d, k)

    def np(self):
        return "%s_(%s, %d, %s)" % (self.op, self.x.np(), dim0(self.d, self.ndim), self.keepdim)

    def th(self):
        return "%s_(%s, %d, %s)" % (self.op, self.x.th(), dim0(self.d, self.ndim), self.keepdim)


class InPlace(Stmt):
    """target:op_(args...) for add_, sub_, mul_, div_, copy_, fill_, zero_, clamp_."""

    def __init__(self, op, target, args, tags=(), form="method"):
        self.op, self.target, self.args, self.tags, self.form = op, target, args, frozenset(tags), form

    def _args(self, f):
        return [("nil" if f is None else "None") if a is None else
                (a.lua(f) if isinstance(f, Style) else getattr(a, f)()) for a in self.args]

    def lua(self, st):
        args = self._args(st)
        if self.form == "fn":
            return "G.%s_(%s)" % (self.op, ", ".join([self.target.lua(st)] + args))
        return "%s:%s_(%s)" % (self.target.lua(st), self.op, ", ".join(args))

    def np(self):
        return "%s_(%s)" % (self.op, ", ".join([self.target.np()] + self._args("np")))

    def th(self):
        return "%s.%s_(%s)" % (self.target.th(), self.op, ", ".join(self._args("th")))


class SetIndex(Stmt):
    """x[{...}] = value (a number fills, a tensor is copied with broadcasting)."""

    def __init__(self, var, entries, value, tags=(), shape=None):
        self.var, self.entries, self.value, self.tags = var, entries, value, frozenset(tags)
        self.shape = shape

    def lua(self, st):
        idx = Index(self.var, self.entries, self.shape)
        if st.desugar:
            got = idx.desugared(self.var.lua(st))
            if got is not None:
                op = "fill_" if isinstance(self.value, Num) else "copy_"
                return "%s:%s(%s)" % (got, op, self.value.lua(st))
        return "%s = %s" % (idx.lua(st), self.value.lua(st))

    def np(self):
        idx = Index(Var("x"), self.entries).np()
        if idx == "bad_index()":
            return "bad_index()"
        return "setitem(%s, np.s_[%s], %s)" % (self.var.np(), idx[2:-1], self.value.np())

    def th(self):
        return "%s = %s" % (Index(self.var, self.entries).th(), self.value.th())


class NoGrad(Stmt):
    def __init__(self, inner, tags=()):
        self.inner, self.tags = inner, frozenset(tags) | inner.tags

    def lua(self, st):
        return "G.no_grad(function() %s end)" % self.inner.lua(st)

    def np(self):
        return self.inner.np()

    def th(self):
        return "with torch.no_grad():\n    " + self.inner.th()


class Backward(Stmt):
    tags = frozenset(["backward"])

    def __init__(self, name):
        self.name = name

    def lua(self, st):
        return "%s:backward()" % st.ref(self.name)

    def np(self):
        return "pass"

    def th(self):
        return "%s.backward()" % self.name


# ---- programs ----------------------------------------------------------------------------------

class Program:
    """kind "np" (numpy is the reference) or "grad" (PyTorch is, gradients included)."""

    def __init__(self, pid, profile, kind, stmts, leaves, f32):
        self.pid, self.profile, self.kind = pid, profile, kind
        self.stmts, self.leaves, self.f32 = list(stmts), list(leaves), f32

    def names(self):
        out = []
        for s in self.stmts:
            for n in s.defines:
                if n not in out:
                    out.append(n)
        return out

    def live_leaves(self):
        names = self.names()
        return [n for n in self.leaves if n in names]

    def tags(self):
        t = set()
        for s in self.stmts:
            t |= s.tags
        return t

    def without(self, i):
        return Program(self.pid, self.profile, self.kind, self.stmts[:i] + self.stmts[i + 1:],
                       self.leaves, self.f32)

    def simpler_literal(self, i):
        """The program with statement i's literal holding 1, 2, 3, ... (None: no literal)."""
        s = self.stmts[i]
        if not (isinstance(s, Assign) and isinstance(s.expr, Lit)):
            return None
        e = s.expr
        vals = [float(k + 1) for k in range(len(e.vals))]
        if vals == e.vals:
            return None
        if self.kind == "grad":  # keep the values apart from ties and kinks
            vals = [v / 8 + 0.0625 for v in vals]
        new = Assign(s.defines, Lit(vals, e.shape, e.dtype, e.rg), s.tags)
        return Program(self.pid, self.profile, self.kind,
                       self.stmts[:i] + [new] + self.stmts[i + 1:], self.leaves, self.f32)

    def lua_script(self):
        st = Style(False)
        lines = ['local G = require "genlab"'] + [s.lua(st) for s in self.stmts]
        for n in self.names():
            lines.append('print("%s", %s)' % (n, n))
        for n in self.live_leaves():
            lines.append('print("%s.grad", %s.grad)' % (n, n))
        return "\n".join(lines)

    def np_script(self):
        body = "\n".join(s.np() for s in self.stmts if not isinstance(s, Backward))
        out = [helper_text(NP_HELPERS, NP_HEADER, body), body]
        out += ['print("%s", %s)' % (n, n) for n in self.names()]
        return "\n".join(out)

    def th_script(self):
        body = "\n".join(s.th() for s in self.stmts)
        out = [helper_text(TH_HELPERS, TH_HEADER, body), body]
        out += ['print("%s", %s)' % (n, n) for n in self.names()]
        out += ['print("%s.grad", %s.grad)' % (n, n) for n in self.live_leaves()]
        return "\n".join(out)


