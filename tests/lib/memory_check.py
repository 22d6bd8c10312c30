"""Peak resident memory of each rank, measured from outside (GNU time wraps every rank), for a
model at -tp 1 and -tp 4, against the checkpoint's size: each rank at -tp 4 should hold about a
quarter of the weights plus the fixed cost of a process with MPI and OpenBLAS, which a tiny model
run the same way measures.

usage: memory_check.py TPC MODEL_DIR WORK
"""
import os
import sys

tpc, root, work = sys.argv[1:4]
sys.path.insert(0, os.path.join(root, "tests", "lib"))
from jobs import MPIRUN, run  # noqa: E402

CONFIG = ["vocab=8192", "hidden=1024", "layers=6", "heads=8", "kv_heads=2", "intermediate=2816"]


def peaks(program, tp, args):
    """Each rank's peak resident set in MB, as GNU time reports it. Each rank's figure goes to a
    file of its own (time -o), not to the shared stdout, where the ranks' lines can interleave."""
    stem = os.path.join(work, "peak_kb.%s" % os.path.basename(os.path.dirname(program)))
    for old in range(tp):
        if os.path.exists("%s.%d" % (stem, old)):
            os.remove("%s.%d" % (stem, old))
    wrapper = '/usr/bin/time -o "$0.$OMPI_COMM_WORLD_RANK" -f %M "$@"'
    out = run(MPIRUN + ["-np", str(tp), "sh", "-c", wrapper, stem, program] + args)
    found = []
    for rank in range(tp):
        try:
            with open("%s.%d" % (stem, rank)) as f:
                found.append(int(f.read().split()[-1]) / 1024)
        except (OSError, ValueError, IndexError) as e:
            sys.exit("memory_check: no peak figure from rank %d (%s):\n%s" % (rank, e, out))
    return found


os.makedirs(work, exist_ok=True)
run([sys.executable, "-m", "tpcref", "make", "llama", "--out", work, "--seq", "16", "--batch", "1"]
    + sum((["--set", c] for c in CONFIG), []))
ckpt = os.path.join(work, "ckpt")
weights_mb = sum(os.path.getsize(os.path.join(ckpt, f)) for f in os.listdir(ckpt)) / 2**20
io = ["--weights", ckpt, "--input", "tokens=" + os.path.join(work, "tokens.npy")]
defines = sum((["-D", c] for c in CONFIG), [])

# The fixed cost: the seed MLP at its tiny default size, 4 ranks.
run([tpc, os.path.join(root, "models", "mlp.tpl"), "-tp", "4", "-o", os.path.join(work, "tiny")])
tiny = peaks(os.path.join(work, "tiny", "mlp"), 4,
             ["--random-weights", "1", "--random-input", "2", "--dim", "batch=1", "--dim", "seq=16"])
overhead = max(tiny)

result = {}
for tp in (1, 4):
    out = os.path.join(work, "tp%d" % tp)
    run([tpc, os.path.join(root, "models", "llama.tpl"), "-tp", str(tp), "-o", out] + defines)
    result[tp] = peaks(os.path.join(out, "llama"), tp, io)

quarter = weights_mb / 4
print("checkpoint %.0f MB; fixed cost of a rank (tiny model): %.0f MB" % (weights_mb, overhead))
print("tp 1: peak %.0f MB" % result[1][0])
print("tp 4: peaks %s MB; a quarter of the weights + fixed cost = %.0f MB"
      % (", ".join("%.0f" % p for p in sorted(result[4])), quarter + overhead))
worst = max(result[4])
ok = worst <= 1.15 * (quarter + overhead) and result[1][0] >= weights_mb
print("tp 4 worst rank / (quarter + fixed) = %.2f: %s" % (worst / (quarter + overhead),
                                                          "ok" if ok else "too much"))
sys.exit(0 if ok else 1)
