"""Reductions over ``axis`` (None = all, or a tuple) with ``keepdim``."""

import numpy as np

from .. import functional as F
from ..backend.base import accumulate, asum
from ..dtypes import is_half
from .activation import shift_by_max
from .base import OnceDifferentiable, Op


def _kept_shape(shape, axis):
    """``shape`` with the reduced axes set to 1 (how gy lines up with x)."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def _expand_back(gy, x_shape, axis):
    return F.broadcast_to(gy.reshape(_kept_shape(x_shape, axis)), x_shape)


class Sum(Op):
    __slots__ = ("axis", "keepdim")

    def __init__(self, axis, keepdim):
        self.axis, self.keepdim = axis, keepdim

    def forward(self, b, x):
        return asum(x, self.axis, self.keepdim)

    def backward(self, gy):  # every element contributes once
        return _expand_back(gy, self.inputs[0].shape, self.axis)


class Mean(Op):
    __slots__ = ("axis", "keepdim", "count")

    def __init__(self, axis, keepdim):
        self.axis, self.keepdim = axis, keepdim

    def forward(self, b, x):
        y = accumulate(x, "mean", axis=self.axis, keepdims=self.keepdim)
        self.count = max(x.size // max(y.size, 1), 1) if x.size else 1
        return y

    def backward(self, gy):  # d mean = 1/n
        return _expand_back(gy, self.inputs[0].shape, self.axis) / self.count


class Prod(OnceDifferentiable):
    __slots__ = ("axis", "keepdim")
    double_backward_hint = "Write the product as exp(sum(log(x))) for positive x if you need it."

    def __init__(self, axis, keepdim):
        self.axis, self.keepdim = axis, keepdim

    def forward(self, b, x):
        return accumulate(x, "prod", axis=self.axis, keepdims=self.keepdim)

    def backward_once(self, gy):  # d prod / dx_i = product of the others (exact with zeros)
        x = self.saved(0)
        xp = x._backend.xp
        a = x.array
        if self.axis is None:
            flat = a.reshape(-1)
            others = _prod_others(xp, flat, 0).reshape(a.shape)
        else:
            (ax,) = self.axis
            others = _prod_others(xp, a, ax)
        g = _expand_back(gy, x.shape, self.axis).array
        return x._like(g * others)


def _prod_others(xp, a, axis):
    """The product of the other entries along ``axis``, for each entry (no division, so
    exact with zeros): exclusive cumulative products from the left and from the right."""
    def part(s):
        key = [slice(None)] * a.ndim
        key[axis] = s
        return tuple(key)

    ones = xp.ones_like(a[part(slice(0, 1))])
    left = xp.concatenate([ones, xp.cumprod(a, axis=axis)[part(slice(0, -1))]], axis=axis)
    right = xp.cumprod(xp.flip(a, axis=axis), axis=axis)
    right = xp.concatenate([ones, right[part(slice(0, -1))]], axis=axis)
    return left * xp.flip(right, axis=axis)


class Extreme(Op):
    """max/min along one axis (or all): outputs (values, indices).

    Tie rule, the same on every backend: the first occurrence in index order wins, both
    for the index returned and for where the gradient goes. NaN counts as the extreme.
    """

    __slots__ = ("kind", "axis", "keepdim")
    n_out = 2

    def __init__(self, kind, axis, keepdim):
        self.kind, self.axis, self.keepdim = kind, axis, keepdim

    def forward(self, b, x):
        xp = b.xp
        arg = xp.argmax if self.kind == "max" else xp.argmin
        if self.axis is None:
            idx = arg(x.reshape(-1))
            val = x.reshape(-1)[idx]
            if self.keepdim:
                return val.reshape((1,) * x.ndim), idx.reshape((1,) * x.ndim)
            return val, idx
        idx = xp.expand_dims(arg(x, axis=self.axis), self.axis)
        val = xp.take_along_axis(x, idx, axis=self.axis)
        if not self.keepdim:
            idx, val = idx.squeeze(self.axis), val.squeeze(self.axis)
        return val, idx

    def backward(self, gy, _gidx=None):  # the gradient goes to the (first) winner only
        x = self.inputs[0]
        xp = x._backend.xp
        if self.axis is None:
            pos = xp.arange(x.array.size).reshape(x.shape)
            mask = pos == xp.argmax(x.array.reshape(-1)) if self.kind == "max" else pos == xp.argmin(
                x.array.reshape(-1)
            )
            return F.where(x._like(mask), gy.reshape(()), 0.0)
        arg = xp.argmax if self.kind == "max" else xp.argmin
        idx = xp.expand_dims(arg(x.array, axis=self.axis), self.axis)
        shape = [1] * x.ndim
        shape[self.axis] = x.shape[self.axis]
        mask = xp.arange(x.shape[self.axis]).reshape(shape) == idx
        g = gy if self.keepdim else gy.unsqueeze(self.axis)
        return F.where(x._like(mask), g, 0.0)


class AMax(Op):
    """amax/amin over ``axis`` (None = all, or a tuple), and max()/min() of all elements.

    As in PyTorch, the gradient is shared evenly among the elements that tie for the
    extreme (each of k ties gets 1/k); NaN counts as the extreme and ties with NaN.
    """

    __slots__ = ("kind", "axis", "keepdim")
    saves_output = True

    def __init__(self, kind, axis, keepdim):
        self.kind, self.axis, self.keepdim = kind, axis, keepdim

    def forward(self, b, x):
        f = b.xp.max if self.kind == "max" else b.xp.min  # NaN propagates, as in PyTorch
        return f(x, axis=self.axis, keepdims=self.keepdim)

    def backward(self, gy):
        x = self.saved(0)
        xp = x._backend.xp
        a = x.array
        y = self.output().array.reshape(_kept_shape(x.shape, self.axis))
        hit = (a == y) | (xp.isnan(a) & xp.isnan(y))
        share = hit / hit.sum(axis=self.axis, keepdims=True)
        return _expand_back(gy, x.shape, self.axis) * x._like(share.astype(a.dtype, copy=False))


class LogSumExp(Op):
    __slots__ = ("axis", "keepdim")
    saves_output = True
    ieee = True

    def __init__(self, axis, keepdim):
        self.axis, self.keepdim = axis, keepdim

    def forward(self, b, x):
        xp = b.xp
        z, m = shift_by_max(xp, x, self.axis)
        y = xp.log(asum(xp.exp(z), self.axis, True)) + m
        return y if self.keepdim else y.squeeze(self.axis) if self.axis is not None else y.reshape(())

    def backward(self, gy):  # d logsumexp = softmax(x)
        x = self.saved(0)
        shape = _kept_shape(x.shape, self.axis)
        return gy.reshape(shape) * (x - self.output().reshape(shape)).exp()



class CumSum(Op):
    """Cumulative sum along ``axis`` (the input already in the result dtype)."""

    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, b, x):
        if is_half(x.dtype):  # float32 running sums, each rounded once (see accumulate)
            return b.xp.cumsum(x, axis=self.axis, dtype=np.float32).astype(x.dtype)
        return b.xp.cumsum(x, axis=self.axis, dtype=x.dtype)

    def backward(self, gy):  # d y_j / d x_i = 1 for j >= i: the reversed cumsum of gy
        return F.flip(CumSum(self.axis)(F.flip(gy, self.axis)), self.axis)
