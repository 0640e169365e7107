"""Samplers (PyTorch's ``torch.utils.data`` samplers): iterables of dataset indices that a
DataLoader turns into batches. Random ones draw from their ``generator`` (a CPU
``gpugrad.Generator``) or, without one, from the default generator, so ``gpugrad.manual_seed``
makes them reproducible."""

import numbers

import numpy as np

from ..errors import ArgumentError, ArgumentTypeError, DeviceError
from ..random import Generator
from ..tensor import Tensor


def _check_generator(generator, op):
    if generator is None:
        return None
    if not isinstance(generator, Generator):
        raise ArgumentTypeError(f"[{op}] expected generator to be a gpugrad.Generator, got {type(generator).__name__}")
    if generator.device != "cpu":
        raise DeviceError(f"[{op}] expected a cpu generator (it orders the samples), got one on {generator.device}")
    return generator


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _positive_int(value, name, op):
    if not _is_int(value) or value <= 0:
        raise ArgumentError(f"[{op}] expected {name} to be a positive integer, got {value!r}")
    return int(value)


def _bool(value, name, op):
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"[{op}] expected {name} to be a bool, got {value!r}")
    return value


def _randperm(n, generator):
    from .. import randperm

    return randperm(n, generator=generator, device="cpu").numpy()


class Sampler:
    """Base class: ``__iter__`` yields indices (or, for a batch sampler, lists of them);
    ``__len__`` is optional."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices in random order: a permutation (``randperm``) per pass over the data without
    replacement, ``num_samples`` independent uniform draws with it. ``num_samples``
    (default ``len(data_source)``) may exceed the length without replacement: whole
    permutations, then the first part of one more."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = _bool(replacement, "replacement", "RandomSampler")
        self._num_samples = None if num_samples is None else _positive_int(num_samples, "num_samples", "RandomSampler")
        self.generator = _check_generator(generator, "RandomSampler")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        from .. import randint

        n, k = len(self.data_source), self.num_samples
        if self.replacement:
            if n == 0:
                raise ArgumentError("[RandomSampler] expected a non-empty data source to draw from, got 0 samples")
            yield from randint(0, n, (k,), generator=self.generator, device="cpu").tolist()
            return
        for _ in range(k // n if n else 0):
            yield from _randperm(n, self.generator).tolist()
        if n and k % n:
            yield from _randperm(n, self.generator)[: k % n].tolist()

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a new permutation each pass)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = _check_generator(generator, "SubsetRandomSampler")

    def __iter__(self):
        for i in _randperm(len(self.indices), self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in [0, len(weights)), index i with probability proportional
    to ``weights[i]`` (PyTorch's ``multinomial``): independent draws with replacement (the
    inverse of the weights' running sum at uniform draws), without it weighted sampling
    without repeats (the largest ``u ** (1 / w)`` keys, Efraimidis and Spirakis)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        op = "WeightedRandomSampler"
        self.num_samples = _positive_int(num_samples, "num_samples", op)
        self.replacement = _bool(replacement, "replacement", op)
        self.generator = _check_generator(generator, op)
        w = weights.tolist() if isinstance(weights, Tensor) else weights  # from any device
        try:
            w = np.asarray(w, dtype=np.float64)
        except (TypeError, ValueError):
            raise ArgumentTypeError(f"[{op}] expected weights to be a sequence of numbers, got {weights!r}") from None
        if w.ndim != 1:
            raise ArgumentError(f"[{op}] expected weights to be a 1-d sequence, got shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ArgumentError(f"[{op}] expected finite, non-negative weights, got {w.tolist()}")
        positive = int(np.count_nonzero(w))
        if positive == 0:
            raise ArgumentError(f"[{op}] expected weights with a positive sum, got {w.tolist()}")
        if not replacement and self.num_samples > positive:
            raise ArgumentError(f"[{op}] expected num_samples <= the number of positive weights ({positive}) "
                                f"when sampling without replacement, got {self.num_samples}")
        self.weights = w

    def __iter__(self):
        from .. import float64, rand

        w, k = self.weights, self.num_samples
        if self.replacement:
            u = rand(k, dtype=float64, generator=self.generator, device="cpu").numpy()
            total = np.cumsum(w)
            idx = np.searchsorted(total, u * total[-1], side="right")
            # rounding can put u * total at the very end: the last index with weight
            idx = np.minimum(idx, np.flatnonzero(w)[-1])
        else:
            u = rand(len(w), dtype=float64, generator=self.generator, device="cpu").numpy()
            with np.errstate(divide="ignore"):
                keys = np.where(w > 0, np.log(u) / np.where(w > 0, w, 1), -np.inf)
            idx = np.argsort(-keys, kind="stable")[:k]
        yield from idx.tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler``; the last one shorter unless
    ``drop_last``."""

    def __init__(self, sampler, batch_size, drop_last):
        self.batch_size = _positive_int(batch_size, "batch_size", "BatchSampler")
        self.drop_last = _bool(drop_last, "drop_last", "BatchSampler")
        self.sampler = sampler

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size


class DistributedSampler(Sampler):
    """Rank ``rank``'s share of the indices when ``num_replicas`` processes each load part
    of the data (PyTorch's ``DistributedSampler``): every rank orders the indices alike (a
    permutation from ``seed + epoch`` when ``shuffle``; call ``set_epoch(e)`` before each
    epoch for a new one), pads them with their own first ones to a multiple of
    ``num_replicas`` (or, with ``drop_last``, drops the tail), and takes every
    ``num_replicas``-th from position ``rank``. So the ranks' shares are disjoint (but for
    the padding) and equally long. The permutation comes from a ``gpugrad.Generator``: the
    same seed orders the samples otherwise than PyTorch's. ``num_replicas`` and ``rank``
    default to the process group's (``gpugrad.distributed``)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        op = "DistributedSampler"
        if num_replicas is None or rank is None:
            from .. import distributed

            if not distributed.is_initialized():
                raise ArgumentError(f"[{op}] expected num_replicas and rank (the number of processes and this one's "
                                    f"index), or a process group to take them from (gpugrad.distributed."
                                    f"init_process_group), got num_replicas={num_replicas!r}, rank={rank!r}")
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        self.num_replicas = _positive_int(num_replicas, "num_replicas", op)
        if not _is_int(rank) or not 0 <= rank < self.num_replicas:
            raise ArgumentError(f"[{op}] expected rank to be an integer in [0, {self.num_replicas - 1}], got {rank!r}")
        if not _is_int(seed):
            raise ArgumentTypeError(f"[{op}] expected seed to be an integer, got {seed!r}")
        self.dataset, self.rank, self.seed = dataset, int(rank), int(seed)
        self.shuffle, self.drop_last = _bool(shuffle, "shuffle", op), _bool(drop_last, "drop_last", op)
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % self.num_replicas:
            self.num_samples = -(-(n - self.num_replicas) // self.num_replicas)
        else:
            self.num_samples = -(-n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        if not _is_int(epoch):
            raise ArgumentTypeError(f"[DistributedSampler.set_epoch] expected an integer, got {epoch!r}")
        self.epoch = int(epoch)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = _randperm(n, Generator("cpu").manual_seed(self.seed + self.epoch)).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        elif indices:
            pad = self.total_size - n
            indices += (indices * -(-pad // n))[:pad]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples


__all__ = ["BatchSampler", "DistributedSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler"]
