"""The op table: each entry is one op with its NumPy float64 reference, input domain,
broadcasting shapes and an input that must be refused. tests/test_ops.py runs every
entry through the same checks on every device."""

import math
from dataclasses import dataclass, field

import numpy as np

import gpugrad as gg
from gpugrad import functional as F


@dataclass
class Spec:
    name: str
    fn: object  # (*tensors) -> tensor, gpugrad
    ref: object  # (*float64 arrays) -> array, NumPy
    shapes: list  # input shapes
    low: float = -2.0
    high: float = 2.0
    grad2: bool = True  # twice differentiable: run gradgradcheck
    bcast: list = field(default_factory=list)  # extra input-shape lists that broadcast
    away_from: object = None  # keep inputs at least 0.1 from these points (kinks, ties)
    bad: object = None  # (device) -> raises a gpugrad error
    error: type = gg.errors.GpugradError
    torch: object = None  # the PyTorch form for tests/test_torch_crosscheck.py, where fn is not valid torch code


def _erf(x):
    return np.vectorize(math.erf)(x)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    y = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return y if keepdims else (np.squeeze(y, axis) if axis is not None else y.reshape(()))


def _bad_broadcast(fn):
    def bad(device):
        fn(gg.ones(2, 3, device=device), gg.ones(4, device=device))

    return bad


def _bad_dim(fn):
    def bad(device):
        fn(gg.ones(2, 3, device=device))

    return bad


def _bad_type(fn):
    def bad(device):
        fn([1.0, 2.0])

    return bad


BIN = [(3, 4), (3, 4)]
BCAST2 = [[(3, 4), (4,)], [(2, 1, 4), (3, 1)], [(), (3, 4)]]

SPECS = [
    # arithmetic
    Spec("add", lambda a, b: a + b, np.add, BIN, bcast=BCAST2, bad=_bad_broadcast(F.add)),
    Spec("sub", lambda a, b: a - b, np.subtract, BIN, bcast=BCAST2, bad=_bad_broadcast(F.sub)),
    Spec("mul", lambda a, b: a * b, np.multiply, BIN, bcast=BCAST2, bad=_bad_broadcast(F.mul)),
    Spec("div", lambda a, b: a / b, np.divide, BIN, low=0.5, bcast=BCAST2, bad=_bad_broadcast(F.div)),
    Spec("pow", lambda a, b: a**b, np.power, BIN, low=0.5, bcast=BCAST2, bad=_bad_broadcast(F.pow)),
    Spec("add_scalar", lambda a: a + 2.5, lambda a: a + 2.5, [(3, 4)], bad=_bad_type(lambda a: F.add(a, 1.0))),
    Spec("rsub_scalar", lambda a: 2.5 - a, lambda a: 2.5 - a, [(3, 4)], bad=_bad_type(lambda a: F.sub(1.0, a))),
    Spec("mul_scalar", lambda a: a * 3, lambda a: a * 3, [(3, 4)], bad=_bad_type(lambda a: F.mul(a, 2))),
    Spec("div_scalar", lambda a: a / 3, lambda a: a / 3, [(3, 4)], bad=_bad_type(lambda a: F.div(a, 2))),
    Spec("rdiv_scalar", lambda a: 2 / a, lambda a: 2 / a, [(3, 4)], low=0.5, bad=_bad_type(lambda a: F.div(2, a))),
    Spec("pow_scalar", lambda a: a**3, lambda a: a**3, [(3, 4)], bad=_bad_type(lambda a: F.pow(a, 3))),
    Spec("pow_frac", lambda a: a**1.5, lambda a: a**1.5, [(3, 4)], low=0.5, bad=_bad_type(lambda a: F.pow(a, 0.5))),
    Spec("rpow_scalar", lambda a: 2.0**a, lambda a: 2.0**a, [(3, 4)], bad=_bad_type(lambda a: F.pow(2.0, a))),
    Spec("neg", lambda a: -a, np.negative, [(3, 4)], bad=_bad_type(F.neg)),
    Spec("remainder", lambda a: a % 0.7, lambda a: np.mod(a, 0.7), [(3, 4)], bad=_bad_type(lambda a: F.remainder(a, 0.5))),
    # math
    Spec("exp", F.exp, np.exp, [(3, 4)], bad=_bad_type(F.exp)),
    Spec("log", F.log, np.log, [(3, 4)], low=0.2, bad=_bad_type(F.log)),
    Spec("log1p", F.log1p, np.log1p, [(3, 4)], low=-0.5, bad=_bad_type(F.log1p)),
    Spec("expm1", F.expm1, np.expm1, [(3, 4)], bad=_bad_type(F.expm1)),
    Spec("sqrt", F.sqrt, np.sqrt, [(3, 4)], low=0.2, bad=_bad_type(F.sqrt)),
    Spec("rsqrt", F.rsqrt, lambda a: 1 / np.sqrt(a), [(3, 4)], low=0.2, bad=_bad_type(F.rsqrt)),
    Spec("abs", F.abs, np.abs, [(3, 4)], away_from=[0.0], bad=_bad_type(F.abs)),
    Spec("sin", F.sin, np.sin, [(3, 4)], bad=_bad_type(F.sin)),
    Spec("cos", F.cos, np.cos, [(3, 4)], bad=_bad_type(F.cos)),
    Spec("square", F.square, np.square, [(3, 4)], bad=_bad_type(F.square)),
    Spec("reciprocal", F.reciprocal, np.reciprocal, [(3, 4)], low=0.3, bad=_bad_type(F.reciprocal)),
    Spec("sign", F.sign, np.sign, [(3, 4)], away_from=[0.0], bad=_bad_type(F.sign)),
    Spec("floor", F.floor, np.floor, [(3, 4)], away_from=[-2, -1, 0, 1, 2], bad=_bad_type(F.floor)),
    Spec("maximum", F.maximum, np.maximum, BIN, bcast=BCAST2, bad=_bad_broadcast(F.maximum)),
    Spec("minimum", F.minimum, np.minimum, BIN, bcast=BCAST2, bad=_bad_broadcast(F.minimum)),
    Spec(
        "clip", lambda a: F.clip(a, -0.5, 0.8), lambda a: np.clip(a, -0.5, 0.8), [(3, 4)],
        away_from=[-0.5, 0.8], bad=lambda d: F.clip(gg.ones(2, device=d)),
    ),
    Spec(
        "where", lambda a, b: F.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b), BIN,
        away_from=[0.0], bcast=[[(3, 4), (4,)]],
        bad=lambda d: F.where(gg.ones(2, device=d), gg.ones(2, device=d), gg.ones(2, device=d)),
    ),
    # activations
    Spec("tanh", F.tanh, np.tanh, [(3, 4)], bad=_bad_type(F.tanh)),
    Spec("sigmoid", F.sigmoid, lambda a: 1 / (1 + np.exp(-a)), [(3, 4)], low=-6, high=6, bad=_bad_type(F.sigmoid)),
    Spec("relu", F.relu, lambda a: np.maximum(a, 0), [(3, 4)], away_from=[0.0], bad=_bad_type(F.relu)),
    Spec(
        "leaky_relu", lambda a: F.leaky_relu(a, 0.1), lambda a: np.where(a > 0, a, 0.1 * a), [(3, 4)],
        away_from=[0.0], bad=_bad_type(F.leaky_relu),
    ),
    Spec("elu", F.elu, lambda a: np.where(a > 0, a, np.expm1(a)), [(3, 4)], away_from=[0.0], bad=_bad_type(F.elu)),
    Spec("gelu", F.gelu, lambda a: 0.5 * a * (1 + _erf(a / np.sqrt(2))), [(3, 4)], bad=_bad_type(F.gelu)),
    Spec(
        "gelu_tanh", lambda a: F.gelu(a, approximate="tanh"),
        lambda a: 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a**3))), [(3, 4)],
        bad=lambda d: F.gelu(gg.ones(2, device=d), approximate="fast"), error=ValueError,
    ),
    Spec("silu", F.silu, lambda a: a / (1 + np.exp(-a)), [(3, 4)], bad=_bad_type(F.silu)),
    Spec("softplus", F.softplus, lambda a: np.log1p(np.exp(a)), [(3, 4)], low=-5, high=5, bad=_bad_type(F.softplus)),
    Spec(
        "hardtanh", F.hardtanh, lambda a: np.clip(a, -1, 1), [(3, 4)], away_from=[-1.0, 1.0],
        bad=lambda d: F.hardtanh(gg.ones(2, device=d), 1.0, -1.0), error=ValueError,
    ),
    Spec("erf", F.erf, _erf, [(3, 4)], bad=_bad_type(F.erf)),
    Spec("softmax", lambda a: F.softmax(a, 1), lambda a: _softmax(a, 1), [(3, 4)], bad=_bad_dim(lambda a: F.softmax(a, 2))),
    Spec(
        "log_softmax", lambda a: F.log_softmax(a, 0), lambda a: np.log(_softmax(a, 0)), [(3, 4)],
        bad=_bad_dim(lambda a: F.log_softmax(a, -3)),
    ),
    # reductions
    Spec("sum", lambda a: a.sum(), np.sum, [(3, 4)], bad=_bad_dim(lambda a: a.sum(2))),
    Spec("sum_dim", lambda a: a.sum(1), lambda a: a.sum(1), [(3, 4)], bad=_bad_dim(lambda a: a.sum((0, 0)))),
    Spec(
        "sum_dims_keepdim", lambda a: a.sum((0, 2), keepdim=True), lambda a: a.sum((0, 2), keepdims=True),
        [(2, 3, 4)], bad=_bad_dim(lambda a: a.sum(-3)),
    ),
    Spec("mean", lambda a: a.mean(0), lambda a: a.mean(0), [(3, 4)], bad=_bad_dim(lambda a: a.mean(5))),
    Spec("var", lambda a: a.var(1), lambda a: a.var(1, ddof=1), [(3, 4)], bad=_bad_dim(lambda a: a.var(3))),
    Spec("std", lambda a: a.std(), lambda a: a.std(ddof=1), [(3, 4)], bad=_bad_dim(lambda a: a.std(3))),
    Spec(
        "var_biased", lambda a: a.var(0, correction=0), lambda a: a.var(0), [(3, 4)],
        bad=_bad_dim(lambda a: a.var(-4)),
    ),
    Spec("prod", lambda a: a.prod(1), lambda a: a.prod(1), [(3, 4)], grad2=False, bad=_bad_dim(lambda a: a.prod(2))),
    Spec("prod_all", lambda a: a.prod(), np.prod, [(2, 3)], grad2=False, bad=_bad_dim(lambda a: a.prod((0, 1)))),
    Spec("max_dim", lambda a: a.max(1).values, lambda a: a.max(1), [(3, 4)], bad=_bad_dim(lambda a: a.max(2))),
    Spec("min_dim_keepdim", lambda a: a.min(0, keepdim=True)[0], lambda a: a.min(0, keepdims=True), [(3, 4)],
         bad=_bad_dim(lambda a: a.min(-3))),
    Spec("max_all", lambda a: a.max(), np.max, [(3, 4)], bad=lambda d: gg.ones(0, device=d).max()),
    Spec("amin", lambda a: a.amin(0), lambda a: a.min(0), [(3, 4)], bad=_bad_dim(lambda a: a.amin(7))),
    Spec("logsumexp", lambda a: a.logsumexp(1), lambda a: _logsumexp(a, 1), [(3, 4)],
         bad=_bad_dim(lambda a: a.logsumexp(2))),
    Spec("logsumexp_all", lambda a: a.logsumexp(), _logsumexp, [(3, 4)], bad=_bad_dim(lambda a: a.logsumexp(-5))),
    # shape
    Spec("reshape", lambda a: a.reshape(4, 3), lambda a: a.reshape(4, 3), [(3, 4)], bad=_bad_dim(lambda a: a.reshape(5))),
    Spec("view_neg1", lambda a: a.view(-1, 2), lambda a: a.reshape(-1, 2), [(3, 4)], bad=_bad_dim(lambda a: a.view(-1, 5))),
    Spec("permute", lambda a: a.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1), [(2, 3, 4)],
         bad=_bad_dim(lambda a: a.permute(0, 1, 2))),
    Spec("transpose", lambda a: a.transpose(0, 1), lambda a: a.T, [(3, 4)], bad=_bad_dim(lambda a: a.transpose(0, 2))),
    Spec("T", lambda a: a.T, lambda a: a.T, [(3, 4)], bad=_bad_dim(lambda a: F.t(a.reshape(1, 2, 3)))),
    Spec("broadcast_to", lambda a: a.broadcast_to(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4)), [(3, 1)],
         bad=_bad_dim(lambda a: a.broadcast_to(3, 3))),
    Spec("expand", lambda a: a.expand(2, -1, 4), lambda a: np.broadcast_to(a, (2, 3, 4)), [(3, 1)],
         bad=_bad_dim(lambda a: a.expand(2))),
    Spec("squeeze", lambda a: a.squeeze(1), lambda a: a.squeeze(1), [(3, 1, 4)], bad=_bad_dim(lambda a: a.squeeze(2))),
    Spec("unsqueeze", lambda a: a.unsqueeze(-1), lambda a: a[..., None], [(3, 4)],
         bad=_bad_dim(lambda a: a.unsqueeze(4))),
    Spec("flatten", lambda a: a.flatten(1), lambda a: a.reshape(2, -1), [(2, 3, 4)],
         bad=_bad_dim(lambda a: a.flatten(3))),
    Spec("cat", lambda a, b: F.cat([a, b], 1), lambda a, b: np.concatenate([a, b], 1), [(3, 2), (3, 4)],
         bad=lambda d: F.cat([gg.ones(2, 3, device=d), gg.ones(3, 3, device=d)], 1)),
    Spec("stack", lambda a, b: F.stack([a, b], -1), lambda a, b: np.stack([a, b], -1), BIN,
         bad=lambda d: F.stack([gg.ones(2, 3, device=d), gg.ones(3, 3, device=d)])),
    Spec("split_first", lambda a: F.split(a, [1, 3], 1)[1], lambda a: a[:, 1:], [(3, 4)],
         bad=lambda d: F.split(gg.ones(3, 4, device=d), [1, 2], 1)),
    Spec("chunk_sum", lambda a: sum(c.sum() * (i + 1) for i, c in enumerate(F.chunk(a, 3, 0))),
         lambda a: a[0:1].sum() + 2 * a[1:2].sum() + 3 * a[2:3].sum(), [(3, 4)],
         bad=lambda d: F.chunk(gg.ones(3, device=d), 0), error=ValueError),
    Spec("pad", lambda a: F.pad(a, (1, 2, 0, 1), value=0.5),
         lambda a: np.pad(a, ((0, 1), (1, 2)), constant_values=0.5), [(3, 4)],
         bad=lambda d: F.pad(gg.ones(3, device=d), (1, 1, 1, 1))),
    # indexing
    Spec("getitem_basic", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [(3, 4)], bad=lambda d: gg.ones(3, device=d)[5],
         error=IndexError),
    Spec("getitem_int_repeats", lambda a: a[[0, 2, 0, 0]], lambda a: a[[0, 2, 0, 0]], [(3, 4)],
         bad=lambda d: gg.ones(3, device=d)[[0, 3]], error=IndexError),
    Spec("getitem_mixed", lambda a: a[1:, [3, 3, 0]], lambda a: a[1:, [3, 3, 0]], [(3, 4)],
         bad=lambda d: gg.ones(3, device=d)[gg.tensor([0.5], device=d)], error=TypeError),
    Spec("getitem_mask", lambda a: a[a > 0], lambda a: a[a > 0], [(3, 4)], away_from=[0.0],
         bad=lambda d: gg.ones(3, device=d)[gg.tensor([True, False], device=d)], error=IndexError),
    Spec("gather", lambda a: F.gather(a, 1, gg.tensor([[0, 0], [3, 1], [2, 2]], device=a.device)),
         lambda a: np.take_along_axis(a, np.array([[0, 0], [3, 1], [2, 2]]), 1), [(3, 4)],
         bad=lambda d: F.gather(gg.ones(3, 4, device=d), 1, gg.tensor([[4]], device=d).expand(3, 1))),
    Spec("index_select", lambda a: F.index_select(a, 0, gg.tensor([2, 0, 2], device=a.device)),
         lambda a: a[[2, 0, 2]], [(3, 4)],
         bad=lambda d: F.index_select(gg.ones(3, 4, device=d), 0, gg.tensor([-1], device=d))),
    Spec("index_put", lambda a, b: F.index_put(a, (slice(None), 1), b), lambda a, b: _put(a, (slice(None), 1), b),
         [(3, 4), (3,)], bad=lambda d: F.index_put(gg.ones(3, 4, device=d), 0, gg.ones(5, device=d))),
    # matmul
    Spec("matmul_2d", lambda a, b: a @ b, np.matmul, [(3, 4), (4, 2)],
         bad=lambda d: gg.ones(3, 4, device=d) @ gg.ones(3, 4, device=d)),
    Spec("matmul_1d_1d", lambda a, b: a @ b, np.matmul, [(4,), (4,)],
         bad=lambda d: gg.ones(3, device=d) @ gg.ones(4, device=d)),
    Spec("matmul_2d_1d", lambda a, b: a @ b, np.matmul, [(3, 4), (4,)],
         bad=lambda d: gg.ones(3, 4, device=d) @ gg.ones(3, device=d)),
    Spec("matmul_1d_3d", lambda a, b: a @ b, np.matmul, [(4,), (2, 4, 3)],
         bad=lambda d: gg.ones(4, device=d) @ gg.ones(2, 3, 3, device=d)),
    Spec("matmul_batched_bcast", lambda a, b: a @ b, np.matmul, [(2, 1, 3, 4), (3, 4, 2)],
         bad=lambda d: gg.ones(2, 3, 4, device=d) @ gg.ones(3, 4, 2, device=d)),
    Spec("linear", lambda x, w, b: F.linear(x, w, b), lambda x, w, b: x @ w.T + b, [(5, 4), (3, 4), (3,)],
         bad=lambda d: F.linear(gg.ones(5, 4, device=d), gg.ones(4, 3, device=d))),
]


def _put(a, key, b):
    out = a.copy()
    out[key] = b
    return out


# -- result dtypes (PyTorch's, recorded from torch 2.13; tests/test_torch_crosscheck.py checks
# the table against torch): (expression, dtype, or "error" where PyTorch refuses it). Each
# expression runs with ``m`` as the module (gpugrad or torch) on the operands of
# ``dtype_operands``: i (int64), i32 (int32), u8 (uint8), b (bool), f (float32), d (float64),
# h (float16), and 0-d tensors zi (int64), zf (float32), zd (float64), zb (bool). Covers
# arithmetic with tensors, 0-d tensors and scalars on either side, division, powers,
# comparisons, float functions of integers, where/clamp/maximum, matmul, reductions, bitwise.
DTYPE_CASES = [
    ("i + f", "float32"), ("f + i", "float32"), ("i + d", "float64"), ("i32 + i", "int64"), ("u8 + i32", "int32"),
    ("b + b", "bool"), ("b + i32", "int32"), ("i32 * 2.5", "float32"), ("2.5 * i32", "float32"),
    ("i32 + 2", "int32"), ("u8 + 300", "uint8"), ("i32 + True", "int32"), ("b * 1.5", "float32"),
    ("h + d", "float64"), ("h * i", "float16"), ("f - d", "float64"), ("i - b", "error"), ("b - b", "error"),
    ("-b", "error"), ("-i32", "int32"), ("abs(b)", "error"), ("i32 + zd", "float64"), ("f + zd", "float32"),
    ("h + zd", "float16"), ("i32 + zf", "float32"), ("b + zi", "int64"), ("b + zd", "float64"),
    ("zi + zd", "float64"), ("zb + zb", "bool"), ("zi * 2.5", "float32"), ("i32 + zb", "int32"),
    ("zd + 1", "float64"), ("u8 + zi", "uint8"), ("i / i", "float32"), ("i32 / 2", "float32"),
    ("2 / i32", "float32"), ("b / b", "float32"), ("i / zd", "float64"), ("i // 2", "int64"),
    ("i32 // i", "int64"), ("i % 3", "int64"), ("i % 2.5", "float32"), ("f // 2", "float32"), ("b // b", "error"),
    ("b % b", "error"), ("i ** 2", "int64"), ("i ** 0.5", "float32"), ("2 ** i", "int64"),
    ("2.0 ** i32", "float32"), ("i ** -1", "error"), ("b ** 2", "int64"), ("b ** b", "error"),
    ("f ** i", "float32"), ("i32 ** i", "int64"), ("zi ** f", "float32"), ("i == f", "bool"), ("i < 2.5", "bool"),
    ("i32 >= zd", "bool"), ("b == 1", "bool"), ("f != d", "bool"), ("2 < i", "bool"), ("i.exp()", "float32"),
    ("i32.sqrt()", "float32"), ("b.sqrt()", "float32"), ("m.sigmoid(i)", "float32"), ("i.tanh()", "float32"),
    ("i.log()", "float32"), ("i.sin()", "float32"), ("i.reciprocal()", "float32"), ("i.floor()", "int64"),
    ("i32.round()", "int32"), ("b.floor()", "error"), ("i.sign()", "int64"), ("b.sign()", "bool"),
    ("f.sign()", "float32"), ("i.abs()", "int64"), ("i.square()", "int64"), ("m.where(b, i, f)", "float32"),
    ("m.where(b, i, 2.5)", "float32"), ("m.where(b, 1, 2)", "int64"), ("m.where(b, 1.0, 2)", "float32"),
    ("m.where(b, i32, zd)", "float64"), ("m.where(b, f, d)", "float64"), ("m.where(b, b, b)", "bool"),
    ("m.where(b, i32, 2)", "int32"), ("i.clamp(0, 2)", "int64"), ("i.clamp(0.5)", "float32"),
    ("i.clamp(max=zd)", "float64"), ("f.clamp(i)", "float32"), ("i32.clamp(i)", "int64"),
    ("b.clamp(0, 1)", "int64"), ("m.maximum(i, f)", "float32"), ("m.maximum(i32, zd)", "float64"),
    ("m.minimum(i32, i)", "int64"), ("m.maximum(b, b)", "bool"), ("m.minimum(h, d)", "float64"),
    ("i @ i", "int64"), ("f @ f", "float32"), ("i @ f", "error"), ("f @ d", "error"), ("b @ b", "error"),
    ("i32 @ i", "error"), ("i.sum()", "int64"), ("b.sum()", "int64"), ("i32.sum()", "int64"),
    ("u8.sum()", "int64"), ("f.sum()", "float32"), ("h.sum()", "float16"), ("i32.sum(0)", "int64"),
    ("b.sum(dim=0)", "int64"), ("i.prod()", "int64"), ("b.prod()", "int64"), ("i32.prod(0)", "int64"),
    ("i.mean()", "error"), ("b.mean()", "error"), ("i.mean(dtype=m.float64)", "float64"), ("f.mean()", "float32"),
    ("i.var()", "error"), ("i.std()", "error"), ("f.var()", "float32"), ("i.max()", "int64"), ("b.max()", "bool"),
    ("i32.amax()", "int32"), ("i32.amin(0)", "int32"), ("b.min()", "bool"), ("i.argmax()", "int64"),
    ("b.argmin()", "error"), ("i.logsumexp(0)", "float32"), ("i.all()", "bool"), ("f.any()", "bool"),
    ("i32.max(0).values", "int32"), ("i32.max(0).indices", "int64"), ("i.sum(dtype=m.float32)", "float32"),
    ("i & 3", "int64"), ("b & b", "bool"), ("b | True", "bool"), ("b & 3", "int64"), ("0x1337 & i", "int64"),
    ("i32 ^ i", "int64"), ("~i32", "int32"), ("~b", "bool"), ("i << 2", "int64"), ("i >> 1", "int64"),
    ("b << 1", "int64"), ("i32 << b", "int32"), ("f & 1", "error"), ("~f", "error"), ("1 << i32", "int32"),
    ("u8 | i32", "int32"),
]  # fmt: skip


def dtype_operands(m, device):
    kw = {"device": device} if m is gg else {}
    t = lambda v, dt: m.tensor(v, dtype=getattr(m, dt), **kw)  # noqa: E731
    return {
        "m": m, "i": t([3, -1, 2], "int64"), "i32": t([4, 0, -7], "int32"), "u8": t([1, 200, 3], "uint8"),
        "b": t([True, False, True], "bool"), "f": t([1.5, -2.0, 0.25], "float32"), "d": t([0.5, 2.0, -1.0], "float64"),
        "h": t([1.0, 2.0, 3.0], "float16"), "zi": t(5, "int64"), "zf": t(1.5, "float32"), "zd": t(2.25, "float64"),
        "zb": t(True, "bool"),
    }  # fmt: skip


def run_dtype_case(expr, m, device):
    """(dtype name, float64 values) of ``expr``, or the exception it raised."""
    try:
        out = eval(expr, {"abs": abs}, dtype_operands(m, device))
    except Exception as exc:  # noqa: BLE001 - the refusal itself is what is compared
        return exc
    return str(out.dtype).replace("torch.", ""), np.asarray(out.tolist(), dtype=np.float64)


# The breadth issue's ops, one table per area (each file holds SPECS and DTYPE_CASES lists of
# the same kinds as above); imported last, as they build on Spec and the helpers here.
import op_specs_index  # noqa: E402
import op_specs_math  # noqa: E402
import op_specs_nn  # noqa: E402
import op_specs_reduce  # noqa: E402

_AREAS = (op_specs_math, op_specs_reduce, op_specs_index, op_specs_nn)
SPECS += [s for m in _AREAS for s in m.SPECS]
DTYPE_CASES += [c for m in _AREAS for c in m.DTYPE_CASES]
