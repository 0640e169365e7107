"""gpugrad.Generator: streams of their own per device, taken as ``generator=`` by every
function that draws; the default stream shared safely by threads; gpugrad.manual_seed and
get/set_rng_state as they were."""

import copy
import pickle
import threading

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.errors import ArgumentError, ArgumentTypeError, DeviceError


def test_manual_seed_seeds_the_default_generator_as_before():
    assert gg.manual_seed(5) is gg.default_generator  # as torch.manual_seed returns it
    assert gg.default_generator.initial_seed() == 5
    # the same stream as ever: PCG64 of the seed, so old seeds give the same numbers
    np.testing.assert_array_equal(gg.rand(4).numpy(), np.random.Generator(np.random.PCG64(5)).random(4, dtype=np.float32))
    state = gg.get_rng_state()
    assert state == gg.default_generator.get_state() and state["bit_generator"] == "PCG64"
    a = gg.randn(6)
    gg.set_rng_state(state)
    np.testing.assert_array_equal(gg.randn(6).numpy(), a.numpy())


def test_generator_api(device):
    g = gg.Generator(device)
    assert g.device == gg.device(device) and g.device.type == device
    assert g.initial_seed() == gg.Generator(device).initial_seed()
    assert g.manual_seed(7) is g and g.initial_seed() == 7
    s = g.seed()
    assert g.initial_seed() == s and 0 <= s < 2**64
    with pytest.raises(ArgumentError, match=r"\[manual_seed\] expected a seed in \[0, 2\*\*64\), got -1"):
        g.manual_seed(-1)
    with pytest.raises(ArgumentTypeError, match=r"\[manual_seed\] expected an integer seed, got str"):
        g.manual_seed("seven")


@pytest.mark.parametrize("draw", [
    lambda g, d: gg.rand(3, 4, generator=g, device=d),
    lambda g, d: gg.randn(5, dtype=gg.float64, generator=g, device=d),
    lambda g, d: gg.randint(0, 1000, (7,), generator=g, device=d),
    lambda g, d: gg.randint(1000, size=(7,), generator=g, device=d, dtype=gg.float32, requires_grad=True),
    lambda g, d: gg.randint_like(gg.zeros(2, 3, device=d), 5, 1000, generator=g),
    lambda g, d: gg.randperm(50, generator=g, device=d),
    lambda g, d: gg.rand_like(gg.zeros(2, 3, device=d), generator=g),
    lambda g, d: gg.randn_like(gg.zeros(2, 3, device=d, dtype=gg.float16), generator=g),
    lambda g, d: gg.zeros(3, 3, device=d).uniform_(-2.0, 2.0, generator=g),
    lambda g, d: gg.zeros(3, 3, device=d).normal_(1.0, 0.5, generator=g),
    lambda g, d: nn.init.xavier_uniform_(gg.zeros(4, 3, device=d), generator=g),
    lambda g, d: nn.init.kaiming_normal_(gg.zeros(4, 3, device=d), generator=g),
    lambda g, d: nn.functional.dropout(gg.ones(64, device=d), 0.5, generator=g),
])
def test_draws_follow_the_generator_alone(device, draw):
    """A seed gives the same numbers whatever the default stream did meanwhile, and
    get_state/set_state replays them."""
    g = gg.Generator(device).manual_seed(3)
    first = draw(g, device).numpy()
    gg.rand(10, device=device)  # the default stream moves; g must not care
    second = draw(g, device).numpy()
    assert not np.array_equal(first, second)  # g moved on
    g.manual_seed(3)
    np.testing.assert_array_equal(draw(g, device).numpy(), first)
    state = g.get_state()
    np.testing.assert_array_equal(draw(g, device).numpy(), second)
    g.set_state(state)
    np.testing.assert_array_equal(draw(g, device).numpy(), second)


def test_state_round_trip_through_copies_and_pickles(device):
    g = gg.Generator(device).manual_seed(11)
    gg.rand(5, generator=g, device=device)
    for twin in (copy.deepcopy(g), pickle.loads(pickle.dumps(g)), gg.Generator(device).set_state(g.get_state())):
        assert twin.get_state() == g.get_state() and twin.device == g.device
        np.testing.assert_array_equal(gg.rand(5, generator=twin, device=device).numpy(),
                                      gg.rand(5, generator=copy.deepcopy(g), device=device).numpy())
    assert copy.deepcopy(g).initial_seed() == 11


def test_a_state_of_another_kind_is_refused():
    with pytest.raises(ArgumentError, match=r"\[Generator.set_state\] expected a state from get_state\(\) of a cpu gen"):
        gg.Generator().set_state({"seed": 1, "draws": 0})


@pytest.mark.gpu
@pytest.mark.skipif(not gg.cuda.is_available(), reason="needs CUDA (or its emulation)")
def test_a_cuda_state_is_checked():
    g = gg.Generator("cuda")
    with pytest.raises(ArgumentError, match=r"of a cuda:0 generator"):
        g.set_state(gg.Generator().get_state())
    with pytest.raises(ArgumentError, match=r"expected an int seed in \[0, 2\*\*64\) and an int draws >= 0"):
        g.set_state({"seed": 1, "draws": -1})


def test_a_generator_on_another_device_is_refused(device):
    other = "cpu" if device == "cuda" else "cuda"
    if other == "cuda" and not gg.cuda.is_available():
        pytest.skip("needs a second kind of device (the CUDA emulation counts)")
    g = gg.Generator(other)
    with pytest.raises(DeviceError, match=rf"\[rand\] expected a generator on {device}(:0)?, got one on {other}"):
        gg.rand(3, device=device, generator=g)
    with pytest.raises(DeviceError, match=r"\[normal_\] expected a generator on"):
        gg.zeros(3, device=device).normal_(generator=g)
    model = nn.Dropout(0.5, generator=g).to(device)
    with pytest.raises(DeviceError, match=r"\[rand\] expected a generator on"):
        model(gg.ones(4, device=device))
    with pytest.raises(ArgumentTypeError, match=r"\[randn\] expected generator to be a gpugrad.Generator, got int"):
        gg.randn(2, device=device, generator=0)
    with pytest.raises(ArgumentTypeError, match=r"\[Dropout\] expected a gpugrad.Generator, got int"):
        nn.Dropout(0.5, generator=0)


def _train(seed, steps, barrier=None):
    """A small MLP with dropout trained on its own data, every draw from its own Generator;
    with ``barrier``, each step waits for the other thread's, so their draws interleave."""
    g = gg.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3, generator=g), nn.Linear(16, 1))
    for p in model.parameters():
        nn.init.normal_(p, 0.0, 0.5, generator=g)
    x = gg.randn(32, 4, generator=g)
    y = (x * gg.rand(4, generator=g)).sum(1, keepdim=True)
    opt = optim.SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        if barrier is not None:
            barrier.wait()
        loss = nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.numpy().copy() for p in model.parameters()]


def test_two_threads_with_their_own_generators_train_as_one_after_the_other():
    seeds, steps = (1, 2), 15
    alone = [_train(s, steps) for s in seeds]
    results, errors = [None, None], []
    barrier = threading.Barrier(2)

    def run(i):
        try:
            results[i] = _train(seeds[i], steps, barrier)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for got, want in zip(results, alone):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


def test_the_default_generator_under_concurrent_draws():
    """Four threads draw from the default stream while a fifth reads its state: nothing
    raises, every draw is whole (the values drawn are those of the stream, each once), and
    every state read lies between two draws, never inside one."""
    seed, n, draws, threads = 123, 2000, 40, 4
    gg.manual_seed(seed)
    reference = np.random.PCG64(seed)
    boundaries = []  # the state after each whole draw of n float64 (one 64-bit output each)
    for _ in range(draws * threads + 1):
        boundaries.append(reference.state["state"]["state"])
        reference.advance(n)
    values, seen, errors = [], [], []
    done = threading.Event()

    def draw():
        try:
            for _ in range(draws):
                values.append(gg.rand(n, dtype=gg.float64).numpy())
        except BaseException as exc:
            errors.append(exc)

    def read():
        try:
            while not done.is_set():
                seen.append(gg.get_rng_state()["state"]["state"])
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=read)
    workers = [threading.Thread(target=draw) for _ in range(threads)]
    reader.start()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    done.set()
    reader.join()
    assert not errors, errors
    assert gg.get_rng_state()["state"]["state"] == boundaries[-1]
    assert set(seen) <= set(boundaries)
    expected = np.random.Generator(np.random.PCG64(seed)).random(n * draws * threads)
    np.testing.assert_array_equal(np.sort(np.concatenate(values)), np.sort(expected))


def test_manual_seed_also_seeds_a_cuda_device_first_used_after_it(device, monkeypatch):
    if device != "cuda":
        pytest.skip("a CUDA device's generator")
    from gpugrad import backend

    gg.manual_seed(5)
    want = gg.randn(6, device="cuda").numpy()
    gg.manual_seed(5)
    # forget the cuda backend, as if the device had not been used before this seed
    monkeypatch.setattr(backend, "_backends", {k: v for k, v in backend._backends.items() if k.type == "cpu"})
    np.testing.assert_array_equal(gg.randn(6, device="cuda").numpy(), want)


def test_a_cuda_generator_cannot_order_a_loader(device):
    if device == "cpu":
        pytest.skip("a generator on another device (its cuda case)")
    with pytest.raises(DeviceError, match=r"\[DataLoader\] expected a cpu generator .*, got one on cuda:0"):
        gg.data.DataLoader(gg.data.TensorDataset(gg.arange(4)), shuffle=True, generator=gg.Generator(device))


def test_randperm_is_a_permutation_as_torch_randperm(device):
    p = gg.randperm(40, device=device)
    assert p.dtype == gg.int64 and p.shape == (40,) and p.device == device and sorted(p.tolist()) == list(range(40))
    gg.manual_seed(2)
    a = gg.randperm(40).tolist()
    gg.manual_seed(2)
    assert gg.randperm(40).tolist() == a != list(range(40))  # the default generator, seeded
    assert gg.randperm(0, device=device).shape == (0,) and gg.randperm(1, device=device).tolist() == [0]
    f = gg.randperm(5, dtype=gg.float32, device=device, requires_grad=True)
    assert f.dtype == gg.float32 and f.requires_grad and sorted(f.tolist()) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert sorted(gg.randperm(6, dtype=gg.int8).tolist()) == list(range(6))
    with pytest.raises(ArgumentError, match=r"\[randperm\] expected n >= 0, got -1"):
        gg.randperm(-1)
    with pytest.raises(ArgumentTypeError, match=r"\[randperm\] expected n to be an int, got float"):
        gg.randperm(2.0)
    with pytest.raises(ArgumentError, match=r"\[randperm\] expected n to fit dtype int8 .*, got 300"):
        gg.randperm(300, dtype=gg.int8)
    with pytest.raises(RuntimeError, match=r"only floating point tensors can require gradients"):
        gg.randperm(3, requires_grad=True)  # int64, as in PyTorch


# PyTorch's keywords on the creation functions: (call, expected shape, dtype, requires_grad)
KEYWORDS = [
    (lambda d: gg.zeros(size=(2, 3), dtype=gg.float64, device=d, requires_grad=True), (2, 3), "float64", True),
    (lambda d: gg.ones(2, out=None, layout=gg.strided, device=d, pin_memory=False), (2,), "float32", False),
    (lambda d: gg.empty(size=[4], device=d), (4,), "float32", False),
    (lambda d: gg.full((2,), 7, out=None, layout=gg.strided, pin_memory=False, device=d), (2,), "int64", False),
    (lambda d: gg.rand(size=(3,), device=d, requires_grad=True, layout=gg.strided), (3,), "float32", True),
    (lambda d: gg.randn(2, 2, out=None, dtype=gg.float64, device=d, pin_memory=False), (2, 2), "float64", False),
    (lambda d: gg.randint(5, (2, 2), device=d), (2, 2), "int64", False),
    (lambda d: gg.randint(low=2, high=5, size=(3,), dtype=gg.int32, device=d), (3,), "int32", False),
    (lambda d: gg.randint(0, 9, (3,), dtype=gg.float32, requires_grad=True, device=d), (3,), "float32", True),
    (lambda d: gg.randperm(4, out=None, layout=gg.strided, pin_memory=False, device=d), (4,), "int64", False),
    (lambda d: gg.arange(end=5, device=d, out=None, layout=gg.strided, pin_memory=False), (5,), "int64", False),
    (lambda d: gg.arange(1, 2, 0.5, dtype=gg.float64, device=d, requires_grad=True), (2,), "float64", True),
    (lambda d: gg.linspace(0, 1, 3, device=d, out=None, layout=gg.strided, pin_memory=False), (3,), "float32", False),
    (lambda d: gg.eye(2, 3, device=d, out=None, layout=gg.strided, pin_memory=False), (2, 3), "float32", False),
    (lambda d: gg.tensor([1.0], device=d, pin_memory=False, requires_grad=True), (1,), "float32", True),
    (lambda d: gg.zeros_like(gg.ones(2, 1, device=d), layout=gg.strided, pin_memory=False), (2, 1), "float32", False),
    (lambda d: gg.full_like(gg.ones(2, device=d), 3.0, requires_grad=True, pin_memory=False), (2,), "float32", True),
    (lambda d: gg.randint_like(gg.ones(3, device=d), 4, dtype=gg.int64, layout=gg.strided), (3,), "int64", False),
]


@pytest.mark.parametrize("i", range(len(KEYWORDS)))
def test_creation_functions_take_pytorchs_keywords(device, i):
    make, shape, dtype, requires_grad = KEYWORDS[i]
    t = make(device)
    assert (t.shape, t.dtype.name, t.requires_grad, t.device) == (shape, dtype, requires_grad, gg.device(device))
    assert t.is_leaf


@pytest.mark.parametrize("call, message", [
    (lambda: gg.zeros(2, out=gg.zeros(2)), r"\[zeros\] expected out=None .*got a Tensor; assign the result"),
    (lambda: gg.randn(2, out=gg.zeros(2)), r"\[randn\] expected out=None"),
    (lambda: gg.arange(3, layout="sparse_coo"), r"\[arange\] expected layout=gpugrad.strided .*got 'sparse_coo'"),
    (lambda: gg.eye(2, layout=object()), r"\[eye\] expected layout=gpugrad.strided"),
    (lambda: gg.ones(2, pin_memory=True), r"\[ones\] expected pin_memory=False .*got True; create the tensor on"),
    (lambda: gg.randint(3, (2,), pin_memory=True), r"\[randint\] expected pin_memory=False"),
    (lambda: gg.tensor([1.0], pin_memory=True), r"\[tensor\] expected pin_memory=False"),
    (lambda: gg.rand_like(gg.ones(2), pin_memory=True), r"\[rand\] expected pin_memory=False"),
])  # fmt: skip
def test_creation_options_gpugrad_cannot_honour_say_so(call, message):
    with pytest.raises(ArgumentError, match=message):
        call()


def test_creation_sizes_and_randint_forms():
    with pytest.raises(ArgumentTypeError, match=r"\[zeros\] expected the sizes once, positional or size=, got both"):
        gg.zeros(2, size=(3,))
    with pytest.raises(ArgumentTypeError, match=r"\[arange\] expected an end, got neither start nor end"):
        gg.arange()
    with pytest.raises(RuntimeError, match=r"\[randint\] expected low < high, got 0 and 0"):
        gg.randint(0, size=(2,))
    with pytest.raises(RuntimeError, match="can require gradients"):
        gg.randint(3, (2,), requires_grad=True)  # int64, as in PyTorch
    assert gg.randint(3).shape == () and 0 <= gg.randint(3).item() < 3
    assert gg.randint(7, size=(50,)).max().item() < 7 and gg.randint(5, 7, (50,)).min().item() >= 5
    assert pickle.loads(pickle.dumps(gg.strided)) is gg.strided and repr(gg.strided) == "gpugrad.strided"
