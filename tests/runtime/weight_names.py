"""weight_names.py BUILD DIR — tpcrt_weights_read's names, through rt_weights at 2 ranks.

A name pattern may hold "{i}" any number of times (each becomes the block's index), '%' (an
ordinary character: names never go through printf), and any length. For each pattern here,
rt_weights reads block 7 from a checkpoint that holds the expanded names, and from random
weights, which hash the expanded name; both are compared with NumPy, bit for bit. A pattern read
with block -1 is used as it is. Prints "NAME: ok" per case (long names cut to 40 bytes).
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import rtfiles  # noqa: E402
from jobs import MPIRUN, run  # noqa: E402

BLOCK = 7
SEED = 5
SHAPE = (4, 3)
DIMS = "0-2/2-4,*"  # rows split over 2 ranks
PATTERNS = [
    ("layers.{i}.w%d%s.{i}", BLOCK),         # '%' and "{i}" twice
    ("model.layers.{i}.mlp." + "x" * 600, BLOCK),  # a 600-byte name
    ("plain.{i}.%n", -1),                    # block -1: "{i}" stays as it is
]


def expand(pattern, block):
    return pattern.replace("{i}", str(block)) if block >= 0 else pattern


def check(outdir, name, full):
    for rank in range(2):
        want = rtfiles.expected_slice(full, DIMS, rank)
        saw = np.load(os.path.join(outdir, "%s.r%d.npy" % (name[:200], rank)))
        if saw.shape != want.shape or saw.tobytes() != want.astype("<f4").tobytes():
            print("%s: rank %d: expected %s, saw %s" % (name[:40], rank, want.ravel()[:4],
                                                        saw.ravel()[:4]))
            sys.exit(1)


def main():
    build, top = sys.argv[1], sys.argv[2]
    rt_weights = os.path.join(build, "tests", "runtime", "rt_weights")
    rng = np.random.default_rng(3)
    tensors = [(expand(p, b), "F32", rng.standard_normal(SHAPE).astype(np.float32))
               for p, b in PATTERNS]
    os.makedirs(top, exist_ok=True)
    checkpoint = os.path.join(top, "names.safetensors")
    rtfiles.write_safetensors(checkpoint, tensors)
    for (pattern, block), (name, _, values) in zip(PATTERNS, tensors):
        for source in ("checkpoint", "random"):
            outdir = os.path.join(top, source)
            os.makedirs(outdir, exist_ok=True)
            spec = "%s=%dx%d@%s" % (pattern, SHAPE[0], SHAPE[1], DIMS)
            weights = (["--weights", checkpoint] if source == "checkpoint"
                       else ["--random-weights", str(SEED)])
            run(MPIRUN + ["-np", "2", rt_weights, outdir, "--block", str(block), spec, "--"]
                + weights)
            full = values if source == "checkpoint" else rtfiles.random_weight(SEED, name, SHAPE)
            check(outdir, name, full)
            print("%s (%d bytes, block %d, %s): ok" % (name[:40], len(name), block, source))


main()
