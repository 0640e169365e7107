#!/usr/bin/env bash
# The prepared GPU run. On a machine with an NVIDIA GPU, it installs this checkout, then
# records the GPU and the versions, runs the GPU tests, the GPU benchmark suite, a 20-epoch
# training run (CUDA memory per epoch) and compute-sanitizer's memcheck and racecheck over
# the kernel tests. Every result and log goes to OUTDIR.
#
#   benchmarks/gpu_check.sh OUTDIR
#
# Each step runs under `timeout`; a failing step does not stop the ones after it. The
# budgets add up to under 9 minutes on an H100/H200. Exit status: 0 when every step
# passed, 1 when one failed (OUTDIR/summary.json says which), 2 when there is no GPU or
# no OUTDIR.
#
# It needs no network: wheels the machine lacks (mnist1d, for the training run) are
# installed from .whl/ in the repository root, which benchmarks/gpu_check_wheels.sh fills
# on a machine that has one. PYTHON picks the interpreter (default python3). The GPU
# benchmark suite runs in its quick form here; the full one (python3 -m benchmarks
# --suites gpu) takes minutes more than this run's budget.
set -u

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: benchmarks/gpu_check.sh OUTDIR" >&2
    exit 2
fi
REPO=$(cd "$(dirname "$0")/.." && pwd) || exit 2
mkdir -p "$1" || { echo "gpu_check: cannot create the output folder $1" >&2; exit 2; }
OUT=$(cd "$1" && pwd) || exit 2
PY=${PYTHON:-python3}
cd "$REPO" || exit 2

# nvidia-smi comes with the NVIDIA driver: without it, or without a GPU it lists, nothing
# here can run. It is bounded too, since a wedged driver can leave it hanging.
if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "no NVIDIA GPU found: nvidia-smi is not on PATH (it comes with the NVIDIA driver); nothing was run" >&2
    exit 2
fi
if ! gpus=$(timeout 30 nvidia-smi -L 2>&1) || ! printf '%s\n' "$gpus" | grep -q '^GPU '; then
    echo "no NVIDIA GPU found: nvidia-smi -L said: $(printf '%s' "$gpus" | head -n 3)" >&2
    exit 2
fi
printf '%s\n' "$gpus"

export PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The real GPU or nothing: where CuPy fails, the test suite would otherwise fall back to the
# CUDA emulation, and its GPU tests would pass without having touched the GPU.
export GPUGRAD_CUDA_EMULATION=0
# The checkout itself comes first on the path, so every step imports it even if the
# editable install fails (that failure is still reported).
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"

TOTAL=530    # seconds for every step together, grace included: under 9 minutes
GRACE=5      # after SIGINT (pytest then still writes its report), SIGKILL
STARTED=$SECONDS
: >"$OUT/steps.tsv"

# step NAME BUDGET LOG COMMAND...: run COMMAND with stdout and stderr in OUTDIR/LOG, for at
# most BUDGET seconds (less when the run's total would pass TOTAL), and record it.
step() {
    local name=$1 budget=$2 log=$3 left t0 rc
    shift 3
    left=$((TOTAL - (SECONDS - STARTED) - GRACE))
    [ "$budget" -le "$left" ] || budget=$left
    if [ "$budget" -lt 5 ]; then
        printf '%s\t-\t0\t%s\t%s\n' "$name" "$budget" "$log" >>"$OUT/steps.tsv"
        echo "[gpu_check] $name: not run, no time left"
        return
    fi
    echo "[gpu_check] $name (at most ${budget}s): $*"
    t0=$SECONDS
    timeout -s INT -k "$GRACE" "$budget" "$@" >"$OUT/$log" 2>&1
    rc=$?
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" "$budget" "$log" >>"$OUT/steps.tsv"
    echo "[gpu_check] $name: exit $rc after $((SECONDS - t0))s"
}

# Wheels from .whl/, asked for by name so that pip skips what is installed already.
wheels=()
for f in "$REPO"/.whl/*.whl; do
    [ -e "$f" ] || continue
    name=${f##*/}
    wheels+=("${name%%-*}")
done
if [ ${#wheels[@]} -gt 0 ]; then
    step wheels 20 wheels.log "$PY" -m pip install --no-index --no-deps --find-links "$REPO/.whl" "${wheels[@]}"
fi
step install 60 install.log "$PY" -m pip install --no-index --no-build-isolation --no-deps -e .
step environment 30 environment.log "$PY" benchmarks/gpu_check.py environment "$OUT"

# Several workers when pytest-xdist is there: compiling CuPy's kernels for hundreds of
# tests on a machine with an empty kernel cache is what takes the time.
workers=()
if "$PY" -c "import xdist" >/dev/null 2>&1; then
    workers=(-n 6)
fi
step pytest-gpu 150 pytest-gpu.log "$PY" -m pytest -m gpu -q "${workers[@]}" --durations=15 \
    --junitxml="$OUT/pytest-gpu.xml"
step train 45 train.log "$PY" -m gpugrad train --device cuda --epochs 20 --quiet --json "$OUT/train.json"

# compute-sanitizer over a short selection of the kernel tests (tests/test_cuda_kernels.py,
# the same edge cases CI runs under the emulation's AddressSanitizer and ThreadSanitizer
# builds): both cross-entropy kernels around their class boundaries, the tiled GEMMs with
# partial tiles (shared memory, so racecheck has something to look at) and the optimizers
# over several launches. CuPy's memory pool rounds allocations up to 512 bytes, so memcheck
# catches overruns past that rounding rather than past every array's end.
kernel_tests=(tests/test_cuda_kernels.py -m gpu -q -p no:cacheprovider
    -k "around_the_warp or partial_tiles or one_or_more_launches")
step memcheck 45 memcheck.log compute-sanitizer --tool memcheck --error-exitcode 99 "$PY" -m pytest "${kernel_tests[@]}"
step racecheck 45 racecheck.log compute-sanitizer --tool racecheck --error-exitcode 99 "$PY" -m pytest "${kernel_tests[@]}"

step benchmarks 60 benchmarks.log "$PY" -m benchmarks --suites gpu --quick --out "$OUT/benchmarks"
# mixed precision: the MLP step at batch 4096 in fp32/bf16/fp16 against PyTorch's autocast
step amp 50 amp.log "$PY" benchmarks/bench_amp.py --device cuda --rounds 1 --repeats 5 --json "$OUT/amp.json"

"$PY" benchmarks/gpu_check.py summary "$OUT"
rc=$?
echo "[gpu_check] done in $((SECONDS - STARTED))s"
[ "$rc" -eq 0 ] || exit 1
