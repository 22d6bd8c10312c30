#!/usr/bin/python3
"""Malformed tokenizer.json files and inputs, each given to tpc-tokenize:

    malformed.py TPC_TOKENIZE DIR

Writes a small valid byte-level BPE tokenizer (no Hugging Face needed), then one file per
defect, runs tpc-tokenize on each and prints "NAME: <its stderr>" when it failed as it must
(status 1, exactly one line, "tpc-tokenize: " in front, no sanitizer report), else
"NAME: WRONG ..." with what happened. Then every cut of the valid file (truncated JSON) and
every byte of it replaced, summarised in one line each.
"""
import json
import os
import subprocess
import sys

from bytelevel import byte_chars

TOOL, DIR = sys.argv[1], sys.argv[2]


def base():
    vocab = {c: i for i, c in enumerate(byte_chars())}
    merges = []
    for a, b in [("h", "e"), ("l", "l"), ("he", "ll"), ("Ġ", "w"), ("o", "r")]:
        vocab[a + b] = len(vocab)
        merges.append(f"{a} {b}")
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": len(vocab), "content": "<|endoftext|>", "single_word": False,
                              "lstrip": False, "rstrip": False, "normalized": False,
                              "special": True}],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                              "use_regex": True},
            "post_processor": None, "decoder": {"type": "ByteLevel"},
            "model": {"type": "BPE", "dropout": None, "unk_token": None,
                      "continuing_subword_prefix": None, "end_of_word_suffix": None,
                      "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": merges}}


def variant(change):
    d = json.loads(json.dumps(base()))
    change(d)
    return json.dumps(d, ensure_ascii=False).encode()


def nest(depth):
    n = {"type": "Lowercase"}
    for _ in range(depth):
        n = {"type": "Sequence", "normalizers": [n]}
    return n


CASES = {
    "empty": b"",
    "truncated": json.dumps(base()).encode()[:200],
    "not-json": b"tokenizer",
    "not-an-object": b"[1, 2]",
    "duplicate-key": b'{"model": {}, "model": {}}',
    "no-model": variant(lambda d: d.pop("model")),
    "model-unigram": variant(lambda d: d["model"].update(type="Unigram")),
    "model-not-object": variant(lambda d: d.update(model=7)),
    "vocab-missing": variant(lambda d: d["model"].pop("vocab")),
    "vocab-id-negative": variant(lambda d: d["model"]["vocab"].update({"x": -1})),
    "vocab-id-huge": variant(lambda d: d["model"]["vocab"].update({"x": 2 ** 40})),
    "vocab-id-string": variant(lambda d: d["model"]["vocab"].update({"x": "1"})),
    "merge-unknown-token": variant(lambda d: d["model"]["merges"].append("zz q")),
    "merge-unknown-result": variant(lambda d: d["model"]["merges"].append("a b")),
    "merge-three-parts": variant(lambda d: d["model"]["merges"].append("a b c")),
    "merge-not-string": variant(lambda d: d["model"]["merges"].append(5)),
    "merges-missing": variant(lambda d: d["model"].pop("merges")),
    "dropout": variant(lambda d: d["model"].update(dropout=0.1)),
    "unk-not-in-vocab": variant(lambda d: d["model"].update(unk_token="<unk>")),
    "regex-rejected": variant(lambda d: d.update(pre_tokenizer={
        "type": "Split", "pattern": {"Regex": "(\\p{L}+"}, "behavior": "Isolated",
        "invert": False})),
    "split-behavior": variant(lambda d: d.update(pre_tokenizer={
        "type": "Split", "pattern": {"String": " "}, "behavior": "Sideways", "invert": False})),
    "split-no-pattern": variant(lambda d: d.update(pre_tokenizer={
        "type": "Split", "behavior": "Isolated", "invert": False})),
    "pre-digits": variant(lambda d: d.update(pre_tokenizer={"type": "Digits",
                                                            "individual_digits": True})),
    "pre-no-type": variant(lambda d: d.update(pre_tokenizer={"kind": "ByteLevel"})),
    "normalizer-nfkc": variant(lambda d: d.update(normalizer={"type": "NFKC"})),
    "normalizer-regex-replace": variant(lambda d: d.update(normalizer={
        "type": "Replace", "pattern": {"Regex": " +"}, "content": " "})),
    "normalizer-nested": variant(lambda d: d.update(normalizer=nest(20))),
    "bert-lowercase-string": variant(lambda d: d.update(normalizer={
        "type": "BertNormalizer", "lowercase": "yes"})),
    "decoder-ctc": variant(lambda d: d.update(decoder={"type": "CTC"})),
    "decoder-metaspace-empty": variant(lambda d: d.update(decoder={
        "type": "Metaspace", "replacement": "", "add_prefix_space": True})),
    "decoder-strip-long": variant(lambda d: d.update(decoder={
        "type": "Strip", "content": "ab", "start": 1, "stop": 0})),
    "post-unknown": variant(lambda d: d.update(post_processor={"type": "Bogus"})),
    "template-unknown-special": variant(lambda d: d.update(post_processor={
        "type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                 {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [], "special_tokens": {}})),
    "template-no-sequence": variant(lambda d: d.update(post_processor={
        "type": "TemplateProcessing", "single": [], "pair": [], "special_tokens": {}})),
    "added-id-out-of-range": variant(lambda d: d["added_tokens"][0].update(id=-5)),
    "added-empty": variant(lambda d: d["added_tokens"][0].update(content="")),
    "added-single-word": variant(lambda d: d["added_tokens"][0].update(single_word=True)),
    "added-not-array": variant(lambda d: d.update(added_tokens={"a": 1})),
    "padding-strategy": variant(lambda d: d.update(padding={"strategy": "Longest"})),
    "truncation-negative": variant(lambda d: d.update(truncation={"max_length": -1})),
}


def run(name, path, args=(), stdin=b""):
    p = subprocess.run([TOOL, path] + list(args), input=stdin, capture_output=True, timeout=60)
    err = p.stderr.decode("utf-8", "replace")
    lines = err.splitlines()
    good = (p.returncode == 1 and len(lines) == 1 and lines[0].startswith("tpc-tokenize: ")
            and "Sanitizer" not in err)
    return good, p.returncode, err


def main():
    os.makedirs(DIR, exist_ok=True)
    for name, data in CASES.items():
        path = os.path.join(DIR, name + ".json")
        with open(path, "wb") as f:
            f.write(data)
        good, status, err = run(name, path, stdin=b"hello world\n")
        print(f"{name}: {err.strip()}" if good else f"{name}: WRONG status {status}: {err!r}")
    valid = os.path.join(DIR, "valid.json")
    with open(valid, "wb") as f:
        f.write(json.dumps(base()).encode())
    for name, args, stdin in [("missing-file", [], b""), ("text-not-utf8", [], b"ok\nab\xff\xfe\n"),
                              ("decode-not-ids", ["--decode"], b"1 2\n3 x\n"),
                              ("decode-id-too-big", ["--decode"], b"99999999999\n")]:
        path = os.path.join(DIR, "nonexistent.json") if name == "missing-file" else valid
        good, status, err = run(name, path, args, stdin)
        print(f"{name}: {err.strip()}" if good else f"{name}: WRONG status {status}: {err!r}")
    # every cut of the file, and every byte of its start replaced: refused in one line or
    # loaded (a cut can leave valid JSON only at the end), never a crash
    data = json.dumps(base()).encode()
    for what, files in [("cut", [data[:n] for n in range(0, len(data), max(1, len(data) // 80))]),
                        ("byte", [data[:i] + bytes([c]) + data[i + 1:] for i in range(0, 400, 10)
                                  for c in (0, ord('"'), ord("}"), 0xff)])]:
        refused = loaded = 0
        for k, blob in enumerate(files):
            path = os.path.join(DIR, f"{what}.json")
            with open(path, "wb") as f:
                f.write(blob)
            p = subprocess.run([TOOL, path], input=b"hello world\n", capture_output=True,
                               timeout=60)
            err = p.stderr.decode("utf-8", "replace")
            if p.returncode == 0 and not err:
                loaded += 1
            elif p.returncode == 1 and len(err.splitlines()) == 1 and "Sanitizer" not in err:
                refused += 1
            else:
                print(f"{what} {k}: WRONG status {p.returncode}: {err!r}")
        print(f"{what}: {len(files)} files, {refused} refused in one line, {loaded} loaded")


main()
