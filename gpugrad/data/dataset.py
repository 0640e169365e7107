"""Datasets (PyTorch's ``torch.utils.data``): map-style Dataset, TensorDataset, Subset,
ConcatDataset and random_split; IterableDataset and ChainDataset for streams."""

import bisect
import math
import numbers

from ..errors import ArgumentError, ArgumentTypeError, GpugradIndexError, ShapeError


class Dataset:
    """Anything with ``__len__`` and ``__getitem__(i)`` returning a sample; ``a + b`` is
    their ConcatDataset. (No ``__len__`` here, as in PyTorch: a dataset without one has no
    length, which ``len()`` and ``list()`` see as such.)"""

    def __getitem__(self, i):
        raise NotImplementedError

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: ``__iter__`` yields them, in its own order (PyTorch's
    ``IterableDataset``). A DataLoader reads it without a sampler and batches what comes.
    With ``num_workers > 0`` each worker iterates its own copy, and the loader takes a batch
    from each worker in turn, as PyTorch's does; so a dataset that should not repeat its
    samples in every worker splits them with ``get_worker_info()`` (``id``,
    ``num_workers``). ``a + b`` chains two (ChainDataset)."""

    def __iter__(self):
        raise NotImplementedError

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """IterableDatasets one after the other; its length is the sum of theirs."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise ArgumentTypeError(f"[ChainDataset] expected IterableDatasets, got a {type(d).__name__}")

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self):
        lacking = [type(d).__name__ for d in self.datasets if not callable(getattr(d, "__len__", None))]
        if lacking:
            raise ArgumentTypeError(f"[ChainDataset] has no length: {', '.join(lacking)} has no __len__")
        return sum(len(d) for d in self.datasets)


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


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (a sequence of ints), in that order."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, i):
        if isinstance(i, list):
            return self.dataset[[self.indices[j] for j in i]]
        return self.dataset[self.indices[i]]

    def __getitems__(self, indices):
        """A batch of samples at once, through the dataset's own ``__getitems__`` when it has one."""
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """The datasets one after the other: index ``len(a)`` is ``b[0]``."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ArgumentError("[ConcatDataset] expected a non-empty iterable of datasets, got an empty one")
        for d in self.datasets:
            if not hasattr(d, "__len__") or not hasattr(d, "__getitem__"):
                raise ArgumentTypeError(f"[ConcatDataset] expected map-style datasets (with __len__ and "
                                        f"__getitem__), got a {type(d).__name__}")
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if not isinstance(idx, numbers.Integral) or isinstance(idx, bool):
            raise ArgumentTypeError(f"[ConcatDataset] expected an integer index, got {type(idx).__name__}")
        if not -n <= idx < n:
            raise GpugradIndexError(f"[ConcatDataset] expected an index in [-{n}, {n}), got {idx}")
        idx = int(idx) % n
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


def random_split(dataset, lengths, generator=None):
    """``dataset`` split at random into non-overlapping Subsets of the given ``lengths``, or
    of fractions of its length when ``lengths`` sum to 1 (``floor(n * f)`` each, the
    remainder handed out one by one from the first split on, as PyTorch does). The order is
    ``randperm(n, generator=generator)`` (the default generator when None)."""
    from .. import randperm

    lengths = list(lengths)
    n = len(dataset)
    for x in lengths:
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise ArgumentTypeError(f"[random_split] expected lengths to be ints or fractions, got {lengths!r}")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:  # fractions (PyTorch's test: so [1] is 100%)
        if any(not 0 <= x <= 1 for x in lengths):
            raise ArgumentError(f"[random_split] expected fractions in [0, 1], got {lengths!r}")
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if any(not isinstance(x, numbers.Integral) or x < 0 for x in lengths):
        raise ArgumentError(f"[random_split] expected non-negative integer lengths or fractions summing to 1, "
                            f"got {lengths!r}")
    if sum(lengths) != n:
        raise ArgumentError(f"[random_split] expected lengths that sum to the dataset's length {n}, "
                            f"got {lengths!r} (sum {sum(lengths)})")
    order = randperm(n, generator=generator, device="cpu").tolist()
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, order[start : start + int(length)]))
        start += int(length)
    return out
