#!/usr/bin/env bash
# scripts/gpu-check.sh — --target cuda where there are GPUs: one command, under 8 minutes on
# one GPU (docs/cuda.md, "On a machine with GPUs", says what it prints and what to expect).
#
#   1. Every family at -tp 1 (and 2, and 4, when there are that many GPUs) built with --target
#      cuda and run on random weights and inputs, against the CPU build of the same model at
#      -tp 1 on the same weights and inputs: "llama -tp 2: cuda vs cpu rel L2 3.1e-07 (<= 1e-05)".
#   2. Llama-3-8B's shape (models/llama.tpl's own sizes) on random weights, f32: a forward of
#      512 tokens (prefill) and of 1 token (what a decode step streams: every weight once),
#      as TFLOP/s and GB/s against the device's peaks, measured first in the same run by
#      scripts/gpu/peaks.cu (a cuBLAS GEMM and a device copy).
# Exit status 0 when every comparison is within tolerance.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
[ -x build/tpc ] || scripts/setup.sh
nvcc=${CUDA_HOME:-/usr/local/cuda}/bin/nvcc
command -v nvidia-smi >/dev/null || { echo "gpu-check: no nvidia-smi: no GPU here"; exit 1; }
nvidia-smi -L
gpus=$(nvidia-smi -L | grep -c '^GPU' || true)
[ "$gpus" -ge 1 ] || { echo "gpu-check: no GPU here"; exit 1; }
work=${TMPDIR:-/tmp}/tpc-gpu-check
rm -rf "$work" && mkdir -p "$work"
mpirun=(mpirun --oversubscribe --bind-to none)
tps=(1)
[ "$gpus" -ge 2 ] && tps+=(2)
[ "$gpus" -ge 4 ] && tps+=(4)

declare -A sizes=(
    [mlp]="-D hidden=256 -D intermediate=1024"
    [llama]="-D vocab=512 -D hidden=256 -D layers=2 -D heads=8 -D kv_heads=2 -D intermediate=640"
    [qwen2]="-D vocab=512 -D hidden=256 -D layers=2 -D heads=8 -D kv_heads=2 -D intermediate=640"
    [gpt2]="-D vocab=512 -D hidden=256 -D layers=2 -D heads=8 -D n_positions=64"
    [bert]="-D vocab=512 -D hidden=256 -D layers=2 -D heads=8 -D intermediate=1024 -D max_positions=64"
)
data=(--random-weights 1 --random-input 2 --dim batch=2 --dim seq=7)
status=0
echo "== 1. every family, --target cuda against --target cpu (f32; tolerance 1e-5)"
for f in mlp llama qwen2 gpt2 bert; do
    # shellcheck disable=SC2086
    build/tpc "models/$f.tpl" -tp 1 -o "$work/$f-cpu" ${sizes[$f]}
    "${mpirun[@]}" -np 1 "$work/$f-cpu/$f" "${data[@]}" --output "$work/$f-cpu.npy" >/dev/null
    for tp in "${tps[@]}"; do
        # shellcheck disable=SC2086
        build/tpc "models/$f.tpl" -tp "$tp" --target cuda -o "$work/$f-cuda-$tp" ${sizes[$f]}
        "${mpirun[@]}" -np "$tp" "$work/$f-cuda-$tp/$f" "${data[@]}" \
            --output "$work/$f-cuda-$tp.npy" >/dev/null
        /usr/bin/python3 - "$f" "$tp" "$work/$f-cuda-$tp.npy" "$work/$f-cpu.npy" <<'PY' || status=1
import sys
import numpy as np
family, tp, got, want = sys.argv[1], sys.argv[2], np.load(sys.argv[3]), np.load(sys.argv[4])
rel = float(np.linalg.norm((got - want).ravel()) / max(np.linalg.norm(want.ravel()), 1e-30))
ok = got.shape == want.shape and np.isfinite(got).all() and rel <= 1e-5
print("%s -tp %s: cuda vs cpu rel L2 %.2e (<= 1e-05)%s" % (family, tp, rel, "" if ok else "  FAILED"))
sys.exit(0 if ok else 1)
PY
    done
done

echo "== 2. Llama-3-8B's shape, random f32 weights"
"$nvcc" -O2 -std=c++17 -o "$work/peaks" scripts/gpu/peaks.cu -lcublas
"$work/peaks" | tee "$work/peaks.txt"
for tp in "${tps[@]}"; do
    [ "$tp" -le 2 ] || continue
    build/tpc models/llama.tpl -tp "$tp" --target cuda -o "$work/llama3-8b-$tp"
    for seq in 512 1; do
        "${mpirun[@]}" -np "$tp" "$work/llama3-8b-$tp/llama" --random-weights 1 --random-input 2 \
            --dim batch=1 --dim seq=$seq --bench 10 --stats > "$work/bench-$tp-$seq.txt"
        /usr/bin/python3 - "$tp" "$seq" "$work/bench-$tp-$seq.txt" "$work/peaks.txt" <<'PY'
import re, sys
tp, seq = int(sys.argv[1]), int(sys.argv[2])
text, peaks = open(sys.argv[3]).read(), open(sys.argv[4]).read()
ms = float(re.search(r"bench: median ([0-9.]+) ms", text).group(1))
weights = sum(float(w) for w in re.findall(r"device memory: weights ([0-9.]+) MB", text)) * 1e6
sgemm = float(re.search(r"sgemm ([0-9.]+) TFLOP/s", peaks).group(1))
copy = float(re.search(r"copy ([0-9.]+) GB/s", peaks).group(1))
# every weight is a multiply-add per token (the embedding table's too: an upper bound)
flops = 2.0 * weights / 4 * seq
tflops = flops / (ms / 1e3) / 1e12 / tp
gbs = weights / tp / (ms / 1e3) / 1e9
print("llama3-8b -tp %d, %d token%s: median %.2f ms, %.1f TFLOP/s per GPU (%.0f%% of sgemm), "
      "%.0f GB/s of weights per GPU (%.0f%% of copy)" % (tp, seq, "" if seq == 1 else "s", ms,
      tflops, 100 * tflops / sgemm, gbs, 100 * gbs / copy))
PY
    done
done
exit $status
