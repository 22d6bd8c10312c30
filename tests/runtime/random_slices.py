"""random_slices.py [--bf16] CHECKPOINT OUTDIR SEED ROUNDS -- MPIRUN... RT_WEIGHTS

Random slices of the tensors of make_checkpoints.py's good.safetensors (random ranges per rank
and dimension: several, out of order, touching, overlapping, empty; a random layout), read by
RT_WEIGHTS under MPIRUN (e.g. `mpirun -np 3 build/.../rt_weights`), every tensor once a round,
and checked with check_slices.py. Prints "N random slices at WORLD ranks ok" or what differs.
--bf16 reads into bf16 destinations (rt_weights --bf16, check_slices.py --bf16).
"""
import os
import random
import subprocess
import sys

SHAPES = {"a1": (10,), "b2": (8, 6), "c3": (4, 5, 6), "d4": (3, 4, 5, 2), "h2": (8, 6),
          "h3": (4, 5, 6), "g2": (8, 6), "g4": (3, 4, 5, 2)}


def ranges(rng, size):
    """A group: whole, or one to three ranges, which may be empty, touch or overlap."""
    if rng.random() < 0.25:
        return "*"
    parts = []
    for _ in range(rng.randint(1, 3)):
        start = rng.randint(0, size)
        parts.append("%d-%d" % (start, rng.randint(start, size)))
    return "+".join(parts)


def spec(rng, name, world):
    shape = SHAPES[name]
    dims = []
    for size in shape:
        if rng.random() < 0.3:
            dims.append(ranges(rng, size))  # every rank the same
        else:
            dims.append("/".join(ranges(rng, size) for _ in range(world)))
    layout = rng.choice(["c", "t", "pad"])
    return "%s=%s@%s@%s" % (name, "x".join(map(str, shape)), ",".join(dims), layout)


def main():
    bf16 = ["--bf16"] if sys.argv[1] == "--bf16" else []
    args = sys.argv[1 + len(bf16):]
    checkpoint, outdir, seed, rounds = args[0], args[1], int(args[2]), int(args[3])
    command = sys.argv[sys.argv.index("--") + 1:]
    world = int(command[command.index("-np") + 1])
    rng = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    checker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_slices.py")
    for _ in range(rounds):  # every tensor once a round, one run of rt_weights a round
        specs = [spec(rng, name, world) for name in sorted(SHAPES)]
        subprocess.run(command + [outdir] + bf16 + specs + ["--", "--weights", checkpoint],
                       check=True)
        check = subprocess.run([sys.executable, checker] + bf16 +
                               [checkpoint, outdir, str(world)] + specs,
                               capture_output=True, text=True)
        if check.returncode != 0:
            print("specs %s:\n%s" % (" ".join(specs), check.stdout.strip()))
            sys.exit(1)
    print("%d random slices at %d ranks ok" % (rounds * len(SHAPES), world))


main()
