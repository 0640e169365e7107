"""Containers: Sequential (which runs Linear + ReLU pairs as one fused op) and ModuleList."""

from collections import OrderedDict

from .. import functional as F
from .activation import ReLU
from .layers import Linear
from .module import Module, check_module


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
            # the plain classes, so a subclass with its own forward is respected
            if type(m) is Linear and i + 1 < len(mods) and type(mods[i + 1]) is ReLU:
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
