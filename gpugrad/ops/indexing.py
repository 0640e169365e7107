"""Indexing: basic and advanced ``x[key]``, its scatter-add adjoint, and ``x[key] = v``.

``key`` here is already in array form (tensors replaced by backend arrays; see
``functional._raw_key``). Repeated indices accumulate in backward (scatter-add).
"""

import numpy as np

from .. import functional as F
from ..dtypes import is_floating
from .base import Op


def is_basic(key):
    """True when ``key`` uses only ints, slices, None and Ellipsis (the result is a view and
    no element repeats, so plain assignment can replace scatter-add)."""
    items = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice)) for k in items)


class GetItem(Op):
    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def forward(self, b, x):
        return x[self.key]

    def backward(self, gy):  # scatter gy back to where it came from
        x = self.inputs[0]
        return IndexAddZeros(self.key, x.shape)(gy)


class IndexAddZeros(Op):
    """zeros(shape) with ``gy`` added at ``key`` (repeats accumulate); adjoint of GetItem."""

    __slots__ = ("key", "shape")

    def __init__(self, key, shape):
        self.key, self.shape = key, shape

    def forward(self, b, g):
        out = b.xp.zeros(self.shape, dtype=g.dtype)
        if is_basic(self.key):
            out[self.key] = g
        else:
            b.index_add(out, self.key, g)
        return out

    def backward(self, ggx):
        return GetItem(self.key)(ggx)


class IndexPut(Op):
    """Out-of-place ``x[key] = v`` (``v`` broadcast to the indexed shape)."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def forward(self, b, x, v):
        y = x.copy()
        y[self.key] = v
        return y

    def backward(self, gy):  # x keeps gy outside key; v collects gy[key]
        x, v = self.inputs
        gx = gv = None
        if x.requires_grad:
            keep = x._backend.xp.ones(x.shape, dtype=bool)
            keep[self.key] = False
            gx = F.where(x._like(keep), gy, 0.0)
        if v.requires_grad:
            gv = F.sum_to(GetItem(self.key)(gy), v.shape)
        return gx, gv


# -- scatter_reduce (issue 17) ------------------------------------------------------------------
# dtypes whose scatter-add CuPy runs with atomics (``cupy.add.at``); sums of other dtypes, and
# every product, max and min, go through a segmented scan that needs no ``ufunc.at``
_ADD_AT = frozenset("float16 float32 float64 int32 uint32 uint64".split())
_UFUNC = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


def flat_positions(xp, key, shape):
    """The row-major flat positions in an array of ``shape`` that the advanced ``key`` (one
    integer array per dim, broadcasting together) picks, as one int64 1-D array."""
    pos, stride = 0, 1
    for k, n in zip(reversed(key), reversed(shape)):
        pos = pos + k.astype("int64") * stride
        stride *= n
    return xp.broadcast_to(pos, np.broadcast_shapes(*[k.shape for k in key])).reshape(-1)


def _segments(xp, keys, vals, ufunc):
    """Reduce ``vals`` by equal ``keys`` with ``ufunc``: (sorted keys, values, last) where
    ``values`` at a position flagged ``last`` holds the reduction of its whole run of equal keys.
    A log-step segmented scan (Hillis-Steele) on the key-sorted values: whole-array steps,
    no ``ufunc.at`` (CuPy has no ``multiply.at`` and no int64 atomics)."""
    order = keys.argsort()
    k, v = keys[order], vals[order]
    m, s = k.shape[0], 1
    while s < m:
        tail = xp.where(k[s:] == k[:-s], ufunc(v[s:], v[:-s]), v[s:])
        v = xp.concatenate([v[:s], tail])
        s *= 2
    last = xp.concatenate([k[1:] != k[:-1], xp.ones(min(m, 1), dtype=bool)])
    return k, v, last


def scatter_reduce_array(b, x, key, src, reduce, include_self):
    """``x`` with ``src``'s values reduced into the flat positions ``key`` picks (PyTorch's
    scatter_reduce on arrays). Positions no value reaches keep x's value."""
    xp = b.xp
    n = x.size
    pos = flat_positions(xp, key, x.shape)
    vals = xp.ascontiguousarray(src).reshape(-1)
    out = xp.concatenate([x.reshape(-1), xp.zeros(1, dtype=x.dtype)])  # slot n takes the discards
    ufunc = getattr(xp, _UFUNC[reduce])
    count = None
    if reduce in ("sum", "mean") and x.dtype.name in _ADD_AT:  # per position, all n + 1 of them
        red = xp.zeros(n + 1, dtype=x.dtype)
        b.index_add(red, pos, vals)
        hit = xp.zeros(n + 1, dtype=bool)
        hit[pos] = True
        dest = xp.where(hit, xp.arange(n + 1), n)
        if reduce == "mean":
            count = xp.zeros(n + 1, dtype=x.dtype)
            b.index_add(count, pos, xp.ones(pos.shape, dtype=x.dtype))
    else:  # per run of equal sorted positions, valid at its last element
        k, red, last = _segments(xp, pos, vals, ufunc)
        dest = xp.where(last, k, n)
        if reduce == "mean":
            count = _segments(xp, pos, xp.ones(pos.shape, dtype="int64"), xp.add)[1]
    current = out[dest]
    if reduce == "mean":
        total = red + current if include_self else red
        count = xp.maximum(count + 1 if include_self else count, 1)  # 0 only at discarded slots
        value = total / count if is_floating(x.dtype) else xp.floor_divide(total, count)
    else:
        value = ufunc(current, red) if include_self else red
    out[dest] = value.astype(x.dtype, copy=False)
    return out[:n].reshape(x.shape)


class ScatterReduce(Op):
    """PyTorch's ``scatter_reduce(x, dim, index, src, reduce, include_self)`` with ``src``
    already cut to ``index``'s shape; the gradients are PyTorch's formulas written with
    gpugrad ops (so they differentiate again)."""

    __slots__ = ("dim", "index", "key", "reduce", "include_self")
    saves_output = True

    def __init__(self, dim, index, key, reduce, include_self):
        self.dim, self.index, self.key, self.reduce, self.include_self = dim, index, key, reduce, include_self

    def forward(self, b, x, src):
        return scatter_reduce_array(b, x, self.key, src, self.reduce, self.include_self)

    def backward(self, gy):
        x, src = self.saved(0), self.saved(1)
        d, index, r = self.dim, self.index, self.reduce
        gather = F.gather
        if r == "sum":
            gx, gs = gy, gather(gy, d, index)
        elif r == "mean":
            n = (F.ones_like(gy) if self.include_self else F.zeros_like(gy))
            n = F.scatter_add(n, d, index, F.ones_like(src))
            n = F.masked_fill(n, n == 0, 1)
            gx, gs = gy / n, gather(gy, d, index) / gather(n, d, index)
        elif r == "prod":
            result = self.output()
            masked_x = F.masked_fill(x, x == 0, 1)
            gx = gy * F.scatter_reduce(masked_x, d, index, src, "prod", include_self=self.include_self) / masked_x
            src_zero = src == 0
            zeros = F.scatter_add(F.zeros_like(x), d, index, src_zero.to(x.dtype))
            single = src_zero & (gather(zeros, d, index) == 1)
            masked_result = F.scatter_reduce(x, d, index, F.masked_fill(src, single, 1), "prod",
                                             include_self=self.include_self)
            gs = F.where(single, gather(gy * masked_result, d, index),
                         gather(gy * result, d, index) / F.masked_fill(src, src_zero, 1))
        else:  # amax, amin: the gradient is shared evenly among the values equal to the result
            result = self.output()
            value = gather(result, d, index)
            x_is = (x == result).to(x.dtype)
            src_is = (src == value).to(x.dtype)
            share = gy / F.scatter_add(x_is, d, index, src_is)
            gx, gs = x_is * share, src_is * gather(share, d, index)
        if not self.include_self:
            gx = F.scatter(gx, d, index, 0)
        return gx, gs
