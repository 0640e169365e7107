"""``cupy.ndarray`` of the CuPy stand-in: a NumPy array that is a view into one device
allocation (``cupy_memory.Memory``), so ``.data.ptr`` is a real address the emulated
kernels can use, and a slice's pointer is its base's plus the offset, as in CuPy.

It keeps to what CuPy does, not to what NumPy would do: nothing converts it to NumPy
implicitly (``__array__`` raises), a NumPy array is refused as an operand, host reads are
counted (and refused inside ``cupyx.allow_synchronize(False)``), and an operation on an
array of another device than the current one raises. Arithmetic runs in NumPy; a result
that is not a view is copied into a new device allocation.
"""

import numpy as np

from . import cupy_memory as _mem

_OK_KINDS = "biufc"


def check_dtype(dtype):
    dt = np.dtype(dtype)
    if dt.kind not in _OK_KINDS and dt.name != "bfloat16":
        raise ValueError(f"Unsupported dtype {dt}")
    return dt


def device_error(array_device, current):
    return ValueError(f"The device where the array resides ({array_device}) is different from the current device "
                      f"({current}). Peer access is unavailable between these devices.")


def unsupported(x):
    return TypeError(f"Unsupported type {type(x)}")


class _OnDevice:
    """``with _OnDevice(i):`` runs on device i without the checks of ``cupy.cuda.Device``."""

    def __init__(self, index):
        self.index = index

    def __enter__(self):
        self.prev = _mem.get_device_id()
        _mem._tls.device = self.index

    def __exit__(self, *exc):
        _mem._tls.device = self.prev


def _host_view(mp, shape, dtype, strides=None, order="C"):
    offset = mp.mem.start + (mp.ptr - mp.mem.ptr if mp.ptr else 0)
    return np.ndarray(shape, dtype, buffer=mp.mem.raw, offset=offset, strides=strides, order=order)


def _wrap(a, mem, base):
    out = ndarray.__new__(ndarray)
    out._a, out._mem, out._base = a, mem, base
    return out


def from_host(h, dtype=None):
    """A new array on the current device holding a copy of host data ``h`` (a host-to-device copy)."""
    h = np.asarray(h, dtype=dtype)
    if h.dtype.kind == "O":
        raise ValueError("Unsupported dtype object")
    dt = check_dtype(h.dtype)
    mp = _mem.alloc(h.nbytes)
    out = _host_view(mp, h.shape, dt)
    out[...] = h
    return _wrap(out, mp.mem, None)


def result(r, sources):
    """Wrap NumPy's result ``r`` of an operation on ``sources`` (device arrays): a source
    itself, a view sharing its allocation, or a new array on the current device."""
    if isinstance(r, np.ndarray):
        for s in sources:
            if r is s._a:
                return s
            if r.base is s._mem.raw:
                return _wrap(r, s._mem, s._base if s._base is not None else s)
        return from_host(r)
    if isinstance(r, np.generic):
        return from_host(r)
    if isinstance(r, tuple):
        return tuple(result(x, sources) for x in r)
    if isinstance(r, list):
        return [result(x, sources) for x in r]
    return r


def operand(x, dev, sources, host_ok=False, check=True):
    """The NumPy array behind ``x`` for an operation on device ``dev`` (nested lists and
    tuples too): device arrays must be on ``dev`` (unless not ``check``: views run no
    kernel); NumPy arrays are refused unless ``host_ok`` (host index arrays, which CuPy
    uploads)."""
    if isinstance(x, ndarray):
        if check and x._mem.device_id != dev:
            raise device_error(x._mem.device_id, dev)
        sources.append(x)
        return x._a
    if isinstance(x, np.ndarray) and not host_ok:
        raise unsupported(x)
    if isinstance(x, (list, tuple)):
        return type(x)(operand(e, dev, sources, host_ok, check) for e in x)
    return x


def index_key(key, dev, sources, shape):
    """``(numpy_key, advanced, mask)`` for ``a[key]`` on an array of ``shape``: lists and
    NumPy arrays are uploaded as CuPy does; integer index arrays wrap around their axis as
    CuPy's kernels wrap them (no bounds error); a boolean mask needs the count of its True
    values on the host."""
    parts = key if isinstance(key, tuple) else (key,)
    out, advanced, mask = [], False, False
    for s in parts:
        if isinstance(s, ndarray):
            s = operand(s, dev, sources)
        elif isinstance(s, (list, np.ndarray, bool, np.bool_)):
            s = np.asarray(s)
        if isinstance(s, np.ndarray):
            advanced = True
            mask = mask or s.dtype.kind == "b"
            if s.dtype.kind not in "biu" and s.size:
                raise IndexError(f"arrays used as indices must be of integer or boolean type. (actual: {s.dtype.type})")
        out.append(s)

    def width(p):  # the axes of ``a`` an index consumes
        return 0 if p is None or p is Ellipsis else p.ndim if isinstance(p, np.ndarray) and p.dtype.kind == "b" else 1

    axis = 0
    for i, p in enumerate(out):
        if p is Ellipsis:
            axis += len(shape) - sum(width(q) for q in out)
            continue
        if isinstance(p, np.ndarray) and p.dtype.kind in "iu" and axis < len(shape) and shape[axis]:
            out[i] = np.mod(p, shape[axis])
        axis += width(p)
    return (tuple(out) if isinstance(key, tuple) else out[0]), advanced, mask


def _stable_kind(kind):
    if kind not in (None, "stable"):
        raise NotImplementedError(f"kind={kind!r} is not supported (CuPy sorts are stable)")
    return "stable"


def _compute(name):
    """A method that runs a kernel: the array must be on the current device."""

    def method(self, *args, **kwargs):
        dev = _mem.get_device_id()
        sources = [self]
        self._check(dev)
        args = operand(args, dev, sources)
        kwargs = {k: operand(v, dev, sources) for k, v in kwargs.items()}
        with np.errstate(all="ignore"):  # IEEE results (inf, NaN) come without warnings, as in CuPy
            r = getattr(self._a, name)(*args, **kwargs)
        return result(r, sources)

    method.__name__ = name
    return method


def _view(name):
    """A method that returns a view where it can (no kernel), else a copy on the current device."""

    def method(self, *args, **kwargs):
        r = getattr(self._a, name)(*args, **kwargs)
        if r.base is not self._mem.raw:
            self._check(_mem.get_device_id())
        return result(r, [self])

    method.__name__ = name
    return method


def _host(name):
    """A method that reads the array back to the host."""

    def method(self, *args, **kwargs):
        return getattr(self.get(), name)(*args, **kwargs)

    method.__name__ = name
    return method


def _ufunc_op(name, reflected=False, inplace=False):
    def method(self, other):
        from .cupy_funcs import ufuncs

        if not isinstance(other, ndarray) and getattr(other, "__array_priority__", 0) > self.__array_priority__:
            return NotImplemented
        fn = ufuncs[name]
        if inplace:
            return fn(self, other, out=self)
        return fn(other, self) if reflected else fn(self, other)

    return method


def _unary_op(name):
    def method(self):
        from .cupy_funcs import ufuncs

        return ufuncs[name](self)

    return method


class _Flags:
    def __init__(self, a, owndata):
        self.c_contiguous, self.f_contiguous, self.owndata = a.flags.c_contiguous, a.flags.f_contiguous, owndata

    def __getitem__(self, name):
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous, "OWNDATA": self.owndata}[name]


class ndarray:
    """A device array (``cupy.ndarray(shape, dtype=float, memptr=None, strides=None, order='C')``)."""

    __slots__ = ("_a", "_mem", "_base")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
        dt = check_dtype(dtype)
        if memptr is None:
            memptr = _mem.alloc(int(np.prod(shape, dtype=np.int64)) * dt.itemsize)
            memptr.mem.poison()
        self._a, self._mem, self._base = _host_view(memptr, shape, dt, strides, order), memptr.mem, None

    def _check(self, dev):
        if self._mem.device_id != dev:
            raise device_error(self._mem.device_id, dev)

    # -- attributes ---------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    base = property(lambda self: self._base)
    flags = property(lambda self: _Flags(self._a, self._base is None))

    @shape.setter
    def shape(self, value):
        self._a = self._a.reshape(value, copy=False)

    @property
    def device(self):
        from .cupy_cuda import Device

        return Device(self._mem.device_id)

    @property
    def data(self):
        offset = self._a.ctypes.data - self._mem.ptr if self._a.size and self._mem.size else 0
        return _mem.MemoryPointer(self._mem, offset)

    @property
    def __cuda_array_interface__(self):
        c = self._a.flags.c_contiguous
        return {"shape": self.shape, "typestr": self.dtype.str, "descr": self.dtype.descr, "version": 3,
                "strides": None if c else self.strides, "data": (self.data.ptr, False), "stream": 1}

    T = property(lambda self: self.transpose())
    mT = property(lambda self: self.swapaxes(-1, -2))
    real = property(lambda self: result(self._a.real, [self]))
    imag = property(lambda self: result(self._a.imag, [self]))

    # -- host transfers -----------------------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True):
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained from cupy.ndarray")
            if out.dtype != self.dtype:
                raise TypeError(f"{out.dtype} array cannot be obtained from {self.dtype} array")
            if out.shape != self.shape:
                raise ValueError(f"Shape mismatch. Expected shape: {self.shape}, actual shape: {out.shape}")
            _mem.declare_read()
            out[...] = self._a
            return out
        _mem.declare_read()
        return np.array(self._a, order=order)

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if self.dtype != arr.dtype:
            raise TypeError(f"{arr.dtype} array cannot be set to {self.dtype} array")
        if self.shape != arr.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self.shape}, new shape: {arr.shape}")
        self._a[...] = arr

    def item(self):
        if self.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self.get().item()

    tolist = _host("tolist")
    __int__ = _host("__int__")
    __float__ = _host("__float__")
    __complex__ = _host("__complex__")
    __bool__ = _host("__bool__")
    __repr__ = _host("__repr__")
    __str__ = _host("__str__")
    __format__ = _host("__format__")

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy "
                        "array explicitly.")

    # -- the sequence protocol (no kernels) -------------------------------------------------
    def __len__(self):
        if not self.ndim:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if not self.ndim:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __getitem__(self, key):
        dev = _mem.get_device_id()
        sources = [self]
        k, advanced, mask = index_key(key, dev, sources, self.shape)
        if mask:
            _mem.declare_read()  # the mask's count of True values sizes the result
        if advanced:
            self._check(dev)
        elif not any(p is Ellipsis for p in (k if isinstance(k, tuple) else (k,))):
            k = (k if isinstance(k, tuple) else (k,)) + (Ellipsis,)  # a[0] is a 0-d view in CuPy, not a copy
        return result(self._a[k], sources)

    def __setitem__(self, key, value):
        dev = _mem.get_device_id()
        sources = [self]
        self._check(dev)
        k, advanced, mask = index_key(key, dev, sources, self.shape)
        if mask:
            _mem.declare_read()
        if isinstance(value, np.ndarray) and not advanced:  # CuPy fills the view with it
            if value.shape != ():
                raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
            value = value[()]
        self._a[k] = operand(value, dev, sources, host_ok=advanced)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    # -- methods ----------------------------------------------------------------------------
    def copy(self, order="C"):
        with _OnDevice(self._mem.device_id):
            return from_host(np.array(self._a, order=order))

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        dt = check_dtype(dtype)
        if not copy and dt == self.dtype:
            return self
        self._check(_mem.get_device_id())
        with np.errstate(all="ignore"):  # NaN to an integer casts without a warning, as in CuPy
            r = self._a.astype(dt, order=order, casting=casting or "unsafe")
        return from_host(r)

    def view(self, dtype=None, array_class=None):
        if array_class is not None:
            raise TypeError("array_class is not supported by the emulated cupy.ndarray")
        return result(self._a.view() if dtype is None else self._a.view(check_dtype(dtype)), [self])

    def fill(self, value):
        if isinstance(value, np.ndarray):
            if value.shape != ():
                raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
            value = value.item()
        dev = _mem.get_device_id()
        self._check(dev)
        self._a.fill(operand(value, dev, [self]))

    def take(self, indices, axis=None, out=None):
        dev = _mem.get_device_id()
        sources = [self]
        self._check(dev)
        idx = operand(indices, dev, sources, host_ok=True)
        o = operand(out, dev, sources)
        # indices wrap around as in CuPy's kernel (no bounds error)
        return result(self._a.take(np.asarray(idx), axis=axis, out=o, mode="wrap"), sources)

    def scatter_add(self, slices, value):
        import warnings

        from .cupy_funcs import scatter

        warnings.warn("`ndarray.scatter_add` is deprecated. Please use `cupy.add.at` instead.", DeprecationWarning,
                      stacklevel=2)
        scatter(self, slices, value, "add")

    def nonzero(self):
        self._check(_mem.get_device_id())
        _mem.declare_read()  # the count of non-zeros sizes the result
        return result(self._a.nonzero(), [self])

    reshape, ravel, squeeze, swapaxes, transpose, diagonal = (
        _view(n) for n in ("reshape", "ravel", "squeeze", "swapaxes", "transpose", "diagonal"))
    (all, any, argmax, argmin, clip, conj, conjugate, cumprod, cumsum, dot, flatten, max, mean, min, prod,
     repeat, round, std, sum, trace, var) = (
        _compute(n) for n in ("all", "any", "argmax", "argmin", "clip", "conj", "conjugate", "cumprod",
                              "cumsum", "dot", "flatten", "max", "mean", "min", "prod", "repeat", "round",
                              "std", "sum", "trace", "var"))
    _argsort, _sort = _compute("argsort"), _compute("sort")

    # CuPy's sorts are always stable and take no other kind= (its docs: "kind: Default is None,
    # which is equivalent to 'stable'. Unlike in NumPy any other options are not accepted")
    def argsort(self, axis=-1, kind=None):
        return self._argsort(axis=axis, kind=_stable_kind(kind))

    def sort(self, axis=-1, kind=None):
        return self._sort(axis=axis, kind=_stable_kind(kind))

    # -- NumPy interoperation, as CuPy: NumPy's functions and ufuncs run CuPy's ------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from . import cupy_funcs

        if "out" in kwargs:
            out = kwargs["out"]
            if len(out) != 1:
                raise ValueError("The 'out' parameter must have exactly one array value")
            kwargs["out"] = out[0]
        fn = cupy_funcs.array_ufuncs.get(ufunc.__name__)
        if fn is None or method not in ("__call__", "outer", "at", "reduce", "accumulate", "reduceat"):
            return NotImplemented
        if method != "__call__":
            fn = getattr(fn, method, None)
            if fn is None:
                return NotImplemented
        return fn(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from . import cupy_funcs

        if func.__module__.split(".")[1:] or not all(issubclass(t, (ndarray, np.ndarray)) for t in types):
            return NotImplemented
        fn = cupy_funcs.functions.get(func.__name__)
        return NotImplemented if fn is None else fn(*args, **kwargs)

    def __dlpack_device__(self):
        return 2, self._mem.device_id  # kDLCUDA

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        from .cupy_dlpack import export

        return export(self, dl_device, copy)

    # -- operators ----------------------------------------------------------------------------
    __add__, __sub__, __mul__, __truediv__, __floordiv__, __mod__, __pow__, __matmul__ = (
        _ufunc_op(n) for n in ("add", "subtract", "multiply", "true_divide", "floor_divide", "remainder", "power",
                               "matmul"))
    __and__, __or__, __xor__, __lshift__, __rshift__ = (
        _ufunc_op(n) for n in ("bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift"))
    __radd__, __rsub__, __rmul__, __rtruediv__, __rfloordiv__, __rmod__, __rpow__, __rmatmul__ = (
        _ufunc_op(n, reflected=True) for n in ("add", "subtract", "multiply", "true_divide", "floor_divide",
                                               "remainder", "power", "matmul"))
    __rand__, __ror__, __rxor__ = (_ufunc_op(n, reflected=True) for n in ("bitwise_and", "bitwise_or", "bitwise_xor"))
    __iadd__, __isub__, __imul__, __itruediv__, __ifloordiv__, __imod__, __ipow__ = (
        _ufunc_op(n, inplace=True) for n in ("add", "subtract", "multiply", "true_divide", "floor_divide",
                                             "remainder", "power"))
    __iand__, __ior__, __ixor__ = (_ufunc_op(n, inplace=True) for n in ("bitwise_and", "bitwise_or", "bitwise_xor"))
    __lt__, __le__, __gt__, __ge__, __eq__, __ne__ = (
        _ufunc_op(n) for n in ("less", "less_equal", "greater", "greater_equal", "equal", "not_equal"))
    __neg__, __pos__, __abs__, __invert__ = (_unary_op(n) for n in ("negative", "positive", "absolute", "invert"))
