"""Dataset, TensorDataset and DataLoader."""

import math

import numpy as np

from ..errors import ArgumentError, ShapeError
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
    """Batches of a dataset, optionally shuffled with its own seeded generator (the same
    seed gives the same order on every run) and moved to ``device``.

    A TensorDataset is sliced a batch at a time (no per-sample Python work)."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=0, device=None):
        if batch_size < 1:
            raise ArgumentError(f"[DataLoader] batch_size must be >= 1, got {batch_size}")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.device = device
        self.generator = np.random.default_rng(seed)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def state_dict(self):
        return {"generator": self.generator.bit_generator.state}

    def load_state_dict(self, state):
        self.generator.bit_generator.state = state["generator"]

    def __iter__(self):
        n = len(self.dataset)
        order = self.generator.permutation(n) if self.shuffle else np.arange(n)
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
