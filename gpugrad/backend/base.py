"""What every backend provides to the ops: an array module and a few helpers."""

import contextlib

import numpy as np

from ..dtypes import is_half
from ..errors import GpugradIndexError
from .checks import run_now

_NO_SCOPE = contextlib.nullcontext()


def accumulate(a, method, **kwargs):
    """``a.<method>(**kwargs)`` (sum, mean, prod) in a's dtype, 2-byte floats accumulated in
    float32 and rounded once (NumPy adds float16/bfloat16 in their own precision: 1000 ones
    sum to 256 in bfloat16), as PyTorch reduces them."""
    if is_half(a.dtype):
        return getattr(a, method)(dtype=np.float32, **kwargs).astype(a.dtype)
    return getattr(a, method)(**kwargs)


def asum(a, axis=None, keepdims=False):
    """``a.sum`` in a's dtype (see ``accumulate``)."""
    return accumulate(a, "sum", axis=axis, keepdims=keepdims)


def matmul(a, b, wide=False):
    """``a @ b`` in a's dtype. On the CPU the 2-byte floats (float16, bfloat16) multiply as
    float32 and round once at the end: NumPy has no BLAS for them (ml_dtypes' bfloat16
    product even comes back as float32), and this is what a half-precision GEMM with
    float32 accumulation gives, as PyTorch's CPU kernels and cuBLAS compute it. ``wide``
    leaves that float32 product unrounded (for an epilogue that rounds once after it)."""
    if isinstance(a, np.ndarray) and is_half(a.dtype):
        y = np.matmul(a.astype(np.float32), b.astype(np.float32))
        return y if wide else y.astype(a.dtype)
    y = a @ b
    return y if y.dtype == a.dtype else y.astype(a.dtype)


def mask_and_gemms(kernels, gy, y, x, w, with_bias, need_x, need_w):
    """``(gx, gw, gb)`` of y = relu(x w^T + b) (no ReLU when ``y`` is None) as the kernels'
    one pass for the ReLU mask and the bias sum, then the two products in the array
    library's GEMM (BLAS or cuBLAS); None where not needed."""
    if y is not None:
        gz, gb = kernels.relu_bias_bwd(gy, y, with_bias)
    else:
        gz, gb = gy, (asum(gy, 0) if with_bias else None)
    return (matmul(gz, w) if need_x else None), (matmul(gz.T, x) if need_w else None), gb


class Backend:
    """One device's array module (``xp``) plus the helpers ops need beyond ``xp``.

    Ops reach a backend through ``tensor._backend`` (set once per tensor), never by
    looking it up per call.
    """

    __slots__ = ("device", "xp", "ndarray", "_rng", "kernels")

    def __init__(self, device, xp, ndarray, kernels=None):
        self.device = device
        self.xp = xp
        self.ndarray = ndarray
        self._rng = None
        # the device's compiled kernels (fused cross-entropy, bias+ReLU, optimizer steps),
        # or None: fused ops then run their composed array path
        self.kernels = kernels

    def __repr__(self):
        return f"<gpugrad backend {self.device}>"

    # -- arrays -------------------------------------------------------------------
    def asarray(self, data, dtype=None):
        """An array of this backend from array-like ``data`` (copies only when needed)."""
        return self.xp.asarray(data, dtype=dtype)

    def from_host(self, array):
        """A NumPy array copied onto this device."""
        raise NotImplementedError

    def to_host(self, array):
        """This device's array as a NumPy array."""
        raise NotImplementedError

    def index_add(self, target, key, values):
        """``target[key] += values`` with repeated indices accumulating (scatter-add)."""
        raise NotImplementedError

    def erf(self, x):
        raise NotImplementedError

    def synchronize(self):
        """Wait for queued work on this device (a no-op on the CPU)."""

    # Work on arrays of a CUDA device runs on the current device, so where there is more
    # than one, every op, launch, allocation and random draw on a tensor of cuda:N must make
    # cuda:N current first (as PyTorch's device guard does). ``multi`` says whether that is
    # needed (never on the CPU or with one GPU, where ``scope`` costs nothing).
    multi = False

    def scope(self):
        """A context in which this backend's device is the current one."""
        return _NO_SCOPE

    def check(self, make, message, error=GpugradIndexError):
        """Raise ``error(message)`` (an index error by default) when a condition on this
        device's arrays holds: ``make()`` gives (bad, position, value) as 0-d arrays, and
        ``message`` is formatted with ``position`` and ``value``. The CPU checks at once; a
        GPU backend may defer it to its next read of a result (see checks.py)."""
        run_now(make, message, error)

    def quiet(self):
        """A context in which IEEE results (inf, NaN) raise no warnings; CuPy gives none."""
        return contextlib.nullcontext()

    # -- random numbers -----------------------------------------------------------
    def seed(self, seed):
        raise NotImplementedError

    def rand(self, shape, dtype):
        raise NotImplementedError

    def randn(self, shape, dtype):
        raise NotImplementedError

    def randint(self, low, high, shape, dtype):
        raise NotImplementedError
