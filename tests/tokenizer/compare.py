#!/usr/bin/python3
"""tpc-tokenize against Hugging Face tokenizers on the same lines:

    compare.py TPC_TOKENIZE TOKENIZER.json CORPUS [--random-ids N]
    compare.py TPC_TOKENIZE DIR CORPUS [--random-ids N]     every DIR/*.json in turn

Encodes every line of CORPUS with both (HF: tokenizer.encode(line).ids) and decodes HF's ids
with both (tokenizer.decode(ids)); with --random-ids, also decodes N lines of random ids
(partial UTF-8 sequences, lone byte tokens, special tokens). Prints what it compared, and the
first differences; exits 1 when anything differs.
"""
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "build", "pypi"))
from tokenizers import Tokenizer  # noqa: E402


def run(tool, path, args, text):
    p = subprocess.run([tool, path] + args, input=text.encode("utf-8"), capture_output=True)
    if p.returncode != 0:
        sys.exit(f"compare.py: {tool} failed: {p.stderr.decode(errors='replace').strip()}")
    return p.stdout.decode("utf-8").split("\n")[:-1]


def report(what, expected, got, shown_inputs):
    bad = [i for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    if len(expected) != len(got):
        print(f"{what}: {len(got)} lines out, {len(expected)} expected")
        return False
    for i in bad[:5]:
        print(f"{what}: line {i + 1} differs\n  input {shown_inputs[i]!r}\n  hf    {expected[i]!r}"
              f"\n  tpc   {got[i]!r}")
    print(f"{what}: {len(expected) - len(bad)} of {len(expected)} lines identical")
    return not bad


def main():
    tool, path, corpus = sys.argv[1:4]
    nrandom = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--random-ids" else 0
    if not os.path.isdir(path):
        sys.exit(0 if compare(tool, path, corpus, nrandom) else 1)
    ok = True
    for name in sorted(os.listdir(path)):
        if name.endswith(".json"):
            print(f"{name}:")
            ok &= compare(tool, os.path.join(path, name), corpus, nrandom)
    sys.exit(0 if ok else 1)


def compare(tool, path, corpus, nrandom):
    tok = Tokenizer.from_file(path)
    with open(corpus, encoding="utf-8", newline="") as f:  # keep each "\r"
        lines = f.read().split("\n")[:-1]
    encodings = [tok.encode(line) for line in lines]  # one by one: BatchLongest pads a batch
    hf_ids = [" ".join(map(str, e.ids)) for e in encodings]
    ok = report("encode", hf_ids, run(tool, path, [], "\n".join(lines) + "\n"), lines)

    id_lists = [e.ids for e in encodings]
    r = random.Random(0)
    size = tok.get_vocab_size(with_added_tokens=True)
    randoms = [[r.randrange(size) for _ in range(r.randrange(0, 12))] for _ in range(nrandom)]
    # a line of output per line of ids: leave out the lists whose text holds a newline
    id_lists += [ids for ids, t in zip(randoms, tok.decode_batch(randoms)) if "\n" not in t]
    texts = [" ".join(map(str, ids)) for ids in id_lists]
    hf_text = tok.decode_batch(id_lists)
    got = run(tool, path, ["--decode"], "\n".join(texts) + "\n")
    ok &= report("decode", hf_text, got, texts)
    return ok


main()
