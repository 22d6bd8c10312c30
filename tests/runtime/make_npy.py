"""make_npy.py DIR — .npy files for npy.test: NumPy's own (good) and hand-made broken ones.

Good ones are written by np.save / np.lib.format.write_array. Broken ones are built by npy()
below from a header text, so each has exactly one defect, named by its file name.
"""
import io
import os
import struct
import sys

import numpy as np


def npy(header, data=b"", version=1, length=None):
    """The bytes of a .npy file with this header text (padded as NumPy pads it)."""
    text = header.encode()
    preamble = 10 if version == 1 else 12
    text += b" " * (-(preamble + len(text) + 1) % 64) + b"\n"
    size = len(text) if length is None else length
    prefix = b"\x93NUMPY" + bytes([version, 0])
    prefix += struct.pack("<H" if version == 1 else "<I", size)
    return prefix + text + data


def save(path, array, version=(1, 0)):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, version=version)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    f4 = np.arange(6, dtype="<f4").reshape(2, 3)
    good = {
        "f4-2x3": f4,
        "i4-1d": np.array([3, -1, 7], dtype="<i4"),
        "i8-ids": np.array([[0, 5], [2**31 - 1, -2**31]], dtype="<i8"),
        "f4-scalar": np.array(2.5, dtype="<f4"),
        "f4-empty": np.zeros((0, 4), dtype="<f4"),
        "f4-4d": np.arange(24, dtype="<f4").reshape(1, 2, 3, 4) / 8,
    }
    for name, array in good.items():
        save(os.path.join(out, name + ".npy"), array)
    save(os.path.join(out, "f4-v2.npy"), f4, version=(2, 0))

    d = f4.tobytes()
    c_header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    bad = {
        "short": b"\x93NUM",
        "magic": b"\x93NUMPX" + npy(c_header, d)[6:],
        "version3": npy(c_header, d)[:6] + b"\x03\x00" + npy(c_header, d)[8:],
        "header-past-end": npy(c_header, d, length=4000),
        "header-huge": npy(c_header, d, version=2, length=1 << 31),
        "fortran": npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", d),
        "big-endian": npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", d),
        "float64": npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", d * 2),
        "unknown-key": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), "
                           "'extra': 1, }", d),
        "missing-shape": npy("{'descr': '<f4', 'fortran_order': False, }", d),
        "duplicate-key": npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                             "'shape': (2, 3), }", d),
        "shape-negative": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }", d),
        "shape-not-tuple": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", d),
        "shape-leading-zero": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (06,), }",
                                  d),
        "shape-overflow": npy("{'descr': '<f4', 'fortran_order': False, "
                              "'shape': (4294967296, 4294967296, 4294967296), }", d),
        "shape-too-big": npy("{'descr': '<f4', 'fortran_order': False, "
                             "'shape': (99999999999999999999,), }", d),
        "too-many-dims": npy("{'descr': '<f4', 'fortran_order': False, "
                             "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 6), }", d),
        "data-short": npy(c_header, d[:-4]),
        "data-long": npy(c_header, d + b"\0\0\0\0"),
        "i8-overflow": npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                           struct.pack("<qq", 1, 1 << 40)),
        "no-colon": npy("{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3), }", d),
        "after-dict": npy(c_header + " x", d),
        "unterminated": npy("{'descr': '<f4", d),
        "not-a-dict": npy("['descr', '<f4']", d),
    }
    for name, blob in bad.items():
        with open(os.path.join(out, "bad-" + name + ".npy"), "wb") as f:
            f.write(blob)


main()
