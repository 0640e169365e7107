"""Vector norms: ``norm`` (``torch.norm`` / ``Tensor.norm``) and ``vector_norm``
(``torch.linalg.vector_norm``); matrix norms: ``matrix_norm`` (``torch.linalg.matrix_norm``,
without the SVD-based ones) and ``linalg_norm`` (``torch.linalg.norm``). Vector norms go
over all elements or over ``dim``, with PyTorch's gradient, including its value 0 where the
norm is 0 (where sqrt would give NaN)."""

import math
import numbers

from ..amp.autocast import gate as _autocast
from ..dtypes import is_floating
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..ops.base import Op
from ._util import axes, check_tensor


def _kept(shape, axis):
    return tuple(1 if axis is None or i in axis else n for i, n in enumerate(shape))


class PNorm(Op):
    """``sum(|x|^p) ^ (1/p)`` over ``axis`` for a finite p other than 0."""

    __slots__ = ("p", "axis", "keepdim")
    saves_output = True
    ieee = True

    def __init__(self, p, axis, keepdim):
        self.p, self.axis, self.keepdim = p, axis, keepdim

    def forward(self, b, x):
        xp, p = b.xp, self.p
        dtype = x.dtype
        if dtype.itemsize < 4:  # float16 sums in float32, as PyTorch's
            x = x.astype("float32")
        if p == 2:
            y = xp.sqrt((x * x).sum(axis=self.axis, keepdims=self.keepdim))
        elif p == 1:
            y = xp.abs(x).sum(axis=self.axis, keepdims=self.keepdim)
        else:
            y = (xp.abs(x) ** p).sum(axis=self.axis, keepdims=self.keepdim) ** (1.0 / p)
        return y.astype(dtype, copy=False)

    def backward(self, gy):
        # d ||x||_p / dx = sign(x) |x|^(p-1) / ||x||^(p-1); 0 where the norm is 0 (PyTorch)
        from . import abs, sign, where

        x, p = self.saved(0), self.p
        kept = _kept(x.shape, self.axis)
        n, g = self.output().reshape(kept), gy.reshape(kept)
        if p == 1:
            return sign(x) * g
        if p == 2:
            scaled = x
        else:
            nonzero = x != 0
            scaled = where(nonzero, sign(x) * where(nonzero, abs(x), 1.0) ** (p - 1), 0.0)
        zero = n == 0
        return scaled * where(zero, 0.0, g / where(zero, 1.0, n) ** (p - 1))


def _extreme_norm(x, ax, keepdim, largest):
    """max |x| (or min |x|) over ``ax``; the gradient is shared evenly among ties, as
    PyTorch's (amax's backward)."""
    from . import abs, sum

    a = abs(x)
    xp = x._backend.xp
    with x._backend.scope(), x._backend.quiet():  # NaN input: NaN shares, a NaN norm
        ext = (xp.max if largest else xp.min)(a.array, axis=ax, keepdims=True)
        mask = a.array == ext
        share = mask / mask.sum(axis=ax, keepdims=True)
    return sum(a * x._like(share.astype(x.dtype)), ax, keepdim)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002 - PyTorch's names
    """The ``ord``-norm of ``x`` over ``dim`` (int, tuple, or None for all elements):
    ``ord`` a number, ``inf`` (max |x|), ``-inf`` (min |x|) or 0 (the count of nonzeros).
    ``x`` must be a float tensor; ``dtype`` casts it first (as PyTorch does)."""
    if _autocast.active and dtype is None and _autocast.engaged(x):
        return _autocast.fp32(vector_norm, x, ord, dim, keepdim)
    return _norm(x, ord, dim, keepdim, dtype, "linalg.vector_norm")


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):  # noqa: A002
    """``torch.norm``: ``p`` a number, ``inf``/``-inf`` or ``"fro"`` (the 2-norm over one or
    two dims, or all elements). The nuclear norm (``"nuc"``) is not provided."""
    if _autocast.active and dtype is None and _autocast.engaged(input):
        return _autocast.fp32(norm, input, p, dim, keepdim, out)
    if out is not None:
        raise ArgumentError("[norm] out= is not supported; use the returned tensor")
    if isinstance(p, str):
        if p != "fro":
            raise ArgumentError(f"[norm] expected p to be a number, inf or 'fro', got {p!r} ('nuc' is not supported)")
        if isinstance(dim, (tuple, list)) and len(dim) > 2:
            raise ArgumentError(f"[norm] the 'fro' norm takes at most 2 dims, got dim={tuple(dim)}")
        p = 2
    elif p is None:
        p = 2
    return _norm(input, p, dim, keepdim, dtype, "norm")


def _norm(x, p, dim, keepdim, dtype, op):
    check_tensor(x, op)
    if not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise ArgumentTypeError(f"[{op}] expected the order to be a number, got {type(p).__name__}")
    if dtype is not None:
        x = x.to(dtype)
    if not is_floating(x.dtype):
        raise DTypeError(f"[{op}] expected a floating point tensor, got {x.dtype}; call .float() first")
    if isinstance(dim, list):
        dim = tuple(dim)
    ax = axes(dim, x.ndim, op)
    p = float(p)
    if math.isnan(p):
        raise ArgumentError(f"[{op}] the order must not be NaN")
    if math.isinf(p):
        reduced = x.shape if ax is None else [x.shape[a] for a in ax]
        if any(n == 0 for n in reduced) or x.numel() == 0:
            raise ShapeError(f"[{op}] cannot take the {p} norm of an empty tensor (shape {x.shape}, dim {dim})")
        return _extreme_norm(x, ax, keepdim, p > 0)
    if p == 0:
        from . import ne, sum

        return sum(ne(x, 0), ax, keepdim).to(x.dtype)
    return PNorm(p, ax, keepdim)(x)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002 - PyTorch's names
    """``torch.linalg.matrix_norm`` of the matrices in dims ``dim`` of ``A``: ``"fro"``
    (Frobenius), ``1``/``-1`` (largest/smallest column sum of |A|), ``inf``/``-inf``
    (largest/smallest row sum). The spectral and nuclear norms (``2``, ``-2``, ``"nuc"``)
    need an SVD, which gpugrad does not have: they are refused."""
    if _autocast.active and dtype is None and _autocast.engaged(A):
        return _autocast.fp32(matrix_norm, A, ord, dim, keepdim)
    op = "linalg.matrix_norm"
    check_tensor(A, op)
    if dtype is not None:
        A = A.to(dtype)
    if not is_floating(A.dtype):
        raise DTypeError(f"[{op}] expected a floating point tensor, got {A.dtype}; call .float() first")
    if A.ndim < 2:
        raise ShapeError(f"[{op}] expected a tensor with at least 2 dims, got shape {A.shape}")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ArgumentError(f"[{op}] dim must be a pair of dims, got {dim!r}")
    d0, d1 = axes((dim[0],), A.ndim, op)[0], axes((dim[1],), A.ndim, op)[0]
    if d0 == d1:
        raise ArgumentError(f"[{op}] dim must name two different dims, got {tuple(dim)}")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord == "nuc" or (isinstance(ord, numbers.Real) and not isinstance(ord, bool) and abs(ord) == 2):
        raise ArgumentError(f"[{op}] ord={ord!r} needs singular values, which gpugrad does not compute; "
                            "'fro', 1, -1, inf and -inf are supported")
    if not isinstance(ord, numbers.Real) or isinstance(ord, bool) or abs(ord) not in (1, math.inf):
        raise ArgumentError(f"[{op}] expected ord 'fro', 1, -1, inf or -inf, got {ord!r}")
    from . import abs as _abs
    from . import amax, amin, sum

    if A.shape[d0] == 0 or A.shape[d1] == 0:
        raise ShapeError(f"[{op}] cannot take the {ord} norm of empty matrices (shape {A.shape})")
    summed, over = (d0, d1) if abs(ord) == 1 else (d1, d0)  # 1: sum down columns, inf: along rows
    s = sum(_abs(A), summed, keepdim=True)
    out = (amax if ord > 0 else amin)(s, over, keepdim=True)
    return out if keepdim else out.squeeze((d0, d1))


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """``torch.linalg.norm``: a vector norm when ``dim`` is an int, or when ``ord`` and ``dim``
    are both None (the 2-norm of all elements); a matrix norm when ``dim`` is a pair, or
    when ``dim`` is None and ``A`` is 2-D (with ``ord``: a 1-D ``A`` takes a vector norm)."""
    if _autocast.active and dtype is None and _autocast.engaged(A):
        return _autocast.fp32(linalg_norm, A, ord, dim, keepdim)
    op = "linalg.norm"
    check_tensor(A, op)
    if isinstance(dim, list):
        dim = tuple(dim)
    if isinstance(dim, tuple) and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if isinstance(dim, tuple) and len(dim) != 1:
        raise ArgumentError(f"[{op}] dim must be an int or a pair of dims, got {dim}")
    if dim is None and ord is not None:
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
        if A.ndim != 1:
            raise ShapeError(f"[{op}] with ord and no dim expected a 1-D or 2-D tensor, got shape {A.shape}")
    if isinstance(ord, str):
        raise ArgumentError(f"[{op}] ord={ord!r} is a matrix norm; it needs a 2-D tensor or a pair of dims")
    return _norm(A, 2 if ord is None else ord, dim, keepdim, dtype, op)
