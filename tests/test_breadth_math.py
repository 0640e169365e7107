"""Issue 17, math helper: what the op table (tests/op_specs_math.py) cannot check. Hand values
of the new math (xlogy at 0, rounding modes, fmod/copysign signs), integer division by zero,
clamp's gradients with tensor bounds at ties, bernoulli / normal / Tensor.new_* / Size, the
in-place forms with their version-counter rules, inference_mode and the thread count. Each
runs on every device, against hand values, and against PyTorch when it is installed."""

import math

import numpy as np
import pytest
from helpers import close, make, settle

import gpugrad as gg
from gpugrad import functional as F
from gpugrad.errors import ArgumentError, ArgumentTypeError, AutogradError, DeviceError, DTypeError, ShapeError

NAN, INF = math.nan, math.inf


def _torch():
    return pytest.importorskip("torch")


# -- math by hand -------------------------------------------------------------------------------
def test_math_by_hand(device):
    x = make([0.5, -0.25, 0.0], device)
    close(x.tan(), np.tan([0.5, -0.25, 0.0]))
    close(F.asin(x), np.arcsin([0.5, -0.25, 0.0]))
    close(gg.acos(x), np.arccos([0.5, -0.25, 0.0]))
    close(x.atanh(), np.arctanh([0.5, -0.25, 0.0]))
    close(make([1.0, 2.0], device).acosh(), [0.0, math.acosh(2.0)])
    close(make([3, -1], device).exp2(), [8.0, 0.5])
    assert make([3, -1], device).exp2().dtype == gg.float32
    close(make([-1.0, 2.0], device).atan2(make([-1.0, 0.0], device)), [-3 * math.pi / 4, math.pi / 2])
    close(gg.hypot(make([3.0], device), make([4.0], device)), [5.0])
    close(gg.logaddexp(make([1000.0, -1000.0], device), make([1000.0, -1000.0], device)),
          [1000 + math.log(2), -1000 + math.log(2)], rtol=1e-12)
    close(make([-2.5, 2.5, -0.5], device).frac(), [-0.5, 0.5, -0.5])
    # copysign: -0.0 counts as negative; integers give float32
    close(make([1.5, -2.0], device).copysign(-0.0), [-1.5, -2.0])
    close(gg.copysign(make([3, -1], device), make([-1, 1], device)), [-3.0, 1.0])
    # fmod has the sign of the dividend, remainder that of the divisor
    close(make([-7, 7], device).fmod(3), [-1, 1])
    close(make([-7, 7], device).remainder(-3), [-1, -2])
    close(make([-7.5, 7.5], device).fmod(make([2.0, -2.0], device)), [-1.5, 1.5])
    # lerp with a number and with a tensor weight
    close(make([0.0, 10.0], device).lerp(make([10.0, 20.0], device), 0.25), [2.5, 12.5])
    close(gg.lerp(make([0.0, 10.0], device), make([10.0, 20.0], device), make([1.0, 0.5], device)), [10.0, 15.0])


def test_div_rounding_modes(device):
    a, b = make([-7, 7, -6, 5], device), make([2, -2, 3, 5], device)
    assert a.div(b, rounding_mode="trunc").tolist() == [-3, -3, -2, 1]
    assert gg.div(a, b, rounding_mode="floor").tolist() == [-4, -4, -2, 1]
    assert a.div(b, rounding_mode="trunc").dtype == gg.int64
    close(gg.divide(a, b), [-3.5, -3.5, -2.0, 1.0])
    close(make([-7.5, 7.5], device).div(2, rounding_mode="trunc"), [-3.0, 3.0])
    close(gg.div(-7.5, make([2.0], device), rounding_mode="floor"), [-4.0])
    y = make([-7.5, 7.5], device)
    assert y.div_(2, rounding_mode="floor") is y and y.tolist() == [-4.0, 3.0]
    # rounded divisions have gradient 0, as PyTorch
    x = make([1.5, -2.5], device, requires_grad=True)
    x.div(0.5, rounding_mode="trunc").sum().backward()
    close(x.grad, [0.0, 0.0])


def test_xlogy_is_zero_where_x_is_zero(device):
    x = make([0.0, 0.0, 2.0, 0.0], device, requires_grad=True)
    y = make([0.0, 3.0, 3.0, NAN], device, requires_grad=True)
    out = gg.xlogy(x, y)
    close(out, [0.0, 0.0, 2 * math.log(3.0), NAN])
    out[:3].sum().backward()
    # as PyTorch: d/dx = log y, but 0 where y == 0 (NaN where y is); d/dy = x / y (NaN at 0 / 0;
    # a NaN times a 0 gradient stays NaN)
    close(x.grad, [0.0, math.log(3.0), math.log(3.0), NAN])
    close(y.grad, [NAN, 0.0, 2 / 3, NAN])
    close(gg.xlogy(0, make([0.0, 2.0], device)), [0.0, 0.0])
    close(gg.xlogy(make([0.0, 2.0], device), 1.0), [0.0, 0.0])


def test_xlogy_at_zero_matches_torch(device):
    torch = _torch()
    xs, ys = [0.0, 0.0, 2.0, 0.0, -1.0], [0.0, 3.0, 3.0, NAN, 2.0]
    x, y = make(xs, device, requires_grad=True), make(ys, device, requires_grad=True)
    tx, ty = torch.tensor(xs, dtype=torch.float64, requires_grad=True), torch.tensor(ys, dtype=torch.float64,
                                                                                     requires_grad=True)
    out, tout = gg.xlogy(x, y), torch.xlogy(tx, ty)
    close(out, tout.detach().numpy())
    out.sum().backward()
    tout.sum().backward()
    close(x.grad, tx.grad.numpy())
    close(y.grad, ty.grad.numpy())


@pytest.mark.parametrize("name", ["tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "exp2"])
def test_unary_math_out_of_domain_matches_torch(device, name):
    """NaN / inf outside the domain (no warning), in float32, and float32 for int64 input."""
    torch = _torch()
    vals = [-2.0, -1.0, 0.0, 0.5, 1.0, 3.0, 100.0]
    with np.errstate(all="raise"):
        out = getattr(make(vals, device, dtype=gg.float32), name)()
    tout = getattr(torch.tensor(vals, dtype=torch.float32), name)()
    assert out.dtype == gg.float32
    np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=1e-6)
    iout = getattr(gg, name)(make([0, 1, 2], device))
    assert iout.dtype == gg.float32
    np.testing.assert_allclose(iout.numpy(), getattr(torch, name)(torch.tensor([0, 1, 2])).numpy(), rtol=1e-6)


def test_integer_division_by_zero_is_refused(device):
    a = make([4, 6], device)
    zero = make([1, 0], device)
    for fn, name in ((lambda: a // zero, "floor_divide"), (lambda: a % zero, "remainder"),
                     (lambda: a.fmod(zero), "fmod"), (lambda: a.div(zero, rounding_mode="trunc"), "div"),
                     (lambda: a.div(0, rounding_mode="floor"), "floor_divide"), (lambda: gg.fmod(a, 0), "fmod")):
        with pytest.raises(ArgumentError, match=rf"^\[{name}\] integer division by zero"):
            settle(fn())
    # floats divide by zero by IEEE rules, and a float divisor makes the division a float one
    close(a.fmod(0.0), [NAN, NAN])
    close(make([1.0, -1.0], device) // 0, [INF, -INF])
    close(a.div(make([1, 2], device), rounding_mode="trunc"), [4, 3])


def test_square_of_bool_is_int64(device):
    # regression: square kept bool (True ** 2 = True); PyTorch gives int64, as pow(x, 2)
    out = make([True, False], device).square()
    assert out.dtype == gg.int64 and out.tolist() == [1, 0]


def test_isneginf_isposinf(device):
    x = make([-INF, INF, NAN, 0.0, -1.0], device)
    assert gg.isneginf(x).tolist() == [True, False, False, False, False]
    assert x.isposinf().tolist() == [False, True, False, False, False]
    assert gg.isneginf(make([-1, 2], device)).tolist() == [False, False]
    assert gg.isposinf(make([True], device)).dtype == gg.bool


# -- clamp with tensor bounds: PyTorch's gradients at ties and for lo > hi -------------------------
CLAMP_CASES = {
    # (x, lo, hi) -> gradient of the sum to x, lo, hi (torch 2.13's)
    "inside_and_ties": ([0.0, 1.0, 2.0, -1.0, 3.0], [0.0] * 5, [2.0] * 5,
                        [[1, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1]]),
    "lo_above_hi": ([0.0, 5.0, 1.5], [2.0] * 3, [1.0] * 3, [[0, 0, 0], [0, 0, 0], [1, 1, 1]]),
    "lo_equals_hi": ([0.0, 1.0, 2.0], [1.0] * 3, [1.0] * 3, [[0, 1, 0], [0, 0, 0], [0, 0, 1]]),
}


@pytest.mark.parametrize("case", list(CLAMP_CASES))
def test_clamp_tensor_bounds_gradients(device, case):
    xs, los, his, grads = CLAMP_CASES[case]
    x, lo, hi = (make(v, device, requires_grad=True) for v in (xs, los, his))
    out = x.clamp(lo, hi)
    close(out, np.minimum(np.maximum(xs, los), his))
    out.sum().backward()
    for t, g in zip((x, lo, hi), grads):
        close(t.grad, g)
    torch = pytest.importorskip("torch")
    tx, tlo, thi = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (xs, los, his))
    torch.clamp(tx, tlo, thi).sum().backward()
    for t, tt in zip((x, lo, hi), (tx, tlo, thi)):
        close(t.grad, tt.grad.numpy())


def test_clamp_one_tensor_bound_ties(device):
    x = make([1.0, 0.0, 2.0], device, requires_grad=True)
    lo = make([1.0, 1.0, 1.0], device, requires_grad=True)
    x.clamp_min(lo).sum().backward()
    close(x.grad, [1, 0, 1])  # all of it to x at the tie (maximum would split it)
    close(lo.grad, [0, 1, 0])
    assert make([True, False], device).clamp(min=make([False, True], device)).tolist() == [True, True]


# -- errors ---------------------------------------------------------------------------------------
def test_math_errors(device):
    f, i = make([1.0, 2.0], device, dtype=gg.float32), make([1, 2], device)
    cases = [
        (lambda: gg.atan2(f, 2.0), ArgumentTypeError, r"^\[atan2\] expected other to be a Tensor, got float"),
        (lambda: gg.hypot(i, i), DTypeError, r"^\[hypot\] expected floating point operands, got int64 and int64"),
        (lambda: gg.logaddexp(f, make([1.0, 2.0, 3.0], device)), ShapeError, r"^\[logaddexp\] expected broadcastable"),
        (lambda: gg.copysign(2.0, f), ArgumentTypeError, r"^\[copysign\] expected input to be a Tensor, got float"),
        (lambda: gg.xlogy(2.0, 3.0), ArgumentTypeError, r"^\[xlogy\] expected at least one Tensor"),
        (lambda: f.div(f, rounding_mode="round"), ArgumentError, r"^\[div\] expected rounding_mode .* got 'round'"),
        (lambda: make([True], device).div(make([True], device), rounding_mode="trunc"), DTypeError,
         r"^\[div\] expected numeric"),
        (lambda: gg.fmod(make([True], device), True), DTypeError, r"^\[fmod\] expected numeric operands, got bool"),
        (lambda: i.frac(), DTypeError, r"^\[frac\] expected a floating point tensor, got int64"),
        (lambda: gg.lerp(i, i, 0.5), DTypeError, r"^\[lerp\] expected a floating point tensor, got int64"),
        (lambda: f.lerp(f.double(), 0.5), DTypeError, r"^\[lerp\] expected end of dtype float32 \(input's\), got float64"),
        (lambda: f.lerp(f, f.double()), DTypeError, r"^\[lerp\] expected weight of dtype float32"),
        (lambda: f.lerp(f, "x"), ArgumentTypeError, r"^\[lerp\] expected weight to be a number or a Tensor, got str"),
        (lambda: f.lerp(gg.ones(3, device=device), 0.5), ShapeError, r"^\[lerp\] expected broadcastable shapes"),
        (lambda: gg.tan([1.0]), ArgumentTypeError, r"^\[tan\] expected a Tensor, got list"),
        (lambda: gg.isneginf(1.0), ArgumentTypeError, r"^\[isneginf\] expected a Tensor, got float"),
        (lambda: gg.clamp(make([True], device), make([True], device), make([True], device)), DTypeError,
         r"^\[clip\] expected a numeric tensor or bounds, got bool"),
        (lambda: gg.is_floating_point(1.0), ArgumentTypeError, r"^\[is_floating_point\] expected a Tensor"),
    ]
    for fn, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            fn()


# -- creation ---------------------------------------------------------------------------------------
def test_bernoulli(device):
    p = make([0.0, 1.0, 0.0, 1.0], device, dtype=gg.float64)
    out = gg.bernoulli(p)
    assert out.dtype == gg.float64 and out.tolist() == [0.0, 1.0, 0.0, 1.0]
    big = gg.full((20000,), 0.3, device=device)
    draws = big.bernoulli()
    assert draws.dtype == gg.float32 and set(np.unique(draws.numpy())) <= {0.0, 1.0}
    assert abs(draws.mean().item() - 0.3) < 0.02
    assert abs(gg.bernoulli(gg.zeros(20000, device=device), 0.8).mean().item() - 0.8) < 0.02
    assert gg.bernoulli(gg.zeros(3, dtype=gg.int64, device=device), 1.0).tolist() == [1, 1, 1]
    g1, g2 = gg.Generator(device).manual_seed(7), gg.Generator(device).manual_seed(7)
    assert gg.bernoulli(big, generator=g1).tolist() == gg.bernoulli(big, generator=g2).tolist()
    # in the graph with gradient 0 to the probabilities, as PyTorch
    q = make([0.5, 0.2], device, requires_grad=True)
    out = gg.bernoulli(q)
    assert out.requires_grad
    out.sum().backward()
    close(q.grad, [0.0, 0.0])


def test_normal_forms(device):
    g = gg.Generator(device).manual_seed(3)
    m = gg.normal(2.0, 3.0, (40000,), generator=g, device=device)
    assert m.shape == (40000,) and m.dtype == gg.float32 and m.device == gg.device(device)
    assert abs(m.mean().item() - 2.0) < 0.06 and abs(m.std().item() - 3.0) < 0.06
    assert gg.normal(0.0, 1.0, size=(2, 3), dtype=gg.float64, device=device).dtype == gg.float64
    mean = make([[0.0], [100.0]], device)
    std = make([0.0, 1.0, 2.0], device)
    out = gg.normal(mean, std)
    assert out.shape == (2, 3) and out.dtype == gg.float64
    close(out[:, 0], [0.0, 100.0])  # std 0: the mean itself
    assert abs(out[1, 1:].mean().item() - 100.0) < 10
    assert gg.normal(make([1.0, 2.0], device)).shape == (2,)
    assert gg.normal(5.0, make([0.0, 0.0], device, dtype=gg.float32)).tolist() == [5.0, 5.0]
    a = gg.normal(mean, std, generator=gg.Generator(device).manual_seed(1))
    b = gg.normal(mean, std, generator=gg.Generator(device).manual_seed(1))
    assert a.tolist() == b.tolist()
    # gradient 0 to mean and std, as PyTorch (the draw is not reparameterized)
    mu, sd = make([0.0, 1.0], device, requires_grad=True), make([1.0, 2.0], device, requires_grad=True)
    out = gg.normal(mu, sd)
    assert out.requires_grad
    out.sum().backward()
    close(mu.grad, [0.0, 0.0])
    close(sd.grad, [0.0, 0.0])


def test_normal_and_bernoulli_match_torch_dtypes(device):
    torch = _torch()
    f, d = [0.0, 1.0], [1.0, 2.0]
    for args in ((torch.tensor(f), torch.tensor(d, dtype=torch.float64)), (torch.tensor(f), 2.0),
                 (1.0, torch.tensor(d, dtype=torch.float64))):
        ours = gg.normal(*[make(a.numpy(), device) if isinstance(a, torch.Tensor) else a for a in args])
        assert str(ours.dtype) == str(torch.normal(*args).dtype).replace("torch.", "")
    assert str(gg.normal(0.0, 1.0, (2,)).dtype) == str(torch.normal(0.0, 1.0, (2,)).dtype).replace("torch.", "")
    t = torch.tensor([0.5], dtype=torch.float64)
    assert str(gg.bernoulli(make([0.5], device)).dtype) == str(torch.bernoulli(t).dtype).replace("torch.", "")


def test_random_errors(device):
    f = make([0.5, 0.2], device)
    cases = [
        (lambda: gg.bernoulli(make([0.5, 1.5], device)), ArgumentError,
         r"^\[bernoulli\] expected probabilities in \[0, 1\], got one outside .* index 1"),
        (lambda: gg.bernoulli(make([1, 0], device)), DTypeError, r"^\[bernoulli\] expected floating point probabilities"),
        (lambda: gg.bernoulli(f, 1.5), ArgumentError, r"^\[bernoulli\] expected p in \[0, 1\], got 1.5"),
        (lambda: gg.bernoulli([0.5]), ArgumentTypeError, r"^\[bernoulli\] expected a Tensor, got list"),
        (lambda: gg.bernoulli(f, generator=gg.Generator("cpu") if device != "cpu" else 3), (DeviceError, ArgumentTypeError),
         r"^\[bernoulli\] expected"),
        (lambda: gg.normal(f, -1.0), ArgumentError, r"^\[normal\] expected std >= 0, got -1.0"),
        (lambda: gg.normal(f, make([1.0, -1.0], device)), ArgumentError,
         r"^\[normal\] expected every std >= 0, got a negative"),
        (lambda: gg.normal(0.0, 1.0), ArgumentTypeError, r"^\[normal\] with a number mean and std, expected a size"),
        (lambda: gg.normal(make([0, 1], device), 1.0), DTypeError, r"^\[normal\] expected floating point mean and std"),
        (lambda: gg.normal(f, make([1.0, 1.0, 1.0], device)), ShapeError, r"^\[normal\] expected broadcastable"),
        (lambda: gg.normal(f, 1.0, (2,)), ArgumentTypeError, r"^\[normal\] with a tensor mean or std, expected no size"),
        (lambda: gg.normal("a", 1.0), ArgumentTypeError, r"^\[normal\] expected mean to be a Tensor or a number, got str"),
    ]
    for fn, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            settle(fn())


def test_new_methods_size_and_introspection(device):
    x = make([[1.0, 2.0]], device, dtype=gg.float64)
    for out, shape in ((x.new_zeros(2, 3), (2, 3)), (x.new_ones((4,)), (4,)), (x.new_empty(size=(1, 2)), (1, 2)),
                       (x.new_full((2,), 7), (2,))):
        assert out.shape == shape and out.dtype == gg.float64 and out.device == x.device and not out.requires_grad
    assert x.new_zeros(2).tolist() == [0.0, 0.0] and x.new_ones(1).tolist() == [1.0]
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0]
    t = x.new_tensor([1, 2])
    assert t.dtype == gg.float64 and t.device == x.device and t.tolist() == [1.0, 2.0]
    assert x.new_tensor([1, 2], dtype=gg.int64).dtype == gg.int64
    assert x.new_zeros(2, dtype=gg.int32, requires_grad=False).dtype == gg.int32
    assert x.new_ones(2, requires_grad=True).requires_grad
    assert x.new_zeros(2, device="cpu").device == gg.device("cpu")
    e = gg.empty_like(x)
    assert e.shape == x.shape and e.dtype == x.dtype and e.device == x.device
    # Size: a tuple that compares equal to tuples
    s = gg.Size([2, 3])
    assert s == (2, 3) and isinstance(s, tuple) and s.numel() == 6 and gg.Size().numel() == 1
    assert repr(s) == "gpugrad.Size([2, 3])" and isinstance(s[1:], gg.Size) and s[0] == 2
    assert gg.Size(x.shape) == x.shape and isinstance(s + (4,), gg.Size)
    with pytest.raises(ArgumentTypeError, match=r"^\[Size\] expected ints, got float"):
        gg.Size([2.0])
    assert gg.is_floating_point(x) and x.is_floating_point() and not make([1], device).is_floating_point()
    assert gg.numel(x) == 2 and x.numel() == 2 and x.nelement() == 2
    assert x.element_size() == 8 and make([1], device, dtype=gg.int32).element_size() == 4 and x.dim() == 2


def test_new_methods_match_torch(device):
    torch = _torch()
    x, tx = make([1.0], device, dtype=gg.float16), torch.tensor([1.0], dtype=torch.float16)
    for name, args in (("new_zeros", (2, 3)), ("new_ones", ((2,),)), ("new_full", ((2,), 3)), ("new_tensor", ([1, 2],))):
        ours, theirs = getattr(x, name)(*args), getattr(tx, name)(*args)
        assert tuple(ours.shape) == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert gg.Size([2, 3]) == torch.Size([2, 3])


# -- in place ----------------------------------------------------------------------------------------
INPLACE = {
    "relu_": ([-1.0, 0.5, 2.0], lambda y: y.relu_()),
    "sigmoid_": ([-1.0, 0.5, 2.0], lambda y: y.sigmoid_()),
    "tanh_": ([-1.0, 0.5, 2.0], lambda y: y.tanh_()),
    "clamp_": ([-1.0, 0.5, 2.0], lambda y: y.clamp_(-0.5, 1.0)),
    "clamp_min_": ([-1.0, 0.5, 2.0], lambda y: y.clamp_min_(0.25)),
    "clamp_max_": ([-1.0, 0.5, 2.0], lambda y: y.clamp_max_(0.25)),
    "exp_": ([-1.0, 0.5, 2.0], lambda y: y.exp_()),
    "log_": ([0.5, 1.5, 3.0], lambda y: y.log_()),
    "sqrt_": ([0.5, 1.5, 3.0], lambda y: y.sqrt_()),
    "abs_": ([-1.0, 0.5, -2.0], lambda y: y.abs_()),
    "floor_": ([-1.5, 0.5, 2.25], lambda y: y.floor_()),
    "ceil_": ([-1.5, 0.5, 2.25], lambda y: y.ceil_()),
    "round_": ([-1.5, 0.5, 2.75], lambda y: y.round_()),
    "trunc_": ([-1.5, 0.5, 2.75], lambda y: y.trunc_()),
    "neg_": ([-1.0, 0.5, 2.0], lambda y: y.neg_()),
    "reciprocal_": ([-1.0, 0.5, 2.0], lambda y: y.reciprocal_()),
    "sign_": ([-1.0, 0.5, 0.0], lambda y: y.sign_()),
}
# the derivative of each at the values (3 y, y = 3 x) for the hand check of the graph
DERIV = {
    "relu_": lambda v: (v > 0) * 1.0, "sigmoid_": lambda v: (s := 1 / (1 + np.exp(-v))) * (1 - s),
    "tanh_": lambda v: 1 - np.tanh(v) ** 2, "clamp_": lambda v: ((v >= -0.5) & (v <= 1.0)) * 1.0,
    "clamp_min_": lambda v: (v >= 0.25) * 1.0, "clamp_max_": lambda v: (v <= 0.25) * 1.0, "exp_": np.exp,
    "log_": lambda v: 1 / v, "sqrt_": lambda v: 0.5 / np.sqrt(v), "abs_": np.sign, "floor_": np.zeros_like,
    "ceil_": np.zeros_like, "round_": np.zeros_like, "trunc_": np.zeros_like, "neg_": lambda v: -np.ones_like(v),
    "reciprocal_": lambda v: -1 / v**2, "sign_": np.zeros_like,
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_forms(device, name):
    vals, fn = INPLACE[name]
    out_of_place = getattr(F, {"clamp_": "clip", "clamp_min_": "clamp_min", "clamp_max_": "clamp_max"}.get(
        name, name[:-1]))
    # outside a graph: written into the same tensor, version bumped
    y = make(vals, device)
    expected = fn(make(vals, device).detach().clone()).numpy()
    v0 = y._version
    assert fn(y) is y and y._version == v0 + 1
    close(y, expected)
    if name not in ("clamp_", "clamp_min_", "clamp_max_"):
        close(out_of_place(make(vals, device)), expected)
    # a leaf that requires grad is refused, as PyTorch
    leaf = make(vals, device, requires_grad=True)
    with pytest.raises(AutogradError, match=rf"^\[{name[:-1]}_\] a leaf tensor that requires grad"):
        fn(leaf)
    # inside a graph, on a non-leaf: the gradient flows through
    x = make(vals, device, requires_grad=True)
    z = x * 3.0
    fn(z)
    assert z.requires_grad and z.grad_fn is not None
    (z * make([1.0, 2.0, 3.0], device)).sum().backward()
    v = 3.0 * np.array(vals)
    close(x.grad, 3.0 * np.array([1.0, 2.0, 3.0]) * DERIV[name](v), rtol=1e-6)


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_forms_match_torch(device, name):
    torch = _torch()
    vals, fn = INPLACE[name]
    x = make(vals, device, requires_grad=True)
    tx = torch.tensor(vals, dtype=torch.float64, requires_grad=True)
    y, ty = x * 2.0, tx * 2.0
    r, tr = fn(y) * y, fn(ty) * ty  # the written tensor used after the in-place op
    close(r, tr.detach().numpy())
    r.sum().backward()
    tr.sum().backward()
    close(x.grad, tx.grad.numpy())


def test_inplace_refusals_match_torch_rules(device):
    # an output saved for backward, then changed in place: backward refuses, as PyTorch
    x = make([0.5, 1.0], device, requires_grad=True)
    y = x.exp()
    y.relu_()
    with pytest.raises(AutogradError, match=r"modified by an in-place operation"):
        y.sum().backward()
    # an input saved for backward, changed in place: refused too
    x = make([0.5, 1.0], device, requires_grad=True)
    z = x * 1.0
    w = z.sin()
    z.sqrt_()
    with pytest.raises(AutogradError, match=r"modified by an in-place operation"):
        w.sum().backward()
    # integer tensors refuse float results, as PyTorch
    with pytest.raises(DTypeError, match=r"^\[exp_\] result dtype float32 cannot be written into a int64 tensor"):
        make([1, 2], device).exp_()
    i = make([-3, 2], device)
    assert i.abs_().tolist() == [3, 2] and i.floor_().tolist() == [3, 2]
    with pytest.raises(DTypeError, match=r"^\[div_\]"):
        make([1, 2], device).div_(2)
    assert make([7, -7], device).div_(2, rounding_mode="trunc").tolist() == [3, -3]
    # under no_grad a leaf may be changed in place
    p = make([-1.0, 1.0], device, requires_grad=True)
    with gg.no_grad():
        p.relu_()
    assert p.tolist() == [0.0, 1.0] and p.requires_grad


# -- grad modes and threads -----------------------------------------------------------------------------
def test_inference_mode(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    assert gg.is_grad_enabled() and not gg.is_inference_mode_enabled()
    with gg.inference_mode():
        assert not gg.is_grad_enabled() and gg.is_inference_mode_enabled()
        y = x * 2
        with gg.inference_mode(False):  # as PyTorch: recording is on again inside
            assert gg.is_grad_enabled() and not gg.is_inference_mode_enabled()
            assert (x * 2).requires_grad
        assert not gg.is_grad_enabled()
    assert not y.requires_grad and gg.is_grad_enabled() and not gg.is_inference_mode_enabled()
    with gg.no_grad(), gg.inference_mode(False):
        assert gg.is_grad_enabled()

    @gg.inference_mode
    def bare():
        return (x * 2).requires_grad, gg.is_grad_enabled()

    @gg.inference_mode()
    def called():
        return (x * 2).requires_grad

    @gg.inference_mode(False)
    def off():
        return (x * 2).requires_grad

    assert bare() == (False, False) and called() is False
    with gg.no_grad():
        assert off() is True
    assert bare.__name__ == "bare" and gg.is_grad_enabled()
    with pytest.raises(ValueError), gg.inference_mode():
        raise ValueError  # the mode is restored when the block raises
    assert gg.is_grad_enabled() and not gg.is_inference_mode_enabled()
    with pytest.raises(ArgumentTypeError, match=r"^\[inference_mode\] expected mode to be a bool, got str"):
        gg.inference_mode("yes")


def test_inference_mode_matches_torch():
    torch = _torch()
    for outer in (torch.no_grad, torch.enable_grad):
        with outer(), torch.inference_mode(False):
            want = torch.is_grad_enabled()
        with {torch.no_grad: gg.no_grad, torch.enable_grad: gg.enable_grad}[outer](), gg.inference_mode(False):
            assert gg.is_grad_enabled() == want


def test_set_num_threads():
    from gpugrad.backend import threads

    before = gg.get_num_threads()
    try:
        has_blas = threads.blas_num_threads() is not None  # NumPy's wheels carry OpenBLAS
        done = gg.set_num_threads(1)
        assert gg.get_num_threads() == 1
        if has_blas:  # the BLAS under NumPy's matmul follows, not only the kernels
            assert done["blas"] == 1 and threads.blas_num_threads() == 1
        a = gg.ones(64, 64)
        close(a @ a, np.full((64, 64), 64.0))
        gg.set_num_threads(10**6)  # capped at the CPUs
        assert 1 <= gg.get_num_threads() <= (__import__("os").cpu_count() or 1)
    finally:
        gg.set_num_threads(before)
    assert gg.get_num_threads() == before
    for bad, error in ((0, ArgumentError), (-2, ArgumentError), ("2", ArgumentTypeError), (True, ArgumentTypeError),
                       (2.0, ArgumentTypeError)):
        with pytest.raises(error, match=r"^\[set_num_threads\] expected"):
            gg.set_num_threads(bad)
