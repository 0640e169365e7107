"""Parameter: a leaf tensor that a Module registers and optimizers update."""

import copy

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that requires grad by default and is registered by ``Module.__setattr__``.

    ``Parameter(t)`` shares ``t``'s data; ``requires_grad=False`` makes a frozen one.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            from ..creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            data = Tensor(data)
        self.array, self._backend = data.array, data._backend
        self.grad = self.creator = self._base = self._hooks = None
        self._index, self._vc, self.requires_grad = 0, data._vc, False
        if requires_grad:
            self.requires_grad_(True)

    def __deepcopy__(self, memo):
        """As PyTorch's: a Parameter with a copy of the data and ``requires_grad``, without
        ``.grad`` (a deep-copied model starts with no gradients)."""
        with self._backend.scope():
            data = Tensor._wrap(copy.deepcopy(self.array, memo), self._backend)
        new = type(self)(data, self.requires_grad)
        memo[id(self)] = new
        return new

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
