"""The CPU backend: NumPy (the compiled extension joins here when it is built)."""

import ctypes
import math
import os
import sys

import numpy as np

from . import native
from .base import Backend
from .device import Device

DEFAULT_SEED = 0x6A09E667  # every generator's seed until one is given, so a run is reproducible by default


class CpuStream:
    """A random stream on the CPU: NumPy's PCG64. NumPy holds the bit generator's lock during
    every draw; seeding and reading or setting the state take it too, so threads that share
    a stream (the default one) never see or leave a half-updated state."""

    __slots__ = ("gen",)

    def __init__(self, seed):
        self.gen = np.random.Generator(np.random.PCG64(seed))

    def seed(self, seed):
        # in place: gpugrad.default_generator holds this object
        self.set_state(np.random.PCG64(seed).state)

    def get_state(self):
        bitgen = self.gen.bit_generator
        with bitgen.lock:
            return bitgen.state

    def set_state(self, state):
        bitgen = self.gen.bit_generator
        with bitgen.lock:
            bitgen.state = state


default_stream = CpuStream(DEFAULT_SEED)  # the CPU's default generator (gpugrad.manual_seed seeds it)


def tune_malloc():
    """Keep large freed blocks in glibc's heap instead of returning them to the OS.

    A training step frees and re-allocates the same multi-megabyte arrays (activations,
    gradients) every iteration; by default glibc serves them with fresh mmap()s, so every
    step pays page faults and zero-filling, and the matrix products writing into them run
    markedly slower. Raising the mmap and trim thresholds (as MALLOC_MMAP_THRESHOLD_ and
    MALLOC_TRIM_THRESHOLD_ would) lets those blocks be reused. Process-wide; returns what
    was done. GPUGRAD_MALLOC_TUNE=0 leaves malloc alone.
    """
    if os.environ.get("GPUGRAD_MALLOC_TUNE", "1").strip() == "0":
        return "off (GPUGRAD_MALLOC_TUNE=0)"
    if not sys.platform.startswith("linux"):
        return "not applicable"
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 64 << 20) and libc.mallopt(m_trim_threshold, 256 << 20)
    except (OSError, AttributeError):
        return "not available (not glibc)"
    return "glibc mmap threshold 64 MiB, trim threshold 256 MiB" if ok else "mallopt refused"


class CpuBackend(Backend):
    __slots__ = ("_erf", "malloc")

    def __init__(self):
        super().__init__(Device("cpu"), np, np.ndarray, native.load())
        self.malloc = tune_malloc()
        self._rng = default_stream
        self._erf = None

    def from_host(self, array):
        return array

    def to_host(self, array):
        return array

    def quiet(self):
        return np.errstate(all="ignore")

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

    # -- random numbers: from ``stream`` (a gpugrad.Generator's) or the default one --------
    def new_stream(self, seed):
        return CpuStream(seed)

    def seed(self, seed):
        self._rng.seed(seed)

    def get_state(self):
        return self._rng.get_state()

    def set_state(self, state):
        self._rng.set_state(state)

    def rand(self, shape, dtype, stream=None):
        gen = (stream or self._rng).gen
        if dtype.itemsize == 2:  # float16, bfloat16: NumPy draws float32/64 only
            return gen.random(shape, dtype=np.float32).astype(dtype)
        return gen.random(shape, dtype=dtype)

    def randn(self, shape, dtype, stream=None):
        gen = (stream or self._rng).gen
        if dtype.itemsize == 2:
            return gen.standard_normal(shape, dtype=np.float32).astype(dtype)
        return gen.standard_normal(shape, dtype=dtype)

    def randint(self, low, high, shape, dtype, stream=None):
        return (stream or self._rng).gen.integers(low, high, size=shape, dtype=dtype)
