"""The functions of the CuPy stand-in (``cupy.exp``, ``cupy.zeros``, ``cupy.add.at``, ...):
NumPy's, run on the device arrays' memory under CuPy's rules for what they accept.

Only names real CuPy has are here, and only those gpugrad (and its tests and benchmarks)
use or are one step from using; ``tests/test_cuda_emulation.py`` checks every name
against the installed CuPy.
"""

import math

import numpy as np

from . import cupy_memory as _mem
from .cupy_array import check_dtype, from_host, index_key, ndarray, operand, result, unsupported

_PY_SCALARS = (bool, int, float, complex)


def _ufunc_operand(x, dev, sources):
    """What a CuPy kernel takes: a device array on ``dev`` or a Python/NumPy scalar."""
    if isinstance(x, ndarray):
        return operand(x, dev, sources)
    if type(x) in _PY_SCALARS or isinstance(x, np.generic):
        return x
    raise unsupported(x)


class ufunc:
    """An elementwise CuPy function (``cupy.ufunc``)."""

    def __init__(self, name, compute, nin, nout=1, scatter_op=None):
        self.name, self._compute, self.nin, self.nout = name, compute, nin, nout
        self.nargs = nin + nout
        self._scatter_op = scatter_op

    def __repr__(self):
        return f"<ufunc '{self.name}'>"

    def __call__(self, *args, out=None, dtype=None, casting="same_kind", where=None):
        if len(args) > self.nin:
            if out is not None or len(args) > self.nargs:
                raise TypeError(f"{self.name} takes {self.nin} inputs and {self.nout} output, got {len(args)} arguments")
            args, out = args[:self.nin], args[self.nin]
        if len(args) != self.nin:
            raise TypeError(f"Wrong number of arguments for {self.name}")
        dev = _mem.get_device_id()
        sources = []
        ins = [_ufunc_operand(a, dev, sources) for a in args]
        kwargs = {"casting": casting}
        if dtype is not None:
            kwargs["dtype"] = check_dtype(dtype)
        if where is not None:
            kwargs["where"] = _ufunc_operand(where, dev, sources)
        if out is not None:
            if not isinstance(out, ndarray):
                raise TypeError("Output arguments must be cupy.ndarray")
            kwargs["out"] = operand(out, dev, [])
            with np.errstate(all="ignore"):  # IEEE results (inf, NaN) come without warnings, as in CuPy
                self._compute(*ins, **kwargs)
            return out
        with np.errstate(all="ignore"):
            r = self._compute(*ins, **kwargs)
        return from_host(r)

    def outer(self, A, B, **kwargs):
        A, B = asarray(A), asarray(B)
        return self(A.reshape(A.shape + (1,) * B.ndim), B.reshape((1,) * A.ndim + B.shape), **kwargs)

    def at(self, a, indices, b=None):
        if self._scatter_op is None:
            raise NotImplementedError(f"`{self.name}.at` is not supported yet")
        scatter(a, indices, b, self._scatter_op)

    def reduce(self, array, axis=0, dtype=None, out=None, keepdims=False):
        if self.name == "cupy_add":
            return array.sum(axis, dtype, out, keepdims)
        if self.name == "cupy_multiply":
            return array.prod(axis, dtype, out, keepdims)
        raise NotImplementedError(f"`{self.name}.reduce` is not supported yet")

    def accumulate(self, array, axis=0, dtype=None, out=None):
        if self.name == "cupy_add":
            return array.cumsum(axis, dtype, out)
        if self.name == "cupy_multiply":
            return array.cumprod(axis, dtype, out)
        raise NotImplementedError(f"`{self.name}.accumulate` is not supported yet")


# atomics CUDA has for a scatter with index arrays (cupy/_core/_routines_indexing.pyx)
_SCATTER = {"add": ("add", (np.int32, np.float16, np.float32, np.float64, np.uint32, np.uint64),
                    "int32, float16, float32, float64, uint32, uint64, as data type"),
            "sub": ("subtract", (np.int32, np.uint32), "int32, uint32, as data type"),
            "max": ("maximum", (np.int32, np.float32, np.float64, np.uint32, np.uint64),
                    "int32, float32, float64, uint32, uint64 as data type"),
            "min": ("minimum", (np.int32, np.float32, np.float64, np.uint32, np.uint64),
                    "int32, float32, float64, uint32, uint64 as data type")}


def scatter(a, slices, value, op):
    """``a[slices] op= value`` with repeated indices all applied (``cupy.add.at``,
    ``cupyx.scatter_add``), refusing the dtypes CUDA has no atomic for, as CuPy does."""
    if not isinstance(a, ndarray):
        raise TypeError(f"the target of a scatter must be a cupy.ndarray, got {type(a)}")
    name, dtypes, supported = _SCATTER[op]
    dev = _mem.get_device_id()
    a._check(dev)
    k, advanced, mask = index_key(slices, dev, [], a.shape)
    if not advanced:
        view = a[slices]
        ufuncs[name](view, value, out=view)
        return
    if mask:
        _mem.declare_read()  # the mask's count of True values sizes the update
    elif a.dtype.type not in dtypes:
        raise TypeError(f"cupy.{name}.at only supports {supported}")
    v = operand(value, dev, [], host_ok=True)
    getattr(np, name).at(a._a, k, np.asarray(v).astype(a.dtype, copy=False))


def _erf(x, **kwargs):
    x = np.asarray(x)
    dt = x.dtype if x.dtype.kind == "f" or x.dtype.name == "bfloat16" else np.dtype(np.float64)
    out = kwargs.pop("out", None)
    r = np.frompyfunc(math.erf, 1, 1)(x.astype(np.float64), **kwargs).astype(dt)
    if out is None:
        return r
    out[...] = r
    return out


_UFUNC_NAMES = ("add subtract multiply divide true_divide floor_divide remainder mod power negative positive absolute "
                "exp expm1 log log1p log2 log10 sqrt square sin cos tan tanh sinh cosh arcsin arccos arctan arctan2 "
                "sign maximum minimum fmax fmin isfinite isnan isinf equal not_equal less less_equal greater "
                "greater_equal logical_and logical_or logical_not logical_xor bitwise_and bitwise_or bitwise_xor "
                "invert left_shift right_shift floor ceil trunc rint reciprocal matmul "
                "arcsinh arccosh arctanh exp2 copysign fmod hypot logaddexp").split()
_SCATTER_OF = {"add": "add", "subtract": "sub", "maximum": "max", "minimum": "min"}
ufuncs = {n: ufunc(f"cupy_{n}", getattr(np, n), getattr(np, n).nin, scatter_op=_SCATTER_OF.get(n))
          for n in _UFUNC_NAMES}
ufuncs["abs"] = ufuncs["absolute"]
erf = ufunc("cupyx_scipy_special_erf", _erf, 1)
array_ufuncs = {**ufuncs, "erf": erf}  # what NumPy's ufuncs on device arrays run (cupy's, then cupyx.scipy.special's)


# -- creation -------------------------------------------------------------------------------
def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        dev = _mem.get_device_id()
        if copy or obj._mem.device_id != dev or (dtype is not None and check_dtype(dtype) != obj.dtype):
            return from_host(np.array(obj._a, dtype=dtype, order="C" if order == "K" else order, ndmin=ndmin))
        return obj
    if hasattr(obj, "__cuda_array_interface__"):
        raise TypeError(f"{type(obj).__name__} is not an array of the emulated device")
    return from_host(np.array(obj, dtype=dtype, ndmin=ndmin, order="C" if order == "K" else order))


def asarray(a, dtype=None, order=None, *, copy=None, blocking=False):
    """On the current device: ``a`` itself when it is there already with that dtype, else a copy."""
    return array(a, dtype, bool(copy), order or "K", blocking=blocking)


def ascontiguousarray(a, dtype=None):
    if not isinstance(a, ndarray):
        raise TypeError(f"Argument 'a' has incorrect type (expected cupy.ndarray, got {type(a).__name__})")
    dt = a.dtype if dtype is None else check_dtype(dtype)
    if dt == a.dtype and a._a.flags.c_contiguous:
        return a.ravel() if a.ndim == 0 else a
    a._check(_mem.get_device_id())
    return from_host(np.ascontiguousarray(a._a, dtype=dt))


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out, blocking=blocking)
    if out is None:
        return np.asarray(a, order=order)
    out[...] = a
    return out


def empty(shape, dtype=float, order="C"):
    return ndarray(shape, dtype, order=order)


def zeros(shape, dtype=float, order="C"):
    a = ndarray(shape, dtype, order=order)
    a.data.memset_async(0, a.nbytes)
    return a


def ones(shape, dtype=float, order="C"):
    a = ndarray(shape, dtype, order=order)
    a.fill(1)
    return a


def full(shape, fill_value, dtype=None, order="C"):
    if dtype is None:
        dtype = fill_value.dtype if isinstance(fill_value, ndarray) else np.array(fill_value).dtype
    a = ndarray(shape, dtype, order=order)
    copyto(a, fill_value, casting="unsafe")
    return a


def _like(fill):
    def make(a, dtype=None, order="K", subok=None, shape=None):
        out = ndarray(a.shape if shape is None else shape, a.dtype if dtype is None else dtype)
        if fill is not None:
            out.fill(fill)
        return out

    return make


empty_like, zeros_like, ones_like = _like(None), _like(0), _like(1)


def copyto(dst, src, casting="same_kind", where=None):
    if not isinstance(dst, ndarray):
        raise TypeError(f"dst must be a cupy.ndarray, got {type(dst)}")
    dev = _mem.get_device_id()
    dst._check(dev)
    if isinstance(src, np.ndarray):
        if src.size != 1:
            raise ValueError("non-scalar numpy.ndarray cannot be used for copyto")
        src = src.squeeze()[()]
    elif not isinstance(src, ndarray) and not np.isscalar(src):
        raise unsupported(src)
    w = None if where is None else _ufunc_operand(where, dev, [])
    np.copyto(dst._a, operand(src, dev, []), casting=casting, where=True if w is None else w)


def _host_made(fn):
    """A creation function computed on the host and uploaded (arange, linspace, eye)."""

    def make(*args, **kwargs):
        return from_host(fn(*args, **kwargs))

    make.__name__ = fn.__name__
    return make


arange, linspace, eye = _host_made(np.arange), _host_made(np.linspace), _host_made(np.eye)


# -- functions on arrays ------------------------------------------------------------------------
def _function(name, view=False, read=False):
    """CuPy's ``name`` run by NumPy's: device operands must be on the current device (a view
    needs no kernel, so no device); NumPy arrays are refused."""
    np_fn = getattr(np, name)

    def fn(*args, **kwargs):
        dev = _mem.get_device_id()
        sources = []
        args = [operand(a, dev, sources, check=not view) for a in args]
        kwargs = {k: operand(v, dev, sources, check=not view) for k, v in kwargs.items()}
        if read:
            _mem.declare_read()  # the result's size is known only on the device
        with np.errstate(all="ignore"):
            r = np_fn(*args, **kwargs)
        if view and not all(isinstance(x, np.ndarray) and any(x.base is s._mem.raw for s in sources)
                            for x in (r if isinstance(r, (list, tuple)) else [r])):
            for s in sources:
                s._check(dev)
        return result(r, sources)

    fn.__name__ = name
    return fn


def _arrays_only(name, fn):
    """CuPy's joins take device arrays only."""

    def join(tup, *args, **kwargs):
        for a in tup:
            if not isinstance(a, ndarray):
                raise TypeError("Only cupy arrays can be concatenated")
        return fn(tup, *args, **kwargs)

    join.__name__ = name
    return join


def where(condition, x=None, y=None):
    if (x is None) != (y is None):
        raise ValueError("Must provide both 'x' and 'y' or neither.")
    if x is None:
        return nonzero(condition)
    dev = _mem.get_device_id()
    if not isinstance(condition, ndarray):
        raise unsupported(condition)
    sources = []
    args = [_ufunc_operand(v, dev, sources) for v in (condition, x, y)]
    return from_host(np.where(args[0].astype(bool, copy=False), args[1], args[2]))


def nonzero(a):
    if not isinstance(a, ndarray):
        raise unsupported(a)
    return a.nonzero()


def take_along_axis(a, indices, axis):
    """``a`` gathered along ``axis``; indices (device or host) wrap around as CuPy's indexing wraps them."""
    if not isinstance(a, ndarray):
        raise unsupported(a)
    if axis is None:
        a, axis = a.ravel(), 0
    dev = _mem.get_device_id()
    a._check(dev)
    idx = np.asarray(operand(indices, dev, [], host_ok=True))
    if idx.dtype.kind not in "iu":
        raise IndexError("`indices` must be an integer array")
    n = a.shape[axis]
    return from_host(np.take_along_axis(a._a, np.mod(idx, n) if n else idx, axis))


def take(a, indices, axis=None, out=None):
    return a.take(indices, axis, out)


def clip(a, a_min, a_max, out=None):
    return a.clip(a_min, a_max, out=out)


def may_share_memory(a, b, max_work=None):
    if max_work is not None:
        raise NotImplementedError("Only supported for `max_work` is `None`")
    return bool(np.may_share_memory(a._a, b._a))


_VIEWS = "reshape ravel transpose swapaxes moveaxis squeeze expand_dims broadcast_to flip split"
_KERNELS = "sum mean max min prod argmax argmin any all cumsum cumprod pad"
functions = {n: _function(n, view=True) for n in _VIEWS.split()}
functions.update({n: _function(n) for n in _KERNELS.split()})
functions.update(unique=_function("unique", read=True),
                 concatenate=_arrays_only("concatenate", _function("concatenate")),
                 stack=_arrays_only("stack", _function("stack")))
functions.update(searchsorted=_function("searchsorted"), bincount=_function("bincount", read=True))  # CuPy reads max back
functions.update(round=_function("round"), around=_function("around"))  # cupy.round(a, decimals=0, out=None)
functions.update(where=where, nonzero=nonzero, take=take, take_along_axis=take_along_axis, clip=clip,
                 may_share_memory=may_share_memory, copyto=copyto, array=array, asarray=asarray,
                 ascontiguousarray=ascontiguousarray, empty=empty, zeros=zeros, ones=ones, full=full,
                 empty_like=empty_like, zeros_like=zeros_like, ones_like=ones_like, arange=arange, linspace=linspace,
                 eye=eye)
functions.update(ufuncs)


# -- random numbers -----------------------------------------------------------------------------
def _float_dtype(dtype):
    dt = np.dtype(dtype)
    if dt.char not in "fd":
        raise TypeError("cupy.random only supports float32 and float64")
    return dt


class RandomState:
    """``cupy.random.RandomState`` drawing from a NumPy Generator (other values than CuPy's
    cuRAND streams, the same distributions and dtypes)."""

    def __init__(self, seed=None, method=None):
        self.seed(seed)

    def seed(self, seed=None):
        self._gen = np.random.Generator(np.random.PCG64(seed))

    def random_sample(self, size=None, dtype=float):
        return from_host(self._gen.random(size, dtype=_float_dtype(dtype)))

    def standard_normal(self, size=None, dtype=float):
        return from_host(self._gen.standard_normal(size, dtype=_float_dtype(dtype)))

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=float):
        dt = _float_dtype(dtype)
        return from_host((self._gen.standard_normal(size, dtype=dt) * scale + loc).astype(dt))

    def uniform(self, low=0.0, high=1.0, size=None, dtype=float):
        dt = _float_dtype(dtype)
        return from_host((self._gen.random(size, dtype=dt) * (high - low) + low).astype(dt))

    def randint(self, low, high=None, size=None, dtype="l"):
        if high is None:
            low, high = 0, low
        return from_host(self._gen.integers(low, high, size=size, dtype=np.dtype(dtype)))

    def permutation(self, num):
        if not isinstance(num, int):
            raise TypeError(f"permutation takes an int in the emulator, got {type(num).__name__}")
        return from_host(self._gen.permutation(num))


def scatter_add(a, slices, value):
    """``cupyx.scatter_add`` (deprecated in CuPy in favour of ``cupy.add.at``)."""
    a.scatter_add(slices, value)
