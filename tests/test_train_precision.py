"""``gpugrad train --precision fp32|bf16|fp16`` (issue 19): the run trains under autocast
with float32 weights (fp16 with a GradScaler), the precision and the scaler's state are
in the checkpoint, resume and eval honour them, a resume that would change them is refused."""

import json

import pytest

import gpugrad as gg
from gpugrad import runs
from gpugrad import train as T
from gpugrad.cli import main
from gpugrad.errors import ArgumentError
from gpugrad.serialization import CheckpointError


def _config(blobs, device, precision, **extra):
    cfg = T.default_config()
    cfg.update(data=blobs, hidden=[16], epochs=3, batch_size=50, lr=0.05, device=device, dropout=0.0,
               schedule="none", precision=precision)
    cfg.update(extra)
    return cfg


def _quiet(line):
    return None


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_with_float32_weights(blobs, device, precision, monkeypatch):
    seen = []
    real = gg.autocast

    def spy(*args, **kwargs):  # the region the training step runs in
        seen.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(gg, "autocast", spy)
    mixed = T.train(_config(blobs, device, precision), progress=False, log=_quiet)
    want = {"bf16": gg.bfloat16, "fp16": gg.float16}[precision]
    assert seen and all(kw["dtype"] == want and kw["enabled"] for _, kw in seen)
    assert seen[0][0][0] == gg.device(device).type
    full = T.train(_config(blobs, device, "fp32"), progress=False, log=_quiet)
    assert mixed["config"]["precision"] == precision
    a, b = mixed["history"][-1], full["history"][-1]
    assert a["train_loss"] != b["train_loss"]  # the products really ran in low precision
    assert a["test_acc"] > 0.9 and abs(a["test_acc"] - b["test_acc"]) <= 0.05


def test_the_checkpoint_keeps_the_precision_and_the_scaler(blobs, tmp_path):
    ck = str(tmp_path / "fp16.safetensors")
    T.train(_config(blobs, "cpu", "fp16", epochs=2), save=ck, progress=False, log=_quiet)
    state = runs.load_run(ck, "train")
    assert state["config"]["precision"] == "fp16"
    assert state["scaler"]["scale"] > 0 and set(state["scaler"]) >= {"scale", "_growth_tracker", "growth_interval"}
    lines = []
    resumed = T.train({"epochs": 3}, resume=ck, progress=False, log=lines.append)
    assert resumed["config"]["precision"] == "fp16" and "fp16 autocast with loss scaling" in lines[0]
    with pytest.raises(ArgumentError, match="--precision bf16 \\(checkpoint: fp16\\)"):
        T.train({"epochs": 3, "precision": "bf16"}, resume=ck, progress=False, log=_quiet)
    bf = str(tmp_path / "bf16.safetensors")
    T.train(_config(blobs, "cpu", "bf16", epochs=1), save=bf, progress=False, log=_quiet)
    assert gg.load(bf)["scaler"] is None


def test_a_tampered_scaler_state_is_refused(blobs, tmp_path):
    ck = str(tmp_path / "fp16.safetensors")
    T.train(_config(blobs, "cpu", "fp16", epochs=1), save=ck, progress=False, log=_quiet)
    state = gg.load(ck)
    state["scaler"] = None
    gg.save(state, ck)
    with pytest.raises(CheckpointError, match="loss scaler state"):
        T.train({"epochs": 2}, resume=ck, progress=False, log=_quiet)
    state["config"]["precision"] = "fp8"
    gg.save(state, ck)
    with pytest.raises(CheckpointError, match="precision"):
        T.train({"epochs": 2}, resume=ck, progress=False, log=_quiet)


def test_a_checkpoint_from_before_precision_resumes_as_fp32(blobs, tmp_path):
    ck = str(tmp_path / "old.safetensors")
    T.train(_config(blobs, "cpu", "fp32", epochs=1), save=ck, progress=False, log=_quiet)
    state = gg.load(ck)
    del state["config"]["precision"], state["scaler"]
    gg.save(state, ck)
    assert T.train({"epochs": 2}, resume=ck, progress=False, log=_quiet)["config"]["precision"] == "fp32"


def test_cli_flag_and_eval(blobs, tmp_path, capsys):
    ck, js = tmp_path / "m.safetensors", tmp_path / "s.json"
    args = ["train", "--data", blobs, "--hidden", "16", "--epochs", "2", "--batch-size", "50", "--device", "cpu",
            "--quiet", "--precision", "bf16", "--save", str(ck), "--json", str(js)]
    assert main(args) == 0
    summary = json.loads(js.read_text())
    assert summary["config"]["precision"] == "bf16"
    assert main(["eval", str(ck), "--device", "cpu", "--json", str(tmp_path / "e.json")]) == 0
    ev = json.loads((tmp_path / "e.json").read_text())
    assert ev["test_acc"] == pytest.approx(summary["final"]["test_acc"])  # evaluated in bf16, as in training
    with pytest.raises(SystemExit):
        main(args[:-6] + ["--precision", "fp8"])
    assert "invalid choice: 'fp8'" in capsys.readouterr().err
