#!/usr/bin/env bash
# bench_runtime.sh — measures libtpcrt; not a test, prints numbers.
#   tests/runtime/bench_runtime.sh [BUILD_DIR] [GB]      (default: build 1.5)
# 1. Load throughput per rank: a GB-sized F32 checkpoint written by Python, read in row slices
#    (one pread per rank) and column slices (one pread per row) at 1 and 4 ranks, cold (the file
#    dropped from the page cache first) and warm.
# 2. Collective latencies: all-reduce and all-gather of 4 KiB and 4 MiB per rank, at 2 and 4
#    ranks (median of many, rt_collectives --bench).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
gb=${2:-1.5}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mpirun=(mpirun --bind-to none --oversubscribe)
python=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cols=4096
rows=$($python -c "print(int($gb * 1e9 / ($cols * 4)) // 4 * 4)")
echo "== writing a $gb GB checkpoint: big [$rows, $cols] F32"
$python "$here/make_big.py" "$dir/big.safetensors" "$rows" "$cols"

# The slice of each of n ranks: rows split, or columns split.
split() {   # split N rows|cols
    $python - "$1" "$2" "$rows" "$cols" <<'PY'
import sys
n, how, rows, cols = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
size = rows if how == "rows" else cols
parts = "/".join("%d-%d" % (r * size // n, (r + 1) * size // n) for r in range(n))
print("big=%dx%d@%s" % (rows, cols, parts + ",*" if how == "rows" else "*," + parts))
PY
}

load() {   # load N rows|cols cold|warm
    if [ "$3" = cold ]; then $python "$here/make_big.py" --evict "$dir/big.safetensors"; fi
    echo "-- $1 rank(s), $2 split, $3 cache:"
    "${mpirun[@]}" -np "$1" "$build/tests/runtime/rt_weights" "$dir" --io --discard \
        "$(split "$1" "$2")" -- --weights "$dir/big.safetensors" | sort | sed 's/^/   /'
}

echo "== load throughput per rank (MB/s of f32 weights delivered)"
for n in 1 4; do
    for how in rows cols; do
        load "$n" "$how" cold
        load "$n" "$how" warm
    done
done

echo "== collective latencies"
for n in 2 4; do
    "${mpirun[@]}" -np "$n" "$build/tests/runtime/rt_collectives" --bench
done
