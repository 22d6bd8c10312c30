"""make_big.py PATH ROWS COLS — a safetensors file holding one F32 tensor "big" [ROWS, COLS]
(values row + col / COLS), flushed to disk and dropped from the page cache, so that a reader's
/proc/self/io read_bytes counts what it really reads. `make_big.py --evict PATH` only drops it.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rtfiles  # noqa: E402


def evict(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)


def main():
    if sys.argv[1] == "--evict":
        evict(sys.argv[2])
        return
    path, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    raw_len = rows * cols * 4
    header = rtfiles.header_bytes({"big": {"dtype": "F32", "shape": [rows, cols],
                                           "data_offsets": [0, raw_len]}})
    with open(path, "wb") as f:
        f.write(len(header).to_bytes(8, "little"))
        f.write(header)
        block = 256
        for r in range(0, rows, block):
            n = min(block, rows - r)
            values = (np.arange(r, r + n, dtype=np.float32)[:, None]
                      + np.arange(cols, dtype=np.float32)[None, :] / np.float32(cols))
            f.write(values.astype("<f4").tobytes())
    evict(path)


main()
