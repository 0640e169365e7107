"""Row-sparse gradients for ``Embedding(sparse=True)``."""

from ..autograd import is_grad_enabled
from ..autograd.engine import accumulated_out_of_band
from ..errors import AutogradError
from ..ops.base import Op


class SparseGrad:
    """The gradient of a table where only some rows got one: ``indices`` (k,) int64 and
    ``values`` (k, dim). Rows may repeat; ``coalesce()`` sums repeats."""

    __slots__ = ("indices", "values", "shape")

    def __init__(self, indices, values, shape):
        self.indices, self.values, self.shape = indices, values, tuple(shape)

    def coalesce(self):
        b = self.values._backend
        with b.scope():
            rows, inverse = b.xp.unique(self.indices.array, return_inverse=True)
            summed = b.xp.zeros((rows.shape[0],) + self.shape[1:], dtype=self.values.dtype)
            b.index_add(summed, inverse.reshape(-1), self.values.array)
        return SparseGrad(self.indices._like(rows), self.values._like(summed), self.shape)

    def to_dense(self):
        b = self.values._backend
        with b.scope():
            out = b.xp.zeros(self.shape, dtype=self.values.dtype)
            b.index_add(out, self.indices.array, self.values.array)
        return self.values._like(out)

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def device(self):
        return self.values.device

    def __add__(self, other):
        if not isinstance(other, SparseGrad):
            return NotImplemented
        from ..functional import cat

        return SparseGrad(cat([self.indices, other.indices]), cat([self.values, other.values]), self.shape)

    def __repr__(self):
        return f"SparseGrad(rows={self.indices.shape[0]}, shape={self.shape})"


class SparseEmbedding(Op):
    """Row lookup whose backward hands the weight a SparseGrad (and the engine nothing)."""

    __slots__ = ("idx",)

    def __init__(self, idx):
        self.idx = idx

    def forward(self, b, w):
        return w[self.idx.array]

    def backward(self, gy):
        if is_grad_enabled():
            raise AutogradError("[Embedding(sparse=True)] cannot be differentiated twice; use sparse=False")
        w = self.inputs[0]
        dim = w.shape[1]
        g = SparseGrad(self.idx.reshape(-1).detach(), gy.reshape(-1, dim).detach(), w.shape)
        w.grad = g if w.grad is None else w.grad + g
        accumulated_out_of_band(w)
        return (None,)


def is_sparse_grad(g):
    return isinstance(g, SparseGrad)


__all__ = ["SparseEmbedding", "SparseGrad", "is_sparse_grad"]
