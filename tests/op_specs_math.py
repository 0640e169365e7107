"""Op-table entries (see tests/op_specs.py) for the breadth issue's elementwise math, comparison and creation ops.

The gpugrad forms are written as Tensor methods where PyTorch has the same method, so that the
same lambda is the PyTorch form in tests/test_torch_crosscheck.py."""

import numpy as np
from op_specs import Spec

import gpugrad as gg
from gpugrad import functional as F

BIN = [(3, 4), (3, 4)]
BCAST2 = [[(3, 4), (4,)], [(2, 1, 4), (3, 1)], [(), (3, 4)]]
HALVES = [k / 2 for k in range(-4, 5)]  # the jumps of trunc(a / 0.5)
INTS = [-2.0, -1.0, 0.0, 1.0, 2.0]


def _type(fn):
    def bad(device):
        fn([1.0, 2.0])

    return bad


def _bcast(fn):
    def bad(device):
        fn(gg.ones(2, 3, device=device), gg.ones(4, device=device))

    return bad


def _ints(fn):
    """An integer tensor where PyTorch has no integer kernel."""

    def bad(device):
        fn(gg.tensor([1, 2], device=device), gg.tensor([3, 4], device=device))

    return bad


def _xlogy(a, b):
    return np.where(a == 0, 0.0, a * np.log(b))


def _clamp(a, lo, hi):
    return np.minimum(np.maximum(a, lo), hi)


SPECS = [
    Spec("tan", lambda a: a.tan(), np.tan, [(3, 4)], low=-1.2, high=1.2, bad=_type(F.tan)),
    Spec("asin", lambda a: a.asin(), np.arcsin, [(3, 4)], low=-0.9, high=0.9, bad=_type(F.asin)),
    Spec("acos", lambda a: a.acos(), np.arccos, [(3, 4)], low=-0.9, high=0.9, bad=_type(F.acos)),
    Spec("atan", lambda a: a.atan(), np.arctan, [(3, 4)], bad=_type(F.atan)),
    Spec("sinh", lambda a: a.sinh(), np.sinh, [(3, 4)], bad=_type(F.sinh)),
    Spec("cosh", lambda a: a.cosh(), np.cosh, [(3, 4)], bad=_type(F.cosh)),
    Spec("asinh", lambda a: a.asinh(), np.arcsinh, [(3, 4)], bad=_type(F.asinh)),
    Spec("acosh", lambda a: a.acosh(), np.arccosh, [(3, 4)], low=1.2, high=3.0, bad=_type(F.acosh)),
    Spec("atanh", lambda a: a.atanh(), np.arctanh, [(3, 4)], low=-0.9, high=0.9, bad=_type(F.atanh)),
    Spec("exp2", lambda a: a.exp2(), np.exp2, [(3, 4)], bad=_type(F.exp2)),
    Spec("frac", lambda a: a.frac(), lambda a: a - np.trunc(a), [(3, 4)], away_from=INTS,
         bad=lambda d: F.frac(gg.tensor([1, 2], device=d))),
    Spec("trunc", lambda a: a.trunc(), np.trunc, [(3, 4)], away_from=INTS, bad=_type(F.trunc)),
    Spec("floor_divide", lambda a: a.floor_divide(0.5), lambda a: np.floor_divide(a, 0.5), [(3, 4)], away_from=HALVES,
         bad=lambda d: gg.tensor([1, 2], device=d).floor_divide(0), error=gg.errors.ArgumentError,
         torch=lambda a: a.div(0.5, rounding_mode="floor")),  # PyTorch's floor_divide has no derivative
    Spec("atan2", lambda a, b: a.atan2(b), np.arctan2, BIN, bcast=BCAST2, away_from=[0.0], bad=_bcast(F.atan2)),
    Spec("hypot", lambda a, b: a.hypot(b), np.hypot, BIN, bcast=BCAST2, away_from=[0.0], bad=_ints(F.hypot),
         error=gg.errors.DTypeError),
    Spec("logaddexp", lambda a, b: a.logaddexp(b), np.logaddexp, BIN, bcast=BCAST2, bad=_ints(F.logaddexp),
         error=gg.errors.DTypeError),
    Spec("copysign", lambda a, b: a.copysign(b), np.copysign, BIN, bcast=BCAST2, away_from=[0.0],
         bad=_bcast(F.copysign)),
    Spec("copysign_scalar", lambda a: a.copysign(-0.0), lambda a: np.copysign(a, -0.0), [(3, 4)], away_from=[0.0],
         bad=lambda d: F.copysign(-1.0, gg.ones(2, device=d)), error=gg.errors.ArgumentTypeError),
    Spec("fmod", lambda a, b: a.fmod(b), np.fmod, BIN, low=0.5, bcast=BCAST2, bad=_bcast(F.fmod)),
    Spec("fmod_scalar", lambda a: a.fmod(0.7), lambda a: np.fmod(a, 0.7), [(3, 4)],
         away_from=[-1.4, -0.7, 0.0, 0.7, 1.4], bad=lambda d: F.fmod(gg.tensor([True], device=d), True),
         error=gg.errors.DTypeError),
    Spec("div_trunc", lambda a: a.div(0.5, rounding_mode="trunc"), lambda a: np.trunc(a / 0.5), [(3, 4)],
         away_from=HALVES, bad=lambda d: gg.ones(2, device=d).div(2.0, rounding_mode="round"),
         error=gg.errors.ArgumentError),
    Spec("div_floor", lambda a, b: a.div(b, rounding_mode="floor"), lambda a, b: np.floor_divide(a, b), BIN,
         low=0.5, bad=lambda d: gg.tensor([4, 2], device=d).div(0, rounding_mode="floor"),
         error=gg.errors.ArgumentError),
    Spec("div_trunc_tensors", lambda a, b: a.div(b, rounding_mode="trunc"), lambda a, b: np.trunc(a / b), BIN,
         low=0.5, bcast=BCAST2, bad=lambda d: gg.tensor([4, 2], device=d).div(gg.tensor([1, 0], device=d),
                                                                               rounding_mode="trunc"),
         error=gg.errors.ArgumentError),
    Spec("xlogy", lambda a, b: a.xlogy(b), _xlogy, BIN, low=0.2, bcast=BCAST2, bad=_bcast(F.xlogy)),
    Spec("xlogy_scalar", lambda b: b.xlogy(2.5), lambda b: 2.5 * 0 + b * np.log(2.5), [(3, 4)],
         bad=lambda d: F.xlogy(1.0, 2.0), error=gg.errors.ArgumentTypeError),
    Spec("lerp", lambda a, b: a.lerp(b, 0.3), lambda a, b: a + 0.3 * (b - a), BIN, bcast=BCAST2,
         bad=lambda d: F.lerp(gg.ones(2, device=d), gg.ones(2, dtype=gg.float64, device=d), 0.5),
         error=gg.errors.DTypeError),
    Spec("lerp_tensor", lambda a, b, w: a.lerp(b, w), lambda a, b, w: a + w * (b - a), [(3, 4), (3, 4), (3, 4)],
         bcast=[[(3, 4), (4,), (3, 1)], [(), (3, 4), ()]],
         bad=lambda d: F.lerp(*[gg.ones(3, device=d)] * 2, gg.ones(2, device=d)),
         error=gg.errors.ShapeError),
    Spec("clamp_tensor", lambda a, lo, hi: a.clamp(lo, hi), _clamp, [(3, 4), (3, 4), (3, 4)],
         bcast=[[(3, 4), (4,), (3, 1)], [(3, 4), (), (4,)]],
         bad=lambda d: F.clamp(gg.ones(3, device=d), gg.ones(2, device=d)), error=gg.errors.ShapeError),
    Spec("clamp_min_tensor", lambda a, b: a.clamp_min(b), np.maximum, BIN, bcast=BCAST2,
         bad=_bcast(F.clamp_min), error=gg.errors.ShapeError),
    Spec("clamp_max_tensor", lambda a, b: a.clamp_max(b), np.minimum, BIN, bcast=BCAST2,
         bad=_bcast(F.clamp_max), error=gg.errors.ShapeError),
    Spec("clamp_min", lambda a: a.clamp_min(0.3), lambda a: np.maximum(a, 0.3), [(3, 4)], away_from=[0.3],
         bad=lambda d: F.clamp_min(gg.tensor([True], device=d), False), error=gg.errors.DTypeError),
    Spec("clamp_max", lambda a: a.clamp_max(-0.3), lambda a: np.minimum(a, -0.3), [(3, 4)], away_from=[-0.3],
         bad=_type(lambda a: F.clamp_max(a, 1.0))),
]

# PyTorch's result dtypes (torch 2.13), as in tests/op_specs.py's DTYPE_CASES
DTYPE_CASES = [
    ("i.tan()", "float32"), ("b.asinh()", "float32"), ("i.acosh()", "float32"), ("i32.atan()", "float32"),
    ("h.sinh()", "float16"), ("i.exp2()", "float32"), ("b.exp2()", "float32"), ("d.exp2()", "float64"),
    ("m.atan2(i, i)", "float32"), ("m.atan2(f, d)", "float64"), ("m.atan2(i32, zd)", "float64"),
    ("m.logaddexp(i, i)", "error"), ("m.logaddexp(f, d)", "float64"), ("m.hypot(i, i)", "error"),
    ("m.hypot(f, d)", "float64"), ("m.copysign(i, i)", "float32"), ("m.copysign(i, f)", "float32"),
    ("m.copysign(f, -0.0)", "float32"), ("m.copysign(d, zf)", "float64"), ("m.fmod(i, 2)", "int64"),
    ("m.fmod(i, 2.5)", "float32"), ("m.fmod(b, b)", "error"), ("m.fmod(i, 0)", "error"), ("m.fmod(f, i)", "float32"),
    ("m.fmod(i, 0.0)", "float32"), ("m.fmod(i32, i)", "int64"), ("i.div(2, rounding_mode='trunc')", "int64"),
    ("i.div(2, rounding_mode='floor')", "int64"), ("m.div(2, i, rounding_mode='floor')", "int64"),
    ("f.div(2, rounding_mode='trunc')", "float32"), ("b.div(b, rounding_mode='floor')", "error"),
    ("b.div(b, rounding_mode='trunc')", "error"), ("i.div(0, rounding_mode='trunc')", "error"),
    ("i.div(f, rounding_mode=None)", "float32"), ("i32.div(i, rounding_mode='trunc')", "int64"),
    ("i.div(2.5, rounding_mode='trunc')", "float32"), ("i.div(i, rounding_mode='bad')", "error"),
    ("i // 0", "error"), ("i % 0", "error"), ("i.fmod(0)", "error"),
    ("i.floor_divide(0)", "error"), ("i.frac()", "error"), ("f.frac()", "float32"),
    ("m.xlogy(i, i)", "float32"), ("m.xlogy(2, i)", "float32"), ("m.xlogy(i, 2.5)", "float32"),
    ("m.xlogy(b, b)", "float32"), ("m.xlogy(f, d)", "float64"), ("m.xlogy(h, 2)", "float16"),
    ("m.lerp(f, d, 0.5)", "error"), ("m.lerp(i, i, 0.5)", "error"), ("m.lerp(f, f, zd)", "float32"),
    ("m.lerp(f, f, d)", "error"), ("m.lerp(d, d, d)", "float64"), ("i.reciprocal()", "float32"),
    ("b.reciprocal()", "float32"), ("i.rsqrt()", "float32"), ("b.square()", "int64"), ("u8.square()", "uint8"),
    ("i.sign()", "int64"), ("i32.trunc()", "int32"), ("b.trunc()", "error"), ("m.remainder(i, -2)", "int64"),
    ("i.remainder(2.5)", "float32"), ("m.floor_divide(i, 2.0)", "float32"), ("i32.floor_divide(i)", "int64"),
    ("m.isneginf(i)", "bool"), ("m.isposinf(b)", "bool"), ("m.isneginf(f)", "bool"), ("m.isposinf(d)", "bool"),
    ("m.isfinite(i)", "bool"), ("m.isnan(b)", "bool"), ("m.isinf(h)", "bool"), ("i.clamp_min(1)", "int64"),
    ("i.clamp_max(0.5)", "float32"), ("i.clamp_min(zd)", "float64"), ("f.clamp_max(d)", "float64"),
    ("i.clamp(i32, zi)", "int64"), ("f.clamp(zd, d)", "float64"), ("i32.clamp(min=f)", "float32"),
    ("b.clamp(min=b)", "bool"), ("b.clamp_max(b)", "bool"), ("m.clamp(b, b, b)", "error"),
    ("i.log2()", "float32"), ("b.log10()", "float32"),
]  # fmt: skip
