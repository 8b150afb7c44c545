#!/usr/bin/env python3
"""Independent reference encoder for GPT-2's byte-level BPE.

Follows the algorithm of OpenAI's original gpt-2 `encoder.py` (bytes -> printable unicode map, regex
pre-tokenization, greedy merging of the lowest-ranked adjacent pair, all occurrences at once) written
out again here, with no code shared with the C# implementation. `<|endoftext|>` is split out of the
text first and given its id, as Hugging Face's GPT-2 tokenizer does.

Rerun (from the repository root):
    apt-get install -y python3-regex        # the `regex` module: \\p{L} / \\p{N} classes
    /usr/bin/python3 tests/reference/gpt2_tokenizer_reference.py

Reads  models/gpt2-tokenizer/encoder.json and vocab.bpe
Writes tests/MechTests.Tests/Fixtures/tokenizers/gpt2_reference.json
"""
import json
import os

import regex

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ENCODER = os.path.join(ROOT, "models", "gpt2-tokenizer", "encoder.json")
MERGES = os.path.join(ROOT, "models", "gpt2-tokenizer", "vocab.bpe")
OUT = os.path.join(ROOT, "tests", "MechTests.Tests", "Fixtures", "tokenizers", "gpt2_reference.json")

SPECIAL = "<|endoftext|>"
PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def byte_to_char_table():
    """Printable bytes stand for themselves; the other 68 are moved up to U+0100 and beyond, in byte order."""
    printable = set(range(0x21, 0x7F)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    table = {}
    shifted = 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(0x100 + shifted)
            shifted += 1
    return table


def load():
    with open(ENCODER, encoding="utf-8") as f:
        encoder = json.load(f)
    with open(MERGES, encoding="utf-8") as f:
        lines = f.read().split("\n")
    ranks = {}
    for line in lines[1:]:  # first line is "#version: 0.2"
        if not line:
            continue
        left, right = line.split(" ")
        ranks[(left, right)] = len(ranks)
    return encoder, ranks


class Gpt2Reference:
    def __init__(self):
        self.encoder, self.ranks = load()
        self.byte_chars = byte_to_char_table()
        self.memo = {}

    def bpe(self, word):
        if word in self.memo:
            return self.memo[word]
        parts = list(word)
        while len(parts) > 1:
            adjacent = {(parts[i], parts[i + 1]) for i in range(len(parts) - 1)}
            best = min(adjacent, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged = []
            i = 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == best[0] and parts[i + 1] == best[1]:
                    merged.append(best[0] + best[1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self.memo[word] = parts
        return parts

    def encode_plain(self, text):
        ids = []
        for piece in PATTERN.findall(text):
            mapped = "".join(self.byte_chars[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[p] for p in self.bpe(mapped))
        return ids

    def encode(self, text):
        ids = []
        chunks = text.split(SPECIAL)
        for i, chunk in enumerate(chunks):
            if i > 0:
                ids.append(self.encoder[SPECIAL])
            ids.extend(self.encode_plain(chunk))
        return ids


CASES = [
    "",
    "Hello",
    " world",
    "Hello world",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure it's fine; they'll see we've done what you'd said.",
    "DON'T SHOUT: IT'S LOUD, THEY'RE HERE",
    "'s 't 're 've 'm 'll 'd",
    "rock'n'roll isn't o'clock",
    "1234567890",
    "3.14159 and 2.71828",
    "$1,000,000.00 in 2024",
    "phone: +1 (555) 010-9999",
    "café naïve résumé façade",
    "Zürich, Malmö, São Paulo",
    "e\u0301 (e + combining acute)",
    "日本語のテキストです。",
    "Привет, мир!",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "👋🌍",
    "I love 🍕 and 🤖!",
    "👨\u200d👩\u200d👧\u200d👦 family",
    "🇺🇸🇫🇷 flags",
    "𝐀𝐁𝐂 bold math letters",
    "𠀀𠀁 rare CJK",
    "𝟘𝟙𝟚 double-struck digits",
    "word𝐀𝐁mixed 𝐀! ab𠀀cd 12𝟘𝟙34 🍕!",
    "a  b",
    "a   b    c",
    "   leading spaces",
    "trailing spaces   ",
    "tab\tseparated\tvalues",
    "mixed \t whitespace",
    "line1\nline2",
    "paragraph one.\n\nparagraph two.",
    "windows\r\nline endings\r\n",
    "\n\n\n",
    " ",
    "non\u00a0breaking\u00a0space and ideographic\u3000space",
    "line\u2028separator",
    "<|endoftext|>",
    "Hello<|endoftext|>World",
    "end of doc.<|endoftext|> Start of next",
    " <|endoftext|> ",
    "<|endoftext|><|endoftext|>",
    "<|endoftext",
    "def square(x):\n    return x ** 2\n",
    "for (int i = 0; i < n; i++) { sum += a[i]; }",
    "https://example.com/path?query=1&b=two#frag",
    "email@example.org",
    "!!!???...---",
    "\"quoted\" and 'single' and `back`",
    "supercalifragilisticexpialidocious",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.",
    "When Mary and John went to the store, John gave a drink to",
    "The Eiffel Tower is located in the city of",
    "ALL CAPS SENTENCE WITH NUMBERS 42 AND SYMBOLS #@!",
    "control\x01\x02chars\x7f",
    "ünïcödé ÜNÏCÖDÉ",
    "½ ¾ ² ³ ① Ⅻ",
    "x²+y²=z²",
    "C++ / C# / F#",
]


def format_fixture(doc):
    """One case per line keeps diffs of the fixture readable; ASCII escapes keep it encoding-proof."""
    head = {k: v for k, v in doc.items() if k != "cases"}
    lines = [json.dumps(head, ensure_ascii=True)[:-1] + ', "cases": [']
    body = [" " + json.dumps(c, ensure_ascii=True) for c in doc["cases"]]
    lines.append(",\n".join(body))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def main():
    ref = Gpt2Reference()
    cases = [{"text": t, "ids": ref.encode(t)} for t in CASES]
    doc = {
        "generator": "tests/reference/gpt2_tokenizer_reference.py",
        "tokenizer": "models/gpt2-tokenizer (encoder.json + vocab.bpe)",
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(format_fixture(doc))
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
