"""Shape functions: reshape/view, permute/transpose, broadcast, squeeze, cat/stack/split,
pad. Results that share memory with their input share its version counter (views)."""

import numbers

from ..errors import ArgumentError, ArgumentTypeError, ShapeError
from ..ops import shape as S
from ..tensor import Tensor
from ._util import axis, shape_arg


def _view_of(x, y):
    """Mark ``y`` as a view of ``x`` when it shares x's memory."""
    if x._backend.xp.may_share_memory(x.array, y.array):
        y._vc = x._vc
        y._base = x if x._base is None else x._base
    return y


def reshape(x, *shape):
    """A tensor with x's elements in ``shape`` (one entry may be -1)."""
    shape = shape_arg(shape, "reshape")
    try:
        return _view_of(x, S.Reshape(shape)(x))
    except ValueError:
        raise ShapeError(
            f"[reshape] cannot reshape a tensor of shape {x.shape} ({x.numel()} elements) into {shape}"
        ) from None


view = reshape


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = axis(start_dim, x.ndim, "flatten"), axis(end_dim, x.ndim, "flatten")
    if s > e:
        raise ArgumentError(f"[flatten] start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(x, x.shape[:s] + (-1,) + x.shape[e + 1 :])


def squeeze(x, dim=None):
    """Drop dims of size 1 (all of them, or ``dim`` when it has size 1)."""
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        drop = {axis(d, x.ndim, "squeeze") for d in dims}
        shape = tuple(n for i, n in enumerate(x.shape) if not (i in drop and n == 1))
    return reshape(x, shape)


def unsqueeze(x, dim):
    d = axis(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def permute(x, *dims):
    dims = shape_arg(dims, "permute")
    if len(dims) != x.ndim:
        raise ShapeError(f"[permute] expected {x.ndim} dims for shape {x.shape}, got {dims}")
    norm = tuple(axis(d, x.ndim, "permute") for d in dims)
    if len(set(norm)) != len(norm):
        raise ArgumentError(f"[permute] dims {dims} repeat a dim")
    return _view_of(x, S.Permute(norm)(x))


def transpose(x, dim0, dim1):
    """Swap two dims."""
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    a, b = axis(dim0, x.ndim, "transpose"), axis(dim1, x.ndim, "transpose")
    order = list(range(x.ndim))
    order[a], order[b] = order[b], order[a]
    return _view_of(x, S.Permute(order)(x))


swapaxes = transpose


def t(x):
    """Transpose of a tensor with at most 2 dims."""
    if x.ndim > 2:
        raise ShapeError(f"[t] expects a tensor with <= 2 dims, got shape {x.shape}; use transpose or .mT")
    return x if x.ndim < 2 else transpose(x, 0, 1)


def broadcast_to(x, *shape):
    shape = shape_arg(shape, "broadcast_to")
    if shape == x.shape:
        return x
    try:
        return _view_of(x, S.BroadcastTo(shape)(x))
    except ValueError:
        raise ShapeError(f"[broadcast_to] cannot broadcast shape {x.shape} to {shape}") from None


def expand(x, *sizes):
    """Broadcast to ``sizes``; -1 keeps a dim's size (PyTorch's expand)."""
    sizes = shape_arg(sizes, "expand")
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"[expand] cannot expand shape {x.shape} to fewer dims {sizes}")
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    return broadcast_to(x, shape)


def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (the adjoint of broadcasting)."""
    return S.sum_to(x, tuple(shape))


def _same_device(tensors, op):
    if not tensors:
        raise ArgumentError(f"[{op}] expected a non-empty sequence of tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise ArgumentTypeError(f"[{op}] expected tensors, got {type(t).__name__}")
    return tensors


def cat(tensors, dim=0):
    """Join tensors along an existing dim."""
    tensors = _same_device(list(tensors), "cat")
    ref = tensors[0]
    if ref.ndim == 0:
        raise ShapeError("[cat] zero-dimensional tensors cannot be concatenated; use stack")
    d = axis(dim, ref.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or t.shape[:d] + t.shape[d + 1 :] != ref.shape[:d] + ref.shape[d + 1 :]:
            raise ShapeError(
                f"[cat] tensor {i} has shape {t.shape}, expected {ref.shape} apart from dim {d}"
            )
    return S.Cat(d)(*tensors)


concatenate = cat


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dim."""
    tensors = _same_device(list(tensors), "stack")
    ref = tensors[0]
    for i, t in enumerate(tensors):
        if t.shape != ref.shape:
            raise ShapeError(f"[stack] tensor {i} has shape {t.shape}, expected {ref.shape}")
    return S.Stack(axis(dim, ref.ndim + 1, "stack"))(*tensors)


def split(x, split_size_or_sections, dim=0):
    """Pieces of ``x`` along ``dim``: of size ``n`` each (the last may be smaller), or of
    the sizes in a list (which must add up to the dim's size). A multi-output op."""
    d = axis(dim, x.ndim, "split")
    total = x.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        n = int(split_size_or_sections)
        if n <= 0:
            raise ArgumentError(f"[split] split size must be positive, got {n}")
        sizes = [n] * (total // n) + ([total % n] if total % n else [])
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != total or any(s < 0 for s in sizes):
            raise ShapeError(f"[split] sizes {sizes} do not add up to dim {d} of size {total}")
    if len(sizes) <= 1:
        return (x,) if sizes else ()
    return S.Split(sizes, d)(x)


def chunk(x, chunks, dim=0):
    """``chunks`` pieces (the last may be smaller), like PyTorch's chunk."""
    if chunks <= 0:
        raise ArgumentError(f"[chunk] chunks must be positive, got {chunks}")
    d = axis(dim, x.ndim, "chunk")
    n = -(-x.shape[d] // chunks) if x.shape[d] else 1
    return split(x, n, d)


def unbind(x, dim=0):
    d = axis(dim, x.ndim, "unbind")
    return tuple(squeeze(p, d) for p in split(x, 1, d))


def pad(x, pad, mode="constant", value=0.0):
    """Constant padding, PyTorch order: (left, right) of the last dim, then of the one
    before it, and so on."""
    if mode != "constant":
        raise ArgumentError(f"[pad] only mode='constant' is supported, got {mode!r}")
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ShapeError(f"[pad] expected pairs for at most {x.ndim} dims, got {len(pad)} values")
    if any(p < 0 for p in pad):
        raise ArgumentError(f"[pad] negative padding is not supported, got {pad}")
    width = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        width[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return S.Pad(tuple(width), value)(x)
