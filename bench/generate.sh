#!/usr/bin/env bash
# The generation benchmark, in one command (not a test: it measures and reports).
#   bench/generate.sh              3 interleaved rounds, with PyTorch eager (~15 min)
#   bench/generate.sh --rounds 1 --no-eager     a quick look
# Options go to bench/generate.py; what every column means is in its docstring.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/env.sh
mkdir -p bench/out/generate
cc -std=c17 -O3 -march=native -Wall -Wextra -o bench/out/generate/stream bench/stream.c
exec /usr/bin/python3 bench/generate.py "$@"
