"""Module: the container of parameters, buffers and sub-modules (PyTorch's nn.Module)."""

from collections import OrderedDict
from typing import NamedTuple

from ..autograd.grad_mode import state as _modes
from ..dtypes import is_floating, to_dtype
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..ops.base import Op
from ..tensor import Tensor
from .parameter import Parameter


class SubmoduleError(ArgumentError, AttributeError):
    """A path that names no sub-module (an AttributeError, as PyTorch's)."""


class IncompatibleKeys(NamedTuple):
    """What ``Module.load_state_dict`` returns, as PyTorch's (``_IncompatibleKeys``)."""

    missing_keys: list
    unexpected_keys: list

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"


class Module:
    """Base class of every layer and model.

    Assigning a Parameter or Module to an attribute registers it; ``parameters()``,
    ``state_dict()``, ``to()``, ``train()``/``eval()`` then walk the tree.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())

    # -- registration ---------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"[{type(self).__name__}] call super().__init__() before assigning attributes")
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self._buffers and (value is None or isinstance(value, Tensor)):
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is part of the module (moved by ``to``) but not trained; in the
        ``state_dict`` unless ``persistent=False``."""
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        (self._non_persistent_buffers_set.discard if persistent else self._non_persistent_buffers_set.add)(name)

    def register_parameter(self, name, param):
        if param is None:
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def add_module(self, name, module):
        self._modules[name] = module

    # -- traversal ------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) of this module and every sub-module, depth first; a module reachable
        under two names comes once (the first) unless ``remove_duplicate=False``."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def get_submodule(self, target):
        """The sub-module at dotted path ``target`` ("" is this module), as PyTorch's."""
        m = self
        for i, name in enumerate(target.split(".") if target else ()):
            sub = m._modules.get(name) if isinstance(m, Module) else None
            if sub is None:
                where = ".".join(target.split(".")[:i]) or type(self).__name__
                raise SubmoduleError(f"[get_submodule] {where} has no sub-module {name!r} (looking up {target!r}); "
                                     f"it has {list(m._modules)}")
            m = sub
        return m

    def _named_members(self, store, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mname, m in mods:
            for name, t in getattr(m, store).items():
                if t is not None and not (remove_duplicate and id(t) in seen):
                    seen.add(id(t))
                    yield (f"{mname}.{name}" if mname else name), t

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(name, parameter) per module, its own first, then its sub-modules' (each
        parameter once unless ``remove_duplicate=False``), as PyTorch orders them."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- modes ------------------------------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = p.grad * 0

    # -- state ------------------------------------------------------------------------
    def _state_items(self, prefix=""):
        """(name, tensor) of the state in PyTorch's order: per module its own parameters,
        then its own persistent buffers, then each child's; a shared tensor under each name."""
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                yield prefix + name, b
        for name, m in self._modules.items():
            if m is not None:
                yield from m._state_items(f"{prefix}{name}.")

    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """name -> tensor for every parameter and persistent buffer, in PyTorch's order (see
        ``_state_items``): detached tensors sharing memory, or the objects with ``keep_vars``.
        Written into ``destination`` (an OrderedDict) when given, with ``prefix`` on the names."""
        out = OrderedDict() if destination is None else destination
        for name, t in self._state_items(prefix):
            out[name] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy tensors into this module's parameters and buffers, checking names and shapes.

        Returns the named tuple ``IncompatibleKeys(missing_keys, unexpected_keys)``, as PyTorch
        does; with ``strict`` either kind of key raises ArgumentError (a RuntimeError, as
        PyTorch's), naming both. A shape mismatch raises ShapeError even when not ``strict``.
        """
        own = dict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise ArgumentError(
                f"[load_state_dict] {type(self).__name__}: missing keys {missing}, unexpected keys {unexpected}"
            )
        for k, t in own.items():
            if k not in state_dict:
                continue
            src = state_dict[k]
            shape = tuple(src.shape)
            if shape != t.shape:
                raise ShapeError(
                    f"[load_state_dict] {k}: checkpoint has shape {shape}, the model {t.shape}"
                )
        from ..autograd import no_grad

        with no_grad():
            for k, t in own.items():
                if k in state_dict:
                    t.copy_(state_dict[k])
        return IncompatibleKeys(missing, unexpected)

    # -- devices and dtypes ------------------------------------------------------------
    def _apply(self, fn):
        """Replace every parameter's and buffer's data by ``fn(tensor)``, keeping the
        objects (optimizers hold them) and moving their gradients along."""
        from ..autograd import no_grad

        with no_grad():
            for m in self.modules():
                for store in (m._parameters, m._buffers):
                    for t in store.values():
                        if t is None:
                            continue
                        new = fn(t)
                        if new is not t:
                            t.set_(new)
                            if t.grad is not None:
                                t.grad = fn(t.grad)
        return self

    def to(self, *args, dtype=None, device=None):
        """``to(device)``, ``to(dtype)`` or both: moves every parameter and buffer, casting
        only floating ones, in place (the Parameter objects stay the same)."""
        for a in args:
            try:
                dtype = to_dtype(a, "to")
            except DTypeError:
                device = a
        dt = to_dtype(dtype, "to")
        return self._apply(lambda t: t.to(device=device, dtype=dt if is_floating(t.dtype) else None))

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device)

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    def half(self):
        return self.to(dtype="float16")

    def bfloat16(self):
        return self.to(dtype="bfloat16")

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module, then on this one (for initialisation)."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- calling and printing ------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"[{type(self).__name__}] has no forward()")

    def _has_hooks(self):
        d = self.__dict__
        return bool(d.get("_forward_pre_hooks") or d.get("_forward_hooks") or d.get("_backward_hooks"))

    def __call__(self, *args, **kwargs):
        d = self.__dict__  # _has_hooks, inlined: this runs for every layer of every step
        if d.get("_forward_pre_hooks") or d.get("_forward_hooks") or d.get("_backward_hooks"):
            return self._call_with_hooks(args, kwargs)
        if not _modes.anomaly:
            return self.forward(*args, **kwargs)
        return self._call_forward(args, kwargs)

    def _call_forward(self, args, kwargs):
        # anomaly mode: the ops made inside record the modules being called, so that a
        # NaN is reported with the layer it comes from (named only when one is reported)
        calls = _modes.modules
        calls.append(self)
        try:
            return self.forward(*args, **kwargs)
        finally:
            calls.pop()

    # -- hooks (PyTorch's) -------------------------------------------------------------------
    def _add_hook(self, store, hook, prepend, op, **flags):
        if not callable(hook):
            raise ArgumentTypeError(f"[{op}] expected a callable hook, got {type(hook).__name__}")
        if store not in self.__dict__:  # a module unpickled from before hooks existed
            object.__setattr__(self, store, OrderedDict())
        hooks = self.__dict__[store]
        handle = RemovableHandle(hooks)
        hooks[handle.id] = (hook, flags)
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` (or ``hook(module, args, kwargs)`` with ``with_kwargs``) runs
        before ``forward``; it may return new args (a tuple, or one value), or with
        ``with_kwargs`` a new ``(args, kwargs)``. Returns a handle whose ``remove()`` drops it."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, "register_forward_pre_hook",
                              with_kwargs=with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
        ``with_kwargs``) runs after ``forward``; a value it returns replaces the output."""
        return self._add_hook("_forward_hooks", hook, prepend, "register_forward_hook", with_kwargs=with_kwargs)

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to
        the module's tensor inputs have been computed (grad_input: one entry per positional
        argument, None for non-tensors and inputs that need no gradient; grad_output: one per
        output tensor). A tuple it returns replaces grad_input."""
        return self._add_hook("_backward_hooks", hook, prepend, "register_full_backward_hook")

    def _call_with_hooks(self, args, kwargs):
        d = self.__dict__
        for hook, flags in list(d.get("_forward_pre_hooks", {}).values()):
            if flags["with_kwargs"]:
                r = hook(self, args, kwargs)
                if r is not None:
                    if not (isinstance(r, tuple) and len(r) == 2):
                        raise ArgumentTypeError(f"[forward_pre_hook] with_kwargs=True hooks return (args, kwargs) "
                                                f"or None, got {type(r).__name__}")
                    args, kwargs = r
            else:
                r = hook(self, args)
                if r is not None:
                    args = r if isinstance(r, tuple) else (r,)
        bw = list(d.get("_backward_hooks", {}).values())
        state = None
        if bw and _modes.grad_enabled:
            state = _BackwardHookState(self, [h for h, _ in bw], args)
            args = state.wrap_inputs(args)
        out = self._call_forward(args, kwargs) if _modes.anomaly else self.forward(*args, **kwargs)
        for hook, flags in list(d.get("_forward_hooks", {}).values()):
            r = hook(self, args, kwargs, out) if flags["with_kwargs"] else hook(self, args, out)
            if r is not None:
                out = r
        if state is not None:
            out = state.wrap_outputs(out)
        return out

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {sub}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class RemovableHandle:
    """What the ``register_*_hook`` methods return: ``remove()`` unregisters the hook (also
    on leaving a ``with`` block)."""

    _next_id = 0

    def __init__(self, hooks):
        self.hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _HookIdentity(Op):
    """Passes its inputs through; its backward hands the gradients to ``on_grad``, which may
    replace them (how a module's full backward hooks see grad_input and grad_output)."""

    __slots__ = ("on_grad", "n_out")

    def __init__(self, on_grad, n):
        self.on_grad, self.n_out = on_grad, n

    def forward(self, b, *xs):
        return xs[0] if self.n_out == 1 else tuple(xs)

    def backward(self, *gys):
        return tuple(self.on_grad(gys))


class _BackwardHookState:
    """One call of a module with full backward hooks: the output side records grad_output,
    the input side calls the hooks with grad_input (or the output side does, with grad_input
    all None, when no input needs a gradient)."""

    def __init__(self, module, hooks, args):
        self.module, self.hooks, self.n_args = module, hooks, len(args)
        self.grad_output = None
        self.slots = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]

    def wrap_inputs(self, args):
        if not self.slots:
            return args
        ins = [args[i] for i in self.slots]
        outs = _HookIdentity(self._on_input_grads, len(ins))(*ins)
        args = list(args)
        for i, t in zip(self.slots, outs if len(ins) > 1 else (outs,)):
            args[i] = t
        return tuple(args)

    def wrap_outputs(self, out):
        single = isinstance(out, Tensor)
        outs = (out,) if single else tuple(out) if isinstance(out, (tuple, list)) else None
        idx = [] if outs is None else [i for i, t in enumerate(outs) if isinstance(t, Tensor) and t.requires_grad]
        if not idx:
            return out
        wrapped = _HookIdentity(self._on_output_grads, len(idx))(*[outs[i] for i in idx])
        outs = list(outs)
        for i, t in zip(idx, wrapped if len(idx) > 1 else (wrapped,)):
            outs[i] = t
        return outs[0] if single else type(out)(outs)

    def _on_output_grads(self, gys):
        self.grad_output = tuple(gys)
        if not self.slots:  # nothing flows to the inputs: call the hooks now
            self._run_hooks([None] * self.n_args)
        return gys

    def _on_input_grads(self, gxs):
        grad_input = [None] * self.n_args
        for i, g in zip(self.slots, gxs):
            grad_input[i] = g
        grad_input = self._run_hooks(grad_input)
        return [grad_input[i] for i in self.slots]

    def _run_hooks(self, grad_input):
        grad_input = tuple(grad_input)
        for hook in self.hooks:
            r = hook(self.module, grad_input, self.grad_output or ())
            if r is not None:
                r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
                if len(r) != len(grad_input):
                    raise ArgumentError(f"[full_backward_hook] expected the hook to return {len(grad_input)} "
                                        f"gradients (one per input), got {len(r)}")
                grad_input = r
        return grad_input


def check_module(m, op):
    if not isinstance(m, Module):
        raise ArgumentTypeError(f"[{op}] expected a Module, got {type(m).__name__}")
    return m
