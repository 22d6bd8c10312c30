"""--target cuda, built for real: every family at several -tp compiled by tpc, its kernels by
nvcc for the GPUs asked (sm_80, sm_90 and PTX by default) and linked against cuBLAS, NCCL and MPI.
Prints one line per program, for FileCheck:

    llama -tp 3: built, 9 kernels for sm_80 and sm_90, no spills

and fails (exit 1) when a build fails or ptxas reports a spill. With --run, each program is
also started under mpirun here, where there is no GPU, and must end with status 1 and one line
naming the cause on every rank's behalf (printed after the build lines).

With --backend llvm the kernels are tpc's PTX (through LLVM), assembled by ptxas for each
architecture; the report is read the same way.

usage: cuda_build.py --tpc TPC --root ROOT --work DIR [--tp 1,2,3,4] [--families a,b] [--run]
                     [--backend c|llvm]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

from jobs import MPIRUN, run

# Small sizes of each family (the same as tests/e2e's): what nvcc builds does not depend on
# them, only how long the test takes.
FAMILIES = {
    "mlp": ["-D", "hidden=64", "-D", "intermediate=256"],
    "llama": ["-D", "vocab=128", "-D", "hidden=64", "-D", "layers=2", "-D", "heads=4", "-D",
              "kv_heads=2", "-D", "intermediate=160"],
    "qwen2": ["-D", "vocab=128", "-D", "hidden=64", "-D", "layers=2", "-D", "heads=4", "-D",
              "kv_heads=2", "-D", "intermediate=160"],
    "gpt2": ["-D", "vocab=128", "-D", "hidden=64", "-D", "layers=2", "-D", "heads=4", "-D",
             "n_positions=64"],
    "bert": ["-D", "vocab=128", "-D", "hidden=64", "-D", "layers=2", "-D", "heads=4", "-D",
             "intermediate=256", "-D", "max_positions=64"],
}
RANDOM_INPUT = ["--random-weights", "1", "--random-input", "2", "--dim", "batch=1", "--dim",
                "seq=4"]


def spills(report):
    """(kernels, archs, spilled): what ptxas -v said of each kernel it built."""
    kernels = set(re.findall(r"Compiling entry function '(\w+)' for '(sm_\d+)'", report))
    archs = sorted({a for _, a in kernels})
    spilled = [line for line in report.splitlines()
               if re.search(r"[1-9]\d* bytes spill (stores|loads)", line)]
    return len({k for k, _ in kernels}), archs, spilled


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tpc", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--tp", default="1,2,3,4")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--run", action="store_true")
    ap.add_argument("--backend", default="c", choices=["c", "llvm"])
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    failed = False
    built = []
    for family in args.families.split(","):
        for tp in [int(t) for t in args.tp.split(",")]:
            out = os.path.join(args.work, "%s-tp%d" % (family, tp))
            run([args.tpc, os.path.join(args.root, "models", family + ".tpl"), "-tp", str(tp),
                 "--target", "cuda", "--backend", args.backend, "-o", out] + FAMILIES[family])
            with open(os.path.join(out, family + "_kernels.ptxas.txt")) as f:
                kernels, archs, spilled = spills(f.read())
            ok = os.access(os.path.join(out, family), os.X_OK) and kernels > 0 and not spilled
            failed |= not ok
            print("%s -tp %d: %s, %d kernels for %s, %s" % (
                family, tp, "built" if ok else "NOT BUILT", kernels, " and ".join(archs),
                "no spills" if not spilled else "spills: " + "; ".join(spilled)))
            built.append((family, tp, out))
    for family, tp, out in built if args.run else []:
        p = subprocess.run(MPIRUN + ["-np", str(tp), os.path.join(out, family)] + RANDOM_INPUT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        lines = [l for l in p.stderr.decode(errors="replace").splitlines()
                 if l.startswith("tpc:")]
        print("%s -tp %d run here: status %d, %d line%s: %s" % (
            family, tp, p.returncode, len(lines), "" if len(lines) == 1 else "s",
            " | ".join(lines)))
        failed |= p.returncode != 1 or len(lines) != 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
