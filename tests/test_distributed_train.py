"""``gpugrad train`` on several processes (issue 18): 2 ranks (``--nproc 2`` and
``mpiexec -n 2``) train as one process on the same global batches, rank 0 alone writes the
checkpoint and the JSON, the checkpoint resumes in 1 process and a 1-process checkpoint in
2, and a failure on the ranks ends the job with one clear line each."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import mpi_launcher, needs_mpi

from gpugrad.distributed import launch

# dropout 0: the runs differ only in how the sums are split (dropout masks are per rank);
# no schedule: the runs are cut at different epochs, which would reshape a cosine one;
# a small data set (blobs.npz): the CUDA case runs on the emulation, where a kernel's
# threads are slow
SMALL = ["--data", "blobs.npz", "--hidden", "32", "--dropout", "0", "--batch-size", "50", "--seed", "3", "--schedule",
         "none", "--quiet"]


def _blobs(folder):
    """600 examples of 12 features in 4 overlapping Gaussian blobs, 100 of them the test set."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 600)
    x = (rng.standard_normal((600, 12)) + 1.5 * rng.standard_normal((4, 12))[y]).astype(np.float32)
    np.savez(folder / "blobs.npz", x=x[:500], y=y[:500], x_test=x[500:], y_test=y[500:])


THREAD_VARS = ("OMP_NUM_THREADS", "GPUGRAD_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _env(one_thread=True):
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    return dict(env, **{k: "1" for k in THREAD_VARS}) if one_thread else env


def _train(tmp_path, args, nproc=None, mpiexec=0, limit=240, one_thread=True):
    cmd = [sys.executable, "-m", "gpugrad", "train", *args]
    if nproc:
        cmd += ["--nproc", str(nproc)]
    if mpiexec:
        cmd = [mpi_launcher(), "-n", str(mpiexec)] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=limit, cwd=tmp_path, env=_env(one_thread))


def _summary(proc, path):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(path.read_text())


def _history_close(a, b, what):
    assert len(a) == len(b), what
    for ra, rb in zip(a, b):
        for key in ("train_loss", "test_loss"):
            assert ra[key] == pytest.approx(rb[key], rel=1e-4), (what, ra["epoch"], key)
        for key in ("train_acc", "test_acc"):
            assert abs(ra[key] - rb[key]) <= 0.005, (what, ra["epoch"], key)


@needs_mpi
def test_two_ranks_train_as_one_process_and_checkpoints_move_between_them(tmp_path, device):
    dev = ["--device", device]
    _blobs(tmp_path)
    one = _summary(_train(tmp_path, SMALL + dev + ["--epochs", "3", "--json", "one.json"]), tmp_path / "one.json")
    # (no thread settings given: the processes share the cores out themselves)
    proc = _train(tmp_path, SMALL + dev + ["--epochs", "1", "--save", "two.safetensors", "--json", "two.json"],
                  nproc=2, one_thread=False)
    two = _summary(proc, tmp_path / "two.json")
    assert two["processes"] == 2 and one["processes"] == 1
    share = max(1, (os.cpu_count() or 1) // 2)  # the host's cores shared out, in both pools
    assert two["threads"]["kernels"] == share and two["threads"]["blas"] in (share, None), two["threads"]
    assert "x 2 processes, each batch split between them" in proc.stdout
    assert proc.stdout.count("epoch   1") == 1, "rank 0 alone prints"
    _history_close(two["history"], one["history"][:1], "2 ranks against 1 process")
    # the 2-rank checkpoint goes on in 1 process ...
    proc = _train(tmp_path, ["--resume", "two.safetensors", "--epochs", "2", "--save", "mixed.safetensors",
                             "--json", "resumed.json", "--quiet"])
    resumed = _summary(proc, tmp_path / "resumed.json")
    _history_close(resumed["history"], one["history"][:2], "2 ranks, then 1 process")
    # ... and that 1-process checkpoint on 2 ranks again, started by mpiexec itself
    proc = _train(tmp_path, ["--resume", "mixed.safetensors", "--epochs", "3", "--json", "again.json", "--quiet"],
                  mpiexec=2)
    again = _summary(proc, tmp_path / "again.json")
    assert again["processes"] == 2
    _history_close(again["history"], one["history"], "2 ranks, 1 process, 2 ranks")


@needs_mpi
def test_a_failure_on_the_ranks_ends_the_job(tmp_path):
    proc = _train(tmp_path, ["--data", "missing.csv", "--quiet"], nproc=2, limit=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "gpugrad train: error: [data] missing.csv does not exist" in proc.stderr
    assert "gpugrad train: rank 1: error: [data] missing.csv does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


@needs_mpi
def test_nproc_refusals(tmp_path):
    proc = _train(tmp_path, ["--nproc", "0"])
    assert proc.returncode == 2 and "gpugrad train: error: [train] --nproc must be an integer >= 1, got 0" in proc.stderr
    proc = _train(tmp_path, ["--epochs", "1"], nproc=2, mpiexec=2, limit=60)
    assert proc.returncode == 2
    assert "--nproc starts the processes itself, but this one is already one of 2 started by an MPI launcher" in (
        proc.stderr)


def test_launcher_variables():
    assert launch.launched_world_size({}) == 1
    assert launch.launched_world_size({"PMI_SIZE": "4", "PMI_RANK": "1"}) == 4
    assert launch.launched_world_size({"OMPI_COMM_WORLD_SIZE": "3"}) == 3
    assert launch.launched_world_size({"SLURM_STEP_NUM_TASKS": "8"}) == 8
    assert launch.launched_world_size({"PMI_SIZE": ""}) == 1
    assert launch.launched_local_size({"PMI_SIZE": "8", "MPI_LOCALNRANKS": "2"}) == 2
    assert launch.launched_local_size({"PMI_SIZE": "8"}) == 8
    assert launch.threads_per_process(10**6) == 1


def test_without_a_launcher(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(Exception, match=r"no MPI launcher \(mpiexec\) was found beside this Python or on the PATH: "
                                        r"pip install 'gpugrad\[mpi\]'"):
        launch.find_launcher()
