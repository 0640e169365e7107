"""Tensor: an array of one backend plus the autograd bookkeeping.

``array`` is the backend array (``numpy.ndarray`` or ``cupy.ndarray``); ``data`` is what it
is in PyTorch, a detached Tensor on the same memory. ``creator`` is the op that made the
tensor (``grad_fn`` in PyTorch's words). Operators and methods delegate to the ops through
``gpugrad.functional``.
"""

import copy
import warnings
import weakref

import numpy as np

from . import dtypes as _dt
from .autograd import api as _api
from .autograd.engine import PostAccumulateHook
from .autograd.grad_mode import state as _grad_state
from .backend import get_backend
from .dtypes import is_floating
from .errors import ArgumentTypeError, AutogradError, BackendUnavailableError, DeviceError, DTypeError, ShapeError
from .random import stream_of

_new = object.__new__


class Tensor:
    __slots__ = (
        "array", "_backend", "requires_grad", "_grad", "creator", "_index", "_vc", "_base",
        "_hooks", "__weakref__",
    )  # fmt: skip
    __array_ufunc__ = None  # NumPy defers to our reflected operators (ndarray * Tensor)

    def __init__(self, *args, requires_grad=False, dtype=None, device=None):
        """As ``torch.Tensor``: ``Tensor(data)`` copies data into the default float dtype
        (float32, unless ``dtype`` says otherwise), ``Tensor(3, 4)`` is a zero-filled 3 x 4
        tensor of it, ``Tensor()`` an empty one. ``gpugrad.tensor`` keeps the data's dtype."""
        dt = dtype or _dt.default_float
        if not args:
            args = ((),)
        if len(args) > 1 or isinstance(args[0], int) and not isinstance(args[0], bool):
            if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in args):
                raise ArgumentTypeError(f"[Tensor] expected data, or sizes as non-negative ints, got {args}")
            backend = get_backend(device)
            with backend.scope():
                t = Tensor._wrap(backend.xp.zeros(args, dtype=_dt.to_dtype(dt, "Tensor")), backend)
        else:
            t = _from_data(args[0], dt, device, "Tensor")
        self.array, self._backend = t.array, t._backend
        self.grad = self.creator = self._base = self._hooks = None
        self._index, self._vc, self.requires_grad = 0, [0], False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(data, backend, creator=None, index=0, requires_grad=False):
        """The fast internal constructor: ``data`` is already an array of ``backend``."""
        t = _new(Tensor)
        t.array = data
        t._backend = backend
        t.requires_grad = requires_grad
        t._grad = None
        t.creator = creator
        t._index = index
        t._vc = [0]
        t._base = None
        t._hooks = None
        return t

    def _like(self, data):
        """A new tensor on this tensor's device holding ``data``, outside any graph."""
        return Tensor._wrap(data, self._backend)

    @property
    def data(self):
        """PyTorch's ``.data``: a tensor on the same memory, detached from the graph, with a
        version counter of its own, so changes made through it (``p.data -= lr * p.grad``,
        ``w.data.normal_()``) are not seen by autograd. ``array`` is the backend array."""
        return Tensor._wrap(self.array, self._backend)

    @data.setter
    def data(self, value):
        # PyTorch's ``layer.weight.data = t``: this tensor holds t's values (its dtype and
        # device too) from now on; the graph and the version counter are untouched
        if not isinstance(value, Tensor):
            raise ArgumentTypeError(f"[data] expected a Tensor, got {type(value).__name__}")
        self.array, self._backend = value.array, value._backend

    # -- properties ---------------------------------------------------------------
    @property
    def shape(self):
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def device(self):
        return self._backend.device

    @property
    def ndim(self):
        return self.array.ndim

    @property
    def is_leaf(self):
        return self.creator is None

    @property
    def grad_fn(self):
        return self.creator

    @property
    def grad(self):
        """The gradient that backward accumulated (None before), of this tensor's shape,
        dtype and device."""
        return self._grad

    @grad.setter
    def grad(self, g):
        # refused as PyTorch refuses it: the fused optimizer kernels read a parameter's
        # gradient through the parameter's own pointer type and size
        if g is not None:
            # a Tensor, or Embedding(sparse=True)'s row-sparse gradient (nn.sparse.SparseGrad,
            # which holds its rows' values as a Tensor and says its shape, dtype and device)
            if not isinstance(g, Tensor) and not isinstance(getattr(g, "values", None), Tensor):
                raise ArgumentTypeError(
                    f"[grad] assigned grad expected to be a Tensor or None, got {type(g).__name__}")
            shape, dtype, device = tuple(g.shape), g.dtype, g.device
            if dtype != self.dtype:
                raise DTypeError(f"[grad] attempting to assign a gradient with dtype {dtype} to a tensor with dtype "
                                 f"{self.dtype}: expected the same dtype")
            if device != self.device:
                raise DeviceError(f"[grad] attempting to assign a gradient on {device} to a tensor on {self.device}: "
                                  "expected the same device")
            if shape != self.shape:
                raise ShapeError(f"[grad] attempting to assign a gradient of shape {shape} to a tensor of shape "
                                 f"{self.shape}: expected the same shape")
        self._grad = g

    @property
    def is_cuda(self):
        return self._backend.device.type == "cuda"

    @property
    def _version(self):
        return self._vc[0]

    def dim(self):
        return self.array.ndim

    def numel(self):
        return int(self.array.size)

    def element_size(self):
        return self.array.dtype.itemsize

    def size(self, dim=None):
        if dim is None:
            return self.array.shape
        return self.array.shape[F._axis(dim, self.array.ndim, "size")]

    def __len__(self):
        if self.array.ndim == 0:
            raise ArgumentTypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        if self.array.ndim == 0:
            raise ArgumentTypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.array.shape[0]))

    __hash__ = object.__hash__

    # -- autograd -----------------------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        if self.creator is not None:
            raise AutogradError(
                "[requires_grad_] only leaf tensors can change requires_grad; use "
                ".detach().requires_grad_() to start a new leaf"
            )
        if requires_grad and not is_floating(self.array.dtype):
            raise DTypeError(
                f"[requires_grad_] only floating point tensors can require gradients, got {self.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """The same data (and version counter) outside the graph."""
        t = Tensor._wrap(self.array, self._backend)
        t._vc = self._vc
        return t

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        if not self.requires_grad:
            raise AutogradError(
                "[backward] this tensor does not require grad and has no grad_fn: no input "
                "that led to it has requires_grad=True (or it was computed under no_grad)"
            )
        _api.backward([self], None if gradient is None else [gradient], retain_graph, create_graph)

    def register_hook(self, hook):
        """``hook(grad) -> Tensor or None`` runs on this tensor's total gradient in backward;
        a returned tensor replaces the gradient. Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise AutogradError("[register_hook] cannot register a hook on a tensor that does not require grad")
        if self.creator is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            op = self.creator
            if op.hooks is None:
                op.hooks = {}
            hooks = op.hooks.setdefault(self._index, [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """``hook(tensor) -> None`` runs in backward right after this leaf's ``.grad`` has
        been accumulated (the gradient is complete: DistributedDataParallel starts its
        all-reduce from here). Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise AutogradError("[register_post_accumulate_grad_hook] cannot register a hook on a tensor that does "
                                "not require grad")
        if self.creator is not None:
            raise AutogradError("[register_post_accumulate_grad_hook] post accumulate grad hooks cannot be "
                                "registered on non-leaf tensors")
        if not callable(hook):
            raise ArgumentTypeError(f"[register_post_accumulate_grad_hook] expected a callable, got "
                                    f"{type(hook).__name__}")
        if self._hooks is None:
            self._hooks = []
        entry = PostAccumulateHook(hook)
        self._hooks.append(entry)
        return _HookHandle(self._hooks, entry)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if self.creator is None:
            return
        ref = weakref.ref(self)

        def keep(g):
            t = ref()
            if t is not None:
                g2 = g if _grad_state.grad_enabled else g.detach()
                t.grad = g2 if t.grad is None else t.grad + g2

        keep.retains_grad = True
        if not self.retains_grad:
            self.register_hook(keep)

    @property
    def retains_grad(self):
        op = self.creator
        if op is None or op.hooks is None:
            return False
        return any(getattr(h, "retains_grad", False) for h in op.hooks.get(self._index, ()))

    def zero_grad(self):
        self.grad = None

    # -- conversion -----------------------------------------------------------------
    def numpy(self):
        """The data as a NumPy array (shared on the CPU, copied from a GPU)."""
        return self._backend.to_host(self.array)

    def __array__(self, dtype=None, copy=None):
        if self._backend.device.type != "cpu":
            raise ArgumentTypeError(
                f"[__array__] cannot convert a {self.device} tensor to NumPy implicitly; "
                "call .cpu() or .numpy() first"
            )
        if copy:
            return np.array(self.array, dtype=dtype)
        return self.array if dtype is None else self.array.astype(dtype, copy=False)

    def item(self):
        if self.array.size != 1:
            raise ShapeError(
                f"[item] only one-element tensors convert to Python scalars, got shape {self.shape}"
            )
        return self._backend.to_host(self.array.reshape(())).item()

    def tolist(self):
        return self.numpy().tolist()

    def __dlpack__(self, *args, **kwargs):
        if self.array.dtype == _dt.bfloat16 and isinstance(self.array, np.ndarray):  # NumPy's DLPack lacks it
            from .backend.dlpack import export_bfloat16

            return export_bfloat16(self.array, *args, **kwargs)
        return self.array.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()

    def __bool__(self):
        if self.array.size != 1:
            raise ShapeError(
                f"[__bool__] the truth value of a tensor with {self.array.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.array.dtype.kind not in "iu" or self.array.size != 1:
            raise ArgumentTypeError(
                f"[__index__] only one-element integer tensors can be used as an index, got {self.dtype}"
            )
        return int(self.item())

    def to(self, *args, dtype=None, device=None, copy=False):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or keywords; differentiable."""
        for a in args:
            if isinstance(a, (str, _Device)) and not _is_dtype_name(a):
                device = a
            elif isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            else:
                dtype = a
        t = self
        if device is not None:
            backend = get_backend(device)
            if backend is not t._backend:
                t = F.to_device(t, backend)
        if dtype is not None:
            dt = _dt.to_dtype(dtype, "to")
            if dt != t.dtype:
                t = F.cast(t, dt)
        if copy and t is self:
            t = self.clone()
        return t

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else device if isinstance(device, str) else f"cuda:{device}")

    def float(self):
        return self.to(dtype=_dt.float32)

    def double(self):
        return self.to(dtype=_dt.float64)

    def half(self):
        return self.to(dtype=_dt.float16)

    def bfloat16(self):
        return self.to(dtype=_dt.bfloat16)

    def int(self):
        return self.to(dtype=_dt.int32)

    def long(self):
        return self.to(dtype=_dt.int64)

    def bool(self):
        return self.to(dtype=_dt.bool_)

    def type(self, dtype=None):
        return self.dtype.name if dtype is None else self.to(dtype=dtype)

    # -- copying and pickling (in memory; checkpoint files are safetensors) --------------
    def __reduce_ex__(self, protocol):
        """Pickled as PyTorch pickles a tensor: its values (through host memory), dtype,
        device, type (a Parameter stays one) and ``requires_grad``; it comes back as a leaf,
        without ``.grad`` or hooks. CPU tensors that hold the same array share it again."""
        return _unpickle, (type(self), self._backend.to_host(self.array), str(self.device), self.requires_grad)

    def __deepcopy__(self, memo):
        """As PyTorch's: graph leaves only; the copy has its own data (tensors that shared an
        array share its copy), ``requires_grad`` and a deep copy of ``.grad``, but no hooks."""
        if self.creator is not None:
            raise AutogradError(
                "[deepcopy] only tensors created explicitly by the user (graph leaves) support the deepcopy "
                f"protocol, got one made by {self.creator.name}; deep-copy .detach() instead"
            )
        with self._backend.scope():
            new = _leaf(type(self), copy.deepcopy(self.array, memo), self._backend, self.requires_grad)
        memo[id(self)] = new
        if self._grad is not None:
            new._grad = copy.deepcopy(self._grad, memo)
        return new

    def __copy__(self):
        # shallow, as PyTorch's: a new leaf on the same memory
        return _leaf(type(self), self.array, self._backend, self.requires_grad)

    # -- printing -------------------------------------------------------------------
    def __repr__(self):
        host = self._backend.to_host(self.array)
        shown = host.astype(np.float32) if host.dtype == _dt.bfloat16 else host  # ml_dtypes prints 1.0 as "1"
        body = np.array2string(shown, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)
        extras = []
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if host.dtype not in (_dt.float32, _dt.int64, _dt.bool_) or host.size == 0:
            extras.append(f"dtype={host.dtype.name}")
        if self.creator is not None:
            extras.append(f"grad_fn=<{self.creator.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # -- in-place ops (version counters) ------------------------------------------
    def _inplace(self, fn, *args, fast=None, name=None):
        """Run out-of-place ``fn(self, *args)`` and write the result into ``self``.

        Outside a graph (no_grad, or nothing requires grad) ``fast(data, *args)`` works on
        the array directly. Inside one, ``self`` is re-pointed at the new op; the old value
        is kept as a copy so ops that saved it for backward still see it. ``name`` (the
        method's, without the underscore) names it in errors; ``fn``'s name by default.
        """
        recording = _grad_state.grad_enabled and (
            self.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args)
        )
        name = name or fn.__name__
        if recording:
            if self.creator is None and self.requires_grad:
                raise AutogradError(
                    f"[{name}_] a leaf tensor that requires grad cannot be modified in place "
                    "(wrap the update in gpugrad.no_grad() or use the out-of-place op)"
                )
            if self._base is not None:
                raise AutogradError(
                    f"[{name}_] in-place modification of a view of a tensor inside a graph is not "
                    "supported; use the out-of-place op and index_put/where instead"
                )
            with self._backend.scope():
                old = Tensor._wrap(self.array.copy(), self._backend, self.creator, self._index, self.requires_grad)
            result = fn(old, *args)
            _check_inplace_result(self, result, name)
            with self._backend.scope():
                self._backend.xp.copyto(self.array, result.array, casting="same_kind")
            self.creator, self._index = result.creator, result._index
            self.requires_grad = result.requires_grad
        elif fast is not None:
            raw = [a.array if isinstance(a, Tensor) else a for a in args]
            for a in args:
                if isinstance(a, Tensor) and a._backend is not self._backend:
                    raise DeviceError(f"[{name}_] expected tensors on {self.device}, got {a.device}")
            try:
                with self._backend.scope():
                    fast(self._backend.xp, self.array, *raw)
            except TypeError as exc:  # NumPy's same_kind casting refusal
                raise DTypeError(f"[{name}_] {exc}") from None
        else:
            with _NoGrad():
                result = fn(self, *args)
            _check_inplace_result(self, result, name)
            with self._backend.scope():
                self._backend.xp.copyto(self.array, result.array, casting="same_kind")
        self._vc[0] += 1
        return self

    def add_(self, other, alpha=1):
        """self += alpha * other (a tensor or a number)."""
        if alpha == 1:
            return self._inplace(F.add, other, fast=_fast("add"))
        if not isinstance(other, Tensor):  # a number: scaled here, as PyTorch scales a scalar operand
            return self._inplace(F.add, other * alpha, fast=_fast("add"))
        return self._inplace(F.add_scaled, other, alpha, fast=_fast_add_scaled, name="add")

    def sub_(self, other, alpha=1):
        """self -= alpha * other (a tensor or a number)."""
        if alpha == 1:
            return self._inplace(F.sub, other, fast=_fast("subtract"))
        return self.add_(other, -alpha)

    def mul_(self, other):
        return self._inplace(F.mul, other, fast=_fast("multiply"))

    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is not None:
            return self._inplace(lambda x, o: F.div(x, o, rounding_mode=rounding_mode), other, name="div")
        return self._inplace(F.div, other, fast=_fast("true_divide"))

    def pow_(self, exponent):
        return self._inplace(F.pow, exponent, fast=_fast("power"))

    def neg_(self):
        return self._inplace(F.neg, fast=lambda xp, a: xp.negative(a, out=a))

    def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's argument names
        return self._inplace(F.clip, min, max, name="clamp")

    clip_ = clamp_

    def clamp_min_(self, min):  # noqa: A002
        return self._inplace(F.clip, min, None, name="clamp_min")

    def clamp_max_(self, max):  # noqa: A002
        return self._inplace(F.clip, None, max, name="clamp_max")

    # elementwise functions in place (issue 17): the out-of-place op, written back into self
    # with the version-counter rules of ``_inplace``; a result of another dtype kind (exp_ of
    # an integer tensor) is refused, as in PyTorch
    def relu_(self):
        return self._inplace(F.relu)

    def sigmoid_(self):
        return self._inplace(F.sigmoid)

    def tanh_(self):
        return self._inplace(F.tanh)

    def exp_(self):
        return self._inplace(F.exp)

    def log_(self):
        return self._inplace(F.log)

    def sqrt_(self):
        return self._inplace(F.sqrt)

    def abs_(self):
        return self._inplace(F.abs)

    def floor_(self):
        return self._inplace(F.floor)

    def ceil_(self):
        return self._inplace(F.ceil)

    def round_(self):
        return self._inplace(F.round)

    def trunc_(self):
        return self._inplace(F.trunc)

    def reciprocal_(self):
        return self._inplace(F.reciprocal)

    def sign_(self):
        return self._inplace(F.sign)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        """Every element set to ``value`` (a number or a 0-d tensor, whose gradient is the sum
        of this tensor's, as in PyTorch)."""
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise ShapeError(f"[fill_] expected a 0-d value tensor, got shape {value.shape}")
            if _grad_state.grad_enabled and value.requires_grad:
                return self.copy_(value)
            value = value.item()
        return self._inplace(_overwrite(F.full_like_op), value, fast=lambda xp, a, v: a.fill(v), name="fill")

    def copy_(self, src):
        """Copy ``src`` (broadcast, cast, moved to this device) into this tensor."""
        if not isinstance(src, Tensor):
            src = Tensor(src, device=self.device)
        elif src._backend is not self._backend:
            src = src.to(self.device)
        return self._inplace(_overwrite(F.copy_from), src, name="copy")

    def set_(self, source):
        """Make this tensor hold ``source``'s data (and device) from now on; used to move
        a Parameter without replacing the object. Outside a graph only."""
        if _grad_state.grad_enabled and self.requires_grad and self.creator is None:
            raise AutogradError("[set_] cannot swap the data of a leaf that requires grad; use gpugrad.no_grad()")
        self.array, self._backend = source.array, source._backend
        self._vc[0] += 1
        return self

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        stream = stream_of(generator, self._backend, "uniform_")
        with _NoGrad(), self._backend.scope():
            r = self._backend.rand(self.shape, _float_for_random(self.dtype), stream)
            self._backend.xp.copyto(self.array, r * (b - a) + a, casting="unsafe")
        self._vc[0] += 1
        return self

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        stream = stream_of(generator, self._backend, "normal_")
        with _NoGrad(), self._backend.scope():
            r = self._backend.randn(self.shape, _float_for_random(self.dtype), stream)
            self._backend.xp.copyto(self.array, r * std + mean, casting="unsafe")
        self._vc[0] += 1
        return self

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def __setitem__(self, key, value):
        def assign(xp, a, _key, v):
            _assign(a, key, v, self._backend)  # PyTorch's indexing rules, as index_put's

        self._inplace(F.index_put, key, value, fast=assign)


class _HookHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _check_inplace_result(t, result, name):
    if result.shape != t.shape:
        raise ShapeError(
            f"[{name}_] the result of shape {result.shape} cannot be written into a tensor of shape {t.shape}"
        )
    if not np.can_cast(result.dtype, t.dtype, "same_kind"):
        raise DTypeError(f"[{name}_] result dtype {result.dtype} cannot be written into a {t.dtype} tensor")


def _fast(ufunc):
    def run(xp, a, b):
        getattr(xp, ufunc)(a, b, out=a)

    return run


def _fast_add_scaled(xp, a, b, alpha):
    xp.add(a, xp.multiply(b, alpha), out=a)


def _overwrite(fn):
    """``fn(x, *args)``, a value that does not depend on x, with x kept in the graph at gradient
    0: as in PyTorch, a tensor that ``fill_``/``copy_`` overwrote still requires grad, and the
    tensors it was computed from get a zero gradient rather than none."""

    def run(x, *args):
        y = fn(x, *args)
        if not x.requires_grad:
            return y
        with x._backend.scope():
            never = x._like(x._backend.xp.zeros((), dtype=bool))
        return F.where(never, x, y)

    return run


def _leaf(cls, array, backend, requires_grad):
    """A new leaf of type ``cls`` (Tensor or a subclass such as Parameter) holding ``array``."""
    t = _new(cls)
    t.array, t._backend, t.requires_grad = array, backend, requires_grad
    t._grad = t.creator = t._base = t._hooks = None
    t._index, t._vc = 0, [0]
    return t


def _unpickle(cls, host, device, requires_grad):
    """The tensor ``Tensor.__reduce_ex__`` pickled, on its device, or on the default device
    when this process cannot provide that one (no CUDA, fewer GPUs), with a warning."""
    try:
        backend = get_backend(device)
    except BackendUnavailableError as exc:
        backend = get_backend()
        warnings.warn(f"[unpickle] a tensor pickled on {device} is placed on {backend.device}: {exc}", stacklevel=2)
    if not host.flags.writeable:  # an out-of-band pickle buffer comes back read-only
        host = host.copy()
    # with NumPy's own dtype object: an unpickled array holds a copy of it, which the native
    # kernels refuse (their bindings match dtypes by identity)
    host = host.view(np.dtype(host.dtype.type))
    with backend.scope():
        return _leaf(cls, backend.from_host(host), backend, requires_grad)


def _float_for_random(dt):
    return dt if is_floating(dt) else _dt.float64


def _is_dtype_name(s):
    if not isinstance(s, str):
        return False
    try:
        np.dtype(s)
    except TypeError:
        return False
    return True


def _from_data(data, dtype, device, op):
    """A new leaf tensor from Python data, NumPy/CuPy arrays or another tensor (copied)."""
    dt = _dt.to_dtype(dtype, op)
    backend = get_backend(device)
    with backend.scope():
        return _array_to_tensor(data, dt, backend, op)


def _array_to_tensor(data, dt, backend, op):
    if isinstance(data, Tensor):
        arr = data.array
        src = data._backend
        if src is not backend:
            arr = backend.from_host(src.to_host(arr))
        else:
            arr = arr.copy()
        if dt is not None and arr.dtype != dt:
            arr = arr.astype(dt)
        return Tensor._wrap(arr, backend)
    if isinstance(data, backend.ndarray):
        arr = data
    elif hasattr(data, "__cuda_array_interface__") or (
        hasattr(data, "__dlpack_device__") and not isinstance(data, np.ndarray)
    ):
        arr = backend.from_host(np.asarray(data.get() if hasattr(data, "get") else data))
    else:
        try:
            if dt is None and not isinstance(data, np.ndarray):
                dt = _dt.infer_dtype(data)
            host = np.array(data, dtype=dt)
        except (ValueError, TypeError) as exc:
            raise DTypeError(f"[{op}] cannot build a tensor from {type(data).__name__}: {exc}") from None
        if host.dtype not in _dt.SUPPORTED:
            raise DTypeError(f"[{op}] unsupported dtype {host.dtype}")
        return Tensor._wrap(backend.from_host(host), backend)
    arr = arr.copy()
    if dt is not None and arr.dtype != dt:
        arr = arr.astype(dt)
    if arr.dtype not in _dt.SUPPORTED:
        raise DTypeError(f"[{op}] unsupported dtype {arr.dtype}")
    return Tensor._wrap(arr, backend)


from . import functional as F  # noqa: E402  (functional imports Tensor from this module)
from .autograd.grad_mode import no_grad as _NoGrad  # noqa: E402
from .backend.device import Device as _Device  # noqa: E402
from .functional.index import assign as _assign  # noqa: E402
from .tensor_methods import install as _install  # noqa: E402

_install(Tensor)
