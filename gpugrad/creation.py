"""Creation functions: tensor, zeros, ones, full, arange, linspace, eye, rand, randn,
randint, the ``*_like`` forms, from_numpy and DLPack. ``device=None`` is the default
device; float data defaults to float32 and integer data to int64, as in PyTorch."""

import numpy as np

from . import dtypes as _dt
from .backend import Backend, get_backend
from .errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from .functional._util import shape_arg
from .random import default_generator, stream_of
from .tensor import Tensor, _from_data


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor (always a copy) from a scalar, nested lists, an array or a tensor."""
    t = _from_data(data, dtype, device, "tensor")
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but returns ``data`` itself when it already fits."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == _dt.to_dtype(dtype)) and (
        device is None or data.device == device
    ):
        return data
    if isinstance(data, np.ndarray) and device in (None, "cpu") and get_backend(device).device == "cpu":
        arr = data if dtype is None else data.astype(_dt.to_dtype(dtype), copy=False)
        return Tensor._wrap(arr, get_backend("cpu"))
    return tensor(data, dtype, device)


def from_numpy(array):
    """A CPU tensor sharing memory with a NumPy array."""
    if not isinstance(array, np.ndarray):
        raise ArgumentTypeError(f"[from_numpy] expected a numpy.ndarray, got {type(array).__name__}")
    _dt.to_dtype(array.dtype, "from_numpy")
    return Tensor._wrap(array, get_backend("cpu"))


def from_dlpack(obj):
    """A tensor sharing memory with any DLPack producer (NumPy, CuPy, PyTorch, JAX...)."""
    device_type, index = obj.__dlpack_device__()
    if int(device_type) == 1:  # kDLCPU
        backend = get_backend("cpu")
    elif int(device_type) == 2:  # kDLCUDA
        backend = get_backend(f"cuda:{index}")
    else:
        raise DTypeError(f"[from_dlpack] unsupported DLPack device type {device_type}")
    with backend.scope():
        arr = backend.xp.from_dlpack(obj)
    _dt.to_dtype(arr.dtype, "from_dlpack")
    return Tensor._wrap(arr, backend)


def _make(fn, shape, dtype, device, requires_grad, op):
    shape = shape_arg(shape, op)
    if any(n < 0 for n in shape):
        raise ShapeError(f"[{op}] sizes must be non-negative, got {shape}")
    backend = device if isinstance(device, Backend) else get_backend(device)
    with backend.scope():
        t = Tensor._wrap(fn(backend, shape, _dt.to_dtype(dtype, op) or _dt.default_float), backend)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _make(lambda b, s, d: b.xp.zeros(s, dtype=d), size, dtype, device, requires_grad, "zeros")


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _make(lambda b, s, d: b.xp.ones(s, dtype=d), size, dtype, device, requires_grad, "ones")


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _make(lambda b, s, d: b.xp.empty(s, dtype=d), size, dtype, device, requires_grad, "empty")


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = _dt.infer_dtype(fill_value)
    return _make(lambda b, s, d: b.xp.full(s, fill_value, dtype=d), (size,) if isinstance(size, int) else size,
                 dtype, device, requires_grad, "full")


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform [0, 1) from ``generator`` (a ``gpugrad.Generator`` of the device) or the
    device's default generator (seeded by ``gpugrad.manual_seed``)."""
    return _make(lambda b, s, d: b.rand(s, _float_only(d, "rand"), stream_of(generator, b, "rand")),
                 size, dtype, device, requires_grad, "rand")


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal from ``generator`` or the device's default generator."""
    return _make(lambda b, s, d: b.randn(s, _float_only(d, "randn"), stream_of(generator, b, "randn")),
                 size, dtype, device, requires_grad, "randn")


def randint(low, high=None, size=(), dtype=None, device=None, *, generator=None):
    """Integers in [low, high) (int64 unless dtype says otherwise), from ``generator`` or the
    device's default generator."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ArgumentError(f"[randint] expected low < high, got {low} and {high}")
    return _make(lambda b, s, d: b.randint(low, high, s, d, stream_of(generator, b, "randint")),
                 size, dtype or _dt.int64, device, False, "randint")


def _float_only(dt, op):
    if dt.kind != "f":
        raise DTypeError(f"[{op}] needs a floating dtype, got {dt}")
    return dt


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """[start, end) by step; int64 for integer arguments, float32 when any is a float."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ArgumentError("[arange] step must be non-zero")
    if dtype is None:
        dtype = _dt.default_float if any(isinstance(v, float) for v in (start, end, step)) else _dt.int64
    dt = _dt.to_dtype(dtype, "arange")
    backend = get_backend(device)
    work = np.float64 if dt.kind == "f" else dt  # float steps accumulate in float64
    with backend.scope():
        t = Tensor._wrap(backend.xp.arange(start, end, step, dtype=work).astype(dt), backend)
    return t.requires_grad_(True) if requires_grad else t


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    if steps < 0:
        raise ArgumentError(f"[linspace] steps must be non-negative, got {steps}")
    dt = _dt.to_dtype(dtype, "linspace") or _dt.default_float
    backend = get_backend(device)
    with backend.scope():
        t = Tensor._wrap(backend.xp.linspace(start, end, steps).astype(dt), backend)
    return t.requires_grad_(True) if requires_grad else t


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    backend = get_backend(device)
    dt = _dt.to_dtype(dtype, "eye") or _dt.default_float
    with backend.scope():
        t = Tensor._wrap(backend.xp.eye(n, m, dtype=dt), backend)
    return t.requires_grad_(True) if requires_grad else t


def _like(fn):
    def like(x, dtype=None, device=None, requires_grad=False, **kw):
        return fn(x.shape, **kw, dtype=dtype or x.dtype, device=device or x._backend, requires_grad=requires_grad)

    like.__name__ = like.__qualname__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with x's shape, dtype and device (unless given)."
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
rand_like = _like(rand)
randn_like = _like(randn)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x._backend, requires_grad=requires_grad)


def manual_seed(seed):
    """Seed the default generators: the CPU's and those of every CUDA device in use. Returns
    ``gpugrad.default_generator`` (the CPU's), as ``torch.manual_seed`` does."""
    from . import backend as _backend

    seed = default_generator.manual_seed(seed).initial_seed()
    _backend.cuda.set_default_seed(seed)  # and the CUDA devices not used yet, when they are
    for b in list(_backend._backends.values()):
        if b.device != "cpu":
            b.seed(seed)
    return default_generator


def get_rng_state():
    """The CPU default generator's state (a JSON-friendly dict), for exact resumption."""
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)
