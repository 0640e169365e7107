"""CUDA work stays off the host and on its own device.

- A steady-state training step (embedding, fused linear+ReLU, cross-entropy and NLL,
  gradient clipping, Adam) reads nothing back to the host: device-side checks of indices
  and targets are raised at the next read instead (checks.py), the clipping norm stays a
  device scalar.
- With two devices, everything done on cuda:1 tensors runs on cuda:1: the emulation poses
  as two GPUs and refuses any operation on an array of a device that is not current, as
  CuPy does.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.nn import functional as NF


def _model(device):
    gg.manual_seed(0)
    emb, lin1, lin2 = nn.Embedding(30, 8), nn.Linear(8, 16), nn.Linear(16, 5)
    return [m.to(device) for m in (emb, lin1, lin2)]


def _step(parts, opt, idx, t):
    emb, lin1, lin2 = parts
    h = NF.relu(lin1(emb(idx).mean(1)))
    logits = lin2(h)
    loss = NF.cross_entropy(logits, t) + NF.nll_loss(NF.log_softmax(logits, 1), t) * 0.5
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_([p for m in parts for p in m.parameters()], 1.0)
    opt.step()
    return loss


@pytest.mark.filterwarnings("ignore:cupyx.allow_synchronize will be removed")
def test_a_steady_state_step_reads_nothing_back(device):
    if device != "cuda":
        pytest.skip("counts reads from a CUDA device")
    cupyx = gg.backend.cuda._modules()[1]
    parts = _model("cuda")
    opt = optim.Adam([p for m in parts for p in m.parameters()], lr=0.01)
    rng = np.random.default_rng(0)
    idx = gg.tensor(rng.integers(0, 30, (16, 3)), device="cuda")
    t = gg.tensor(rng.integers(0, 5, 16), device="cuda")
    for _ in range(2):  # kernels compiled, optimizer state made, GEMM choices timed
        _step(parts, opt, idx, t)
    gg.cuda.synchronize()
    emulated = gg.backend.cuda.emulated()
    if emulated:
        from gpugrad.backend.emu import fakecupy
        before = fakecupy.host_reads()
    with cupyx.allow_synchronize(False):  # a read in here raises cupyx.DeviceSynchronized
        loss = _step(parts, opt, idx, t)
    if emulated:
        assert fakecupy.host_reads() == before
    assert np.isfinite(loss.item())


def test_a_bad_index_in_a_step_is_raised_at_the_next_read(device):
    parts = _model(device)
    opt = optim.SGD([p for m in parts for p in m.parameters()], lr=0.1)
    idx = gg.tensor(np.array([[1, 2, 3], [4, 30, 6]]), device=device)
    t = gg.tensor(np.array([0, 1]), device=device)
    with pytest.raises(gg.errors.GpugradIndexError, match=r"\[embedding\] indices must lie in \[0, 29\], got 30 at "
                                                          r"position 4"):
        _step(parts, opt, idx, t).item()


_TWO_DEVICES = r"""
import json, os, sys
import numpy as np
import gpugrad as gg
from gpugrad import optim
sys.path.insert(0, sys.argv[1])
from test_cuda_devices import _model, _step

cp = gg.backend.cuda.probe()[0]
out = {}
for dev in ("cuda:0", "cuda:1"):
    parts = _model(dev)
    params = [p for m in parts for p in m.parameters()]
    opt = optim.Adam(params, lr=0.01)
    rng = np.random.default_rng(0)
    idx = gg.tensor(rng.integers(0, 30, (16, 3)), device=dev)
    t = gg.tensor(rng.integers(0, 5, 16), device=dev)
    for _ in range(3):
        loss = _step(parts, opt, idx, t)
    out[dev] = {"loss": loss.item(), "params": [p.numpy().tolist() for p in params],
                "devices": sorted({p.array.device.id for p in params} | {s.array.device.id for st in opt.state.values()
                                                                       for s in st.values() if hasattr(s, "array")}),
                "current": cp.cuda.runtime.getDevice(),
                "randn": gg.randn(4, device=dev).array.device.id,
                "moved": gg.ones(3, device="cuda:0").to(dev).array.device.id,
                "allocated": gg.cuda.memory_allocated(dev) > 0}
print(json.dumps(out))
"""


def test_work_on_cuda_1_runs_on_cuda_1():
    """The same training on cuda:0 and on cuda:1 (two emulated GPUs) gives the same numbers,
    every array of the cuda:1 run lives on device 1, and the user's current device stays 0."""
    if gg.cuda.is_available() and not gg.backend.cuda.emulated() and gg.cuda.device_count() < 2:
        pytest.skip("needs two GPUs, or the CUDA emulation posing as two")
    env = dict(os.environ, GPUGRAD_CUDA_EMULATION="2" if not gg.cuda.is_available() or gg.backend.cuda.emulated()
               else "0", GPUGRAD_DEVICE="cpu")
    proc = subprocess.run([sys.executable, "-c", _TWO_DEVICES, os.path.dirname(__file__)], capture_output=True,
                          text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    a, b = out["cuda:0"], out["cuda:1"]
    assert a["devices"] == [0] and b["devices"] == [1]
    assert a["current"] == 0 and b["current"] == 0  # gpugrad switched devices only inside its own work
    assert b["randn"] == 1 and b["moved"] == 1 and b["allocated"]
    assert b["loss"] == pytest.approx(a["loss"], rel=1e-6)
    for pa, pb in zip(a["params"], b["params"]):
        np.testing.assert_allclose(pb, pa, rtol=1e-6, atol=1e-7)


def test_a_class_weight_on_another_device_is_refused(device):
    x = gg.randn(4, 3, device=device)
    t = gg.tensor([0, 1, 2, 0], device=device)
    other = "cpu" if device == "cuda" else "cuda"
    if other == "cuda" and not gg.cuda.is_available():
        pytest.skip("needs a second device")
    with pytest.raises(gg.errors.DeviceError, match=rf"\[cross_entropy\] weight is on {other}.*logits on {device}"):
        NF.cross_entropy(x, t, weight=gg.ones(3, device=other))


def test_the_users_allocator_stays_the_one_that_allocates(device, monkeypatch):
    """gpugrad tracks the pool's peak by wrapping the allocator that is set when its first
    cuda backend is made, instead of replacing it."""
    if device != "cuda":
        pytest.skip("a CUDA allocator")
    cuda_mod = gg.backend.cuda
    cp = cuda_mod.probe()[0]
    saved = cp.cuda.get_allocator()
    pool = cp.get_default_memory_pool()
    sizes = []

    def users(size):
        sizes.append(size)
        return pool.malloc(size)

    monkeypatch.setattr(cuda_mod, "_peak", {"bytes": {}, "installed": False})
    try:
        cp.cuda.set_allocator(users)
        cuda_mod._track_peak(cp)  # what the first cuda backend does
        gg.cuda.reset_peak_memory_stats()
        x = gg.zeros(1 << 16, device="cuda")
        assert sizes and max(sizes) >= x.numel() * 4  # the user's allocator made it
        assert gg.cuda.max_memory_allocated() >= x.numel() * 4
    finally:
        cp.cuda.set_allocator(saved)
