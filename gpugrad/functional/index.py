"""Indexing: ``x[key]`` (basic and advanced), ``x[key] = v``, gather, index_select,
one_hot. Repeated indices accumulate in backward."""

import numbers

import numpy as np

from ..errors import ArgumentTypeError, DeviceError, DTypeError, GpugradIndexError, ShapeError
from ..ops import indexing as I
from ..tensor import Tensor
from ._util import axis, check_values


def _raw_key(key, backend=None):
    """``key`` with tensors replaced by backend arrays and lists by arrays of ``backend``."""
    items = key if isinstance(key, tuple) else (key,)
    out = []
    for k in items:
        if isinstance(k, Tensor):
            if backend is not None and k._backend is not backend:
                raise DeviceError(f"[index] the index is on {k.device}, the tensor on {backend.device}")
            if k.dtype.kind not in "iub":
                raise DTypeError(f"[index] tensors used as indices must be integer or bool, got {k.dtype}")
            k = k.array
        elif isinstance(k, (list, np.ndarray)) and backend is not None:
            arr = np.asarray(k)
            if arr.dtype.kind not in "iub":
                raise DTypeError(f"[index] indices must be integer or bool, got {arr.dtype}")
            k = backend.from_host(arr)
        elif not (k is None or k is Ellipsis or isinstance(k, (numbers.Integral, slice)) or (
            backend is not None and isinstance(k, backend.ndarray)
        )):
            raise ArgumentTypeError(f"[index] unsupported index of type {type(k).__name__}")
        if isinstance(k, numbers.Integral) and not isinstance(k, bool):
            k = int(k)
        out.append(k)
    return tuple(out) if isinstance(key, tuple) else out[0]


def _check_array_keys(k, shape, backend):
    """Index arrays must lie in [-size, size) of the dim they index. NumPy raises for one
    that does not, but CuPy wraps it around silently, so the check is ours (on a GPU it runs
    on the device and is raised at the next read)."""
    items = k if isinstance(k, tuple) else (k,)
    arrays = [isinstance(i, backend.ndarray) for i in items]
    used = sum(i.ndim if a and i.dtype.kind == "b" else 0 if i is None or i is Ellipsis else 1
               for i, a in zip(items, arrays))
    d = 0
    for item, is_array in zip(items, arrays):
        if item is Ellipsis:
            d += max(len(shape) - used, 0)
        elif item is None:
            continue
        elif is_array and item.dtype.kind == "b":
            d += item.ndim
        else:
            if is_array and d < len(shape):
                size = shape[d]
                check_values(Tensor._wrap(item, backend), lambda a, size=size: (a < -size) | (a >= size),
                             f"[index] index {{value}} is out of bounds for dim {d} with size {size}")
            d += 1


def getitem(x, key):
    """``x[key]`` with NumPy's (and PyTorch's) rules; basic keys give views."""
    k = _raw_key(key, x._backend)
    _check_array_keys(k, x.shape, x._backend)
    try:
        y = I.GetItem(k)(x)
    except IndexError as exc:
        raise GpugradIndexError(f"[index] {exc} (tensor shape {x.shape})") from None
    if I.is_basic(k):
        from .shape import _view_of

        return _view_of(x, y)
    return y


def index_put(x, key, value):
    """A copy of ``x`` with ``x[key] = value`` (the graph form of ``__setitem__``)."""
    k = _raw_key(key, x._backend)
    _check_array_keys(k, x.shape, x._backend)
    if not isinstance(value, Tensor):
        value = Tensor._wrap(x._backend.asarray(value, dtype=x.dtype), x._backend)
    elif value._backend is not x._backend:
        raise DeviceError(f"[index_put] the value is on {value.device}, the tensor on {x.device}")
    try:
        target_ndim = x.array[k].ndim
        lead = 0  # like PyTorch, drop leading size-1 dims of the value beyond the target's
        while value.ndim - lead > target_ndim and value.shape[lead] == 1:
            lead += 1
        if lead:
            value = value.reshape(value.shape[lead:])
        return I.IndexPut(k)(x, value)
    except IndexError as exc:
        raise GpugradIndexError(f"[index_put] {exc} (tensor shape {x.shape})") from None
    except ValueError as exc:
        raise ShapeError(f"[index_put] value of shape {value.shape} does not fit: {exc}") from None


def _check_range(index, size, op):
    check_values(index, lambda a: (a < 0) | (a >= size),
                 f"[{op}] index values must lie in [0, {size - 1}], got {{value}} at position {{position}}")


def gather(x, dim, index):
    """``out[i][j] = x[i][index[i][j]]`` (dim=1); index has x's number of dims and is no
    larger than x in the other dims (PyTorch's gather). Backward scatter-adds."""
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu":
        raise DTypeError("[gather] index must be an integer tensor")
    d = axis(dim, x.ndim, "gather")
    if index.ndim != x.ndim:
        raise ShapeError(f"[gather] index has {index.ndim} dims, x has {x.ndim} (shapes {index.shape}, {x.shape})")
    for i, (n, m) in enumerate(zip(index.shape, x.shape)):
        if i != d and n > m:
            raise ShapeError(f"[gather] index shape {index.shape} exceeds x shape {x.shape} in dim {i}")
    _check_range(index, x.shape[d], "gather")
    xp = x._backend.xp
    key = []
    for i, n in enumerate(index.shape):
        if i == d:
            key.append(index)
        else:
            shape = [1] * x.ndim
            shape[i] = n
            with x._backend.scope():
                key.append(Tensor._wrap(xp.arange(n).reshape(shape), x._backend))
    return getitem(x, tuple(key))


def index_select(x, dim, index):
    """The entries of ``x`` at 1-D ``index`` along ``dim``."""
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu" or index.ndim > 1:
        raise DTypeError("[index_select] index must be a 0-d or 1-D integer tensor")
    d = axis(dim, x.ndim, "index_select")
    _check_range(index, x.shape[d], "index_select")
    return getitem(x, (slice(None),) * d + (index.reshape(-1),))


def one_hot(indices, num_classes=-1):
    """int64 one-hot rows for integer ``indices`` (a new last dim of ``num_classes``)."""
    if not isinstance(indices, Tensor) or indices.dtype.kind not in "iu":
        raise DTypeError("[one_hot] expected an integer tensor of class indices")
    xp = indices._backend.xp
    if num_classes == -1:
        num_classes = int(indices.array.max()) + 1 if indices.numel() else 0
    _check_range(indices, num_classes, "one_hot")
    with indices._backend.scope():
        out = (indices.array[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor._wrap(out, indices._backend)
