"""Optimizer.load_state_dict checks what it is given (state shapes, dtypes and devices,
step counts, hyper-parameters, the layout of the dict) before it changes anything, and
names the parameter and the key in its errors."""

import re

import numpy as np
import pytest
from helpers import make

import gpugrad as gg
from gpugrad import optim
from gpugrad.errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError

P = np.array([1.0, -2.0, 0.5, 3.0])
G = np.array([0.1, 0.2, -0.3, 0.4])


def _param(device, dtype=np.float32):
    return make(P, device, requires_grad=True, dtype=dtype)


def _stepped(cls, device, dtype=np.float32, **kw):
    p = _param(device, dtype)
    opt = cls([p], **kw)
    p.grad = make(G, device, dtype=dtype)
    opt.step()
    return p, opt


def _refused(opt, sd, error, match):
    """``opt.load_state_dict(sd)`` raises ``error`` and leaves ``opt`` as it was."""
    state, groups = dict(opt.state), [dict(g) for g in opt.param_groups]
    with pytest.raises(error, match=match):
        opt.load_state_dict(sd)
    assert opt.state == state and opt.param_groups == groups


def test_state_of_another_shape_is_refused(device):
    _, opt = _stepped(optim.Adam, device)
    sd = opt.state_dict()
    fresh = optim.Adam([_param(device)])
    for bad in (gg.tensor(0.5, device=device), gg.zeros(2, 2, device=device)):  # () segfaulted the fused kernel
        sd["state"][0]["exp_avg"] = bad
        _refused(fresh, sd, ShapeError, re.escape("[Adam.load_state_dict] expected state 'exp_avg' of parameter 0 "
                                                  f"to have the parameter's shape (4,), got {bad.shape}"))


@pytest.mark.parametrize("param_dtype, state_dtype, kept", [
    (np.float64, np.float32, np.float64),  # a float32 buffer read as float64 ran past its end
    (np.float32, np.float64, np.float32),
    (np.float16, np.float64, np.float32),  # 2-byte parameters keep float32 moments (moment_dtype)
    (np.float16, np.float16, np.float32),
])  # fmt: skip
def test_floating_state_is_cast_to_the_moment_dtype_and_moved_to_the_parameter(device, param_dtype, state_dtype, kept):
    _, opt = _stepped(optim.SGD, "cpu", param_dtype, lr=0.1, momentum=0.9)
    sd = opt.state_dict()
    sd["state"][0]["momentum_buffer"] = sd["state"][0]["momentum_buffer"].to(dtype=state_dtype)
    q = _param(device, param_dtype)
    opt2 = optim.SGD([q], lr=0.1, momentum=0.9)
    opt2.load_state_dict(sd)
    buf = opt2.state[q]["momentum_buffer"]
    assert buf.dtype == kept and buf.device == q.device
    np.testing.assert_allclose(buf.numpy(), opt.state_dict()["state"][0]["momentum_buffer"].numpy(), rtol=1e-3)
    q.grad = make(G, device, dtype=param_dtype)
    opt2.step()  # the fused kernel takes it
    assert np.isfinite(q.numpy()).all()


def test_state_that_is_not_a_floating_tensor_is_refused(device):
    _, opt = _stepped(optim.Adam, device)
    fresh = optim.Adam([_param(device)])
    sd = opt.state_dict()
    sd["state"][0]["exp_avg_sq"] = gg.zeros(4, dtype=gg.int32, device=device)
    _refused(fresh, sd, DTypeError, r"expected state 'exp_avg_sq' of parameter 0 to be a floating tensor .*got int32")
    sd["state"][0]["exp_avg_sq"] = [0.0, 0.0, 0.0, 0.0]
    _refused(fresh, sd, ArgumentTypeError, r"expected state 'exp_avg_sq' of parameter 0 to be a tensor, got list")


@pytest.mark.parametrize("step, error", [(-1, ArgumentError), (2**63, ArgumentError), (1.5, ArgumentTypeError),
                                         ("3", ArgumentTypeError), (True, ArgumentTypeError), (None, ArgumentTypeError)])
def test_step_must_be_an_int_of_at_least_zero(step, error):
    _, opt = _stepped(optim.Adam, "cpu")
    sd = opt.state_dict()
    sd["state"][0]["step"] = step
    _refused(optim.Adam([_param("cpu")]), sd, error,
             r"expected state 'step' of parameter 0 to be an int >= 0 \(below 2\*\*63\), got")


@pytest.mark.parametrize("key, value, error, match", [
    ("lr", "0.01", ArgumentTypeError, r"expected hyper-parameter 'lr' of group 0 to be a number, got '0.01'"),
    ("lr", -0.01, ArgumentError, r"expected hyper-parameter 'lr' of group 0 to be a finite number >= 0, got -0.01"),
    ("eps", float("nan"), ArgumentError, r"'eps' of group 0 to be a finite number >= 0, got nan"),
    ("lr", 10**400, ArgumentError, r"'lr' of group 0 to be a finite number >= 0, got 1000"),  # beyond any float
    ("weight_decay", None, ArgumentTypeError, r"'weight_decay' of group 0 to be a number, got None"),
    ("betas", (0.9,), ArgumentTypeError, r"'betas' of group 0 to be a tuple of 2 numbers, got \(0.9,\)"),
    ("betas", (1.5, 0.999), ArgumentError, r"'betas\[0\]' of group 0 to be a finite number >= 0 and < 1, got 1.5"),
    ("amsgrad", 1, ArgumentTypeError, r"'amsgrad' of group 0 to be a bool, got 1"),
    ("initial_lr", "x", ArgumentTypeError, r"'initial_lr' of group 0 to be a number"),
])  # fmt: skip
def test_hyper_parameters_must_be_of_their_kind(key, value, error, match):
    _, opt = _stepped(optim.Adam, "cpu")
    sd = opt.state_dict()
    sd["param_groups"][0][key] = value
    _refused(optim.Adam([_param("cpu")]), sd, error, match)


def test_a_scheduler_s_initial_lr_and_lists_for_tuples_load():
    p, opt = _stepped(optim.Adam, "cpu", lr=0.1)
    optim.lr_scheduler.StepLR(opt, step_size=2)
    sd = opt.state_dict()
    sd["param_groups"][0]["betas"] = [0.8, 0.99]  # a state_dict that went through JSON
    fresh = optim.Adam([_param("cpu")])
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["initial_lr"] == 0.1 and fresh.param_groups[0]["betas"] == (0.8, 0.99)


@pytest.mark.parametrize("mangle, error, match", [
    (lambda sd: [sd], ArgumentTypeError, "expected a dict with a list 'param_groups' and a dict 'state', got list"),
    (lambda sd: {"state": sd["state"]}, ArgumentTypeError, "expected a dict with a list 'param_groups'"),
    (lambda sd: dict(sd, state=[]), ArgumentTypeError, "and a dict 'state'"),
    (lambda sd: dict(sd, param_groups=[5]), ArgumentTypeError, "expected group 0 to be a dict whose 'params' is a list"),
    (lambda sd: dict(sd, param_groups=[dict(sd["param_groups"][0], params=["a"])]), ArgumentTypeError,
     "'params' is a list of parameter indices, got"),
    (lambda sd: dict(sd, param_groups=[dict(sd["param_groups"][0], params=[0, 0])]), ArgumentError,
     "parameter index 0 appears twice"),
    (lambda sd: dict(sd, state={7: sd["state"][0]}), ArgumentError, "state for unknown parameter 7"),
    (lambda sd: dict(sd, state={(0,): sd["state"][0]}), ArgumentError, r"state for unknown parameter \(0,\)"),
    (lambda sd: dict(sd, state={0: 5}), ArgumentTypeError, "expected the state of parameter 0 to be a dict, got 5"),
])  # fmt: skip
def test_a_state_dict_of_another_layout_is_refused(mangle, error, match):
    a, b = _param("cpu"), _param("cpu")
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad = b.grad = make(G, "cpu", dtype=np.float32)
    opt.step()
    sd = mangle(opt.state_dict())
    _refused(optim.SGD([_param("cpu"), _param("cpu")], lr=0.1, momentum=0.9), sd, error, match)


def test_state_keys_written_as_strings_still_load():
    """A state_dict that went through JSON has "0" for 0."""
    _, opt = _stepped(optim.Adam, "cpu")
    sd = opt.state_dict()
    sd["state"] = {str(k): v for k, v in sd["state"].items()}
    q = _param("cpu")
    fresh = optim.Adam([q])
    fresh.load_state_dict(sd)
    assert fresh.state[q]["step"] == 1


def test_a_hyper_parameter_of_another_kind_keeps_its_kind():
    """A custom optimizer's string setting must come back a string."""

    class Custom(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1, mode="fast"))

    opt = Custom([_param("cpu")])
    sd = opt.state_dict()
    sd["param_groups"][0]["mode"] = "slow"
    fresh = Custom([_param("cpu")])
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["mode"] == "slow"
    sd["param_groups"][0]["mode"] = 5
    _refused(fresh, sd, ArgumentTypeError, "expected hyper-parameter 'mode' of group 0 to be a str, got 5")
