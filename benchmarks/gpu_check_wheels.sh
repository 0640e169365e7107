#!/usr/bin/env bash
# Fills .whl/ in the repository root with the wheels that the GPU machine lacks, so that
# benchmarks/gpu_check.sh can install them there without a network: for CPython 3.12 on
# manylinux x86-64. Run it on a machine that reaches PyPI.
#
#   benchmarks/gpu_check_wheels.sh [NAME[==VERSION]...]
#
# Without arguments it fetches mnist1d, the data set generator that gpugrad train uses
# (pure Python: its py3-none-any wheel fits any platform). Its other needs (NumPy, SciPy,
# matplotlib, requests) are on that machine already. Each name's own dependencies are not
# fetched (--no-deps), so name every missing one.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
if [ $# -eq 0 ]; then
    set -- mnist1d
fi
"$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$REPO/.whl" "$@"
echo "in $REPO/.whl:"
ls "$REPO/.whl"
