#!/usr/bin/python3
"""Lines of text for the tokenizer tests, the same for a given seed:

    corpus.py SEED LINES > FILE

English prose, code, numbers, runs of spaces and tabs, accents (precomposed and as combining
marks), CJK, emoji with ZWJ and skin tones, right-to-left scripts, other scripts, special
tokens inside text, and lines of random code points. One line per line: no '\\n' inside.
"""
import random
import sys

WORDS = ("the of and to in is was for that with as on by at from his her it an were which "
         "are this also be has had or first one their its new after but who not they have "
         "two been other when there all during into school time may years more most only "
         "over city some world would where later up such used many can state about national "
         "out known university united then made between several under while however being "
         "tokenizer compiler tensor parallel weights Hugging Face GPT Llama Qwen BERT don't "
         "I'm we've they're it's you'll she'd O'Neil rock'n'roll").split()
CODE = [
    "def forward(self, x: torch.Tensor) -> torch.Tensor:",
    "    return self.down(F.silu(self.gate(x)) * self.up(x))",
    "for (int i = 0; i < n; i++) { y[i] += a * x[i]; }",
    "#include <stdio.h>", "if (err != NULL && *err) { fprintf(stderr, \"%s\\n\", err); }",
    "x = [i**2 for i in range(10) if i % 2 == 0]  # squares",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
    "const f = (a, b) => a?.b ?? b; // nullish", "\tmov eax, [rbp-0x10]", "<div class=\"x\">&amp;</div>",
    "{\"key\": [1, 2.5e-3, true, null], \"s\": \"\\u00e9\"}", "a+=1;b-=2;c*=3;d/=4;e%=5;f<<=6;g>>=7",
    "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2?x=1&y=2#top",
]
ACCENTS = ["café", "naïve", "résumé", "Ångström", "façade", "jalapeño", "Straße", "Œuvre",
           "Việt Nam", "tiếng Việt", "İstanbul", "ĞÜŞÖÇ", "Ærøskøbing", "Dvořák", "Łódź",
           "cafe\u0301", "nai\u0308ve", "A\u030a", "e\u0301\u0302\u0323", "o\u0308\u0304",
           "ﬁnal ﬂow", "ǅemal", "ΣΊΣΥΦΟΣ ὀδυσσεύς", "Ⅻ", "①②③"]
CJK = ["東京は日本の首都です。", "北京欢迎你", "我爱自然语言处理！", "カタカナとひらがな",
       "한국어 텍스트입니다", "中文，標點。符號？", "漢字かな交じり文", "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ"]
EMOJI = ["👨\u200d👩\u200d👧\u200d👦", "🏳\ufe0f\u200d🌈", "👍🏽", "🧑\u200d💻", "❤\ufe0f",
         "🇫🇷🇯🇵", "😀😃😄", "🥰", "👩🏾\u200d🚀", "1\ufe0f\u20e3", "🫠"]
RTL = ["مرحبا بالعالم", "السَّلَامُ عَلَيْكُمْ", "שלום עולם", "עִבְרִית", "\u200fמימין\u200f",
       "فارسی ۱۲۳", "اردو ٤٥٦"]
OTHER = ["Привет, мир!", "Ελληνικά κείμενα", "नमस्ते दुनिया", "สวัสดีครับ", "ქართული",
         "Հայերեն", "ᚠᚢᚦᚨᚱᚲ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u00a0nbsp\u2009thin\u3000ideo", "zero\u200bwidth",
         "soft\u00adhyphen", "ctrl\x01\x7f\x85chars", "\ufffdreplacement", "tab\there"]
SPECIAL = ["<|endoftext|>", "<s>", "</s>", "[CLS]", "[SEP]", "[MASK]", "<unk>", "[PAD]",
           "<|begin_of_text|>"]
SPACES = [" ", "  ", "   ", "\t", " \t ", "    ", "\r", "\u3000", "\u00a0", "        "]


def number(r):
    k = r.randrange(7)
    if k == 0:
        return str(r.randrange(10 ** r.randrange(1, 12)))
    if k == 1:
        return f"{r.uniform(-1e4, 1e4):.{r.randrange(6)}f}"
    if k == 2:
        return f"{r.randrange(10**7):,}"
    if k == 3:
        return f"{r.randrange(1900, 2100)}-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}"
    if k == 4:
        return hex(r.randrange(1 << 32))
    if k == 5:
        return f"{r.uniform(0, 1):.3e}"
    return f"+1 ({r.randrange(100, 999)}) {r.randrange(100, 999)}-{r.randrange(1000, 9999)}"


def prose(r):
    words = [r.choice(WORDS) for _ in range(r.randrange(3, 25))]
    if r.random() < 0.5:
        words[0] = words[0].capitalize()
    text = " ".join(words)
    return text + r.choice([".", "!", "?", "...", ",", ";", ":", " —", ""])


def random_chars(r):
    out = []
    for _ in range(r.randrange(1, 30)):
        block = r.choice([(0x20, 0x7f), (0xa0, 0x250), (0x300, 0x370), (0x370, 0x530),
                          (0x590, 0x700), (0x900, 0x980), (0x3040, 0x3100), (0x4e00, 0x9fff),
                          (0xac00, 0xd7a4), (0x1f300, 0x1fa00), (0x2000, 0x2070), (0xfe00, 0xfe10),
                          (0x1100, 0x1200), (0x10000, 0x10400), (0x20000, 0x20100),
                          (0xe000, 0xe010), (0x1, 0x20)])
        c = r.randrange(*block)
        if c != 10:
            out.append(chr(c))
    return "".join(out)


def line(r):
    k = r.randrange(12)
    parts = []
    for _ in range(r.randrange(1, 6)):
        pick = r.randrange(11) if k == 0 else k - 1 if k < 11 else r.randrange(11)
        parts.append([prose, lambda r: r.choice(CODE), number, lambda r: r.choice(SPACES),
                      lambda r: r.choice(ACCENTS), lambda r: r.choice(CJK),
                      lambda r: r.choice(EMOJI), lambda r: r.choice(RTL),
                      lambda r: r.choice(OTHER), lambda r: r.choice(SPECIAL),
                      random_chars][pick](r))
    sep = r.choice([" ", "", " ", "  ", "\t"])
    text = sep.join(parts)
    if r.random() < 0.1:
        text = r.choice(SPACES) + text
    if r.random() < 0.1:
        text = text + r.choice(SPACES)
    return text.replace("\n", " ")


def main():
    r = random.Random(int(sys.argv[1]))
    out = [line(r) for _ in range(int(sys.argv[2]))]
    out += ["", " ", "  a", "a  ", "\t\t", "'s 've 'RE", "x" * 300, "ab" * 200 + " " + "é" * 150]
    sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8", "surrogatepass"))


main()
