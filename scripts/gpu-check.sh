#!/usr/bin/env bash
# scripts/gpu-check.sh — --target cuda where there are GPUs: one command, under 8 minutes on
# one GPU (docs/cuda.md, "On a machine with GPUs", says what it prints and what to expect).
#
#   1. Every family at -tp 1 (and 2, and 4, when there are that many GPUs) built with --target
#      cuda and run on random weights and inputs, against the CPU build of the same model at
#      -tp 1 on the same weights and inputs: "llama -tp 2: cuda vs cpu rel L2 3.1e-07 (<= 1e-05)".
#   2. Llama-3-8B's shape (models/llama.tpl's own sizes) on random weights, bf16 projections
#      (--target cuda's default): prefill (a forward of 512 tokens) as TFLOP/s, and decode
#      (--generate, after a 16-token prompt) as GB/s of weights streamed, against the device's
#      peaks measured first in the same run by scripts/gpu/peaks.cu (a cuBLAS GEMM and a
#      device copy). At -tp 2 too when there are two GPUs.
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
        build/tpc "models/$f.tpl" -tp "$tp" --target cuda --dtype f32 -o "$work/$f-cuda-$tp" \
            ${sizes[$f]}
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

echo "== 2. Llama-3-8B's shape (models/llama.tpl's sizes), random weights, bf16 projections"
"$nvcc" -O2 -std=c++17 -o "$work/peaks" scripts/gpu/peaks.cu -lcublas
"$work/peaks" | tee "$work/peaks.txt"
for tp in "${tps[@]}"; do
    [ "$tp" -le 2 ] || continue
    build/tpc models/llama.tpl -tp "$tp" --target cuda -o "$work/llama3-8b-$tp"
    # prefill: a forward of 512 tokens (a CUDA graph, replayed); decode: 32 new tokens after 16
    "${mpirun[@]}" -np "$tp" "$work/llama3-8b-$tp/llama" --random-weights 1 --random-input 2 \
        --dim batch=1 --dim seq=512 --bench 10 --stats > "$work/prefill-$tp.txt"
    "${mpirun[@]}" -np "$tp" "$work/llama3-8b-$tp/llama" --random-weights 1 --random-input 2 \
        --dim batch=1 --dim seq=16 --generate 32 --bench 1 > "$work/decode-$tp.txt"
    /usr/bin/python3 - "$tp" "$work/prefill-$tp.txt" "$work/decode-$tp.txt" "$work/peaks.txt" <<'PY'
import re, sys
tp = int(sys.argv[1])
prefill, decode, peaks = (open(f).read() for f in sys.argv[2:5])
# Llama-3-8B: every parameter but the embedding table is a multiply-add per token
flops_per_token = 2 * (8.03e9 - 128256 * 4096)
weights = sum(float(w) for w in re.findall(r"device memory: weights ([0-9.]+) MB", prefill)) * 1e6
streamed = (weights - 128256 * 4096 * 4) / tp  # a decode step reads every weight but the table
bf16 = float(re.search(r"bf16 gemm ([0-9.]+) TFLOP/s", peaks).group(1))
copy = float(re.search(r"copy ([0-9.]+) GB/s", peaks).group(1))
ms = float(re.search(r"bench: median ([0-9.]+) ms", prefill).group(1))
tflops = flops_per_token * 512 / (ms / 1e3) / 1e12 / tp
print("llama3-8b -tp %d prefill, 512 tokens: %.1f ms, %.0f TFLOP/s per GPU (%.0f%% of the bf16 "
      "GEMM's)" % (tp, ms, tflops, 100 * tflops / bf16))
m = re.search(r"decode median ([0-9.]+) ms/token", decode)
if m:
    d = float(m.group(1))
    gbs = streamed / (d / 1e3) / 1e9
    print("llama3-8b -tp %d decode: %.2f ms/token, %.0f GB/s of weights per GPU (%.0f%% of the "
          "copy's)" % (tp, d, gbs, 100 * gbs / copy))
else:
    print("llama3-8b -tp %d decode: no bench line" % tp)
PY
done
exit $status
