"""Shape functions: reshape/view, permute/transpose/movedim, broadcast, squeeze, cat/stack/split,
pad, repeat/tile/repeat_interleave, roll, tril/triu, diagonal/diag_embed, unfold, meshgrid.
Results that share memory with their input share its version counter (views)."""

import numbers

from ..errors import ArgumentError, ArgumentTypeError, DTypeError, GpugradIndexError, ShapeError
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


# -- the breadth issue's shape functions ----------------------------------------------------------


def _dims_arg(d, op):
    if isinstance(d, numbers.Integral):
        return (int(d),)
    if isinstance(d, (tuple, list)) and all(isinstance(i, numbers.Integral) for i in d):
        return tuple(int(i) for i in d)
    raise ArgumentTypeError(f"[{op}] expected an int or a tuple of ints, got {d!r}")


def _need_dims(x, n, op):
    _check(x, op)
    if x.ndim < n:
        raise ShapeError(f"[{op}] expected a tensor with at least {n} dims, got shape {x.shape}")


def _check(x, op):
    if not isinstance(x, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(x).__name__}")


def movedim(x, source, destination):
    """``x`` with dims ``source`` moved to positions ``destination`` (ints or tuples of the
    same length); the other dims keep their order. A view."""
    _check(x, "movedim")
    src, dst = _dims_arg(source, "movedim"), _dims_arg(destination, "movedim")
    if len(src) != len(dst):
        raise ShapeError(f"[movedim] source {source} and destination {destination} differ in length")
    src = [axis(d, x.ndim, "movedim") for d in src]
    dst = [axis(d, x.ndim, "movedim") for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ArgumentError(f"[movedim] repeated dim in source {source} or destination {destination}")
    if x.ndim == 0:
        return x
    order = [None] * x.ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(x.ndim) if i not in src)
    return permute(x, [o if o is not None else next(rest) for o in order])


moveaxis = movedim
swapdims = transpose


def unflatten(x, dim, sizes):
    """Dim ``dim`` of ``x`` split into ``sizes`` (one of them may be -1)."""
    _need_dims(x, 1, "unflatten")
    d = axis(dim, x.ndim, "unflatten")
    sizes = shape_arg((sizes,), "unflatten")
    n, known = x.shape[d], 1
    for s in sizes:
        known *= s if s != -1 else 1
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes) or (
        n != known if -1 not in sizes else (known == 0 or n % known)
    ):
        raise ShapeError(f"[unflatten] sizes {sizes} do not multiply to dim {d} of size {n} (shape {x.shape})")
    return reshape(x, x.shape[:d] + sizes + x.shape[d + 1 :])


def narrow(x, dim, start, length):
    """The ``length`` entries of ``x`` along ``dim`` from ``start`` (negative counts from the
    end; a 0-d tensor is taken too); a view."""
    _need_dims(x, 1, "narrow")
    d = axis(dim, x.ndim, "narrow")
    if isinstance(start, Tensor):
        start = int(start.item())
    for name, v in (("start", start), ("length", length)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise ArgumentTypeError(f"[narrow] {name} must be an int, got {type(v).__name__}")
    n = x.shape[d]
    if not -n <= start <= n:
        raise GpugradIndexError(f"[narrow] start {start} is out of range for dim {d} of size {n}")
    start = start % n if start < 0 else start
    if length < 0 or start + length > n:
        raise GpugradIndexError(f"[narrow] start {start} + length {length} exceeds dim {d} of size {n}")
    return x[(slice(None),) * d + (slice(start, start + length),)]


def _copy(x, y):
    """``y``, copied when it still shares ``x``'s memory (repeat and tile always copy)."""
    if x._backend.xp.may_share_memory(x.array, y.array):
        from .math import cast

        return cast(y, y.dtype)
    return y


def repeat(x, *sizes):
    """``x`` repeated ``sizes[i]`` times along each dim (more sizes than dims add leading
    dims), as ``Tensor.repeat``; a copy."""
    _check(x, "repeat")
    sizes = shape_arg(sizes, "repeat")
    if len(sizes) < x.ndim:
        raise ShapeError(f"[repeat] expected at least {x.ndim} sizes (one per dim of {x.shape}), got {sizes}")
    if any(s < 0 for s in sizes):
        raise ArgumentError(f"[repeat] sizes must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    inter = tuple(v for n in shape for v in (1, n))
    wide = tuple(v for r, n in zip(sizes, shape) for v in (r, n))
    out = reshape(broadcast_to(reshape(x, inter), wide), tuple(r * n for r, n in zip(sizes, shape)))
    return _copy(x, out)


def tile(x, *dims):
    """``x`` repeated ``dims[i]`` times along each dim (``tile(x, (2, 3))`` or
    ``x.tile(2, 3)``); fewer dims than ``x`` has count as leading 1s (``torch.tile``)."""
    _check(x, "tile")
    dims = shape_arg(dims, "tile")
    return repeat(x, (1,) * (x.ndim - len(dims)) + dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):  # noqa: A002 - PyTorch's names
    """Each entry of ``input`` along ``dim`` repeated ``repeats`` times (an int, or a tensor
    with one count per entry); ``dim=None`` works on the flattened tensor. With a tensor
    alone, ``repeat_interleave(counts)`` gives ``arange(len(counts))`` repeated. Tensor
    counts size the result, so on a GPU they are read back to the host."""
    op = "repeat_interleave"
    _check(input, op)
    if repeats is None:  # repeat_interleave(counts)
        from ..creation import arange

        if input.ndim > 1 or input.dtype.kind not in "iu":
            raise DTypeError(f"[{op}] expected a 0-d or 1-D integer tensor of counts, got {input.ndim}-D {input.dtype}")
        return repeat_interleave(arange(input.numel(), device=input.device), input.reshape(-1), 0)
    x = reshape(input, -1) if dim is None else input
    if x.ndim == 0:
        x = reshape(x, 1)
    d = 0 if dim is None else axis(dim, x.ndim, op)
    n = x.shape[d]
    if isinstance(repeats, Tensor):
        if repeats.dtype.kind not in "iu" or repeats.ndim > 1:
            raise DTypeError(f"[{op}] repeats must be an int or a 0-d/1-D integer tensor, got "
                             f"{repeats.ndim}-D {repeats.dtype}")
        counts = [int(c) for c in repeats.reshape(-1).tolist()]
        if len(counts) == 1:
            repeats = counts[0]
        elif len(counts) != n:
            raise ShapeError(f"[{op}] expected {n} repeats (dim {d} of shape {x.shape}), got {len(counts)}")
        else:
            if any(c < 0 for c in counts):
                raise ArgumentError(f"[{op}] repeats must be non-negative, got {counts}")
            from .index import getitem

            b = x._backend
            with b.scope():
                idx = Tensor._wrap(b.xp.arange(n, dtype="int64").repeat(counts), b)
            out = getitem(x, (slice(None),) * d + (idx,))
            _check_output_size(out.shape[d], output_size)
            return out
    if not isinstance(repeats, numbers.Integral) or isinstance(repeats, bool) or repeats < 0:
        raise ArgumentError(f"[{op}] repeats must be a non-negative int or an integer tensor, got {repeats!r}")
    r = int(repeats)
    wide = x.shape[: d + 1] + (r,) + x.shape[d + 1 :]
    out = reshape(broadcast_to(unsqueeze(x, d + 1), wide), x.shape[:d] + (n * r,) + x.shape[d + 1 :])
    _check_output_size(out.shape[d], output_size)
    return _copy(input, out)


def _check_output_size(n, output_size):
    if output_size is not None and output_size != n:
        raise ShapeError(f"[repeat_interleave] output_size {output_size} does not match the repeats' total {n}")


def fliplr(x):
    """``x`` with the order along dim 1 reversed (at least 2 dims); a copy."""
    from .sort import flip

    _need_dims(x, 2, "fliplr")
    return flip(x, 1)


def flipud(x):
    """``x`` with the order along dim 0 reversed (at least 1 dim); a copy."""
    from .sort import flip

    _need_dims(x, 1, "flipud")
    return flip(x, 0)


def roll(x, shifts, dims=None):
    """``x`` with entries shifted by ``shifts`` along ``dims`` (ints or tuples of the same
    length), wrapping around; ``dims=None`` rolls the flattened tensor."""
    _check(x, "roll")
    shifts = _dims_arg(shifts, "roll")
    if dims is None:
        if len(shifts) != 1:
            raise ShapeError(f"[roll] without dims expected one shift, got {shifts}")
        return reshape(roll(reshape(x, -1), shifts, 0), x.shape)
    dims = _dims_arg(dims, "roll")
    if len(shifts) != len(dims):
        raise ShapeError(f"[roll] shifts {shifts} and dims {dims} differ in length")
    y = reshape(x, 1) if x.ndim == 0 else x
    for s, dim in zip(shifts, dims):
        d = axis(dim, y.ndim, "roll")
        n = y.shape[d]
        s = s % n if n else 0
        if s:
            lead = (slice(None),) * d
            y = cat([y[lead + (slice(n - s, n),)], y[lead + (slice(0, n - s),)]], d)
    return reshape(y, ()) if x.ndim == 0 else _copy(x, y)


def _triangle(x, diagonal, op, lower):
    from .math import where

    _need_dims(x, 2, op)
    if not isinstance(diagonal, numbers.Integral) or isinstance(diagonal, bool):
        raise ArgumentTypeError(f"[{op}] diagonal must be an int, got {type(diagonal).__name__}")
    b, xp = x._backend, x._backend.xp
    r, c = x.shape[-2:]
    with b.scope():
        off = xp.arange(c).reshape(1, c) - xp.arange(r).reshape(r, 1)
        keep = Tensor._wrap(off <= diagonal if lower else off >= diagonal, b)
        zero = Tensor._wrap(xp.zeros((), dtype=x.dtype), b)
    return where(keep, x, zero)


def tril(x, diagonal=0):
    """The lower triangle of the last two dims of ``x`` (entries with col - row <=
    ``diagonal``), zeros elsewhere; the gradient passes where kept."""
    return _triangle(x, diagonal, "tril", True)


def triu(x, diagonal=0):
    """The upper triangle (col - row >= ``diagonal``) of the last two dims; as ``tril``."""
    return _triangle(x, diagonal, "triu", False)


def _diag_positions(b, n, offset):
    i = b.xp.arange(n, dtype="int64")
    return Tensor._wrap(i + max(-offset, 0), b), Tensor._wrap(i + max(offset, 0), b)


def diagonal(x, offset=0, dim1=0, dim2=1):
    """Diagonal ``offset`` (above the main one if > 0) of the matrices in dims ``dim1`` and
    ``dim2``, as a new last dim. Differentiable (the gradient goes back to the diagonal);
    a copy, where PyTorch returns a view."""
    from .index import getitem

    _need_dims(x, 2, "diagonal")
    if not isinstance(offset, numbers.Integral) or isinstance(offset, bool):
        raise ArgumentTypeError(f"[diagonal] offset must be an int, got {type(offset).__name__}")
    d1, d2 = axis(dim1, x.ndim, "diagonal"), axis(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise ArgumentError(f"[diagonal] dim1 and dim2 must differ, got {dim1} and {dim2}")
    y = movedim(x, (d1, d2), (-2, -1))
    r, c = y.shape[-2:]
    n = max(0, min(r - max(-offset, 0), c - max(offset, 0)))
    with x._backend.scope():
        rows, cols = _diag_positions(x._backend, n, int(offset))
    return getitem(y, (Ellipsis, rows, cols))


def diag_embed(x, offset=0, dim1=-2, dim2=-1):
    """Matrices with the last dim of ``x`` on diagonal ``offset``, zeros elsewhere, in the
    new dims ``dim1`` and ``dim2`` of the result; differentiable."""
    _need_dims(x, 1, "diag_embed")
    if not isinstance(offset, numbers.Integral) or isinstance(offset, bool):
        raise ArgumentTypeError(f"[diag_embed] offset must be an int, got {type(offset).__name__}")
    d1, d2 = axis(dim1, x.ndim + 1, "diag_embed"), axis(dim2, x.ndim + 1, "diag_embed")
    if d1 == d2:
        raise ArgumentError(f"[diag_embed] dim1 and dim2 must differ, got {dim1} and {dim2}")
    n, k = x.shape[-1], int(offset)
    # each entry followed by n zeros, flattened and cut to n*n: entry i lands at (i, i)
    rows = pad(unsqueeze(x, -1), (0, n))
    flat = reshape(rows, x.shape[:-1] + (n * (n + 1),))
    mat = reshape(flat[..., : n * n], x.shape[:-1] + (n, n))
    if k:
        mat = pad(mat, (k, 0, 0, k) if k > 0 else (0, -k, -k, 0))
    return movedim(mat, (-2, -1), (d1, d2))


def unfold(x, dimension, size, step):
    """``Tensor.unfold``: the windows of ``size`` entries taken every ``step`` along
    ``dimension``, as that dim's slices with a new last dim of ``size``; differentiable."""
    from .index import getitem

    _need_dims(x, 1, "unfold")
    d = axis(dimension, x.ndim, "unfold")
    n = x.shape[d]
    for name, v in (("size", size), ("step", step)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise ArgumentTypeError(f"[unfold] {name} must be an int, got {type(v).__name__}")
    if not 0 <= size <= n or step <= 0:
        raise ShapeError(f"[unfold] expected 0 <= size <= {n} (dim {d} of {x.shape}) and step > 0, "
                         f"got size {size}, step {step}")
    b = x._backend
    with b.scope():
        count = (n - size) // step + 1
        idx = b.xp.arange(count, dtype="int64").reshape(count, 1) * step + b.xp.arange(size, dtype="int64")
        idx = Tensor._wrap(idx, b)
    return movedim(getitem(x, (slice(None),) * d + (idx,)), d + 1, -1)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D (or 0-d) tensors: with ``indexing="ij"`` (the default, as
    PyTorch's) output i varies along dim i; with ``"xy"`` the first two dims are swapped
    (Cartesian, NumPy's default). Views (expanded)."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f"[meshgrid] indexing must be 'ij' or 'xy', got {indexing!r}")
    _same_device(list(tensors), "meshgrid")
    for i, t in enumerate(tensors):
        if t.ndim > 1:
            raise ShapeError(f"[meshgrid] expected 0-d or 1-D tensors, got shape {t.shape} for tensor {i}")
        if t.dtype != tensors[0].dtype or t.device != tensors[0].device:
            raise ArgumentError(f"[meshgrid] expected one dtype and device, got {tensors[0].dtype} on "
                                f"{tensors[0].device} and {t.dtype} on {t.device}")
    sizes = [t.numel() for t in tensors]
    pos = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        pos[0], pos[1] = 1, 0
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for t, p in zip(tensors, pos):
        shape = [1] * len(tensors)
        shape[p] = t.numel()
        out.append(broadcast_to(reshape(t, shape), tuple(sizes)))
    return tuple(out)


def _atleast(n, tensors, op):
    """``atleast_nd`` of one tensor (a tensor) or of several or a list (a tuple)."""
    one = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    out = []
    for t in tensors:
        _check(t, op)
        s = t.shape
        if t.ndim >= n:
            out.append(t)
        elif n == 1:
            out.append(reshape(t, 1))
        elif n == 2:
            out.append(reshape(t, (1,) * (2 - t.ndim) + s))
        else:
            out.append(reshape(t, {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[t.ndim]))
    return out[0] if one else tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (0-d becomes shape (1,))."""
    return _atleast(1, tensors, "atleast_1d")


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims (shape (n,) becomes (1, n))."""
    return _atleast(2, tensors, "atleast_2d")


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims ((n,) becomes (1, n, 1), (m, n) becomes (m, n, 1))."""
    return _atleast(3, tensors, "atleast_3d")


def view_as(x, other):
    """``x`` viewed in ``other``'s shape."""
    _check(other, "view_as")
    return reshape(x, other.shape)


def reshape_as(x, other):
    """``x`` reshaped to ``other``'s shape."""
    _check(other, "reshape_as")
    return reshape(x, other.shape)


def expand_as(x, other):
    """``x`` broadcast to ``other``'s shape."""
    _check(other, "expand_as")
    return expand(x, other.shape)


def type_as(x, other):
    """``x`` in ``other``'s dtype."""
    _check(other, "type_as")
    return x.to(other.dtype)
