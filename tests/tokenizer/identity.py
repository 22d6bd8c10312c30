#!/usr/bin/python3
"""Tokenizers whose ids are the bytes of the normalized text, to test normalizers alone:

    identity.py OUTDIR      writes OUTDIR/NAME.json for each normalizer below, and
                            OUTDIR/marks.txt: lines of random combining sequences (accents,
                            Hangul jamo and syllables, compositions blocked and not)

Each file is a byte-level BPE with the 256 byte characters and no merges, so encode gives the
normalizer's output byte by byte, and compare.py checks it against HF on any text.
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "build", "pypi"))
from tokenizers import pre_tokenizers  # noqa: E402

NORMALIZERS = {
    "nfc": {"type": "NFC"},
    "nfd": {"type": "NFD"},
    "lowercase": {"type": "Lowercase"},
    "strip_accents": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}]},
    "bert_keep_case": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": False, "lowercase": False},
    "bert_strip": {"type": "BertNormalizer", "clean_text": False, "handle_chinese_chars": False,
                   "strip_accents": True, "lowercase": True},
    "strip": {"type": "Strip", "strip_left": True, "strip_right": True},
    "replace": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                {"type": "Replace", "pattern": {"String": "a"}, "content": "<A>"}]},
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(alphabet)}
    for name, norm in NORMALIZERS.items():
        data = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
                "normalizer": norm,
                "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False,
                                  "trim_offsets": True, "use_regex": False},
                "post_processor": None,
                "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                            "use_regex": True},
                "model": {"type": "BPE", "dropout": None, "unk_token": None,
                          "continuing_subword_prefix": None, "end_of_word_suffix": None,
                          "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": []}}
        with open(os.path.join(out, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)
    r = random.Random(3)
    pool = [chr(c) for c in list(range(0x41, 0x7b)) + list(range(0x300, 0x370)) +
            list(range(0x1100, 0x1176)) + list(range(0x11a8, 0x11c3)) +
            list(range(0xac00, 0xac40)) +
            [0xb47, 0xb3e, 0xb57, 0xc0, 0xe9, 0x1e0a, 0x323, 0x5b0, 0x5b9, 0x653, 0x654, 0x627,
             0x3099, 0x304b, 0x1d15e, 0x1d165, 0x130, 0x3a3, 0xdf, 0xfb01, 0x1f88, 0x2126]]
    lines = ["".join(r.choice(pool) for _ in range(r.randrange(1, 12))) for _ in range(2000)]
    with open(os.path.join(out, "marks.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


main()
