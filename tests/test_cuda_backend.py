"""The Python side of the CUDA backend, on any machine (source lookup, argument checks),
and on a GPU, every CUDA kernel against the composed CuPy path it replaces."""

import contextlib
import re
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import PointerOnly
from test_cuda_kernels import check_linear

import gpugrad as gg
from gpugrad.backend import cuda_kernels as ck
from gpugrad.errors import ArgumentError, DTypeError, ShapeError

EMULATED = gg.backend.cuda.emulated()  # the cuda cases run on the CUDA emulation (no GPU here)


def test_sources_are_found_and_name_their_kernels():
    assert (ck.source_dir() / "cross_entropy.cu").exists()
    names = ck.kernel_names("cross_entropy")
    for dt in ("f32", "f64", "f16"):
        assert f"gpugrad_cross_entropy_fwd_warp_{dt}" in names and f"gpugrad_cross_entropy_bwd_{dt}" in names
    assert "gpugrad_relu_bias_bwd_f32" in ck.kernel_names("linear")
    assert "gpugrad_adam_step_f16" in ck.kernel_names("optim")


def test_deferred_checks_raise_the_first_failure_with_one_read():
    from gpugrad.backend.checks import DeferredChecks

    reads = []
    checks = DeferredChecks(np, lambda a: reads.append(1) or np.asarray(a))
    row = np.iinfo(np.int32).max - np.arange(3)  # the kernel's flag for a bad target in row 0, 1, 2
    msg = "[cross_entropy] target {value} of row {position} is outside [0, 2]"
    def flag(err, t):
        return lambda: ck._bad_target(np, np.array(err, np.int32), np.array(t))

    for err, t in [([0], [0, 1]), ([row[1]], [0, 9]), ([row[0]], [5])]:
        checks.add(flag(err, t), msg)
    assert reads == []  # nothing is read when a check is made
    with pytest.raises(gg.errors.GpugradIndexError, match=r"target 9 of row 1 is outside \[0, 2\]"):
        checks.raise_pending()
    assert len(reads) == 1 and not checks  # one read for all three; used up
    checks.raise_pending()  # nothing left to raise

    # beyond MAX_PENDING the checks fold into the device record without a read
    for i in range(3 * DeferredChecks.MAX_PENDING):
        bad = i == 100 or i == 150
        checks.add(lambda bad=bad, i=i: (np.asarray(bad), np.asarray(i), np.asarray(-i)), "check {position}: {value}")
    assert len(checks.pending) <= DeferredChecks.MAX_PENDING and len(reads) == 1
    with pytest.raises(gg.errors.GpugradIndexError, match="check 100: -100"):
        checks.raise_pending()


def test_arguments_are_checked_before_any_launch():
    ck.check_cross_entropy((4, 3), np.float32, (4,), np.int64, (3,))
    with pytest.raises(ShapeError, match="logits"):
        ck.check_cross_entropy((4,), np.float32, (4,), np.int64)
    with pytest.raises(DTypeError, match="float16/32/64"):
        ck.check_cross_entropy((4, 3), np.int32, (4,), np.int64)
    with pytest.raises(DTypeError, match="integers"):
        ck.check_cross_entropy((4, 3), np.float32, (4,), np.float32)
    with pytest.raises(ShapeError, match="weight"):
        ck.check_cross_entropy((4, 3), np.float32, (4,), np.int64, (4,))
    with pytest.raises(ValueError, match="reduction"):
        ck.CudaKernels(None, 0).cross_entropy_fwd(np.zeros((4, 3), np.float32), np.zeros(4, np.int64), None, -100,
                                                  0.0, "avg")
    with pytest.raises(ShapeError, match="bias"):
        ck.check_linear((4, 3), np.float32, (4,))


def test_no_cuda_context_or_compile_at_import():
    import subprocess
    import sys

    code = "import sys, gpugrad; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


@pytest.mark.parametrize("shape", [(64, 10), (16, 3000), (0, 5)])
@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.1, "ignore_index": 1}, {"weight": True}])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cuda_cross_entropy_matches_composed(cuda_device, shape, kw, reduction):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    t = rng.integers(0, shape[1], shape[0])
    if kw.get("weight"):
        kw = {"weight": gg.tensor(rng.uniform(0.5, 2.0, shape[1]).astype(np.float32), device="cuda")}

    def run():
        xt = gg.tensor(x, device="cuda", requires_grad=True)
        rows = gg.functional.softmax_cross_entropy(xt, gg.tensor(t, device="cuda"), **kw)
        rows.backward(gg.ones(shape[0], device="cuda"))
        g_rows = xt.grad.numpy()
        xt.grad = None
        loss = gg.nn.functional.cross_entropy(xt, gg.tensor(t, device="cuda"), reduction=reduction, **kw)
        (loss * 3.0).backward()  # an upstream value other than 1 reaches the kernel too
        return rows.numpy(), g_rows, loss.numpy(), xt.grad.numpy()

    for a, b in zip(run(), cuda_device.composed(run)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:cupyx.allow_synchronize will be removed")
def test_cuda_cross_entropy_step_reads_nothing_back(cuda_device):
    cupyx = gg.backend.cuda._modules()[1]  # the real cupyx, or the emulation's
    n = 64 if EMULATED else 4096  # the emulation runs a block in tens of ms
    x = gg.randn(n, 10, device="cuda", requires_grad=True)
    t = gg.randint(0, 10, (n,), device="cuda")
    gg.nn.functional.cross_entropy(x, t).backward()  # compiles and loads the kernels first
    x.grad = None
    with cupyx.allow_synchronize(False):
        for kw in ({}, {"label_smoothing": 0.1}, {"reduction": "sum"}):
            gg.nn.functional.cross_entropy(x, t, **kw).backward()
    assert x.grad is not None

    # and a whole training step: fused linear+ReLU, cross-entropy, backward, fused SGD and Adam
    model = gg.nn.Sequential(gg.nn.Linear(10, 64), gg.nn.ReLU(), gg.nn.Linear(64, 10)).to("cuda")
    for opt in (gg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), gg.optim.Adam(model.parameters())):
        def step(opt=opt):
            loss = gg.nn.functional.cross_entropy(model(x.detach()), t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        step()  # the first backward of each shape times its GEMM choices (and synchronises)
        step()  # the momentum buffers exist from here on
        with cupyx.allow_synchronize(False):
            loss = step()
        assert np.isfinite(loss.item())


def test_cuda_optimizers_over_more_tensors_than_one_launch_takes(cuda_device):
    rng = np.random.default_rng(4)
    shapes = [(i % 5 + 1, 3) for i in range(ck.MAX_TENSORS + 7)]
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]

    def run():
        ps = [gg.tensor(a, device="cuda", requires_grad=True) for a in init]
        out = []
        for opt in (gg.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), gg.optim.AdamW(ps)):
            for _ in range(2):
                opt.zero_grad()
                sum(((p * p).sum() for p in ps), gg.zeros((), device="cuda")).backward()
                opt.step()
            out += [p.numpy() for p in ps]
        return out

    for a, r in zip(run(), cuda_device.composed(run)):
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-6)


def test_cuda_kernels_take_bfloat16_arrays(cuda_device):
    ml_dtypes = pytest.importorskip("ml_dtypes")  # how CuPy 14 spells bfloat16
    cp = cuda_device.backend.xp

    k = cuda_device.kernels
    x = cp.asarray(np.random.default_rng(3).standard_normal((64, 10)).astype(np.float32))
    xb = x.astype(ml_dtypes.bfloat16)
    t = cp.arange(64) % 10
    got, _, _ = k.cross_entropy_fwd(xb, t, None, -100, 0.0, "mean")
    want, _, _ = k.cross_entropy_fwd(xb.astype(cp.float32), t, None, -100, 0.0, "mean")
    assert abs(float(got.astype(cp.float32)) - float(want)) < 2e-2


def test_cuda_bad_target_is_raised_at_the_next_read(cuda_device):
    x = gg.randn(8, 5, device="cuda", requires_grad=True)
    t = gg.tensor(np.array([0, 1, 2, 7, 4, 0, 1, 2]), device="cuda")
    loss = gg.nn.functional.cross_entropy(x, t)
    with pytest.raises(gg.errors.GpugradIndexError, match="target 7 of row 3 is outside"):
        loss.item()
    ok = gg.nn.functional.cross_entropy(x, gg.tensor(np.zeros(8, np.int64), device="cuda"))
    assert np.isfinite(ok.item())  # the check was used up; the device is fine


def test_cuda_linear_relu_and_optimizers_match_composed(cuda_device):
    rng = np.random.default_rng(1)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in [(33, 17), (9, 17), (9,)])

    def run():
        xt, wt, bt = (gg.tensor(a, device="cuda", requires_grad=True) for a in (x, w, b))
        y = gg.functional.linear_relu(xt, wt, bt)
        y.backward(gg.tensor(np.cos(np.arange(y.numel())).reshape(y.shape).astype(np.float32), device="cuda"))
        out = [y.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()]
        for cls in (gg.optim.SGD, gg.optim.Adam):
            opt = cls([wt, bt], lr=0.01)
            opt.step()
            out += [wt.numpy(), bt.numpy()]
        return out

    for a, r in zip(run(), cuda_device.composed(run)):
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["tiled", "cublas", "auto"])
@pytest.mark.parametrize("n,k,m", [(33, 17, 9), (130, 70, 200), (1, 1, 1), (300, 64, 2100)])
@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_cuda_linear_backward_ways_match_composed(cuda_device, mode, n, k, m, relu, dtype):
    if EMULATED and n * k * m > 10**6:
        pytest.skip("too large for the CUDA emulation (kernels on CPU threads); it runs on a GPU")
    (key, choice), = check_linear(cuda_device, n, k, m, dtype, mode=mode, relu=relu).items()
    assert key[:3] == (ck.linear_bucket(n), m, k)
    assert choice["choice"] == mode or (mode == "auto" and {"tiled_ms", "cublas_ms"} <= set(choice))


def test_optimizer_tensor_lists_match_the_kernel_struct():
    from pathlib import Path

    lay = ck.TENSOR_LISTS
    assert lay.itemsize == 1296 and [lay.fields[k][1] for k in ("ptr", "offset", "count", "unused")] == \
        [0, 1024, 1288, 1292]
    src = (Path(ck.source_dir()) / "optim.cu").read_text()
    assert f"kMaxTensors = {ck.MAX_TENSORS};" in src and "sizeof(TensorLists) == 1296" in src

    ps = [PointerOnly(1000 + i, i + 1) for i in range(40)]
    gs = [PointerOnly(5000 + i, i + 1) for i in range(40)]
    chunks = list(ck.tensor_lists([ps, gs, None]))
    assert [int(rec["count"][0]) for rec, _ in chunks] == [32, 8]
    rec, total = chunks[1]
    assert total == sum(range(33, 41))
    assert list(rec["ptr"][0, 0, :8]) == list(range(1032, 1040)) and list(rec["ptr"][0, 1, :8]) == list(range(5032, 5040))
    assert not rec["ptr"][0, 2].any() and rec["offset"][0, 8] == total and rec["offset"][0, 0] == 0
    assert bytes(rec.tobytes())[:8] == np.uint64(1032).tobytes()  # little-endian pointer first, as the kernel reads it


def test_linear_backward_mode_and_tiles(monkeypatch):
    assert ck.gemm_tiles(4096, 4096, 132) == 64
    assert ck.gemm_tiles(128, 256, 132) == 32  # 2 x 4 tiles of 64 would leave SMs idle
    assert ck.gemm_tiles(10**8, 8, 132) is None  # too many rows of tiles for one grid
    monkeypatch.setenv("GPUGRAD_LINEAR_BACKWARD", "Tiled")
    assert ck.linear_mode() == "tiled"
    monkeypatch.setenv("GPUGRAD_LINEAR_BACKWARD", "fastest")
    with pytest.raises(gg.errors.ArgumentError, match="GPUGRAD_LINEAR_BACKWARD must be one of auto, tiled, cublas"):
        ck.linear_mode()


def test_memory_functions_say_why_without_cuda(monkeypatch):
    if gg.cuda.is_available():
        pytest.skip("checks the error path without CUDA")
    with pytest.raises(gg.errors.BackendUnavailableError, match="CUDA is not available"):
        gg.cuda.memory_allocated()
    with pytest.raises(gg.errors.BackendUnavailableError):
        gg.cuda.empty_cache()


@pytest.mark.gpu
@pytest.mark.skipif(not gg.cuda.is_available(), reason="needs a CUDA GPU")
def test_memory_pool_statistics_on_the_gpu():
    gg.cuda.empty_cache()
    gg.cuda.reset_peak_memory_stats()
    before = gg.cuda.memory_allocated()
    x = gg.zeros(1024, 1024, device="cuda")  # 4 MiB
    assert gg.cuda.memory_allocated() >= before + 4 * 2**20
    del x
    assert gg.cuda.max_memory_allocated() >= before + 4 * 2**20
    gg.cuda.synchronize()


@pytest.mark.gpu
@pytest.mark.skipif(not gg.cuda.is_available(), reason="needs a CUDA GPU")
def test_three_epoch_training_matches_the_cpu_run(tmp_path):
    from gpugrad import train as T

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    x = rng.standard_normal((3, 5))[y] * 3 + rng.standard_normal((300, 5))
    np.savez(tmp_path / "d.npz", x=x, y=y)
    cfg = T.default_config()
    cfg.update(data=str(tmp_path / "d.npz"), hidden=[32], dropout=0.0, epochs=3, batch_size=32, lr=0.01)
    runs = {}
    for dev in ("cpu", "cuda"):
        runs[dev] = T.train(dict(cfg, device=dev), progress=False, log=lambda s: None)["history"]
    np.testing.assert_allclose([h["train_loss"] for h in runs["cuda"]], [h["train_loss"] for h in runs["cpu"]],
                               rtol=1e-3)


class FakeCupy:
    """Enough of CuPy for CudaKernels' launch code on the CPU: the code each RawModule got,
    the get_function calls, and the launches."""

    ascontiguousarray = staticmethod(np.ascontiguousarray)

    def __init__(self):
        self.codes, self.lookups, self.launches = [], [], []
        self.cuda = SimpleNamespace(Device=lambda index: contextlib.nullcontext())
        fake = self

        class RawModule:
            def __init__(self, code, options=()):
                fake.codes.append(code)

            def get_function(self, name):
                fake.lookups.append(name)
                return lambda grid, block, args: fake.launches.append(name)

        self.RawModule = RawModule


class DevArray(np.ndarray):
    """A NumPy array with a device array's ``.data.ptr``."""

    @property
    def data(self):
        return SimpleNamespace(ptr=self.ctypes.data)


def dev(a):
    return np.asarray(a).view(DevArray)


def test_kernel_functions_are_looked_up_once_per_module_and_name():
    cp = FakeCupy()
    k = ck.CudaKernels(cp, 0)
    ps, gs, ms, vs = ([dev(np.zeros(s, np.float32)) for s in (3, (2, 2))] for _ in range(4))
    for _ in range(3):
        k.sgd_step(ps, gs, [None, None], 0.1, 0.0, 0.0, 0.0, False, False)
        k.adam_step(ps, gs, ms, vs, 0.1, 0.9, 0.999, 1e-8, 0.0, False, 0.1, 0.001)
    assert cp.launches == ["gpugrad_sgd_step_f32", "gpugrad_adam_step_f32"] * 3
    assert sorted(cp.lookups) == ["gpugrad_adam_step_f32", "gpugrad_sgd_step_f32"] and len(cp.codes) == 1


def test_cuda_optimizer_steps_check_every_array_before_launching():
    cp = FakeCupy()
    k = ck.CudaKernels(cp, 0)
    p32, g32 = dev(np.zeros(3, np.float32)), dev(np.ones(3, np.float32))
    p16, g16 = dev(np.zeros(3, np.float16)), dev(np.ones(3, np.float16))
    m32, m16 = dev(np.zeros(3, np.float32)), dev(np.zeros(3, np.float16))
    adam = (0.1, 0.9, 0.999, 1e-8, 0.0, False, 0.1, 0.001)
    with pytest.raises(DTypeError, match=r"\[sgd_step\] expected gradient 0 .* to be float32, got float64"):
        k.sgd_step([p32], [dev(np.ones(3))], [None], 0.1, 0.0, 0.0, 0.0, False, False)
    with pytest.raises(ShapeError, match=r"second moment 0 to have its parameter's shape \(3,\), got \(4,\)"):
        k.adam_step([p32], [g32], [m32], [dev(np.zeros(4, np.float32))], *adam)
    with pytest.raises(ShapeError, match="first moment 0 .* C-contiguous"):
        k.adam_step([p32], [g32], [dev(np.zeros(6, np.float32))[::2]], [m32], *adam)
    # the moments of 2-byte parameters are float32: the kernel reads them as float
    with pytest.raises(DTypeError, match=r"first moment 0 \(of the parameter of shape \(3,\), float16\) to be float32, "
                                         "got float16"):
        k.adam_step([p16], [g16], [m16], [m32], *adam)
    with pytest.raises(DTypeError, match="momentum buffer 0 .* to be float32, got float16"):
        k.sgd_step([p16], [g16], [m16], 0.1, 0.9, 0.0, 0.0, False, False)
    with pytest.raises(ArgumentError, match="expected a momentum buffer for parameter 0"):
        k.sgd_step([p32, p32], [g32, g32], [None, m32], 0.1, 0.9, 0.0, 0.0, False, False)
    assert cp.launches == []
    k.adam_step([p16], [g16], [m32], [m32.copy()], *adam)
    k.sgd_step([p16], [g16], [m32], 0.1, 0.9, 0.0, 0.0, False, False)
    assert cp.launches == ["gpugrad_adam_step_f16", "gpugrad_sgd_step_f16"]


def test_linear_backward_takes_every_array_in_gys_dtype():
    k = ck.CudaKernels(FakeCupy(), 0)
    gy, x, w = np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), np.ones((3, 2), np.float32)
    for args, name in [((gy, None, x.astype(np.float64), w), "x"), ((gy, None, x, w.astype(np.float16)), "w"),
                       ((gy, gy.astype(np.float64), x, w), "y")]:
        with pytest.raises(DTypeError, match=f"backward expected {name} of gy's dtype float32, got float"):
            k.linear_backward(*args, True, True, True)


def test_kernel_source_is_self_contained_and_changes_with_its_headers(tmp_path, monkeypatch):
    src = tmp_path / "cuda"
    shutil.copytree(ck.source_dir(), src)
    monkeypatch.setattr(ck, "source_dir", lambda: src)
    optim_cu = (src / "optim.cu").read_text()
    # a second header, itself including common.cuh: each file goes in once
    (src / "extra.cuh").write_text('#pragma once\n#include "common.cuh"\n#define GPUGRAD_EXTRA 1\n')
    include = '#include "common.cuh"\n'
    (src / "optim.cu").write_text(optim_cu.replace(include, include + '#include "extra.cuh"\n'))

    def code():
        cp = FakeCupy()
        ck.CudaKernels(cp, 0)._fn("optim", "gpugrad_sgd_step_f32")
        (text,) = cp.codes
        return text

    before = code()
    assert not re.search(r'#\s*include\s*"', before) and "#pragma once" not in before
    assert before.count("#define GPUGRAD_INF") == 1 and "#define GPUGRAD_EXTRA 1" in before
    assert "#include <cuda_fp16.h>" in before and "#include <cuda_bf16.h>" in before
    (src / "common.cuh").write_text((src / "common.cuh").read_text().replace("0x7f800000", "0x7F800000"))
    after = code()
    assert after != before and "__int_as_float(0x7F800000)" in after


@pytest.mark.parametrize("module", ["cross_entropy", "linear", "optim"])
def test_the_inlined_source_compiles_on_its_own(tmp_path, module):
    from test_cuda_sources import compile_source

    path = tmp_path / f"{module}.cu"  # the include path NVRTC gets is tmp_path: nothing to include there
    path.write_text(ck.module_source(module))
    rc, log, _ = compile_source(path, "compute_80")
    assert rc == 0 and "warning" not in log.lower(), log


def test_auto_linear_backward_times_each_bucket_once_and_keeps_a_bounded_cache():
    k = ck.CudaKernels(FakeCupy(), 0)
    k.linear_mode, k._sms = "auto", 132
    runs, timings = [], []
    k._linear_tiled = lambda *args: runs.append("tiled")
    k._linear_cublas = lambda *args: runs.append("cublas")

    def time(fn):
        timings.append(fn)
        fn()
        return 1.0 if runs[-1] == "tiled" else 2.0

    k._time = time
    f32 = np.float32
    for n in range(1, 301):  # batch sizes 1..300: the buckets 1, 2, 4, ..., 512
        k.linear_backward(np.ones((n, 8), f32), None, np.ones((n, 4), f32), np.ones((8, 4), f32), True, True, True)
    buckets = 10
    assert len(timings) == 2 * buckets and len(k.linear_choices) == buckets
    assert {c["choice"] for c in k.linear_choices.values()} == {"tiled"} and runs.count("tiled") == 300 + buckets
    for m in range(1, 301):  # 300 widths: more decisions than the cache keeps
        k.linear_backward(np.ones((4, m), f32), None, np.ones((4, 4), f32), np.ones((m, 4), f32), True, True, True)
        assert len(k.linear_choices) <= k.MAX_LINEAR_CHOICES
    assert len(k.linear_choices) == k.MAX_LINEAR_CHOICES == 256
    assert (4, 300, 4) == next(reversed(k.linear_choices))[:3] and (4, 45, 4) == next(iter(k.linear_choices))[:3]
