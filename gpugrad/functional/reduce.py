"""Reductions: sum, mean, var, std, prod, max/min (values and indices), amax/amin,
argmax/argmin, logsumexp, all/any. Each takes ``dim`` or NumPy's ``axis`` (and ``keepdim``
or ``keepdims``) as PyTorch does; a 0-d tensor takes dim 0 or -1. Dtypes are PyTorch's:
sums and products of integers or bools are int64, mean/var/std need floats."""

import builtins
from typing import NamedTuple

from .. import dtypes as _dtypes
from ..errors import ArgumentTypeError, DTypeError, ShapeError
from ..ops import reduction as R
from ..tensor import Tensor
from ._util import axes, axis, check_float, check_tensor, floating, numpy_names


class MaxResult(NamedTuple):
    """What ``max``/``min`` with a dim return, like PyTorch's ``return_types.max``: the
    fields ``values`` and ``indices``, and it unpacks as a 2-tuple."""

    values: Tensor
    indices: Tensor


def _accumulating(x, dtype, op):
    """``x`` in the dtype a sum or product of it has: ``dtype`` when given (PyTorch casts
    the input first), int64 for integer and bool tensors, else its own."""
    check_tensor(x, op)
    if dtype is not None:
        return x.to(dtype)
    return x.to(_dtypes.int64) if x.dtype.kind in "biu" else x


@numpy_names
def sum(x, dim=None, keepdim=False, dtype=None):  # noqa: A001
    """Sum over ``dim`` (int, tuple or None for all)."""
    x = _accumulating(x, dtype, "sum")
    return R.Sum(axes(dim, x.ndim, "sum"), keepdim)(x)


def _need_float(x, dtype, op):
    check_tensor(x, op)
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise DTypeError(
            f"[{op}] expected a floating point tensor, got {x.dtype}; call .float() first (or pass dtype=)"
        )
    return x


@numpy_names
def mean(x, dim=None, keepdim=False, dtype=None):
    """Mean over ``dim``; an integer tensor is refused (as in PyTorch) unless ``dtype`` is given."""
    x = _need_float(x, dtype, "mean")
    return R.Mean(axes(dim, x.ndim, "mean"), keepdim)(x)


@numpy_names
def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance with Bessel's ``correction`` (1 = unbiased, PyTorch's default). As in
    PyTorch, the argument after ``dim`` is ``unbiased``."""
    check_float(x, "var")
    if isinstance(dim, bool):  # var(False): PyTorch's var(unbiased)
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    elif unbiased is not None:
        raise ArgumentTypeError("[var] got both unbiased and correction; pass one")
    ax = axes(dim, x.ndim, "var")
    n = x.numel() if ax is None else _count(x.shape, ax)
    d = x - mean(x, ax, keepdim=True)
    return sum(d * d, ax, keepdim) / builtins.max(n - correction, 0)


@numpy_names
def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: sqrt of ``var`` (same arguments)."""
    check_float(x, "std")
    return var(x, dim, unbiased, keepdim, correction=correction).sqrt()


def _count(shape, ax):
    n = 1
    for a in ax:
        n *= shape[a]
    return n


@numpy_names
def prod(x, dim=None, keepdim=False, dtype=None):
    """Product over one dim or all; differentiable once (exact even with zeros)."""
    x = _accumulating(x, dtype, "prod")
    if dim is not None and not isinstance(dim, int):
        raise ArgumentTypeError(f"[prod] dim must be an int or None, got {type(dim).__name__}")
    return R.Prod(None if dim is None else axes(dim, x.ndim, "prod"), keepdim)(x)


def _not_empty(kind, x, ax):
    if x.numel() == 0 and (ax is None or builtins.any(x.shape[a] == 0 for a in ax)):
        raise ShapeError(f"[{kind}] cannot reduce an empty tensor (shape {x.shape}) over dims {ax}; it has no identity")


def _extreme(kind, x, dim, keepdim):
    """max/min: of all elements (the gradient shared evenly among ties, as PyTorch does),
    of another tensor (elementwise, as ``torch.max(a, b)``), or along ``dim`` (a
    ``MaxResult``; the gradient goes to the returned index)."""
    check_tensor(x, kind)
    if dim is None:
        if keepdim:
            raise ArgumentTypeError(f"[{kind}] keepdim needs a dim")
        return _amax(kind, x, None, False)
    if isinstance(dim, Tensor):
        from .math import maximum, minimum

        return (maximum if kind == "max" else minimum)(x, dim)
    ax = axis(dim, x.ndim, kind)
    _not_empty(kind, x, (ax,) if x.ndim else None)
    values, indices = R.Extreme(kind, ax if x.ndim else None, keepdim)(x)
    return MaxResult(values, indices)


@numpy_names
def max(x, dim=None, keepdim=False):  # noqa: A001
    """The largest value; with ``dim``, ``(values, indices)``. Ties: the first index wins
    (and gets the gradient); without a dim the gradient is shared among ties."""
    return _extreme("max", x, dim, keepdim)


@numpy_names
def min(x, dim=None, keepdim=False):  # noqa: A001
    """The smallest value; with ``dim``, ``(values, indices)``. Ties: as ``max``."""
    return _extreme("min", x, dim, keepdim)


def _amax(kind, x, dim, keepdim):
    check_tensor(x, "a" + kind)
    ax = axes(dim, x.ndim, "a" + kind)
    _not_empty("a" + kind, x, ax)
    return R.AMax(kind, ax, keepdim)(x)


@numpy_names
def amax(x, dim=None, keepdim=False):
    """The largest values over ``dim`` (an int, a tuple or all); the gradient is shared
    evenly among ties, as in PyTorch."""
    return _amax("max", x, dim, keepdim)


@numpy_names
def amin(x, dim=None, keepdim=False):
    return _amax("min", x, dim, keepdim)


def _arg(kind, x, dim, keepdim):
    check_tensor(x, "arg" + kind)
    if x.dtype.kind == "b":
        raise DTypeError(f"[arg{kind}] expected a numeric tensor, got bool (as PyTorch); call .int() first")
    if dim is None:
        _not_empty("arg" + kind, x, None)
        with _no_grad():
            return R.Extreme(kind, None, keepdim)(x)[1]
    return _extreme(kind, x, dim, keepdim).indices


@numpy_names
def argmax(x, dim=None, keepdim=False):
    """Index of the first largest value (flat index when dim is None); int64."""
    return _arg("max", x, dim, keepdim)


@numpy_names
def argmin(x, dim=None, keepdim=False):
    return _arg("min", x, dim, keepdim)


@numpy_names
def logsumexp(x, dim=None, keepdim=False):
    """log(sum(exp(x))) computed stably (finite for large x; -inf for all -inf); an integer
    tensor gives float32, as in PyTorch."""
    x = floating(check_tensor(x, "logsumexp"))
    return R.LogSumExp(axes(dim, x.ndim, "logsumexp"), keepdim)(x)


def _logical(fn, x, dim, keepdim):
    check_tensor(x, fn)
    xp = x._backend.xp
    ax = axes(dim, x.ndim, fn)
    with x._backend.scope():
        return Tensor._wrap(xp.asarray(getattr(xp, fn)(x.array, axis=ax, keepdims=keepdim)), x._backend)


@numpy_names
def all(x, dim=None, keepdim=False):  # noqa: A001
    """True where every element over ``dim`` is nonzero; bool."""
    return _logical("all", x, dim, keepdim)


@numpy_names
def any(x, dim=None, keepdim=False):  # noqa: A001
    """True where some element over ``dim`` is nonzero; bool."""
    return _logical("any", x, dim, keepdim)


from ..autograd.grad_mode import no_grad as _no_grad  # noqa: E402
