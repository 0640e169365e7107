"""The kernel tests can fail: mutants of the real kernels (a copy of csrc/cuda with one
planted mistake, compiled and launched by the real CudaKernels) must fail them."""

import shutil

import pytest
from helpers import KernelSwitch
from test_cuda_kernels import check_cross_entropy, check_linear

import gpugrad as gg
from gpugrad.backend import cuda_kernels as ck

MUTANTS = [
    # the target's term of the gradient lands one class too far
    ("cross_entropy.cu", "if (j == ti) v -=", "if (j == ti + 1) v -=",
     lambda s: check_cross_entropy(s, 37, 33, reduction="none")),
    # the first block to finish, not the last, writes the reduced loss
    ("cross_entropy.cu", "if (atomicAdd(ticket, 1u) == gridDim.x - 1) {", "if (atomicAdd(ticket, 1u) == 0u) {",
     lambda s: check_cross_entropy(s, 37, 33, reduction="sum")),
    # the block kernel forgets the other warps' maxima and sums
    ("cross_entropy.cu", "m = lane < warps ? sm[lane] : -A(GPUGRAD_INF);", "m = lane < 1 ? sm[lane] : -A(GPUGRAD_INF);",
     lambda s: check_cross_entropy(s, 5, 1025, reduction="none")),
    # the tiled GEMMs skip a partial last K tile
    ("linear.cu", "k0 < K; k0 += BK", "k0 + BK <= K; k0 += BK", lambda s: check_linear(s, 33, 17, 9, mode="tiled")),
    # the bias gradient of the mask pass misses the rows past the first chunk
    ("linear.cu", "r0 < n; r0 += (long long)gridDim.y * rows_per_block", "r0 < n && r0 < rows_per_block; r0 += 1",
     lambda s: check_linear(s, 600, 8, 40, mode="cublas")),
]


@pytest.mark.parametrize("source,old,new,check", MUTANTS, ids=[f"{m[0]}:{m[1][:28]}" for m in MUTANTS])
def test_a_mutated_kernel_fails_its_test(device, tmp_path, monkeypatch, source, old, new, check):
    if device != "cuda":
        pytest.skip("mutates the CUDA kernels")
    backend = gg.backend.get_backend("cuda")
    src = tmp_path / "cuda"
    shutil.copytree(ck.source_dir(), src)
    text = (src / source).read_text()
    assert text.count(old) == 1, f"the mutation site {old!r} is not unique in {source}"
    (src / source).write_text(text.replace(old, new))
    monkeypatch.setattr(ck, "source_dir", lambda: src)
    mutated = type(backend.kernels)(backend.xp, backend.device.index, backend._checks)
    switch = KernelSwitch(backend, mutated)
    try:
        with pytest.raises(AssertionError):
            check(switch)
    finally:
        switch.restore()
