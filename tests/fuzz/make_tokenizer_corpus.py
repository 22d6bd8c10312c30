#!/usr/bin/python3
"""Seeds for fuzz_tokenizer (tests/fuzz/corpus/tokenizer): small tokenizer.json files, one per
family of components, each followed by a NUL byte and a text to encode. All but the ones named
*-nohf load in Hugging Face tokenizers 0.15 too: tests/tokenizer/components.test compares them.

    make_tokenizer_corpus.py DIR           the seeds (JSON, NUL, text)
    make_tokenizer_corpus.py --json DIR    the JSON alone of the seeds HF loads, as NAME.json
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from bytelevel import byte_chars  # noqa: E402

TEXT = "Hello wörld, ça va? 東京 👨\u200d👩 e\u0301 <|endoftext|> [CLS]  \t 123 don't ▁x".encode()


def bpe(vocab_tokens, merges, **kw):
    vocab = {t: i for i, t in enumerate(vocab_tokens)}
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
             "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
             "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]}
    model.update(kw)
    return model


def added(content, id_, **kw):
    a = {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
    a.update(kw)
    return a


def tokenizer(model, normalizer=None, pre=None, post=None, decoder=None, added_tokens=(),
              truncation=None, padding=None):
    return {"version": "1.0", "truncation": truncation, "padding": padding,
            "added_tokens": list(added_tokens), "normalizer": normalizer, "pre_tokenizer": pre,
            "post_processor": post, "decoder": decoder, "model": model}


def byte_level(add_prefix_space, use_regex):
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": True,
            "use_regex": use_regex}


def template(name, id_):
    return {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": name, "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [], "special_tokens": {name: {"id": name, "ids": [id_], "tokens": [name]}}}


def seeds():
    chars = byte_chars()
    merges = [("h", "e"), ("l", "l"), ("he", "ll"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or")]
    yield "gpt2", tokenizer(
        bpe(chars, merges), pre=byte_level(False, True), decoder=byte_level(True, True),
        post=byte_level(True, True),
        added_tokens=[added("<|endoftext|>", 270)])
    yield "llama3", tokenizer(
        bpe(chars, merges), normalizer={"type": "NFC"},
        pre={"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": r"(?i:'s|'t)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                                                   r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s+(?!\S)|\s+"},
             "behavior": "Isolated", "invert": False},
            byte_level(False, False)]},
        post=template("<|begin_of_text|>", 271), decoder=byte_level(True, True),
        added_tokens=[added("<|begin_of_text|>", 271), added("wörld", 272, normalized=True,
                                                              special=False),
                      added("[CLS]", 273, lstrip=True, rstrip=True)])
    pieces = ["<unk>", "<s>", "</s>", "▁", "a", "b", "e", "H", "l", "o", "▁H", "<0xC3>", "<0xA9>",
              "<0xE2>", "<0x96>", "<0x81>", "<0x20>"]
    yield "llama2", tokenizer(
        bpe(pieces, [("▁", "H"), ("l", "l"), ("▁H", "e")], unk_token="<unk>", fuse_unk=True,
            byte_fallback=True),
        normalizer={"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        post=template("<s>", 1), added_tokens=[added("<unk>", 0), added("<s>", 1)],
        decoder={"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})
    yield "metaspace", tokenizer(
        bpe(pieces, [("▁", "H"), ("l", "l")], unk_token="<unk>", byte_fallback=True),
        pre={"type": "Metaspace", "replacement": "▁", "add_prefix_space": True,
             "prepend_scheme": "first"},
        decoder={"type": "Sequence", "decoders": [
            {"type": "ByteFallback"},
            {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}]})
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", ",", "?", "ca", "##va", "va",
             "東", "京", "don", "'", "t", "1", "##2", "##3", "e"]
    wp = {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
          "max_input_chars_per_word": 10, "vocab": {w: i for i, w in enumerate(words)}}
    yield "bert", tokenizer(
        wp, normalizer={"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                        "strip_accents": None, "lowercase": True},
        pre={"type": "BertPreTokenizer"},
        post={"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        decoder={"type": "WordPiece", "prefix": "##", "cleanup": True},
        added_tokens=[added(w, i) for i, w in enumerate(words[:4])],
        truncation={"max_length": 12, "strategy": "LongestFirst", "stride": 0,
                    "direction": "Left"},
        padding={"strategy": {"Fixed": 16}, "direction": "Left", "pad_to_multiple_of": 8,
                 "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"})
    yield "whitespace", tokenizer(
        wp, normalizer={"type": "Sequence", "normalizers": [
            {"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"},
            {"type": "Strip", "strip_left": True, "strip_right": False}]},
        pre={"type": "Whitespace"}, decoder={"type": "BPEDecoder", "suffix": "</w>"},
        padding={"strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": None,
                 "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"})
    for behavior in ["Removed", "MergedWithPrevious", "MergedWithNext", "Contiguous"]:
        yield "split-" + behavior, tokenizer(
            bpe(chars, merges), normalizer={"type": "Lowercase"},
            pre={"type": "Sequence", "pretokenizers": [
                {"type": "WhitespaceSplit"},
                {"type": "Split", "pattern": {"String": "o"}, "behavior": behavior,
                 "invert": behavior == "Removed"},
                byte_level(True, False)]},
            post={"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                  "trim_offsets": True, "add_prefix_space": True},
            decoder=byte_level(True, True))
    # not in HF 0.15 (newer files have it): the fuzzer's only
    yield "ignore-merges-nohf", tokenizer(bpe(chars, merges, ignore_merges=True),
                                          pre=byte_level(False, True))


def main():
    plain = sys.argv[1] == "--json"
    out = sys.argv[-1]
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        blob = json.dumps(data, ensure_ascii=False).encode()
        if plain and not name.endswith("-nohf"):
            with open(os.path.join(out, name + ".json"), "wb") as f:
                f.write(blob)
        elif not plain:
            with open(os.path.join(out, name), "wb") as f:
                f.write(blob + b"\0" + TEXT)


main()
