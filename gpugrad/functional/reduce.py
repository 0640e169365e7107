"""Reductions: sum, mean, var, std, prod, max/min (values and indices), argmax/argmin,
logsumexp, all/any."""

import builtins
from typing import NamedTuple

from ..errors import ArgumentTypeError, ShapeError
from ..ops import reduction as R
from ..tensor import Tensor
from ._util import axes, axis, check_tensor


class MaxResult(NamedTuple):
    """What ``max``/``min`` with a dim return, like PyTorch's ``return_types.max``."""

    values: Tensor
    indices: Tensor


def sum(x, dim=None, keepdim=False, dtype=None):  # noqa: A001
    """Sum over ``dim`` (int, tuple or None for all)."""
    check_tensor(x, "sum")
    y = R.Sum(axes(dim, x.ndim, "sum"), keepdim)(x)
    return y if dtype is None else y.to(dtype)


def mean(x, dim=None, keepdim=False):
    check_tensor(x, "mean")
    if x.dtype.kind not in "fc":
        raise ArgumentTypeError(f"[mean] expected a floating point tensor, got {x.dtype}; call .float() first")
    return R.Mean(axes(dim, x.ndim, "mean"), keepdim)(x)


def var(x, dim=None, keepdim=False, correction=1, unbiased=None):
    """Variance with Bessel's ``correction`` (1 = unbiased, as PyTorch's default)."""
    check_tensor(x, "var")
    if unbiased is not None:
        correction = 1 if unbiased else 0
    ax = axes(dim, x.ndim, "var")
    n = x.numel() if ax is None else _count(x.shape, ax)
    d = x - mean(x, ax, keepdim=True)
    return sum(d * d, ax, keepdim) / builtins.max(n - correction, 0)


def std(x, dim=None, keepdim=False, correction=1, unbiased=None):
    return var(x, dim, keepdim, correction, unbiased).sqrt()


def _count(shape, ax):
    n = 1
    for a in ax:
        n *= shape[a]
    return n


def prod(x, dim=None, keepdim=False):
    """Product over one dim or all; differentiable once (exact even with zeros)."""
    check_tensor(x, "prod")
    if dim is not None and not isinstance(dim, int):
        raise ArgumentTypeError("[prod] dim must be an int or None")
    ax = None if dim is None else (axis(dim, x.ndim, "prod"),)
    return R.Prod(ax, keepdim)(x)


def _extreme(kind, x, dim, keepdim):
    check_tensor(x, kind)
    if dim is None:
        if x.numel() == 0:
            raise ShapeError(f"[{kind}] cannot reduce an empty tensor with shape {x.shape}")
        return R.Extreme(kind, None, keepdim)(x)[0]
    if isinstance(dim, Tensor):
        raise ArgumentTypeError(f"[{kind}] got a tensor as dim; for the elementwise version use gpugrad.{kind}imum")
    ax = axis(dim, x.ndim, kind)
    if x.ndim and x.shape[ax] == 0:
        raise ShapeError(f"[{kind}] cannot reduce dim {dim} of size 0 (shape {x.shape})")
    values, indices = R.Extreme(kind, ax if x.ndim else None, keepdim)(x)
    return MaxResult(values, indices)


def max(x, dim=None, keepdim=False):  # noqa: A001
    """The largest value; with ``dim``, ``(values, indices)``. Ties: the first index wins."""
    return _extreme("max", x, dim, keepdim)


def min(x, dim=None, keepdim=False):  # noqa: A001
    """The smallest value; with ``dim``, ``(values, indices)``. Ties: the first index wins."""
    return _extreme("min", x, dim, keepdim)


def amax(x, dim=None, keepdim=False):
    r = max(x, dim, keepdim)
    return r.values if isinstance(r, MaxResult) else r


def amin(x, dim=None, keepdim=False):
    r = min(x, dim, keepdim)
    return r.values if isinstance(r, MaxResult) else r


def argmax(x, dim=None, keepdim=False):
    """Index of the first largest value (flat index when dim is None); int64."""
    r = _extreme("max", x, dim, keepdim)
    return r.indices if isinstance(r, MaxResult) else _flat_index("max", x, keepdim)


def argmin(x, dim=None, keepdim=False):
    r = _extreme("min", x, dim, keepdim)
    return r.indices if isinstance(r, MaxResult) else _flat_index("min", x, keepdim)


def _flat_index(kind, x, keepdim):
    with _no_grad():
        return R.Extreme(kind, None, keepdim)(x)[1]


def logsumexp(x, dim=None, keepdim=False):
    """log(sum(exp(x))) computed stably (finite for large x; -inf for all -inf)."""
    check_tensor(x, "logsumexp")
    return R.LogSumExp(axes(dim, x.ndim, "logsumexp"), keepdim)(x)


def all(x, dim=None, keepdim=False):  # noqa: A001
    xp = x._backend.xp
    with x._backend.scope():
        return Tensor._wrap(xp.asarray(xp.all(x.array, axis=axes(dim, x.ndim, "all"), keepdims=keepdim)), x._backend)


def any(x, dim=None, keepdim=False):  # noqa: A001
    xp = x._backend.xp
    with x._backend.scope():
        return Tensor._wrap(xp.asarray(xp.any(x.array, axis=axes(dim, x.ndim, "any"), keepdims=keepdim)), x._backend)


from ..autograd.grad_mode import no_grad as _no_grad  # noqa: E402
