"""Module: the container of parameters, buffers and sub-modules (PyTorch's nn.Module)."""

from collections import OrderedDict
from typing import NamedTuple

from ..autograd.grad_mode import state as _modes
from ..dtypes import to_dtype
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..tensor import Tensor
from .parameter import Parameter


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
        return self._apply(lambda t: t.to(device=device, dtype=dt if t.dtype.kind == "f" else None))

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

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module, then on this one (for initialisation)."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- calling and printing ------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"[{type(self).__name__}] has no forward()")

    def __call__(self, *args, **kwargs):
        if not _modes.anomaly:
            return self.forward(*args, **kwargs)
        # anomaly mode: the ops made inside record the modules being called, so that a
        # NaN is reported with the layer it comes from (named only when one is reported)
        calls = _modes.modules
        calls.append(self)
        try:
            return self.forward(*args, **kwargs)
        finally:
            calls.pop()

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


def check_module(m, op):
    if not isinstance(m, Module):
        raise ArgumentTypeError(f"[{op}] expected a Module, got {type(m).__name__}")
    return m
