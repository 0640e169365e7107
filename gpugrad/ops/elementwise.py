"""Elementwise arithmetic and math with broadcasting; scalar variants keep Python
scalars "weak" (NumPy 2 promotion: ``float32 tensor * 2.0`` stays float32)."""

import math

from .. import functional as F
from ..dtypes import is_floating
from .base import Op
from .shape import sum_to


class Add(Op):
    __slots__ = ()

    def forward(self, b, x0, x1):
        return x0 + x1

    def backward(self, gy):  # d(a+b) = da + db
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(gy, b.shape)


class Sub(Op):
    __slots__ = ()

    def forward(self, b, x0, x1):
        return x0 - x1

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(-gy, b.shape) if b.requires_grad else None


class Mul(Op):
    __slots__ = ()

    def forward(self, b, x0, x1):
        return x0 * x1

    def backward(self, gy):  # d(ab) = b da + a db
        a, b = self.inputs
        ga = sum_to(gy * self.saved(1), a.shape) if a.requires_grad else None
        gb = sum_to(gy * self.saved(0), b.shape) if b.requires_grad else None
        return ga, gb


class Div(Op):
    __slots__ = ()
    ieee = True

    def forward(self, b, x0, x1):
        return x0 / x1

    def backward(self, gy):  # d(a/b) = da / b - a db / b^2
        a, b = self.inputs
        bb = self.saved(1)
        ga = sum_to(gy / bb, a.shape) if a.requires_grad else None
        gb = sum_to(-gy * self.saved(0) / (bb * bb), b.shape) if b.requires_grad else None
        return ga, gb


class Pow(Op):
    __slots__ = ()
    ieee = True

    def forward(self, b, x0, x1):
        return int_power(b.xp, x0, x1)

    def backward(self, gy):  # d a^b = b a^(b-1) da + a^b log(a) db
        a, b = self.inputs
        aa, bb = self.saved(0), self.saved(1)
        ga = gb = None
        if a.requires_grad:  # 0 where b == 0, also at a == 0 (PyTorch's convention)
            # (b - 1 taken at b = 1 there: 0 ** -1 = inf times b = 0 would be a NaN and a warning)
            ga = sum_to(F.where(bb == 0, 0.0, gy * bb * aa ** (F.where(bb == 0, 1.0, bb) - 1)), a.shape)
        if b.requires_grad:
            # 0 where a == 0 and b >= 0 (the limit of a^b log a), as in PyTorch; log(1) = 0
            # there keeps inf and NaN out of this branch and of its own derivatives
            safe = F.where((aa == 0) & (bb >= 0), 1.0, aa)
            gb = sum_to(gy * safe**bb * F.log(safe), b.shape)
        return ga, gb


class AddScalar(Op):
    __slots__ = ("c",)

    def __init__(self, c):
        self.c = c

    def forward(self, b, x):
        return x + self.c

    def backward(self, gy):
        return gy


class MulScalar(Op):
    __slots__ = ("c",)

    def __init__(self, c):
        self.c = c

    def forward(self, b, x):
        return x * self.c

    def backward(self, gy):
        return gy * self.c


class DivScalar(Op):
    __slots__ = ("c",)
    ieee = True

    def __init__(self, c):
        self.c = c

    def forward(self, b, x):
        return x / self.c

    def backward(self, gy):
        return gy / self.c


class RSubScalar(Op):  # c - x
    __slots__ = ("c",)

    def __init__(self, c):
        self.c = c

    def forward(self, b, x):
        return self.c - x

    def backward(self, gy):
        return -gy


class RDivScalar(Op):  # c / x
    __slots__ = ("c",)
    ieee = True

    def __init__(self, c):
        self.c = c

    def forward(self, b, x):
        return self.c / x

    def backward(self, gy):  # d(c/x) = -c/x^2
        x = self.saved(0)
        return gy * (-self.c) / (x * x)


class PowScalar(Op):  # x ** c
    __slots__ = ("c",)
    ieee = True

    def __init__(self, c):
        self.c = c

    def forward(self, b, x):
        return b.xp.power(x, self.c).astype(x.dtype, copy=False)  # bool ** True stays bool

    def backward(self, gy):  # d x^c = c x^(c-1)
        c = self.c
        if c == 0:
            return gy * 0.0
        if c == 1:
            return gy
        if c == 2:
            return gy * self.saved(0) * 2.0
        return gy * c * self.saved(0) ** (c - 1)


def int_power(xp, a, e):
    """``a ** e``; for integer ``e`` with negative entries, PyTorch's integer result (NumPy
    refuses them): 1 for a base of 1, +-1 for -1, else 0 (the truncated 1 / a^-e)."""
    if getattr(e, "dtype", None) is None or e.dtype.kind not in "iu" or not (e < 0).any():
        return xp.power(a, e)
    neg = e < 0
    y = xp.power(a, xp.where(neg, 0, e))
    one = xp.ones_like(y)
    small = xp.where(a == 1, one, xp.where(a == -1, xp.where(e % 2 == 0, one, -one), 0 * one))
    return xp.where(neg, small, y)


class RPowScalar(Op):  # c ** x
    __slots__ = ("c",)
    ieee = True
    saves_output = True

    def __init__(self, c):
        self.c = c

    def forward(self, b, x):
        if isinstance(self.c, int) and x.dtype.kind in "iu":
            return int_power(b.xp, b.xp.asarray(self.c, dtype=x.dtype), x)
        return b.xp.power(self.c, x)

    def backward(self, gy):  # d c^x = c^x log c; for c = 0: 0 where x >= 0, as in PyTorch
        if self.c == 0:
            return F.where(self.saved(0) >= 0, 0.0, gy * -math.inf)
        return gy * self.output() * (math.log(self.c) if self.c > 0 else math.nan)


class Neg(Op):
    __slots__ = ()

    def forward(self, b, x):
        return -x

    def backward(self, gy):
        return -gy


class Exp(Op):
    __slots__ = ()
    ieee = True
    saves_output = True

    def forward(self, b, x):
        return b.xp.exp(x)

    def backward(self, gy):  # d exp x = exp x
        return gy * self.output()


class Log(Op):
    __slots__ = ()
    ieee = True

    def forward(self, b, x):
        return b.xp.log(x)

    def backward(self, gy):  # d log x = 1/x
        return gy / self.saved(0)


class Log10(Op):
    __slots__ = ()
    ieee = True

    def forward(self, b, x):
        return b.xp.log10(x)

    def backward(self, gy):  # d log10 x = 1 / (x ln 10)
        return gy / (self.saved(0) * math.log(10.0))


class Log2(Op):
    __slots__ = ()
    ieee = True

    def forward(self, b, x):
        return b.xp.log2(x)

    def backward(self, gy):  # d log2 x = 1 / (x ln 2)
        return gy / (self.saved(0) * math.log(2.0))


class Log1p(Op):
    __slots__ = ()
    ieee = True

    def forward(self, b, x):
        return b.xp.log1p(x)

    def backward(self, gy):
        return gy / (self.saved(0) + 1.0)


class Expm1(Op):
    __slots__ = ()
    ieee = True
    saves_output = True

    def forward(self, b, x):
        return b.xp.expm1(x)

    def backward(self, gy):
        return gy * (self.output() + 1.0)


class Sqrt(Op):
    __slots__ = ()
    ieee = True
    saves_output = True

    def forward(self, b, x):
        return b.xp.sqrt(x)

    def backward(self, gy):  # d sqrt x = 1 / (2 sqrt x)
        return gy / (self.output() * 2.0)


class Abs(Op):
    __slots__ = ()

    def forward(self, b, x):
        return b.xp.abs(x)

    def backward(self, gy):  # d|x| = sign(x) (0 at 0, as in PyTorch)
        return gy * F.sign(self.saved(0))


class Sin(Op):
    __slots__ = ()

    def forward(self, b, x):
        return b.xp.sin(x)

    def backward(self, gy):
        return gy * F.cos(self.saved(0))


class Cos(Op):
    __slots__ = ()

    def forward(self, b, x):
        return b.xp.cos(x)

    def backward(self, gy):
        return -gy * F.sin(self.saved(0))


class ZeroGrad(Op):
    """Piecewise-constant functions (sign, floor, ceil, round, trunc, //): gradient 0."""

    __slots__ = ("fn",)
    ieee = True  # x // 0 is inf or NaN, silently as in PyTorch

    def __init__(self, fn):
        self.fn = fn

    @property
    def name(self):
        return self.fn.capitalize()

    def forward(self, b, *xs):
        return getattr(b.xp, self.fn)(*xs)

    def backward(self, gy):
        return tuple(F.zeros_like(x) if x.requires_grad else None for x in self.inputs)


class Maximum(Op):
    """Elementwise max; on ties the gradient is split evenly, as in PyTorch."""

    __slots__ = ()
    _fn = "maximum"

    def forward(self, b, x0, x1):
        return getattr(b.xp, self._fn)(x0, x1)

    def backward(self, gy):
        a, b = self.inputs
        aa, bb = self.saved(0), self.saved(1)
        wins = aa > bb if self._fn == "maximum" else aa < bb
        share = F.where(wins, 1.0, F.where(aa == bb, 0.5, 0.0)).to(gy.dtype)
        ga = sum_to(gy * share, a.shape) if a.requires_grad else None
        gb = sum_to(gy * (1.0 - share), b.shape) if b.requires_grad else None
        return ga, gb


class Minimum(Maximum):
    __slots__ = ()
    _fn = "minimum"


class Clip(Op):
    """clamp(x, lo, hi); gradient 1 where lo <= x <= hi (inclusive, as in PyTorch)."""

    __slots__ = ("lo", "hi")

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, b, x):
        # in x's dtype (clamp casts x to the result's first): NumPy's clip of ml_dtypes'
        # bfloat16 by Python floats would give float32
        return b.xp.clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    def backward(self, gy):
        x = self.saved(0)
        keep = None
        if self.lo is not None:
            keep = x >= self.lo
        if self.hi is not None:
            keep = x <= self.hi if keep is None else keep & (x <= self.hi)
        return F.where(keep, gy, 0.0)


class Where(Op):
    """where(cond, a, b); cond is a bool tensor and gets no gradient."""

    __slots__ = ()

    def forward(self, b, c, x0, x1):
        return b.xp.where(c, x0, x1)

    def backward(self, gy):
        c, a, b = self.inputs
        ga = sum_to(F.where(c, gy, 0.0), a.shape) if a.requires_grad else None
        gb = sum_to(F.where(c, 0.0, gy), b.shape) if b.requires_grad else None
        return None, ga, gb


class Cast(Op):
    __slots__ = ("dtype",)
    ieee = True

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, b, x):
        return x.astype(self.dtype, order="C")  # always a fresh C-contiguous copy

    def backward(self, gy):
        return gy.to(self.inputs[0].dtype)


class Compare(Op):
    """Comparisons and logical ops: bool outputs, never differentiable."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def forward(self, b, *xs):
        return getattr(b.xp, self.fn)(*xs)


class Bitwise(Compare):
    """Bitwise and shift ops (logical on bool tensors): integer outputs, never differentiable."""

    __slots__ = ()


class CompareScalar(Op):
    """``fn(x, c)`` (or ``fn(c, x)`` when reflected) for a NumPy function name and a scalar:
    comparisons, never differentiable."""

    __slots__ = ("fn", "c", "reflected")

    def __init__(self, fn, c, reflected=False):
        self.fn, self.c, self.reflected = fn, c, reflected

    def forward(self, b, x):
        f = getattr(b.xp, self.fn)
        return f(self.c, x) if self.reflected else f(x, self.c)


class BitwiseScalar(CompareScalar):
    """``fn(x, c)`` (or ``fn(c, x)``) of a bitwise or shift op and an integer or bool scalar."""

    __slots__ = ()


class ZeroGradScalar(CompareScalar):
    """A piecewise-constant ``fn(x, c)`` (floor division): gradient 0."""

    __slots__ = ()
    ieee = True

    def backward(self, gy):
        return F.zeros_like(self.inputs[0])




# -- the breadth issue's math: trigonometric and hyperbolic functions and their inverses,
# exp2, and the binary atan2 / hypot / logaddexp / copysign / fmod / xlogy --------------------
class _Unary(Op):
    """A one-input NumPy ufunc named ``fn``; subclasses give the backward."""

    __slots__ = ()
    fn = ""

    def forward(self, b, x):
        return getattr(b.xp, self.fn)(x)


class Tan(_Unary):
    __slots__ = ()
    fn, saves_output = "tan", True

    def backward(self, gy):  # d tan x = 1 + tan^2 x
        y = self.output()
        return gy * (1.0 + y * y)


class Asin(_Unary):
    __slots__ = ()
    fn, ieee = "arcsin", True  # NaN outside [-1, 1]

    def backward(self, gy):  # d asin x = 1 / sqrt(1 - x^2)
        x = self.saved(0)
        return gy / F.sqrt(1.0 - x * x)


class Acos(_Unary):
    __slots__ = ()
    fn, ieee = "arccos", True

    def backward(self, gy):  # d acos x = -1 / sqrt(1 - x^2)
        x = self.saved(0)
        return -gy / F.sqrt(1.0 - x * x)


class Atan(_Unary):
    __slots__ = ()
    fn = "arctan"

    def backward(self, gy):  # d atan x = 1 / (1 + x^2)
        x = self.saved(0)
        return gy / (1.0 + x * x)


class Sinh(_Unary):
    __slots__ = ()
    fn, ieee = "sinh", True  # overflows to inf

    def backward(self, gy):  # d sinh x = cosh x
        return gy * F.cosh(self.saved(0))


class Cosh(_Unary):
    __slots__ = ()
    fn, ieee = "cosh", True

    def backward(self, gy):  # d cosh x = sinh x
        return gy * F.sinh(self.saved(0))


class Asinh(_Unary):
    __slots__ = ()
    fn = "arcsinh"

    def backward(self, gy):  # d asinh x = 1 / sqrt(x^2 + 1)
        x = self.saved(0)
        return gy / F.sqrt(x * x + 1.0)


class Acosh(_Unary):
    __slots__ = ()
    fn, ieee = "arccosh", True  # NaN below 1

    def backward(self, gy):  # d acosh x = 1 / sqrt(x^2 - 1)
        x = self.saved(0)
        return gy / F.sqrt(x * x - 1.0)


class Atanh(_Unary):
    __slots__ = ()
    fn, ieee = "arctanh", True  # +-inf at +-1, NaN outside

    def backward(self, gy):  # d atanh x = 1 / (1 - x^2)
        x = self.saved(0)
        return gy / (1.0 - x * x)


class Exp2(_Unary):
    __slots__ = ()
    fn, ieee, saves_output = "exp2", True, True

    def backward(self, gy):  # d 2^x = 2^x ln 2
        return gy * self.output() * math.log(2.0)


class _Binary(Op):
    """A two-input NumPy ufunc named ``fn`` on operands of one dtype (broadcast)."""

    __slots__ = ()
    fn = ""

    def forward(self, b, x0, x1):
        return getattr(b.xp, self.fn)(x0, x1)

    def backward(self, gy):
        a, b = self.inputs
        ga, gb = self.grads(gy, a.requires_grad, b.requires_grad)
        return (sum_to(ga, a.shape) if a.requires_grad else None,
                sum_to(gb, b.shape) if b.requires_grad else None)


class Atan2(_Binary):
    __slots__ = ()
    fn = "arctan2"

    def grads(self, gy, need_a, need_b):  # d atan2(a, b) = (b da - a db) / (a^2 + b^2)
        a, b = self.saved(0), self.saved(1)
        r = gy / (a * a + b * b)
        return (r * b if need_a else None), (-r * a if need_b else None)


class Hypot(_Binary):
    __slots__ = ()
    fn, saves_output = "hypot", True

    def grads(self, gy, need_a, need_b):  # d hypot(a, b) = (a da + b db) / hypot(a, b)
        r = gy / self.output()
        return (r * self.saved(0) if need_a else None), (r * self.saved(1) if need_b else None)


class LogAddExp(_Binary):
    __slots__ = ()
    fn, ieee, saves_output = "logaddexp", True, True

    def grads(self, gy, need_a, need_b):  # d log(e^a + e^b) = e^(a - y) da + e^(b - y) db
        y = self.output()
        return (gy * F.exp(self.saved(0) - y) if need_a else None), (gy * F.exp(self.saved(1) - y) if need_b else None)


class CopySign(_Binary):
    __slots__ = ()
    fn, saves_output = "copysign", True

    def grads(self, gy, need_a, need_b):  # d |a| sign(b) = y / a da (0 at a = 0, as PyTorch); none to b
        a = self.saved(0)
        ratio = F.where(a == 0, 0.0, self.output() / F.where(a == 0, 1.0, a))
        return (gy * ratio if need_a else None), (F.zeros_like(self.inputs[1]) if need_b else None)


class Fmod(_Binary):
    __slots__ = ()
    fn, ieee = "fmod", True  # x fmod 0 is NaN

    def grads(self, gy, need_a, need_b):  # a - trunc(a / b) b: da = 1, db = -trunc(a / b)
        gb = None
        if need_b:
            gb = -gy * F.trunc(self.saved(0) / self.saved(1))
        return (gy if need_a else None), gb


class XLogY(_Binary):
    """x log y, 0 where x == 0 (unless y is NaN), as PyTorch's xlogy."""

    __slots__ = ()
    ieee = True

    def forward(self, b, x, y):
        xp = b.xp
        out = x * xp.log(y)
        return xp.where((x == 0) & ~xp.isnan(y), xp.zeros((), dtype=out.dtype), out)

    def grads(self, gy, need_x, need_y):  # d x log y = log y dx (0 where y == 0, as PyTorch) + x / y dy
        x, y = self.saved(0), self.saved(1)
        gx = gy * F.xlogy((y != 0).to(y.dtype), y) if need_x else None
        return gx, (gy * x / y if need_y else None)


class ClampTensor(Op):
    """clamp(x, lo, hi) with tensor bounds (one of them may be None): min(max(x, lo), hi).
    The gradient goes as PyTorch sends it: to x where lo <= x <= hi, to lo where x < lo (and
    lo < hi), to hi where x > hi (or hi < lo)."""

    __slots__ = ("has_lo", "has_hi")

    def __init__(self, has_lo, has_hi):
        self.has_lo, self.has_hi = has_lo, has_hi

    def forward(self, b, x, *bounds):
        it = iter(bounds)
        y = b.xp.maximum(x, next(it)) if self.has_lo else x
        return b.xp.minimum(y, next(it)) if self.has_hi else y

    def backward(self, gy):
        x = self.saved(0)
        lo = self.saved(1) if self.has_lo else None
        hi = self.saved(1 + self.has_lo) if self.has_hi else None
        keep = take_lo = take_hi = None
        if lo is not None:
            keep = x >= lo
            take_lo = x < lo if hi is None else (x < lo) & (lo < hi)
        if hi is not None:
            keep = x <= hi if keep is None else keep & (x <= hi)
            take_hi = x > hi if lo is None else (x > hi) | (hi < lo)
        grads = [sum_to(F.where(keep, gy, 0.0), x.shape) if x.requires_grad else None]
        for t, take in ((lo, take_lo), (hi, take_hi)):
            if t is not None:
                grads.append(sum_to(F.where(take, gy, 0.0), t.shape) if t.requires_grad else None)
        return tuple(grads)


class Sampled(Op):
    """A draw (bernoulli, normal) from tensors of parameters: ``forward`` returns the values
    drawn already; as in PyTorch the result is in the graph with gradient 0 to the parameters
    (these draws are not reparameterized)."""

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = values

    def forward(self, b, *xs):
        return self.values

    def backward(self, gy):
        return tuple(F.zeros_like(x) if x.requires_grad else None for x in self.inputs)


class TruncDiv(ZeroGrad):
    """a / b rounded toward zero (``div(rounding_mode='trunc')``): exact for integers (a
    minus its fmod is a multiple of b); gradient 0."""

    __slots__ = ()

    def __init__(self):
        super().__init__("trunc_divide")

    def forward(self, b, x0, x1):
        xp = b.xp
        if is_floating(x0.dtype):
            return xp.trunc(x0 / x1)
        return (x0 - xp.fmod(x0, x1)) // x1
