#!/usr/bin/env python3
"""Reference logits of the trained GPT-2s under models/*-2l, computed in plain Python (standard library only).

An independent reading of the files `mechtests train` writes: the safetensors header and F32 data are parsed here,
and the forward pass follows transformers' GPT2LMHeadModel (modeling_gpt2.py) on those tensor names: Conv1D is
x @ W + b with W stored [in, out]; c_attn's output splits into q, k, v (in that order) along the last dimension;
heads are consecutive d_head slices; scores are scaled by 1/sqrt(d_head) and causally masked; gelu_new; LayerNorm
with the config's layer_norm_epsilon; the unembedding is wte (tied). Float64 throughout.

Writes tests/MechTests.Tests/Fixtures/reference/trained/<model>.json: {"model", "tokens": [[...]], "logits": [[[...]]]}
(every position of every prompt). Deterministic: run it twice and the files are identical.

    python3 tests/reference/trained_gpt2_reference.py
"""
import json
import math
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "MechTests.Tests", "Fixtures", "reference", "trained")

# Prompts as token strings (GPT-2 byte alphabet: a space is "Ġ"), looked up in each folder's vocab.json, so the
# fixture does not depend on a BPE implementation.
E = "<|endoftext|>"
PROMPTS = {
    "induction-2l": [
        [E] + list("QwErTyUiOp") + list("QwErTyUi"),
        [E] + list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcd"),
    ],
    "greater-than-2l": [
        [E, "The", "Ġwar", "Ġlasted", "Ġfrom", "Ġ17", "32", "Ġto", "Ġ17"],
        [E, "The", "Ġvoyage", "Ġlasted", "Ġfrom", "Ġ17", "01", "Ġto", "Ġ17", "99"],
    ],
}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        start, end = info["data_offsets"]
        flat = struct.unpack("<%df" % ((end - start) // 4), data[base + start:base + end])
        shape = info["shape"]
        if len(shape) == 1:
            tensors[name] = list(flat)
        else:
            rows, cols = shape
            tensors[name] = [list(flat[r * cols:(r + 1) * cols]) for r in range(rows)]
    return tensors


def matmul(x, w, b):
    cols = len(w[0])
    out = []
    for row in x:
        acc = list(b)
        for i, xi in enumerate(row):
            if xi == 0.0:
                continue
            wi = w[i]
            for j in range(cols):
                acc[j] += xi * wi[j]
        out.append(acc)
    return out


def layer_norm(x, g, b, eps):
    out = []
    for row in x:
        mean = sum(row) / len(row)
        var = sum((v - mean) ** 2 for v in row) / len(row)
        inv = 1.0 / math.sqrt(var + eps)
        out.append([(v - mean) * inv * gi + bi for v, gi, bi in zip(row, g, b)])
    return out


def gelu_new(v):
    return 0.5 * v * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v ** 3)))


def forward(cfg, w, tokens):
    d, heads, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    dh = d // heads
    t = len(tokens)
    x = [[a + p for a, p in zip(w["wte.weight"][tok], w["wpe.weight"][pos])] for pos, tok in enumerate(tokens)]
    for layer in range(cfg["n_layer"]):
        h = "h.%d." % layer
        a = layer_norm(x, w[h + "ln_1.weight"], w[h + "ln_1.bias"], eps)
        qkv = matmul(a, w[h + "attn.c_attn.weight"], w[h + "attn.c_attn.bias"])
        z = [[0.0] * d for _ in range(t)]
        for head in range(heads):
            qo, ko, vo = head * dh, d + head * dh, 2 * d + head * dh
            for i in range(t):
                scores = [sum(qkv[i][qo + c] * qkv[j][ko + c] for c in range(dh)) / math.sqrt(dh) for j in range(i + 1)]
                m = max(scores)
                e = [math.exp(s - m) for s in scores]
                total = sum(e)
                for j in range(i + 1):
                    p = e[j] / total
                    for c in range(dh):
                        z[i][qo + c] += p * qkv[j][vo + c]
        attn = matmul(z, w[h + "attn.c_proj.weight"], w[h + "attn.c_proj.bias"])
        x = [[u + v for u, v in zip(r, s)] for r, s in zip(x, attn)]
        m_in = layer_norm(x, w[h + "ln_2.weight"], w[h + "ln_2.bias"], eps)
        hidden = [[gelu_new(v) for v in row] for row in matmul(m_in, w[h + "mlp.c_fc.weight"], w[h + "mlp.c_fc.bias"])]
        mlp = matmul(hidden, w[h + "mlp.c_proj.weight"], w[h + "mlp.c_proj.bias"])
        x = [[u + v for u, v in zip(r, s)] for r, s in zip(x, mlp)]
    f = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
    return [[sum(a * b for a, b in zip(row, emb)) for emb in w["wte.weight"]] for row in f]


def main():
    os.makedirs(OUT, exist_ok=True)
    for model, prompts in sorted(PROMPTS.items()):
        folder = os.path.join(ROOT, "models", model)
        with open(os.path.join(folder, "config.json")) as f:
            cfg = json.load(f)
        with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        ids = [[vocab[tok] for tok in p] for p in prompts]
        w = read_safetensors(os.path.join(folder, "model.safetensors"))
        logits = [[[float("%.9g" % v) for v in row] for row in forward(cfg, w, p)] for p in ids]
        with open(os.path.join(OUT, model + ".json"), "w") as f:
            json.dump({"model": "models/" + model, "tokens": ids, "logits": logits}, f, separators=(",", ":"))
            f.write("\n")
        print(model, "written")


if __name__ == "__main__":
    main()
