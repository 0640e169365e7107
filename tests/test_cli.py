"""The ``gpugrad train`` / ``gpugrad eval`` program on a small generated data set: files
written, resume reproducing an uninterrupted run, bad arguments."""

import json
import subprocess
import sys

import numpy as np
import pytest

from gpugrad import train as T
from gpugrad.cli import main


@pytest.fixture
def blobs(tmp_path):
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 5)) * 3
    y = rng.integers(0, 3, 300)
    x = centers[y] + rng.standard_normal((300, 5))
    path = tmp_path / "blobs.npz"
    np.savez(path, x=x, y=y)
    return str(path)


def _args(data, tmp_path, *extra):
    return ["train", "--data", data, "--hidden", "16", "--epochs", "4", "--batch-size", "32", "--lr", "0.05",
            "--device", "cpu", "--quiet", *extra]


def test_train_writes_checkpoint_plot_and_json_then_eval(blobs, tmp_path, capsys):
    ck, png, js = tmp_path / "m.safetensors", tmp_path / "curves.png", tmp_path / "s.json"
    assert main(_args(blobs, tmp_path, "--save", str(ck), "--plot", str(png), "--json", str(js))) == 0
    out = capsys.readouterr().out
    assert out.count("epoch ") == 4 and "done: test accuracy" in out
    summary = json.loads(js.read_text())
    assert len(summary["history"]) == 4 and summary["final"]["test_acc"] > 0.9
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["eval", str(ck), "--device", "cpu", "--json", str(tmp_path / "e.json")]) == 0
    ev = json.loads((tmp_path / "e.json").read_text())
    assert ev["test_acc"] == pytest.approx(summary["final"]["test_acc"]) and ev["epoch"] == 4


def test_same_seed_same_result_and_resume_reproduces_the_curve(blobs, tmp_path):
    cfg = T.default_config()
    cfg.update(data=blobs, hidden=[16], epochs=4, batch_size=32, lr=0.05, device="cpu", dropout=0.2, schedule="onecycle")
    full = T.train(cfg, progress=False, log=lambda s: None)
    again = T.train(cfg, progress=False, log=lambda s: None)
    losses = [h["train_loss"] for h in full["history"]]
    assert losses == [h["train_loss"] for h in again["history"]]
    ck = str(tmp_path / "half.safetensors")

    def interrupt(line):  # the run dies after epoch 2 has been saved
        if line.startswith("epoch   2"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        T.train(cfg, save=ck, progress=False, log=interrupt)
    resumed = T.train({}, resume=ck, progress=False, log=lambda s: None)
    assert [h["train_loss"] for h in resumed["history"]] == losses
    assert [h["test_acc"] for h in resumed["history"]] == [h["test_acc"] for h in full["history"]]


def test_logistic_regression_and_bad_arguments(blobs, tmp_path, capsys):
    assert main(_args(blobs, tmp_path, "--hidden", "0")) == 0
    with pytest.raises(SystemExit):
        main(_args(blobs, tmp_path, "--hidden", "ten"))
    with pytest.raises(SystemExit):
        main(_args(blobs, tmp_path, "--optimizer", "lbfgs"))
    assert main(_args(str(tmp_path / "missing.npz"), tmp_path)) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "none.safetensors")]) == 2
    ck = str(tmp_path / "c.safetensors")
    assert main(_args(blobs, tmp_path, "--schedule", "cosine", "--save", ck)) == 0
    assert main(["train", "--resume", ck, "--epochs", "6", "--quiet"]) == 2
    assert "without changing --epochs" in capsys.readouterr().err


def test_module_entry_point(blobs):
    r = subprocess.run([sys.executable, "-m", "gpugrad", "train", "--data", blobs, "--epochs", "1", "--hidden", "8",
                        "--device", "cpu", "--quiet"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "epoch   1" in r.stdout


def test_cuda_memory_per_epoch_only_on_cuda(blobs, monkeypatch):
    import itertools

    import gpugrad as gg
    from gpugrad import backend
    from gpugrad.backend.cpu import CpuBackend
    from gpugrad.backend.device import Device

    cfg = T.default_config()
    cfg.update(data=blobs, hidden=[8], epochs=3, batch_size=64, device="cpu")
    history = T.train(cfg, progress=False, log=lambda s: None)["history"]
    assert not any(k.startswith("cuda_memory") for h in history for k in h)

    class FakeCuda(CpuBackend):  # NumPy arrays under the name cuda:0, so that train() takes its CUDA path
        __slots__ = ()

        def __init__(self):
            super().__init__()
            self.device = Device("cuda", 0)

    monkeypatch.setitem(backend._backends, Device("cuda", 0), FakeCuda())
    allocated, reserved = itertools.count(1000, 10), itertools.count(5000, 100)
    monkeypatch.setattr(gg.cuda, "memory_allocated", lambda: next(allocated))
    monkeypatch.setattr(gg.cuda, "memory_reserved", lambda: next(reserved))
    summary = T.train(dict(cfg, device="cuda"), progress=False, log=lambda s: None)
    assert summary["device"] == "cuda:0"
    assert [(h["cuda_memory_allocated"], h["cuda_memory_reserved"]) for h in summary["history"]] == \
        [(1000, 5000), (1010, 5100), (1020, 5200)]
