"""The CUDA emulator proves itself: small kernels whose right answers are known run right,
and planted defects (a missing __syncthreads, an unwritten shared read, a shuffle in
divergent code, a wrong argument width, launches outside CUDA's limits, a race) are caught.

These tests drive ``gpugrad.backend.emu.launcher`` directly with NumPy buffers standing in
for device memory; the CuPy stand-in and the real kernels are tested elsewhere.
"""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gpugrad.backend.emu import launcher as L

pytestmark = pytest.mark.skipif(shutil.which(os.environ.get("CXX", "g++")) is None,
                                reason="the CUDA emulation needs a C++ compiler (g++)")


class Dev:
    """A device array for the launcher: a NumPy buffer, its pointer, dtype and device."""

    class _Ptr:
        def __init__(self, ptr):
            self.ptr = ptr

    class _Device:
        def __init__(self, i):
            self.id = i

    def __init__(self, a, device=0):
        self.a = np.ascontiguousarray(a)
        self.dtype = self.a.dtype
        self.data = self._Ptr(self.a.ctypes.data)
        self.device = self._Device(device)


def launch(src, name, grid, block, *args, device=0):
    k = L.compile_module(textwrap.dedent(src)).function(name)
    k.launch((grid + (1, 1))[:3], (block + (1, 1))[:3], [L.marshal(a, Dev) for a in args], device=device)


def test_indices_grid_stride_and_blocks_in_three_dimensions():
    src = """
    extern "C" __global__ void ids(int* out, long long n) {
      long long t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
      long long b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
      long long per = blockDim.x * blockDim.y * blockDim.z;
      for (long long i = b * per + t; i < n; i += per * gridDim.x * gridDim.y * gridDim.z) out[i] = (int)i;
    }"""
    out = Dev(np.full(1000, -1, np.int32))
    launch(src, "ids", (3, 2, 2), (4, 3, 2), out, np.int64(1000))
    np.testing.assert_array_equal(out.a, np.arange(1000))


_REDUCE = """
extern "C" __global__ void block_sum(const float* x, float* out, int sync) {
  __shared__ float s[256];
  s[threadIdx.x] = x[blockIdx.x * blockDim.x + threadIdx.x];
  if (sync) __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if ((int)threadIdx.x < stride) s[threadIdx.x] += s[threadIdx.x + stride];
    if (sync) __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}"""


def test_syncthreads_is_a_barrier_and_a_missing_one_shows():
    x = np.arange(4 * 256, dtype=np.float32) % 7
    want = x.reshape(4, 256).sum(1)
    out = Dev(np.zeros(4, np.float32))
    launch(_REDUCE, "block_sum", (4,), (256,), Dev(x), out, np.int32(1))
    np.testing.assert_array_equal(out.a, want)
    # without the barriers thread 0 runs ahead of the others in some of the orders the
    # emulator uses, and reads shared memory they have not written (NaN) or half-reduced
    wrong = 0
    for _ in range(3):  # forward, reversed and shuffled thread orders
        out = Dev(np.zeros(4, np.float32))
        launch(_REDUCE, "block_sum", (4,), (256,), Dev(x), out, np.int32(0))
        wrong += int(not np.array_equal(out.a, want))
    assert wrong > 0


def test_shared_memory_starts_as_nan_in_every_block():
    src = """
    extern "C" __global__ void half_written(float* out) {
      __shared__ float s[64];
      if (threadIdx.x < 32) s[threadIdx.x] = 1.0f;
      __syncthreads();
      out[blockIdx.x * 64 + threadIdx.x] = s[threadIdx.x];
    }"""
    out = Dev(np.zeros(3 * 64, np.float32))
    launch(src, "half_written", (3,), (64,), out)
    rows = out.a.reshape(3, 64)
    assert (rows[:, :32] == 1).all() and np.isnan(rows[:, 32:]).all()  # block 1 and 2 do not see block 0's ones


_WARP = """
extern "C" __global__ void warp_ops(const float* x, float* out, unsigned* ballot) {
  int i = threadIdx.x, lane = i % 32;
  float v = x[i];
  out[i * 5 + 0] = __shfl_xor_sync(0xffffffffu, v, 5);
  out[i * 5 + 1] = __shfl_down_sync(0xffffffffu, v, 3);
  out[i * 5 + 2] = __shfl_up_sync(0xffffffffu, v, 2);
  out[i * 5 + 3] = __shfl_sync(0xffffffffu, v, 7);
  out[i * 5 + 4] = __shfl_xor_sync(0xffffffffu, v, 1, 8);
  unsigned b = __ballot_sync(0xffffffffu, v > 0.0f);
  if (lane == 0) ballot[i / 32] = b;
}"""


def test_warp_shuffles_and_ballot_follow_cuda():
    x = np.random.default_rng(0).standard_normal(64).astype(np.float32)
    out, ballot = Dev(np.zeros(64 * 5, np.float32)), Dev(np.zeros(2, np.uint32))
    launch(_WARP, "warp_ops", (1,), (64,), Dev(x), out, ballot)
    got = out.a.reshape(64, 5)
    lane = np.arange(64) % 32
    base = np.arange(64) - lane
    np.testing.assert_array_equal(got[:, 0], x[base + (lane ^ 5)])
    np.testing.assert_array_equal(got[:, 1], x[np.where(lane + 3 < 32, np.arange(64) + 3, np.arange(64))])
    np.testing.assert_array_equal(got[:, 2], x[np.where(lane >= 2, np.arange(64) - 2, np.arange(64))])
    np.testing.assert_array_equal(got[:, 3], x[base + 7])
    np.testing.assert_array_equal(got[:, 4], x[base + (lane ^ 1)])
    for w in range(2):
        assert ballot.a[w] == sum(1 << l for l in range(32) if x[w * 32 + l] > 0)


def test_a_shuffle_in_divergent_code_is_refused():
    src = """
    extern "C" __global__ void divergent(float* x) {
      float v = x[threadIdx.x];
      if (threadIdx.x % 32 < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
      x[threadIdx.x] = v;
    }"""
    with pytest.raises(L.EmulationError, match=r"__shfl_xor_sync of thread \d+ .* waits for lane \d+, which has exited"):
        launch(src, "divergent", (1,), (32,), Dev(np.zeros(32, np.float32)))
    src2 = """
    extern "C" __global__ void wrong_mask(float* x) {
      x[threadIdx.x] = __shfl_xor_sync(0x0000ffffu, x[threadIdx.x], 1);
    }"""
    with pytest.raises(L.EmulationError, match="is called by a lane that its mask does not name"):
        launch(src2, "wrong_mask", (1,), (32,), Dev(np.zeros(32, np.float32)))


def test_a_syncthreads_not_every_thread_reaches_is_refused():
    src = """
    extern "C" __global__ void early_exit(float* x) {
      if (threadIdx.x == 3) return;
      __syncthreads();
      x[threadIdx.x] = 1.0f;
    }"""
    with pytest.raises(L.EmulationError, match=r"waits at __syncthreads, which thread 3 never reaches"):
        launch(src, "early_exit", (1,), (64,), Dev(np.zeros(64, np.float32)))


_ARGS = """
extern "C" __global__ void args(const float* x, long long n, float scale, double* out) {
  if (threadIdx.x == 0) out[0] = x[n - 1] * scale;
}"""


def test_arguments_are_read_with_the_kernels_own_types():
    x, out = Dev(np.arange(4, dtype=np.float32)), Dev(np.zeros(1, np.float64))
    launch(_ARGS, "args", (1,), (32,), x, np.int64(4), np.float32(0.5), out)
    assert out.a[0] == 1.5
    with pytest.raises(L.EmulationError, match=r"args: parameter 1 'n' \(long long int\) is 8 bytes, got np.int32"):
        launch(_ARGS, "args", (1,), (32,), x, np.int32(4), np.float32(0.5), out)
    with pytest.raises(L.EmulationError, match=r"parameter 0 'x' \(const float\*\) reads float elements, got a float64"):
        launch(_ARGS, "args", (1,), (32,), Dev(np.zeros(4)), np.int64(4), np.float32(0.5), out)
    with pytest.raises(L.EmulationError, match=r"parameter 2 'scale' \(float\) is 4 bytes, got float 0.5 \(8 bytes\)"):
        launch(_ARGS, "args", (1,), (32,), x, np.int64(4), 0.5, out)  # a Python float is a double to CuPy
    with pytest.raises(L.EmulationError, match=r"parameter 3 'out' \(double\*\) is a pointer, got np.uint64"):
        launch(_ARGS, "args", (1,), (32,), x, np.int64(4), np.float32(0.5), np.uint64(0))
    with pytest.raises(L.EmulationError, match="takes 4 parameters, got 3 arguments"):
        launch(_ARGS, "args", (1,), (32,), x, np.int64(4), np.float32(0.5))
    with pytest.raises(L.EmulationError, match="an array on cuda:1, but the kernel runs on cuda:0"):
        launch(_ARGS, "args", (1,), (32,), Dev(x.a, device=1), np.int64(4), np.float32(0.5), out)
    with pytest.raises(TypeError, match="Only numpy.ndarrays of size one can be passed by value"):
        launch(_ARGS, "args", (1,), (32,), x, np.int64(4), np.float32(0.5), np.zeros(3))


def test_launches_outside_cudas_limits_are_refused():
    x, out = Dev(np.arange(4, dtype=np.float32)), Dev(np.zeros(1, np.float64))
    for grid, block in [((1,), (1025,)), ((1,), (32, 33)), ((1,), (1, 1, 65)), ((1, 65536), (32,))]:
        with pytest.raises(L.EmulationError, match="over CUDA's limits"):
            launch(_ARGS, "args", grid, block, x, np.int64(4), np.float32(0.5), out)


def test_block_order_changes_from_launch_to_launch():
    src = """
    extern "C" __global__ void block_order(unsigned* next, int* order) {
      if (threadIdx.x == 0) order[atomicAdd(next, 1u)] = blockIdx.x;
    }"""
    seen = []
    for _ in range(3):  # three launches in a row take the three orders, in turn
        order = Dev(np.full(16, -1, np.int32))
        launch(src, "block_order", (16,), (32,), Dev(np.zeros(1, np.uint32)), order)
        seen.append(order.a.tolist())
    forward, backward = list(range(16)), list(range(15, -1, -1))
    assert sorted(map(sorted, seen)) == [forward] * 3  # every block ran once
    assert forward in seen and backward in seen
    assert any(o not in (forward, backward) for o in seen)  # and a shuffled order


def test_fast_math_intrinsics_and_flush_to_zero():
    src = """
    extern "C" __global__ void fast(const float* x, float* e, float* l, float* tiny) {
      int i = blockIdx.x * blockDim.x + threadIdx.x;
      e[i] = __expf(x[i]);
      l[i] = __logf(x[i] + 100.0f);
      tiny[i] = x[i] * 1e-40f;  // a subnormal product: 0 with -ftz=true
    }
    extern "C" __global__ void keep(const double* x, double* tiny) {
      tiny[threadIdx.x] = x[threadIdx.x] * 1e-310;
    }"""
    x = np.linspace(-80, 80, 1024, dtype=np.float32)
    e, lg, tiny = (Dev(np.zeros(1024, np.float32)) for _ in range(3))
    launch(src, "fast", (4,), (256,), Dev(x), e, lg, tiny)
    exact = np.exp(x.astype(np.float64))
    ulp = np.spacing(exact.astype(np.float32)).astype(np.float64)
    err = np.abs(e.a - exact) / ulp
    assert (err <= 2 + np.floor(np.abs(1.173 * x))).all()  # CUDA's documented bound for __expf
    assert err.max() > 1  # and it is the approximation, not expf
    np.testing.assert_allclose(lg.a, np.log(x.astype(np.float64) + 100), rtol=2e-6)
    assert (tiny.a == 0).all()
    xd, td = Dev(np.ones(32)), Dev(np.zeros(32))
    launch(src, "keep", (1,), (32,), xd, td)
    assert (td.a == 1e-310).all()  # double kernels keep subnormals, as on the GPU


def test_half_and_bfloat16_conversions_round_to_nearest_even():
    src = """
    #include <cuda_fp16.h>
    #include <cuda_bf16.h>
    extern "C" __global__ void cvt(const float* x, __half* h, float* hb, unsigned short* b, float* bb, long long n) {
      for (long long i = threadIdx.x; i < n; i += blockDim.x) {
        h[i] = __float2half(x[i]);
        hb[i] = __half2float(h[i]);
        __nv_bfloat16 v = __float2bfloat16(x[i]);
        b[i] = *reinterpret_cast<unsigned short*>(&v);
        bb[i] = __bfloat162float(v);
      }
    }"""
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, 65504, 65519.99, 65520, 6e-8, 2.98e-8, 1e-45, 5.96e-8],
                        np.float32)
    x = np.concatenate([bits.view(np.float32), specials, rng.standard_normal(2000).astype(np.float32)])
    x = x[~np.isnan(x)]
    n = x.size
    h, hb, b, bb = Dev(np.zeros(n, np.float16)), Dev(np.zeros(n, np.float32)), Dev(np.zeros(n, np.uint16)), \
        Dev(np.zeros(n, np.float32))
    launch(src, "cvt", (1,), (128,), Dev(x), h, hb, b, bb, np.int64(n), device=0)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(h.a.view(np.uint16), x.astype(np.float16).view(np.uint16))
    np.testing.assert_array_equal(hb.a, h.a.astype(np.float32))
    ml_dtypes = pytest.importorskip("ml_dtypes")
    np.testing.assert_array_equal(b.a, x.astype(ml_dtypes.bfloat16).view(np.uint16))
    np.testing.assert_array_equal(bb.a, x.astype(ml_dtypes.bfloat16).astype(np.float32))


def _sanitizer_runtime(name):
    cxx = os.environ.get("CXX", "g++")
    path = subprocess.run([cxx, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(path) or not os.path.exists(path):
        pytest.skip(f"{cxx} has no {name} here")
    return path


_RACES = """
extern "C" __global__ void racy_sum(const float* x, float* out) {
  out[0] += x[threadIdx.x];  // every thread, unordered: a data race
}
extern "C" __global__ void atomic_sum(const float* x, float* out) {
  atomicAdd(out, x[threadIdx.x]);
}
"""

_RACE_SCRIPT = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
from test_cuda_emulator import Dev, launch, _RACES, _REDUCE
kernel = sys.argv[1]
x = Dev(np.ones(256, np.float32))
if kernel == "block_sum":
    launch(_REDUCE, "block_sum", (1,), (256,), x, Dev(np.zeros(1, np.float32)), np.int32(int(sys.argv[2])))
else:
    launch(_RACES, kernel, (2,), (128,), x, Dev(np.zeros(1, np.float32)))
print("finished")
"""


@pytest.mark.parametrize("kernel,race", [("racy_sum", True), ("atomic_sum", False), ("block_sum 0", True),
                                         ("block_sum 1", False)])
def test_thread_sanitizer_finds_races_and_only_races(tmp_path, kernel, race):
    """Under ThreadSanitizer (the emulator built with -fsanitize=thread, threads running
    free) a global race and a missing __syncthreads are reported; the atomic and the
    barriered versions are not."""
    tsan = _sanitizer_runtime("libtsan.so")
    script = tmp_path / "race.py"
    script.write_text(_RACE_SCRIPT.format(tests=os.path.dirname(__file__)))
    env = dict(os.environ, LD_PRELOAD=tsan, GPUGRAD_EMU_SANITIZE="thread", GPUGRAD_EMU_THREADS="free",
               TSAN_OPTIONS="halt_on_error=1 exitcode=66 report_thread_leaks=0")
    proc = subprocess.run([sys.executable, str(script), *kernel.split()], capture_output=True, text=True, env=env,
                          timeout=600)
    if race:
        assert proc.returncode == 66 and "ThreadSanitizer: data race" in proc.stderr, proc.stderr[-3000:]
        assert "module.cu" in proc.stderr  # the report points into the kernel's source
    else:
        assert proc.returncode == 0 and "finished" in proc.stdout, proc.stderr[-3000:]
