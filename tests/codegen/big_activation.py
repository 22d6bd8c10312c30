"""The checkpoint and ids for wide.tpl (a [1, 131073, 16384] activation), and the check of its
output y = mean(table[ids] + bias, -1) against NumPy.

usage: big_activation.py DIR [--check]
"""
import os
import sys

import numpy as np

from tpcref import safetensors

folder = sys.argv[1]
rng = np.random.default_rng(3)
table = rng.standard_normal((8, 16384)).astype(np.float32)
bias = (1 + 0.1 * rng.standard_normal(16384)).astype(np.float32)  # means near 1: no cancellation
ids = rng.integers(0, 8, size=(1, 131073)).astype(np.int32)
if "--check" not in sys.argv:
    safetensors.save_file({"table": table, "bias": bias}, os.path.join(folder, "wide.safetensors"))
    np.save(os.path.join(folder, "wide-ids.npy"), ids)
else:
    rows = (table.astype(np.float64) + bias).mean(-1)
    want = rows[ids]
    got = np.load(os.path.join(folder, "wide-y.npy"))
    err = float(np.linalg.norm(got - want) / np.linalg.norm(want))
    print("y %s: rel L2 = %.1e %s 3e-6" % (got.shape, err, "<=" if err <= 3e-6 else ">"))
