#!/usr/bin/env bash
# The README's first command: compile a small Llama (models/llama.tpl with -D) for 2 ranks, run
# it on random weights and a random 16-token sequence, print its output and its bench line; then
# generate 16 tokens after it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/tpc ] || scripts/setup.sh
mpirun_flags=(--bind-to none)
[ "$(id -u)" -ne 0 ] || mpirun_flags+=(--allow-run-as-root)
set -x
build/tpc models/llama.tpl -tp 2 -D vocab=32000 -D hidden=512 -D layers=4 -D heads=8 \
    -D kv_heads=2 -D intermediate=1536 -o out/llama-demo
mpirun "${mpirun_flags[@]}" -np 2 out/llama-demo/llama --random-weights 1 --random-input 2 \
    --dim batch=1 --dim seq=16 --bench 20
# and generate 16 tokens after the same prompt: a prefill, then decode steps on the KV cache
mpirun "${mpirun_flags[@]}" -np 2 out/llama-demo/llama --random-weights 1 --random-input 2 \
    --dim batch=1 --dim seq=16 --generate 16 --bench 3
