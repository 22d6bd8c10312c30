"""check_slices.py SOURCE OUTDIR WORLD SPEC...

Compares what rt_weights wrote (OUTDIR/NAME.rR.npy for every rank R < WORLD) with NumPy's slicing
of the full tensor: SOURCE is a checkpoint (read with rtfiles, NumPy alone) or random:SEED (the
runtime's random weights, computed with NumPy). Equality is exact, bit for bit. Prints
"NAME: WORLD ranks ok" per spec, or what differs and exits 1.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rtfiles  # noqa: E402


def parse_spec(spec):
    name, rest = spec.split("=", 1)
    shape_text, dims, *layout = rest.split("@")
    shape = tuple(int(n) for n in shape_text.split("x")) if shape_text else ()
    return name, shape, dims, layout[0] if layout else "c"


def main():
    source, outdir, world, specs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    tensors = None if source.startswith("random:") else rtfiles.read_checkpoint(source)
    failed = False
    for spec in specs:
        name, shape, dims, layout = parse_spec(spec)
        if tensors is None:
            full = rtfiles.random_weight(int(source.split(":")[1]), name, shape)
        else:
            full = tensors[name]
        for rank in range(world):
            want = rtfiles.expected_slice(full, dims, rank, layout)
            saw = np.load(os.path.join(outdir, "%s.r%d.npy" % (name, rank)))
            if saw.shape != want.shape or saw.tobytes() != want.astype("<f4").tobytes():
                print("%s: rank %d: expected %s %s, saw %s %s" % (name, rank, want.shape,
                      want.ravel()[:8], saw.shape, saw.ravel()[:8]))
                failed = True
                break
        else:
            print("%s: %d ranks ok" % (name, world))
    sys.exit(1 if failed else 0)


main()
