"""Indexing: ``x[key]`` (basic and advanced), ``x[key] = v``, gather, index_select,
one_hot, diag and nonzero. Repeated indices accumulate in backward."""

import builtins
import numbers

import numpy as np

from ..errors import ArgumentError, ArgumentTypeError, DeviceError, DTypeError, GpugradIndexError, ShapeError
from ..ops import indexing as I
from ..ops.base import Op
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


def _torch_split(k, backend):
    """``(basic, advanced)``, two keys applied one after the other, where PyTorch's order of
    result dims differs from NumPy's for key ``k``; else None. PyTorch applies int indices
    first, as basic indexing, so ``x[1, :, idx]`` is ``x[1][:, idx]`` (shape (B, len(idx)));
    NumPy counts the int among the advanced indices, which a slice then separates, and moves
    the advanced dims to the front (shape (len(idx), B))."""
    if not isinstance(k, tuple):
        return None
    is_int = [isinstance(i, int) and not isinstance(i, bool) for i in k]
    is_array = [isinstance(i, backend.ndarray) for i in k]
    if not builtins.any(is_int) or not builtins.any(is_array):
        return None

    def adjacent(flags):
        pos = [i for i, f in enumerate(flags) if f]
        return pos[-1] - pos[0] + 1 == len(pos)

    numpy_adjacent = adjacent([a or b for a, b in zip(is_int, is_array)])
    torch_adjacent = adjacent([a for a, b in zip(is_array, is_int) if not b])
    if numpy_adjacent or not torch_adjacent:
        return None
    basic, advanced = [], []
    for item, i, a in zip(k, is_int, is_array):
        if a:
            basic.extend([slice(None)] * (item.ndim if item.dtype.kind == "b" else 1))
            advanced.append(item)
        elif i:
            basic.append(item)
        else:
            basic.append(item)
            advanced.append(item if item is Ellipsis else slice(None))
    return tuple(basic), tuple(advanced)


def assign(a, key, v, backend):
    """``a[key] = v`` on a backend array with PyTorch's indexing rules (the no-graph path of
    ``Tensor.__setitem__``)."""
    k = _raw_key(key, backend)
    _check_array_keys(k, a.shape, backend)
    split = _torch_split(k, backend)
    if split is None:
        a[k] = v
    else:
        a[split[0]][split[1]] = v  # the basic step is a view of a


def getitem(x, key):
    """``x[key]`` with PyTorch's rules (NumPy's, but for ints among advanced indices: see
    ``_torch_split``); basic keys give views."""
    k = _raw_key(key, x._backend)
    _check_array_keys(k, x.shape, x._backend)
    split = _torch_split(k, x._backend)
    if split is not None:
        return _getitem(_getitem(x, split[0]), split[1])
    return _getitem(x, k)


def _getitem(x, k):
    try:
        y = I.GetItem(k)(x)
    except IndexError as exc:
        raise GpugradIndexError(f"[index] {exc} (tensor shape {x.shape})") from None
    if I.is_basic(k):
        from .shape import _view_of

        return _view_of(x, y)
    return y


def index_put(x, key, value):
    """A copy of ``x`` with ``x[key] = value`` (the graph form of ``__setitem__``), with
    PyTorch's indexing rules."""
    k = _raw_key(key, x._backend)
    _check_array_keys(k, x.shape, x._backend)
    split = _torch_split(k, x._backend)
    if split is not None:  # put into the basic part (a view), then put that part back
        return _index_put(x, split[0], _index_put(_getitem(x, split[0]), split[1], value))
    return _index_put(x, k, value)


def _index_put(x, k, value):
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


def _diagonal_index(xp, n, offset):
    """(rows, cols) of the ``n`` entries of diagonal ``offset`` (above the main one if > 0)."""
    i = xp.arange(n)
    return i + builtins.max(-offset, 0), i + builtins.max(offset, 0)


class DiagEmbed(Op):
    """1-D ``x`` placed on diagonal ``offset`` of a zero matrix of ``shape``."""

    __slots__ = ("offset", "shape")

    def __init__(self, offset, shape):
        self.offset, self.shape = offset, shape

    def forward(self, b, x):
        out = b.xp.zeros(self.shape, dtype=x.dtype)
        out[_diagonal_index(b.xp, x.shape[0], self.offset)] = x
        return out

    def backward(self, gy):  # the entries came from the diagonal, so their gradient is gy's diagonal
        return DiagPart(self.offset)(gy)


class DiagPart(Op):
    """Diagonal ``offset`` of a matrix, as a new 1-D array."""

    __slots__ = ("offset",)

    def __init__(self, offset):
        self.offset = offset

    def forward(self, b, x):
        return x.diagonal(offset=self.offset).copy()

    def backward(self, gy):  # each entry goes back to its place on the diagonal, zeros elsewhere
        return DiagEmbed(self.offset, tuple(self.inputs[0].shape))(gy)


def diag(input, diagonal=0, *, out=None):  # noqa: A002 - PyTorch's names
    """``torch.diag``: a 1-D tensor (n,) gives the (n + |diagonal|, n + |diagonal|) matrix
    with it on diagonal ``diagonal`` (above the main one if > 0, below if < 0); a 2-D tensor
    gives that diagonal of it as a 1-D tensor (empty when the offset is outside it). The
    gradient goes back through the other form."""
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[diag] expected a Tensor, got {type(input).__name__}")
    if out is not None:
        raise ArgumentError("[diag] out= is not supported; use the returned tensor")
    if not isinstance(diagonal, numbers.Integral) or isinstance(diagonal, bool):
        raise ArgumentTypeError(f"[diag] diagonal must be an int, got {type(diagonal).__name__}")
    k = int(diagonal)
    if input.ndim == 1:
        m = input.shape[0] + builtins.abs(k)
        return DiagEmbed(k, (m, m))(input)
    if input.ndim == 2:
        return DiagPart(k)(input)
    raise ShapeError(f"[diag] expected a 1-D or 2-D tensor, got {input.ndim}-D (shape {input.shape})")


def nonzero(input, *, out=None, as_tuple=False):  # noqa: A002
    """``torch.nonzero``: the int64 indices (count, ndim) of the non-zero entries of
    ``input``, in row-major order; with ``as_tuple=True`` a tuple of ndim 1-D index tensors
    (one for a 0-d input, as PyTorch). Not differentiable. The count sizes the result, so on
    a GPU it is read back to the host."""
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[nonzero] expected a Tensor, got {type(input).__name__}")
    if out is not None:
        raise ArgumentError("[nonzero] out= is not supported; use the returned tensor")
    b, a = input._backend, input.array
    with b.scope():
        idx = [i.astype(np.int64, copy=False) for i in (a.reshape(1) if a.ndim == 0 else a).nonzero()]
        if as_tuple:
            return tuple(Tensor._wrap(i, b) for i in idx)
        if a.ndim == 0:
            return Tensor._wrap(b.xp.zeros((idx[0].shape[0], 0), dtype=np.int64), b)
        return Tensor._wrap(b.xp.stack(idx, axis=1), b)
