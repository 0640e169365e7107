"""gpugrad's own CUDA kernels (csrc/cuda/*.cu), compiled lazily per device by CuPy's
RawModule (NVRTC; CuPy caches the binaries on disk) and launched on the current stream.

Nothing here runs at import: a module is compiled the first time one of its kernels is
needed. Every entry point checks shapes, dtypes and contiguity before launching
(``check_*`` below work on shapes and dtypes alone, so the CPU tests exercise them).
"""

import os
import re
from pathlib import Path

import numpy as np

from ..errors import ArgumentError, ArgumentTypeError, DeviceError, DTypeError, ShapeError
from .base import mask_and_gemms
from .checks import DeferredChecks

_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64", np.dtype(np.float16): "f16"}
try:  # CuPy 14 takes bfloat16 arrays as ml_dtypes.bfloat16; the kernels have bf16 variants for them
    import ml_dtypes

    _SUFFIX[np.dtype(ml_dtypes.bfloat16)] = "bf16"
except ImportError:
    pass
WARP_MAX_CLASSES = 1024  # up to here a warp per row; above, a block per row
THREADS = 256


def source_dir():
    """Where the .cu sources are: shipped inside the package, or csrc/cuda of a checkout."""
    here = Path(__file__).resolve().parent.parent
    for d in (here / "cuda_src", here.parent / "csrc" / "cuda"):
        if (d / "cross_entropy.cu").exists():
            return d
    raise FileNotFoundError("[cuda] the CUDA sources (cross_entropy.cu, ...) are missing from this install")


# a quoted include (of a gpugrad header; toolkit headers are <...>) and a header's guard
_QUOTED_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"[^\n]*$', re.M)
_PRAGMA_ONCE = re.compile(r"^[ \t]*#[ \t]*pragma[ \t]+once[^\n]*$", re.M)


def module_source(module):
    """The text of ``<module>.cu`` with every quoted ``#include`` of a file in the source
    directory inlined (recursively, each file once; ``#line`` keeps compiler messages
    pointing at the original files). CuPy's disk cache keys on this text alone, not on the
    files it includes, so a change to common.cuh must change the text to reach the
    binaries. Toolkit headers (``<cuda_fp16.h>``) stay includes."""
    src = source_dir()
    done = set()

    def expand(name):
        text = _PRAGMA_ONCE.sub("", (src / name).read_text())  # inlined once each: the guard has no job left
        out, last = [], 0
        for m in _QUOTED_INCLUDE.finditer(text):
            header = m.group(1)
            if not (src / header).is_file():
                continue  # not ours: NVRTC resolves it
            out.append(text[last : m.start()])
            if header not in done:
                done.add(header)
                line = text.count("\n", 0, m.end()) + 2  # the line after the include
                out.append(f'#line 1 "{header}"\n{expand(header)}\n#line {line} "{name}"')
            last = m.end()
        out.append(text[last:])
        return "".join(out)

    done.add(f"{module}.cu")
    return expand(f"{module}.cu")


def kernel_names(module):
    """The extern "C" kernels a source defines, for every dtype it instantiates."""
    text = (source_dir() / f"{module}.cu").read_text()
    stems = re.findall(r'extern "C" __global__ void (gpugrad_\w+)##name', text)
    dtypes = re.findall(r"^GPUGRAD_\w+\((\w+),", text, re.M)
    return sorted(s + d for s in stems for d in dtypes)


def check_cross_entropy(x_shape, x_dtype, t_shape, t_dtype, w_shape=None):
    if len(x_shape) != 2 or tuple(t_shape) != (x_shape[0],):
        raise ShapeError(f"[cross_entropy] expected logits (n, c) and targets (n,), got {x_shape} and {t_shape}")
    if np.dtype(x_dtype) not in _SUFFIX:
        raise DTypeError(f"[cross_entropy] the CUDA kernel takes float16/32/64 (or bfloat16) logits, got {x_dtype}")
    if np.dtype(t_dtype).kind not in "iu":
        raise DTypeError(f"[cross_entropy] targets must be integers, got {t_dtype}")
    if w_shape is not None and tuple(w_shape) != (x_shape[1],):
        raise ShapeError(f"[cross_entropy] weight must have shape ({x_shape[1]},), got {w_shape}")


def check_linear(y_shape, y_dtype, b_shape=None):
    if len(y_shape) != 2:
        raise ShapeError(f"[linear_relu] expected a (n, m) array, got {y_shape}")
    if np.dtype(y_dtype) not in _SUFFIX:
        raise DTypeError(f"[linear_relu] the CUDA kernel takes float16/32/64 (or bfloat16), got {y_dtype}")
    if b_shape is not None and tuple(b_shape) != (y_shape[1],):
        raise ShapeError(f"[linear_relu] bias shape {b_shape} does not match {y_shape}")


def _bad_target(cp, err, t):
    """(bad, row, target) from the kernel's flag: INT_MAX - (first bad row), or 0."""
    flag = err[0]
    row = cp.clip(np.iinfo(np.int32).max - flag, 0, max(t.shape[0] - 1, 0))
    return flag != 0, row, t[row]


def _lists_record(lists, capacity):
    """The NumPy record of a table of ``lists`` pointer lists for up to ``capacity`` tensors,
    laid out as optim.cu's structs (no padding): pointers, prefix offsets, count, unused."""
    ptrs = 8 * lists * capacity
    offsets = ptrs + 8 * (capacity + 1)
    return np.dtype({"names": ["ptr", "offset", "count", "unused"],
                     "formats": [(np.uint64, (lists, capacity)), (np.int64, (capacity + 1,)), np.int32, np.int32],
                     "offsets": [0, ptrs, offsets, offsets + 4], "itemsize": offsets + 8})


MAX_TENSORS = 32  # parameters per optimizer launch (kMaxTensors in optim.cu)
# optim.cu's TensorLists, passed by value as a kernel parameter: pointers of up to four
# lists (parameters, gradients, and the optimizer's state), prefix offsets, count
TENSOR_LISTS = _lists_record(4, MAX_TENSORS)
MAX_GRADS = 128  # gradients per unscale launch (kMaxGrads in optim.cu)
# optim.cu's GradList: one list (the gradients), so four times the tensors of TensorLists
# in a parameter block of 2064 bytes (CUDA takes 4 KiB of kernel parameters on any GPU)
GRAD_LIST = _lists_record(1, MAX_GRADS)


def check_optimizer_arrays(kernel, ps, gs, states, state_dtype):
    """Before a fused optimizer step hands raw pointers to a kernel (CUDA or the CPU's):
    the parameters share one dtype (the kernel's), every gradient has its parameter's dtype
    and every state array (``states``: (name, arrays) pairs, momentum buffers or moments)
    ``state_dtype``; each has its parameter's shape and is C-contiguous. A state list may
    hold None throughout (no momentum), never in part."""
    dt = ps[0].dtype
    lists = [("parameter", ps, dt, ""), ("gradient", gs, dt, "")]
    lists += [(name, arrays, state_dtype, " (or None for every parameter)") for name, arrays in states]
    for name, arrays, want, or_none in lists:
        if len(arrays) != len(ps):
            raise ArgumentError(f"[{kernel}] expected a {name} for each of {len(ps)} parameters, got {len(arrays)}")
        if or_none and all(a is None for a in arrays):
            continue
        for i, (p, a) in enumerate(zip(ps, arrays)):
            if a is None:
                raise ArgumentError(f"[{kernel}] expected a {name} for parameter {i}{or_none}, got None")
            if a.dtype != want:
                raise DTypeError(f"[{kernel}] expected {name} {i} (of the parameter of shape {p.shape}, {dt}) "
                                 f"to be {want}, got {a.dtype}")
            if a.shape != p.shape:
                raise ShapeError(f"[{kernel}] expected {name} {i} to have its parameter's shape {p.shape}, "
                                 f"got {a.shape}")
            if not a.flags.c_contiguous:
                raise ShapeError(f"[{kernel}] expected {name} {i} (shape {a.shape}) to be C-contiguous, "
                                 f"got strides {a.strides}")


def check_unscale_arrays(kernel, gs, found_inf, inv_scale):
    """Before the fused unscale hands raw pointers to a kernel (CUDA or the CPU's): the
    gradients share one dtype (the kernel's) and are C-contiguous (updated in place);
    ``found_inf`` is a one-element int32 array, ``inv_scale`` a one-element float32 one."""
    for name, a, want in (("found_inf", found_inf, np.int32), ("inv_scale", inv_scale, np.float32)):
        if a.dtype != want:
            raise DTypeError(f"[{kernel}] expected {name} to be a one-element {np.dtype(want)} array, got {a.dtype}")
        if a.size != 1:
            raise ShapeError(f"[{kernel}] expected {name} to be a one-element array, got shape {a.shape}")
    for i, g in enumerate(gs):
        if g.dtype != gs[0].dtype:
            raise DTypeError(f"[{kernel}] expected every gradient of one call to have one dtype, got {gs[0].dtype} "
                             f"(gradient 0) and {g.dtype} (gradient {i}, shape {g.shape})")
        if not g.flags.c_contiguous:
            raise ShapeError(f"[{kernel}] expected gradient {i} (shape {g.shape}) to be C-contiguous, got strides "
                             f"{g.strides}")


def tensor_lists(lists, record=TENSOR_LISTS):
    """``(record, total elements)`` per chunk of as many tensors as ``record`` (TENSOR_LISTS
    or GRAD_LIST) takes: each record holds the chunk's pointers of every list (arrays with
    ``.data.ptr``, or None) and the prefix offsets of the first list's sizes."""
    n = len(lists[0])
    capacity = record.fields["offset"][0].shape[0] - 1
    for lo in range(0, n, capacity):
        hi = min(lo + capacity, n)
        rec = np.zeros(1, record)
        for j, arrays in enumerate(lists):
            if arrays is not None:
                rec["ptr"][0, j, : hi - lo] = [a.data.ptr for a in arrays[lo:hi]]
        sizes = np.cumsum([a.size for a in lists[0][lo:hi]])
        rec["offset"][0, 1 : hi - lo + 1] = sizes
        rec["count"] = hi - lo
        yield rec, int(sizes[-1])


LINEAR_MODES = ("auto", "tiled", "cublas")


def linear_mode():
    """GPUGRAD_LINEAR_BACKWARD: 'auto' (time both on the first backward of a shape's bucket,
    see ``linear_bucket``, and keep the faster), 'tiled' (gpugrad's masked GEMMs) or 'cublas'
    (mask pass + CuPy's cuBLAS). Under 'auto' the rounding of a result depends on which way
    won the timing for its bucket, which can differ from run to run; 'tiled' or 'cublas'
    makes results reproducible."""
    mode = os.environ.get("GPUGRAD_LINEAR_BACKWARD", "auto").strip().lower() or "auto"
    if mode not in LINEAR_MODES:
        raise ArgumentError(f"[cuda] GPUGRAD_LINEAR_BACKWARD must be one of {', '.join(LINEAR_MODES)}, got {mode!r}")
    return mode


def linear_bucket(n):
    """The batch sizes that share one 'auto' decision: n rounded up to a power of two, so a
    workload with varying batch sizes times at most one shape per doubling."""
    return 0 if n == 0 else 1 << (n - 1).bit_length()


def gemm_tiles(rows, cols, sms):
    """The tile edge for an output of rows x cols: 64, or 32 when 64s would leave SMs idle;
    None when the grid would be too tall for CUDA (then cuBLAS runs)."""
    edge = 64 if -(-rows // 64) * -(-cols // 64) >= sms else 32
    return edge if -(-rows // edge) <= 65535 else None


class CudaKernels:
    """The same entry points as the CPU's NativeKernels, on CuPy arrays of one device,
    except cross-entropy: its forward reduces on the device (``device_reduction``) and
    its backward takes the upstream gradient and scale as device arrays, so a training
    step reads nothing back. A bad target found by a kernel is raised at the backend's
    next read of a result (``checks``, the backend's DeferredChecks, holds the flags)."""

    device_reduction = True
    MAX_GRID_Y = 65535  # CUDA's limit on grid.y (and grid.z)
    MAX_LINEAR_CHOICES = 256  # linear backward decisions kept (least recently used go first)

    def __init__(self, cupy, device_index, checks=None):
        self._cp = cupy
        self._index = device_index
        self._modules = {}  # RawModules of this device, by source
        self._functions = {}  # by (module, kernel): get_function builds a new object on every call
        self.checks = checks if checks is not None else DeferredChecks(cupy, lambda a: cupy.asnumpy(a))
        self.linear_mode = linear_mode()
        # per backward shape bucket (see linear_bucket), oldest use first: which GEMMs run
        # ("tiled" or "cublas") and, when measured, both times
        self.linear_choices = {}
        self._sms = None

    def supports(self, dtype):
        return dtype in _SUFFIX

    def _fn(self, module, name):
        fn = self._functions.get((module, name))
        if fn is None:
            mod = self._modules.get(module)
            if mod is None:
                with self._cp.cuda.Device(self._index):
                    mod = self._cp.RawModule(code=module_source(module), options=("-std=c++17",))
                self._modules[module] = mod
            fn = self._functions[(module, name)] = mod.get_function(name)
        return fn

    @staticmethod
    def _grid(total, threads=THREADS):
        return (int(min(max((total + threads - 1) // threads, 1), 65535 * 8)),)

    # -- cross-entropy ----------------------------------------------------------------------
    def _acc(self, dtype):  # float accumulation for the 2-byte floats
        return np.dtype(np.float32) if dtype.itemsize == 2 else dtype

    def _weight(self, w, dtype):
        """The class weights as a contiguous array and their sum as a device scalar (or
        None and a null pointer)."""
        if w is None:
            return None, None  # null pointers (CuPy passes None as a null pointer)
        w = self._cp.ascontiguousarray(w, dtype=dtype)
        return w, w.astype(self._acc(dtype)).sum()

    def _out(self, x_dtype, wide):
        """The losses' dtype and the kernels' suffix: the logits' own, or with ``wide`` for
        float16/bfloat16 logits float32 (the *_f32 variants: autocast's float32 loss)."""
        if wide and x_dtype.itemsize == 2:
            return np.dtype(np.float32), _SUFFIX[x_dtype] + "_f32"
        return x_dtype, _SUFFIX[x_dtype]

    def cross_entropy_fwd(self, x, t, w, ignore_index, eps, reduction="none", wide=False):
        """``(result, lse, scale)``: the rows' losses for reduction 'none' (scale None), else
        the 0-d sum or weighted mean (divided by the counted weight whatever it is, as in
        PyTorch: NaN for an all-ignored batch) and d(result)/d(row) as a 0-d device array.
        ``lse`` (2, n): each row's log-sum-exp relative to its shift, and the shift. With
        ``wide``, float16/bfloat16 logits give float32 losses (each logit widened as read)."""
        cp = self._cp
        check_cross_entropy(x.shape, x.dtype, t.shape, t.dtype, None if w is None else w.shape)
        if reduction not in ("none", "sum", "mean"):
            raise ArgumentError(f"[cross_entropy] reduction must be 'none', 'sum' or 'mean', got {reduction!r}")
        x = cp.ascontiguousarray(x)
        t = cp.ascontiguousarray(t, dtype=cp.int64)
        acc = self._acc(x.dtype)
        out_dtype, sfx = self._out(x.dtype, wide)
        n, c = x.shape
        w, wsum = self._weight(w, x.dtype)
        lse = cp.empty((2, n), acc)  # per row: log sum exp(x - shift), then the shift (kept apart)
        err = cp.zeros(1, dtype=cp.int32)  # a memset, not a kernel: INT_MAX - (first bad row) when set
        if reduction == "none":
            result, scale = cp.empty(n, out_dtype), None
            loss, red, ticket, out, scale_arg = result, None, None, None, None
        else:
            # what an empty batch gives: a sum of 0, a mean of 0 / 0 = NaN (as PyTorch)
            result = cp.full((), np.nan if reduction == "mean" else 0, out_dtype)
            scale = cp.full((), np.inf if reduction == "mean" else 1, acc)
            red, ticket = cp.zeros(2, acc), cp.zeros(1, cp.uint32)
            loss, out, scale_arg = None, result, scale
        if n:
            args = (x, t, w, wsum, np.int64(n), np.int64(c), np.int64(ignore_index), acc.type(eps), loss, lse, err,
                    red, ticket, np.int32(reduction == "mean"), out, scale_arg)
            if c <= WARP_MAX_CLASSES:
                rows_per_block = THREADS // 32
                self._fn("cross_entropy", f"gpugrad_cross_entropy_fwd_warp_{sfx}")(
                    ((n + rows_per_block - 1) // rows_per_block,), (THREADS,), args)
            else:
                self._fn("cross_entropy", f"gpugrad_cross_entropy_fwd_block_{sfx}")((n,), (THREADS,), args)
            self.checks.add(
                lambda err=err, t=t: _bad_target(cp, err, t),
                f"[cross_entropy] target {{value}} of row {{position}} is outside [0, {c - 1}] (and is not "
                f"ignore_index={ignore_index}); found by the CUDA kernel, raised at the first read of a result after it")
        return result, lse, scale

    def cross_entropy_bwd(self, x, t, w, lse, g, ignore_index, eps, scale=None):
        """The logits' gradient (of their dtype) for upstream ``g`` (a 0-d array: the same
        for every row, or one per row) times ``scale`` (the forward's, or None for 1). A
        float32 ``g`` for float16/bfloat16 logits is the upstream of a ``wide`` forward."""
        cp = self._cp
        x = cp.ascontiguousarray(x)
        acc = self._acc(x.dtype)
        out_dtype, sfx = self._out(x.dtype, g.dtype != x.dtype)
        n, c = x.shape
        gx = cp.empty_like(x)
        if n:
            w, wsum = self._weight(w, x.dtype)
            g = cp.ascontiguousarray(g, dtype=out_dtype)
            if g.size not in (1, n):
                raise ShapeError(f"[cross_entropy] the upstream gradient has {g.size} values for {n} rows")
            self._fn("cross_entropy", f"gpugrad_cross_entropy_bwd_{sfx}")(
                self._grid(n * c), (THREADS,),
                (x, cp.ascontiguousarray(t, dtype=cp.int64), w, wsum, cp.ascontiguousarray(lse, dtype=acc), g,
                 np.int64(0 if g.size == 1 else 1), scale, np.int64(n), np.int64(c),
                 np.int64(ignore_index), acc.type(eps), gx))
        return gx

    # -- linear ---------------------------------------------------------------------------------
    def bias_relu_(self, y, b):
        check_linear(y.shape, y.dtype, None if b is None else b.shape)
        if not y.flags.c_contiguous:
            raise ShapeError("[linear_relu] expected a contiguous array")
        n, m = y.shape
        if n * m:
            b = None if b is None else self._cp.ascontiguousarray(b, dtype=y.dtype)
            self._fn("linear", f"gpugrad_bias_relu_fwd_{_SUFFIX[y.dtype]}")(
                self._grid(n * m), (THREADS,), (y, b, np.int64(n), np.int64(m)))
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
            rows = 256  # per chunk; a block takes every grid.y-th chunk, so grid.y never passes CUDA's limit
            grid = ((m + 31) // 32, min((n + rows - 1) // rows, self.MAX_GRID_Y))
            self._fn("linear", f"gpugrad_relu_bias_bwd_{_SUFFIX[y.dtype]}")(
                grid, (32, 8), (gy, y, gz, gb, np.int64(n), np.int64(m), np.int64(rows)))
        return gz, (None if gb is None else gb.astype(y.dtype, copy=False))

    def linear_backward(self, gy, y, x, w, with_bias, need_x, need_w):
        """``(gx, gw, gb)`` of y = relu(x w^T + b) (no ReLU when ``y`` is None) for gy (n, m),
        x (n, k), w (m, k); None where not needed. Runs gpugrad's masked GEMMs or the mask
        pass and cuBLAS, whichever ``linear_mode`` picks for this shape's bucket."""
        cp = self._cp
        gy, x, w = (cp.ascontiguousarray(a) for a in (gy, x, w))
        y = None if y is None else cp.ascontiguousarray(y)
        check_linear(gy.shape, gy.dtype)
        for name, a in (("x", x), ("w", w), ("y", y)):  # the kernel reads every array as gy's type
            if a is not None and a.dtype != gy.dtype:
                raise DTypeError(f"[linear_relu] backward expected {name} of gy's dtype {gy.dtype}, got {a.dtype}")
        n, m = gy.shape
        k = x.shape[1]
        if x.shape[0] != n or w.shape != (m, k) or (y is not None and y.shape != gy.shape):
            raise ShapeError(f"[linear_relu] backward got gy {gy.shape}, y {None if y is None else y.shape}, "
                             f"x {x.shape}, w {w.shape}")
        key = (linear_bucket(n), m, k, str(gy.dtype), y is not None, bool(with_bias), bool(need_x), bool(need_w))
        sms = self._sm_count()
        # per call: a bucket's batch sizes differ, and the tiles that fit one may not fit another
        fits = need_w and n * m * k > 0 and None not in (gemm_tiles(n, k, sms), gemm_tiles(m, k, sms))
        choices = self.linear_choices
        choice = choices.pop(key, None)  # an LRU: put back as the newest entry below
        if choice is None:
            choice = self._choose_linear(fits, gy, y, x, w, with_bias, need_x, need_w)
        choices[key] = choice
        while len(choices) > self.MAX_LINEAR_CHOICES:
            del choices[next(iter(choices))]
        run = self._linear_tiled if fits and choice["choice"] == "tiled" else self._linear_cublas
        return run(gy, y, x, w, with_bias, need_x, need_w)

    def _choose_linear(self, fits, *args):
        mode = self.linear_mode if fits else "cublas"
        if mode == "auto":  # once per bucket: both ways, timed with CUDA events; the faster stays
            times = {name: self._time(lambda run=run: run(*args))
                     for name, run in (("tiled", self._linear_tiled), ("cublas", self._linear_cublas))}
            return {"choice": min(times, key=times.get), **{f"{name}_ms": t for name, t in times.items()}}
        return {"choice": mode}

    def _sm_count(self):
        if self._sms is None:
            self._sms = int(self._cp.cuda.Device(self._index).attributes["MultiProcessorCount"])
        return self._sms

    def _time(self, fn, repeats=3):
        """The fastest of ``repeats`` runs of ``fn`` in milliseconds (after one warm-up,
        which also compiles), by CUDA events on the current stream."""
        cp = self._cp
        fn()
        best = float("inf")
        for _ in range(repeats):
            start, end = cp.cuda.Event(), cp.cuda.Event()
            start.record()
            fn()
            end.record()
            end.synchronize()
            best = min(best, cp.cuda.get_elapsed_time(start, end))
        return best

    def _linear_cublas(self, gy, y, x, w, with_bias, need_x, need_w):
        return mask_and_gemms(self, gy, y, x, w, with_bias, need_x, need_w)

    def _linear_tiled(self, gy, y, x, w, with_bias, need_x, need_w):  # chosen only when need_w
        cp = self._cp
        n, m = gy.shape
        k = x.shape[1]
        sfx = _SUFFIX[gy.dtype]
        sms = self._sm_count()
        gx = None
        if need_x:
            gx = cp.empty((n, k), gy.dtype)
            edge = gemm_tiles(n, k, sms)
            self._fn("linear", f"gpugrad_linear_bwd_input{edge}_{sfx}")(
                (-(-k // edge), -(-n // edge)), (256,), (gy, y, w, gx, np.int64(n), np.int64(k), np.int64(m)))
        gw = cp.empty((m, k), gy.dtype)
        gb = cp.empty(m, gy.dtype) if with_bias else None
        edge = gemm_tiles(m, k, sms)
        self._fn("linear", f"gpugrad_linear_bwd_weight{edge}_{sfx}")(
            (-(-k // edge), -(-m // edge)), (256,),
            (gy, y, x, gw, gb, np.int64(m), np.int64(k), np.int64(n)))
        return gx, gw, gb

    # -- optimizers: one launch per group of up to MAX_TENSORS parameters ------------------
    def state_dtype(self, dtype):
        """The dtype of optimizer state (momentum buffers, moments) for parameters of
        ``dtype``: the accumulation type, float32 for the 2-byte floats."""
        return self._acc(np.dtype(dtype))

    # the kernels read each list through raw pointers of one type: the parameters' for
    # parameters and gradients, state_dtype for the state
    def _check_optim(self, kernel, ps, gs, states):
        if ps[0].dtype not in _SUFFIX:
            raise DTypeError(f"[{kernel}] the CUDA kernel takes float16/32/64 (or bfloat16) parameters, "
                             f"got {ps[0].dtype}")
        check_optimizer_arrays(kernel, ps, gs, states, self.state_dtype(ps[0].dtype))

    def sgd_step(self, ps, gs, bufs, lr, momentum, dampening, weight_decay, nesterov, first):
        if not ps:
            return
        self._check_optim("sgd_step", ps, gs, [("momentum buffer", bufs)])
        dt = ps[0].dtype
        acc = self._acc(dt)
        has_buf = bufs[0] is not None
        fn = self._fn("optim", f"gpugrad_sgd_step_{_SUFFIX[dt]}")
        for rec, total in tensor_lists([ps, gs, bufs if has_buf else None]):
            if total:
                fn(self._grid(total), (THREADS,),
                   (rec, np.int32(has_buf), acc.type(lr), acc.type(momentum), acc.type(dampening),
                    acc.type(weight_decay), np.int32(nesterov), np.int32(first)))

    def adam_step(self, ps, gs, ms, vs, lr, b1, b2, eps, weight_decay, decoupled, bc1, bc2):
        if not ps:
            return
        self._check_optim("adam_step", ps, gs, [("first moment", ms), ("second moment", vs)])
        dt = ps[0].dtype
        acc = self._acc(dt)
        fn = self._fn("optim", f"gpugrad_adam_step_{_SUFFIX[dt]}")
        for rec, total in tensor_lists([ps, gs, ms, vs]):
            if total:
                fn(self._grid(total), (THREADS,),
                   (rec, acc.type(lr), acc.type(b1), acc.type(b2), acc.type(eps), acc.type(weight_decay),
                    np.int32(decoupled), acc.type(bc1), acc.type(bc2)))

    # -- loss scaling: unscale and inf/NaN check in one pass, one launch per MAX_GRADS -------
    def amp_unscale_(self, gs, found_inf, inv_scale):
        """Every gradient of ``gs`` (C-contiguous arrays of one dtype on this device) times
        ``inv_scale`` in place, and ``found_inf`` set to 1 where a product (as stored) is
        inf or NaN; ``inv_scale`` (float32) and ``found_inf`` (int32) are one-element device
        arrays, so the host reads nothing and waits for nothing."""
        op = "amp_unscale"
        for name, a in [(f"gradient {i}", g) for i, g in enumerate(gs)] + [("found_inf", found_inf),
                                                                           ("inv_scale", inv_scale)]:
            if not isinstance(a, self._cp.ndarray):
                raise ArgumentTypeError(f"[{op}] expected {name} to be a device array, got {type(a).__name__}")
            if a.device.id != self._index:
                raise DeviceError(f"[{op}] expected {name} on cuda:{self._index}, got an array on cuda:{a.device.id}")
        if gs and gs[0].dtype not in _SUFFIX:
            raise DTypeError(f"[{op}] the CUDA kernel takes float16/32/64 (or bfloat16) gradients, got {gs[0].dtype}")
        check_unscale_arrays(op, gs, found_inf, inv_scale)
        if not gs:
            return
        fn = self._fn("optim", f"gpugrad_amp_unscale_{_SUFFIX[gs[0].dtype]}")
        for rec, total in tensor_lists([gs], GRAD_LIST):
            if total:
                fn(self._grid(total), (THREADS,), (rec, found_inf, inv_scale))
