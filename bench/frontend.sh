#!/usr/bin/env bash
# Front-end benchmark: an 80-layer Llama-2-70B-shaped model through `tpc --emit ir`.
# Prints the median wall time of N runs and the peak resident memory (not a test).
#   bench/frontend.sh [N] [BUILD]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
tpc=${2:-build}/tpc
args=(models/llama.tpl -D layers=80 -D hidden=8192 -D heads=64 -D kv_heads=8
      -D intermediate=28672 -D vocab=32000 -tp "${TP:-1}" --emit "${EMIT:-ir}")
times=()
for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$tpc" "${args[@]}" > /dev/null
    times+=($(( ($(date +%s%N) - start) / 1000 )))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
peak=$( { /usr/bin/time -f '%M' "$tpc" "${args[@]}" > /dev/null; } 2>&1 | tail -1)
lines=$("$tpc" "${args[@]}" | wc -l)
echo "frontend: llama 80 layers (70B shape), --emit ${EMIT:-ir}: median $((median / 1000)).$(( (median % 1000) / 100 )) ms over $runs runs, peak RSS $((peak / 1024)).$(( (peak % 1024) * 10 / 1024 )) MB, $lines lines of IR"
