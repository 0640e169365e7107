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
