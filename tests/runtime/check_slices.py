"""check_slices.py [--bf16] SOURCE OUTDIR WORLD SPEC...

Compares what rt_weights wrote (OUTDIR/NAME.rR.npy for every rank R < WORLD) with NumPy's slicing
of the full tensor: SOURCE is a checkpoint (read with rtfiles, NumPy alone) or random:SEED (the
runtime's random weights, computed with NumPy). Equality is exact, bit for bit. Prints
"NAME: WORLD ranks ok" per spec, or what differs and exits 1. With --bf16 (rt_weights --bf16) the
reference is rounded to bf16 (nearest even, NaN kept NaN) as the runtime's bf16 reads must round
it; a BF16 tensor's values are already bf16, so they are unchanged.
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
    args = sys.argv[1:]
    bf16 = args[0] == "--bf16"
    if bf16:
        args = args[1:]
    source, outdir, world, specs = args[0], args[1], int(args[2]), args[3:]
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
            if bf16:
                bits = rtfiles.bf16_bits(np.atleast_1d(want))  # a scalar too
                want = rtfiles.decode(bits.tobytes(), "BF16", want.shape)
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
