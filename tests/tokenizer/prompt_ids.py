#!/usr/bin/python3
"""Hugging Face's ids for prompts, as the --input the built program would be given:

    prompt_ids.py TOKENIZER.json OUT.npy PROMPT...

Writes int32 [prompts, tokens] (every prompt must give as many tokens) and prints the ids.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "build", "pypi"))
from tokenizers import Tokenizer  # noqa: E402

tok = Tokenizer.from_file(sys.argv[1])
rows = [tok.encode(p).ids for p in sys.argv[3:]]
if len({len(r) for r in rows}) != 1:
    sys.exit(f"prompt_ids.py: the prompts give {[len(r) for r in rows]} tokens: pick others")
np.save(sys.argv[2], np.array(rows, dtype=np.int32))
for r in rows:
    print("hf ids:", *r)
