"""copy.deepcopy, copy.copy and pickle of tensors, Parameters, modules, optimizers,
state_dicts and Generators, in memory (checkpoint files are safetensors, tested in
test_checkpoint.py), and a model pickled to another process."""

import copy
import multiprocessing
import pickle

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim


class Standardised(nn.Module):
    """A model with a buffer (module level: pickle finds classes by name)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", gg.tensor([0.5, -0.5, 0.0]))
        self.body = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))

    def forward(self, x):
        return self.body(x - self.mean)


def _step(model, opt, x, y):
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def _trained(device, steps=3):
    gg.manual_seed(0)
    model = Standardised().to(device)
    opt = optim.Adam(model.parameters(), lr=0.01)
    x, y = gg.randn(8, 3, device=device), gg.tensor([0, 1] * 4, device=device)
    for _ in range(steps):
        _step(model, opt, x, y)
    return model, opt, x, y


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int64", "bool"])
def test_a_tensor_comes_back_with_its_values_dtype_device_and_flag(device, dtype):
    x = gg.tensor(np.arange(6).reshape(2, 3) % 3, dtype=dtype, device=device)
    for back in (pickle.loads(pickle.dumps(x)), copy.deepcopy(x), pickle.loads(pickle.dumps(x, protocol=5))):
        assert type(back) is gg.Tensor and back.dtype == x.dtype and back.device == x.device
        assert back.tolist() == x.tolist() and not back.requires_grad and back.is_leaf
    zero_d = pickle.loads(pickle.dumps(gg.tensor(2.5, device=device)))
    assert zero_d.shape == () and zero_d.item() == 2.5


def test_copies_own_their_data_and_deepcopy_keeps_the_gradient(device):
    x = gg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    (x * x).sum().backward()
    deep, pickled = copy.deepcopy(x), pickle.loads(pickle.dumps(x))
    assert deep.requires_grad and pickled.requires_grad
    assert deep.grad.tolist() == [2.0, 4.0, 6.0] and pickled.grad is None  # as PyTorch: pickle drops .grad
    with gg.no_grad():
        deep.add_(10)
        pickled.add_(20)
        deep.grad.zero_()
    assert x.tolist() == [1.0, 2.0, 3.0] and x.grad.tolist() == [2.0, 4.0, 6.0]
    (deep * 3).sum().backward()  # the copy is a leaf of its own graph
    assert deep.grad.tolist() == [3.0, 3.0, 3.0] and x.grad.tolist() == [2.0, 4.0, 6.0]


def test_a_shallow_copy_shares_memory(device):
    x = gg.zeros(3, device=device)
    shallow = copy.copy(x)
    shallow[0] = 5.0
    assert x.tolist() == [5.0, 0.0, 0.0] and shallow is not x


def test_a_non_leaf_is_refused_by_deepcopy_and_pickles_as_a_leaf(device):
    x = gg.ones(2, device=device, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(y)
    with pytest.raises(gg.errors.AutogradError, match=r"deep-copy \.detach\(\)"):
        copy.deepcopy({"y": y})
    back = pickle.loads(pickle.dumps(y))  # as PyTorch: a leaf that requires grad
    assert back.is_leaf and back.requires_grad and back.tolist() == [2.0, 2.0]
    assert copy.deepcopy(y.detach()).tolist() == [2.0, 2.0]


def test_tensors_that_share_an_array_still_share_one_after_deepcopy(device):
    p = nn.Parameter(gg.zeros(3, device=device))
    view = p.detach()  # what state_dict() hands out
    p2, view2 = copy.deepcopy((p, view))
    with gg.no_grad():
        p2.fill_(7.0)
    assert view2.tolist() == [7.0, 7.0, 7.0] and view.tolist() == [0.0, 0.0, 0.0]


def test_tensors_that_share_an_array_on_the_cpu_still_share_one_after_pickling():
    p = nn.Parameter(gg.zeros(3))
    p2, view2 = pickle.loads(pickle.dumps((p, p.detach())))
    with gg.no_grad():
        p2.fill_(7.0)
    assert view2.tolist() == [7.0, 7.0, 7.0]


def test_a_parameter_stays_a_parameter_with_its_flag(device):
    frozen = nn.Parameter(gg.ones(2, device=device), requires_grad=False)
    trained = nn.Parameter(gg.ones(2, device=device))
    trained.grad = gg.ones(2, device=device)
    for p in (frozen, trained):
        for back in (pickle.loads(pickle.dumps(p)), copy.deepcopy(p)):
            assert type(back) is nn.Parameter and back.requires_grad == p.requires_grad
            assert back.grad is None  # PyTorch's Parameter deepcopy drops .grad too
            assert back.tolist() == [1.0, 1.0] and back.device == p.device


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_model_and_its_optimizer_copied_together_train_on_identically(device, how):
    model, opt, x, y = _trained(device)
    model2, opt2 = pickle.loads(pickle.dumps((model, opt))) if how == "pickle" else copy.deepcopy((model, opt))
    assert type(model2) is Standardised and model2.mean.tolist() == [0.5, -0.5, 0.0]
    assert model2.mean.device == model.mean.device and not model2.mean.requires_grad
    params = list(model2.parameters())
    assert all(a is b for a, b in zip(opt2.param_groups[0]["params"], params))  # pickle's memo
    assert set(map(id, opt2.state)) == set(map(id, params)) and opt2.state[params[0]]["step"] == 3
    assert all(p is not q for p, q in zip(params, model.parameters()))
    _step(model, opt, x, y)
    _step(model2, opt2, x, y)
    for p, q in zip(model.parameters(), params):
        assert type(q) is nn.Parameter and q.device == p.device
        np.testing.assert_array_equal(q.numpy(), p.numpy())


def test_state_dicts_deep_copy_and_pickle_and_the_early_stopping_idiom(device):
    model, opt, x, y = _trained(device)
    best = copy.deepcopy(model.state_dict())
    best_opt = copy.deepcopy(opt.state_dict())
    pickled = pickle.loads(pickle.dumps(model.state_dict()))
    kept = {k: v.numpy().copy() for k, v in best.items()}
    for _ in range(3):
        _step(model, opt, x, y)
    assert not np.array_equal(model.state_dict()["body.0.weight"].numpy(), kept["body.0.weight"])
    for k, v in kept.items():  # the copies did not follow the training
        np.testing.assert_array_equal(best[k].numpy(), v)
        np.testing.assert_array_equal(pickled[k].numpy(), v)
    model.load_state_dict(best)
    opt.load_state_dict(best_opt)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), kept[k])
    assert opt.state[next(model.parameters())]["step"] == 3


def test_a_generator_continues_its_stream(device):
    g = gg.Generator(device).manual_seed(5)
    gg.rand(3, generator=g, device=device)
    copies = [copy.deepcopy(g), pickle.loads(pickle.dumps(g))]
    expected = gg.rand(4, generator=g, device=device).tolist()
    for c in copies:
        assert c.device == g.device and c.initial_seed() == 5
        assert gg.rand(4, generator=c, device=device).tolist() == expected


def test_a_cuda_tensor_whose_device_is_missing_comes_back_on_the_default_device(device):
    if device != "cuda":
        pytest.skip("a cuda tensor (its cuda case)")
    x = gg.tensor([1.0, 2.0], device="cuda:0", requires_grad=True)
    data = pickle.dumps(x)
    assert pickle.loads(data).device == "cuda:0"
    moved = data.replace(b"cuda:0", b"cuda:9")  # as if pickled where a tenth GPU exists
    with pytest.warns(UserWarning, match=r"pickled on cuda:9 is placed on " + str(gg.get_default_device())):
        back = pickle.loads(moved)
    assert back.device == gg.get_default_device() and back.tolist() == [1.0, 2.0] and back.requires_grad


def test_a_read_only_buffer_comes_back_writable():
    x = gg.arange(4)
    buffers = []
    data = pickle.dumps(x, protocol=5, buffer_callback=buffers.append)
    back = pickle.loads(data, buffers=[bytes(b.raw()) for b in buffers])  # bytes: read-only memory
    back.add_(1)
    assert back.tolist() == [1, 2, 3, 4] and x.tolist() == [0, 1, 2, 3]


def test_a_model_pickled_to_another_process_computes_the_same():
    model, _, x, _ = _trained("cpu")
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        out = pool.apply(model, (x,))  # the model and x go over a pipe, pickled; the result comes back so
    assert out.is_leaf and out.requires_grad  # a non-leaf pickles as a leaf, as in PyTorch
    np.testing.assert_allclose(out.numpy(), model(x).detach().numpy(), rtol=1e-6)


class Tied(nn.Module):
    """Two attributes that share one Parameter, and one sub-module under two names."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(3, 3, bias=False)
        self.decoder = nn.Linear(3, 3, bias=False)
        self.decoder.weight = self.encoder.weight
        self.alias = self.encoder


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_shared_parameter_stays_shared_in_the_copy(device, how):
    model = Tied().to(device)
    twin = pickle.loads(pickle.dumps(model)) if how == "pickle" else copy.deepcopy(model)
    assert twin.decoder.weight is twin.encoder.weight and twin.alias is twin.encoder
    assert twin.encoder.weight is not model.encoder.weight and len(list(twin.parameters())) == 1
    with gg.no_grad():
        twin.encoder.weight.fill_(2.0)
    assert twin.decoder.weight.tolist() == [[2.0] * 3] * 3 and model.encoder.weight.tolist() != [[2.0] * 3] * 3
    assert twin.encoder.weight.device == device


def test_an_optimizer_copied_alone_holds_copies_of_its_parameters(device):
    model, opt, x, y = _trained(device)
    alone = copy.deepcopy(opt)  # as in PyTorch (Python's memo): new parameters, not the model's
    params = alone.param_groups[0]["params"]
    assert all(p is not q for p, q in zip(params, model.parameters()))
    assert all(type(p) is nn.Parameter and p.requires_grad for p in params)
    assert set(map(id, alone.state)) == set(map(id, params)) and alone.state[params[0]]["step"] == 3
    for p, q in zip(params, model.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        np.testing.assert_array_equal(alone.state[p]["exp_avg"].numpy(), opt.state[q]["exp_avg"].numpy())
    _step(model, opt, x, y)  # the original trains on; the copy's state and parameters stay
    assert alone.state[params[0]]["step"] == 3 and opt.state[next(model.parameters())]["step"] == 4


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_an_lr_scheduler_copied_with_its_optimizer_schedules_the_copy(device, how):
    model, opt, x, y = _trained(device)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    sched.step()
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.005)
    both = (model, opt, sched)
    model2, opt2, sched2 = pickle.loads(pickle.dumps(both)) if how == "pickle" else copy.deepcopy(both)
    assert sched2.optimizer is opt2 and sched2.last_epoch == 2 and sched2.get_last_lr() == sched.get_last_lr()
    for _ in range(2):
        sched.step()
        sched2.step()
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.0025) == opt.param_groups[0]["lr"]
    _step(model, opt, x, y)
    _step(model2, opt2, x, y)
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(q.numpy(), p.numpy())


def _train_in_child(model, opt, sched, x, y):
    """One step and one scheduler step in a child process; everything comes back pickled."""
    _step(model, opt, x, y)
    sched.step()
    return model, opt, sched


@pytest.mark.parametrize("start", ["spawn", "fork"])
def test_training_state_goes_to_a_child_process_and_back(start):
    if start not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {start} start method here")
    model, opt, x, y = _trained("cpu")
    sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    with multiprocessing.get_context(start).Pool(1) as pool:
        model2, opt2, sched2 = pool.apply(_train_in_child, (model, opt, sched, x, y))
    _train_in_child(model, opt, sched, x, y)
    assert sched2.optimizer is opt2 and opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    params = list(model2.parameters())
    assert all(a is b for a, b in zip(opt2.param_groups[0]["params"], params))
    assert opt2.state[params[0]]["step"] == 4
    for p, q in zip(model.parameters(), params):
        np.testing.assert_allclose(q.numpy(), p.numpy(), rtol=1e-6)
    assert model2.mean.tolist() == [0.5, -0.5, 0.0]


def _halving(epoch):
    return 0.5**epoch  # module level: pickle finds it by name (a lambda pickles in neither framework)


OPTIMIZERS = ["SGD", "Adagrad", "Adam", "AdamW", "RMSprop", "SparseAdam"]
SCHEDULERS = {
    "StepLR": lambda o: optim.lr_scheduler.StepLR(o, 2),
    "MultiStepLR": lambda o: optim.lr_scheduler.MultiStepLR(o, [1, 3]),
    "ExponentialLR": lambda o: optim.lr_scheduler.ExponentialLR(o, 0.9),
    "CosineAnnealingLR": lambda o: optim.lr_scheduler.CosineAnnealingLR(o, 5),
    "LambdaLR": lambda o: optim.lr_scheduler.LambdaLR(o, _halving),
    "LinearLR": lambda o: optim.lr_scheduler.LinearLR(o),
    "CyclicLR": lambda o: optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=2),
    "OneCycleLR": lambda o: optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=10),
}


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_with_its_state_and_a_scheduler_copies(device, name, how):
    gg.manual_seed(1)
    sparse = name == "SparseAdam"
    model = (nn.Embedding(6, 3, sparse=True) if sparse else nn.Linear(3, 2)).to(device)
    opt = getattr(optim, name)(model.parameters(), lr=0.05)
    sched = list(SCHEDULERS.values())[OPTIMIZERS.index(name)](opt)
    x = gg.tensor([1, 4, 4], device=device) if sparse else gg.randn(4, 3, device=device)

    def train(m, o, s):
        o.zero_grad()
        (m(x) ** 2).sum().backward()
        o.step()
        s.step()

    for _ in range(3):
        train(model, opt, sched)
    everything = (model, opt, sched)
    model2, opt2, sched2 = pickle.loads(pickle.dumps(everything)) if how == "pickle" else copy.deepcopy(everything)
    assert type(opt2) is type(opt) and sched2.optimizer is opt2 and sched2.last_epoch == sched.last_epoch
    for _ in range(2):
        train(model, opt, sched)
        train(model2, opt2, sched2)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(q.numpy(), p.numpy())


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_every_scheduler_state_dict_deep_copies(name):
    opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=0.05)
    sched = SCHEDULERS[name](opt)
    sched.step()
    saved = copy.deepcopy(sched.state_dict())
    saved_opt = copy.deepcopy(opt.state_dict())  # the lrs the next step works from, as in PyTorch
    lrs = []
    for _ in range(3):
        sched.step()
        lrs.append(sched.get_last_lr())
    other_opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=0.05)
    other = SCHEDULERS[name](other_opt)
    other_opt.load_state_dict(saved_opt)
    other.load_state_dict(saved)
    assert [other.step() or other.get_last_lr() for _ in range(3)] == lrs
    assert pickle.loads(pickle.dumps(sched.state_dict())) == sched.state_dict()
