"""gpugrad.save / gpugrad.load: round trips, atomic writes, refusal of corrupt, foreign
and mismatched files."""

import os

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.serialization import CheckpointError


def _trained(device):
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to(device)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = gg.randn(8, 3, device=device), gg.tensor([0, 1] * 4, device=device)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model, opt


def test_round_trip_of_model_optimizer_and_plain_values(tmp_path, device):
    model, opt = _trained(device)
    path = tmp_path / "ck.safetensors"
    obj = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "lr": 0.1,
           "name": "mlp", "sizes": (3, 5, 2), "none": None, "inf": float("inf"), "mask": gg.tensor([True, False])}
    gg.save(obj, path)
    back = gg.load(path, device=device)
    assert back["epoch"] == 3 and back["name"] == "mlp" and back["sizes"] == (3, 5, 2) and back["none"] is None
    assert back["inf"] == float("inf") and back["mask"].tolist() == [True, False]
    m2 = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to(device)
    m2.load_state_dict(back["model"])
    for (n, p), (_, q) in zip(model.named_parameters(), m2.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=n)
    o2 = optim.SGD(m2.parameters(), lr=0.1, momentum=0.9)
    o2.load_state_dict(back["optimizer"])
    np.testing.assert_array_equal(o2.state_dict()["state"][0]["momentum_buffer"].numpy(),
                                  opt.state_dict()["state"][0]["momentum_buffer"].numpy())


def test_file_is_plain_safetensors(tmp_path):
    from safetensors.numpy import load_file

    gg.save({"w": gg.arange(4).float()}, tmp_path / "a.safetensors")
    arrays = load_file(str(tmp_path / "a.safetensors"))
    assert [a.tolist() for a in arrays.values()] == [[0.0, 1.0, 2.0, 3.0]]


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ck.safetensors"
    gg.save({"v": gg.ones(3)}, path)
    before = path.read_bytes()
    import safetensors.numpy

    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        gg.save({"v": gg.zeros(3)}, path)
    assert path.read_bytes() == before  # the old checkpoint is intact
    assert sorted(os.listdir(tmp_path)) == ["ck.safetensors"]  # no temporary left behind


def test_corrupt_foreign_and_missing_files_are_refused(tmp_path):
    path = tmp_path / "ck.safetensors"
    gg.save({"v": gg.arange(100).float()}, path)
    data = bytearray(path.read_bytes())
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable"):
        gg.load(tmp_path / "trunc.safetensors")
    data[-7] ^= 0xFF  # flip bits in the tensor data
    (tmp_path / "flip.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        gg.load(tmp_path / "flip.safetensors")
    from safetensors.numpy import save_file

    save_file({"x": np.zeros(2, np.float32)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError, match="not a gpugrad checkpoint"):
        gg.load(tmp_path / "other.safetensors")
    with pytest.raises(CheckpointError, match="does not exist"):
        gg.load(tmp_path / "nope.safetensors")
    with pytest.raises(gg.errors.ArgumentTypeError, match="no pickle"):
        gg.save({"f": object()}, tmp_path / "x.safetensors")
    assert isinstance(CheckpointError("x"), ValueError)
