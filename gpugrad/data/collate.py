"""PyTorch's ``default_collate`` and ``default_convert``: how a list of samples becomes a batch."""

import collections.abc
import numbers

import numpy as np

from ..errors import ArgumentError, ArgumentTypeError
from ..tensor import Tensor


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def default_collate(batch):
    """A list of samples as one batch, as PyTorch's: tensors and NumPy arrays stacked into
    one tensor (a new leading dimension), Python floats to a float64 tensor, ints to
    int64, bools to bool, NumPy scalars to a tensor of their dtype, strings and bytes left
    as a list, and mappings, named tuples, tuples and lists collated field by field (a
    tuple becomes a list, as in PyTorch)."""
    from .. import float64, from_numpy, stack, tensor

    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch))
    if isinstance(elem, np.ndarray) or (isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_))):
        if isinstance(elem, np.ndarray) and elem.dtype.kind in "OUSV":
            raise ArgumentTypeError(f"[default_collate] expected batches of tensors, NumPy arrays, numbers, dicts or "
                                    f"lists, got a NumPy array of {elem.dtype}")
        return from_numpy(np.stack([np.asarray(b) for b in batch]))
    if isinstance(elem, float):
        return tensor(list(batch), dtype=float64)
    if isinstance(elem, numbers.Integral):  # bool included: a bool tensor, as PyTorch's
        return tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        try:
            return type(elem)({key: default_collate([d[key] for d in batch]) for key in elem})
        except TypeError:  # a mapping type that cannot be built from a dict
            return {key: default_collate([d[key] for d in batch]) for key in elem}
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        sizes = {len(b) for b in batch}
        if len(sizes) != 1:
            raise ArgumentError(f"[default_collate] expected every sample of the batch to have the same length, "
                                f"got lengths {sorted(sizes)}")
        columns = [default_collate(list(samples)) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        try:
            return type(elem)(columns)
        except TypeError:
            return columns
    raise ArgumentTypeError(f"[default_collate] expected batches of tensors, NumPy arrays, numbers, dicts or lists, "
                            f"got {type(elem).__name__}")


def default_convert(data):
    """One sample as it is, but NumPy arrays (and their elements in mappings and sequences)
    as tensors: what a DataLoader with ``batch_size=None`` gives."""
    from .. import from_numpy

    if isinstance(data, np.ndarray) and data.dtype.kind not in "OUSV":
        return from_numpy(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return from_numpy(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        try:
            return type(data)({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


__all__ = ["default_collate", "default_convert"]
