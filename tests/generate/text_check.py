#!/usr/bin/python3
"""What a program printed while generating from --prompt, against Hugging Face's decoding of
the new ids it wrote (--output tokens=FILE.npy):

    text_check.py TOKENIZER.json IDS.npy NEW STDOUT_FILE

Prints "text: equal" or both texts, and exits non-zero when they differ.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "build", "pypi"))
from tokenizers import Tokenizer  # noqa: E402

tok = Tokenizer.from_file(sys.argv[1])
ids = np.load(sys.argv[2])
new = int(sys.argv[3])
with open(sys.argv[4], "rb") as f:
    printed = f.read().decode("utf-8")
want = tok.decode([int(i) for i in ids[0, ids.shape[1] - new:]], skip_special_tokens=True)
if printed == want + "\n":
    print("text: equal, %d characters from %d new ids" % (len(want), new))
    sys.exit(0)
print("text: differs\nprinted: %r\nHF:      %r" % (printed, want + "\n"))
sys.exit(1)
