"""torch.utils.data's surface (issue 17): random_split, Subset, ConcatDataset, the samplers,
default_collate, DataLoader's sampler/batch_sampler/collate_fn options and refusals, worker
processes (order, seeds, errors, shutdown, Ctrl-C, no leftover processes) and pin_memory.

Datasets used by workers are defined at module level: under the forkserver start method
(the default once a CUDA device is in use, as in the cuda cases) they travel by pickle."""

import collections
import gc
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from helpers import unpicklable

import gpugrad as gg
from gpugrad.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    DataLoaderWorkerError,
    Dataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    get_worker_info,
    random_split,
)
from gpugrad.errors import ArgumentError, ArgumentTypeError, DeviceError, GpugradIndexError

Point = collections.namedtuple("Point", "x y")


class Squares(Dataset):
    """Sample i: (float32 i, i*i, and where and with which random numbers it was made)."""

    def __init__(self, n=23, fail_at=None):
        self.n, self.fail_at = n, fail_at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise ValueError(f"item {i} is broken")
        info = get_worker_info()
        return {"x": np.float32(i), "sq": i * i, "worker": -1 if info is None else info.id,
                "pid": os.getpid(), "gg": gg.rand(1).item(), "np": float(np.random.rand()), "py": random.random(),
                "seed": -1 if info is None else info.seed, "init": os.environ.get("GG_TEST_INIT", ""),
                "dev": str(gg.zeros(1).device)}


class Blocking(Dataset):
    """Never returns an item: for the timeout."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        threading.Event().wait()


class Dies(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        os._exit(3)


def _mark_init(worker_id):
    os.environ["GG_TEST_INIT"] = f"init{worker_id}"


def _fail_init(worker_id):
    raise RuntimeError(f"no init for {worker_id}")


def _fail_init_one(worker_id):
    if worker_id == 1:
        raise RuntimeError("worker 1 cannot start")


def _gone(pid):
    """Whether process ``pid`` has ended (a zombie waiting for a reaper counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


# -- datasets ------------------------------------------------------------------------------
def test_random_split_subset_concat(device):
    ds = TensorDataset(gg.arange(10, device=device))
    parts = random_split(ds, [0.33, 0.33, 0.34], generator=gg.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [4, 3, 3]  # floors 3, 3, 3; the remainder to the first
    values = sorted(int(p[i][0].item()) for p in parts for i in range(len(p)))
    assert values == list(range(10)) and all(p[0][0].device == device for p in parts)
    again = random_split(ds, [4, 3, 3], generator=gg.Generator().manual_seed(1))
    assert [a.indices for a in again] == [p.indices for p in parts]
    assert [len(p) for p in random_split(ds, [1])] == [10]  # PyTorch reads [1] as 100%
    torch = pytest.importorskip("torch")
    tparts = torch.utils.data.random_split(range(10), [0.33, 0.33, 0.34])
    assert [len(p) for p in tparts] == [len(p) for p in parts]
    for bad in ([5, 6], [11, -1], [0.5, 0.6], ["a"]):
        with pytest.raises((ArgumentError, ArgumentTypeError), match=r"^\[random_split\] expected"):
            random_split(ds, bad)


def test_subset_and_concat_dataset(device):
    a = TensorDataset(gg.arange(3, device=device))
    b = TensorDataset(gg.arange(10, 15, device=device))
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 8 and cat.cumulative_sizes == [3, 8]
    assert [int(cat[i][0].item()) for i in range(-8, 8)] == [0, 1, 2, 10, 11, 12, 13, 14] * 2
    sub = Subset(cat, [7, 0, 3])
    assert len(sub) == 3 and [int(s[0].item()) for s in sub.__getitems__([0, 1, 2])] == [14, 0, 10]
    torch = pytest.importorskip("torch")
    tcat = torch.utils.data.ConcatDataset([torch.arange(3), torch.arange(10, 15)])
    assert [int(tcat[i]) for i in range(-8, 8)] == [int(cat[i][0].item()) for i in range(-8, 8)]
    with pytest.raises(GpugradIndexError, match=r"^\[ConcatDataset\] expected an index in \[-8, 8\), got 8"):
        cat[8]
    with pytest.raises(ArgumentError, match=r"^\[ConcatDataset\] expected a non-empty"):
        ConcatDataset([])
    with pytest.raises(ArgumentTypeError, match=r"^\[ConcatDataset\] expected map-style"):
        ConcatDataset([a, 5])


# -- samplers ------------------------------------------------------------------------------
def test_sequential_random_and_subset_samplers():
    data = list(range(7))
    assert list(SequentialSampler(data)) == data and len(SequentialSampler(data)) == 7
    g = gg.Generator().manual_seed(5)
    first = list(RandomSampler(data, generator=g))
    assert sorted(first) == data
    assert list(RandomSampler(data, generator=gg.Generator().manual_seed(5))) == first
    gg.manual_seed(2)
    a = list(RandomSampler(data))  # the default generator
    gg.manual_seed(2)
    assert list(RandomSampler(data)) == a
    twice = list(RandomSampler(data, num_samples=16, generator=g))  # two permutations, then 2 more
    assert len(twice) == 16 and sorted(twice[:7]) == data and sorted(twice[7:14]) == data
    drawn = list(RandomSampler(data, replacement=True, num_samples=50, generator=g))
    assert len(drawn) == 50 and set(drawn) <= set(data) and len(set(drawn)) > 1
    sub = list(SubsetRandomSampler([10, 20, 30], generator=g))
    assert sorted(sub) == [10, 20, 30]
    assert isinstance(RandomSampler(data), Sampler)
    with pytest.raises(ArgumentError, match=r"^\[RandomSampler\] expected num_samples to be a positive integer, got 0"):
        RandomSampler(data, num_samples=0)
    with pytest.raises(ArgumentTypeError, match=r"^\[RandomSampler\] expected replacement to be a bool"):
        RandomSampler(data, replacement=1)
    with pytest.raises(ArgumentTypeError, match=r"^\[RandomSampler\] expected generator to be a gpugrad.Generator"):
        RandomSampler(data, generator=3)


def test_batch_sampler_matches_torch():
    got = list(BatchSampler(SequentialSampler(range(10)), 3, False))
    assert got == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]] and len(BatchSampler(range(10), 3, False)) == 4
    assert list(BatchSampler(range(10), 3, True)) == got[:3] and len(BatchSampler(range(10), 3, True)) == 3
    torch = pytest.importorskip("torch")
    for size in (1, 3, 4, 10, 11):
        for drop in (False, True):
            t = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(10)), size, drop)
            assert list(BatchSampler(SequentialSampler(range(10)), size, drop)) == list(t) and len(t) == len(
                BatchSampler(range(10), size, drop))
    with pytest.raises(ArgumentError, match=r"^\[BatchSampler\] expected batch_size to be a positive integer"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ArgumentTypeError, match=r"^\[BatchSampler\] expected drop_last to be a bool"):
        BatchSampler(range(3), 2, None)


def test_weighted_random_sampler(device):
    w = [0.0, 1.0, 3.0, 0.0, 4.0]
    g = gg.Generator().manual_seed(0)
    draws = np.array(list(WeightedRandomSampler(w, 8000, generator=g)))
    counts = np.bincount(draws, minlength=5)
    assert counts[0] == counts[3] == 0  # weight 0: never
    # expected 1000, 3000, 4000: more than 8 standard deviations would be a broken sampler
    np.testing.assert_allclose(counts[[1, 2, 4]], [1000, 3000, 4000], atol=8 * np.sqrt(8000 * 0.5 * 0.5))
    assert list(WeightedRandomSampler(w, 20, generator=gg.Generator().manual_seed(0))) == draws[:20].tolist()
    once = list(WeightedRandomSampler(gg.tensor(w, device=device), 3, replacement=False, generator=g))
    assert sorted(once) == [1, 2, 4]  # without replacement: each positive weight once
    firsts = collections.Counter(next(iter(WeightedRandomSampler([1.0, 9.0], 1, replacement=False, generator=g)))
                                 for _ in range(400))
    assert firsts[1] > firsts[0]  # the heavier one first, mostly
    for kwargs, err, text in (({"weights": [1.0, -1.0], "num_samples": 2}, ArgumentError, "non-negative"),
                              ({"weights": [[1.0]], "num_samples": 1}, ArgumentError, "1-d"),
                              ({"weights": [0.0, 0.0], "num_samples": 1}, ArgumentError, "positive sum"),
                              ({"weights": [1.0, 0.0], "num_samples": 2, "replacement": False}, ArgumentError,
                               "num_samples <= the number of positive weights"),
                              ({"weights": [1.0], "num_samples": 0}, ArgumentError, "positive integer"),
                              ({"weights": ["a"], "num_samples": 1}, ArgumentTypeError, "numbers")):
        with pytest.raises(err, match=r"^\[WeightedRandomSampler\] expected .*" + text):
            WeightedRandomSampler(**kwargs)


# -- collate -------------------------------------------------------------------------------
def test_default_collate_like_torch(device):
    samples = [{"a": gg.tensor([float(i), 1.0], device=device), "b": (i, 0.5 * i), "s": f"s{i}",
                "n": np.array([i, i], dtype=np.int32), "f": np.float32(i), "flag": i % 2 == 0,
                "p": Point(i, [i, i + 1])} for i in range(3)]
    out = default_collate(samples)
    assert out["a"].shape == (3, 2) and out["a"].device == device
    assert isinstance(out["b"], list) and out["b"][0].dtype == gg.int64 and out["b"][1].dtype == gg.float64
    assert out["s"] == ["s0", "s1", "s2"] and out["n"].dtype == gg.int32 and out["f"].dtype == gg.float32
    assert out["flag"].dtype == gg.bool and out["flag"].tolist() == [True, False, True]
    assert isinstance(out["p"], Point) and out["p"].y[1].tolist() == [1, 2, 3]
    with pytest.raises(ArgumentError, match=r"^\[default_collate\] expected every sample of the batch to have "
                                            r"the same length, got lengths \[1, 2\]"):
        default_collate([[1], [1, 2]])
    with pytest.raises(ArgumentTypeError, match=r"^\[default_collate\] expected batches of .* got object"):
        default_collate([object(), object()])
    torch = pytest.importorskip("torch")
    tsamples = [{**s, "a": torch.tensor(s["a"].tolist())} for s in samples]
    tout = torch.utils.data.default_collate(tsamples)
    for key in ("a", "n", "f", "flag"):
        assert out[key].tolist() == tout[key].tolist() and str(tout[key].dtype) == f"torch.{out[key].dtype}"
    assert [f"torch.{t.dtype}" for t in out["b"]] == [str(t.dtype) for t in tout["b"]] and tout["s"] == out["s"]


# -- DataLoader options ---------------------------------------------------------------------
def test_loader_sampler_batch_sampler_and_collate_fn(device):
    ds = TensorDataset(gg.arange(10, device=device))
    loader = DataLoader(ds, sampler=[9, 8, 7, 0], batch_size=3)
    assert [b[0].tolist() for b in loader] == [[9, 8, 7], [0]] and len(loader) == 2
    loader = DataLoader(ds, batch_sampler=[[1, 2], [5], [0, 9, 3]])
    assert [b[0].tolist() for b in loader] == [[1, 2], [5], [0, 9, 3]] and len(loader) == 3
    single = list(DataLoader(ds, batch_size=None, sampler=[4, 2]))
    assert [s[0].shape for s in single] == [(), ()] and [s[0].item() for s in single] == [4, 2]
    sums = list(DataLoader(Squares(6), batch_size=4, collate_fn=lambda items: sum(s["sq"] for s in items)))
    assert sums == [0 + 1 + 4 + 9, 16 + 25]
    assert [len(b[0]) for b in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    moved = next(iter(DataLoader(Squares(4), batch_size=2, device=device)))
    assert moved["x"].device == device and moved["sq"].tolist() == [0, 1] and moved["init"] == ["", ""]


def test_loader_refusals_as_torch():
    ds = TensorDataset(gg.arange(4))
    cases = [({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler is mutually exclusive"),
             ({"batch_sampler": [[0]], "shuffle": True}, "batch_sampler is mutually exclusive"),
             ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler is mutually exclusive"),
             ({"batch_sampler": [[0]], "sampler": [0]}, "batch_sampler is mutually exclusive"),
             ({"sampler": [0], "shuffle": True}, "sampler is mutually exclusive with shuffle"),
             ({"batch_size": None, "drop_last": True}, "mutually exclusive with drop_last"),
             ({"prefetch_factor": 2}, "expected prefetch_factor=None with num_workers=0"),
             ({"persistent_workers": True}, "expected num_workers > 0 with persistent_workers"),
             ({"num_workers": -1}, "expected num_workers to be an integer >= 0, got -1"),
             ({"timeout": -1}, "expected timeout to be a non-negative number, got -1"),
             ({"batch_size": 0}, "expected batch_size to be an integer >= 1, got 0"),
             ({"multiprocessing_context": "teleport", "num_workers": 1}, "expected multiprocessing_context")]
    torch = None
    try:
        import torch
    except ImportError:
        pass
    for kwargs, text in cases:
        with pytest.raises(ArgumentError, match=r"^\[DataLoader\] .*" + text):
            DataLoader(ds, **kwargs)
        if torch is not None:  # PyTorch refuses the same
            with pytest.raises((ValueError, TypeError)):
                torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(4)), **kwargs)
    with pytest.raises(ArgumentTypeError, match=r"^\[DataLoader\] expected worker_init_fn to be callable"):
        DataLoader(ds, num_workers=1, worker_init_fn=3)


# -- worker processes -----------------------------------------------------------------------
def _rows(loader):
    return [{k: (v.tolist() if isinstance(v, gg.Tensor) else v) for k, v in b.items()} for b in loader]


def test_workers_give_the_batches_in_order_seeded(device):
    main = _rows(DataLoader(Squares(), batch_size=4, shuffle=True, seed=3, device=device))
    loader = DataLoader(Squares(), batch_size=4, shuffle=True, seed=3, num_workers=2, worker_init_fn=_mark_init,
                        device=device)
    got = _rows(loader)
    assert [b["sq"] for b in got] == [b["sq"] for b in main]  # same order as without workers
    assert {w for b in got for w in b["worker"]} == {0, 1} and {p for b in got for p in b["pid"]}.isdisjoint(
        {os.getpid()})
    assert all(b["init"] == [f"init{w}" for w in b["worker"]] for b in got)  # worker_init_fn ran in the worker
    seeds = {w: s for b in got for w, s in zip(b["worker"], b["seed"])}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id
    assert get_worker_info() is None
    # reproducible: an equally made loader has the same base seed, so the same random numbers
    again = _rows(DataLoader(Squares(), batch_size=4, shuffle=True, seed=3, num_workers=2,
                             worker_init_fn=_mark_init, device=device))
    for key in ("gg", "np", "py", "seed"):
        assert [b[key] for b in again] == [b[key] for b in got]
    first = [b["gg"][0] for b in got if b["worker"][0] == 0][0]
    other = [b["gg"][0] for b in got if b["worker"][0] == 1][0]
    assert first != other  # each worker its own stream
    # the next pass gets a new base seed
    assert [b["seed"] for b in _rows(loader)] != [b["seed"] for b in got]
    pids = {p for b in got for p in b["pid"]}
    assert all(_gone(p) for p in pids)  # not persistent: gone after the pass


class OnDevice(Dataset):
    """Makes its samples on a named device (in a worker forked from a CUDA process: refused)."""

    def __init__(self, device):
        self.device = device

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return gg.full((1,), float(i), device=self.device)


def test_worker_tensors_default_to_the_cpu(device):
    from gpugrad.data import workers

    gg.set_default_device(device)
    try:  # fork (as PyTorch, also with a CUDA device in use): new tensors in the worker are the CPU's
        assert workers.default_context().get_start_method() == "fork"
        got = _rows(DataLoader(Squares(4), batch_size=2, num_workers=1))
        assert [b["dev"] for b in got] == [["cpu", "cpu"]] * 2 and [b["sq"] for b in got] == [[0, 1], [4, 9]]
        if device != "cpu":
            gg.zeros(1, device=device)  # this process has a CUDA device started
            # a forked worker must not touch the CUDA driver its parent started: asking is refused, naming the way out
            with pytest.raises(DeviceError, match=r"worker 0 failed on dataset index 0: DeviceError: \[DataLoader\] "
                               r"worker 0: this worker process was forked from a process that uses CUDA.*"
                               r"DataLoader\(device=...\).*multiprocessing_context='spawn'"):
                list(DataLoader(OnDevice(device), batch_size=1, num_workers=1))
            # the way out it names: the batches are made on the CPU and moved in the main process
            moved = list(DataLoader(OnDevice("cpu"), batch_size=1, num_workers=1, device=device))
            assert [b.device for b in moved] == [device] * 2 and [b.tolist() for b in moved] == [[[0.0]], [[1.0]]]
    finally:
        gg.set_default_device(None)


def test_workers_fork_with_other_threads_running(device):
    # PyTorch forks on Linux whatever other threads run (a tqdm monitor, a queue's feeder
    # thread): a script's own Dataset class (not importable by a fresh interpreter) works
    gg.zeros(1, device=device)
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, daemon=True)
    helper.start()
    try:
        local = type("LocalSquares", (Squares,), {})  # a class no other interpreter could import
        assert [b["sq"] for b in _rows(DataLoader(local(4), batch_size=2, num_workers=1))] == [[0, 1], [4, 9]]
    finally:
        stop.set()
        helper.join()


def test_persistent_workers_and_early_exit(device):
    loader = DataLoader(Squares(), batch_size=2, num_workers=2, persistent_workers=True, prefetch_factor=3)
    pids = {p for b in _rows(loader) for p in b["pid"]}
    it = iter(loader)
    next(it)
    del it  # left early: the workers stay, the stale batches are dropped
    rows = _rows(loader)
    assert {p for b in rows for p in b["pid"]} == pids and [b["sq"] for b in rows][0] == [0, 1]
    del loader
    gc.collect()
    assert all(_gone(p) for p in pids)
    short = DataLoader(Squares(), batch_size=2, num_workers=2)
    it, again = iter(short), iter(short)  # two passes at once: each has its own workers
    first, other = next(it), next(again)
    assert first["sq"].tolist() == other["sq"].tolist() == [0, 1] and first["pid"].tolist() != other["pid"].tolist()
    assert [b["sq"].tolist() for b in again][0] == [4, 9]
    pids = set(first["pid"].tolist()) | {p for b in it for p in b["pid"].tolist()}
    assert len(pids) == 2
    it = iter(short)
    pids = next(it)["pid"].tolist()
    del it  # collected mid-pass: its workers go
    gc.collect()
    assert all(_gone(p) for p in pids)


def test_worker_errors_name_the_worker_and_the_index(device):
    loader = DataLoader(Squares(fail_at=13), batch_size=4, num_workers=2)
    with pytest.raises(ValueError, match=r"^\[DataLoader\] worker 1 failed on dataset index 13: ValueError: item 13 "
                                         r"is broken") as info:
        list(loader)
    assert "Traceback" in str(info.value)
    with pytest.raises(RuntimeError, match=r"^\[DataLoader\] worker \d failed in worker_init_fn: RuntimeError: no "
                                           r"init for \d"):
        list(DataLoader(Squares(), batch_size=4, num_workers=2, worker_init_fn=_fail_init))
    with pytest.raises(Exception, match=r"^\[DataLoader\] worker 0 failed sending the batch of dataset indices "
                                        r"\[0, 1\] \(it must pickle\)"):
        list(DataLoader(Squares(), batch_size=2, num_workers=1, collate_fn=unpicklable))
    # a persistent worker whose init failed is reported in a later pass too, not waited on
    loader = DataLoader(Squares(), batch_size=2, num_workers=2, persistent_workers=True,
                        worker_init_fn=_fail_init_one)
    it = iter(loader)
    next(it)  # from worker 0
    del it
    with pytest.raises(RuntimeError, match=r"^\[DataLoader\] worker 1 failed in worker_init_fn"):
        list(loader)
    with pytest.raises(DataLoaderWorkerError, match=r"^\[DataLoader\] worker \d \(pid \d+\) exited unexpectedly "
                                                    r"with exit code 3"):
        list(DataLoader(Dies(), batch_size=2, num_workers=2))
    with pytest.raises(DataLoaderWorkerError, match=r"^\[DataLoader\] expected a batch from the workers within "
                                                    r"timeout=0.5 seconds, got none"):
        list(DataLoader(Blocking(), batch_size=2, num_workers=1, timeout=0.5))
    with pytest.raises(ArgumentTypeError, match=r"^\[DataLoader\] expected a picklable dataset"):
        list(DataLoader(Squares(), num_workers=1, collate_fn=lambda b: b, multiprocessing_context="spawn"))


_SCRIPT = textwrap.dedent("""
    import os, sys, time
    from gpugrad.data import DataLoader, Dataset

    class Slow(Dataset):
        def __len__(self):
            return 1000

        def __getitem__(self, i):
            with open(sys.argv[1], "a") as f:
                f.write(f"{os.getpid()}\\n")
            time.sleep(0.05)
            return i

    if __name__ == "__main__":
        loader = DataLoader(Slow(), batch_size=2, num_workers=2, persistent_workers=True)
        if sys.argv[2] == "exit":
            for i, _ in enumerate(loader):
                if i == 4:
                    sys.exit(0)  # persistent workers still alive: the interpreter's exit stops them
        for _ in loader:
            pass
""")


def _run_until_workers(tmp_path, mode):
    (tmp_path / "s.py").write_text(_SCRIPT)
    log = tmp_path / "pids.txt"
    # SIGINT's default action in the child: a shell that starts the suite in the background
    # makes it ignored, and the child would inherit that (the SIGINT case then never ends)
    proc = subprocess.Popen([sys.executable, str(tmp_path / "s.py"), str(log), mode], stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        pids = set(log.read_text().split()) if log.exists() else set()
        if len(pids) == 2:
            break
        time.sleep(0.05)
    return proc, pids


@pytest.mark.parametrize("mode", ["sigint", "exit", "sigkill"])
def test_workers_end_with_the_main_process(tmp_path, mode):
    proc, pids = _run_until_workers(tmp_path, mode)
    assert len(pids) == 2, proc.stderr.read() if proc.poll() is not None else "no workers"
    if mode == "sigint":
        proc.send_signal(signal.SIGINT)
    elif mode == "sigkill":
        proc.kill()
    _, err = proc.communicate(timeout=120)
    if mode == "sigint":
        assert proc.returncode != 0 and "KeyboardInterrupt" in err, err
    elif mode == "exit":
        assert proc.returncode == 0, err
    deadline = time.monotonic() + 60  # an orphaned worker notices within a second
    while time.monotonic() < deadline and not all(_gone(int(p)) for p in pids):
        time.sleep(0.1)
    assert all(_gone(int(p)) for p in pids)


# -- pinned memory ------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.skipif(not gg.cuda.is_available(), reason="pinned memory is CUDA's (no CUDA, nor its emulation, here)")
def test_pin_memory(device):
    """Pinning needs CUDA (real or emulated); without it, the warning test below holds."""
    from gpugrad.data.pinned import is_pinned

    ds = TensorDataset(gg.arange(6).float(), gg.arange(6))
    batches = list(DataLoader(ds, batch_size=4, pin_memory=True))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5]]
    assert all(t.device == "cpu" and is_pinned(t) for b in batches for t in b)
    assert not is_pinned(gg.arange(3))
    moved = list(DataLoader(ds, batch_size=4, pin_memory=True, num_workers=1, device=device))
    assert [b[0].tolist() for b in moved] == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0]]
    assert all(t.device == device for b in moved for t in b)


def test_pin_memory_without_cuda_warns_and_does_nothing(monkeypatch):
    monkeypatch.setattr(gg.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match=r"^\[DataLoader\] pin_memory=True but no CUDA device is available"):
        loader = DataLoader(TensorDataset(gg.arange(3)), batch_size=2, pin_memory=True)
    assert [b[0].tolist() for b in loader] == [[0, 1], [2]] and loader.pin_memory is False


def test_utils_data_is_gpugrad_data():
    import gpugrad.data
    import gpugrad.utils.data

    assert set(gpugrad.utils.data.__all__) == set(gpugrad.data.__all__)
    assert all(getattr(gpugrad.utils.data, n) is getattr(gpugrad.data, n) for n in gpugrad.data.__all__)


def test_data_loader_benchmark_runs(tmp_path):
    """The benchmark suite's plumbing on a tiny setting (its figures are not checked: speed
    is measured in benchmarks, not asserted in tests)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    try:
        import bench_data_loader
    finally:
        sys.path.pop(0)
    args = bench_data_loader.parser().parse_args(["--items", "8", "--batch", "4", "--work-ms", "0.1", "--repeats",
                                                  "1", "--rounds", "1", "--workers", "0", "2"])
    results, lines = bench_data_loader.run(args)
    for key in ("gpugrad/0", "gpugrad/2"):
        assert set(results[key]) == {"steady", "cold", "speedup"} and len(results[key]["steady"]["samples"]) == 1
    assert any(line.startswith("| gpugrad | 2 |") for line in lines)


def test_emulated_cupy_pinned_memory():
    """The CuPy stand-in's pinned-memory API (CuPy's signatures), which pin_memory uses."""
    from gpugrad.backend import cuda

    if not cuda.emulated():
        pytest.skip("checks the CUDA emulation's stand-in; real CuPy is not being emulated here")
    from gpugrad.backend.emu.fakecupy import cupy, cupyx

    mem = cupy.cuda.alloc_pinned_memory(24)
    assert isinstance(mem, cupy.cuda.PinnedMemoryPointer) and len(mem) == 24 and mem.ptr != 0
    a = cupyx.empty_pinned((2, 3), dtype=np.float32)
    assert a.shape == (2, 3) and a.dtype == np.float32 and isinstance(a.base, cupy.cuda.PinnedMemoryPointer)
    z = cupyx.zeros_pinned(4, dtype="int64")
    assert z.tolist() == [0, 0, 0, 0] and isinstance(z.base, cupy.cuda.PinnedMemoryPointer)
    d = cupy.empty((2, 3), dtype=np.float32)
    a[...] = np.arange(6).reshape(2, 3)
    d.set(a, stream=cupy.cuda.get_current_stream())
    assert cupy.asnumpy(d).tolist() == a.tolist()


def test_forkserver_workers_outlive_an_idle_second(device):
    # under forkserver a worker's parent is the forkserver, not the main process: a worker
    # idle for longer than its liveness poll must not take that for its parent's death
    loader = DataLoader(Squares(), batch_size=2, num_workers=1, persistent_workers=True,
                        multiprocessing_context="forkserver")
    first = _rows(loader)
    time.sleep(1.5)
    assert _rows(loader)[0]["sq"] == first[0]["sq"] == [0, 1]
