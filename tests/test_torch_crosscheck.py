"""Cross-check every op in the op table with PyTorch (forward and backward), when PyTorch
is installed; the whole module skips cleanly without it."""

import numpy as np
import pytest
from op_specs import DTYPE_CASES, SPECS, run_dtype_case
from test_ops import inputs, tensors

torch = pytest.importorskip("torch")
tF = torch.nn.functional

pytestmark = pytest.mark.torch

# torch versions of the entries whose gpugrad lambda is not also valid PyTorch code
TORCH = {
    "remainder": lambda a: torch.remainder(a, 0.7),
    "exp": torch.exp, "log": torch.log, "log1p": torch.log1p, "expm1": torch.expm1, "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt, "abs": torch.abs, "sin": torch.sin, "cos": torch.cos, "square": torch.square,
    "reciprocal": torch.reciprocal, "sign": torch.sign, "floor": torch.floor,
    "maximum": torch.maximum, "minimum": torch.minimum, "clip": lambda a: torch.clamp(a, -0.5, 0.8),
    "where": lambda a, b: torch.where(a > 0, a, b), "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "relu": torch.relu, "leaky_relu": lambda a: tF.leaky_relu(a, 0.1), "elu": tF.elu, "gelu": tF.gelu,
    "gelu_tanh": lambda a: tF.gelu(a, approximate="tanh"), "silu": tF.silu, "softplus": tF.softplus,
    "hardtanh": tF.hardtanh, "erf": torch.erf, "softmax": lambda a: torch.softmax(a, 1),
    "log_softmax": lambda a: torch.log_softmax(a, 0), "var_biased": lambda a: a.var(0, correction=0),
    "max_all": torch.max, "cat": lambda a, b: torch.cat([a, b], 1), "stack": lambda a, b: torch.stack([a, b], -1),
    "split_first": lambda a: torch.split(a, [1, 3], 1)[1],
    "chunk_sum": lambda a: sum(c.sum() * (i + 1) for i, c in enumerate(torch.chunk(a, 3, 0))),
    "pad": lambda a: tF.pad(a, (1, 2, 0, 1), value=0.5),
    "gather": lambda a: torch.gather(a, 1, torch.tensor([[0, 0], [3, 1], [2, 2]])),
    "index_select": lambda a: torch.index_select(a, 0, torch.tensor([2, 0, 2])),
    "index_put": lambda a, b: a.clone().index_put((torch.arange(3), torch.tensor(1)), b),
    "linear": tF.linear, "logsumexp_all": lambda a: torch.logsumexp(a, (0, 1)),
}  # fmt: skip


def _torch_fn(spec):
    return spec.torch or TORCH.get(spec.name, spec.fn)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_matches_pytorch(spec):
    arrays = inputs(spec, spec.shapes)
    xs = tensors(arrays, "cpu", requires_grad=True)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = spec.fn(*xs)
    tout = _torch_fn(spec)(*ts)
    assert str(out.dtype) == str(tout.dtype).replace("torch.", "")
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = np.random.default_rng(3).standard_normal(out.shape)
    out.backward(w)
    tout.backward(torch.tensor(w))
    for x, t in zip(xs, ts):
        expected = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("expr,dtype", DTYPE_CASES, ids=[c[0] for c in DTYPE_CASES])
def test_result_dtypes_and_values_match_pytorch(expr, dtype, device):
    """The table's dtypes are PyTorch's, and gpugrad's values are PyTorch's too (its
    dtypes against the table: tests/test_ops.py::test_result_dtypes)."""
    import gpugrad as gg

    got, want = run_dtype_case(expr, gg, device), run_dtype_case(expr, torch, "cpu")
    torch_dtype = "error" if isinstance(want, Exception) else want[0]
    assert torch_dtype == dtype, f"{expr}: the table says {dtype}, PyTorch gives {want}"
    if dtype != "error":
        np.testing.assert_allclose(got[1], want[1], rtol=1e-3 if "h" in expr else 1e-6, err_msg=expr)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_float32_dtypes_match_pytorch(spec):
    """Every op of the table on float32 inputs keeps PyTorch's dtype."""
    arrays = [a.astype(np.float32) for a in inputs(spec, spec.shapes)]
    out = spec.fn(*tensors(arrays, "cpu", dtype=np.float32))
    tout = _torch_fn(spec)(*[torch.tensor(a) for a in arrays])
    assert str(out.dtype) == str(tout.dtype).replace("torch.", "")
    np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=2e-5, atol=2e-5)
