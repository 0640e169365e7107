"""Elementwise functions: arithmetic (tensor or scalar operands), math, comparisons."""

import numpy as np

from ..errors import ArgumentError, ArgumentTypeError, DTypeError
from ..ops import elementwise as E
from ..tensor import Tensor
from ._util import as_tensor, broadcast_error, check_tensor, floating, scalar, weak

_TRUE_DIVISION = ("div",)


def _promote(name, a, b):
    """PyTorch's promotion where it differs from NumPy's: an integer or bool tensor meets a
    float tensor in that tensor's dtype (NumPy: int64 with float32 gives float64), and a
    true division of integers gives the default float dtype."""
    ka, kb = a.dtype.kind, b.dtype.kind
    if ka == "f" and kb != "f" and kb in "biu":
        return a, b.to(dtype=a.dtype)
    if kb == "f" and ka != "f" and ka in "biu":
        return a.to(dtype=b.dtype), b
    if name in _TRUE_DIVISION:
        return floating(a), floating(b)
    return a, b


def _with_scalar(name, t, c):
    """The tensor side of ``t <op> c``: an integer tensor meets a float scalar (or a true
    division) in the default float dtype, as in PyTorch."""
    if isinstance(c, float) or name in _TRUE_DIVISION:
        return floating(t)
    return t


def _binary(name, op_cls, a, b, scalar_right, scalar_left):
    """Dispatch ``a <op> b``: two tensors, or a tensor and a Python scalar (kept weak)."""
    if isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            c = scalar(b)
            if c is not None:
                a = _with_scalar(name, a, c)
                return scalar_right(weak(a.dtype, c))(a)
            b = as_tensor(b, a, name)
    else:
        check_tensor(b, name)
        c = scalar(a)
        if c is not None:
            b = _with_scalar(name, b, c)
            return scalar_left(weak(b.dtype, c))(b)
        a = as_tensor(a, b, name)
    if a.dtype != b.dtype:
        a, b = _promote(name, a, b)
    elif name in _TRUE_DIVISION:
        a, b = floating(a), floating(b)
    try:
        return op_cls()(a, b)
    except ValueError as exc:
        raise broadcast_error(name, a, b) or exc from None


def add(a, b):
    """a + b with broadcasting."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.array.dtype is b.array.dtype:
        try:
            return E.Add()(a, b)
        except ValueError as exc:
            raise broadcast_error("add", a, b) or exc from None
    return _binary("add", E.Add, a, b, E.AddScalar, E.AddScalar)


def sub(a, b):
    return _binary("sub", E.Sub, a, b, lambda c: E.AddScalar(-c), E.RSubScalar)


def mul(a, b):
    """a * b with broadcasting."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.array.dtype is b.array.dtype:
        try:
            return E.Mul()(a, b)
        except ValueError as exc:
            raise broadcast_error("mul", a, b) or exc from None
    return _binary("mul", E.Mul, a, b, E.MulScalar, E.MulScalar)


def div(a, b):
    """True division a / b."""
    return _binary("div", E.Div, a, b, E.DivScalar, E.RDivScalar)


def pow(a, b):  # noqa: A001 - the PyTorch name
    """a ** b; either side may be a scalar."""
    return _binary("pow", E.Pow, a, b, E.PowScalar, E.RPowScalar)


def add_scaled(a, b, alpha):
    """a + alpha * b (``Tensor.add_(b, alpha=...)``)."""
    return add(a, mul(b, alpha))


def neg(x):
    return E.Neg()(x)


def exp(x):
    return E.Exp()(floating(x))


def log(x):
    return E.Log()(floating(x))


def log1p(x):
    return E.Log1p()(floating(x))


def expm1(x):
    return E.Expm1()(floating(x))


def sqrt(x):
    return E.Sqrt()(floating(x))


def rsqrt(x):
    return 1.0 / sqrt(x)


def abs(x):  # noqa: A001
    return E.Abs()(x)


def sin(x):
    return E.Sin()(floating(x))


def cos(x):
    return E.Cos()(floating(x))


def reciprocal(x):
    return E.RDivScalar(1.0)(floating(x))


def square(x):
    return E.PowScalar(2)(x)


def sign(x):
    """-1, 0 or 1; gradient 0."""
    return E.ZeroGrad("sign")(x)


def floor(x):
    return E.ZeroGrad("floor")(x)


def ceil(x):
    return E.ZeroGrad("ceil")(x)


def round(x):  # noqa: A001
    """Round half to even (as NumPy and PyTorch do); gradient 0."""
    return E.ZeroGrad("round")(x)


def trunc(x):
    return E.ZeroGrad("trunc")(x)


def floor_divide(a, b):
    """a // b (floor division); gradient 0."""
    return _binary("floor_divide", lambda: E.ZeroGrad("floor_divide"), a, b,
                   lambda c: E.ZeroGradScalar("floor_divide", c), lambda c: E.ZeroGradScalar("floor_divide", c, True))


def remainder(a, b):
    """a % b with the sign of b (Python's and PyTorch's rule); a - b * floor(a / b)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return a - b * floor_divide(a, b)
    if isinstance(a, Tensor):
        return a - floor_divide(a, b) * b
    return a - b * floor_divide(a, b)


def maximum(a, b):
    """Elementwise max; a tie splits the gradient evenly between a and b."""
    return _binary("maximum", E.Maximum, *_both_tensors(a, b, "maximum"), None, None)


def minimum(a, b):
    return _binary("minimum", E.Minimum, *_both_tensors(a, b, "minimum"), None, None)


def _both_tensors(a, b, op):
    like = a if isinstance(a, Tensor) else b
    a = a if isinstance(a, Tensor) else _const_like(a, like, op)
    b = b if isinstance(b, Tensor) else _const_like(b, like, op)
    return a, b


def _const_like(v, like, op):
    c = scalar(v)
    if c is None:
        return as_tensor(v, like, op)
    dt = np.result_type(like.dtype, c)  # NumPy 2: a Python scalar takes the tensor's kind
    return Tensor._wrap(like._backend.asarray(c, dtype=dt), like._backend)


def clip(x, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    """clamp(x, min, max); either bound may be None. Gradient 1 where min <= x <= max."""
    if min is None and max is None:
        raise ArgumentError("[clip] at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        y = x
        if min is not None:
            y = maximum(y, min)
        if max is not None:
            y = minimum(y, max)
        return y
    return E.Clip(min, max)(x)


clamp = clip


def where(cond, a, b):
    """a where cond else b (broadcast); cond must be a bool tensor; no gradient to cond."""
    like = next((t for t in (cond, a, b) if isinstance(t, Tensor)), None)
    if like is None:
        raise ArgumentTypeError("[where] at least one argument must be a tensor")
    if not isinstance(cond, Tensor):
        cond = as_tensor(cond, like, "where")
    if cond.dtype.kind != "b":
        raise DTypeError(f"[where] expected a bool condition, got {cond.dtype}")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        with like._backend.scope():
            ref = Tensor._wrap(like._backend.xp.zeros((), dtype=_float_of(a, b)), like._backend)
        a, b = _const_like(a, ref, "where"), _const_like(b, ref, "where")
    else:
        a, b = _both_tensors(a, b, "where")
    try:
        return E.Where()(cond, a, b)
    except ValueError as exc:
        raise broadcast_error("where", cond, a, b) or exc from None


def _float_of(a, b):
    return np.result_type(a, b) if any(isinstance(v, float) for v in (a, b)) else np.dtype("int64")


def cast(x, dtype):
    return E.Cast(dtype)(x)


def _compare(fn, reflected_fn, a, b):
    if isinstance(b, Tensor):
        if isinstance(a, Tensor):
            try:
                return E.Compare(fn)(a, b)
            except ValueError as exc:
                raise broadcast_error(fn, a, b) or exc from None
        a, b, fn = b, a, reflected_fn
    c = scalar(b)
    if c is not None:
        return E.CompareScalar(fn, c)(a)
    return _compare(fn, reflected_fn, a, as_tensor(b, a, fn))


def eq(a, b):
    return _compare("equal", "equal", a, b)


def ne(a, b):
    return _compare("not_equal", "not_equal", a, b)


def lt(a, b):
    return _compare("less", "greater", a, b)


def le(a, b):
    return _compare("less_equal", "greater_equal", a, b)


def gt(a, b):
    return _compare("greater", "less", a, b)


def ge(a, b):
    return _compare("greater_equal", "less_equal", a, b)


def logical_and(a, b):
    return _compare("logical_and", "logical_and", a, b)


def logical_or(a, b):
    return _compare("logical_or", "logical_or", a, b)


def logical_xor(a, b):
    return _compare("logical_xor", "logical_xor", a, b)


def logical_not(x):
    return E.Compare("logical_not")(x)


def bitwise_not(x):
    return E.Compare("invert")(x)


def isnan(x):
    return E.Compare("isnan")(x)


def isinf(x):
    return E.Compare("isinf")(x)


def isfinite(x):
    return E.Compare("isfinite")(x)


def zeros_like(x):
    with x._backend.scope():
        return Tensor._wrap(x._backend.xp.zeros(x.shape, dtype=x.dtype), x._backend)


def full_like_op(x, value):
    """A constant with x's shape, dtype and device (``fill_`` in a graph)."""
    with x._backend.scope():
        return Tensor._wrap(x._backend.xp.full(x.shape, value, dtype=x.dtype), x._backend)


def copy_from(x, src):
    """src cast to x's dtype and broadcast to x's shape (``copy_`` in a graph)."""
    from .shape import broadcast_to

    s = src if src.dtype == x.dtype else cast(src, x.dtype)
    # s * 1: a new node even when src already fits, so the written tensor gets its own
    # graph entry that routes the gradient to src
    return broadcast_to(s, x.shape) if s.shape != x.shape else s * 1

