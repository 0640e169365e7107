"""The compiled CPU kernels (gpugrad._C), behind checks.

Every call arrives here with NumPy arrays; this module checks dtype, shape and
contiguity (the C++ side trusts them) and allocates the outputs, so no bad input can
reach native code. ``load()`` returns None when the extension is not built or when
``GPUGRAD_NATIVE=0``; callers then use their NumPy path.
"""

import os

import numpy as np

from ..errors import DTypeError, GpugradIndexError, ShapeError
from .base import mask_and_gemms
from .cuda_kernels import check_optimizer_arrays

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def load():
    """The kernel wrapper, or None (not built, or switched off by GPUGRAD_NATIVE=0)."""
    if os.environ.get("GPUGRAD_NATIVE", "1").strip() == "0":
        return None
    # libgomp's workers spin for ~300k iterations after a parallel region, stealing the
    # cores the BLAS needs for the next matrix product of a training step; sleeping at
    # once instead (OMP_WAIT_POLICY=PASSIVE) makes every small region pay a wake-up. A
    # short spin keeps back-to-back regions cheap and frees the cores quickly (measured
    # on the MLP step and small cross-entropy benchmarks). Read by libgomp when the
    # extension loads it; the user's own OMP_WAIT_POLICY / GOMP_SPINCOUNT win.
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", "20000")
    try:
        from .. import _C
    except ImportError:
        return None
    threads = os.environ.get("GPUGRAD_NUM_THREADS")
    if threads and threads.isdigit() and int(threads) > 0:
        _C.set_num_threads(int(threads))
    return NativeKernels(_C)


def build_status():
    """'active', 'disabled by GPUGRAD_NATIVE=0' or 'not built'."""
    try:
        from .. import _C  # noqa: F401
    except ImportError:
        return "not built"
    if os.environ.get("GPUGRAD_NATIVE", "1").strip() == "0":
        return "built, disabled by GPUGRAD_NATIVE=0"
    return "active"


def _c(a, dtype, op, name):
    if a.dtype != dtype:
        raise DTypeError(f"[{op}] {name} must be {dtype}, got {a.dtype}")
    return np.ascontiguousarray(a)


class NativeKernels:
    """Checked entry points to gpugrad._C (NumPy arrays in, NumPy arrays out)."""

    # cross-entropy's reduction is done by the op (a training step's forward sweeps the
    # gradient too: cross_entropy_fwd_bwd); the CUDA kernels reduce on the device instead
    device_reduction = False

    def __init__(self, module):
        self._C = module

    @property
    def simd(self):
        return self._C.simd_level()

    @property
    def threads(self):
        return self._C.max_threads()

    def supports(self, dtype):
        return dtype in _FLOATS

    # -- fused log-softmax + NLL ----------------------------------------------------------
    def cross_entropy_fwd(self, x, t, w, ignore_index, eps):
        """Per-row loss, log-sum-exp and counted weight for logits x (n, c), targets t (n,)."""
        if x.ndim != 2 or t.shape != (x.shape[0],):
            raise ShapeError(f"[cross_entropy] expected logits (n, c) and targets (n,), got {x.shape} and {t.shape}")
        x = _c(x, x.dtype, "cross_entropy", "logits")
        t = np.ascontiguousarray(t, dtype=np.int64)
        if w is not None:
            if w.shape != (x.shape[1],):
                raise ShapeError(f"[cross_entropy] weight must have shape ({x.shape[1]},), got {w.shape}")
            w = _c(w, x.dtype, "cross_entropy", "weight")
        n = x.shape[0]
        loss, lse, wt = (np.empty(n, x.dtype) for _ in range(3))
        bad = self._C.cross_entropy_fwd(x, t, w, int(ignore_index), float(eps), loss, lse, wt)
        if bad >= 0:
            raise GpugradIndexError(
                f"[cross_entropy] target {int(t[bad])} of row {bad} is outside [0, {x.shape[1] - 1}] "
                f"(and is not ignore_index={ignore_index})"
            )
        return loss, lse, wt

    def cross_entropy_fwd_bwd(self, x, t, w, ignore_index, eps, g, mean):
        """The forward outputs and, in the same sweep, the gradient for upstream ``g`` on
        every row (``g`` / the counted weight when ``mean``): (loss, lse, wt, gx)."""
        self.cross_entropy_fwd(x[:0], t[:0], w, ignore_index, eps)  # the shape and dtype checks
        x = np.ascontiguousarray(x)
        t = np.ascontiguousarray(t, dtype=np.int64)
        w = None if w is None else np.ascontiguousarray(w, x.dtype)
        n = x.shape[0]
        loss, lse, wt = (np.empty(n, x.dtype) for _ in range(3))
        gx = np.empty_like(x)
        bad = self._C.cross_entropy_fwd_bwd(x, t, w, int(ignore_index), float(eps), float(g), bool(mean), loss, lse, wt, gx)
        if bad >= 0:
            raise GpugradIndexError(
                f"[cross_entropy] target {int(t[bad])} of row {bad} is outside [0, {x.shape[1] - 1}] "
                f"(and is not ignore_index={ignore_index})"
            )
        return loss, lse, wt, gx

    def cross_entropy_bwd(self, x, t, w, lse, g, ignore_index, eps):
        x = np.ascontiguousarray(x)
        out = np.empty_like(x)
        self._C.cross_entropy_bwd(x, np.ascontiguousarray(t, dtype=np.int64),
                                  None if w is None else np.ascontiguousarray(w, x.dtype),
                                  np.ascontiguousarray(lse, x.dtype), np.ascontiguousarray(g, x.dtype),
                                  int(ignore_index), float(eps), out)
        return out

    # -- bias + ReLU around the GEMMs of a linear layer ---------------------------------------
    def bias_relu_(self, y, b):
        """y = max(y + b, 0) in place; y must be a C-contiguous (n, m) array of its own."""
        if not y.flags.c_contiguous or y.ndim != 2:
            raise ShapeError(f"[linear_relu] expected a contiguous (n, m) array, got {y.shape}")
        if b is not None:
            b = _c(b, y.dtype, "linear_relu", "bias")
            if b.shape != (y.shape[1],):
                raise ShapeError(f"[linear_relu] bias shape {b.shape} does not match {y.shape}")
        self._C.bias_relu_fwd(y, b)
        return y

    def relu_bias_bwd(self, gy, y, with_bias):
        """(gz, gb): the ReLU-masked gradient and its column sums (None without bias)."""
        gy = _c(gy, y.dtype, "linear_relu", "gradient")
        y = np.ascontiguousarray(y)
        if gy.shape != y.shape or y.ndim != 2:
            raise ShapeError(f"[linear_relu] gradient {gy.shape} and output {y.shape} must match (n, m)")
        gz = np.empty_like(y)
        gb = np.empty(y.shape[1], y.dtype) if with_bias else None
        self._C.relu_bias_bwd(gy, y, gz, gb)
        return gz, gb

    def linear_backward(self, gy, y, x, w, with_bias, need_x, need_w):
        """``(gx, gw, gb)`` of y = relu(x w^T + b): the fused mask pass around NumPy's BLAS."""
        return mask_and_gemms(self, gy, y, x, w, with_bias, need_x, need_w)

    # -- optimizer steps over all parameters at once -------------------------------------------
    def state_dtype(self, dtype):
        """The dtype of optimizer state for parameters of ``dtype`` (the kernels take float32
        and float64 parameters, whose state has their own dtype)."""
        return np.dtype(dtype)

    # _C picks float or double from the first parameter and reads every array through it
    def _check_optim(self, kernel, ps, gs, states):
        if not ps:
            return
        if ps[0].dtype not in _FLOATS:
            raise DTypeError(f"[{kernel}] the CPU kernel takes float32/float64 parameters, got {ps[0].dtype}")
        check_optimizer_arrays(kernel, ps, gs, states, self.state_dtype(ps[0].dtype))

    def sgd_step(self, ps, gs, bufs, lr, momentum, dampening, weight_decay, nesterov, first):
        self._check_optim("sgd_step", ps, gs, [("momentum buffer", bufs)])
        self._C.sgd_step(ps, gs, bufs, lr, momentum, dampening, weight_decay, nesterov, first)

    def adam_step(self, ps, gs, ms, vs, lr, b1, b2, eps, weight_decay, decoupled, bc1, bc2):
        self._check_optim("adam_step", ps, gs, [("first moment", ms), ("second moment", vs)])
        self._C.adam_step(ps, gs, ms, vs, lr, b1, b2, eps, weight_decay, decoupled, bc1, bc2)
