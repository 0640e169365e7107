"""``gpugrad.autocast``: automatic mixed precision, PyTorch's ``torch.autocast``.

Inside ``with gpugrad.autocast("cpu")`` (or ``"cuda"``) the ops below choose their own
precision for tensors of that device type; everything else runs as it would outside.

* **Low precision** (the region's dtype: bfloat16 by default on "cpu", float16 on "cuda";
  products accumulate in float32, see ``backend.base.matmul``): ``matmul`` (and ``@``),
  ``mm``, ``bmm``, ``addmm``, ``linear``, ``linear_relu``, ``einsum``, ``tensordot``,
  ``inner``, ``nn.functional.scaled_dot_product_attention``. PyTorch's CPU and CUDA lists
  both hold matmul, mm, bmm, addmm, linear and the attention; its CPU autocast gives
  einsum, tensordot and inner in bfloat16 too (they decompose into bmm/mm there).
* **float32** (bfloat16/float16 inputs are cast up first): ``softmax``, ``log_softmax``
  (and ``softmin``); ``exp``, ``expm1``, ``log``, ``log1p``, ``log2``, ``log10``, ``pow``,
  ``reciprocal``, ``rsqrt``, ``sinh``, ``cosh``, ``tan``, ``asin``, ``acos``, ``softplus``;
  the norms ``nn.functional``'s ``layer_norm``, ``rms_norm``, ``group_norm``, ``batch_norm``
  (not its running statistics, which it updates in place), ``vector_norm``,
  ``norm``, ``linalg.norm``, ``matrix_norm``, ``normalize``, ``cosine_similarity``,
  ``pairwise_distance``; the reductions ``sum``, ``mean``, ``prod``, ``var``, ``std``,
  ``var_mean``, ``std_mean``, ``logsumexp``, ``cumsum``, ``cumprod``, ``logcumsumexp``;
  and every loss of ``nn.functional`` (cross_entropy, nll_loss, mse_loss, l1_loss,
  smooth_l1_loss, huber_loss, binary_cross_entropy, binary_cross_entropy_with_logits,
  kl_div, poisson_nll_loss, gaussian_nll_loss, margin_ranking_loss, hinge_embedding_loss,
  soft_margin_loss, multilabel_soft_margin_loss, cosine_embedding_loss,
  triplet_margin_loss, heteroscedastic_gaussian_nll, mdn_nll). This is PyTorch's CUDA
  "fp32" and "fp32_set_opt_dtype" lists (plus batch_norm, mean, var/std, normalize,
  pairwise_distance and the losses it lacks), used on both devices. PyTorch's CPU autocast differs: its "fp32" list holds the
  losses, prod and binary_cross_entropy but not exp/log/pow, softmax, the norms or
  sum/mean/cumsum, which there keep a bfloat16 input in bfloat16 (on a float32 input both
  give float32). PyTorch's CUDA autocast refuses binary_cross_entropy; here it runs in
  float32 as on PyTorch's CPU. With an explicit ``dtype=`` (sum, mean, prod, cumsum,
  cumprod, softmax, log_softmax, softmin, the norms) that dtype is used, as PyTorch's
  "fp32_set_opt_dtype".
* **Widest input type**: ``dot``, ``vdot``, ``cross``, ``linalg.cross``, ``index_copy``,
  ``scatter_add`` and ``nn.functional.bilinear`` refuse mixed float dtypes outside
  autocast; inside, their float inputs are cast to the widest of them, float64 included
  (PyTorch's "promote" lists, CUDA's and CPU's; PyTorch leaves float64 out, then refuses
  the mix). ``cat``, ``stack``, ``where`` and the elementwise ops promote everywhere, as in
  PyTorch.

Everything else runs in its inputs' types (``embedding_bag``, built on a matmul, runs as one
op of its weight's type, as PyTorch's kernel). The modules ``nn.LayerNorm``, ``nn.RMSNorm``,
``nn.GroupNorm`` and ``nn.BatchNorm1d`` call ``nn/normalization.py`` directly: they give
float32 too (their means are in the float32 list), but ``nn.RMSNorm`` without an eps takes
it from a bfloat16 input's dtype, where ``nn.functional.rms_norm`` takes float32's.

As in PyTorch, float64 tensors are never cast (a float64 matmul stays float64), integer and
bool tensors neither, and a listed op runs its own body without autocast (einsum's summed
subscripts stay in low precision). Casts are ordinary differentiable ops, so a float32
parameter used in low precision gets a float32 gradient. The low-precision copy of a
float32 leaf that requires grad (a parameter) is cached for the region, keyed by the tensor
(and its version, so an in-place update is seen), and used again by every op that needs
it; the cache is emptied when the outermost autocast region of the thread exits. The state
(enabled, dtype, cache) is per thread and per device type, as PyTorch's. Backward called
inside a region runs its ops under the region's policy, as in PyTorch: call it after the
region.

When no region is enabled in any thread, each listed op pays one integer read.
"""

import functools
import threading

from .. import dtypes as _dt
from ..autograd.grad_mode import state as _grad_state
from ..errors import ArgumentError, ArgumentTypeError, DTypeError
from ..tensor import Tensor

DEVICE_TYPES = ("cpu", "cuda")
_DEFAULT_DTYPE = {"cpu": _dt.bfloat16, "cuda": _dt.float16}
_LOW = (_dt.bfloat16, _dt.float16)


class _ThreadState(threading.local):
    def __init__(self):
        self.enabled = {d: False for d in DEVICE_TYPES}
        self.dtype = dict(_DEFAULT_DTYPE)
        self.cache_enabled = True
        self.nesting = 0  # autocast contexts entered in this thread (enabled or not)
        self.suspended = 0  # > 0 while a listed op runs its own body
        self.cache = {}  # (id(param), dtype, grad mode) -> (param, version, cast)


_state = _ThreadState()
_count_lock = threading.Lock()


def _widest(a, b):
    if a.itemsize != b.itemsize:
        return a if a.itemsize > b.itemsize else b
    return a if a == b else _dt.float32  # bfloat16 with float16: float32, as PyTorch


class _Gate:
    """What the ops consult: ``active`` counts the enabled (thread, device type) regions of
    the whole process, so that with none the check is one attribute read."""

    __slots__ = ("active",)

    def __init__(self):
        self.active = 0

    @staticmethod
    def engaged(*args):
        """Whether autocast applies to an op on ``args`` in this thread: the region of the
        device type of the first tensor among them (or in a list among them) is enabled and
        no listed op is running its body."""
        st = _state
        if st.suspended:
            return False
        t = _first_tensor(args)
        return t is not None and st.enabled[t._backend.device.type]

    @staticmethod
    def lower(fn, *args, **kwargs):
        """``fn`` on ``args`` with their float32/float16/bfloat16 tensors in the region's dtype."""
        st = _state
        dtype = st.dtype[_first_tensor(args)._backend.device.type]
        return _call(fn, args, kwargs, lambda t: _to_low(t, dtype, st))

    @staticmethod
    def fp32(fn, *args, **kwargs):
        """``fn`` on ``args`` with their bfloat16/float16 tensors cast up to float32."""
        return _call(fn, args, kwargs, lambda t: cast(t, _dt.float32) if t.dtype in _LOW else t)

    @staticmethod
    def promote(fn, *args, **kwargs):
        """``fn`` on ``args`` with their floating tensors cast to the widest of them."""
        floats = [t.dtype for t in _tensors(args, kwargs) if _dt.is_floating(t.dtype)]
        if len(set(floats)) < 2:
            return _call(fn, args, kwargs, lambda t: t)
        widest = functools.reduce(_widest, floats)
        return _call(fn, args, kwargs, lambda t: cast(t, widest) if _dt.is_floating(t.dtype) and t.dtype != widest else t)

    @staticmethod
    def plain(fn, *args, **kwargs):
        """``fn`` on ``args`` as they are, its body without autocast: for an op outside the
        lists that is composed of listed ones (embedding_bag's matmul) and should run as one
        op of its inputs' types, as PyTorch's kernel does."""
        return _call(fn, args, kwargs, lambda t: t)


gate = _Gate()


def policy(kind):
    """Decorator form of the check, for ops called about once per step (losses, norms):
    ``@policy("fp32")``. The hot ops write the check inline, which costs less than a
    wrapper's call when autocast is off."""
    run = getattr(gate, kind)

    def decorate(fn):
        @functools.wraps(fn)
        def op(*args, **kwargs):
            if gate.active and gate.engaged(*args, *kwargs.values()):
                return run(fn, *args, **kwargs)
            return fn(*args, **kwargs)

        return op

    return decorate


def _first_tensor(args):
    for a in args:
        if isinstance(a, Tensor):
            return a
        if isinstance(a, (list, tuple)):
            for b in a:
                if isinstance(b, Tensor):
                    return b
    return None


def _tensors(args, kwargs):
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from (b for b in a if isinstance(b, Tensor))


def _convert(a, conv):
    if isinstance(a, Tensor):
        return conv(a)
    if isinstance(a, (list, tuple)) and any(isinstance(b, Tensor) for b in a):
        return type(a)(conv(b) if isinstance(b, Tensor) else b for b in a)
    return a


def _call(fn, args, kwargs, conv):
    """``fn`` on the converted arguments, its body run without autocast (as PyTorch runs an
    autocast op's kernel below the autocast dispatch key)."""
    args = tuple(_convert(a, conv) for a in args)
    kwargs = {k: _convert(v, conv) for k, v in kwargs.items()}
    st = _state
    st.suspended += 1
    try:
        return fn(*args, **kwargs)
    finally:
        st.suspended -= 1


def cast(t, dtype):
    """The differentiable cast autocast makes (one place, so tests can count casts)."""
    from ..functional.math import cast as _cast

    return _cast(t, dtype)


def _to_low(t, dtype, st):
    if t.dtype == dtype or not (t.dtype == _dt.float32 or t.dtype in _LOW):
        return t
    if not (st.cache_enabled and t.requires_grad and t.creator is None and t._base is None and t.dtype == _dt.float32):
        return cast(t, dtype)
    # PyTorch's rule: cache the low-precision copies of float32 leaves that require grad
    # (parameters). The key holds the grad mode, so a copy made under no_grad (outside the
    # graph) never serves an op that records one; the version catches in-place updates.
    key = (id(t), dtype, _grad_state.grad_enabled)
    hit = st.cache.get(key)
    if hit is not None and hit[0] is t and hit[1] == t._vc[0]:
        return hit[2]
    c = cast(t, dtype)
    st.cache[key] = (t, t._vc[0], c)  # holding t keeps id(t) from being reused
    return c


def _device_type(device_type, op):
    if not isinstance(device_type, str):
        raise ArgumentTypeError(f"[{op}] expected device_type to be a str ('cpu' or 'cuda'), got "
                                f"{type(device_type).__name__} {device_type!r}")
    if device_type not in DEVICE_TYPES:
        raise ArgumentError(f"[{op}] expected device_type 'cpu' or 'cuda', got {device_type!r}")
    return device_type


def _set(st, device_type, enabled, dtype):
    was = st.enabled[device_type]
    st.enabled[device_type], st.dtype[device_type] = enabled, dtype
    if was != enabled:
        with _count_lock:
            gate.active += 1 if enabled else -1


class autocast:  # noqa: N801 - PyTorch's name
    """``with gpugrad.autocast(device_type, dtype=None, enabled=True, cache_enabled=None):``
    runs the listed ops of tensors on ``device_type`` ("cpu" or "cuda") in mixed precision
    (see the module docstring). ``dtype``: ``gpugrad.bfloat16`` or ``gpugrad.float16``; None
    gives bfloat16 on "cpu" and float16 on "cuda", as PyTorch. ``enabled=False`` switches
    autocast off inside an enabled region; leaving a region restores what was there before.
    ``cache_enabled``: whether parameters' casts are cached (None keeps the thread's
    setting, True at first). Also a decorator: ``@gpugrad.autocast("cpu")``."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        self.device_type = _device_type(device_type, "autocast")
        if dtype is None:
            self.fast_dtype = _DEFAULT_DTYPE[device_type]
        else:
            try:
                dt = _dt.to_dtype(dtype, "autocast")
            except DTypeError:
                dt = None
            if dt not in _LOW:
                raise DTypeError(f"[autocast] expected dtype gpugrad.bfloat16 or gpugrad.float16, got {dtype!r}")
            self.fast_dtype = dt
        for name, v in (("enabled", enabled), ("cache_enabled", cache_enabled)):
            if not isinstance(v, bool) and not (name == "cache_enabled" and v is None):
                raise ArgumentTypeError(f"[autocast] expected {name} to be a bool, got {type(v).__name__} {v!r}")
        self.enabled, self.cache_enabled = enabled, cache_enabled
        self._saved = []  # one (enabled, dtype, cache_enabled) per entry of this object

    def __enter__(self):
        st = _state
        d = self.device_type
        self._saved.append((st.enabled[d], st.dtype[d], st.cache_enabled))
        st.nesting += 1
        if self.cache_enabled is not None:
            st.cache_enabled = self.cache_enabled
        _set(st, d, self.enabled, self.fast_dtype)
        return self

    def __exit__(self, *exc):
        st = _state
        enabled, dtype, cache_enabled = self._saved.pop()
        st.nesting -= 1
        if st.nesting == 0:
            st.cache.clear()
        st.cache_enabled = cache_enabled
        _set(st, self.device_type, enabled, dtype)
        return False

    def __call__(self, func):
        if not callable(func):
            raise ArgumentTypeError(f"[autocast] used as a decorator, expected a function, got {type(func).__name__}")

        @functools.wraps(func)
        def run(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self.enabled, self.cache_enabled):
                return func(*args, **kwargs)

        return run

    def __repr__(self):
        return (f"autocast(device_type={self.device_type!r}, dtype={self.fast_dtype.name}, enabled={self.enabled}, "
                f"cache_enabled={self.cache_enabled})")


def is_autocast_enabled(device_type="cuda"):
    """Whether autocast is on for ``device_type`` in this thread (PyTorch's default device
    type here is "cuda", as ``torch.is_autocast_enabled()``)."""
    return _state.enabled[_device_type(device_type, "is_autocast_enabled")]


def get_autocast_dtype(device_type):
    """The low-precision dtype an autocast region of ``device_type`` uses in this thread
    (outside any region: bfloat16 for "cpu", float16 for "cuda")."""
    return _state.dtype[_device_type(device_type, "get_autocast_dtype")]
