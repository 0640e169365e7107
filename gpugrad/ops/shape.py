"""Shape ops: reshape, permute, broadcast/sum-to, cat/stack/split, pad."""

from .. import functional as F
from ..backend.base import asum
from .base import Op


def sum_to(g, shape):
    """Sum ``g`` down to ``shape`` (the adjoint of broadcasting); a no-op when equal."""
    if g.shape == shape:
        return g
    return SumTo(shape)(g)


class SumTo(Op):
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, b, x):
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(self.shape) if n == 1 and x.shape[lead + i] != 1
        )
        y = asum(x, axes, True) if axes else x
        return y.reshape(self.shape)

    def backward(self, gy):  # adjoint of sum-to is broadcast
        return BroadcastTo(self.inputs[0].shape)(gy)


class BroadcastTo(Op):
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, b, x):
        return b.xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.inputs[0].shape)


class Reshape(Op):
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape

    def forward(self, b, x):
        return x.reshape(self.shape)

    def backward(self, gy):
        return Reshape(self.inputs[0].shape)(gy)


class Permute(Op):
    __slots__ = ("axes",)

    def __init__(self, axes):
        self.axes = tuple(axes)

    def forward(self, b, x):
        return x.transpose(self.axes)

    def backward(self, gy):  # inverse permutation
        inv = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inv[a] = i
        return Permute(inv)(gy)


class Cat(Op):
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, b, *xs):
        return b.xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):  # each input gets its slice of gy
        out, start = [], 0
        lead = (slice(None),) * self.axis
        for x in self.inputs:
            n = x.shape[self.axis]
            out.append(gy[lead + (slice(start, start + n),)] if x.requires_grad else None)
            start += n
        return tuple(out)


class Stack(Op):
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, b, *xs):
        return b.xp.stack(xs, axis=self.axis)

    def backward(self, gy):
        lead = (slice(None),) * self.axis
        return tuple(gy[lead + (i,)] if x.requires_grad else None for i, x in enumerate(self.inputs))


class Split(Op):
    """Several outputs: the pieces of x along ``axis`` at the given sizes."""

    __slots__ = ("sizes", "axis", "n_out")

    def __init__(self, sizes, axis):
        self.sizes, self.axis, self.n_out = tuple(sizes), axis, len(sizes)

    def forward(self, b, x):
        bounds, acc = [], 0
        for n in self.sizes[:-1]:
            acc += n
            bounds.append(acc)
        return b.xp.split(x, bounds, axis=self.axis)

    def backward(self, *gys):  # concatenate the pieces' gradients (zeros for unused pieces)
        x = self.inputs[0]
        parts = []
        for n, g in zip(self.sizes, gys):
            if g is None:
                shape = list(x.shape)
                shape[self.axis] = n
                g = F.zeros(tuple(shape), dtype=x.dtype, device=x.device)
            parts.append(g)
        return Cat(self.axis)(*parts)


class Pad(Op):
    """Constant padding; ``width`` is NumPy's ((before, after), ...) per dim."""

    __slots__ = ("width", "value")

    def __init__(self, width, value):
        self.width, self.value = width, value

    def forward(self, b, x):
        return b.xp.pad(x, self.width, mode="constant", constant_values=self.value)

    def backward(self, gy):  # the interior of gy
        shape = self.inputs[0].shape
        return gy[tuple(slice(lo, lo + n) for (lo, _), n in zip(self.width, shape))]
