"""Ordering: ``sort``, ``argsort``, ``topk``, ``kthvalue`` (values and indices as named
tuples, like PyTorch's ``return_types``), ``flip``; selection: ``unique``, ``bincount``,
``argwhere``, ``searchsorted``. Orders are stable on every backend (ties keep
index order) and NaN counts as the largest value, as in PyTorch. The values are gathered
from the input, so their gradient goes back to the selected entries."""

import numbers
from typing import NamedTuple

import numpy as np

from ..dtypes import is_floating
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
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


def _first_in_order(input, dim, k, low, descending, op):
    """``(dim, the backend indices of the first k entries along it in sorted order)`` after
    checking ``k`` is an int in ``low..n``; a 0-d input counts as one entry."""
    d = _dim(input, dim, op)
    if not isinstance(k, numbers.Integral) or isinstance(k, bool):
        raise ArgumentTypeError(f"[{op}] k must be an int, got {type(k).__name__}")
    n = input.shape[d] if input.ndim else 1
    if not low <= k <= n:
        raise ArgumentError(f"[{op}] k must be in {low}..{n} (the size of dim {dim}), got {k}")
    with input._backend.scope():
        idx = _order(input.reshape(-1) if input.ndim == 0 else input, d, descending)
        return d, idx[(slice(None),) * d + (slice(0, k),)] if input.ndim else idx[:k]


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) entries
    along ``dim``, in order (also when ``sorted=False``, which PyTorch leaves open)."""
    d, idx = _first_in_order(input, dim, k, 0, bool(largest), "topk")
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


class KthValueResult(NamedTuple):
    """What ``kthvalue`` returns, like ``torch.return_types.kthvalue``."""

    values: Tensor
    indices: Tensor


def kthvalue(input, k, dim=-1, keepdim=False):  # noqa: A002
    """``(values, indices)`` of the ``k``-th smallest entry (k counts from 1) along ``dim``;
    of equal values the later one in the stable order. The gradient goes to the index."""
    d, idx = _first_in_order(input, dim, k, 1, False, "kthvalue")
    idx = idx[(slice(None),) * d + (slice(k - 1, k),)] if input.ndim else idx[k - 1:k]
    values, indices = _take(input, d, idx)
    if input.ndim and not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    elif input.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return KthValueResult(values, indices)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct values of ``input`` (flattened), ascending (also for ``sorted=False``,
    which PyTorch leaves open); with ``return_inverse`` the int64 index of each entry's value
    (input's shape), with ``return_counts`` how often each value occurs. NaNs stay distinct,
    as in PyTorch. Not differentiable. The count sizes the result, so on a GPU it is read
    back to the host."""
    check_tensor(input, "unique")
    if dim is not None:
        raise ArgumentError(f"[unique] only dim=None (the flattened tensor) is supported, got dim={dim}")
    b = input._backend
    with b.scope():
        res = b.xp.unique(input.array.reshape(-1), return_inverse=bool(return_inverse),
                          return_counts=bool(return_counts), equal_nan=False)
        if not (return_inverse or return_counts):
            return input._like(res)
        out = [input._like(res[0])]
        if return_inverse:
            out.append(input._like(res[1].reshape(input.shape).astype("int64", copy=False)))
        if return_counts:
            out.append(input._like(res[-1].astype("int64", copy=False)))
    return tuple(out)


def bincount(input, weights=None, minlength=0):  # noqa: A002
    """How often each value 0, 1, ... occurs in the 1-D non-negative integer ``input`` (at
    least ``minlength`` bins); with ``weights`` the sum of their weights per bin, float32
    for float32 weights and float64 otherwise, as PyTorch. Not differentiable. The bin count
    sizes the result, so on a GPU it is read back to the host."""
    check_tensor(input, "bincount")
    if input.dtype.kind not in "iu" or input.ndim != 1:
        raise DTypeError(f"[bincount] expected a 1-D integer tensor, got {input.ndim}-D {input.dtype}")
    if not isinstance(minlength, numbers.Integral) or isinstance(minlength, bool) or minlength < 0:
        raise ArgumentError(f"[bincount] minlength must be a non-negative int, got {minlength!r}")
    if weights is not None:
        check_tensor(weights, "bincount")
        if weights.shape != input.shape:
            raise ShapeError(f"[bincount] weights must have input's shape {input.shape}, got {weights.shape}")
    b, xp = input._backend, input._backend.xp
    with b.scope():
        a = input.array
        if a.size and bool((a < 0).any()):
            raise ArgumentError(f"[bincount] expected non-negative values, got {int(a.min())}")
        w = None
        if weights is not None:
            w = weights.array.astype("float32" if weights.dtype == np.float32 else "float64", copy=False)
        if a.size == 0:  # NumPy needs a non-empty input for its dtype rules: zeros of the result dtype
            return input._like(xp.zeros(int(minlength), dtype="int64" if w is None else w.dtype))
        out = xp.bincount(a, weights=w, minlength=int(minlength))
        return input._like(out.astype("int64" if w is None else w.dtype, copy=False))


def argwhere(input):  # noqa: A002
    """The int64 indices (count, ndim) of the non-zero entries, as ``nonzero(input)``."""
    from .index import nonzero

    check_tensor(input, "argwhere")
    return nonzero(input)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):  # noqa: A002
    """Where each of ``input`` would go in ``sorted_sequence`` (ascending along its last dim)
    to keep it sorted: the first such index (``right=True`` or ``side="right"``: the last).
    A 1-D sequence serves every value; an N-D one holds one sequence per row, matching
    ``input``'s leading dims. ``input`` may be a number. int64 (int32 with ``out_int32``).
    ``sorter`` holds the indices that sort an unsorted sequence."""
    op = "searchsorted"
    check_tensor(sorted_sequence, op)
    if side is not None:
        if side not in ("left", "right"):
            raise ArgumentError(f"[{op}] side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ArgumentError(f"[{op}] side='left' and right=True contradict each other")
        right = side == "right"
    if sorted_sequence.ndim == 0:
        raise ShapeError(f"[{op}] expected a sequence with at least 1 dim, got a 0-d tensor")
    scalar = not isinstance(input, Tensor)
    if scalar:
        if not isinstance(input, numbers.Real):
            raise ArgumentTypeError(f"[{op}] expected a tensor or a number of values, got {type(input).__name__}")
        if sorted_sequence.ndim != 1:
            raise ShapeError(f"[{op}] a number needs a 1-D sequence, got shape {sorted_sequence.shape}")
        from ..creation import tensor

        input = tensor([input], device=sorted_sequence.device)  # noqa: A001
    seq = sorted_sequence
    if sorter is not None:
        from .index import gather

        check_tensor(sorter, op)
        if sorter.shape != seq.shape or sorter.dtype.kind not in "iu":
            raise ShapeError(f"[{op}] sorter must be an integer tensor of the sequence's shape {seq.shape}, "
                             f"got {sorter.dtype} {sorter.shape}")
        seq = gather(seq.detach(), -1, sorter)
    if seq.ndim > 1 and (input.ndim != seq.ndim or input.shape[:-1] != seq.shape[:-1]):
        raise ShapeError(f"[{op}] an N-D sequence of shape {seq.shape} needs values with the same leading dims, "
                         f"got shape {input.shape}")
    if seq._backend is not input._backend:
        from ..errors import DeviceError

        raise DeviceError(f"[{op}] expected the sequence and the values on one device, got {seq.device} and "
                          f"{input.device}")
    b, xp = seq._backend, seq._backend.xp
    side_name = "right" if right else "left"
    with b.scope():
        s, v = seq.array, input.array
        if s.ndim == 1:
            out = xp.searchsorted(s, v, side=side_name)
        else:  # rows: count the entries before each value (<, or <= for the right side)
            before = s[..., None, :] <= v[..., :, None] if right else s[..., None, :] < v[..., :, None]
            out = before.sum(axis=-1)
        out = out.astype("int32" if out_int32 else "int64", copy=False)
        res = seq._like(xp.asarray(out))
    return res.reshape(()) if scalar else res


class ModeResult(NamedTuple):
    """What ``mode`` returns, like ``torch.return_types.mode``."""

    values: Tensor
    indices: Tensor


def mode(input, dim=-1, keepdim=False):  # noqa: A002
    """``(values, indices)``: the most frequent value along ``dim`` (of equally frequent
    ones the smallest, as PyTorch) and the index of its last occurrence. NaNs count as one
    value. The gradient goes to the index."""
    d = _dim(input, dim, "mode")
    if input.ndim and input.shape[d] == 0:
        raise ShapeError(f"[mode] cannot take the mode of an empty dim {d} (shape {input.shape})")
    x = input.reshape(1) if input.ndim == 0 else input
    b, xp = x._backend, x._backend.xp
    n = x.shape[d]
    with b.scope():
        order = _order(x, d, False)  # stable: equal values keep index order
        s = xp.take_along_axis(x.array, order, axis=d)
        lead = (slice(None),) * d
        prev, cur = s[lead + (slice(0, n - 1),)], s[lead + (slice(1, n),)]
        same = prev == cur
        if is_floating(s.dtype):
            same = same | (xp.isnan(prev) & xp.isnan(cur))
        first = xp.ones_like(s[lead + (slice(0, 1),)], dtype=bool)
        start = xp.concatenate([first, ~same], axis=d)  # where a run of equal values begins
        end = xp.concatenate([~same, first], axis=d)  # where one ends
        shape = [1] * x.ndim
        shape[d] = n
        pos = xp.arange(n, dtype="int64").reshape(shape)
        run_start = xp.where(start, pos, 0)
        step = 1
        while step < n:  # the latest run start so far (a running max)
            run_start = xp.concatenate([run_start[lead + (slice(0, step),)], xp.maximum(
                run_start[lead + (slice(step, n),)], run_start[lead + (slice(0, n - step),)])], axis=d)
            step *= 2
        count = xp.where(end, pos - run_start + 1, -1)
        best = xp.expand_dims(xp.argmax(count, axis=d), d)  # the first (smallest) of the most frequent runs
        idx = xp.take_along_axis(order, best, axis=d).astype("int64", copy=False)  # its last occurrence
    values, indices = _take(x, d, idx)
    if input.ndim == 0:
        return ModeResult(values.reshape(()), indices.reshape(()))
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return ModeResult(values, indices)
