"""The compiled CPU kernels (gpugrad._C), behind checks.

Every call arrives here with NumPy arrays; this module checks each one (type, dtype,
shape; C-contiguous and aligned, copied where it is not; an array updated in place
writeable) and allocates the outputs, so no bad input can reach native code. The
bindings check the arrays again and raise TypeError/ValueError, a second line of defence
for a call that skips this module. ``load()`` returns None when the extension is not
built or when ``GPUGRAD_NATIVE=0``; callers then use their NumPy path.
"""

import os

import numpy as np

from ..errors import ArgumentError, ArgumentTypeError, DTypeError, GpugradIndexError, ShapeError
from .base import mask_and_gemms
from .cuda_kernels import check_optimizer_arrays, check_unscale_arrays

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
    threads = os.environ.get("GPUGRAD_NUM_THREADS", "").strip()
    if threads.isdigit() and int(threads) > 0:
        # at most one thread per CPU: libgomp crashed the process creating 100000 of them,
        # and more threads than cores never speed these kernels up
        _C.set_num_threads(min(int(threads), os.cpu_count() or 1))
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


_I64 = np.iinfo(np.int64)


def _ndarray(op, name, a):
    if not isinstance(a, np.ndarray):
        raise ArgumentTypeError(f"[{op}] expected {name} to be a numpy.ndarray, got {type(a).__name__}")


def _check(op, name, a, dtype, shape):
    """``a`` must be an ndarray of ``dtype`` and ``shape``."""
    _ndarray(op, name, a)
    if a.dtype != dtype:
        raise DTypeError(f"[{op}] expected {name} of dtype {dtype}, got {a.dtype}")
    if a.shape != shape:
        raise ShapeError(f"[{op}] expected {name} of shape {shape}, got {a.shape}")


def _array(op, name, a, dtype, shape):
    """``a`` checked as ``_check`` does, as the kernel reads it: C-contiguous and aligned
    (a copy where it is not)."""
    _check(op, name, a, dtype, shape)
    return np.require(a, requirements="CA")


def _matrix(op, name, a):
    """The (rows, columns) of ``a``, a 2-D float32/float64 ndarray (the kernels' types)."""
    _ndarray(op, name, a)
    if a.ndim != 2:
        raise ShapeError(f"[{op}] expected {name} with 2 dimensions, got shape {a.shape}")
    if a.dtype not in _FLOATS:
        raise DTypeError(f"[{op}] expected {name} of dtype float32 or float64 (the CPU kernel's), got {a.dtype}")
    return a.shape


def _int64(op, name, value):
    """``value`` as an int that the kernel's int64 argument takes (never a bool or a float)."""
    integer = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not integer or not _I64.min <= value <= _I64.max:
        raise ArgumentError(f"[{op}] expected {name} to be an integer within int64, got {value!r}")
    return int(value)


def _cross_entropy_inputs(x, t, w, ignore_index):
    """Logits (n, c), int64 targets (n,) and weight (c,) or None, as the kernels read them."""
    op = "cross_entropy"
    n, c = _matrix(op, "logits", x)
    if not isinstance(t, np.ndarray) or t.dtype.kind not in "iu":
        raise DTypeError(f"[{op}] expected integer targets, got {getattr(t, 'dtype', type(t).__name__)}")
    if t.shape != (n,):
        raise ShapeError(f"[{op}] expected logits (n, c) and targets (n,), got {x.shape} and {t.shape}")
    x = np.require(x, requirements="CA")
    t = np.require(t, np.int64, "CA")
    w = None if w is None else _array(op, "weight", w, x.dtype, (c,))
    return x, t, w, _int64(op, "ignore_index", ignore_index)


def _bad_target(bad, x, t, ignore_index):
    return GpugradIndexError(f"[cross_entropy] target {int(t[bad])} of row {bad} is outside [0, {x.shape[1] - 1}] "
                             f"(and is not ignore_index={ignore_index})")


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
        x, t, w, ignore_index = _cross_entropy_inputs(x, t, w, ignore_index)
        loss, lse, wt = (np.empty(x.shape[0], x.dtype) for _ in range(3))
        bad = self._C.cross_entropy_fwd(x, t, w, ignore_index, float(eps), loss, lse, wt)
        if bad >= 0:
            raise _bad_target(bad, x, t, ignore_index)
        return loss, lse, wt

    def cross_entropy_fwd_bwd(self, x, t, w, ignore_index, eps, g, mean):
        """The forward outputs and, in the same sweep, the gradient for upstream ``g`` on
        every row (``g`` / the counted weight when ``mean``): (loss, lse, wt, gx)."""
        x, t, w, ignore_index = _cross_entropy_inputs(x, t, w, ignore_index)
        loss, lse, wt = (np.empty(x.shape[0], x.dtype) for _ in range(3))
        gx = np.empty_like(x)
        bad = self._C.cross_entropy_fwd_bwd(x, t, w, ignore_index, float(eps), float(g), bool(mean), loss, lse, wt, gx)
        if bad >= 0:
            raise _bad_target(bad, x, t, ignore_index)
        return loss, lse, wt, gx

    def cross_entropy_bwd(self, x, t, w, lse, g, ignore_index, eps):
        """d(sum_i g[i] loss[i]) / dx from the forward's ``lse`` (n,) and upstream ``g`` (n,)."""
        x, t, w, ignore_index = _cross_entropy_inputs(x, t, w, ignore_index)
        rows = (x.shape[0],)
        lse = _array("cross_entropy", "lse", lse, x.dtype, rows)
        g = _array("cross_entropy", "upstream gradient", g, x.dtype, rows)
        out = np.empty_like(x)
        self._C.cross_entropy_bwd(x, t, w, lse, g, ignore_index, float(eps), out)
        return out

    # -- bias + ReLU around the GEMMs of a linear layer ---------------------------------------
    def bias_relu_(self, y, b):
        """y = max(y + b, 0) in place; y must be a C-contiguous, aligned, writeable (n, m)
        array of its own."""
        n, m = _matrix("linear_relu", "output", y)
        if not (y.flags.c_contiguous and y.flags.aligned and y.flags.writeable):
            raise ShapeError(f"[linear_relu] expected an output array to update in place (C-contiguous, aligned, "
                             f"writeable), got shape {y.shape}, strides {y.strides}, aligned={y.flags.aligned}, "
                             f"writeable={y.flags.writeable}")
        b = None if b is None else _array("linear_relu", "bias", b, y.dtype, (m,))
        self._C.bias_relu_fwd(y, b)
        return y

    def relu_bias_bwd(self, gy, y, with_bias):
        """(gz, gb): the ReLU-masked gradient and its column sums (None without bias)."""
        n, m = _matrix("linear_relu", "output", y)
        y = np.require(y, requirements="CA")
        gy = _array("linear_relu", "gradient", gy, y.dtype, (n, m))
        gz = np.empty_like(y)
        gb = np.empty(m, y.dtype) if with_bias else None
        self._C.relu_bias_bwd(gy, y, gz, gb)
        return gz, gb

    def linear_backward(self, gy, y, x, w, with_bias, need_x, need_w):
        """``(gx, gw, gb)`` of y = relu(x w^T + b) for gy (n, m), x (n, k), w (m, k) (no ReLU
        when ``y`` is None): the fused mask pass around NumPy's BLAS."""
        op = "linear_relu" if y is not None else "linear"
        n, m = _matrix(op, "output gradient", gy)
        k = _matrix(op, "input", x)[1]
        _check(op, "input", x, gy.dtype, (n, k))
        _check(op, "weight", w, gy.dtype, (m, k))
        if y is not None:
            _check(op, "output", y, gy.dtype, (n, m))
        return mask_and_gemms(self, gy, y, x, w, with_bias, need_x, need_w)

    # -- optimizer steps over all parameters at once -------------------------------------------
    def state_dtype(self, dtype):
        """The dtype of optimizer state for parameters of ``dtype`` (the kernels take float32
        and float64 parameters, whose state has their own dtype)."""
        return np.dtype(dtype)

    # _C picks float or double from the first parameter and reads every array through it
    def _check_optim(self, kernel, ps, gs, states):
        """The gradients as the kernel reads them (aligned copies of any that are not), after
        checking every array: parameters and state are updated in place, so they must be
        aligned and writeable already."""
        written = [("parameter", ps)] + states
        for name, arrays in written + [("gradient", gs)]:
            for i, a in enumerate(arrays):
                if a is not None:
                    _ndarray(kernel, f"{name} {i}", a)
        if not ps:
            return gs
        if ps[0].dtype not in _FLOATS:
            raise DTypeError(f"[{kernel}] the CPU kernel takes float32/float64 parameters, got {ps[0].dtype}")
        check_optimizer_arrays(kernel, ps, gs, states, self.state_dtype(ps[0].dtype))
        for name, arrays in written:
            for i, a in enumerate(arrays):
                if a is not None and not (a.flags.aligned and a.flags.writeable):
                    raise ArgumentError(f"[{kernel}] expected {name} {i} (shape {a.shape}, {a.dtype}) to be updated "
                                        f"in place: aligned and writeable, got aligned={a.flags.aligned}, "
                                        f"writeable={a.flags.writeable}")
        return [np.require(g, requirements="CA") for g in gs]

    def sgd_step(self, ps, gs, bufs, lr, momentum, dampening, weight_decay, nesterov, first):
        gs = self._check_optim("sgd_step", ps, gs, [("momentum buffer", bufs)])
        self._C.sgd_step(ps, gs, bufs, lr, momentum, dampening, weight_decay, nesterov, first)

    def adam_step(self, ps, gs, ms, vs, lr, b1, b2, eps, weight_decay, decoupled, bc1, bc2):
        gs = self._check_optim("adam_step", ps, gs, [("first moment", ms), ("second moment", vs)])
        self._C.adam_step(ps, gs, ms, vs, lr, b1, b2, eps, weight_decay, decoupled, bc1, bc2)

    # -- loss scaling: unscale and inf/NaN check in one pass over each gradient -----------------
    def amp_unscale_(self, gs, found_inf, inv_scale):
        """Every gradient of ``gs`` (float32 or float64 arrays of one dtype, updated in place:
        C-contiguous, aligned, writeable) times ``inv_scale`` (a one-element float32 array),
        and ``found_inf`` (a one-element int32 array) set to 1 when a product is inf or NaN;
        left as it is otherwise, so that calls for several dtypes can share it."""
        op = "amp_unscale"
        written = [(f"gradient {i}", g) for i, g in enumerate(gs)] + [("found_inf", found_inf)]
        for name, a in written + [("inv_scale", inv_scale)]:
            _ndarray(op, name, a)
        if gs and gs[0].dtype not in _FLOATS:
            raise DTypeError(f"[{op}] the CPU kernel takes float32/float64 gradients, got {gs[0].dtype}")
        check_unscale_arrays(op, gs, found_inf, inv_scale)
        for name, a in written:
            if not (a.flags.aligned and a.flags.writeable):
                raise ArgumentError(f"[{op}] expected {name} (shape {a.shape}, {a.dtype}) to be updated in place: "
                                    f"aligned and writeable, got aligned={a.flags.aligned}, "
                                    f"writeable={a.flags.writeable}")
        if self._C.amp_unscale(list(gs), inv_scale.item()):
            found_inf[...] = 1
