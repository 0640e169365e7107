"""The ``gpugrad train`` / ``gpugrad eval`` program on a small generated data set: files
written, resume reproducing an uninterrupted run, bad arguments."""

import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import train as T
from gpugrad.cli import main


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


def test_train_says_what_it_is_about_to_do(blobs, tmp_path, capsys):
    assert main(_args(blobs, tmp_path)) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith(f"training: {blobs}, 240 training and 60 test examples, 5 features, 3 classes; ")
    assert "MLP 5-16-3 (relu, dropout 0.2), 147 parameters; adam lr 0.05 (cosine schedule), 4 epochs" in header
    assert header.endswith(("threads)", "(NumPy, no native kernels)")) and "on cpu (" in header


def test_json_on_stdout_leaves_stdout_parseable(blobs, tmp_path, capsys):
    ck = str(tmp_path / "m.safetensors")
    assert main(_args(blobs, tmp_path, "--json", "-", "--save", ck)) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)["history"]) == 4
    assert err.count("epoch ") == 4 and "done: test accuracy" in err and err.startswith("training: ")
    assert main(["eval", ck, "--device", "cpu", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["epoch"] == 4 and "(epoch 4): test loss" in err


def test_help_explains_the_data_files(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "the integer class label (0..K-1) in the last column" in text and "is a header" in text
    assert "20% of the examples (picked by --seed) are held out as the test set" in text


def test_debug_shows_the_traceback_of_a_bug(blobs, tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(T, "evaluate", broken)
    monkeypatch.setenv("GPUGRAD_DEBUG", "1")
    assert main(_args(blobs, tmp_path)) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and 'raise RuntimeError("boom")' in err
    assert err.splitlines()[-1].startswith("gpugrad train: error: internal error (RuntimeError: boom)")


def test_features_of_any_float32_scale_are_standardized():
    x = np.random.default_rng(0).standard_normal((50, 3)).astype(np.float32)
    mean, std = T._standardize(x * np.float32(1e25), None)
    np.testing.assert_allclose(std / 1e25, x.std(0), rtol=1e-5)
    assert np.isfinite(mean).all()


@pytest.mark.parametrize("loss, first, stops", [
    (9.9e5, 0.01, False),  # large, but below 1e6
    (2e6, 2.3, True),  # past 1e6 and 1000x a fresh 10-class model's ln(10)
    (2e6, 1e4, False),  # a run that started high: 200x its start is not divergence yet
    (2e7, 1e4, True),
])  # fmt: skip
def test_divergence_rule(loss, first, stops):
    config = {"stop_on_divergence": True}
    if stops:
        with pytest.raises(gg.errors.ArgumentError, match="diverged at epoch 3"):
            T._check_loss(config, loss, first, 3)
    else:
        T._check_loss(config, loss, first, 3)
    T._check_loss({"stop_on_divergence": False}, loss, first, 3)


def test_ctrl_c_stops_with_130_and_the_checkpoint_resumes(blobs, tmp_path, capsys):
    ck = str(tmp_path / "m.safetensors")
    cmd = [sys.executable, "-m", "gpugrad", "train", "--data", blobs, "--hidden", "8", "--epochs", "1000000",
           "--schedule", "none", "--device", "cpu", "--quiet", "--save", ck]
    # SIGINT back to its default in the child (a runner may start tests with it ignored),
    # so that Python there turns it into KeyboardInterrupt
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for line in proc.stdout:  # the signal goes in once epoch 1 is done and saved
            if line.startswith("epoch   1"):
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    [line] = err.splitlines()
    assert re.fullmatch(rf"gpugrad train: interrupted at epoch \d+; {re.escape(ck)} holds epoch \d+: "
                        rf"continue with gpugrad train --resume {re.escape(ck)}", line), line
    saved = gg.load(ck, device="cpu")["epoch"]
    assert main(["train", "--resume", ck, "--epochs", str(saved + 1), "--quiet"]) == 0
    assert f"epoch {saved + 1:3d}" in capsys.readouterr().out


def test_eval_on_data_with_another_feature_count_is_refused(blobs, tmp_path, capsys):
    ck = tmp_path / "m.safetensors"
    assert main(_args(blobs, tmp_path, "--save", str(ck))) == 0
    other = tmp_path / "three.npz"
    np.savez(other, x=np.zeros((10, 3)), y=np.zeros(10, np.int64))
    capsys.readouterr()
    assert main(["eval", str(ck), "--data", str(other), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has 3 features, the model was trained on 5" in err[0]


def test_train_mlp_starts_relu_layers_with_a_small_positive_bias():
    """The study notes' advice that FEATURES.md promises: the layers that feed a ReLU start
    with bias 0.1 (nn.init.relu_bias_); the output layer and other activations keep
    nn.Linear's initialisation, and the weights are drawn as before."""
    gg.manual_seed(0)
    relu = T.build_mlp(6, [5, 4], 3, activation="relu")
    gg.manual_seed(0)
    tanh = T.build_mlp(6, [5, 4], 3, activation="tanh")
    linears = [(a, b) for a, b in zip(relu, tanh) if isinstance(a, gg.nn.Linear)]
    assert len(linears) == 3
    for k, (a, b) in enumerate(linears):
        np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
        if k < 2:
            np.testing.assert_array_equal(a.bias.numpy(), np.full(a.bias.shape, 0.1, np.float32))
            assert not np.any(b.bias.numpy() == np.float32(0.1))
        else:
            np.testing.assert_array_equal(a.bias.numpy(), b.bias.numpy())
