"""Indexing: basic and advanced ``x[key]``, its scatter-add adjoint, and ``x[key] = v``.

``key`` here is already in array form (tensors replaced by backend arrays; see
``functional._raw_key``). Repeated indices accumulate in backward (scatter-add).
"""

from .. import functional as F
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
