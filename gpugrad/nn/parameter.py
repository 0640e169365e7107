"""Parameter: a leaf tensor that a Module registers and optimizers update."""

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

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
