"""Argument handling shared by the functional modules."""

import functools
import numbers

import numpy as np

from .. import dtypes as _dtypes
from ..dtypes import is_floating
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, GpugradIndexError, ShapeError
from ..tensor import Tensor

SCALARS = (int, float, bool)


def axis(dim, ndim, op):
    """One dim, negative allowed, checked against ``ndim``."""
    if not isinstance(dim, numbers.Integral):
        raise ArgumentTypeError(f"[{op}] dim must be an int, got {type(dim).__name__}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise GpugradIndexError(
            f"[{op}] dim {dim} is out of range for a tensor with {ndim} dims (expected {-n}..{n - 1})"
        )
    return dim % n


def axes(dim, ndim, op):
    """None (all dims) or a sorted tuple of distinct dims. A 0-d tensor takes dim 0 or -1
    (or no dim) as PyTorch does, meaning its one element: None."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        out = tuple(sorted({axis(d, ndim, op) for d in dim}))
        if len(out) != len(dim):
            raise ArgumentError(f"[{op}] dims {tuple(dim)} repeat a dim")
    else:
        out = (axis(dim, ndim, op),)
    return out if ndim else None


def numpy_names(fn):
    """``fn`` that also takes NumPy's keyword names ``axis`` and ``keepdims`` for ``dim``
    and ``keepdim``, as PyTorch's functions do (``x.sum(axis=0)``)."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        for alias, name in (("axis", "dim"), ("keepdims", "keepdim")):
            if alias in kwargs:
                if name in kwargs:
                    raise ArgumentTypeError(f"[{fn.__name__}] got both {name} and its alias {alias}")
                kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    return call


def check_tensor(x, op):
    """Refuse a non-tensor where a function needs one (before it reaches array code)."""
    if not isinstance(x, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(x).__name__}")
    return x


def check_float(x, op):
    """Refuse an integer or bool tensor where PyTorch has no integer version of the op."""
    check_tensor(x, op)
    if not is_floating(x.dtype):
        raise DTypeError(f"[{op}] expected a floating point tensor, got {x.dtype}; call .float() first")
    return x


def check_not_bool(x, op, hint=""):
    """Refuse a bool tensor where PyTorch does (neg, abs, floor, sub, ...)."""
    check_tensor(x, op)
    if x.dtype.kind == "b":
        raise DTypeError(f"[{op}] expected a numeric tensor, got bool{hint}")
    return x


def check_integral(x, op):
    """Refuse a float tensor where PyTorch does (the bitwise and shift ops)."""
    check_tensor(x, op)
    if x.dtype.kind not in "biu":
        raise DTypeError(f"[{op}] expected an integer or bool tensor, got {x.dtype}")
    return x


def scalar(v):
    """A Python scalar for ``v`` when it is one (NumPy scalars become Python ones, so they
    promote weakly like Python numbers); else None."""
    if isinstance(v, np.generic):  # before SCALARS: np.float64 subclasses float
        return v.item() if v.dtype.kind in "biuf" else None
    if isinstance(v, SCALARS):
        return v
    return None


def promote_types(a, b):
    """PyTorch's promotion of two dtypes: NumPy's, except that an integer or bool dtype
    meets a float dtype in that float dtype (NumPy: int64 with float16 gives float64)."""
    if a == b:
        return a
    if is_floating(a) != is_floating(b):
        return a if is_floating(a) else b
    return np.promote_types(a, b)


def result_type(*operands):
    """The dtype PyTorch gives an op of ``operands`` (tensors and Python or NumPy scalars;
    others, such as None, are skipped). Three tiers, each promoted within itself: tensors
    with dims, 0-d tensors, scalars (a float scalar counts as the default float dtype, an
    int as int64). A later tier changes the result only when it is of a higher category
    (bool < integer < float): int32 tensor + 2.5 gives float32, int32 tensor + float64 0-d
    tensor gives float64, float16 tensor + float64 0-d tensor gives float16."""
    tiers = [None, None, None]
    for v in operands:
        if isinstance(v, Tensor):
            i, dt = (0 if v.ndim else 1), v.dtype
        else:
            c = scalar(v)
            if c is None:
                continue
            i = 2
            dt = _dtypes.bool_ if isinstance(c, bool) else _dtypes.int64 if isinstance(c, int) else _dtypes.default_float
        tiers[i] = dt if tiers[i] is None else promote_types(tiers[i], dt)
    return _combine(tiers[0], _combine(tiers[1], tiers[2]))


def _combine(higher, lower):
    """The result of a tier (``higher``) and the tiers after it (``lower``): PyTorch's
    ``combine_categories``."""
    if higher is None:
        return lower
    if lower is None or is_floating(higher):
        return higher
    if higher.kind == "b" or is_floating(lower):
        return promote_types(higher, lower)
    return higher


def floating(x):
    """``x``, or ``x`` in the default float dtype when it holds integers or bools: as in
    PyTorch, a float function of an integer tensor (exp, sigmoid, x / 2, x * 0.5) gives
    float32, not NumPy's float64."""
    if isinstance(x, Tensor) and x.dtype.kind in "biu":
        return x.to(dtype=_dtypes.default_float)
    return x


def as_tensor(v, like, op):
    """``v`` as a tensor on ``like``'s device (arrays and lists are converted)."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, np.ndarray) or isinstance(v, (list, tuple)):
        return Tensor(v, dtype=v.dtype if isinstance(v, np.ndarray) else None, device=like.device)
    if isinstance(v, like._backend.ndarray):
        return Tensor._wrap(v, like._backend)
    raise ArgumentTypeError(f"[{op}] expected a tensor or a number, got {type(v).__name__}")


_LEGACY_PROMOTION = int(np.__version__.split(".")[0]) < 2


def weak(dtype, c):
    """``c`` ready to combine with an array of ``dtype`` under NumPy 2's rule (NEP 50: a
    Python scalar takes the array's dtype when of the same kind). NumPy 2 and CuPy already
    do this; NumPy 1.26 promotes 0-d arrays by value, so there ``c`` becomes a typed scalar.
    An integer outside an integer dtype's range wraps around into it, as in PyTorch (NumPy
    would raise OverflowError): int8 tensor + 300 adds 44.
    """
    if isinstance(c, bool):
        return c
    if isinstance(c, int) and dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not info.min <= c <= info.max:
            return np.array(c).astype(dtype)[()]
    if not _LEGACY_PROMOTION:
        return c
    if is_floating(dtype) or (dtype.kind in "iu" and isinstance(c, int)):
        return dtype.type(c)
    return c


def broadcast_error(op, *ts):
    shapes = [tuple(t.shape) for t in ts]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return ShapeError(
            f"[{op}] expected broadcastable shapes, got " + " and ".join(str(s) for s in shapes)
        )
    return None


def shape_arg(shape, op):
    """``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])`` -> (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    out = []
    for n in shape:
        if not isinstance(n, numbers.Integral) and not (isinstance(n, Tensor) and n.numel() == 1):
            raise ArgumentTypeError(f"[{op}] sizes must be ints, got {shape!r}")
        out.append(int(n))
    return tuple(out)


def check_values(t, bad, message, error=GpugradIndexError):
    """Raise ``error(message)`` (GpugradIndexError unless given) where ``bad(array)`` (a boolean array of
    ``t``'s values) holds anywhere; ``message`` may name ``{value}`` and ``{position}`` (the
    first offending one, counted in the flattened tensor). On a GPU the check runs on the
    device and is raised at the next read of a result, so it costs no host read."""
    xp = t._backend.xp
    flat = t.array.reshape(-1)

    def make():
        where = bad(flat)
        pos = xp.argmax(where)
        return where.any(), pos, flat[pos]

    if flat.size:
        t._backend.check(make, message, error)
