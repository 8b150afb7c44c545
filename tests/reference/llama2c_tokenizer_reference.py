#!/usr/bin/env python3
"""Independent reference for llama2.c's tokenizer (run.c `encode()` / `decode()`), standard library only.

Re-implements, byte for byte, the algorithm of Karpathy's llama2.c run.c, with no code shared with the
C# implementation:
  encode: optional BOS (id 1); if the text is non-empty, the id of the vocabulary string " " (dummy
          prefix); each UTF-8 code point looked up as a piece (unknown ones become one token per byte,
          id = byte + 3); then, while possible, merge the adjacent pair whose concatenation is a piece
          with the highest score (the first such pair on ties, scores below -1e10 never merge).
  decode: per token; a piece right after BOS loses one leading space; "<0xXX>" pieces are raw bytes;
          the bytes are UTF-8 decoded at the end.
The naive O(n^2) loop is kept on purpose: it is the specification the fast C# version must match.

Rerun (from the repository root):
    /usr/bin/python3 tests/reference/llama2c_tokenizer_reference.py

Reads  models/stories260K/tok512.bin
Writes tests/MechTests.Tests/Fixtures/tokenizers/tok512_reference.json
"""
import json
import os
import re
import struct

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOKENIZER = os.path.join(ROOT, "models", "stories260K", "tok512.bin")
OUT = os.path.join(ROOT, "tests", "MechTests.Tests", "Fixtures", "tokenizers", "tok512_reference.json")
VOCAB_SIZE = 512
BOS = 1
BYTE_PIECE = re.compile(rb"^<0x([0-9A-Fa-f]{2})>$")


def float32(x):
    """Round a Python float to the nearest float32, as C stores vocab_scores."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


class Llama2cReference:
    def __init__(self, path, vocab_size):
        with open(path, "rb") as f:
            data = f.read()
        (self.max_token_length,) = struct.unpack_from("<i", data, 0)
        offset = 4
        self.pieces = []
        self.scores = []
        for _ in range(vocab_size):
            score, length = struct.unpack_from("<fi", data, offset)
            offset += 8
            self.pieces.append(data[offset:offset + length])
            self.scores.append(score)
            offset += length
        # str_lookup: exact byte-string lookup (the vocabulary has no duplicates; keep the first if it did).
        self.lookup = {}
        for i, piece in enumerate(self.pieces):
            self.lookup.setdefault(piece, i)

    def encode(self, text, bos=True, dummy_prefix=True):
        tokens = []
        if bos:
            tokens.append(BOS)
        raw = text.encode("utf-8")
        if raw and dummy_prefix:
            tokens.append(self.lookup[b" "])
        # Group bytes into code points exactly as the C loop does (a leading byte plus up to 3 continuations).
        i = 0
        while i < len(raw):
            group = bytes([raw[i]])
            i += 1
            while i < len(raw) and (raw[i] & 0xC0) == 0x80 and len(group) < 4:
                group += bytes([raw[i]])
                i += 1
            if group in self.lookup:
                tokens.append(self.lookup[group])
            else:
                tokens.extend(b + 3 for b in group)
        threshold = float32(-1e10)
        while True:
            best_score, best_id, best_idx = threshold, -1, -1
            for k in range(len(tokens) - 1):
                merged = self.pieces[tokens[k]] + self.pieces[tokens[k + 1]]
                tid = self.lookup.get(merged, -1)
                if tid != -1 and self.scores[tid] > best_score:
                    best_score, best_id, best_idx = self.scores[tid], tid, k
            if best_idx == -1:
                break
            tokens[best_idx:best_idx + 2] = [best_id]
        return tokens

    def decode(self, ids):
        out = b""
        prev = None
        for t in ids:
            if t in (0, 1, 2):  # <unk>, BOS, EOS are control pieces: not text
                prev = t
                continue
            piece = self.pieces[t]
            if prev == BOS and piece.startswith(b" "):
                piece = piece[1:]
            m = BYTE_PIECE.match(piece)
            if m:
                piece = bytes([int(m.group(1), 16)])
            out += piece
            prev = t
        return out.decode("utf-8", errors="replace")


CASES = [
    "Once upon a time, there was a girl named Lily. One day,",
    "Hello world",
    "",
    " ",
    "a",
    "Lily",
    " Lily",
    "Tim and Lily went to the park.",
    "She said, \"I want to play!\"",
    "The cat sat on the mat.\nThe dog ran.",
    "1234567890",
    "There were 3 apples and 25 bananas.",
    "café déjà vu",
    "naïve Zürich",
    "日本語",
    "emoji 😀 and 🐱",
    "“Curly quotes” and it’s — dashes…",
    "  two leading spaces",
    "trailing space ",
    "tab\there",
    "multiple   spaces   here",
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. "
    "One day, she saw a big, red ball in the park. She wanted to play with it, but it was too high.",
    "<s> is not special in text",
    "<0x41>",
    "ALL CAPS",
    "x",
    "\u00a0nbsp",
]

# Common first names; the fixture records which are single tokens when preceded by a space.
NAMES = [
    "Lily", "Tim", "Timmy", "Sue", "Tom", "Ben", "Max", "Sam", "Anna", "Mia", "Lucy", "Jack", "Sara", "Sarah",
    "Amy", "Bob", "Jane", "John", "Mary", "Kate", "Jill", "Joe", "Leo", "Zoe", "Emma", "Lila", "Mike", "Molly",
    "Billy", "Bella", "Spot", "Max", "Mom", "Dad", "Ann", "Ella", "Jim", "Kim", "Pam", "Ted", "Tina", "Toby",
]


def main():
    ref = Llama2cReference(TOKENIZER, VOCAB_SIZE)
    cases = []
    for text in CASES:
        with_bos = ref.encode(text, bos=True)
        cases.append({
            "text": text,
            "ids": with_bos,
            "ids_no_bos": ref.encode(text, bos=False),
            "continuation": ref.encode(text, bos=False, dummy_prefix=False),
            "decoded": ref.decode(with_bos),
        })
    names = []
    for name in dict.fromkeys(NAMES):
        ids = ref.encode(" " + name, bos=False, dummy_prefix=False)
        names.append({"name": name, "ids": ids, "single_token": len(ids) == 1})
    doc = {
        "generator": "tests/reference/llama2c_tokenizer_reference.py",
        "tokenizer": "models/stories260K/tok512.bin (vocab 512)",
        "cases": cases,
        "names": names,
    }
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(format_fixture(doc))
    print(f"wrote {len(cases)} cases and {len(names)} names to {OUT}")
    print("single-token names:", [n["name"] for n in names if n["single_token"]])


def format_fixture(doc):
    """One record per line keeps diffs of the fixture readable; ASCII escapes keep it encoding-proof."""
    head = {k: v for k, v in doc.items() if k not in ("cases", "names")}
    lines = [json.dumps(head, ensure_ascii=True)[:-1] + ', "cases": [']
    lines.append(",\n".join(" " + json.dumps(c, ensure_ascii=True) for c in doc["cases"]))
    lines.append('], "names": [')
    lines.append(",\n".join(" " + json.dumps(n, ensure_ascii=True) for n in doc["names"]))
    lines.append("]}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
