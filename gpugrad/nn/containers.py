"""Containers: Sequential (which runs Linear + ReLU pairs as one fused op), ModuleList,
ModuleDict, ParameterList and ParameterDict."""

from collections import OrderedDict

from .. import functional as F
from ..errors import ArgumentError, ArgumentTypeError, GpugradIndexError
from ..tensor import Tensor
from .activation import ReLU
from .layers import Linear
from .module import Module, check_module
from .parameter import Parameter


class GpugradKeyError(ArgumentError, KeyError):
    """A missing key of a ModuleDict or ParameterDict (a KeyError, as a dict's)."""

    def __str__(self):  # KeyError would print the message quoted
        return str(self.args[0])


class Sequential(Module):
    """Modules applied in order; index, iterate and ``len`` like a list."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, check_module(m, "Sequential"))
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), check_module(m, "Sequential"))

    def forward(self, x):
        mods = list(self._modules.values())
        i = 0
        while i < len(mods):
            m = mods[i]
            # Linear then ReLU runs as one fused op (same result, fewer passes); only for
            # the plain classes without hooks, so a subclass's forward and hooks are respected
            if type(m) is Linear and i + 1 < len(mods) and type(mods[i + 1]) is ReLU and not (
                    m._has_hooks() or mods[i + 1]._has_hooks()):
                x = F.linear_relu(x, m.weight, m.bias)
                i += 2
                continue
            x = m(x)
            i += 1
        return x

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return Sequential(*mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, m):
        self.add_module(str(len(self)), check_module(m, "Sequential"))
        return self


class ModuleList(Module):
    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, m):
        self.add_module(str(len(self._modules)), check_module(m, "ModuleList"))
        return self

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleDict(Module):
    """Sub-modules by name (registered in insertion order), used like a dict."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise GpugradKeyError(f"[ModuleDict] no module named {key!r}; it holds {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key, module):
        if not isinstance(key, str):
            raise ArgumentTypeError(f"[ModuleDict] keys must be strings, got {type(key).__name__}")
        self.add_module(key, check_module(module, "ModuleDict"))

    def __delitem__(self, key):
        self[key]  # noqa: B018 - the same error as a lookup when missing
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key):
        m = self[key]
        del self._modules[key]
        return m

    def clear(self):
        self._modules.clear()

    def update(self, modules):
        """Add (name, module) pairs from a mapping or an iterable of pairs."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for item in pairs:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise ArgumentTypeError(f"[ModuleDict] update expects a mapping or (name, module) pairs, got {item!r}")
            self[item[0]] = item[1]


def _as_parameter(value, op):
    if isinstance(value, Parameter) or value is None:
        return value
    if isinstance(value, Tensor):  # as PyTorch's: a plain tensor becomes a Parameter
        return Parameter(value)
    raise ArgumentTypeError(f"[{op}] expected a Parameter or a Tensor, got {type(value).__name__}")


def _param_repr(name, p):
    dev = "" if p.device == "cpu" else f" ({p.device})"
    return f"({name}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape)) or '()'}{dev}]"


class ParameterList(Module):
    """Parameters in a list (registered as "0", "1", ...): seen by ``parameters()``,
    ``state_dict()`` and ``to()``. Plain tensors are made Parameters."""

    def __init__(self, values=None):
        super().__init__()
        for v in values or ():
            self.append(v)

    def __getitem__(self, i):
        items = list(self._parameters.values())
        if isinstance(i, slice):
            return ParameterList(items[i])
        if not -len(items) <= i < len(items):
            raise GpugradIndexError(f"[ParameterList] index {i} is out of range for {len(items)} parameters")
        return items[i]

    def __setitem__(self, i, value):
        n = len(self)
        if not -n <= i < n:
            raise GpugradIndexError(f"[ParameterList] index {i} is out of range for {n} parameters")
        self.register_parameter(str(i % n), _as_parameter(value, "ParameterList"))

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def append(self, value):
        self.register_parameter(str(len(self)), _as_parameter(value, "ParameterList"))
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        return "\n  " + "\n  ".join(_param_repr(k, p) for k, p in self._parameters.items()) + "\n" if len(self) else ""


class ParameterDict(Module):
    """Parameters by name, used like a dict; plain tensors are made Parameters."""

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        if key not in self._parameters:
            raise GpugradKeyError(f"[ParameterDict] no parameter named {key!r}; it holds {list(self._parameters)}")
        return self._parameters[key]

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise ArgumentTypeError(f"[ParameterDict] keys must be strings, got {type(key).__name__}")
        self.register_parameter(key, _as_parameter(value, "ParameterDict"))

    def __delitem__(self, key):
        self[key]  # noqa: B018 - the same error as a lookup when missing
        del self._parameters[key]

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key):
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def items(self):
        return self._parameters.items()

    def values(self):
        return self._parameters.values()

    def get(self, key, default=None):
        return self._parameters.get(key, default)

    def pop(self, key):
        p = self[key]
        del self._parameters[key]
        return p

    def update(self, parameters):
        pairs = parameters.items() if hasattr(parameters, "items") else parameters
        for item in pairs:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise ArgumentTypeError(f"[ParameterDict] update expects a mapping or (name, tensor) pairs, got {item!r}")
            self[item[0]] = item[1]

    def extra_repr(self):
        return "\n  " + "\n  ".join(_param_repr(k, p) for k, p in self._parameters.items()) + "\n" if len(self) else ""
