"""gpugrad.distributed on NCCL (issue 18).

With a GPU and NCCL (real CUDA: the emulation has no NCCL) ``tests/distributed_worker.py``
runs its ``nccl_*`` checks on one GPU (without a launcher, and under ``mpiexec -n 1``) and
on two ranks where there are two GPUs: every collective against NumPy for every dtype and
odd and zero sizes, async ``Work`` on the CUDA stream, the refusals. Everywhere: the
refusals of ``init_process_group('nccl')`` that name what is missing, ``is_nccl_available``,
the default backend following the default device, the NCCL ``Work``, and the NCCL
backend's own logic (buffers, casts, byte counts, peers) on the CUDA emulation's tensors
against a stand-in for CuPy's NCCL binding that runs the ranks as threads in this process."""

import ctypes
import importlib
import re
import threading
import types

import numpy as np
import pytest
from test_distributed import _ok, _run, needs_mpi

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad.backend import cuda as backend_cuda
from gpugrad.backend import nccl
from gpugrad.errors import ArgumentError, BackendUnavailableError, DeviceError

C = importlib.import_module("gpugrad.distributed.collectives")
NCCL_REASON = nccl.unavailable_reason()
needs_nccl = pytest.mark.skipif(NCCL_REASON is not None, reason=f"needs a GPU and NCCL: {NCCL_REASON}")


@pytest.mark.gpu
@needs_mpi
@needs_nccl
@pytest.mark.parametrize("ranks", [0, 1, 2], ids=["singleton", "mpiexec-1", "mpiexec-2"])
@pytest.mark.parametrize("check", ["nccl_collectives", "nccl_async", "nccl_refusals"])
def test_nccl_collectives(check, ranks):
    gpus = gg.cuda.device_count()
    if ranks > gpus:
        pytest.skip(f"{ranks} NCCL ranks need {ranks} GPUs (one each), this machine has {gpus}")
    _ok(_run(check, "cuda", ranks=ranks, limit=300), check, ranks=max(ranks, 1))


@needs_mpi
@pytest.mark.parametrize("default_device", ["cpu", "cuda"])
def test_the_default_backend_follows_the_default_device(default_device, monkeypatch):
    if default_device == "cuda" and not gg.cuda.is_available():
        pytest.skip(f"needs CUDA or its emulation: {gg.cuda.unavailable_reason()}")
    monkeypatch.setenv("GPUGRAD_DEVICE", default_device)
    proc = _run("default", default_device, ranks=0)
    _ok(proc, "default", ranks=1)
    want = "nccl" if default_device == "cuda" and NCCL_REASON is None else "mpi"  # the emulation has no NCCL
    assert re.search(rf"^backend {want} on {default_device}", proc.stdout, re.M), proc.stdout


@pytest.mark.skipif(NCCL_REASON is None, reason="NCCL runs here")
def test_init_nccl_without_a_gpu_and_nccl_says_what_is_missing():
    with pytest.raises(BackendUnavailableError) as info:
        dist.init_process_group("nccl")
    assert str(info.value) == (f"[init_process_group] backend 'nccl' expected CUDA and NCCL through CuPy, got: "
                               f"{NCCL_REASON}; or use backend='mpi' (CUDA tensors staged through host memory)")
    assert not dist.is_initialized()


def _binding(monkeypatch, module):
    """Make ``import cupy.cuda.nccl`` give ``module`` (or raise it, an exception)."""
    real = importlib.import_module

    def import_module(name, *args):
        if name != "cupy.cuda.nccl":
            return real(name, *args)
        if isinstance(module, BaseException):
            raise module
        return module

    monkeypatch.setattr(importlib, "import_module", import_module)


@pytest.fixture
def gpu_here(monkeypatch):
    """CUDA answers (a device that is not the emulation's), as on a GPU machine."""
    monkeypatch.setattr(backend_cuda, "probe", lambda refresh=False: (object(), 1, None))
    monkeypatch.setattr(backend_cuda, "emulated", lambda: False)


@pytest.mark.parametrize("setup,missing", [
    ("no cuda", r"CUDA is not available: no GPU here"),
    ("emulation", r"gpugrad's CUDA runs on its emulation \(GPUGRAD_CUDA_EMULATION\), which has no NCCL"),
    ("no libnccl", r"CuPy cannot load the NCCL library \(libnccl\.so\.2\): pip install 'nvidia-nccl-cu13' for "
                   r"CUDA 13 or 'nvidia-nccl-cu12'"),
    ("broken cupy", r"CuPy failed to import: OSError\('libcudart\.so: bad ELF'\)"),
    ("no cupy", r"CuPy is not installed: install CuPy"),
])
def test_init_nccl_names_what_is_missing(setup, missing, monkeypatch):
    if setup == "no cuda":
        monkeypatch.setattr(backend_cuda, "probe", lambda refresh=False: (None, 0, "no GPU here"))
    elif setup == "emulation":
        from gpugrad.backend.emu import fakecupy

        monkeypatch.setattr(backend_cuda, "probe", lambda refresh=False: (fakecupy.cupy, 1, None))
    else:
        monkeypatch.setattr(backend_cuda, "probe", lambda refresh=False: (object(), 1, None))
        monkeypatch.setattr(backend_cuda, "emulated", lambda: False)
        _binding(monkeypatch, {"no libnccl": types.SimpleNamespace(available=False),
                               "broken cupy": OSError("libcudart.so: bad ELF")}.get(setup))
        if setup == "no cupy":
            find = importlib.util.find_spec
            monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cupy" else find(name, *a))
    with pytest.raises(BackendUnavailableError, match=r"^\[init_process_group\] backend 'nccl' expected CUDA and NCCL "
                                                      rf"through CuPy, got: {missing}.*; or use backend='mpi'"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()
    if setup not in ("no cuda",):  # (without CUDA the library may still be there)
        assert not dist.is_nccl_available()


def test_is_nccl_available_answers_a_bool_and_never_raises(gpu_here, monkeypatch):
    assert isinstance(dist.is_nccl_available(), bool)
    _binding(monkeypatch, types.SimpleNamespace(available=True, get_version=lambda: 22707))
    assert dist.is_nccl_available() is True and nccl.unavailable_reason() is None and nccl.version() == "2.27.7"
    _binding(monkeypatch, types.SimpleNamespace(available=True, get_version=lambda: 2804))  # before NCCL 2.9's code
    assert nccl.version() == "2.8.4"
    for broken in (types.SimpleNamespace(), RuntimeError("CUDA driver version is insufficient"), KeyError("x")):
        _binding(monkeypatch, broken)
        assert dist.is_nccl_available() is False
    monkeypatch.setattr(backend_cuda, "emulated", lambda: 1 / 0)
    assert dist.is_nccl_available() is False


def test_the_backends_gpugrad_has_not():
    with pytest.raises(ArgumentError, match=r"^\[init_process_group\] backend 'gloo' is not one of gpugrad's: pass "
                                            r"backend='mpi' \(tensors on any device, .*\) or 'nccl' \(CUDA tensors\)"):
        dist.init_process_group("gloo")
    with pytest.raises(ArgumentError, match=r"^\[init_process_group\] expected backend 'mpi' or 'nccl', got 'ucc'"):
        dist.init_process_group("ucc")


class FakeEvent:
    done = False


def test_nccl_work_makes_the_stream_wait_and_the_host_only_with_a_timeout(monkeypatch):
    waited = []
    rank3 = types.SimpleNamespace(Get_rank=lambda: 3)
    monkeypatch.setattr(C, "_group", {"timeout": 60.0, "comm": rank3, "nccl": types.SimpleNamespace(
        stream_wait=waited.append)})
    event = FakeEvent()
    assert C._queued("all_reduce", event, async_op=False) is None  # a blocking call: queued, nothing to wait for
    work = C._queued("all_reduce", event, async_op=True)
    assert work.wait() is True and waited == [event] and not work.is_completed()
    with pytest.raises(dist.DistributedError, match=r"^\[all_reduce\] rank 3: the collective did not finish within "
                                                    r"the timeout of 0\.05 s"):
        work.wait(timeout=0.05)
    event.done = True
    assert work.is_completed() and work.wait(timeout=0.05) and waited == [event]


class FakeJob:
    """The MPI communicator of a job in which the other hosts answer ``others`` to allreduce."""

    def __init__(self, others):
        self.others, self.asked = others, []

    def allreduce(self, value, op):
        self.asked.append(value)
        return op(value, self.others)

    def Get_rank(self):
        return 5


def test_more_ranks_than_gpus_on_any_host_is_refused_on_every_rank(monkeypatch):
    monkeypatch.setattr(C, "_mpi", lambda: types.SimpleNamespace(MAX=max))
    monkeypatch.setattr(C, "cuda_device_count", lambda: 2)
    job = FakeJob(others=1)  # this host runs 2 ranks on its 2 GPUs, another host more than it has
    with pytest.raises(dist.DistributedError, match=r"^\[init_process_group\] backend 'nccl' expected at most one rank "
                                                    r"per GPU, got more ranks than GPUs on a host \(this one: 2 rank\(s\), "
                                                    r"2 GPU\(s\)\); start at most as many ranks per host"):
        C._connect_nccl(job, 1, 2, "init_process_group")
    assert job.asked == [0]

    def no_nccl(comm, local_rank):
        raise RuntimeError("NCCL_ERROR_INVALID_USAGE: invalid usage (run with NCCL_DEBUG=WARN for details)")

    monkeypatch.setattr(nccl, "Communicator", no_nccl)
    with pytest.raises(dist.DistributedError, match=r"^\[init_process_group\] rank 5: NCCL could not connect the "
                                                    r"ranks: NCCL_ERROR_INVALID_USAGE"):
        C._connect_nccl(FakeJob(others=0), 1, 2, "init_process_group")


# -- the NCCL backend's logic on the emulation, against a stand-in for cupy.cuda.nccl --------

_NP = {0: np.int8, 1: np.uint8, 2: np.int32, 3: np.uint32, 4: np.int64, 5: np.uint64, 6: np.float16, 7: np.float32,
       8: np.float64}  # CuPy's NCCL_* numbers; bfloat16 (9) is left out: NumPy has none


def _memory(ptr, count, datatype):
    """``count`` elements of NCCL type ``datatype`` at host address ``ptr`` (the emulation's
    device memory), as a writable NumPy array."""
    dt = np.dtype(_NP[datatype])
    assert ptr and count > 0, "NCCL was called with a null pointer or nothing to move"
    return np.frombuffer((ctypes.c_char * (count * dt.itemsize)).from_address(ptr), dt)


class FakeNccl:
    """cupy.cuda.nccl for ``size`` ranks run as threads: the same names, constants and
    argument orders as CuPy's binding, moving host memory at the pointers it is given."""

    available = True
    NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN, NCCL_AVG = range(5)
    NCCL_INT8, NCCL_UINT8, NCCL_INT32, NCCL_UINT32, NCCL_INT64, NCCL_UINT64 = range(6)
    NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64, NCCL_BFLOAT16 = 6, 7, 8, 9

    def __init__(self, size):
        self.size, self.calls = size, []
        self._barrier = threading.Barrier(size, timeout=20)
        self._slots, self._mail, self._mail_ready = [None] * size, {}, threading.Condition()
        fake = self

        class NcclCommunicator:
            def __init__(self, ndev, commId, rank):
                assert ndev == fake.size and len(commId) == 128
                self.rank = rank

            def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream):
                fake.calls.append("allReduce")
                parts = fake._exchange(self.rank, _memory(sendbuf, count, datatype).copy())
                _memory(recvbuf, count, datatype)[...] = fake._reduce(parts, op)

            def broadcast(self, sendbuf, recvbuf, count, datatype, root, stream):
                fake.calls.append("broadcast")
                parts = fake._exchange(self.rank, _memory(sendbuf, count, datatype).copy())
                _memory(recvbuf, count, datatype)[...] = parts[root]

            def allGather(self, sendbuf, recvbuf, count, datatype, stream):
                fake.calls.append("allGather")
                parts = fake._exchange(self.rank, _memory(sendbuf, count, datatype).copy())
                _memory(recvbuf, count * fake.size, datatype)[...] = np.concatenate(parts)

            def reduceScatter(self, sendbuf, recvbuf, recvcount, datatype, op, stream):
                fake.calls.append("reduceScatter")
                parts = fake._exchange(self.rank, _memory(sendbuf, recvcount * fake.size, datatype).copy())
                mine = fake._reduce(parts, op)[self.rank * recvcount:(self.rank + 1) * recvcount]
                _memory(recvbuf, recvcount, datatype)[...] = mine

            def send(self, sendbuf, count, datatype, peer, stream):
                fake.calls.append("send")
                assert peer != self.rank
                with fake._mail_ready:
                    fake._mail.setdefault((self.rank, peer), []).append(_memory(sendbuf, count, datatype).copy())
                    fake._mail_ready.notify_all()

            def recv(self, recvbuf, count, datatype, peer, stream):
                fake.calls.append("recv")
                with fake._mail_ready:
                    assert fake._mail_ready.wait_for(lambda: fake._mail.get((peer, self.rank)), timeout=20)
                    message = fake._mail[(peer, self.rank)].pop(0)
                assert message.size == count, f"sent {message.size} elements, received {count}"
                _memory(recvbuf, count, datatype)[...] = message

            def destroy(self):
                fake.calls.append("destroy")

        self.NcclCommunicator = NcclCommunicator

    def get_version(self):
        return 22707

    def get_unique_id(self):
        return tuple(range(128))

    def groupStart(self):
        self.calls.append("groupStart")

    def groupEnd(self):
        self.calls.append("groupEnd")

    def _exchange(self, rank, value):
        self._slots[rank] = value
        self._barrier.wait()
        parts = list(self._slots)
        self._barrier.wait()
        return parts

    def _reduce(self, parts, op):
        stack = np.stack(parts)
        if op == self.NCCL_AVG:
            return (stack.astype(np.float64).mean(0)).astype(stack.dtype)
        return {0: np.sum, 1: np.prod, 2: np.max, 3: np.min}[op](stack, axis=0).astype(stack.dtype)


class FakeMpiComm:
    """What the NCCL backend asks of the MPI communicator: rank, size, and bcast of the id."""

    def __init__(self, fake, rank):
        self.fake, self.rank = fake, rank

    def Get_rank(self):
        return self.rank

    def Get_size(self):
        return self.fake.size

    def bcast(self, value, root=0):
        return self.fake._exchange(self.rank, value)[root]


emulated_only = pytest.mark.skipif(not backend_cuda.emulated(), reason="runs on the CUDA emulation's host memory")


def _on_ranks(size, monkeypatch, body):
    """Run ``body(communicator, rank)`` on ``size`` ranks (threads) of a FakeNccl world."""
    fake = FakeNccl(size)
    monkeypatch.setattr(nccl, "_load", lambda: (fake, None))
    stream_type = type(backend_cuda.require().cuda.get_current_stream())
    monkeypatch.setattr(stream_type, "ptr", 0, raising=False)  # the emulation's stream has no handle
    failures = []

    def rank_main(rank):
        try:
            body(nccl.Communicator(FakeMpiComm(fake, rank), rank), rank)
        except BaseException as exc:  # noqa: B036 - reported on the test's thread
            failures.append((rank, exc))
            fake._barrier.abort()

    threads = [threading.Thread(target=rank_main, args=(r,)) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    return fake


def _data(rank, shape, dtype, salt=0):
    rng = np.random.default_rng(100 * rank + salt)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    return rng.integers(0 if dtype == "uint8" else -4, 5, size=shape).astype(dtype)


def _expect(op, parts, dtype):
    stack = np.stack([p.astype(np.float64) for p in parts])
    if dtype == "bool":
        return {"SUM": stack.any(0), "MAX": stack.any(0), "MIN": stack.all(0), "PRODUCT": stack.all(0)}[op]
    return {"SUM": stack.sum(0), "AVG": stack.mean(0), "MAX": stack.max(0), "MIN": stack.min(0),
            "PRODUCT": stack.prod(0)}[op]


@emulated_only
@pytest.mark.parametrize("size", [1, 2, 3])
def test_the_nccl_backend_moves_what_numpy_expects(size, monkeypatch):
    dtypes = ["float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8", "bool"]
    shapes = [(), (0,), (7,), (3, 5)]

    def body(comm, rank):
        dev = f"cuda:{comm.index}"

        def make(r, shape, dtype, salt=0):
            return gg.tensor(_data(r, shape, dtype, salt), device=dev)

        def same(t, want, what):
            np.testing.assert_allclose(t.cpu().numpy().astype(np.float64), np.asarray(want, np.float64),
                                       rtol=1e-2 if "16" in str(t.dtype) else 1e-6, err_msg=f"rank {rank}: {what}")

        for dtype in dtypes:
            for shape in shapes:
                what = f"{dtype} {shape}"
                parts = [_data(r, shape, dtype) for r in range(size)]
                for op in dist.ReduceOp:
                    if op is dist.ReduceOp.AVG and dtype not in ("float16", "float32", "float64"):
                        continue
                    t = make(rank, shape, dtype)
                    v = t._version
                    comm.all_reduce(t, *C._reduction(np.dtype(t.array.dtype), "all_reduce", op))
                    assert t.dtype == getattr(gg, dtype) and t._version == v + 1
                    same(t, _expect(op.name, parts, dtype).astype(dtype), f"all_reduce {op.name} {what}")
                t = make(rank, shape, dtype)
                comm.broadcast(t, size - 1)
                same(t, parts[-1], f"broadcast {what}")
                outs = [gg.zeros(shape, dtype=getattr(gg, dtype), device=dev) for _ in range(size)]
                comm.all_gather(outs, make(rank, shape, dtype))
                for r in range(size):
                    same(outs[r], parts[r], f"all_gather {what} [{r}]")
                ins = [make(rank, shape, dtype, salt=r + 1) for r in range(size)]
                out = gg.zeros(shape, dtype=getattr(gg, dtype), device=dev)
                comm.reduce_scatter(out, ins, *C._reduction(np.dtype(dtype), "reduce_scatter", dist.ReduceOp.SUM))
                want = _expect("SUM", [_data(r, shape, dtype, salt=rank + 1) for r in range(size)], dtype)
                same(out, want.astype(dtype), f"reduce_scatter {what}")
                gathered = [gg.zeros(shape, dtype=getattr(gg, dtype), device=dev) for _ in range(size)]
                comm.gather(make(rank, shape, dtype), gathered if rank == 0 else None, 0)
                if rank == 0:
                    for r in range(size):
                        same(gathered[r], parts[r], f"gather {what} [{r}]")
                t = gg.zeros(shape, dtype=getattr(gg, dtype), device=dev)
                pieces = [make(size - 1, shape, dtype, salt=r + 7) for r in range(size)]
                comm.scatter(t, pieces if rank == size - 1 else None, size - 1)
                same(t, _data(size - 1, shape, dtype, salt=rank + 7), f"scatter {what}")
        base = gg.arange(12.0, device=dev).reshape(3, 4)
        comm.all_reduce(base.t(), np.dtype("float32"), dist.ReduceOp.SUM)  # a view, reduced in place
        same(base, np.arange(12.0).reshape(3, 4) * size, "all_reduce of a transposed view")
        with pytest.raises(DeviceError, match=rf"^\[all_reduce\] the NCCL backend works on this rank's GPU: expected "
                                              rf"tensor on {dev}, got cpu; move it with \.to\('{dev}'\), or use "
                                              r"backend='mpi'"):
            comm.all_reduce(gg.zeros(3), np.dtype("float32"), dist.ReduceOp.SUM)

    fake = _on_ranks(size, monkeypatch, body)
    assert "allReduce" in fake.calls and "reduceScatter" in fake.calls
    assert ("send" in fake.calls and "recv" in fake.calls) == (size > 1)  # a rank copies its own part
    assert fake.calls.count("groupStart") == fake.calls.count("groupEnd") > 0  # the root's sends or receives
