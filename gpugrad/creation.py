"""Creation functions: tensor, zeros, ones, full, arange, linspace, eye, rand, randn,
randint, randperm, the ``*_like`` forms, from_numpy and DLPack, multinomial (draws from
given weights), bernoulli and normal, ``Size`` and the ``Tensor.new_*`` methods.
``device=None`` is the default device; float data defaults to float32 and integer data to
int64, as in PyTorch.

They take PyTorch's keywords (keyword-only, as there, except the older positional dtype and
device of linspace and eye): ``dtype``, ``device``, ``requires_grad``, ``generator`` where
PyTorch has it, ``size=`` instead of positional sizes, and ``out``, ``layout`` and
``pin_memory`` at their defaults only (``out=None``, ``layout=gpugrad.strided``,
``pin_memory=False``): any other value is an ArgumentError that says what to do instead."""

import numpy as np

from . import dtypes as _dt
from .backend import Backend, get_backend
from .backend.dlpack import import_cpu
from .dtypes import is_floating
from .errors import ArgumentError, ArgumentTypeError, DeviceError, DTypeError, ShapeError
from .functional._util import shape_arg
from .random import default_generator, stream_of
from .tensor import Tensor, _from_data


def tensor(data, dtype=None, device=None, requires_grad=False, *, pin_memory=False):
    """A new tensor (always a copy) from a scalar, nested lists, an array or a tensor."""
    _defaults_only("tensor", pin_memory=pin_memory)
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
        try:
            arr = import_cpu(obj, _dt.bfloat16) if backend.device.type == "cpu" else backend.xp.from_dlpack(obj)
        except (BufferError, RuntimeError) as exc:  # NumPy's words for a dtype it lacks (float8, ...)
            raise DTypeError(f"[from_dlpack] cannot import this {type(obj).__name__}: {exc}") from None
    _dt.to_dtype(arr.dtype, "from_dlpack")
    return Tensor._wrap(arr, backend)


class _Layout:
    """A memory layout, as ``torch.layout``: gpugrad's tensors have one, ``gpugrad.strided``."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"gpugrad.{self.name}"

    def __reduce__(self):
        return self.name  # pickled by name: the one object comes back


strided = _Layout("strided")


def _defaults_only(op, out=None, layout=None, pin_memory=False):
    """Refuse PyTorch's options that gpugrad has only at their default values."""
    if out is not None:
        raise ArgumentError(f"[{op}] expected out=None (gpugrad does not write into out=), got a "
                            f"{type(out).__name__}; assign the result, or out.copy_() it into the tensor")
    if layout is not None and layout is not strided:
        raise ArgumentError(f"[{op}] expected layout=gpugrad.strided (tensors are dense), got {layout!r}")
    if pin_memory:
        raise ArgumentError(f"[{op}] expected pin_memory=False (gpugrad has no pinned host memory), got "
                            f"{pin_memory!r}; create the tensor on its device with device=")


def _size(sizes, size, op):
    """The sizes given as ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``."""
    if size is None:
        return sizes
    if sizes:
        raise ArgumentTypeError(f"[{op}] expected the sizes once, positional or size=, got both: {sizes} and {size}")
    return (size,)


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


def zeros(*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False):
    _defaults_only("zeros", out, layout, pin_memory)
    return _make(lambda b, s, d: b.xp.zeros(s, dtype=d), _size(sizes, size, "zeros"), dtype, device, requires_grad,
                 "zeros")


def ones(*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    _defaults_only("ones", out, layout, pin_memory)
    return _make(lambda b, s, d: b.xp.ones(s, dtype=d), _size(sizes, size, "ones"), dtype, device, requires_grad,
                 "ones")


def empty(*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    _defaults_only("empty", out, layout, pin_memory)
    return _make(lambda b, s, d: b.xp.empty(s, dtype=d), _size(sizes, size, "empty"), dtype, device, requires_grad,
                 "empty")


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    _defaults_only("full", out, layout, pin_memory)
    if dtype is None:
        dtype = _dt.infer_dtype(fill_value)
    return _make(lambda b, s, d: b.xp.full(s, fill_value, dtype=d), (size,), dtype, device, requires_grad, "full")


def rand(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    """Uniform [0, 1) from ``generator`` (a ``gpugrad.Generator`` of the device) or the
    device's default generator (seeded by ``gpugrad.manual_seed``)."""
    _defaults_only("rand", out, layout, pin_memory)
    return _make(lambda b, s, d: b.rand(s, _float_only(d, "rand"), stream_of(generator, b, "rand")),
                 _size(sizes, size, "rand"), dtype, device, requires_grad, "rand")


def randn(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False):
    """Standard normal from ``generator`` or the device's default generator."""
    _defaults_only("randn", out, layout, pin_memory)
    return _make(lambda b, s, d: b.randn(s, _float_only(d, "randn"), stream_of(generator, b, "randn")),
                 _size(sizes, size, "randn"), dtype, device, requires_grad, "randn")


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False, pin_memory=False):
    """Integers in [low, high) (int64 unless dtype says otherwise), from ``generator`` or the
    device's default generator. As PyTorch's: ``randint(high, size)``, ``randint(low, high,
    size)`` or keywords; without a size, one 0-d tensor."""
    _defaults_only("randint", out, layout, pin_memory)
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ArgumentError(f"[randint] expected low < high, got {low} and {high}")
    return _make(lambda b, s, d: _integers(b, low, high, s, d, stream_of(generator, b, "randint")),
                 () if size is None else (size,), dtype or _dt.int64, device, requires_grad, "randint")


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    """A random permutation of 0..n-1 (int64 unless dtype says otherwise), from ``generator``
    or the device's default generator: the order of ``n`` uniform float64 draws."""
    _defaults_only("randperm", out, layout, pin_memory)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ArgumentTypeError(f"[randperm] expected n to be an int, got {type(n).__name__}")
    if n < 0:
        raise ArgumentError(f"[randperm] expected n >= 0, got {n}")
    dt = _dt.to_dtype(dtype, "randperm") or _dt.int64
    if dt.kind == "b" or n > 1 + int(np.iinfo(dt).max if dt.kind in "iu" else 2 ** np.finfo(dt).nmant):
        raise ArgumentError(f"[randperm] expected n to fit dtype {dt} (as distinct values), got {n}")

    def draw(b, s, d):
        keys = b.rand(s, _dt.float64, stream_of(generator, b, "randperm"))
        return keys.argsort().astype(d)

    return _make(draw, (int(n),), dt, device, requires_grad, "randperm")


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):  # noqa: A002
    """``num_samples`` category indices (int64) drawn from each row of the non-negative
    weights ``input`` ((n,) or (rows, n); they need not sum to 1), from ``generator`` or the
    device's default generator. With ``replacement`` each draw is independent (the inverse of
    the rows' cumulative sums at uniform draws); without, no index repeats in a row, each
    next one drawn in proportion to the weights left (the smallest of Exponential(w) keys),
    so a row needs at least ``num_samples`` non-zero weights. Result (num_samples,) or
    (rows, num_samples). The weights are checked on the host (one read)."""
    op = "multinomial"
    _defaults_only(op, out)
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor of weights, got {type(input).__name__}")
    if input.ndim not in (1, 2):
        raise ShapeError(f"[{op}] expected a 1-D or 2-D tensor of weights, got shape {input.shape}")
    if not is_floating(input.dtype):
        raise DTypeError(f"[{op}] expected floating point weights, got {input.dtype}; call .float() first")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        raise ArgumentTypeError(f"[{op}] expected num_samples to be an int, got {type(num_samples).__name__}")
    n, k = input.shape[-1], int(num_samples)
    if k <= 0:
        raise ArgumentError(f"[{op}] expected num_samples > 0, got {k}")
    if n == 0:
        raise ShapeError(f"[{op}] expected at least one category, got weights of shape {input.shape}")
    if not replacement and k > n:
        raise ArgumentError(f"[{op}] cannot draw {k} samples without replacement from {n} categories")
    b = input._backend
    xp, stream = b.xp, stream_of(generator, b, op)
    with b.scope(), b.quiet():
        w = input.array.reshape(-1, n).astype(_dt.float64)
        rows = w.shape[0]
        if rows:
            bad, fewest = b.to_host(xp.stack([(~xp.isfinite(w) | (w < 0)).any(), (w > 0).sum(axis=1).min()]))
            if bad:
                raise ArgumentError(f"[{op}] expected finite, non-negative weights; got inf, NaN or a negative one")
            if fewest == 0:
                raise ArgumentError(f"[{op}] expected every row of weights to have a positive sum, got an all-zero row")
            if not replacement and k > fewest:
                raise ArgumentError(f"[{op}] cannot draw {k} samples without replacement from a row with only "
                                    f"{int(fewest)} non-zero weights")
        w = w / w.max(axis=1, keepdims=True)  # sums stay finite for any finite weights
        if replacement:
            cdf = xp.cumsum(w, axis=1)
            cdf = cdf / cdf[:, -1:]  # exactly 1 at the end, flat across zero weights
            u = b.rand((rows, k), _dt.float64, stream)
            step = max(1, (1 << 22) // max(rows * n, 1))  # bound the (rows, step, n) comparison
            idx = xp.concatenate([(cdf[:, None, :] <= u[:, i:i + step, None]).sum(axis=2)
                                  for i in range(0, k, step)], axis=1) if rows else xp.zeros((0, k))
        else:
            keys = -xp.log(1.0 - b.rand((rows, n), _dt.float64, stream)) / w  # inf for zero weights
            idx = keys.argsort(axis=1)[:, :k]
        idx = idx.astype(_dt.int64, copy=False)
        return Tensor._wrap(idx.reshape(k) if input.ndim == 1 else idx, b)


def _integers(backend, low, high, shape, dt, stream):
    # the backends draw integer dtypes only; PyTorch also gives whole numbers in a float dtype
    if is_floating(dt):
        return backend.randint(low, high, shape, _dt.int64, stream).astype(dt)
    return backend.randint(low, high, shape, dt, stream)


def _float_only(dt, op):
    if not is_floating(dt):
        raise DTypeError(f"[{op}] needs a floating dtype, got {dt}")
    return dt


def arange(start=None, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
           pin_memory=False):
    """[start, end) by step; int64 for integer arguments, float32 when any is a float.
    ``arange(end)``, ``arange(start, end[, step])`` or keywords (``arange(end=5)``)."""
    _defaults_only("arange", out, layout, pin_memory)
    if end is None:
        if start is None:
            raise ArgumentTypeError("[arange] expected an end, got neither start nor end")
        start, end = 0, start
    elif start is None:
        start = 0
    if step == 0:
        raise ArgumentError("[arange] step must be non-zero")
    if dtype is None:
        dtype = _dt.default_float if any(isinstance(v, float) for v in (start, end, step)) else _dt.int64
    dt = _dt.to_dtype(dtype, "arange")
    backend = get_backend(device)
    work = np.float64 if is_floating(dt) else dt  # float steps accumulate in float64
    with backend.scope():
        t = Tensor._wrap(backend.xp.arange(start, end, step, dtype=work).astype(dt), backend)
    return t.requires_grad_(True) if requires_grad else t


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False, *, out=None, layout=None,
             pin_memory=False):
    _defaults_only("linspace", out, layout, pin_memory)
    if steps < 0:
        raise ArgumentError(f"[linspace] steps must be non-negative, got {steps}")
    dt = _dt.to_dtype(dtype, "linspace") or _dt.default_float
    backend = get_backend(device)
    with backend.scope():
        t = Tensor._wrap(backend.xp.linspace(start, end, steps).astype(dt), backend)
    return t.requires_grad_(True) if requires_grad else t


def eye(n, m=None, dtype=None, device=None, requires_grad=False, *, out=None, layout=None, pin_memory=False):
    _defaults_only("eye", out, layout, pin_memory)
    backend = get_backend(device)
    dt = _dt.to_dtype(dtype, "eye") or _dt.default_float
    with backend.scope():
        t = Tensor._wrap(backend.xp.eye(n, m, dtype=dt), backend)
    return t.requires_grad_(True) if requires_grad else t


def _like(fn):
    def like(x, *, dtype=None, layout=None, device=None, requires_grad=False, **kw):
        return fn(x.shape, **kw, dtype=dtype or x.dtype, layout=layout, device=device or x._backend,
                  requires_grad=requires_grad)

    like.__name__ = like.__qualname__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with x's shape, dtype and device (unless given)."
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
rand_like = _like(rand)
randn_like = _like(randn)


def full_like(x, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, layout=layout, device=device or x._backend,
                requires_grad=requires_grad, pin_memory=pin_memory)


def randint_like(x, low=0, high=None, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
                 pin_memory=False):
    """``randint(low, high)`` (or ``randint_like(x, high)``) with x's shape, dtype and device
    (unless given)."""
    return randint(low, high, x.shape, generator=generator, dtype=dtype or x.dtype, layout=layout,
                   device=device or x._backend, requires_grad=requires_grad, pin_memory=pin_memory)


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


# -- issue 17: Size, bernoulli, normal, Tensor.new_* -------------------------------------------
class Size(tuple):
    """A shape, as ``torch.Size``: a tuple of ints (equal to the plain tuple of the same
    sizes) with ``numel()``. ``Tensor.shape`` stays a plain tuple (it is read on every op)."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        sizes = tuple(sizes)
        for n in sizes:
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
                raise ArgumentTypeError(f"[Size] expected ints, got {type(n).__name__} in {sizes!r}")
        return super().__new__(cls, (int(n) for n in sizes))

    def numel(self):
        """The number of elements of a tensor of this shape (1 for ``Size([])``)."""
        return int(np.prod(self, dtype=np.int64))

    def __getitem__(self, key):
        out = super().__getitem__(key)
        return Size(out) if isinstance(key, slice) else out

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __repr__(self):
        return f"gpugrad.Size({list(self)!r})"

    def __reduce__(self):
        return Size, (tuple(self),)


def _in_graph(values, backend, *params):
    """``values`` (an array of ``backend``) as a tensor drawn from the tensors ``params``:
    in the graph with gradient 0 to them, as PyTorch's bernoulli and normal."""
    from .ops.elementwise import Sampled

    params = [p for p in params if isinstance(p, Tensor)]
    return Sampled(values)(*params) if params else Tensor._wrap(values, backend)


def bernoulli(input, p=None, *, generator=None, out=None):  # noqa: A002
    """0 or 1 in ``input``'s dtype and shape: 1 with probability ``input`` (floating point
    probabilities in [0, 1]) or, given ``p``, with probability ``p`` for every element. From
    ``generator`` or the device's default generator."""
    op = "bernoulli"
    _defaults_only(op, out)
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(input).__name__}")
    b = input._backend
    stream = stream_of(generator, b, op)
    if p is None:
        if not is_floating(input.dtype):
            raise DTypeError(f"[{op}] expected floating point probabilities, got {input.dtype}; call .float() first")
        from .functional._util import check_values

        check_values(input, lambda a: ~((a >= 0) & (a <= 1)),
                     f"[{op}] expected probabilities in [0, 1], got one outside (or NaN) at flat index {{position}}",
                     ArgumentError)
        probs = input.array
    else:
        if isinstance(p, bool) or not isinstance(p, (int, float, np.number)):
            raise ArgumentTypeError(f"[{op}] expected p to be a number, got {type(p).__name__}")
        if not 0 <= p <= 1:
            raise ArgumentError(f"[{op}] expected p in [0, 1], got {p}")
        probs = float(p)
    with b.scope():
        u = b.rand(input.shape, _dt.float64 if input.dtype == _dt.float64 else _dt.float32, stream)
        values = (u < probs).astype(input.dtype)
    return _in_graph(values, b, input)


def _check_std(std, op):
    if isinstance(std, Tensor):
        from .functional._util import check_values

        check_values(std, lambda a: ~(a >= 0), f"[{op}] expected every std >= 0, got a negative (or NaN) one at "
                     "flat index {position}", ArgumentError)
    elif not std >= 0:
        raise ArgumentError(f"[{op}] expected std >= 0, got {std}")


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    """Normal draws, as ``torch.normal``: ``normal(mean, std)`` with a tensor mean and/or std
    (floating point; the result has their broadcast shape and the dtype of mean, or of std
    when mean is a number; gradient 0 to them, as PyTorch), or ``normal(mean, std, size)``
    with numbers (``dtype``, ``device``, ``requires_grad`` as in ``randn``). From
    ``generator`` or the device's default generator; std must be >= 0."""
    op = "normal"
    _defaults_only(op, out, layout, pin_memory)
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    for name, v in (("mean", mean), ("std", std)):
        if not isinstance(v, Tensor) and (isinstance(v, bool) or not isinstance(v, (int, float, np.number))):
            raise ArgumentTypeError(f"[{op}] expected {name} to be a Tensor or a number, got {type(v).__name__}")
    if not tensors:
        if size is None:
            raise ArgumentTypeError(f"[{op}] with a number mean and std, expected a size, got none")
        _check_std(std, op)
        return _make(lambda b, s, d: b.randn(s, _float_only(d, op), stream_of(generator, b, op)) * std + mean,
                     (size,), dtype, device, requires_grad, op)
    if size is not None or dtype is not None or device is not None or requires_grad:
        raise ArgumentTypeError(f"[{op}] with a tensor mean or std, expected no size, dtype, device or "
                                "requires_grad (the result follows the tensors), got some")
    for t in tensors:
        if not is_floating(t.dtype):
            raise DTypeError(f"[{op}] expected floating point mean and std, got {t.dtype}; call .float() first")
    b = tensors[0]._backend
    if any(t._backend is not b for t in tensors):
        raise DeviceError(f"[{op}] expected mean and std on one device, got {mean.device} and {std.device}")
    dt = (mean if isinstance(mean, Tensor) else std).dtype
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        raise ShapeError(f"[{op}] expected broadcastable mean and std, got shapes "
                         f"{' and '.join(str(tuple(t.shape)) for t in tensors)}") from None
    _check_std(std, op)
    stream = stream_of(generator, b, op)
    m, s = (v.array if isinstance(v, Tensor) else v for v in (mean, std))
    with b.scope():
        values = (b.randn(shape, dt, stream) * s + m).astype(dt, copy=False)
    return _in_graph(values, b, mean, std)


def _new(fn, op):
    def new(self, *sizes, size=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
        return fn(*sizes, size=size, dtype=dtype or self.dtype, device=device or self._backend, layout=layout,
                  requires_grad=requires_grad, pin_memory=pin_memory)

    new.__name__ = new.__qualname__ = op
    new.__doc__ = f"``{fn.__name__}`` with this tensor's dtype and device (unless given)."
    return new


new_zeros = _new(zeros, "new_zeros")
new_ones = _new(ones, "new_ones")
new_empty = _new(empty, "new_empty")


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """``full`` with this tensor's dtype and device (unless given)."""
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self._backend, layout=layout,
                requires_grad=requires_grad, pin_memory=pin_memory)


def new_tensor(self, data, dtype=None, device=None, requires_grad=False, *, pin_memory=False):
    """``tensor(data)`` (a copy) with this tensor's dtype and device (unless given)."""
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad,
                  pin_memory=pin_memory)
