#!/bin/sh
# Run gpugrad's benchmark suites and write the results to $GPUGRAD_RESULTS (default
# /results, the mounted folder). Extra arguments go to `python -m benchmarks`
# (e.g. --quick, --suites mlp_step). Also works outside a container against an
# installed gpugrad, from a source checkout.
set -eu
results="${GPUGRAD_RESULTS:-/results}"
here="$(cd "$(dirname "$0")" && pwd)"
if [ -d /app/benchmarks ]; then
    cd /app
elif [ -d "$here/../benchmarks" ]; then
    cd "$here/.."
fi
python3 -c "import gpugrad; gpugrad.info()"
exec python3 -m benchmarks --out "$results" "$@"
