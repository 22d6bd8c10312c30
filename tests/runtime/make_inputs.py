"""make_inputs.py DIR — input files for inputs.test (rt_program's inputs x, ids, mask, tokens).

Well-formed: x.npy f32[2, 3, 4], ids.npy <i8 [2, 3], ids4.npy <i4 [2, 3], mask.npy f32[3],
tokens.npy <i4 [4, 3]. Each of the others is wrong in the one way its name says.
"""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(5)
x = rng.standard_normal((2, 3, 4)).astype("<f4")
files = {
    "x": x,
    "ids": np.array([[1, 2, 3], [9, 0, 4]], dtype="<i8"),
    "ids4": np.array([[1, 2, 3], [9, 0, 4]], dtype="<i4"),
    "mask": np.ones(3, dtype="<f4"),
    "tokens": np.arange(12, dtype="<i4").reshape(4, 3) % 7,
    "ids-seq5": np.zeros((2, 5), dtype="<i4"),
    "ids-f4": np.zeros((2, 3), dtype="<f4"),
    "ids-out-of-table": np.array([[1, 2, 3], [9, 12, 4]], dtype="<i4"),
    "x-2d": np.zeros((2, 3), dtype="<f4"),
    "x-hidden5": np.zeros((2, 3, 5), dtype="<f4"),
    "x-fortran": np.asfortranarray(x),
}
for name, array in files.items():
    np.save(os.path.join(out, name + ".npy"), array)
