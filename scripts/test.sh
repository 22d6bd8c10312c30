#!/usr/bin/env bash
# Set up, build and run every test: the lit suite against the release build and again against
# the ASan + UBSan build.  The last line is "N passed, N failed".
#   scripts/test.sh                 everything
#   scripts/test.sh tests/frontend  only what is under that path (both builds)
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --asan || { echo "0 passed, 1 failed"; exit 1; }

lit=(/usr/bin/python3 /usr/lib/llvm-14/build/utils/lit/lit.py -sv --timeout 900)
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(tests)
passed=0 failed=0
for build in build build-asan; do
    echo "== lit on $build"
    log=$(mktemp)
    "${lit[@]}" --param build="$PWD/$build" "${paths[@]}" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    read -r p f < <(/usr/bin/python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
def count(label):
    m = re.findall(r"^\s*%s\s*:\s*(\d+)" % label, text, re.M)
    return int(m[-1]) if m else 0
good = count("Passed") + count("Expectedly Failed")
# "Skipped" is lit giving up on tests (Ctrl-C, --max-time): they did not pass
bad = sum(count(k) for k in ("Failed", "Unresolved", "Timed Out", "Unexpectedly Passed",
                             "Skipped"))
# lit never got to its summary, or a path named no tests
if good + bad == 0 or "contained no tests" in text:
    bad += 1
print(good, bad)
PY
)
    # no counts at all, or lit failing (it exits 1 or 2) with nothing counted failed
    [ -n "${f:-}" ] || { p=0; f=1; }
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    rm -f "$log"
    passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
