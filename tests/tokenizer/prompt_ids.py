#!/usr/bin/python3
"""Hugging Face's encodings of prompts, as the --input files the built program would be given:

    prompt_ids.py TOKENIZER.json OUTDIR PROMPT...

Writes OUTDIR/tokens.npy and OUTDIR/token_types.npy (int32 [prompts, tokens]) and
OUTDIR/mask.npy (float32, the attention mask); every prompt must give as many tokens. Prints
the ids.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "build", "pypi"))
from tokenizers import Tokenizer  # noqa: E402

tok = Tokenizer.from_file(sys.argv[1])
out = sys.argv[2]
encodings = [tok.encode(p) for p in sys.argv[3:]]
if len({len(e.ids) for e in encodings}) != 1:
    sys.exit(f"prompt_ids.py: the prompts give {[len(e.ids) for e in encodings]} tokens: "
             "pick others")
os.makedirs(out, exist_ok=True)
np.save(os.path.join(out, "tokens.npy"), np.array([e.ids for e in encodings], dtype=np.int32))
np.save(os.path.join(out, "token_types.npy"),
        np.array([e.type_ids for e in encodings], dtype=np.int32))
np.save(os.path.join(out, "mask.npy"),
        np.array([e.attention_mask for e in encodings], dtype=np.float32))
for e in encodings:
    print("hf ids:", *e.ids)
