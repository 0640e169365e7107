"""Moving tensors between devices, differentiably."""

from ..autograd.grad_mode import state
from ..ops.base import Op
from ..tensor import Tensor


class ToDevice(Op):
    __slots__ = ("target",)

    def __init__(self, target):
        self.target = target

    def forward(self, b, x):
        return self.target.from_host(b.to_host(x))

    def backward(self, gy):
        return to_device(gy, self.inputs[0]._backend)

    def __call__(self, x):
        y = self.forward(x._backend, x.array)
        if x.requires_grad and state.grad_enabled:
            self.inputs, self._versions, self.hooks = (x,), [x._vc[0]], None
            return Tensor._wrap(y, self.target, self, 0, True)
        return Tensor._wrap(y, self.target)


def to_device(x, backend):
    """``x`` copied to ``backend``'s device; gradients flow back to x's device."""
    return ToDevice(backend)(x)
