"""make_corpus.py — writes the fuzzers' hand-made seeds into corpus/ beside this file.

Run by hand when the seeds should change; the files are kept in the repository. They have no
.npy or .safetensors suffix, which the repository ignores elsewhere. corpus/ also holds inputs
the fuzzers found in longer runs (named by their SHA-1), added with
    build/tests/fuzz/fuzz_npy -merge=1 corpus/npy NEW-CORPUS-DIR
"""
import io
import os
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "runtime"))
import rtfiles  # noqa: E402


def npy_seeds(out):
    arrays = {
        "f4-2x3": np.arange(6, dtype="<f4").reshape(2, 3),
        "i4-1d": np.arange(5, dtype="<i4"),
        "i8-ids": np.array([[1, 2], [3, 2**31 - 1]], dtype="<i8"),
        "f4-scalar": np.array(1.5, dtype="<f4"),
        "f4-empty": np.zeros((0, 4), dtype="<f4"),
        "f4-4d": np.ones((2, 1, 2, 3), dtype="<f4"),
    }
    for name, array in arrays.items():
        buf = io.BytesIO()
        np.lib.format.write_array(buf, array, version=(1, 0))
        with open(os.path.join(out, name), "wb") as f:
            f.write(buf.getvalue())
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.arange(3, dtype="<f4"), version=(2, 0))
    with open(os.path.join(out, "f4-v2"), "wb") as f:
        f.write(buf.getvalue())


def safetensors_seeds(out):
    rng = np.random.default_rng(7)
    rtfiles.write_safetensors(os.path.join(out, "mixed"), [
        ("a", "F32", rng.standard_normal((3, 4)).astype(np.float32)),
        ("b", "F16", rng.standard_normal((2, 3, 2)).astype(np.float32)),
        ("c", "BF16", rng.standard_normal((5,)).astype(np.float32)),
        ("d", "F32", np.array(1.0, dtype=np.float32)),
        ("e", "I64", np.arange(3)),
    ], {"format": "pt"})
    rtfiles.write_safetensors(os.path.join(out, "four-dims"), [
        ("w", "F32", np.ones((2, 3, 2, 2), dtype=np.float32)),
        ("z", "F32", np.zeros((0, 3), dtype=np.float32)),
    ])
    rtfiles.write_raw(os.path.join(out, "empty"), {})


def main():
    for kind, write in (("npy", npy_seeds), ("safetensors", safetensors_seeds)):
        out = os.path.join(here, "corpus", kind)
        os.makedirs(out, exist_ok=True)
        write(out)


main()
