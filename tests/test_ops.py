"""Every op in tests/op_specs.py, on every device: forward against NumPy float64,
dtype kept in float32, gradcheck, gradgradcheck, broadcasting shapes and a refused input."""

import numpy as np
import pytest
from helpers import close, make, settle
from op_specs import DTYPE_CASES, SPECS, run_dtype_case

import gpugrad as gg
from gpugrad.autograd import gradcheck, gradgradcheck

IDS = [s.name for s in SPECS]


def inputs(spec, shapes, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for shape in shapes:
        a = rng.uniform(spec.low, spec.high, size=shape)
        for p in spec.away_from or ():
            near = np.abs(a - p) < 0.1
            a = np.where(near, p + np.where(a >= p, 0.1, -0.1) + (a - p), a)
        out.append(a)
    return out


def tensors(arrays, device, requires_grad=False, dtype=np.float64):
    return [make(a.astype(dtype), device, requires_grad=requires_grad) for a in arrays]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_forward_matches_numpy_float64(spec, device):
    arrays = inputs(spec, spec.shapes)
    out = spec.fn(*tensors(arrays, device))
    expected = np.asarray(spec.ref(*arrays))
    assert out.shape == expected.shape
    assert out.dtype == gg.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_forward_keeps_float32(spec, device):
    arrays = inputs(spec, spec.shapes)
    out = spec.fn(*tensors(arrays, device, dtype=np.float32))
    assert out.dtype == gg.float32
    np.testing.assert_allclose(out.numpy(), spec.ref(*arrays), rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_gradcheck(spec, device):
    assert gradcheck(spec.fn, tensors(inputs(spec, spec.shapes), device, requires_grad=True))


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_gradgradcheck(spec, device):
    xs = tensors(inputs(spec, spec.shapes), device, requires_grad=True)
    if spec.grad2:
        assert gradgradcheck(spec.fn, xs)
    else:  # once-differentiable ops say so instead of returning a wrong second derivative
        with pytest.raises(gg.errors.AutogradError, match="differentiable once"):
            gradgradcheck(spec.fn, xs)


BCAST = [(s, shapes) for s in SPECS for shapes in s.bcast]


@pytest.mark.parametrize("spec,shapes", BCAST, ids=[f"{s.name}-{shapes}" for s, shapes in BCAST])
def test_broadcasting(spec, shapes, device):
    arrays = inputs(spec, shapes, seed=1)
    out = spec.fn(*tensors(arrays, device))
    np.testing.assert_allclose(out.numpy(), spec.ref(*arrays), rtol=1e-10, atol=1e-12)
    xs = tensors(arrays, device, requires_grad=True)
    assert gradcheck(spec.fn, xs)
    out = spec.fn(*xs)
    out.sum().backward()
    for x in xs:  # the gradient has the input's (unbroadcast) shape
        assert x.grad.shape == x.shape


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_bad_input_is_refused(spec, device):
    assert spec.bad is not None, "every op names an input it must refuse"
    with pytest.raises(spec.error) as info:
        settle(spec.bad(device))
    assert isinstance(info.value, gg.errors.GpugradError)
    assert str(info.value).startswith("["), "errors name the op first"


# -- PyTorch semantics (issue 16): dtypes in layers, max/min, dims, indexing, bitwise, pow, sigmoid


@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_linear_and_matmul_refuse_mixed_dtypes(device, dtype):
    # PyTorch refuses a float64 or integer batch into a float32 layer; promoting it would
    # silently run the model in float64 (or fail later)
    layer = gg.nn.Linear(3, 2).to(device)
    x = gg.ones(4, 3, dtype=getattr(gg, dtype), device=device)
    bias = gg.zeros(2, dtype=getattr(gg, dtype), device=device)
    with pytest.raises(gg.errors.DTypeError, match=rf"^\[linear\] the input is {dtype} but the weight is float32.*\.float"):
        layer(x)
    with pytest.raises(gg.errors.DTypeError, match=rf"^\[linear\] the bias is {dtype} but the weight is float32"):
        gg.functional.linear(gg.ones(4, 3, device=device), layer.weight, bias)
    with pytest.raises(gg.errors.DTypeError, match=rf"^\[matmul\] .* got float32 and {dtype}.*\.float\(\)"):
        gg.ones(2, 3, device=device) @ gg.ones(3, 2, dtype=getattr(gg, dtype), device=device)
    assert layer(x.float()).dtype == gg.float32
    assert (gg.ones(2, 3, dtype=gg.int64, device=device) @ gg.ones(3, dtype=gg.int64, device=device)).dtype == gg.int64


def test_max_min_with_dim_are_named_tuples(device):
    x = make([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]], device, requires_grad=True)
    r = x.max(1)
    assert type(r).__name__ == "MaxResult" and r._fields == ("values", "indices")
    values, indices = r
    assert values is r.values and indices is r.indices and r[0] is values
    close(values, [5, 7])
    assert indices.tolist() == [1, 0] and indices.dtype == gg.int64
    m = gg.functional.min(x, dim=0, keepdim=True)
    assert m.values.shape == (1, 3) and m.indices.tolist() == [[0, 1, 0]]


# (reduction, expected gradient of the sum) on x with ties, as torch 2.13 gives them:
# over all elements or several dims the gradient is shared evenly among ties; with one dim,
# max/min send it to the returned (first) index
TIES = [
    ("max()", lambda t: t.max(), [[0, 0.25, 0.25], [0, 0.25, 0.25]]),
    ("min()", lambda t: t.min(), [[0.5, 0, 0], [0.5, 0, 0]]),
    ("amax(1)", lambda t: t.amax(1), [[0, 0.5, 0.5], [0, 0.5, 0.5]]),
    ("amax((0, 1))", lambda t: t.amax((0, 1)), [[0, 0.25, 0.25], [0, 0.25, 0.25]]),
    ("amin(0)", lambda t: t.amin(0), [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]),
    ("max(1)", lambda t: t.max(1).values, [[0, 1, 0], [0, 1, 0]]),
    ("min(0)", lambda t: t.min(0)[0], [[1, 1, 1], [0, 0, 0]]),
    ("max(dim=1, keepdim=True)", lambda t: t.max(dim=1, keepdim=True).values, [[0, 1, 0], [0, 1, 0]]),
]


@pytest.mark.parametrize("name,fn,grad", TIES, ids=[t[0] for t in TIES])
def test_max_min_gradients_with_ties(device, name, fn, grad):
    data = [[1.0, 4.0, 4.0], [1.0, 4.0, 4.0]]
    x = make(data, device, requires_grad=True)
    fn(x).sum().backward()
    close(x.grad, grad)
    assert gradgradcheck(lambda t: fn(t) * fn(t), [make(np.arange(6.0).reshape(2, 3) / 7, device, requires_grad=True)])


def test_max_min_tie_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    data = [[1.0, 4.0, 4.0], [1.0, 4.0, 4.0]]
    for name, fn, grad in TIES:
        t = torch.tensor(data, requires_grad=True)
        fn(t).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), grad, err_msg=name)


DIM_NAMES = [  # (call with dim/keepdim, the same call with axis/keepdims)
    (lambda t: t.sum(dim=1, keepdim=True), lambda t: t.sum(axis=1, keepdims=True)),
    (lambda t: t.mean(dim=0), lambda t: t.mean(axis=0)),
    (lambda t: t.max(dim=1).values, lambda t: t.max(axis=1).values),
    (lambda t: t.min(dim=0, keepdim=True)[0], lambda t: t.min(axis=0, keepdims=True)[0]),
    (lambda t: t.amax(dim=(0, 1)), lambda t: t.amax(axis=(0, 1))),
    (lambda t: t.amin(dim=1), lambda t: t.amin(axis=1)),
    (lambda t: t.argmax(dim=1), lambda t: t.argmax(axis=1)),
    (lambda t: t.argmin(dim=0, keepdim=True), lambda t: t.argmin(axis=0, keepdims=True)),
    (lambda t: t.prod(dim=1), lambda t: t.prod(axis=1)),
    (lambda t: t.var(dim=1), lambda t: t.var(axis=1)),
    (lambda t: t.std(dim=0, keepdim=True), lambda t: t.std(axis=0, keepdims=True)),
    (lambda t: t.softmax(dim=0), lambda t: t.softmax(axis=0)),
    (lambda t: t.log_softmax(dim=1), lambda t: t.log_softmax(axis=1)),
    (lambda t: t.logsumexp(dim=1), lambda t: t.logsumexp(axis=1)),
    (lambda t: (t > 0).all(dim=1), lambda t: (t > 0).all(axis=1)),
    (lambda t: (t > 0).any(dim=0, keepdim=True), lambda t: (t > 0).any(axis=0, keepdims=True)),
]


@pytest.mark.parametrize("i", range(len(DIM_NAMES)))
def test_dim_and_axis_are_both_accepted(device, i):
    with_dim, with_axis = DIM_NAMES[i]
    x = make([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], device)
    a, b = with_dim(x), with_axis(x)
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(gg.errors.ArgumentTypeError, match=r"^\[sum\] got both dim and its alias axis"):
        x.sum(dim=0, axis=0)


ZERO_D = [  # (op on a 0-d tensor x = 3.0 with dim 0 or -1, value, gradient), as PyTorch
    ("sum", lambda t, d: t.sum(d), 3.0, 1.0),
    ("mean", lambda t, d: t.mean(dim=d, keepdim=True), 3.0, 1.0),
    ("prod", lambda t, d: t.prod(d), 3.0, 1.0),
    ("max", lambda t, d: t.max(d).values, 3.0, 1.0),
    ("amin", lambda t, d: t.amin(d), 3.0, 1.0),
    ("logsumexp", lambda t, d: t.logsumexp(d), 3.0, 1.0),
    ("softmax", lambda t, d: t.softmax(d) * t, 3.0, 1.0),
    ("log_softmax", lambda t, d: gg.functional.log_softmax(t, d) + t, 3.0, 1.0),
    ("var", lambda t, d: t.var(d, correction=0) + t, 3.0, 1.0),
]


@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("name,fn,value,grad", ZERO_D, ids=[z[0] for z in ZERO_D])
def test_reductions_take_dim_0_of_a_0d_tensor(device, dim, name, fn, value, grad):
    x = make(3.0, device, requires_grad=True)
    y = fn(x, dim)
    assert y.shape == ()
    close(y, value)
    y.backward()
    close(x.grad, grad)
    s = make(True, device)
    assert s.all(dim).item() and s.any(dim).item() and make(4, device).argmax(dim).item() == 0
    with pytest.raises(gg.errors.GpugradIndexError, match=r"^\[sum\] dim 1 is out of range"):
        x.sum(1)


# index expressions where PyTorch's result shape differs from NumPy's (ints are applied
# first, as basic indices), and others that agree: (key builder, PyTorch's result shape)
INDEX_CASES = [
    ("1, :, idx", lambda i, m: (1, slice(None), i), (3, 3, 5)),
    ("1, :, :, idx", lambda i, m: (1, slice(None), slice(None), i), (3, 4, 3)),
    ("0, ..., idx", lambda i, m: (0, Ellipsis, i), (3, 4, 3)),
    ("..., 1, :, idx", lambda i, m: (Ellipsis, 1, slice(None), i), (2, 4, 3)),
    ("1, :, idx, 2", lambda i, m: (1, slice(None), i, 2), (3, 3)),
    ("None, 1, :, idx", lambda i, m: (None, 1, slice(None), i), (1, 3, 3, 5)),
    ("1, :, mask", lambda i, m: (1, slice(None), m), (3, 3, 5)),
    ("0, 1:, list, ::2", lambda i, m: (0, slice(1, None), [3, 0], slice(None, None, 2)), (2, 2, 3)),
    ("1, :, 2, idx", lambda i, m: (1, slice(None), 2, i), (3, 3)),
    ("idx, :, 1", lambda i, m: ([1, 0, 1], slice(None), 1), (3, 3, 5)),
    ("1, idx", lambda i, m: (1, i), (3, 4, 5)),
    ("idx, idx", lambda i, m: ([1, 0, 1], [2, 2, 0]), (3, 4, 5)),
    ("1, :, idx, idx", lambda i, m: (1, slice(None), i, i), (3, 3)),
    ("idx, :, idx", lambda i, m: ([1, 0, 1], slice(None), i), (3, 3, 5)),
    ("mask2, ..., 1", lambda i, m: (m[:2], Ellipsis, 1), (1, 3, 4)),
]


@pytest.mark.parametrize("name,key,shape", INDEX_CASES, ids=[c[0] for c in INDEX_CASES])
def test_indexing_follows_pytorch(device, name, key, shape):
    a = np.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    idx = gg.tensor([2, 0, 2], device=device)
    mask = gg.tensor([True, False, True, True], device=device)
    x = make(a, device, requires_grad=True)
    y = x[key(idx, mask)]
    assert y.shape == shape
    w = np.arange(float(np.prod(shape))).reshape(shape)
    y.backward(make(w, device))
    # every element of y came from one of x: its gradient lands where the value came from
    for value, g in zip(y.numpy().reshape(-1), w.reshape(-1)):
        assert x.grad.numpy().reshape(-1)[int(value)] >= g
    assert x.grad.numpy().sum() == w.sum()
    torch = pytest.importorskip("torch")
    t = torch.tensor(a, requires_grad=True)
    tkey = key(torch.tensor([2, 0, 2]), torch.tensor([True, False, True, True]))
    tkey = tuple(torch.tensor(k.tolist()) if isinstance(k, gg.Tensor) else k for k in tkey)
    ty = t[tkey]
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    ty.backward(torch.tensor(w))
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_index_put_follows_pytorch(device):
    x = make(np.zeros((2, 3, 4)), device, requires_grad=True)
    v = make(np.arange(6.0).reshape(3, 2), device, requires_grad=True)
    y = gg.functional.index_put(x, (1, slice(None), gg.tensor([0, 2], device=device)), v)
    expected = np.zeros((2, 3, 4))
    expected[1][:, [0, 2]] = np.arange(6.0).reshape(3, 2)
    close(y, expected)
    y.backward(make(np.arange(24.0).reshape(2, 3, 4), device))
    close(v.grad, np.arange(24.0).reshape(2, 3, 4)[1][:, [0, 2]])
    keep = np.ones((2, 3, 4))
    keep[1][:, [0, 2]] = 0
    close(x.grad, np.arange(24.0).reshape(2, 3, 4) * keep)



def test_setitem_follows_pytorch_outside_a_graph(device):
    # the no-graph path of __setitem__ writes into the array directly: the same rules as index_put
    x = make(np.zeros((2, 3, 4)), device)
    x[1, :, gg.tensor([0, 2], device=device)] = make(np.arange(6.0).reshape(3, 2), device)
    expected = np.zeros((2, 3, 4))
    expected[1][:, [0, 2]] = np.arange(6.0).reshape(3, 2)
    close(x, expected)

BITWISE = [  # (expression, dtype, values) on a = [12, -3, 5] (int32) and m = [True, False, True]
    ("a & 6", "int32", [4, 4, 4]), ("a | 3", "int32", [15, -1, 7]), ("a ^ a", "int32", [0, 0, 0]),
    ("~a", "int32", [-13, 2, -6]), ("a << 2", "int32", [48, -12, 20]), ("a >> 1", "int32", [6, -2, 2]),
    ("0x1337 & a", "int32", [4, 0x1335, 5]), ("3 | a", "int32", [15, -1, 7]), ("1 << a.abs()", "int32", [4096, 8, 32]),
    ("m & ~m", "bool", [False, False, False]), ("m | True", "bool", [True, True, True]), ("m ^ m", "bool", [False] * 3),
    ("~m", "bool", [False, True, False]), ("m & 3", "int64", [1, 0, 1]), ("a & m", "int32", [0, 0, 1]),
    ("m << 1", "int64", [2, 0, 2]),
]  # fmt: skip


@pytest.mark.parametrize("expr,dtype,values", BITWISE, ids=[b[0] for b in BITWISE])
def test_bitwise_ops(device, expr, dtype, values):
    operands = {"a": gg.tensor([12, -3, 5], dtype=gg.int32, device=device),
                "m": gg.tensor([True, False, True], device=device)}
    out = eval(expr, {}, operands)
    assert str(out.dtype) == dtype and out.tolist() == values


def test_bitwise_ops_in_place_and_refusals(device):
    a = gg.tensor([12, -3, 5], device=device)
    before = a
    a &= 6
    a |= 1
    a ^= 2
    a <<= 1
    a >>= 2
    assert a is before and a.tolist() == [3, 3, 3] and a._version == 5  # as torch
    with pytest.raises(gg.errors.DTypeError, match=r"^\[bitwise_and\] expected integer .* got float32 and int"):
        gg.ones(2, device=device) & 1
    with pytest.raises(gg.errors.DTypeError, match=r"^\[bitwise_not\] expected an integer or bool tensor, got float32"):
        ~gg.ones(2, device=device)
    with pytest.raises(gg.errors.DTypeError, match=r"^\[bitwise_left_shift\]"):
        gg.tensor([True], device=device) << True


def test_pow_at_base_zero_has_pytorchs_gradients(device):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        a = make([0.0, 0.0, 0.0, 2.0], device, requires_grad=True)
        b = make([2.0, 0.5, 0.0, 0.0], device, requires_grad=True)
        (a**b).sum().backward()
        # d/da: b a^(b-1) = 0 at a = 0 for b = 2, inf for b = 0.5, 0 where b == 0
        close(a.grad, [0.0, np.inf, 0.0, 0.0])
        close(b.grad, [0.0, 0.0, 0.0, np.log(2.0)])  # a^b log a -> 0 at a = 0, b >= 0
        e = make([2.0, 0.0, -1.0], device, requires_grad=True)
        (0.0**e).sum().backward()
        close(e.grad, [0.0, 0.0, -np.inf])
        z = make([0.0, 1.0], device, requires_grad=True)
        (z**3).sum().backward()
        close(z.grad, [0.0, 3.0])
        assert not np.isnan(a.grad.numpy()).any() and not np.isnan(e.grad.numpy()).any()


def test_pow_at_base_zero_matches_pytorch():
    torch = pytest.importorskip("torch")
    for base, exp in (([0.0, 0.0, 0.0, 2.0], [2.0, 0.5, 0.0, 0.0]), ([0.0, 0.0, 0.0], [1.0, 3.0, -2.0])):
        a, b = make(base, "cpu", requires_grad=True), make(exp, "cpu", requires_grad=True)
        ta = torch.tensor(base, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(exp, dtype=torch.float64, requires_grad=True)
        (a**b).sum().backward()
        (ta**tb).sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())
        np.testing.assert_array_equal(b.grad.numpy(), tb.grad.numpy())
    e = make([2.0, 0.0, -1.0], "cpu", requires_grad=True)
    te = torch.tensor([2.0, 0.0, -1.0], dtype=torch.float64, requires_grad=True)
    (0.0**e).sum().backward()
    (0.0**te).sum().backward()
    np.testing.assert_array_equal(e.grad.numpy(), te.grad.numpy())


def test_integer_powers_with_negative_exponents_are_pytorchs(device):
    a = gg.tensor([3, -1, 2, 0, -1, 1], device=device)
    e = gg.tensor([-1, -1, -2, -1, -4, -5], device=device)
    assert (a**e).tolist() == [0, -1, 0, 0, 1, 1]  # as torch: truncated 1 / a^-e
    assert (2 ** gg.tensor([-1, 0, 3], device=device)).tolist() == [0, 1, 8]
    with pytest.raises(gg.errors.ArgumentError, match=r"^\[pow\] expected a non-negative exponent"):
        a**-1


@pytest.mark.parametrize("x", [-15.0, -17.0, -20.0, -100.0, -5.0, 0.0, 5.0, 20.0])
def test_sigmoid_is_accurate_on_both_sides(device, x):
    ref = 1 / (1 + np.exp(-np.float64(x)))
    for fn in (gg.functional.sigmoid, lambda t: gg.nn.Sigmoid()(t), lambda t: gg.functional.silu(t) / t if x else None):
        t = make(np.array([x], dtype=np.float32), device)
        y = fn(t)
        if y is None:
            continue
        assert y.dtype == gg.float32
        # within float32's rounding of the exact value (one step of the subnormals at -100)
        np.testing.assert_allclose(y.numpy().astype(np.float64), [ref], rtol=4e-7, atol=1.5e-45)


def test_log_of_sigmoid_far_below_zero(device):
    z = make(np.array([-20.0], dtype=np.float32), device, requires_grad=True)
    loss = -(gg.functional.sigmoid(z)).log()
    close(loss, [20.0])  # log(1 - ...) would be log(0) = inf with 1 - y
    loss.sum().backward()
    close(z.grad, [-1.0])


@pytest.mark.parametrize("expr,dtype", DTYPE_CASES, ids=[c[0] for c in DTYPE_CASES])
def test_result_dtypes(device, expr, dtype):
    # PyTorch's promotion for every op (the table in tests/op_specs.py), or its refusal
    got = run_dtype_case(expr, gg, device)
    if dtype == "error":
        assert isinstance(got, gg.errors.GpugradError), f"{expr}: PyTorch refuses it; gpugrad gave {got!r}"
        assert str(got).startswith("["), "errors name the op first"
    else:
        assert not isinstance(got, Exception), f"{expr}: gpugrad refused ({got!r}); PyTorch gives {dtype}"
        assert got[0] == dtype, f"{expr}: dtype {got[0]}, PyTorch {dtype}"


@pytest.mark.parametrize("x", [-20.0, -5.0, 0.0, 5.0, 20.0, 40.0])
def test_sigmoid_gradient_is_accurate_on_both_sides(device, x):
    # e / (1 + e)^2 with e = exp(-|x|): y (1 - y) would give 0 above x ~ 17 in float32,
    # where 1 - y rounds to 0
    t = make(np.array([x], dtype=np.float32), device, requires_grad=True)
    gg.functional.sigmoid(t).sum().backward()
    e = np.exp(-abs(np.float64(x)))
    np.testing.assert_allclose(t.grad.numpy().astype(np.float64), [e / (1 + e) ** 2], rtol=1e-6, atol=0)
