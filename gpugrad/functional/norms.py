"""Vector norms: ``norm`` (``torch.norm`` / ``Tensor.norm``) and ``vector_norm``
(``torch.linalg.vector_norm``), over all elements or over ``dim``, with PyTorch's
gradient, including its value 0 where the norm is 0 (where sqrt would give NaN)."""

import math
import numbers

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
    return _norm(x, ord, dim, keepdim, dtype, "linalg.vector_norm")


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):  # noqa: A002
    """``torch.norm``: ``p`` a number, ``inf``/``-inf`` or ``"fro"`` (the 2-norm over one or
    two dims, or all elements). The nuclear norm (``"nuc"``) is not provided."""
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
    if x.dtype.kind != "f":
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
