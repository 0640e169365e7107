"""``DataLoader(pin_memory=True)``: batches in page-locked host memory, so that a copy to the
GPU can run asynchronously (CUDA copies pageable memory through a staging buffer, with the
host waiting). The memory comes from CuPy's pinned-memory allocator
(``cupy.cuda.alloc_pinned_memory``, through its pool); a copy to the device is started on
the current stream and the host buffer is kept until an event after it has passed.

Without CUDA there is nothing to pin for: PyTorch warns and carries on; so does this."""

import collections
import collections.abc

import numpy as np

from ..tensor import Tensor


def _cuda_backend(device):
    from ..backend import get_backend

    return get_backend(device if device is not None and str(device).startswith("cuda") else "cuda")


def is_pinned(t):
    """Whether a CPU tensor's memory is page-locked (came from CuPy's pinned allocator)."""
    from .. import cuda

    if not isinstance(t, Tensor) or t.device != "cpu" or not cuda.is_available():
        return False
    kind = _cuda_backend(None).xp.cuda.PinnedMemoryPointer
    base = t.array
    while base is not None:
        if isinstance(base, kind):
            return True
        base = getattr(base, "base", None)
    return False


def _pinned_copy(array, xp):
    mem = xp.cuda.alloc_pinned_memory(max(array.nbytes, 1))
    out = np.ndarray(array.shape, array.dtype, mem)
    out[...] = array
    return out


def pin(batch, device=None):
    """``batch`` with every CPU tensor copied into page-locked memory (structure kept)."""
    from .. import from_numpy

    xp = _cuda_backend(device).xp
    if isinstance(batch, Tensor):
        if batch.device != "cpu" or is_pinned(batch):
            return batch
        return from_numpy(_pinned_copy(batch.array, xp))
    return _map(batch, lambda b: pin(b, device))


def _map(batch, fn):
    if isinstance(batch, collections.abc.Mapping):
        return type(batch)({k: fn(v) for k, v in batch.items()})
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(fn(b) for b in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(fn(b) for b in batch)
    return batch


class AsyncCopier:
    """Copies pinned CPU tensors to a CUDA device on the current stream without waiting;
    holds each host buffer until the event recorded after its copy has passed."""

    def __init__(self, device):
        self.backend = _cuda_backend(device)
        self._pending = collections.deque()

    def __call__(self, batch):
        while self._pending and self._pending[0][0].done:
            self._pending.popleft()
        if isinstance(batch, Tensor):
            if batch.device != "cpu" or not is_pinned(batch):
                return batch.to(self.backend.device)
            xp, host = self.backend.xp, batch.array
            with self.backend.scope():
                dev = xp.empty(host.shape, host.dtype)
                dev.set(host, stream=xp.cuda.get_current_stream())
                event = xp.cuda.Event(disable_timing=True)
                event.record()
            self._pending.append((event, host))
            return Tensor._wrap(dev, self.backend)
        return _map(batch, self)
