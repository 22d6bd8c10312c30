"""check_escapes.py BUILD DIR — text from a checkpoint or a path never reaches the terminal raw.

Writes files whose tensor names, dtypes, shard names, .npy dtype and paths hold control
characters (ESC sequences that would clear the screen or retitle the terminal, BEL, a C1 CSI) or
bytes that are not UTF-8, runs the runtime on each, and fails if any output byte is a control
character other than a newline, or the output is not UTF-8. Prints each command's error line
for FileCheck, which checks how the bytes are shown ("\\x1b").
"""
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rtfiles  # noqa: E402

ESC_NAME = "w\x1b]0;pwned\x07"         # OSC: retitles the terminal
ESC_DTYPE = "F\x1b[2J"                  # clears the screen
C1_NAME = "v\u009b31m"                  # C1 CSI, two bytes in UTF-8
MPIRUN = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", "1"]


def files(top):
    os.makedirs(os.path.join(top, "index"), exist_ok=True)
    rtfiles.write_raw(os.path.join(top, "dtype.safetensors"),
                      {ESC_NAME: {"dtype": ESC_DTYPE, "shape": [1], "data_offsets": [0, 4]}},
                      b"\0" * 4)
    rtfiles.write_raw(os.path.join(top, "overlap.safetensors"),
                      {ESC_NAME: {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                       C1_NAME: {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}},
                      b"\0" * 8)
    with open(os.path.join(top, "index", "model.safetensors.index.json"), "w") as f:
        json.dump({"weight_map": {ESC_NAME: "shard\x1b[2J.safetensors"}}, f)
    header = "{'descr': '<f\x1b[2J', 'fortran_order': False, 'shape': (3,), }"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    with open(os.path.join(top, "descr.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout
    bad = [b for b in out if (b < 0x20 and b != 0x0a) or b == 0x7f]
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        print("not UTF-8: %r" % out)
        sys.exit(1)
    if bad or any(0x80 <= ord(c) <= 0x9f for c in text):
        print("raw control characters in: %r" % out)
        sys.exit(1)
    for line in text.splitlines():
        if line.startswith("tpc: rank") or ": error: " in line:
            print(line)


def main():
    build, top = sys.argv[1], sys.argv[2]
    files(top)
    rt = os.path.join(build, "tests", "runtime")
    program = MPIRUN + [os.path.join(rt, "rt_program"), "1", "one", "--", "--random-weights", "1"]
    weights = MPIRUN + [os.path.join(rt, "rt_weights"), top, "--"]
    run([os.path.join(rt, "rt_safetensors"), os.path.join(top, "dtype.safetensors"),
         os.path.join(top, "overlap.safetensors")])
    run(weights + ["--weights", os.path.join(top, "dtype.safetensors")])
    run(weights + ["--weights", os.path.join(top, "overlap.safetensors")])
    run(weights + ["--weights", os.path.join(top, "index")])
    run(program + ["--input", os.path.join(top, "descr.npy")])
    run(program + ["--input", os.fsdecode(os.path.join(top, "in\x1b[2J\xff.npy").encode(
        "utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff"))])
    run(program + ["--frob\x1b[2J"])
    print("no raw control characters")


main()
