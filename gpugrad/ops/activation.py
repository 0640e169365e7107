"""Activation functions and softmax: numerically stable forwards, backward from ops."""

import math

from .. import functional as F
from ..backend.base import asum
from .base import Op


class ReLU(Op):
    __slots__ = ()
    saves_output = True

    def forward(self, b, x):
        return b.xp.maximum(x, 0)

    def backward(self, gy):  # 1 where y > 0 (0 at x = 0, as in PyTorch)
        return F.where(self.output() > 0, gy, 0.0)


class LeakyReLU(Op):
    __slots__ = ("slope",)

    def __init__(self, slope):
        self.slope = slope

    def forward(self, b, x):
        return b.xp.where(x > 0, x, x * self.slope)

    def backward(self, gy):
        return F.where(self.saved(0) > 0, gy, gy * self.slope)


class ELU(Op):
    __slots__ = ("alpha",)
    saves_output = True

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, b, x):
        xp = b.xp
        return xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0)))

    def backward(self, gy):  # 1 for x > 0, else alpha e^x = y + alpha
        return F.where(self.saved(0) > 0, gy, gy * (self.output() + self.alpha))


class Sigmoid(Op):
    """1 / (1 + exp(-x)) through e = exp(-|x|), which never overflows: 1 / (1 + e) for
    x >= 0 and e / (1 + e) below, each accurate to a few ulps relative to the result (so
    log(sigmoid(-20)) is -20, not log 0)."""

    __slots__ = ()

    def forward(self, b, x):
        xp = b.xp
        e = xp.exp(-xp.abs(x))
        r = 1 / (1 + e)
        return xp.where(x >= 0, r, e * r)

    def backward(self, gy):  # y (1 - y) = e / (1 + e)^2, exact on both sides (1 - y is not)
        e = F.exp(-F.abs(self.saved(0)))
        d = e + 1.0
        return gy * e / (d * d)


class Tanh(Op):
    __slots__ = ()
    saves_output = True

    def forward(self, b, x):
        return b.xp.tanh(x)

    def backward(self, gy):  # 1 - y^2
        y = self.output()
        return gy * (1.0 - y * y)


class Softplus(Op):
    __slots__ = ("beta", "threshold")

    def __init__(self, beta, threshold):
        self.beta, self.threshold = beta, threshold

    def forward(self, b, x):
        xp = b.xp
        z = x * self.beta
        soft = (xp.log1p(xp.exp(-xp.abs(z))) + xp.maximum(z, 0)) / self.beta
        return xp.where(z > self.threshold, x, soft)

    def backward(self, gy):  # sigmoid(beta x), or 1 above the threshold
        z = self.saved(0) * self.beta
        return F.where(z > self.threshold, gy, gy * F.sigmoid(z))


class LogSigmoid(Op):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): finite for any x (no log of 0)."""

    __slots__ = ()

    def forward(self, b, x):
        xp = b.xp
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):  # d/dx log sigmoid(x) = sigmoid(-x)
        return gy * F.sigmoid(-self.saved(0))


class Hardtanh(Op):
    __slots__ = ("lo", "hi")

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, b, x):
        # in x's dtype: NumPy's clip of ml_dtypes' bfloat16 by Python floats gives float32
        return b.xp.clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    def backward(self, gy):  # 1 strictly inside (lo, hi), as in PyTorch
        x = self.saved(0)
        return F.where((x > self.lo) & (x < self.hi), gy, 0.0)


class Erf(Op):
    __slots__ = ()

    def forward(self, b, x):
        return b.erf(x)

    def backward(self, gy):  # 2/sqrt(pi) exp(-x^2)
        x = self.saved(0)
        return gy * (2.0 / math.sqrt(math.pi)) * (-(x * x)).exp()


class Softmax(Op):
    __slots__ = ("axis",)
    saves_output = True
    ieee = True  # rows holding inf or NaN give NaN, silently as in PyTorch

    def __init__(self, axis):
        self.axis = axis

    def forward(self, b, x):
        e = b.xp.exp(shift_by_max(b.xp, x, self.axis)[0])
        return e / asum(e, self.axis, True)

    def backward(self, gy):  # y * (gy - sum(gy * y))
        y = self.output()
        return y * (gy - (gy * y).sum(self.axis, keepdim=True))


class LogSoftmax(Op):
    __slots__ = ("axis",)
    ieee = True
    saves_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, b, x):
        xp = b.xp
        z = shift_by_max(xp, x, self.axis)[0]
        return z - xp.log(asum(xp.exp(z), self.axis, True))

    def backward(self, gy):  # gy - softmax * sum(gy)
        return gy - self.output().exp() * gy.sum(self.axis, keepdim=True)



def shift_by_max(xp, x, axis):
    """``(x - m, m)`` with m the max along ``axis`` (kept dims; taken as 0 where it is -inf),
    so exp cannot overflow and rows of -inf stay -inf instead of turning NaN; a row holding
    +inf or NaN comes out NaN where PyTorch's does."""
    m = x.max(axis=axis, keepdims=True) if x.size else xp.zeros((1,) * x.ndim, x.dtype)
    m = xp.where(m == -xp.inf, 0, m)
    return x - m, m
