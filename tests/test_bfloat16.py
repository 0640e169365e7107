"""gpugrad.bfloat16 (issue 19): a first-class dtype on both devices. Creation, casts,
printing, PyTorch's promotion rules, products with float32 accumulation, autograd and the
optimizers, safetensors BF16, DLPack to and from PyTorch."""

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.dtypes import is_floating
from gpugrad.serialization import CheckpointError

BF16 = gg.bfloat16
ALL = [gg.bool, gg.uint8, gg.int8, gg.int16, gg.int32, gg.int64, gg.float16, gg.bfloat16, gg.float32, gg.float64]


def _bits(t):
    return t.cpu().numpy().view(np.uint16)


def test_the_dtype():
    assert gg.bfloat16 is gg.dtypes.bfloat16 and gg.bfloat16.itemsize == 2
    assert is_floating(gg.bfloat16) and is_floating(gg.float16) and not is_floating(gg.int16)
    assert gg.dtypes.to_dtype("bfloat16") == gg.bfloat16
    assert gg.ones(2, dtype=gg.bfloat16).is_floating_point()


def test_creation_and_casts(device):
    x = gg.tensor([1.0, -2.5, 3.140625], dtype=BF16, device=device)
    assert x.dtype == BF16 and x.tolist() == [1.0, -2.5, 3.140625]
    for make in (gg.zeros, gg.ones, gg.empty, gg.rand, gg.randn):
        assert make(2, 3, dtype=BF16, device=device).dtype == BF16
    assert gg.full((2,), 0.1, dtype=BF16, device=device).tolist() == [0.10009765625] * 2  # the nearest bf16
    assert gg.arange(4, dtype=BF16, device=device).tolist() == [0, 1, 2, 3]
    f = gg.tensor([1.00390625, 1.01171875, 1e30], device=device)  # halfway cases round to even
    assert f.bfloat16().tolist()[:2] == [1.0, 1.015625]
    assert 0.99e30 < f.bfloat16().tolist()[2] < 1.01e30  # float32's range (float16 would overflow)
    for dt in ALL:
        y = x.to(dt)
        assert y.dtype == dt
        assert y.to(BF16).dtype == BF16
    assert x.float().dtype == gg.float32 and x.int().tolist() == [1, -2, 3]


def test_printing():
    assert repr(gg.tensor([1.5, -2.0], dtype=BF16)) == "tensor([ 1.5, -2. ], dtype=bfloat16)"
    assert repr(gg.tensor(0.1, dtype=BF16)) == "tensor(0.10009766, dtype=bfloat16)"


def test_promotion_follows_pytorch():
    torch = pytest.importorskip("torch")
    names = {gg.bool: "bool"}
    for a in ALL:
        for b in ALL:
            ta, tb = (getattr(torch, names.get(d, d.name)) for d in (a, b))
            want = str(torch.promote_types(ta, tb)).removeprefix("torch.")
            got = (gg.ones(2, dtype=a) + gg.ones(2, dtype=b)).dtype if not (a == b == gg.bool) else gg.bool
            assert got.name == want, (a, b)
    assert (gg.ones(2, dtype=BF16) * 2.5).dtype == BF16  # a Python float does not widen
    assert (gg.ones(2, dtype=gg.int32) * gg.tensor(2.5, dtype=BF16)).dtype == BF16  # 0-d float over int tensor


def test_matmul_is_float32_accumulation_rounded_once(device):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 64)).astype(np.float32)
    b = rng.standard_normal((64, 3)).astype(np.float32)
    x, w = gg.tensor(a, device=device).bfloat16(), gg.tensor(b, device=device).bfloat16()
    y = x @ w
    assert y.dtype == BF16
    want = (x.float().cpu().numpy() @ w.float().cpu().numpy()).astype(BF16)
    np.testing.assert_array_equal(_bits(y), want.view(np.uint16))


def test_training_in_bfloat16(device):
    gg.manual_seed(0)
    model = gg.nn.Sequential(gg.nn.Linear(4, 8), gg.nn.ReLU(), gg.nn.Linear(8, 3)).to(device=device, dtype=BF16)
    opt = gg.optim.Adam(model.parameters(), lr=0.05)
    x = gg.randn(16, 4, device=device).bfloat16()
    t = gg.tensor([i % 3 for i in range(16)], device=device)
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = gg.nn.functional.cross_entropy(model(x), t)
        assert loss.dtype == BF16
        loss.backward()
        assert all(p.grad.dtype == BF16 for p in model.parameters())
        opt.step()
        first = first if first is not None else loss.item()
    assert all(p.dtype == BF16 for p in model.parameters())
    assert np.isfinite(loss.item()) and loss.item() < 0.6 * first


def test_against_pytorch_bfloat16_ops():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 6)).astype(np.float32)
    ga, ta = gg.tensor(a).bfloat16(), torch.tensor(a).bfloat16()
    for name in ("exp", "tanh", "sigmoid", "relu", "neg", "abs"):
        g, t = getattr(ga, name)(), getattr(ta, name)()
        assert g.dtype == BF16 and t.dtype == torch.bfloat16
        np.testing.assert_allclose(g.float().numpy(), t.float().numpy(), rtol=2**-7, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(_bits(ga + ga * 3), (ta + ta * 3).view(torch.int16).numpy().view(np.uint16))


def test_safetensors_bf16(tmp_path):
    x = gg.randn(3, 5).bfloat16()
    path = tmp_path / "x.safetensors"
    gg.save({"x": x, "n": 3}, path)
    back = gg.load(path)
    assert back["x"].dtype == BF16 and back["n"] == 3
    np.testing.assert_array_equal(_bits(back["x"]), _bits(x))
    data = path.read_bytes()
    header = data[8 : 8 + int.from_bytes(data[:8], "little")]
    assert b'"dtype":"BF16"' in header  # the safetensors name, readable by any safetensors reader
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    (stored,) = load_file(path).values()
    assert stored.dtype == torch.bfloat16
    np.testing.assert_array_equal(stored.view(torch.int16).numpy().view(np.uint16), _bits(x))


def test_safetensors_refuses_a_dtype_gpugrad_lacks(tmp_path):
    from safetensors.numpy import save_file

    save_file({"t0:w": np.ones(2, np.uint32)}, tmp_path / "raw.safetensors")
    with pytest.raises(CheckpointError):
        gg.load(tmp_path / "raw.safetensors")


def test_dlpack_with_pytorch_shares_memory():
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0, 3.0]).bfloat16()
    g = gg.from_dlpack(t)
    assert g.dtype == BF16 and g.tolist() == [1.0, 2.0, 3.0]
    g[0] = 7.0
    assert t[0].item() == 7.0  # one memory
    back = torch.from_dlpack(g)
    assert back.dtype == torch.bfloat16
    back[1] = -4.0
    assert g.tolist() == [7.0, -4.0, 3.0]
    del t, back
    assert g.sum().item() == 6.0  # still alive after the producer's tensors are gone


def test_dlpack_refuses_what_gpugrad_lacks():
    torch = pytest.importorskip("torch")
    with pytest.raises(gg.errors.DTypeError, match="from_dlpack"):
        gg.from_dlpack(torch.zeros(2, dtype=torch.float8_e4m3fn))
    with pytest.raises(gg.errors.DTypeError, match="complex64"):
        gg.from_dlpack(torch.zeros(2, dtype=torch.complex64))


def test_doctor_names_the_precisions():
    report = gg.info(as_dict=True)
    assert "bfloat16" in report["precision"] and report["precision"].startswith("cpu:")


UNARY = ["exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid",
         "abs", "neg", "floor", "ceil", "round", "trunc", "frac", "sign", "reciprocal", "square", "asin", "acos",
         "atan", "sinh", "cosh", "asinh", "erf", "relu", "exp2"]
ACTIVATIONS = ["hardtanh", "relu6", "hardsigmoid", "hardswish", "gelu", "elu", "selu", "celu", "silu", "mish",
               "softplus", "leaky_relu", "logsigmoid", "softsign", "tanhshrink"]


@pytest.mark.parametrize("name", UNARY + ACTIVATIONS + ["clamp"])
def test_ops_keep_bfloat16(device, name):
    """A bfloat16 input gives a bfloat16 result (NumPy's ufuncs on ml_dtypes' type can widen:
    clip by Python floats gives float32, the emulator's erf float64), close to float32's."""
    x = (gg.rand(6, device=device) * 0.8 + 0.1).bfloat16()
    if name in UNARY:
        fn = getattr(gg, name)
    elif name == "clamp":
        def fn(t):
            return gg.clamp(t, 0.2, 0.5)
    else:
        fn = getattr(gg.nn.functional, name)
    y, want = fn(x), fn(x.float())
    assert y.dtype == BF16, name
    np.testing.assert_allclose(y.float().cpu().numpy(), want.cpu().numpy(), rtol=2**-7, atol=2e-3, err_msg=name)


@pytest.mark.parametrize("dtype", [gg.bfloat16, gg.float16])
def test_reductions_accumulate_in_float32(device, dtype):
    """NumPy adds float16/bfloat16 in their own precision (1000 ones sum to 256 in
    bfloat16, 5000 to 2048 in float16 along an axis); gpugrad accumulates them in float32
    and rounds once, as PyTorch: in sum, mean, cumsum, logsumexp, softmax, the gradient of
    a broadcast (sum_to) and a Linear's bias gradient."""
    n = 1000 if dtype == gg.bfloat16 else 5000  # exact in the dtype (as 2n is)
    ones = gg.ones(n, 2, dtype=dtype, device=device)
    assert ones.sum().item() == 2 * n and ones.sum(0).tolist() == [n, n]
    assert ones.mean(0).tolist() == [1, 1] and ones.cumsum(0)[-1].tolist() == [n, n]
    assert abs(gg.logsumexp(gg.zeros(n, dtype=dtype, device=device), 0).item() - np.log(n)) < 0.05
    assert abs(gg.softmax(gg.zeros(n, dtype=dtype, device=device), 0).float().sum().item() - 1) < 0.01
    b = gg.zeros(2, dtype=dtype, device=device, requires_grad=True)
    (ones + b).sum().backward()
    assert b.grad.tolist() == [n, n]
    layer = gg.nn.Linear(2, 3).to(device=device, dtype=dtype)
    layer(ones).sum().backward()
    assert layer.bias.grad.tolist() == [n] * 3
