"""Indexing: ``x[key]`` (basic and advanced), ``x[key] = v``, gather, index_select,
one_hot, diag and nonzero. Repeated indices accumulate in backward."""

import builtins
import numbers

import numpy as np

from ..amp.autocast import gate as _autocast
from ..dtypes import is_floating
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


# -- scatter, index_add/copy/fill, masked_*, take (issue 17) -------------------------------------
_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def _check_index(index, op, ndim=None):
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu":
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise DTypeError(f"[{op}] index must be an integer tensor, got {got}")
    if ndim is not None and index.ndim != ndim:
        raise ShapeError(f"[{op}] index must have the tensor's {ndim} dims, got {index.ndim} (shape {index.shape})")


def _same_device(op, x, *others):
    for t in others:
        if isinstance(t, Tensor) and t._backend is not x._backend:
            raise DeviceError(f"[{op}] expected all tensors on {x.device}, got one on {t.device}")


def _scatter_args(op, x, dim, index, src):
    """Checked ``(dim, index_key, src cut to index's shape)`` for the scatter family
    (PyTorch's rules: index has x's dims, is no larger than src anywhere nor than x outside
    ``dim``, holds values in [0, x.shape[dim]); src has x's dtype)."""
    if not isinstance(x, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(x).__name__}")
    d = axis(dim, x.ndim, op)
    _check_index(index, op, x.ndim)
    _same_device(op, x, index, src)
    if isinstance(src, Tensor):
        if src.dtype != x.dtype:
            raise DTypeError(f"[{op}] expected src to have the tensor's dtype {x.dtype}, got {src.dtype}")
        if src.ndim != x.ndim:
            raise ShapeError(f"[{op}] src must have the tensor's {x.ndim} dims, got shape {src.shape}")
        for i, (n, m) in enumerate(zip(index.shape, src.shape)):
            if n > m:
                raise ShapeError(f"[{op}] index shape {index.shape} exceeds src shape {src.shape} in dim {i}")
        if src.shape != index.shape:
            src = getitem(src, tuple(slice(0, n) for n in index.shape))
    for i, (n, m) in enumerate(zip(index.shape, x.shape)):
        if i != d and n > m:
            raise ShapeError(f"[{op}] index shape {index.shape} exceeds the tensor's shape {x.shape} in dim {i}")
    _check_range(index, x.shape[d] if x.ndim else 1, op)
    return d, _scatter_key(x, d, index), src


def _scatter_key(x, d, index):
    """The advanced key (one array per dim) that puts ``index[i][j]`` at ``x[i][index[i][j]]`` (d=1)."""
    b, xp = x._backend, x._backend.xp
    if x.ndim == 0:
        return (index.array.reshape(1),)
    with b.scope():
        key = []
        for i, n in enumerate(index.shape):
            shape = [1] * index.ndim
            shape[i] = n
            key.append(index.array if i == d else xp.arange(n).reshape(shape))
    return tuple(key)


def _scalar_tensor(value, x, op):
    """A number or a 0-d tensor as a 0-d tensor of x's dtype (PyTorch casts the value)."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(f"[{op}] expected a number or a 0-d value tensor, got shape {value.shape}")
        _same_device(op, x, value)
        return value if value.dtype == x.dtype else value.to(dtype=x.dtype)
    if not isinstance(value, (numbers.Number, np.generic)) or isinstance(value, complex):
        raise ArgumentTypeError(f"[{op}] expected a number or a 0-d tensor as value, got {type(value).__name__}")
    with x._backend.scope():
        return Tensor._wrap(x._backend.xp.asarray(value).astype(x.dtype), x._backend)


def _flat0(x, fn):
    """``fn`` on a 0-d ``x`` seen as shape (1,), the result back as 0-d (PyTorch treats a 0-d
    tensor's one dim as size 1 in the scatter family)."""
    return fn(x.reshape(1)).reshape(()) if x.ndim == 0 else fn(x)


def scatter(input, dim, index, src=None, *, value=None, reduce=None):  # noqa: A002 - PyTorch's names
    """``torch.scatter``: a copy of ``input`` with ``out[i][index[i][j]] = src[i][j]`` (dim=1),
    or ``value`` there when ``src`` is a number (or given as ``value=``). With ``reduce='add'``
    or ``'multiply'`` (PyTorch's older form) the values are summed or multiplied in instead.
    Gradient: to src at the scattered positions, to input where nothing was written."""
    op = "scatter"
    if src is None:
        if value is None:
            raise ArgumentError(f"[{op}] expected src (a tensor) or value (a number)")
        src = value
    if reduce is not None and reduce not in ("add", "multiply"):
        raise ArgumentError(f"[{op}] reduce must be 'add' or 'multiply', got {reduce!r}")
    if not isinstance(src, Tensor):
        if not isinstance(input, Tensor):
            raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(input).__name__}")
        v = _scalar_tensor(src, input, op)
        if reduce is not None:
            _check_index(index, op)
            return scatter_reduce(input, dim, index, v.detach().expand(*index.shape),
                                  "sum" if reduce == "add" else "prod")
        d, key, _ = _scatter_args(op, input, dim, index, None)
        return _flat0(input, lambda x: I.IndexPut(key)(x, v))
    if reduce is not None:
        return scatter_reduce(input, dim, index, src, "sum" if reduce == "add" else "prod")
    return _scatter_src(op, input, dim, index, src)


def _scatter_src(op, input, dim, index, src):  # noqa: A002
    d, key, src = _scatter_args(op, input, dim, index, src)
    return _flat0(input, lambda x: I.IndexPut(key)(x, src.reshape(-1) if input.ndim == 0 else src))


def scatter_add(input, dim, index, src):  # noqa: A002
    """``torch.scatter_add``: ``out[i][index[i][j]] += src[i][j]`` (dim=1) on a copy of
    input, repeated indices adding up (under autocast, input and src of the wider float dtype)."""
    if _autocast.active and _autocast.engaged(input, src):
        return _autocast.promote(scatter_add, input, dim, index, src)
    return scatter_reduce(input, dim, index, src, "sum", op="scatter_add")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True, op="scatter_reduce"):  # noqa: A002
    """``torch.scatter_reduce``: the values of src reduced (``'sum'``, ``'prod'``, ``'mean'``,
    ``'amax'``, ``'amin'``) into a copy of input at ``index`` along ``dim``, with input's value
    taking part unless ``include_self=False``; mean of integers rounds down as PyTorch does.
    Gradients are PyTorch's (amax/amin share it evenly among tied values)."""
    if reduce not in _REDUCES:
        raise ArgumentError(f"[{op}] reduce must be one of {', '.join(_REDUCES)}, got {reduce!r}")
    if not isinstance(src, Tensor):
        raise ArgumentTypeError(f"[{op}] expected src to be a Tensor, got {type(src).__name__}")
    d, key, src = _scatter_args(op, input, dim, index, src)
    if input.ndim == 0:
        index, src = index.reshape(1), src.reshape(1)
    return _flat0(input, lambda x: I.ScatterReduce(d, index, key, reduce, bool(include_self))(x, src))


def _index_dim(op, x, dim, index):
    """The dim of an index_* op, after checking x is a tensor and index a 0-d or 1-D index."""
    if not isinstance(x, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(x).__name__}")
    d = axis(dim, x.ndim, op)
    _check_index(index, op)
    if index.ndim > 1:
        raise ShapeError(f"[{op}] index must be 0-d or 1-D, got shape {index.shape}")
    return d


def _index_args(op, x, dim, index, source=None):
    """``(dim, index expanded to source's shape)`` for index_add/index_copy: 1-D (or 0-d)
    index, source shaped as x but with len(index) in ``dim``."""
    d = _index_dim(op, x, dim, index)
    if not isinstance(source, Tensor):
        raise ArgumentTypeError(f"[{op}] expected source to be a Tensor, got {type(source).__name__}")
    _same_device(op, x, index, source)
    if source.dtype != x.dtype:
        raise DTypeError(f"[{op}] expected source to have the tensor's dtype {x.dtype}, got {source.dtype}")
    want = x.shape[:d] + (index.numel(),) + x.shape[d + 1:] if x.ndim else (index.numel(),) * (source.ndim > 0)
    if tuple(source.shape) != tuple(want) and not (x.ndim == 0 and source.numel() == index.numel() == 1):
        raise ShapeError(f"[{op}] expected source of shape {tuple(want)} for {index.numel()} indices "
                         f"in dim {d} of shape {x.shape}, got {source.shape}")
    if x.ndim == 0:
        return d, index.reshape(()), source.reshape(())
    shape = [1] * x.ndim
    shape[d] = -1
    return d, index.reshape(shape).expand(*source.shape), source


def index_add(input, dim, index, source, *, alpha=1):  # noqa: A002
    """``torch.index_add``: ``out[..., index[i], ...] += alpha * source[..., i, ...]`` along
    ``dim`` on a copy of input, repeated indices adding up."""
    d, idx, source = _index_args("index_add", input, dim, index, source)
    if alpha != 1:
        if not is_floating(input.dtype) and isinstance(alpha, float) and not float(alpha).is_integer():
            raise ArgumentTypeError(f"[index_add] a float alpha needs a float tensor, got {input.dtype}")
        source = source * alpha
        source = source if source.dtype == input.dtype else source.to(dtype=input.dtype)
    return scatter_reduce(input, d, idx, source, "sum", op="index_add")


def index_copy(input, dim, index, source):  # noqa: A002
    """``torch.index_copy``: ``out[..., index[i], ...] = source[..., i, ...]`` along ``dim``
    (under autocast, input and source of the wider float dtype)."""
    if _autocast.active and _autocast.engaged(input, source):
        return _autocast.promote(index_copy, input, dim, index, source)
    d, idx, source = _index_args("index_copy", input, dim, index, source)
    return _scatter_src("index_copy", input, d, idx, source)


def index_fill(input, dim, index, value):  # noqa: A002
    """``torch.index_fill``: the entries at ``index`` along ``dim`` set to ``value`` (a number
    or a 0-d tensor, which then gets the gradient of every entry it filled); negative indices
    count from the end, as in PyTorch."""
    op = "index_fill"
    d = _index_dim(op, input, dim, index)
    _same_device(op, input, index)
    v = _scalar_tensor(value, input, op)
    n = input.shape[d] if input.ndim else 1
    check_values(index, lambda a: (a < -n) | (a >= n),
                 f"[{op}] index {{value}} is out of range for dim {d} of size {n}")
    b = input._backend
    with b.scope():  # a mask over dim d: each filled entry counts once in the value's gradient
        mask = b.xp.zeros(n, dtype=bool)
        mask[index.array.reshape(-1)] = True
        mask = mask.reshape((n,) + (1,) * (input.ndim - d - 1)) if input.ndim else mask.reshape(())
    from .math import where as _where

    return _where(Tensor._wrap(mask, b), v, input)


def masked_fill(input, mask, value):  # noqa: A002
    """``torch.masked_fill``: ``value`` (a number or a 0-d tensor, cast to input's dtype)
    where the bool ``mask`` (broadcast with input) is True, input elsewhere."""
    op = "masked_fill"
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(input).__name__}")
    _check_mask(mask, input, op)
    from .math import where as _where

    return _where(mask, _scalar_tensor(value, input, op), input)


def _check_mask(mask, x, op):
    if not isinstance(mask, Tensor) or mask.dtype.kind != "b":
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise DTypeError(f"[{op}] expected a bool tensor as mask, got {got}")
    _same_device(op, x, mask)
    try:
        return np.broadcast_shapes(tuple(x.shape), tuple(mask.shape))
    except ValueError:
        raise ShapeError(f"[{op}] the mask of shape {mask.shape} does not broadcast with shape {x.shape}") from None


def masked_scatter(input, mask, source):  # noqa: A002
    """``torch.masked_scatter``: input with the entries where ``mask`` is True (broadcast
    together) taken, in row-major order, from the first elements of ``source``. The count of
    True values sizes the copy, so on a GPU it is read back to the host."""
    op = "masked_scatter"
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(input).__name__}")
    shape = _check_mask(mask, input, op)
    if not isinstance(source, Tensor):
        raise ArgumentTypeError(f"[{op}] expected source to be a Tensor, got {type(source).__name__}")
    _same_device(op, input, source)
    if source.dtype != input.dtype:
        raise DTypeError(f"[{op}] expected source to have the tensor's dtype {input.dtype}, got {source.dtype}")
    x = input if tuple(input.shape) == shape else input.broadcast_to(shape)
    with input._backend.scope():
        m = input._backend.xp.broadcast_to(mask.array, shape)
        count = int(m.sum())
    if count > source.numel():
        raise ShapeError(f"[{op}] the mask has {count} True values but source has only {source.numel()} elements")
    return I.IndexPut(m)(x, source.reshape(-1)[:count])


def masked_select(input, mask):  # noqa: A002
    """``torch.masked_select``: the 1-D tensor of input's entries where ``mask`` is True
    (both broadcast together), in row-major order."""
    op = "masked_select"
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(input).__name__}")
    shape = _check_mask(mask, input, op)
    x = input if tuple(input.shape) == shape else input.broadcast_to(shape)
    m = mask if tuple(mask.shape) == shape else mask.broadcast_to(shape)
    return getitem(x.reshape(-1), m.reshape(-1))


def take(input, index):  # noqa: A002
    """``torch.take``: input seen as 1-D, indexed by ``index`` (any shape, negative values
    count from the end); the result has index's shape."""
    op = "take"
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(input).__name__}")
    _check_index(index, op)
    _same_device(op, input, index)
    n = input.numel()
    check_values(index, lambda a: (a < -n) | (a >= n),
                 f"[{op}] index {{value}} is out of range for a tensor of {n} elements")
    return getitem(input.reshape(-1), index)


def take_along_dim(input, indices, dim=None):  # noqa: A002
    """``torch.take_along_dim``: gather along ``dim`` after broadcasting input and indices in
    the other dims (negative indices count from the end); with ``dim=None`` both are
    flattened first."""
    op = "take_along_dim"
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(input).__name__}")
    _check_index(indices, op)
    _same_device(op, input, indices)
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if indices.ndim != input.ndim:
        raise ShapeError(f"[{op}] indices must have the tensor's {input.ndim} dims, got shape {indices.shape}")
    d = axis(dim, input.ndim, op)
    try:
        shape = list(np.broadcast_shapes(tuple(input.shape[:d] + (1,) + input.shape[d + 1:]),
                                         tuple(indices.shape[:d] + (1,) + indices.shape[d + 1:])))
    except ValueError:
        raise ShapeError(f"[{op}] shapes {input.shape} and {indices.shape} do not broadcast outside dim {d}") from None
    n = input.shape[d]
    check_values(indices, lambda a: (a < -n) | (a >= n),
                 f"[{op}] index {{value}} is out of range for dim {d} of size {n}")
    idx = indices + n * (indices < 0).to(dtype=indices.dtype)
    x = input.expand(*(shape[:d] + [n] + shape[d + 1:]))
    return gather(x, d, idx.expand(*(shape[:d] + [indices.shape[d]] + shape[d + 1:])))


_NO_ARG = object()


def where(condition, input=_NO_ARG, other=_NO_ARG):  # noqa: A002
    """``torch.where``: ``where(cond, x, y)`` (see functional.math.where), and the
    one-argument form ``where(cond)``, which is ``nonzero(cond, as_tuple=True)``."""
    from .math import where as _where

    if input is _NO_ARG and other is _NO_ARG:
        if not isinstance(condition, Tensor):
            raise ArgumentTypeError(f"[where] expected a Tensor, got {type(condition).__name__}")
        return nonzero(condition, as_tuple=True)
    if input is _NO_ARG or other is _NO_ARG:
        raise ArgumentError("[where] expected where(condition) or where(condition, input, other)")
    return _where(condition, input, other)


# -- in-place forms (Tensor methods) ---------------------------------------------------------------
def _in_place(fn, name):
    """The Tensor method ``name_``: ``fn`` written into self with the version-counter rules
    of ``Tensor._inplace`` (keyword arguments pass through it too, so a tensor given by
    keyword is seen by the graph)."""

    def method(self, *args, **kwargs):
        n, keys = len(args), list(kwargs)
        return self._inplace(lambda x, *a: fn(x, *a[:n], **dict(zip(keys, a[n:]))), *args, *kwargs.values(), name=name)

    method.__name__ = name + "_"
    return method


scatter_ = _in_place(scatter, "scatter")
scatter_add_ = _in_place(scatter_add, "scatter_add")
scatter_reduce_ = _in_place(scatter_reduce, "scatter_reduce")
index_add_ = _in_place(index_add, "index_add")
index_copy_ = _in_place(index_copy, "index_copy")
index_fill_ = _in_place(index_fill, "index_fill")
masked_fill_ = _in_place(masked_fill, "masked_fill")
masked_scatter_ = _in_place(masked_scatter, "masked_scatter")
