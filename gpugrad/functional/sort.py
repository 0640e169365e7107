"""Ordering: ``sort``, ``argsort``, ``topk`` (values and indices as named tuples, like
PyTorch's ``return_types``) and ``flip``. Orders are stable on every backend (ties keep
index order) and NaN counts as the largest value, as in PyTorch. The values are gathered
from the input, so their gradient goes back to the selected entries."""

import numbers
from typing import NamedTuple

import numpy as np

from ..errors import ArgumentError, ArgumentTypeError
from ..tensor import Tensor
from ._util import axis, check_tensor


class SortResult(NamedTuple):
    """What ``sort`` returns, like ``torch.return_types.sort``."""

    values: Tensor
    indices: Tensor


class TopKResult(NamedTuple):
    """What ``topk`` returns, like ``torch.return_types.topk``."""

    values: Tensor
    indices: Tensor


# NumPy's default sort is not stable; CuPy's sorts always are, and take kind=None (the
# default) or "stable" only
_STABLE = {True: "stable", False: None}


def _order(x, d, descending):
    """The backend array of indices that sorts ``x`` along ``d`` (stable; NaN largest)."""
    xp, a = x._backend.xp, x.array
    kind = a.dtype.kind
    if not descending:
        return a.argsort(axis=d, kind=_STABLE[xp is np])  # NaN sorts last
    key = -a if kind == "f" else ~a  # ~ reverses the order of ints, unsigned ints and bools
    idx = key.argsort(axis=d, kind=_STABLE[xp is np])
    if kind == "f":  # NaN (last in key order) comes first, keeping the others' order
        nan_last = ~xp.isnan(xp.take_along_axis(a, idx, axis=d))
        idx = xp.take_along_axis(idx, nan_last.argsort(axis=d, kind=_STABLE[xp is np]), axis=d)
    return idx


def _dim(x, dim, op):
    check_tensor(x, op)
    return axis(dim, x.ndim, op)


def _take(x, d, idx):
    """(values, indices) of ``x`` at backend index array ``idx`` along ``d``."""
    from .index import gather

    with x._backend.scope():
        index = x._like(idx.astype("int64", copy=False))
    if x.ndim == 0:
        return x.clone() if x.requires_grad else x._like(x.array.copy()), index.reshape(())
    return gather(x, d, index), index


def sort(input, dim=-1, descending=False, stable=False):  # noqa: A002 - PyTorch's names
    """``(values, indices)`` of ``input`` sorted along ``dim`` (always stable here)."""
    d = _dim(input, dim, "sort")
    with input._backend.scope():
        idx = _order(input.reshape(-1) if input.ndim == 0 else input, d, bool(descending))
    return SortResult(*_take(input, d, idx))


def argsort(input, dim=-1, descending=False, stable=False):  # noqa: A002
    """The int64 indices that sort ``input`` along ``dim``."""
    return sort(input, dim, descending, stable).indices


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) entries
    along ``dim``, in order (also when ``sorted=False``, which PyTorch leaves open)."""
    d = _dim(input, dim, "topk")
    if not isinstance(k, numbers.Integral) or isinstance(k, bool):
        raise ArgumentTypeError(f"[topk] k must be an int, got {type(k).__name__}")
    n = input.shape[d] if input.ndim else 1
    if not 0 <= k <= n:
        raise ArgumentError(f"[topk] k must be in 0..{n} (the size of dim {dim}), got {k}")
    with input._backend.scope():
        idx = _order(input.reshape(-1) if input.ndim == 0 else input, d, bool(largest))
        if input.ndim:
            idx = idx[(slice(None),) * d + (slice(0, k),)]
        else:
            idx = idx[:k]
    if input.ndim == 0 and k == 0:
        return TopKResult(input.reshape(-1)[:0], input._like(idx.astype("int64")))
    return TopKResult(*_take(input, d, idx))


def flip(input, dims):  # noqa: A002
    """``input`` with the order of the entries along each of ``dims`` reversed (a copy)."""
    check_tensor(input, "flip")
    if isinstance(dims, numbers.Integral):
        dims = (dims,)
    if not isinstance(dims, (tuple, list)):
        raise ArgumentTypeError(f"[flip] dims must be an int or a tuple of ints, got {type(dims).__name__}")
    ds = [axis(d, input.ndim, "flip") for d in dims]
    if len(set(ds)) != len(ds):
        raise ArgumentError(f"[flip] dims {tuple(dims)} repeat a dim")
    if not ds:  # still a copy, as PyTorch's
        return input.clone()
    key = tuple(slice(None, None, -1) if i in ds else slice(None) for i in range(input.ndim))
    return input[key].contiguous()
