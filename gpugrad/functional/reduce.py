"""Reductions: sum, mean, var, std, prod, max/min (values and indices), amax/amin,
argmax/argmin, logsumexp, all/any, std_mean/var_mean, median, count_nonzero, aminmax; and
the scans cumsum, cumprod, cummax/cummin, logcumsumexp. Each takes ``dim`` or NumPy's
``axis`` (and ``keepdim`` or ``keepdims``) as PyTorch does; a 0-d tensor takes dim 0 or -1.
Dtypes are PyTorch's: sums and products of integers or bools are int64, mean/var/std need
floats."""

import builtins
from typing import NamedTuple

from .. import dtypes as _dtypes
from ..amp.autocast import gate as _autocast
from ..dtypes import is_floating
from ..errors import ArgumentTypeError, DTypeError, ShapeError
from ..ops import reduction as R
from ..tensor import Tensor
from ._util import axes, axis, check_float, check_tensor, floating, numpy_names


class MaxResult(NamedTuple):
    """What ``max``/``min`` with a dim return, like PyTorch's ``return_types.max``: the
    fields ``values`` and ``indices``, and it unpacks as a 2-tuple."""

    values: Tensor
    indices: Tensor


class CumMaxResult(NamedTuple):
    """What ``cummax``/``cummin`` return (``return_types.cummax``): ``values``, ``indices``."""

    values: Tensor
    indices: Tensor


class MedianResult(NamedTuple):
    """What ``median`` with a dim returns (``return_types.median``): ``values``, ``indices``."""

    values: Tensor
    indices: Tensor


class AMinMaxResult(NamedTuple):
    """What ``aminmax`` returns (``return_types.aminmax``): the fields ``min`` and ``max``."""

    min: Tensor
    max: Tensor


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
    if _autocast.active and dtype is None and _autocast.engaged(x):
        return _autocast.fp32(sum, x, dim, keepdim)
    x = _accumulating(x, dtype, "sum")
    return R.Sum(axes(dim, x.ndim, "sum"), keepdim)(x)


def _need_float(x, dtype, op):
    check_tensor(x, op)
    if dtype is not None:
        x = x.to(dtype)
    if not is_floating(x.dtype):
        raise DTypeError(
            f"[{op}] expected a floating point tensor, got {x.dtype}; call .float() first (or pass dtype=)"
        )
    return x


@numpy_names
def mean(x, dim=None, keepdim=False, dtype=None):
    """Mean over ``dim``; an integer tensor is refused (as in PyTorch) unless ``dtype`` is given."""
    if _autocast.active and dtype is None and _autocast.engaged(x):
        return _autocast.fp32(mean, x, dim, keepdim)
    x = _need_float(x, dtype, "mean")
    return R.Mean(axes(dim, x.ndim, "mean"), keepdim)(x)


@numpy_names
def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance with Bessel's ``correction`` (1 = unbiased, PyTorch's default). As in
    PyTorch, the argument after ``dim`` is ``unbiased``."""
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(var, x, dim, unbiased, keepdim, correction=correction)
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
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(std, x, dim, unbiased, keepdim, correction=correction)
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
    if _autocast.active and dtype is None and _autocast.engaged(x):
        return _autocast.fp32(prod, x, dim, keepdim)
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
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(logsumexp, x, dim, keepdim)
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


# -- reductions of the breadth issue ---------------------------------------------------------


@numpy_names
def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim``, as ``torch.var_mean`` (the arguments of ``var``)."""
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(var_mean, x, dim, unbiased, keepdim, correction=correction)
    check_float(x, "var_mean")
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return var(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


@numpy_names
def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim``, as ``torch.std_mean`` (the arguments of ``std``)."""
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(std_mean, x, dim, unbiased, keepdim, correction=correction)
    check_float(x, "std_mean")
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return std(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


@numpy_names
def count_nonzero(x, dim=None):
    """The int64 count of non-zero entries over ``dim`` (an int, a tuple or all)."""
    check_tensor(x, "count_nonzero")
    ax = axes(dim, x.ndim, "count_nonzero")
    xp = x._backend.xp
    with x._backend.scope():
        out = (x.array != 0).sum(axis=ax).astype("int64", copy=False)
        return Tensor._wrap(xp.asarray(out), x._backend)


def aminmax(x, *, dim=None, keepdim=False):
    """``(min, max)`` over ``dim`` (one int or all), as named tuple; the gradient of each is
    shared evenly among ties, as ``amin``/``amax`` (and PyTorch)."""
    check_tensor(x, "aminmax")
    if dim is not None and not isinstance(dim, int):
        raise ArgumentTypeError(f"[aminmax] dim must be an int or None, got {type(dim).__name__}")
    return AMinMaxResult(_amax("min", x, dim, keepdim), _amax("max", x, dim, keepdim))


def median(x, dim=None, keepdim=False):
    """The median; for an even count the lower of the two middle values, as PyTorch. Without
    a dim, a tensor whose gradient is shared evenly among the entries equal to it; with
    ``dim``, ``(values, indices)`` whose gradient goes to the returned index. NaN anywhere in
    a slice makes its median NaN (the first NaN's index)."""
    check_tensor(x, "median")
    if x.dtype.kind == "b":
        raise DTypeError("[median] expected a numeric tensor, got bool (as PyTorch)")
    if dim is None:
        if keepdim:
            raise ArgumentTypeError("[median] keepdim needs a dim")
        _not_empty("median", x, None)
        flat = x.reshape(-1)
        with _no_grad():
            idx = _median_index(flat, 0)
        xp = x._backend.xp
        with x._backend.scope():
            value = flat.array[idx.array]
            hit = (flat.array == value) | (xp.isnan(flat.array) & xp.isnan(value))
            share = (hit / hit.sum()).astype(x.dtype, copy=False) if is_floating(x.dtype) else None
            y = x._like(xp.asarray(value))
        if share is None or not (x.requires_grad and _grad_enabled()):
            return y
        # the value exactly, with the gradient of sum(x * share): 1/k at each of the k ties
        s = sum(x * x._like(share.reshape(x.shape)))
        return y + (s - s.detach())
    d = axis(dim, x.ndim, "median")
    _not_empty("median", x, (d,) if x.ndim else None)
    if x.ndim == 0:
        return MedianResult(x.clone(), x._like(x._backend.xp.zeros((), dtype="int64")))
    with _no_grad():
        idx = _median_index(x, d).unsqueeze(d)
    from .index import gather

    values, indices = gather(x, d, idx), idx
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return MedianResult(values, indices)


def _median_index(x, d):
    """The int64 index along ``d`` of the lower middle entry in sorted order (NaN: the first NaN)."""
    from .sort import argsort

    order = argsort(x, d)
    n = x.shape[d]
    key = (slice(None),) * d + ((n - 1) // 2,)
    idx = order[key]
    if is_floating(x.dtype):
        xp = x._backend.xp
        with x._backend.scope():
            nan = xp.isnan(x.array)
            first_nan = xp.argmax(nan, axis=d)
            idx = x._like(xp.where(nan.any(axis=d), first_nan, idx.array).astype("int64", copy=False))
    return idx


# -- scans --------------------------------------------------------------------------------------


def _scan_input(x, dim, dtype, op):
    """(x as 1-d when 0-d, the dim, whether it was 0-d); ``dtype`` casts first (PyTorch's
    ``dtype=``); integers and bools sum and multiply in int64."""
    x = _accumulating(x, dtype, op)
    d = axis(dim, x.ndim, op)
    return (x.reshape(1) if x.ndim == 0 else x), d, x.ndim == 0


def _back(y, scalar):
    return y.reshape(()) if scalar else y


def cumsum(x, dim, *, dtype=None):
    """Cumulative sum along ``dim``; integer and bool tensors give int64 (``dtype`` casts
    first). Differentiable any number of times (the gradient is a reversed cumsum)."""
    if _autocast.active and dtype is None and _autocast.engaged(x):
        return _autocast.fp32(cumsum, x, dim)
    x, d, scalar = _scan_input(x, dim, dtype, "cumsum")
    return _back(R.CumSum(d)(x), scalar)


def cumprod(x, dim, *, dtype=None):
    """Cumulative product along ``dim``; integer and bool tensors give int64. The gradient
    is exact with zeros in ``x`` (no division) and differentiable again: when a gradient is
    needed the scan is built of products of shifted copies (log2(n) steps)."""
    if _autocast.active and dtype is None and _autocast.engaged(x):
        return _autocast.fp32(cumprod, x, dim)
    x, d, scalar = _scan_input(x, dim, dtype, "cumprod")
    if x.requires_grad and _grad_enabled():
        return _back(_doubling_scan(x, d, lambda a, b: a * b), scalar)
    with x._backend.scope():
        return _back(x._like(x._backend.xp.cumprod(x.array, axis=d, dtype=x.dtype)), scalar)


def logcumsumexp(x, dim):
    """``log(cumsum(exp(x)))`` along ``dim``, computed stably (a log-add-exp scan, so neither
    large nor very negative entries lose the others); float tensors only, as PyTorch."""
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(logcumsumexp, x, dim)
    check_float(x, "logcumsumexp")
    d = axis(dim, x.ndim, "logcumsumexp")
    scalar = x.ndim == 0
    return _back(_doubling_scan(x.reshape(1) if scalar else x, d, _logaddexp), scalar)


def _logaddexp(a, b):
    """log(exp(a) + exp(b)) without overflow; -inf with -inf gives -inf (the difference
    taken only where a != b, so no inf - inf is computed, nor reaches the gradient)."""
    from .math import abs, exp, log1p, maximum, where

    same = a == b
    diff = where(same, 0.0, a) - where(same, 0.0, b)
    return maximum(a, b) + log1p(exp(-abs(diff)))


def _doubling_scan(x, d, combine):
    """The inclusive scan of ``x`` along ``d`` under the associative ``combine``, of gpugrad
    ops (Hillis-Steele: entry i combines with entry i - s for s = 1, 2, 4, ...), so its
    gradient is the exact gradient of the composition."""
    from .shape import cat

    n, s, y = x.shape[d], 1, x
    lead = (slice(None),) * d
    while s < n:
        y = cat([y[lead + (slice(0, s),)], combine(y[lead + (slice(s, None),)], y[lead + (slice(0, n - s),)])], d)
        s *= 2
    return y


def cummax(x, dim):
    """``(values, indices)``: the running maximum along ``dim`` and where it was taken (the
    latest of equal values, as PyTorch; once NaN appears it stays, with the NaN's index).
    The gradient goes to those indices."""
    return _cum_extreme("max", x, dim)


def cummin(x, dim):
    """``(values, indices)``: the running minimum along ``dim``; as ``cummax``."""
    return _cum_extreme("min", x, dim)


def _cum_extreme(kind, x, dim):
    op = "cum" + kind
    check_tensor(x, op)
    d = axis(dim, x.ndim, op)
    b, xp = x._backend, x._backend.xp
    if x.ndim == 0:
        return CumMaxResult(x.clone(), x._like(xp.zeros((), dtype="int64")))
    n = x.shape[d]
    if n == 0:
        return CumMaxResult(x.clone(), x._like(xp.zeros(x.shape, dtype="int64")))
    lead = (slice(None),) * d
    better = xp.maximum if kind == "max" else xp.minimum
    with b.scope():
        a = x.array
        run = _array_scan(xp, a, d, better)  # NaN propagates through maximum/minimum
        prev = xp.concatenate([run[lead + (slice(0, 1),)], run[lead + (slice(0, n - 1),)]], axis=d)
        record = a >= prev if kind == "max" else a <= prev
        if is_floating(a.dtype):
            record = (record | xp.isnan(a)) & ~xp.isnan(prev)
        shape = [1] * a.ndim
        shape[d] = n
        pos = xp.arange(n, dtype="int64").reshape(shape)
        record = record | (pos == 0)
        idx = _array_scan(xp, xp.where(record, pos, 0), d, xp.maximum)  # the latest record so far
        indices = x._like(idx.astype("int64", copy=False))
    from .index import gather

    return CumMaxResult(gather(x, d, indices), indices)


def _array_scan(xp, a, d, combine):
    """The inclusive scan of backend array ``a`` along ``d`` under ``combine`` (a ufunc)."""
    n, s = a.shape[d], 1
    lead = (slice(None),) * d
    while s < n:
        a = xp.concatenate([a[lead + (slice(0, s),)], combine(a[lead + (slice(s, None),)], a[lead + (slice(0, n - s),)])],
                           axis=d)
        s *= 2
    return a


from ..autograd.grad_mode import is_grad_enabled as _grad_enabled  # noqa: E402
from ..autograd.grad_mode import no_grad as _no_grad  # noqa: E402
