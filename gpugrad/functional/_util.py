"""Argument handling shared by the functional modules."""

import numbers

import numpy as np

from .. import dtypes as _dtypes
from ..errors import ArgumentError, ArgumentTypeError, GpugradIndexError, ShapeError
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
    """None (all dims) or a sorted tuple of distinct dims."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        out = tuple(sorted({axis(d, ndim, op) for d in dim}))
        if len(out) != len(dim):
            raise ArgumentError(f"[{op}] dims {tuple(dim)} repeat a dim")
        return out
    return (axis(dim, ndim, op),)


def check_tensor(x, op):
    """Refuse a non-tensor where a function needs one (before it reaches array code)."""
    if not isinstance(x, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(x).__name__}")
    return x


def scalar(v):
    """A Python scalar for ``v`` when it is one (NumPy scalars become Python ones, so they
    promote weakly like Python numbers); else None."""
    if isinstance(v, np.generic):  # before SCALARS: np.float64 subclasses float
        return v.item() if v.dtype.kind in "biuf" else None
    if isinstance(v, SCALARS):
        return v
    return None


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
    """
    if not _LEGACY_PROMOTION or isinstance(c, bool):
        return c
    if dtype.kind == "f" or (dtype.kind in "iu" and isinstance(c, int)):
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


def check_values(t, bad, message):
    """Raise GpugradIndexError(``message``) where ``bad(array)`` (a boolean array of
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
        t._backend.check(make, message)
