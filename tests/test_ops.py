"""Every op in tests/op_specs.py, on every device: forward against NumPy float64,
dtype kept in float32, gradcheck, gradgradcheck, broadcasting shapes and a refused input."""

import numpy as np
import pytest
from helpers import make, settle
from op_specs import SPECS

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
