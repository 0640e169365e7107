"""matmul for 1-D, 2-D and batched (broadcast) operands, with NumPy's rules."""

from ..backend.base import matmul
from .base import Op
from .shape import sum_to


class Matmul(Op):
    __slots__ = ()

    def forward(self, b, x0, x1):
        return matmul(x0, x1)

    def backward(self, gy):  # dA = gy B^T, dB = A^T gy (then undo 1-D promotion and broadcast)
        a, b = self.inputs
        aa, bb = self.saved(0), self.saved(1)
        if a.ndim == 1 and b.ndim == 1:
            return (gy * bb if a.requires_grad else None), (gy * aa if b.requires_grad else None)
        a2 = aa.unsqueeze(0) if a.ndim == 1 else aa
        b2 = bb.unsqueeze(-1) if b.ndim == 1 else bb
        g2 = gy
        if a.ndim == 1:
            g2 = g2.unsqueeze(-2)
        if b.ndim == 1:
            g2 = g2.unsqueeze(-1)
        ga = gb = None
        if a.requires_grad:
            ga = sum_to(g2 @ b2.mT, a2.shape).reshape(a.shape)
        if b.requires_grad:
            gb = sum_to(a2.mT @ g2, b2.shape).reshape(b.shape)
        return ga, gb
