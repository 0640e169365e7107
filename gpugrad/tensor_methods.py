"""The Tensor methods that are one-line calls into ``gpugrad.functional``: operators,
math, reductions, shape and indexing. ``install`` attaches them to the class."""

from . import creation as _creation  # issue 17 (math helper): Tensor.new_*, bernoulli
from . import functional as F
from .functional import math as _math


def _r(fn):
    """The reflected form of a binary function: ``other <op> self``."""

    def reflected(self, other):
        return fn(other, self)

    reflected.__name__ = "r" + fn.__name__
    return reflected


def _eq(self, other):
    return False if other is None else F.eq(self, other)


def _ne(self, other):
    return True if other is None else F.ne(self, other)


def _size_args(fn):
    def method(self, *shape):
        return fn(self, *shape)

    method.__name__ = fn.__name__
    return method


def _invert(self):
    return F.logical_not(self) if self.dtype.kind == "b" else F.bitwise_not(self)


def _in_place(fn, name):
    """``self <op>= other`` written into ``self`` (PyTorch's ``__iand__`` and kin)."""

    def method(self, other):
        return self._inplace(fn, other, name=name)

    method.__name__ = f"__i{name}__"
    return method


def _matmul(self, other):
    return F.matmul(self, other)


def _rmatmul(self, other):
    return F.matmul(other, self)


def _mT(self):
    return F.transpose(self, -2, -1)


def _T(self):
    return F.permute(self, *reversed(range(self.ndim))) if self.ndim > 1 else self


def _clone(self):
    """A copy of the data that stays in the graph (gradient flows back to self)."""
    return F.cast(self, self.dtype)  # astype copies


def _contiguous(self):
    return self if self.array.flags.c_contiguous else F.cast(self, self.dtype)


METHODS = {
    # operators
    "__add__": F.add, "__radd__": F.add, "__sub__": F.sub, "__rsub__": _r(F.sub),
    "__mul__": F.mul, "__rmul__": F.mul, "__truediv__": F.div, "__rtruediv__": _r(F.div),
    "__floordiv__": F.floor_divide, "__rfloordiv__": _r(F.floor_divide),
    "__mod__": F.remainder, "__rmod__": _r(F.remainder),
    "__pow__": F.pow, "__rpow__": _r(F.pow), "__matmul__": _matmul, "__rmatmul__": _rmatmul,
    "__neg__": F.neg, "__pos__": lambda self: self, "__abs__": F.abs, "__invert__": _invert,
    "__eq__": _eq, "__ne__": _ne, "__lt__": F.lt, "__le__": F.le, "__gt__": F.gt, "__ge__": F.ge,
    "__and__": _math.bitwise_and, "__or__": _math.bitwise_or, "__xor__": _math.bitwise_xor,
    "__rand__": _r(_math.bitwise_and), "__ror__": _r(_math.bitwise_or), "__rxor__": _r(_math.bitwise_xor),
    "__lshift__": _math.bitwise_left_shift, "__rshift__": _math.bitwise_right_shift,
    "__rlshift__": _r(_math.bitwise_left_shift), "__rrshift__": _r(_math.bitwise_right_shift),
    "__iand__": _in_place(_math.bitwise_and, "and"), "__ior__": _in_place(_math.bitwise_or, "or"),
    "__ixor__": _in_place(_math.bitwise_xor, "xor"), "__ilshift__": _in_place(_math.bitwise_left_shift, "lshift"),
    "__irshift__": _in_place(_math.bitwise_right_shift, "rshift"),
    "__getitem__": F.getitem,
    # math
    "add": F.add, "sub": F.sub, "mul": F.mul, "div": F.div, "pow": F.pow, "neg": F.neg,
    "exp": F.exp, "log": F.log, "log1p": F.log1p, "expm1": F.expm1, "sqrt": F.sqrt,
    "rsqrt": F.rsqrt, "abs": F.abs, "sin": F.sin, "cos": F.cos, "tanh": F.tanh,
    "sigmoid": F.sigmoid, "relu": F.relu, "square": F.square, "reciprocal": F.reciprocal,
    "sign": F.sign, "floor": F.floor, "ceil": F.ceil, "round": F.round, "trunc": F.trunc,
    "clip": F.clip, "clamp": F.clip, "maximum": F.maximum, "minimum": F.minimum,
    "softmax": F.softmax, "log_softmax": F.log_softmax, "matmul": _matmul,
    "eq": F.eq, "ne": F.ne, "lt": F.lt, "le": F.le, "gt": F.gt, "ge": F.ge,
    "isnan": F.isnan, "isinf": F.isinf, "isfinite": F.isfinite,
    # reductions
    "sum": F.sum, "mean": F.mean, "var": F.var, "std": F.std, "prod": F.prod, "max": F.max,
    "min": F.min, "amax": F.amax, "amin": F.amin, "argmax": F.argmax, "argmin": F.argmin,
    "logsumexp": F.logsumexp, "all": F.all, "any": F.any,
    # shape
    "reshape": _size_args(F.reshape), "view": _size_args(F.reshape), "flatten": F.flatten,
    "squeeze": F.squeeze, "unsqueeze": F.unsqueeze, "permute": _size_args(F.permute),
    "transpose": F.transpose, "swapaxes": F.transpose, "t": F.t, "expand": _size_args(F.expand),
    "broadcast_to": _size_args(F.broadcast_to), "split": F.split, "chunk": F.chunk,
    "unbind": F.unbind, "gather": F.gather, "index_select": F.index_select,
    "clone": _clone, "contiguous": _contiguous,
}  # fmt: skip


def _flip(self, *dims):
    """``x.flip(0, 1)`` or ``x.flip((0, 1))``, as PyTorch takes both."""
    return F.flip(self, dims[0] if len(dims) == 1 else dims)


def _is_contiguous(self, memory_format=None):
    return bool(self.array.flags.c_contiguous)


def _nelement(self):
    return self.numel()


def _norm(self, p="fro", dim=None, keepdim=False, dtype=None):
    """``Tensor.norm``: its fourth argument is dtype (``torch.norm``'s is out)."""
    return F.norm(self, p, dim, keepdim, dtype=dtype)


METHODS.update({
    "norm": _norm, "flip": _flip, "sort": F.sort, "argsort": F.argsort, "topk": F.topk,
    "equal": F.equal, "isclose": F.isclose, "allclose": F.allclose,
    "is_contiguous": _is_contiguous, "nelement": _nelement,
    "diag": F.diag, "nonzero": F.nonzero, "log2": F.log2, "log10": F.log10, "multinomial": F.multinomial,
})  # fmt: skip

METHODS.update({  # issue 17 (reduce helper): reductions, scans, sorting, selection
    "cumsum": F.cumsum, "cumprod": F.cumprod, "cummax": F.cummax, "cummin": F.cummin,
    "logcumsumexp": F.logcumsumexp, "median": F.median, "count_nonzero": F.count_nonzero, "aminmax": F.aminmax,
    "kthvalue": F.kthvalue, "unique": F.unique, "bincount": F.bincount, "argwhere": F.argwhere, "mode": F.mode,
})  # fmt: skip
METHODS.update({  # issue 17 (reduce helper): shape
    "repeat": _size_args(F.repeat), "tile": _size_args(F.tile), "repeat_interleave": F.repeat_interleave,
    "fliplr": F.fliplr, "flipud": F.flipud, "roll": F.roll, "tril": F.tril, "triu": F.triu, "diagonal": F.diagonal,
    "diag_embed": F.diag_embed, "unflatten": F.unflatten, "movedim": F.movedim, "moveaxis": F.moveaxis,
    "swapdims": F.transpose, "view_as": F.view_as, "reshape_as": F.reshape_as, "expand_as": F.expand_as,
    "type_as": F.type_as, "narrow": F.narrow, "unfold": F.unfold,
})  # fmt: skip

METHODS.update({  # issue 17 (math helper): math, comparison, creation
    "tan": F.tan, "asin": F.asin, "acos": F.acos, "atan": F.atan, "atan2": F.atan2, "sinh": F.sinh, "cosh": F.cosh,
    "asinh": F.asinh, "acosh": F.acosh, "atanh": F.atanh, "arcsin": F.asin, "arccos": F.acos, "arctan": F.atan,
    "arctan2": F.atan2, "arcsinh": F.asinh, "arccosh": F.acosh, "arctanh": F.atanh, "exp2": F.exp2,
    "logaddexp": F.logaddexp, "lerp": F.lerp, "copysign": F.copysign, "fmod": F.fmod, "divide": F.div,
    "true_divide": F.div, "frac": F.frac, "hypot": F.hypot, "xlogy": F.xlogy, "remainder": F.remainder,
    "floor_divide": F.floor_divide, "isneginf": F.isneginf, "isposinf": F.isposinf, "clamp_min": F.clamp_min,
    "clamp_max": F.clamp_max, "is_floating_point": F.is_floating_point, "bernoulli": _creation.bernoulli,
    "new_zeros": _creation.new_zeros, "new_ones": _creation.new_ones, "new_full": _creation.new_full,
    "new_empty": _creation.new_empty, "new_tensor": _creation.new_tensor,
})  # fmt: skip
METHODS.update({  # issue 17 (index helper): scatter, index_*, masked_*, take, and their in-place forms
    "scatter": F.scatter, "scatter_": F.scatter_, "scatter_add": F.scatter_add, "scatter_add_": F.scatter_add_,
    "scatter_reduce": F.scatter_reduce, "scatter_reduce_": F.scatter_reduce_, "index_add": F.index_add,
    "index_add_": F.index_add_, "index_copy": F.index_copy, "index_copy_": F.index_copy_, "index_fill": F.index_fill,
    "index_fill_": F.index_fill_, "masked_fill": F.masked_fill, "masked_fill_": F.masked_fill_,
    "masked_scatter": F.masked_scatter, "masked_scatter_": F.masked_scatter_, "masked_select": F.masked_select,
    "take": F.take, "take_along_dim": F.take_along_dim,
})  # fmt: skip

METHODS.update({  # issue 17 (index helper): linear algebra
    "mm": F.mm, "bmm": F.bmm, "addmm": F.addmm, "outer": F.outer, "ger": F.ger, "dot": F.dot, "vdot": F.vdot,
    "inner": F.inner, "kron": F.kron, "cross": F.cross,
})  # fmt: skip

PROPERTIES = {"T": _T, "mT": _mT}


def install(cls):
    for name, fn in METHODS.items():
        setattr(cls, name, fn)
    for name, fn in PROPERTIES.items():
        setattr(cls, name, property(fn))
