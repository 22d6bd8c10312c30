#!/usr/bin/env bash
# The generation benchmark, in one command (not a test: it measures and reports).
#   bench/generate.sh              3 interleaved rounds, with PyTorch eager (~15 min)
#   bench/generate.sh --rounds 1 --no-eager     a quick look
# Options go to bench/generate.py; what every column means is in its docstring.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
# OpenBLAS's AVX-512 kernels for everyone: tpc's programs choose them themselves (docs/runtime.md,
# "BLAS kernels"), PyTorch eager (Debian's torch calls OpenBLAS) would otherwise keep Prescott's.
grep -q avx512f /proc/cpuinfo && export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
if [ "$(id -u)" -eq 0 ]; then   # Open MPI refuses root without both
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
[ -x build/tpc ] || scripts/setup.sh
cmake --build build --target tpc tpcrt -j "$(nproc)" > /dev/null
mkdir -p bench/out/generate
cc -std=c17 -O3 -march=native -Wall -Wextra -o bench/out/generate/stream bench/stream.c
exec /usr/bin/python3 bench/generate.py "$@"
