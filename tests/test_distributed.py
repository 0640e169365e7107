"""gpugrad.distributed on MPI (issue 18): the collectives against NumPy on 2 ranks (every
dtype, odd and zero sizes, every ReduceOp, non-contiguous tensors, async handles), a
single process without a launcher, the refusals, and the rules that keep a job from
hanging: a rank that raises aborts the job naming itself, and a collective that another
rank never joins times out.

Each case starts ``tests/distributed_worker.py`` under the MPI launcher (the ``mpiexec``
of the MPI that mpi4py uses: the ``mpich`` wheel's in the test extras), with one thread
per rank and a time limit, on every available device."""

import pathlib
import re

import pytest
from helpers import needs_mpi, run_ranks

import gpugrad.distributed as dist
from gpugrad.errors import ArgumentError

WORKER = pathlib.Path(__file__).with_name("distributed_worker.py")


def _run(check, device, ranks=2, limit=120):
    return run_ranks([WORKER, check, device], ranks=ranks, limit=limit)


def _ok(proc, check, ranks=2):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # (the launcher relays the ranks' output as it comes: two lines may share one)
    lines = sorted(re.findall(r"ok \w+ rank \d+ local \d+ of \d+", proc.stdout))
    assert lines == [f"ok {check} rank {r} local {r} of {ranks}" for r in range(ranks)], proc.stdout


@needs_mpi
@pytest.mark.parametrize("check", ["collectives", "async", "refusals", "sampler"])
def test_collectives_on_two_ranks(check, device):
    _ok(_run(check, device), check)


@needs_mpi
def test_async_collectives_progress_in_the_background(device):
    _ok(_run("progress", device), "progress")


@needs_mpi
def test_async_collectives_without_the_progress_thread(device):
    proc = run_ranks([WORKER, "async", device], env={"GPUGRAD_MPI_PROGRESS": "0"})
    _ok(proc, "async")


@needs_mpi
def test_one_process_without_a_launcher(device):
    _ok(_run("singleton", device, ranks=0), "singleton", ranks=1)


@needs_mpi
def test_a_rank_that_raises_ends_the_job_naming_itself(device):
    proc = _run("failing_rank", device, limit=60)
    assert proc.returncode != 0
    assert "[gpugrad.distributed] rank 1 failed; aborting the job." in proc.stderr
    assert "ValueError: rank 1 cannot go on" in proc.stderr


@needs_mpi
def test_a_collective_that_a_rank_never_joins_times_out(device):
    proc = _run("timeout", device, limit=25)  # rank 1 sleeps 30 s: the job must end long before
    assert proc.returncode != 0
    assert re.search(r"DistributedError: \[all_reduce\] rank 0: the collective did not finish within the timeout "
                     r"of 1 s", proc.stderr), proc.stderr
    assert "[gpugrad.distributed] rank 0 failed; aborting the job." in proc.stderr


def test_without_a_group():
    assert not dist.is_initialized()
    with pytest.raises(dist.DistributedError, match=r"^\[get_rank\] the default process group has not been "
                                                    r"initialized: call gpugrad.distributed.init_process_group"):
        dist.get_rank()
    with pytest.raises(ArgumentError, match=r"^\[init_process_group\] backend 'gloo' is not one of gpugrad's: "
                                            r".*backend='mpi'"):
        dist.init_process_group("gloo")  # ('nccl': tests/test_distributed_nccl.py)
    with pytest.raises(ArgumentError, match=r"expected timeout to be a positive timedelta or number of seconds"):
        dist.init_process_group("mpi", timeout=0)
