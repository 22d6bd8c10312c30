# The environment every benchmark runs in, and tpc built in build/: sourced by bench/run.sh and
# bench/generate.sh from the repository's root.

# One BLAS thread everywhere: tpc sets its own, but Debian's torch takes OpenBLAS's from here
# (torch.set_num_threads(1) does not reach it), and the floors call OpenBLAS too.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
# OpenBLAS's AVX-512 kernels for everyone: tpc's programs choose them themselves
# (docs/runtime.md, "BLAS kernels"); the floor and PyTorch would keep the SSE3 ones OpenBLAS
# 0.3.21 takes on this CPU.
if grep -q avx512f /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
fi
if [ "$(id -u)" -eq 0 ]; then   # Open MPI refuses root without both
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

[ -x build/tpc ] || scripts/setup.sh
cmake --build build --target tpc tpcrt -j "$(nproc)" > /dev/null
