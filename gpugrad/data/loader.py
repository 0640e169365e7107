"""Dataset, TensorDataset and DataLoader."""

import math

import numpy as np

from ..errors import ArgumentError, ArgumentTypeError, DeviceError, ShapeError
from ..random import Generator
from ..tensor import Tensor


class Dataset:
    """Anything with ``__len__`` and ``__getitem__(i)`` returning a sample (a tuple)."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, i):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are the i-th rows of equally long tensors (or arrays)."""

    def __init__(self, *tensors):
        if not tensors:
            raise ArgumentError("[TensorDataset] needs at least one tensor")
        n = tensors[0].shape[0]
        for t in tensors:
            if t.shape[0] != n:
                raise ShapeError(f"[TensorDataset] tensors differ in length: {[t.shape[0] for t in tensors]}")
        self.tensors = tensors

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, i):
        return tuple(t[i] for t in self.tensors)


def _stack(items):
    from .. import stack, tensor

    first = items[0]
    if isinstance(first, Tensor):
        return stack(items)
    if isinstance(first, (tuple, list)):
        return tuple(_stack([it[k] for it in items]) for k in range(len(first)))
    return tensor(np.stack([np.asarray(it) for it in items]))


class DataLoader:
    """Batches of a dataset, optionally shuffled, and moved to ``device``.

    The shuffle order of each epoch is ``gpugrad.randperm(n, generator=generator)``, as
    PyTorch's ``DataLoader(shuffle=True, generator=g)``: ``generator`` is a CPU
    ``gpugrad.Generator`` (two loaders with equally seeded generators give the same order);
    without one it is the default generator, so ``gpugrad.manual_seed`` makes the order
    reproducible. ``seed`` (gpugrad's own) gives the loader a stream of its own instead, so
    the same seed gives the same order whatever else draws. ``state_dict`` holds the state of
    the loader's own stream or generator (nothing when it draws from the default generator,
    whose state is ``gpugrad.get_rng_state()``).

    A TensorDataset is sliced a batch at a time (no per-sample Python work)."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, device=None, *,
                 generator=None):
        if batch_size < 1:
            raise ArgumentError(f"[DataLoader] batch_size must be >= 1, got {batch_size}")
        if generator is not None:
            if not isinstance(generator, Generator):
                raise ArgumentTypeError(f"[DataLoader] expected generator to be a gpugrad.Generator, "
                                        f"got {type(generator).__name__}")
            if generator.device != "cpu":
                raise DeviceError(f"[DataLoader] expected a cpu generator (it orders the samples), "
                                  f"got one on {generator.device}")
            if seed is not None:
                raise ArgumentError(f"[DataLoader] expected seed or generator, got both: {seed} and {generator}")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.device = device
        self.generator = generator if seed is None else Generator("cpu").manual_seed(seed)
        self._own = generator is None and seed is None  # drawing from the default generator

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def state_dict(self):
        return {} if self._own else {"generator": self.generator.get_state()}

    def load_state_dict(self, state):
        if not isinstance(state, dict) or (self._own and state) or (not self._own and "generator" not in state):
            want = "{} (it draws from the default generator)" if self._own else "{'generator': ...}"
            raise ArgumentTypeError(f"[DataLoader.load_state_dict] expected {want}, got {state!r}")
        if not self._own:
            self.generator.set_state(state["generator"])

    def _order(self, n):
        if not self.shuffle:
            return np.arange(n)
        from .. import randperm

        return randperm(n, generator=self.generator, device="cpu").numpy()

    def __iter__(self):
        n = len(self.dataset)
        order = self._order(n)
        stop = (n // self.batch_size) * self.batch_size if self.drop_last else n
        fast = isinstance(self.dataset, TensorDataset)
        for start in range(0, stop, self.batch_size):
            idx = order[start : start + self.batch_size]
            if fast:
                batch = tuple(_take(t, idx) for t in self.dataset.tensors)
            else:
                batch = _stack([self.dataset[int(i)] for i in idx])
            yield self._to_device(batch)

    def _to_device(self, batch):
        if self.device is None:
            return batch
        if isinstance(batch, tuple):
            return tuple(self._to_device(b) for b in batch)
        return batch.to(self.device) if isinstance(batch, Tensor) else batch


def _take(t, idx):
    from .. import tensor

    if isinstance(t, Tensor):
        return t[tensor(idx, device=t.device)]
    return tensor(np.asarray(t)[idx])
