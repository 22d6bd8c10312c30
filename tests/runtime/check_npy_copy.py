"""check_npy_copy.py DIR ORIGINAL:COPY... — each COPY.npy that rt_npy --copy wrote from
ORIGINAL.npy holds the same values (ids as int32), and its header is padded as NumPy pads it."""
import os
import struct
import sys

import numpy as np

folder = sys.argv[1]
for pair in sys.argv[2:]:
    original, copy = (os.path.join(folder, name + ".npy") for name in pair.split(":"))
    want, saw = np.load(original), np.load(copy)
    if want.dtype == np.int64:
        want = want.astype(np.int32)
    with open(copy, "rb") as f:
        preamble = f.read(10)
    header = 10 + struct.unpack("<H", preamble[8:10])[0]
    same = want.dtype == saw.dtype and want.shape == saw.shape and np.array_equal(want, saw)
    print("%s: %s %s %s, header %d bytes%s" % (os.path.basename(copy), saw.dtype, saw.shape,
          "equal" if same else "DIFFERENT", header, "" if header % 64 == 0 else " (unaligned)"))
