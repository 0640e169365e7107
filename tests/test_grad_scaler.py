"""gpugrad.amp.GradScaler (issue 19, first part): the scale's sequence and the skipped steps
with injected inf/NaN gradients, held to the rules (and to torch.amp.GradScaler when PyTorch
is installed); unscale_ before clipping; state_dict; the order errors and bad arguments."""

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.amp import GradScaler, GradScalerError
from gpugrad.errors import ArgumentError

# per step: the gradient to inject into element 1 (None: the true one)
PATTERN = [None, None, None, math.inf, None, None, None, None, math.nan, -math.inf, None]
# the scale after each update: x2 after 3 clean steps in a row, x0.5 after a bad one
SCALES = [16, 16, 32, 16, 16, 16, 32, 32, 16, 8, 8]
C = np.array([1.0, -2.0, 0.5], np.float32)


def _run(lib, device, unscale_first):
    w = lib.tensor([0.5, 0.25, -1.0], requires_grad=True, device=device)
    opt = lib.optim.SGD([w], lr=0.1)
    scaler = (lib.amp.GradScaler(device, init_scale=16.0, growth_interval=3) if lib is not gg
              else GradScaler(device, init_scale=16.0, growth_interval=3))
    c = lib.tensor(C, device=device)
    scales, ws = [], []
    for inject in PATTERN:
        opt.zero_grad()
        scaler.scale((w * c).sum()).backward()
        assert float(w.grad[0]) == C[0] * scaler.get_scale()  # the scaled gradient
        if inject is not None:
            with lib.no_grad():
                w.grad[1] = inject
        if unscale_first:
            scaler.unscale_(opt)
            if inject is None:  # clipping would see the true gradient
                np.testing.assert_allclose(w.grad.detach().cpu().numpy(), C)
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
        ws.append(w.detach().cpu().numpy().copy())
    return scales, ws, scaler.state_dict()


@pytest.mark.parametrize("unscale_first", [False, True])
def test_scale_sequence_and_skipped_steps(device, unscale_first):
    scales, ws, state = _run(gg, device, unscale_first)
    assert scales == SCALES
    w = np.array([0.5, 0.25, -1.0], np.float32)
    for inject, got in zip(PATTERN, ws):
        if inject is None:
            w = w - np.float32(0.1) * C
        np.testing.assert_allclose(got, w, rtol=1e-6)  # a step with inf/NaN leaves the weights
    assert state == {"scale": 8.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 3,
                     "_growth_tracker": 1}


@pytest.mark.parametrize("unscale_first", [False, True])
def test_against_pytorch(unscale_first):
    torch = pytest.importorskip("torch")
    mine, theirs = _run(gg, "cpu", unscale_first), _run(torch, "cpu", unscale_first)
    assert mine[0] == theirs[0]
    for a, b in zip(mine[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert mine[2] == theirs[2]


def test_state_dict_round_trip_and_disabled(device):
    a = GradScaler(device, init_scale=8.0, growth_interval=5)
    b = GradScaler(device)
    b.load_state_dict(a.state_dict())
    assert b.get_scale() == 8.0 and b.get_growth_interval() == 5
    off = GradScaler(device, enabled=False)
    loss = gg.tensor(3.0, device=device)
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.raises(GradScalerError, match="the source state dict is empty"):
        b.load_state_dict({})
    with pytest.raises(ArgumentError, match="missing _growth_tracker"):
        b.load_state_dict({"scale": 1.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 3})


def test_out_of_order_and_bad_arguments(device):
    w = gg.tensor([1.0, 2.0], requires_grad=True, device=device)
    opt = gg.optim.SGD([w], lr=0.1)
    scaler = GradScaler(device)
    with pytest.raises(GradScalerError, match="nothing was scaled yet"):
        scaler.unscale_(opt)
    scaler.scale(w.sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(GradScalerError, match=r"unscale_\(\) has already been called on this optimizer"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(GradScalerError, match=r"step\(\) has already been called since the last update\(\)"):
        scaler.step(opt)
    with pytest.raises(GradScalerError, match=r"unscale_\(\) is being called after step\(\)"):
        scaler.unscale_(opt)
    scaler.update()
    with pytest.raises(GradScalerError, match=r"no inf checks were recorded prior to update\(\)"):
        scaler.update()
    with pytest.raises(GradScalerError, match="closure use is not supported"):
        scaler.step(opt, closure=lambda: 0)
    h = gg.tensor([1.0], dtype=gg.float16, requires_grad=True, device=device)
    opt16 = gg.optim.SGD([h], lr=0.1)
    scaler.scale(h.sum()).backward()
    with pytest.raises(ArgumentError, match="attempting to unscale float16 gradients"):
        scaler.unscale_(opt16)
    for kwargs, msg in (({"init_scale": 0}, "init_scale to be a positive finite number"),
                        ({"growth_factor": 1.0}, "growth_factor to be a finite number above 1"),
                        ({"backoff_factor": 1.5}, "backoff_factor to be a number between 0 and 1"),
                        ({"growth_interval": 0}, "growth_interval to be a positive integer")):
        with pytest.raises(ArgumentError, match=msg):
            GradScaler(device, **kwargs)
    with pytest.raises(TypeError, match="expected a tensor or lists/tuples of them, got str"):
        scaler.scale("loss")


@pytest.mark.parametrize("key, value", [("scale", float("nan")), ("scale", -2.0), ("scale", float("inf")),
                                        ("growth_factor", 0.5), ("backoff_factor", 1.5), ("growth_interval", 0),
                                        ("growth_interval", 2.5), ("_growth_tracker", -1), ("scale", "big")])
def test_a_damaged_state_dict_is_refused_and_changes_nothing(key, value):
    scaler = GradScaler("cpu", init_scale=8.0)
    state = scaler.state_dict()
    with pytest.raises(ArgumentError, match=key):
        scaler.load_state_dict({**state, key: value})
    assert scaler.state_dict() == state
