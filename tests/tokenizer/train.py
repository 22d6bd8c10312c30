#!/usr/bin/python3
"""Trains a small tokenizer of one kind with Hugging Face's own trainers and writes its
tokenizer.json:

    train.py KIND CORPUS OUT.json [VOCAB_SIZE]

KIND is one of
  gpt2      byte-level BPE, GPT-2's split (ByteLevel use_regex), <|endoftext|>
  llama3    byte-level BPE, Llama-3's regex in a Split, <|begin_of_text|> added by the template
  qwen2     byte-level BPE, NFC, Qwen2's regex, an added (normalized) token, lstrip/rstrip
  llama2    BPE with byte fallback (<0xNN> tokens), Prepend + Replace normalizers, no
            pre-tokenizer, the decoder sequence Replace, ByteFallback, Fuse, Strip; <s>
  metaspace BPE with byte fallback, the Metaspace pre-tokenizer and decoder
  bert      WordPiece, BertNormalizer, BertPreTokenizer, [CLS] $A [SEP], WordPiece decoder
  roberta   byte-level BPE, RobertaProcessing, lower case, WhitespaceSplit + ByteLevel
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "build", "pypi"))
from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers,  # noqa: E402
                        pre_tokenizers, processors, trainers)

LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
          r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
         r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


VOCAB = {}  # KIND -> size, from the command line (bench/tokenizer.py trains larger ones)


def byte_level(kind):
    tok = Tokenizer(models.BPE())
    if kind == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        special = ["<|endoftext|>"]
    elif kind == "roberta":
        tok.normalizer = normalizers.Lowercase()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.WhitespaceSplit(), pre_tokenizers.ByteLevel(add_prefix_space=True)])
        special = ["<s>", "</s>", "<pad>", "<unk>"]
    else:
        pattern = LLAMA3 if kind == "llama3" else QWEN2
        if kind == "qwen2":
            tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        special = ["<|begin_of_text|>", "<|end_of_text|>"]
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB.get(kind, 1200), special_tokens=special,
                                  show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    return tok, trainer


def byte_fallback(kind):
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()  # for training: words, not whole lines
    trainer = trainers.BpeTrainer(vocab_size=VOCAB.get(kind, 1000),
                                  special_tokens=["<unk>", "<s>", "</s>"], limit_alphabet=120,
                                  show_progress=False)
    return tok, trainer


def wordpiece():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=40))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=VOCAB.get("bert", 1500), limit_alphabet=300,
                                        show_progress=False,
                                        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                        "[MASK]"])
    return tok, trainer


def finish(kind, tok):
    """What the trainers do not set: post-processors, byte tokens, the Llama-2 pipeline."""
    def tid(t):
        return tok.token_to_id(t)
    if kind == "llama3":
        tok.post_processor = processors.TemplateProcessing(
            single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>",
                                                            tid("<|begin_of_text|>"))])
    if kind == "qwen2":
        tok.add_tokens([AddedToken("hello world", normalized=True),
                        AddedToken("<tool>", lstrip=True, rstrip=True, normalized=False)])
    if kind == "gpt2":
        tok.post_processor = processors.ByteLevel(trim_offsets=True)
    if kind == "roberta":
        tok.post_processor = processors.RobertaProcessing(("</s>", tid("</s>")),
                                                          ("<s>", tid("<s>")))
    if kind == "bert":
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            special_tokens=[("[CLS]", tid("[CLS]")), ("[SEP]", tid("[SEP]"))])
    data = json.loads(tok.to_str())
    if kind in ("llama2", "metaspace"):
        vocab = data["model"]["vocab"]
        for b in range(256):  # sentencepiece's byte pieces, as Llama-2's vocabulary has them
            vocab.setdefault(f"<0x{b:02X}>", len(vocab))
        data["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [vocab["<s>"]], "tokens": ["<s>"]}}}
    if kind == "llama2":
        data["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
        data["pre_tokenizer"] = None
        data["decoder"] = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    if kind == "metaspace":
        data["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True,
                                 "prepend_scheme": "first"}
        data["decoder"] = {"type": "Sequence", "decoders": [
            {"type": "ByteFallback"},
            {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True,
             "prepend_scheme": "first"}]}
    return data


def main():
    kind, corpus, out = sys.argv[1:4]
    if len(sys.argv) > 4:
        VOCAB[kind] = int(sys.argv[4])
    if kind in ("gpt2", "llama3", "qwen2", "roberta"):
        tok, trainer = byte_level(kind)
    elif kind in ("llama2", "metaspace"):
        tok, trainer = byte_fallback(kind)
    elif kind == "bert":
        tok, trainer = wordpiece()
    else:
        sys.exit(f"train.py: unknown kind {kind}")
    with open(corpus, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    tok.train_from_iterator(lines, trainer=trainer)
    data = finish(kind, tok)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
    Tokenizer.from_file(out)  # HF reads back what it will be compared with


main()
