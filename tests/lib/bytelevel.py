"""GPT-2's byte-level alphabet (what HF's ByteLevel pre-tokenizer maps bytes to): the 256
characters, in byte order, that tokenizer files for the tests are written with."""


def byte_chars():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]
