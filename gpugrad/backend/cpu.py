"""The CPU backend: NumPy (the compiled extension joins here when it is built)."""

import math

import numpy as np

from . import native
from .base import Backend
from .device import Device

_default_seed = 0x6A09E667


class CpuBackend(Backend):
    __slots__ = ("_erf",)

    def __init__(self):
        super().__init__(Device("cpu"), np, np.ndarray, native.load())
        self._rng = np.random.Generator(np.random.PCG64(_default_seed))
        self._erf = None

    def from_host(self, array):
        return array

    def to_host(self, array):
        return array

    def index_add(self, target, key, values):
        np.add.at(target, key, values)

    def erf(self, x):
        # NumPy has no erf. SciPy's is exact and fast; without SciPy fall back to the
        # exact (slower) math.erf per element rather than a low-precision polynomial.
        if self._erf is None:
            try:
                from scipy.special import erf
            except ImportError:
                erf = np.vectorize(math.erf, otypes=[np.float64])
            self._erf = erf
        return np.asarray(self._erf(x), dtype=x.dtype)

    def seed(self, seed):
        self._rng = np.random.Generator(np.random.PCG64(seed))

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state

    def rand(self, shape, dtype):
        if dtype == np.float16:
            return self._rng.random(shape, dtype=np.float32).astype(dtype)
        return self._rng.random(shape, dtype=dtype)

    def randn(self, shape, dtype):
        if dtype == np.float16:
            return self._rng.standard_normal(shape, dtype=np.float32).astype(dtype)
        return self._rng.standard_normal(shape, dtype=dtype)

    def randint(self, low, high, shape, dtype):
        return self._rng.integers(low, high, size=shape, dtype=dtype)
