"""One rank of the distributed tests (tests/test_distributed.py and test_distributed_nccl.py
start it under mpiexec): ``python tests/distributed_worker.py CHECK DEVICE``. Each check
compares what the collectives give with NumPy's answer computed from every rank's data
(which each rank can make: it depends on the rank only), and prints ``ok CHECK rank R`` at
the end. The ``nccl_*`` checks run on the NCCL backend, each rank on its GPU
(``cuda:local_rank % device_count``, whatever DEVICE says); ``default`` lets
``init_process_group()`` choose the backend and prints it."""

import re
import sys
import time

import numpy as np

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad.distributed import ReduceOp
from gpugrad.errors import DeviceError

DTYPES = ["float32", "float64", "float16", "int32", "int64", "uint8", "bool"]
NCCL_DTYPES = DTYPES + ["int8", "int16"]  # int16: NCCL has none, so it reduces in int32
SIZES = [(), (0,), (7,), (3, 5), (1000,)]


def data(rank, shape, dtype, salt=0):
    """Rank ``rank``'s tensor as a NumPy array (values that every dtype holds exactly)."""
    rng = np.random.default_rng(1000 * rank + salt)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    values = rng.integers(0 if dtype == "uint8" else -4, 5, size=shape)
    return values.astype(np_dtype(dtype))


def np_dtype(dtype):
    return gg.zeros(1, dtype=getattr(gg, dtype)).numpy().dtype


def make(rank, shape, dtype, device, salt=0):
    return gg.tensor(data(rank, shape, dtype, salt).astype(np_dtype(dtype)), device=device)


def expect(op, parts, dtype):
    stack = np.stack([p.astype(np.float64) for p in parts])
    if dtype == "bool":
        stack = stack.astype(bool)
        return {ReduceOp.SUM: stack.any(0), ReduceOp.MAX: stack.any(0), ReduceOp.MIN: stack.all(0),
                ReduceOp.PRODUCT: stack.all(0)}[op]
    return {ReduceOp.SUM: stack.sum(0), ReduceOp.AVG: stack.mean(0), ReduceOp.MAX: stack.max(0),
            ReduceOp.MIN: stack.min(0), ReduceOp.PRODUCT: stack.prod(0)}[op]


def refused(cases):
    """Each (call, error class, pattern): the call raises that class with the pattern in its
    message; then every rank meets at a barrier (a refusal must leave the group usable)."""
    for call, kind, text in cases:
        try:
            call()
        except kind as exc:
            assert re.search(text, str(exc)), f"{text!r} not in {exc}"
        else:
            raise AssertionError(f"no {kind.__name__} for {text}")
    dist.barrier()


def same(t, want, what):
    got = t.cpu().numpy()
    assert got.shape == np.shape(want), f"{what}: shape {got.shape} != {np.shape(want)}"
    np.testing.assert_allclose(got.astype(np.float64), np.asarray(want, np.float64), rtol=1e-2 if "16" in str(
        got.dtype) else 1e-6, err_msg=what)


def check_collectives(device, dtypes=DTYPES):
    rank, size = dist.get_rank(), dist.get_world_size()
    for dtype in dtypes:
        for shape in SIZES:
            parts = [data(r, shape, dtype).astype(np_dtype(dtype)) for r in range(size)]
            what = f"{dtype} {shape}"
            for op in ReduceOp:
                if op is ReduceOp.AVG and dtype not in ("float32", "float64", "float16"):
                    continue
                t = make(rank, shape, dtype, device)
                v = t._version
                dist.all_reduce(t, op)
                assert t.dtype == getattr(gg, dtype) and t.device == device and t._version > v
                same(t, expect(op, parts, dtype).astype(np_dtype(dtype)), f"all_reduce {op.name} {what}")
            t = make(rank, shape, dtype, device)
            dist.broadcast(t, src=size - 1)
            same(t, parts[-1], f"broadcast {what}")
            outs = [gg.zeros(shape, dtype=getattr(gg, dtype), device=device) for _ in range(size)]
            dist.all_gather(outs, make(rank, shape, dtype, device))
            for r in range(size):
                same(outs[r], parts[r], f"all_gather {what} [{r}]")
            ins = [make(rank, shape, dtype, device, salt=r + 1) for r in range(size)]
            out = gg.zeros(shape, dtype=getattr(gg, dtype), device=device)
            dist.reduce_scatter(out, ins, ReduceOp.SUM)
            want = expect(ReduceOp.SUM, [data(r, shape, dtype, salt=rank + 1).astype(np_dtype(dtype))
                                         for r in range(size)], dtype)
            same(out, want.astype(np_dtype(dtype)), f"reduce_scatter {what}")
            gathered = [gg.zeros(shape, dtype=getattr(gg, dtype), device=device) for _ in range(size)]
            dist.gather(make(rank, shape, dtype, device), gathered if rank == 0 else None, dst=0)
            if rank == 0:
                for r in range(size):
                    same(gathered[r], parts[r], f"gather {what} [{r}]")
            t = gg.zeros(shape, dtype=getattr(gg, dtype), device=device)
            pieces = [make(size - 1, shape, dtype, device, salt=r + 7) for r in range(size)]
            dist.scatter(t, pieces if rank == size - 1 else None, src=size - 1)
            same(t, data(size - 1, shape, dtype, salt=rank + 7).astype(np_dtype(dtype)), f"scatter {what}")
    # a non-contiguous tensor is reduced in place
    base = gg.arange(12.0, device=device).reshape(3, 4)
    view = base.t()
    dist.all_reduce(view)
    same(base, np.arange(12.0).reshape(3, 4) * size, "all_reduce of a transposed view")


def check_async(device):
    rank, size = dist.get_rank(), dist.get_world_size()
    a = gg.full((100,), float(rank + 1), device=device)
    b = gg.full((5,), float(rank), device=device)
    works = [dist.all_reduce(a, ReduceOp.AVG, async_op=True), dist.broadcast(b, src=1, async_op=True),
             dist.barrier(async_op=True)]
    assert all(w.wait() for w in works) and all(w.is_completed() for w in works)
    same(a, np.full(100, (size + 1) / 2), "async AVG")
    same(b, np.full(5, 1.0), "async broadcast")
    assert works[0].wait()  # a second wait is harmless


def check_progress(device):
    """An async collective arrives while this rank makes no MPI call of its own (the
    progress thread moves it); then wait() finishes it."""
    rank, size = dist.get_rank(), dist.get_world_size()
    a = gg.full((50_000,), float(rank + 1), device=device)
    work = dist.all_reduce(a, async_op=True)
    deadline = time.monotonic() + 30
    while not work._arrived and time.monotonic() < deadline:
        time.sleep(0.01)
    assert work._arrived, "the all-reduce did not arrive without MPI calls from the program"
    assert not work._done, "the result is written by wait(), in the program's thread"
    work.wait()
    same(a, np.full(50_000, size * (size + 1) / 2), "all-reduce moved by the progress thread")


def check_refusals(device):
    rank = dist.get_rank()
    t = gg.zeros(3, device=device)
    cases = [
        (lambda: dist.init_process_group("mpi"), dist.DistributedError, "already initialized"),
        (lambda: dist.all_reduce(gg.zeros(3, dtype=gg.int64, device=device), ReduceOp.AVG), TypeError,
         "AVG needs a float tensor"),
        (lambda: dist.all_reduce(t, "sum"), TypeError, "expected op to be a gpugrad.distributed.ReduceOp"),
        (lambda: dist.all_reduce(np.zeros(3)), TypeError, "expected tensor to be a gpugrad.Tensor"),
        (lambda: dist.broadcast(t, src=5), ValueError, r"expected src to be a rank in \[0, 1\], got 5"),
        (lambda: dist.all_gather([t], t), ValueError, "one tensor per rank"),
        (lambda: dist.all_gather([t, gg.zeros(4, device=device)], t), ValueError, r"tensor_list\[1\] to have shape"),
        (lambda: dist.gather(t, [t, t], dst=1 - rank), ValueError, f"gather_list is for rank {1 - rank} \\(dst\\) only"),
        (lambda: dist.scatter(t, [t, t], src=1 - rank), ValueError, "scatter_list is for rank"),
        (lambda: dist.gather(t, None, dst=rank), TypeError, "expected gather_list to be a list of tensors"),
        (lambda: dist.all_reduce(t, group="other"), ValueError, "only the default group"),
    ]
    refused(cases)


def check_sampler(device):
    """DistributedSampler takes the group's world size and rank."""
    rank, size = dist.get_rank(), dist.get_world_size()
    sampler = gg.data.DistributedSampler(range(9), shuffle=False)
    assert (sampler.num_replicas, sampler.rank) == (size, rank)
    mine = gg.tensor(list(sampler), device=device)
    parts = [gg.zeros(len(sampler), dtype=gg.int64, device=device) for _ in range(size)]
    dist.all_gather(parts, mine)
    assert sorted(x for p in parts for x in p.tolist()) == [0, 0, 1, 2, 3, 4, 5, 6, 7, 8]  # padded with 0


def check_singleton(device):
    assert dist.get_world_size() == 1 and dist.get_rank() == 0 and dist.get_local_rank() == 0
    t = gg.arange(4.0, device=device)
    dist.all_reduce(t)
    same(t, np.arange(4.0), "all_reduce of one rank")


def check_nccl_collectives(device):
    assert dist.get_backend() == "nccl"
    check_collectives(device, NCCL_DTYPES)


# a kernel that keeps the GPU busy for ``cycles`` clock ticks: a collective queued after it
# on the same stream cannot have run while it spins
SPIN = r"""
extern "C" __global__ void gpugrad_test_spin(long long cycles) {
    long long start = clock64();
    while (clock64() - start < cycles) { }
}
"""


def check_nccl_async(device):
    """Under NCCL the collectives queue on the current stream: neither a blocking call nor
    ``Work.wait()`` waits on the host, ``wait()`` orders the current stream after the
    collective, and ``wait(timeout)`` waits on the host up to the timeout."""
    import cupy

    rank, size = dist.get_rank(), dist.get_world_size()
    index = gg.device(device).index
    spin = cupy.RawKernel(SPIN, "gpugrad_test_spin")

    def busy():  # about 1.5 s on a GPU clocked near 2 GHz
        with cupy.cuda.Device(index):
            spin((1,), (1,), (np.int64(3_000_000_000),))

    def gpu_idle():  # has the GPU run everything queued so far?
        with cupy.cuda.Device(index):
            marker = cupy.cuda.Event(disable_timing=True)
            marker.record()
            return marker.done

    # NCCL connects the ranks at a collective's first call, on the host: not in what is timed
    dist.all_reduce(gg.ones(1, device=device))
    dist.broadcast(gg.ones(1, device=device), src=0)
    dist.all_gather([gg.ones(1, device=device) for _ in range(size)], gg.ones(1, device=device))
    a = gg.full((100,), float(rank + 1), device=device)
    busy()
    work = dist.all_reduce(a, ReduceOp.AVG, async_op=True)
    assert isinstance(work, dist.Work)
    assert work.wait() and not work.is_completed(), "Work.wait() without a timeout waited on the host"
    try:
        work.wait(timeout=0.05)
    except dist.DistributedError as exc:
        assert "[all_reduce] rank" in str(exc) and "did not finish within the timeout of 0.05 s" in str(exc), exc
    else:
        raise AssertionError("wait(timeout=0.05) returned while the GPU was still busy")
    assert work.wait(timeout=60) and work.is_completed()
    same(a, np.full(100, (size + 1) / 2), "async AVG")

    b = gg.full((5,), float(rank), device=device)
    busy()
    assert dist.broadcast(b, src=size - 1) is None
    assert not gpu_idle(), "a blocking NCCL collective waited on the host for the GPU"
    same(b, np.full(5, float(size - 1)), "blocking broadcast read after the GPU ran it")

    # another stream that waits for the Work sees the collective's result
    c = gg.full((1000,), float(rank + 1), device=device)
    busy()
    work = dist.all_reduce(c, async_op=True)
    with cupy.cuda.Device(index):
        other = cupy.cuda.Stream(non_blocking=True)
        with other:
            work.wait()
            d = c * 2
        other.synchronize()
    same(d, np.full(1000, float(size * (size + 1))), "a stream that waited for the Work")

    outs = [gg.zeros(3, device=device) for _ in range(size)]
    works = [dist.all_gather(outs, gg.full((3,), float(rank), device=device), async_op=True),
             dist.barrier(async_op=True)]
    assert all(w.wait(timeout=60) for w in works) and all(w.is_completed() for w in works)
    for r in range(size):
        same(outs[r], np.full(3, float(r)), f"async all_gather [{r}]")


def check_nccl_refusals(device):
    rank, size = dist.get_rank(), dist.get_world_size()
    t = gg.zeros(3, device=device)
    cpu = gg.zeros(3, device="cpu")
    on_gpu = rf"the NCCL backend works on this rank's GPU: expected {{}} on {device}, got {{}}; move it with " \
             rf"\.to\('{device}'\), or use backend='mpi'"
    cases = [
        (lambda: dist.all_reduce(cpu), DeviceError, r"^\[all_reduce\] " + on_gpu.format("tensor", "cpu")),
        (lambda: dist.broadcast(cpu, src=0), DeviceError, r"^\[broadcast\] " + on_gpu.format("tensor", "cpu")),
        (lambda: dist.all_gather([t] * (size - 1) + [cpu], t), DeviceError,
         r"^\[all_gather\] " + on_gpu.format(rf"tensor_list\[{size - 1}\]", "cpu")),
        (lambda: dist.reduce_scatter(t, [cpu] * size), DeviceError,
         r"^\[reduce_scatter\] " + on_gpu.format(r"input_list\[0\]", "cpu")),
        # (every rank refuses: a rank that went on would wait in NCCL for the others)
        (lambda: dist.gather(cpu, [t] * size if rank == 0 else None), DeviceError,
         r"^\[gather\] " + on_gpu.format("tensor", "cpu")),
        (lambda: dist.scatter(cpu, [t] * size if rank == 0 else None), DeviceError,
         r"^\[scatter\] " + on_gpu.format("tensor", "cpu")),
        (lambda: dist.all_reduce(gg.zeros(3, dtype=gg.int64, device=device), ReduceOp.AVG), TypeError,
         "AVG needs a float tensor, got int64"),
        (lambda: dist.all_reduce(gg.zeros(3, dtype=gg.bool, device=device), ReduceOp.AVG), TypeError,
         "AVG needs a float tensor, got bool"),
        (lambda: dist.all_reduce(t, "sum"), TypeError, "expected op to be a gpugrad.distributed.ReduceOp"),
        (lambda: dist.init_process_group("nccl"), dist.DistributedError, "already initialized"),
    ]
    if gg.cuda.device_count() > 1:
        elsewhere = f"cuda:{(gg.device(device).index + 1) % gg.cuda.device_count()}"
        cases.append((lambda: dist.all_reduce(gg.zeros(3, device=elsewhere)), DeviceError,
                      on_gpu.format("tensor", elsewhere)))
    refused(cases)
    t = gg.full((3,), 1.0, device=device)
    dist.all_reduce(t)  # the group still works after the refusals
    same(t, np.full(3, float(size)), "all_reduce after the refusals")


def check_default(device):
    print(f"backend {dist.get_backend()} on {gg.get_default_device()}", flush=True)


def check_failing_rank(device):
    if dist.get_rank() == 1:
        raise ValueError("rank 1 cannot go on")
    dist.all_reduce(gg.ones(3, device=device))  # waits for rank 1, which has failed


def check_timeout(device):
    if dist.get_rank() == 1:
        time.sleep(30)
    dist.all_reduce(gg.ones(3, device=device))


def main():
    check, device = sys.argv[1], sys.argv[2]
    timeout = 1.0 if check == "timeout" else 60.0
    backend = None if check == "default" else "nccl" if check.startswith("nccl") else "mpi"
    dist.init_process_group(backend, timeout=timeout)
    if backend == "nccl":
        device = f"cuda:{dist.get_local_rank() % gg.cuda.device_count()}"
    globals()[f"check_{check}"](device)
    print(f"ok {check} rank {dist.get_rank()} local {dist.get_local_rank()} of {dist.get_world_size()}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
