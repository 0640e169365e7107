"""gpugrad's own CUDA kernels (csrc/cuda/*.cu), compiled lazily per device by CuPy's
RawModule (NVRTC; CuPy caches the binaries on disk) and launched on the current stream.

Nothing here runs at import: a module is compiled the first time one of its kernels is
needed. Every entry point checks shapes, dtypes and contiguity before launching
(``check_*`` below work on shapes and dtypes alone, so the CPU tests exercise them).
"""

from pathlib import Path

import numpy as np

from ..errors import DTypeError, GpugradIndexError, ShapeError

_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64", np.dtype(np.float16): "f16"}
WARP_MAX_CLASSES = 1024  # up to here a warp per row; above, a block per row
THREADS = 256


def source_dir():
    """Where the .cu sources are: shipped inside the package, or csrc/cuda of a checkout."""
    here = Path(__file__).resolve().parent.parent
    for d in (here / "cuda_src", here.parent / "csrc" / "cuda"):
        if (d / "cross_entropy.cu").exists():
            return d
    raise FileNotFoundError("[cuda] the CUDA sources (cross_entropy.cu, ...) are missing from this install")


def kernel_names(module):
    """The extern "C" kernels a source defines, for every dtype it instantiates."""
    import re

    text = (source_dir() / f"{module}.cu").read_text()
    stems = re.findall(r'extern "C" __global__ void (gpugrad_\w+)##name', text)
    dtypes = re.findall(r"^GPUGRAD_\w+\((\w+),", text, re.M)
    return sorted(s + d for s in stems for d in dtypes)


def check_cross_entropy(x_shape, x_dtype, t_shape, t_dtype, w_shape=None):
    if len(x_shape) != 2 or tuple(t_shape) != (x_shape[0],):
        raise ShapeError(f"[cross_entropy] expected logits (n, c) and targets (n,), got {x_shape} and {t_shape}")
    if np.dtype(x_dtype) not in _SUFFIX:
        raise DTypeError(f"[cross_entropy] the CUDA kernel takes float16/32/64 logits, got {x_dtype}")
    if np.dtype(t_dtype).kind not in "iu":
        raise DTypeError(f"[cross_entropy] targets must be integers, got {t_dtype}")
    if w_shape is not None and tuple(w_shape) != (x_shape[1],):
        raise ShapeError(f"[cross_entropy] weight must have shape ({x_shape[1]},), got {w_shape}")


def check_linear(y_shape, y_dtype, b_shape=None):
    if len(y_shape) != 2:
        raise ShapeError(f"[linear_relu] expected a (n, m) array, got {y_shape}")
    if np.dtype(y_dtype) not in _SUFFIX:
        raise DTypeError(f"[linear_relu] the CUDA kernel takes float16/32/64, got {y_dtype}")
    if b_shape is not None and tuple(b_shape) != (y_shape[1],):
        raise ShapeError(f"[linear_relu] bias shape {b_shape} does not match {y_shape}")


class CudaKernels:
    """The same entry points as the CPU's NativeKernels, on CuPy arrays of one device."""

    def __init__(self, cupy, device_index):
        self._cp = cupy
        self._index = device_index
        self._modules = {}

    def supports(self, dtype):
        return dtype in _SUFFIX

    def _fn(self, module, name):
        mod = self._modules.get(module)
        if mod is None:
            src = source_dir()
            with self._cp.cuda.Device(self._index):
                mod = self._cp.RawModule(code=(src / f"{module}.cu").read_text(),
                                         options=("-std=c++17", f"-I{src}"))
            self._modules[module] = mod
        return mod.get_function(name)

    @staticmethod
    def _grid(total, threads=THREADS):
        return (int(min(max((total + threads - 1) // threads, 1), 65535 * 8)),)

    # -- cross-entropy ----------------------------------------------------------------------
    def _acc(self, dtype):
        return np.dtype(np.float32) if dtype == np.float16 else dtype

    def cross_entropy_fwd(self, x, t, w, ignore_index, eps):
        cp = self._cp
        check_cross_entropy(x.shape, x.dtype, t.shape, t.dtype, None if w is None else w.shape)
        x = cp.ascontiguousarray(x)
        t = cp.ascontiguousarray(t, dtype=cp.int64)
        acc = self._acc(x.dtype)
        n, c = x.shape
        w = None if w is None else cp.ascontiguousarray(w, dtype=x.dtype)
        big_w = acc.type(c if w is None else float(w.astype(acc).sum()))
        loss, lse, wt = (cp.empty(n, acc) for _ in range(3))
        err = cp.full(1, np.iinfo(np.int32).max, dtype=cp.int32)
        if n:
            sfx = _SUFFIX[x.dtype]
            args = (x, t, w if w is not None else np.uint64(0), big_w, np.int64(n), np.int64(c), np.int64(ignore_index),
                    acc.type(eps), loss, lse, wt, err)
            if c <= WARP_MAX_CLASSES:
                rows_per_block = THREADS // 32
                self._fn("cross_entropy", f"gpugrad_cross_entropy_fwd_warp_{sfx}")(
                    ((n + rows_per_block - 1) // rows_per_block,), (THREADS,), args)
            else:
                self._fn("cross_entropy", f"gpugrad_cross_entropy_fwd_block_{sfx}")((n,), (THREADS,), args)
        bad = int(err.get()[0])  # the one host read: a bad target must raise, not corrupt
        if bad != np.iinfo(np.int32).max:
            raise GpugradIndexError(f"[cross_entropy] target {int(t[bad].get())} of row {bad} is outside [0, {c - 1}] "
                                    f"(and is not ignore_index={ignore_index})")
        return loss, lse, wt

    def cross_entropy_bwd(self, x, t, w, lse, g, ignore_index, eps, g_all=0.0):
        cp = self._cp
        x = cp.ascontiguousarray(x)
        acc = self._acc(x.dtype)
        n, c = x.shape
        gx = cp.empty_like(x)
        if n:
            w = None if w is None else cp.ascontiguousarray(w, dtype=x.dtype)
            big_w = acc.type(c if w is None else float(w.astype(acc).sum()))
            g = None if g is None else cp.ascontiguousarray(g, dtype=acc)
            self._fn("cross_entropy", f"gpugrad_cross_entropy_bwd_{_SUFFIX[x.dtype]}")(
                self._grid(n * c), (THREADS,),
                (x, cp.ascontiguousarray(t, dtype=cp.int64), w if w is not None else np.uint64(0), big_w,
                 cp.ascontiguousarray(lse, dtype=acc), g if g is not None else np.uint64(0), acc.type(g_all),
                 np.int64(n), np.int64(c), np.int64(ignore_index), acc.type(eps), gx))
        return gx

    def cross_entropy_fwd_bwd(self, x, t, w, ignore_index, eps, g, mean):
        loss, lse, wt = self.cross_entropy_fwd(x, t, w, ignore_index, eps)
        acc = self._acc(x.dtype)
        per_row = self._cp.full(x.shape[0], g, dtype=acc)
        if mean:  # g / total counted weight, computed on the device (no host read)
            total = wt.sum()
            per_row *= self._cp.where(total > 0, 1 / self._cp.where(total > 0, total, 1), 0)
        return loss, lse, wt, self.cross_entropy_bwd(x, t, w, lse, per_row, ignore_index, eps)

    # -- linear ---------------------------------------------------------------------------------
    def bias_relu_(self, y, b):
        check_linear(y.shape, y.dtype, None if b is None else b.shape)
        if not y.flags.c_contiguous:
            raise ShapeError("[linear_relu] expected a contiguous array")
        n, m = y.shape
        if n * m:
            b = None if b is None else self._cp.ascontiguousarray(b, dtype=y.dtype)
            self._fn("linear", f"gpugrad_bias_relu_fwd_{_SUFFIX[y.dtype]}")(
                self._grid(n * m), (THREADS,), (y, b if b is not None else np.uint64(0), np.int64(n), np.int64(m)))
        return y

    def relu_bias_bwd(self, gy, y, with_bias):
        cp = self._cp
        check_linear(y.shape, y.dtype)
        gy, y = cp.ascontiguousarray(gy, dtype=y.dtype), cp.ascontiguousarray(y)
        n, m = y.shape
        acc = self._acc(y.dtype)
        gz = cp.empty_like(y)
        gb = cp.zeros(m, acc) if with_bias else None
        if n * m:
            rows = 256
            grid = ((m + 31) // 32, (n + rows - 1) // rows)
            self._fn("linear", f"gpugrad_relu_bias_bwd_{_SUFFIX[y.dtype]}")(
                grid, (32, 8), (gy, y, gz, gb if gb is not None else np.uint64(0), np.int64(n), np.int64(m),
                                np.int64(rows)))
        return gz, (None if gb is None else gb.astype(y.dtype, copy=False))

    # -- optimizers: one launch per group ------------------------------------------------------
    def _pointers(self, arrays):
        return self._cp.asarray(np.array([a.data.ptr for a in arrays], dtype=np.uint64))

    def _offsets(self, ps):
        return self._cp.asarray(np.concatenate([[0], np.cumsum([p.size for p in ps])]).astype(np.int64))

    def sgd_step(self, ps, gs, bufs, lr, momentum, dampening, weight_decay, nesterov, first):
        if not ps:
            return
        dt = ps[0].dtype
        acc = self._acc(dt)
        total = int(sum(p.size for p in ps))
        has_buf = bufs[0] is not None
        self._fn("optim", f"gpugrad_sgd_step_{_SUFFIX[dt]}")(
            self._grid(total), (THREADS,),
            (self._pointers(ps), self._pointers(gs), self._pointers(bufs) if has_buf else np.uint64(0),
             self._offsets(ps), np.int32(len(ps)), acc.type(lr), acc.type(momentum), acc.type(dampening),
             acc.type(weight_decay), np.int32(nesterov), np.int32(first)))

    def adam_step(self, ps, gs, ms, vs, lr, b1, b2, eps, weight_decay, decoupled, bc1, bc2):
        if not ps:
            return
        dt = ps[0].dtype
        acc = self._acc(dt)
        total = int(sum(p.size for p in ps))
        self._fn("optim", f"gpugrad_adam_step_{_SUFFIX[dt]}")(
            self._grid(total), (THREADS,),
            (self._pointers(ps), self._pointers(gs), self._pointers(ms), self._pointers(vs), self._offsets(ps),
             np.int32(len(ps)), acc.type(lr), acc.type(b1), acc.type(b2), acc.type(eps), acc.type(weight_decay),
             np.int32(decoupled), acc.type(bc1), acc.type(bc2)))
