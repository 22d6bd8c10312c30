#!/usr/bin/env bash
# The CPU speed benchmark, in one command (not a test: it measures and reports).
#   bench/run.sh            the full run: 5 interleaved rounds and the kernel study, ~10 min
#   bench/run.sh --quick    2 rounds, fewer forwards, a smaller kernel study, ~2-3 min
# Other options go to bench/bench.py (--rounds N, --no-kernels, --only MODEL, --tokens 1,512).
# Builds tpc and libtpcrt in build/, bench/floor.c and bench/gemmtrace.c in bench/out/,
# prints the table and the targets, writes bench/results/last.{json,csv} and draws last.png.
# What every column means: bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/env.sh

mkdir -p bench/out bench/results
blas_include=/usr/include/x86_64-linux-gnu/openblas-pthread
blas_lib=/usr/lib/x86_64-linux-gnu/libopenblas.so   # the library tpc's programs link
cc -std=c17 -O3 -march=native -Wall -Wextra -I"$blas_include" \
    -o bench/out/floor bench/floor.c "$blas_lib"
cc -std=c17 -O2 -Wall -Wextra -shared -fPIC -I"$blas_include" \
    -o bench/out/gemmtrace.so bench/gemmtrace.c -ldl

exec /usr/bin/python3 bench/bench.py "$@"    # it also runs bench/plot.py
