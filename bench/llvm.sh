#!/usr/bin/env bash
# --backend llvm next to --backend c, measured in the same run, interleaved (not a test).
#   bench/llvm.sh           the kernel study (bench/llvm_kernels.c) and the forward of
#                           bench/decoder.tpl at 1, 32 and 512 tokens, -tp 1 and 2
#   bench/llvm.sh --kernels the kernel study only
# Prints llvm/c ratios of medians: below 1, LLVM's kernels are faster.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/env.sh

out=bench/out/llvm
rm -rf "$out" && mkdir -p "$out"
# The decoder's kernels both ways: the C backend's text, and LLVM's object with their prototypes.
build/tpc bench/decoder.tpl -tp 1 --emit c -o "$out/c"
build/tpc bench/decoder.tpl -tp 1 --backend llvm --emit c -o "$out/llvm"
sed -n '/^\/\* Math that vectorises/,/^\/\* y = beta y + x w^T/p' "$out/c/decoder.c" | sed '$d' \
    > "$out/kernels_c.inc"
sed -n '/^\/\* The kernels, built through LLVM/,/^\/\* y = beta y + x w^T/p' "$out/llvm/decoder.c" \
    | sed '$d' > "$out/kernels_llvm.inc"
flags="-std=gnu17 -O3 -march=native -fopenmp-simd -fno-trapping-math -fno-math-errno -Wno-unused-function"
cc $flags -DKERNELS_C="\"$PWD/$out/kernels_c.inc\"" -c -o "$out/c.o" bench/llvm_kernels.c
cc $flags -DKERNELS_LLVM="\"$PWD/$out/kernels_llvm.inc\"" -c -o "$out/l.o" bench/llvm_kernels.c
cc $flags -o "$out/kernels" bench/llvm_kernels.c "$out/c.o" "$out/l.o" "$out/llvm/decoder_kernels.o" -lm
echo "kernel study: one thread, 15 interleaved rounds: median times, and the median of the rounds' llvm/c"
"$out/kernels"
[ "${1:-}" = --kernels ] && exit 0

echo
echo "forward of bench/decoder.tpl (random weights), --bench 20, 5 interleaved rounds:"
echo "median times, and the median of the rounds' llvm/c"
printf "%-4s %7s %10s %10s %7s\n" tp tokens "c ms" "llvm ms" llvm/c
median() { tr ' ' '\n' | grep . | sort -g | sed -n 3p; }
for tp in 1 2; do
    for backend in c llvm; do
        build/tpc bench/decoder.tpl -tp $tp --backend $backend -o "$out/tp$tp-$backend" > /dev/null
    done
    for tokens in 1 32 512; do
        declare -A times=([c]="" [llvm]="")
        ratios=""
        for round in 1 2 3 4 5; do
            for backend in c llvm; do
                ms=$(mpirun --bind-to none -np $tp "$out/tp$tp-$backend/decoder" --random-weights 1 \
                     --random-input 2 --dim batch=1 --dim seq=$tokens --bench 20 \
                     | sed -n 's/^bench: median \([0-9.]*\) ms.*/\1/p')
                times[$backend]="${times[$backend]} $ms"
            done
            ratios="$ratios $(echo "${times[llvm]##* } / ${times[c]##* }" | bc -l)"
        done
        c=$(echo "${times[c]}" | median) l=$(echo "${times[llvm]}" | median)
        printf "%-4s %7s %10s %10s %7.3f\n" $tp $tokens "$c" "$l" "$(echo "$ratios" | median)"
    done
done
