#!/usr/bin/python3
"""Independent reference fixtures for the MechTests engine.

Writes small random-weight models in Hugging Face layout (gpt2, gpt2-f16, gpt2-bf16, gpt_neox, llama) plus a
reference for the real llama2.c model stories260K, each with activations and total gradients at every hook point,
GradDrop gradients and weight gradients, all computed in float64 with plain torch (no transformers).

Run:  /usr/bin/python3 tests/reference/make_fixtures.py        (needs python3-torch; see tests/reference/README.md)

Everything is deterministic: fixed seeds, one CPU thread, hand-written safetensors with sorted keys.
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "MechTests.Tests", "Fixtures", "reference")
GPT2_TOK_DIR = os.path.join(ROOT, "models", "gpt2-tokenizer")
STORIES_BIN = os.path.join(ROOT, "models", "stories260K", "stories260K.bin")
COMMAND = "/usr/bin/python3 tests/reference/make_fixtures.py"

F64 = torch.float64
torch.set_num_threads(1)  # reductions in a fixed order: identical bytes on every run

VOCAB = 1000
EOT_ID = 999
N_MERGES = 743  # 256 byte tokens + 743 merges + <|endoftext|> = 1000 ids
TOKEN_SEED = 7
STORIES_TOKENS = [[1, 403, 407, 261, 378, 275, 429], [1, 70, 80, 90, 100, 110, 120]]


# ----------------------------------------------------------------------------------------------------------------
# safetensors, by hand
# ----------------------------------------------------------------------------------------------------------------
_ST_DTYPES = {
    torch.float32: ("F32", torch.int32, "i"),
    torch.float16: ("F16", torch.int16, "h"),
    torch.bfloat16: ("BF16", torch.int16, "h"),
}


def _raw_bytes(t):
    name, int_type, fmt = _ST_DTYPES[t.dtype]
    ints = t.detach().contiguous().reshape(-1).view(int_type).tolist()  # exact bit patterns (no numpy here)
    return name, struct.pack("<%d%s" % (len(ints), fmt), *ints)


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for key in sorted(tensors):
        t = tensors[key]
        dtype, raw = _raw_bytes(t)
        header[key] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = metadata or {"format": "pt"}
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Minimal reader used to verify what we wrote (round trip)."""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dt = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[info["dtype"]]
        it = {"F32": torch.int32, "F16": torch.int16, "BF16": torch.int16}[info["dtype"]]
        fmt = "i" if it == torch.int32 else "h"
        cnt = (e - b) // (4 if it == torch.int32 else 2)
        ints = struct.unpack("<%d%s" % (cnt, fmt), data[base + b:base + e])
        out[key] = torch.tensor(ints, dtype=it).view(dt).reshape(info["shape"])
    return out


def write_json(path, obj, compact=False):
    with open(path, "w", encoding="utf-8") as f:
        if compact:
            json.dump(obj, f, separators=(",", ":"), ensure_ascii=False)
        else:
            json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


# ----------------------------------------------------------------------------------------------------------------
# Tokenizer: GPT-2 byte-level BPE truncated to 1000 ids
# ----------------------------------------------------------------------------------------------------------------
def _bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def build_tokenizer():
    enc = json.load(open(os.path.join(GPT2_TOK_DIR, "encoder.json"), encoding="utf-8"))
    lines = open(os.path.join(GPT2_TOK_DIR, "vocab.bpe"), encoding="utf-8").read().split("\n")
    assert lines[0].startswith("#version"), lines[0]
    merges = [ln for ln in lines[1:] if ln.strip()]
    inv = {v: k for k, v in enc.items()}
    # ids 0..255 are exactly the 256 byte symbols
    assert sorted(inv[i] for i in range(256)) == sorted(_bytes_to_unicode().values())
    # verified property of GPT-2's files: the token made by merge number i has id 256 + i
    for i, m in enumerate(merges):
        a, b = m.split(" ")
        assert enc[a + b] == 256 + i, (i, m, enc.get(a + b))
    assert inv[50256] == "<|endoftext|>"
    vocab = {inv[i]: i for i in range(256 + N_MERGES)}
    kept = merges[:N_MERGES]
    for m in kept:  # each kept merge's parts exist in the truncated vocabulary
        a, b = m.split(" ")
        assert a in vocab and b in vocab, m
    vocab["<|endoftext|>"] = EOT_ID
    assert len(vocab) == VOCAB and sorted(vocab.values()) == list(range(VOCAB))
    return vocab, kept


def write_gpt2_tokenizer(folder, vocab, merges):
    write_json(os.path.join(folder, "vocab.json"), vocab, compact=True)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for m in merges:
            f.write(m + "\n")


def write_hf_tokenizer_json(folder, vocab, merges):
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": EOT_ID, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": dict(byte_level),
        "post_processor": dict(byte_level),
        "decoder": dict(byte_level),
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": merges},
    }
    write_json(os.path.join(folder, "tokenizer.json"), tok, compact=True)


# ----------------------------------------------------------------------------------------------------------------
# Random weights (float32, seeded) in Hugging Face layout
# ----------------------------------------------------------------------------------------------------------------
class Init:
    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def normal(self, shape, std):
        return torch.randn(shape, generator=self.g, dtype=torch.float32) * std

    def ln_weight(self, n):
        return 1.0 + 0.1 * torch.randn(n, generator=self.g, dtype=torch.float32)

    def bias(self, n):
        return 0.1 * torch.randn(n, generator=self.g, dtype=torch.float32)


def gpt2_weights(c, seed):
    r, d, m = Init(seed), c["d"], c["m"]
    W = {"transformer.wte.weight": r.normal((c["V"], d), 0.3),
         "transformer.wpe.weight": r.normal((c["P"], d), 0.1)}
    for l in range(c["L"]):
        p = "transformer.h.%d." % l
        W[p + "ln_1.weight"] = r.ln_weight(d)
        W[p + "ln_1.bias"] = r.bias(d)
        W[p + "attn.c_attn.weight"] = r.normal((d, 3 * d), 0.3)
        W[p + "attn.c_attn.bias"] = r.bias(3 * d)
        W[p + "attn.c_proj.weight"] = r.normal((d, d), 0.2)
        W[p + "attn.c_proj.bias"] = r.bias(d)
        W[p + "ln_2.weight"] = r.ln_weight(d)
        W[p + "ln_2.bias"] = r.bias(d)
        W[p + "mlp.c_fc.weight"] = r.normal((d, m), 0.25)
        W[p + "mlp.c_fc.bias"] = r.bias(m)
        W[p + "mlp.c_proj.weight"] = r.normal((m, d), 0.12)
        W[p + "mlp.c_proj.bias"] = r.bias(d)
    W["transformer.ln_f.weight"] = r.ln_weight(d)
    W["transformer.ln_f.bias"] = r.bias(d)
    return W


def neox_weights(c, seed):
    r, d, m = Init(seed), c["d"], c["m"]
    W = {"gpt_neox.embed_in.weight": r.normal((c["V"], d), 0.3)}
    for l in range(c["L"]):
        p = "gpt_neox.layers.%d." % l
        W[p + "input_layernorm.weight"] = r.ln_weight(d)
        W[p + "input_layernorm.bias"] = r.bias(d)
        W[p + "post_attention_layernorm.weight"] = r.ln_weight(d)
        W[p + "post_attention_layernorm.bias"] = r.bias(d)
        W[p + "attention.query_key_value.weight"] = r.normal((3 * d, d), 0.3)
        W[p + "attention.query_key_value.bias"] = r.bias(3 * d)
        W[p + "attention.dense.weight"] = r.normal((d, d), 0.2)
        W[p + "attention.dense.bias"] = r.bias(d)
        W[p + "mlp.dense_h_to_4h.weight"] = r.normal((m, d), 0.25)
        W[p + "mlp.dense_h_to_4h.bias"] = r.bias(m)
        W[p + "mlp.dense_4h_to_h.weight"] = r.normal((d, m), 0.15)
        W[p + "mlp.dense_4h_to_h.bias"] = r.bias(d)
    W["gpt_neox.final_layer_norm.weight"] = r.ln_weight(d)
    W["gpt_neox.final_layer_norm.bias"] = r.bias(d)
    W["embed_out.weight"] = r.normal((c["V"], d), 0.3)
    return W


def llama_weights(c, seed):
    r, d, m, H, Hkv, dh = Init(seed), c["d"], c["m"], c["H"], c["Hkv"], c["dh"]
    W = {"model.embed_tokens.weight": r.normal((c["V"], d), 0.3)}
    for l in range(c["L"]):
        p = "model.layers.%d." % l
        W[p + "input_layernorm.weight"] = r.ln_weight(d)
        W[p + "self_attn.q_proj.weight"] = r.normal((H * dh, d), 0.3)
        W[p + "self_attn.k_proj.weight"] = r.normal((Hkv * dh, d), 0.3)
        W[p + "self_attn.v_proj.weight"] = r.normal((Hkv * dh, d), 0.3)
        W[p + "self_attn.o_proj.weight"] = r.normal((d, H * dh), 0.2)
        W[p + "post_attention_layernorm.weight"] = r.ln_weight(d)
        W[p + "mlp.gate_proj.weight"] = r.normal((m, d), 0.3)
        W[p + "mlp.up_proj.weight"] = r.normal((m, d), 0.3)
        W[p + "mlp.down_proj.weight"] = r.normal((d, m), 0.2)
    W["model.norm.weight"] = r.ln_weight(d)
    W["lm_head.weight"] = r.normal((c["V"], d), 0.3)
    return W


def load_stories(path):
    raw = open(path, "rb").read()
    dim, hidden, L, H, Hkv, V, S = struct.unpack("<7i", raw[:28])
    shared = V > 0
    V = abs(V)
    hs = dim // H
    floats = torch.frombuffer(bytearray(raw[28:]), dtype=torch.float32)
    pos = [0]

    def take(*shape):
        n = 1
        for s in shape:
            n *= s
        t = floats[pos[0]:pos[0] + n].reshape(shape).clone()
        pos[0] += n
        return t

    W = {}
    W["token_embedding_table"] = take(V, dim)
    W["rms_att_weight"] = take(L, dim)
    W["wq"] = take(L, H * hs, dim)
    W["wk"] = take(L, Hkv * hs, dim)
    W["wv"] = take(L, Hkv * hs, dim)
    W["wo"] = take(L, dim, H * hs)
    W["rms_ffn_weight"] = take(L, dim)
    W["w1"] = take(L, hidden, dim)
    W["w2"] = take(L, dim, hidden)
    W["w3"] = take(L, hidden, dim)
    W["rms_final_weight"] = take(dim)
    pos[0] += S * hs // 2 * 2  # freq_cis_real, freq_cis_imag (unused)
    if not shared:
        W["wcls"] = take(V, dim)
    assert pos[0] == floats.numel(), (pos[0], floats.numel())
    header = {"dim": dim, "hidden_dim": hidden, "n_layers": L, "n_heads": H, "n_kv_heads": Hkv,
              "vocab_size": V if shared else -V, "seq_len": S}
    c = dict(arch="llama2c", d=dim, L=L, H=H, Hkv=Hkv, dh=hs, m=hidden, V=V, P=S, eps=1e-5, norm="rms",
             act="swiglu", rotary="interleaved", rot_dims=hs, base=10000.0, parallel=False, pos_embed=False,
             tied=shared)
    return W, c, header


# ----------------------------------------------------------------------------------------------------------------
# Canonical views of the HF tensors (autograd flows back to the HF-layout leaves)
#   Wq [d,H,dh], bq [H,dh]; Wk/Wv [d,Hkv,dh]; Wo [H,dh,d]; bo [d]; Win/Wgate [d,m]; Wout [m,d]; W_U [d,V]
# ----------------------------------------------------------------------------------------------------------------
def views_embed(c, W):
    a = c["arch"]
    if a == "gpt2":
        return W["transformer.wte.weight"], W["transformer.wpe.weight"]
    if a == "gpt_neox":
        return W["gpt_neox.embed_in.weight"], None
    if a == "llama":
        return W["model.embed_tokens.weight"], None
    return W["token_embedding_table"], None


def views_final(c, W):
    a = c["arch"]
    if a == "gpt2":
        return W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], W["transformer.wte.weight"].t()
    if a == "gpt_neox":
        return (W["gpt_neox.final_layer_norm.weight"], W["gpt_neox.final_layer_norm.bias"],
                W["embed_out.weight"].t())
    if a == "llama":
        return W["model.norm.weight"], None, W["lm_head.weight"].t()
    return W["rms_final_weight"], None, (W["token_embedding_table"] if c["tied"] else W["wcls"]).t()


def views_layer(c, W, l):
    a, d, H, Hkv, dh = c["arch"], c["d"], c["H"], c["Hkv"], c["dh"]
    v = {}
    if a == "gpt2":
        p = "transformer.h.%d." % l
        ca, cb = W[p + "attn.c_attn.weight"], W[p + "attn.c_attn.bias"]
        v.update(ln1w=W[p + "ln_1.weight"], ln1b=W[p + "ln_1.bias"], ln2w=W[p + "ln_2.weight"], ln2b=W[p + "ln_2.bias"],
                 Wq=ca[:, 0:d].reshape(d, H, dh), Wk=ca[:, d:2 * d].reshape(d, H, dh),
                 Wv=ca[:, 2 * d:3 * d].reshape(d, H, dh),
                 bq=cb[0:d].reshape(H, dh), bk=cb[d:2 * d].reshape(H, dh), bv=cb[2 * d:3 * d].reshape(H, dh),
                 Wo=W[p + "attn.c_proj.weight"].reshape(H, dh, d), bo=W[p + "attn.c_proj.bias"],
                 Win=W[p + "mlp.c_fc.weight"], bin=W[p + "mlp.c_fc.bias"], Wgate=None,
                 Wout=W[p + "mlp.c_proj.weight"], bout=W[p + "mlp.c_proj.bias"])
    elif a == "gpt_neox":
        p = "gpt_neox.layers.%d." % l
        qkv = W[p + "attention.query_key_value.weight"].reshape(H, 3, dh, d)  # output row = h*3dh + s*dh + e
        qkvb = W[p + "attention.query_key_value.bias"].reshape(H, 3, dh)
        v.update(ln1w=W[p + "input_layernorm.weight"], ln1b=W[p + "input_layernorm.bias"],
                 ln2w=W[p + "post_attention_layernorm.weight"], ln2b=W[p + "post_attention_layernorm.bias"],
                 Wq=qkv[:, 0].permute(2, 0, 1), Wk=qkv[:, 1].permute(2, 0, 1), Wv=qkv[:, 2].permute(2, 0, 1),
                 bq=qkvb[:, 0], bk=qkvb[:, 1], bv=qkvb[:, 2],
                 Wo=W[p + "attention.dense.weight"].t().reshape(H, dh, d), bo=W[p + "attention.dense.bias"],
                 Win=W[p + "mlp.dense_h_to_4h.weight"].t(), bin=W[p + "mlp.dense_h_to_4h.bias"], Wgate=None,
                 Wout=W[p + "mlp.dense_4h_to_h.weight"].t(), bout=W[p + "mlp.dense_4h_to_h.bias"])
    elif a == "llama":
        p = "model.layers.%d." % l
        v.update(ln1w=W[p + "input_layernorm.weight"], ln1b=None,
                 ln2w=W[p + "post_attention_layernorm.weight"], ln2b=None,
                 Wq=W[p + "self_attn.q_proj.weight"].t().reshape(d, H, dh),
                 Wk=W[p + "self_attn.k_proj.weight"].t().reshape(d, Hkv, dh),
                 Wv=W[p + "self_attn.v_proj.weight"].t().reshape(d, Hkv, dh), bq=None, bk=None, bv=None,
                 Wo=W[p + "self_attn.o_proj.weight"].t().reshape(H, dh, d), bo=None,
                 Wgate=W[p + "mlp.gate_proj.weight"].t(), Win=W[p + "mlp.up_proj.weight"].t(), bin=None,
                 Wout=W[p + "mlp.down_proj.weight"].t(), bout=None)
    else:  # llama2.c
        v.update(ln1w=W["rms_att_weight"][l], ln1b=None, ln2w=W["rms_ffn_weight"][l], ln2b=None,
                 Wq=W["wq"][l].t().reshape(d, H, dh), Wk=W["wk"][l].t().reshape(d, Hkv, dh),
                 Wv=W["wv"][l].t().reshape(d, Hkv, dh), bq=None, bk=None, bv=None,
                 Wo=W["wo"][l].t().reshape(H, dh, d), bo=None,
                 Wgate=W["w1"][l].t(), Win=W["w3"][l].t(), bin=None, Wout=W["w2"][l].t(), bout=None)
    return v


# ----------------------------------------------------------------------------------------------------------------
# Math pieces (written out, float64)
# ----------------------------------------------------------------------------------------------------------------
def norm(c, x, w, b):
    if c["norm"] == "ln":
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + c["eps"]) * w + b
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + c["eps"]) * w


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def silu(x):
    return x * torch.sigmoid(x)


def rotary(c, x):
    """x [b,p,n,dh] -> rotated copy, positions 0..p-1."""
    p, dh, r = x.shape[1], x.shape[-1], c["rot_dims"]
    pos = torch.arange(p, dtype=F64)
    if c["rotary"] == "half":
        inv = 1.0 / (c["base"] ** (torch.arange(0, r, 2, dtype=F64) / r))
        freqs = pos[:, None] * inv[None, :]
        emb = torch.cat([freqs, freqs], -1)
        cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]
        xr, xp = x[..., :r], x[..., r:]
        rot = torch.cat([-xr[..., r // 2:], xr[..., :r // 2]], -1)
        return torch.cat([xr * cos + rot * sin, xp], -1)
    assert c["rotary"] == "interleaved" and r == dh
    j = torch.arange(0, dh, 2, dtype=F64)
    val = pos[:, None] * (c["base"] ** (-j / dh))[None, :]
    cos, sin = val.cos()[None, :, None, :], val.sin()[None, :, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], -1).reshape(x.shape)


class StopGrad(torch.autograd.Function):
    """Identity forward; zero gradient backward (GradDrop)."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return torch.zeros_like(g)


def hook_list(c):
    names = ["hook_embed"] + (["hook_pos_embed"] if c["pos_embed"] else [])
    for l in range(c["L"]):
        b = "blocks.%d." % l
        names += [b + "hook_resid_pre", b + "hook_q_input", b + "hook_k_input", b + "hook_v_input",
                  b + "ln1.hook_normalized", b + "attn.hook_q", b + "attn.hook_k", b + "attn.hook_v"]
        if c["rotary"] != "none":
            names += [b + "attn.hook_rot_q", b + "attn.hook_rot_k"]
        names += [b + "attn.hook_attn_scores", b + "attn.hook_pattern", b + "attn.hook_z", b + "attn.hook_result",
                  b + "hook_attn_out"]
        if not c["parallel"]:
            names += [b + "hook_resid_mid"]
        names += [b + "hook_mlp_in", b + "ln2.hook_normalized", b + "mlp.hook_pre"]
        if c["act"] == "swiglu":
            names += [b + "mlp.hook_pre_linear"]
        names += [b + "mlp.hook_post", b + "hook_mlp_out", b + "hook_resid_post"]
    return names + ["ln_final.hook_normalized", "hook_logits"]


# ----------------------------------------------------------------------------------------------------------------
# The hooked, split-input forward pass
# ----------------------------------------------------------------------------------------------------------------
def hooked_forward(c, W, tokens, stop_layer=None, delta=None, stop_fn=StopGrad.apply):
    """Returns (logits, nodes). nodes maps internal node names to tensors that retain their gradient.

    delta: optional {public hook name: tensor of the public hook's shape} added at that hook (finite differences).
    Internal per-query-head nodes (k, v, rot_k under GQA; the 3H ln1 copies) receive the public delta broadcast,
    which is exactly "perturb the shared activation" in the summed-gradient semantics.
    """
    B, P = tokens.shape
    d, H, Hkv, dh = c["d"], c["H"], c["Hkv"], c["dh"]
    G = H // Hkv
    nodes = {}

    def hook(name, x, key=None, expand=None):
        key = key or name
        if delta is not None and name in delta:
            dl = delta[name]
            x = x + (expand(dl) if expand else dl)
        else:
            x = x + 0  # a fresh node of its own
        if x.requires_grad:
            x.retain_grad()
        nodes[key] = x
        return x

    per_q = lambda t: t.repeat_interleave(G, dim=2)  # [b,p,Hkv,...] -> [b,p,H,...]
    W_E, W_pos = views_embed(c, W)
    x = hook("hook_embed", W_E[tokens])
    if W_pos is not None:
        x = x + hook("hook_pos_embed", W_pos[:P].unsqueeze(0).expand(B, P, d))
    causal = torch.tril(torch.ones(P, P, dtype=torch.bool))
    for l in range(c["L"]):
        v = views_layer(c, W, l)
        b = "blocks.%d." % l
        resid_pre = hook(b + "hook_resid_pre", x)
        copies = resid_pre.unsqueeze(2).expand(B, P, H, d)
        q_in = hook(b + "hook_q_input", copies)
        k_in = hook(b + "hook_k_input", copies)
        v_in = hook(b + "hook_v_input", copies)
        ln1 = b + "ln1.hook_normalized"
        bcast = lambda t: t.unsqueeze(2)
        lq = hook(ln1, norm(c, q_in, v["ln1w"], v["ln1b"]), key=ln1 + "#q", expand=bcast)
        lk = hook(ln1, norm(c, k_in, v["ln1w"], v["ln1b"]), key=ln1 + "#k", expand=bcast)
        lv = hook(ln1, norm(c, v_in, v["ln1w"], v["ln1b"]), key=ln1 + "#v", expand=bcast)
        # per-query-head projections; for GQA query head h uses kv head h // G
        Wk, Wv = v["Wk"].repeat_interleave(G, dim=1), v["Wv"].repeat_interleave(G, dim=1)
        q = torch.einsum("bphd,dhe->bphe", lq, v["Wq"])
        k = torch.einsum("bphd,dhe->bphe", lk, Wk)
        vv = torch.einsum("bphd,dhe->bphe", lv, Wv)
        if v["bq"] is not None:
            q = q + v["bq"]
            k = k + v["bk"].repeat_interleave(G, dim=0)
            vv = vv + v["bv"].repeat_interleave(G, dim=0)
        q = hook(b + "attn.hook_q", q)
        k = hook(b + "attn.hook_k", k, key=b + "attn.hook_k#perq", expand=per_q)
        vv = hook(b + "attn.hook_v", vv, key=b + "attn.hook_v#perq", expand=per_q)
        if c["rotary"] != "none":
            q = hook(b + "attn.hook_rot_q", rotary(c, q))
            k = hook(b + "attn.hook_rot_k", rotary(c, k), key=b + "attn.hook_rot_k#perq", expand=per_q)
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(dh)
        scores = scores.masked_fill(~causal, float("-inf"))
        scores = hook(b + "attn.hook_attn_scores", scores)
        pattern = hook(b + "attn.hook_pattern", torch.softmax(scores, dim=-1))
        z = hook(b + "attn.hook_z", torch.einsum("bhqk,bkhe->bqhe", pattern, vv))
        result = hook(b + "attn.hook_result", torch.einsum("bqhe,hed->bqhd", z, v["Wo"]))
        attn_out = result.sum(2)
        if v["bo"] is not None:
            attn_out = attn_out + v["bo"]
        attn_out = hook(b + "hook_attn_out", attn_out)
        attn_write = stop_fn(attn_out) if stop_layer == l else attn_out
        if c["parallel"]:
            mlp_in = hook(b + "hook_mlp_in", resid_pre)  # its own copy: gradient = the MLP's share only
        else:
            resid_mid = hook(b + "hook_resid_mid", resid_pre + attn_write)
            mlp_in = hook(b + "hook_mlp_in", resid_mid)  # its own node: gradient = the MLP's share only
        ln2 = hook(b + "ln2.hook_normalized", norm(c, mlp_in, v["ln2w"], v["ln2b"]))
        if c["act"] == "swiglu":
            pre = hook(b + "mlp.hook_pre", ln2 @ v["Wgate"])
            lin = hook(b + "mlp.hook_pre_linear", ln2 @ v["Win"])
            post = hook(b + "mlp.hook_post", silu(pre) * lin)
        else:
            pre = hook(b + "mlp.hook_pre", ln2 @ v["Win"] + v["bin"])
            post = hook(b + "mlp.hook_post", gelu_new(pre) if c["act"] == "gelu_new" else gelu_erf(pre))
        mlp_out = post @ v["Wout"]
        if v["bout"] is not None:
            mlp_out = mlp_out + v["bout"]
        mlp_out = hook(b + "hook_mlp_out", mlp_out)
        mlp_write = stop_fn(mlp_out) if stop_layer == l else mlp_out
        if c["parallel"]:
            x = hook(b + "hook_resid_post", resid_pre + attn_write + mlp_write)
        else:
            x = hook(b + "hook_resid_post", resid_mid + mlp_write)
    lnfw, lnfb, W_U = views_final(c, W)
    xf = hook("ln_final.hook_normalized", norm(c, x, lnfw, lnfb))
    logits = hook("hook_logits", xf @ W_U)
    return logits, nodes


def public_act_grad(c, nodes, name, want_grad=True):
    """Maps internal nodes to the public hook's activation and total gradient."""
    H, Hkv = c["H"], c["Hkv"]
    G = H // Hkv
    if name.endswith("ln1.hook_normalized"):
        cp = [nodes[name + s] for s in ("#q", "#k", "#v")]
        for t in cp:
            assert torch.equal(t, cp[0])
        act = cp[0][:, :, 0]
        for h in range(H):
            assert torch.equal(cp[0][:, :, h], act)
        grad = sum(t.grad.sum(2) for t in cp) if want_grad else None
        return act, grad
    if name + "#perq" in nodes:
        t = nodes[name + "#perq"]
        B, P, _, dh = t.shape
        act = t[:, :, ::G]
        assert torch.allclose(t, act.repeat_interleave(G, dim=2), rtol=0, atol=1e-13)
        grad = t.grad.reshape(B, P, Hkv, G, dh).sum(3) if want_grad else None
        return act, grad
    t = nodes[name]
    act, grad = t.detach(), (t.grad if want_grad else None)
    if name.endswith("attn.hook_attn_scores"):
        P = act.shape[-1]
        mask = ~torch.tril(torch.ones(P, P, dtype=torch.bool))
        assert torch.isinf(act[..., mask]).all() and torch.isfinite(act[..., ~mask]).all()
        act = act.masked_fill(mask, 0.0)
        if want_grad:
            assert (grad[..., mask] == 0).all()
    return act, grad


# ----------------------------------------------------------------------------------------------------------------
# Plain forwards, written the way the source implementations are (cross-check of the split-input pass)
# ----------------------------------------------------------------------------------------------------------------
def plain_gpt2(c, W, tokens):
    B, P = tokens.shape
    d, H, dh = c["d"], c["H"], c["dh"]
    h = W["transformer.wte.weight"][tokens] + W["transformer.wpe.weight"][torch.arange(P)]
    causal = torch.tril(torch.ones(P, P, dtype=torch.bool))
    for l in range(c["L"]):
        p = "transformer.h.%d." % l
        a = F.layer_norm(h, (d,), W[p + "ln_1.weight"], W[p + "ln_1.bias"], c["eps"])
        qkv = torch.addmm(W[p + "attn.c_attn.bias"], a.reshape(-1, d), W[p + "attn.c_attn.weight"]).reshape(B, P, 3 * d)
        q, k, v = qkv.split(d, dim=2)
        q, k, v = [t.reshape(B, P, H, dh).permute(0, 2, 1, 3) for t in (q, k, v)]
        att = q @ k.transpose(-1, -2) / (v.size(-1) ** 0.5)
        att = torch.where(causal, att, torch.tensor(torch.finfo(att.dtype).min, dtype=att.dtype))
        att = torch.softmax(att, -1)
        o = (att @ v).permute(0, 2, 1, 3).reshape(B, P, d)
        o = torch.addmm(W[p + "attn.c_proj.bias"], o.reshape(-1, d), W[p + "attn.c_proj.weight"]).reshape(B, P, d)
        h = h + o
        mm = F.layer_norm(h, (d,), W[p + "ln_2.weight"], W[p + "ln_2.bias"], c["eps"])
        mm = F.gelu(mm @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"], approximate="tanh")
        h = h + mm @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    h = F.layer_norm(h, (d,), W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], c["eps"])
    return F.linear(h, W["transformer.wte.weight"])


def _rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def _hf_cos_sin(dim, base, P):
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=F64) / dim))
    t = torch.arange(P, dtype=F64)
    freqs = torch.einsum("i,j->ij", t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos()[None, None], emb.sin()[None, None]  # [1,1,P,dim]


def plain_neox(c, W, tokens):
    B, P = tokens.shape
    d, H, dh, r = c["d"], c["H"], c["dh"], c["rot_dims"]
    h = F.embedding(tokens, W["gpt_neox.embed_in.weight"])
    causal = torch.tril(torch.ones(P, P, dtype=torch.bool))
    cos, sin = _hf_cos_sin(r, c["base"], P)
    for l in range(c["L"]):
        p = "gpt_neox.layers.%d." % l
        a = F.layer_norm(h, (d,), W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], c["eps"])
        qkv = F.linear(a, W[p + "attention.query_key_value.weight"], W[p + "attention.query_key_value.bias"])
        qkv = qkv.view(B, P, H, 3 * dh)
        q = qkv[..., :dh].permute(0, 2, 1, 3)
        k = qkv[..., dh:2 * dh].permute(0, 2, 1, 3)
        v = qkv[..., 2 * dh:].permute(0, 2, 1, 3)
        q_rot, q_pass = q[..., :r], q[..., r:]
        k_rot, k_pass = k[..., :r], k[..., r:]
        q = torch.cat((q_rot * cos + _rotate_half(q_rot) * sin, q_pass), dim=-1)
        k = torch.cat((k_rot * cos + _rotate_half(k_rot) * sin, k_pass), dim=-1)
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(dh)
        att = torch.where(causal, att, torch.tensor(torch.finfo(att.dtype).min, dtype=att.dtype))
        att = torch.softmax(att, -1)
        o = torch.matmul(att, v).permute(0, 2, 1, 3).contiguous().view(B, P, H * dh)
        o = F.linear(o, W[p + "attention.dense.weight"], W[p + "attention.dense.bias"])
        mm = F.layer_norm(h, (d,), W[p + "post_attention_layernorm.weight"], W[p + "post_attention_layernorm.bias"],
                          c["eps"])
        mm = F.gelu(F.linear(mm, W[p + "mlp.dense_h_to_4h.weight"], W[p + "mlp.dense_h_to_4h.bias"]))
        mm = F.linear(mm, W[p + "mlp.dense_4h_to_h.weight"], W[p + "mlp.dense_4h_to_h.bias"])
        h = mm + o + h
    h = F.layer_norm(h, (d,), W["gpt_neox.final_layer_norm.weight"], W["gpt_neox.final_layer_norm.bias"], c["eps"])
    return F.linear(h, W["embed_out.weight"])


def _rms(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def plain_llama(c, W, tokens):
    B, P = tokens.shape
    d, H, Hkv, dh = c["d"], c["H"], c["Hkv"], c["dh"]
    G = H // Hkv
    h = F.embedding(tokens, W["model.embed_tokens.weight"])
    causal = torch.tril(torch.ones(P, P, dtype=torch.bool))
    cos, sin = _hf_cos_sin(dh, c["base"], P)
    for l in range(c["L"]):
        p = "model.layers.%d." % l
        a = _rms(h, W[p + "input_layernorm.weight"], c["eps"])
        q = F.linear(a, W[p + "self_attn.q_proj.weight"]).view(B, P, H, dh).transpose(1, 2)
        k = F.linear(a, W[p + "self_attn.k_proj.weight"]).view(B, P, Hkv, dh).transpose(1, 2)
        v = F.linear(a, W[p + "self_attn.v_proj.weight"]).view(B, P, Hkv, dh).transpose(1, 2)
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        # repeat_kv
        k = k[:, :, None].expand(B, Hkv, G, P, dh).reshape(B, H, P, dh)
        v = v[:, :, None].expand(B, Hkv, G, P, dh).reshape(B, H, P, dh)
        att = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(dh)
        att = att.masked_fill(~causal, torch.finfo(att.dtype).min)
        att = torch.softmax(att, dim=-1)
        o = torch.matmul(att, v).transpose(1, 2).reshape(B, P, H * dh)
        h = h + F.linear(o, W[p + "self_attn.o_proj.weight"])
        mm = _rms(h, W[p + "post_attention_layernorm.weight"], c["eps"])
        mm = F.linear(F.silu(F.linear(mm, W[p + "mlp.gate_proj.weight"])) * F.linear(mm, W[p + "mlp.up_proj.weight"]),
                      W[p + "mlp.down_proj.weight"])
        h = h + mm
    h = _rms(h, W["model.norm.weight"], c["eps"])
    return F.linear(h, W["lm_head.weight"])


def plain_llama2c(c, W, tokens):
    """Follows llama2.c run.c's forward(): one position at a time, KV cache, scalar RoPE loop."""
    dim, hs, H, Hkv, L = c["d"], c["dh"], c["H"], c["Hkv"], c["L"]
    kv_dim, kv_mul = Hkv * hs, H // Hkv
    wcls = W["token_embedding_table"] if c["tied"] else W["wcls"]

    def rmsnorm(x, w):
        ss = (x * x).mean() + 1e-5
        return w * (x / torch.sqrt(ss))

    out = []
    for seq in tokens.tolist():
        key_cache = [[] for _ in range(L)]
        val_cache = [[] for _ in range(L)]
        rows = []
        for pos, token in enumerate(seq):
            x = W["token_embedding_table"][token]
            for l in range(L):
                xb = rmsnorm(x, W["rms_att_weight"][l])
                q = W["wq"][l] @ xb
                k = W["wk"][l] @ xb
                v = W["wv"][l] @ xb
                qs, ks = list(q.unbind()), list(k.unbind())
                for i in range(0, dim, 2):
                    head_dim = i % hs
                    freq = 1.0 / (10000.0 ** (head_dim / float(hs)))
                    val = pos * freq
                    fcr, fci = math.cos(val), math.sin(val)
                    for vec in ([qs, ks] if i < kv_dim else [qs]):
                        v0, v1 = vec[i], vec[i + 1]
                        vec[i] = v0 * fcr - v1 * fci
                        vec[i + 1] = v0 * fci + v1 * fcr
                q, k = torch.stack(qs), torch.stack(ks)
                key_cache[l].append(k)
                val_cache[l].append(v)
                heads = []
                for h in range(H):
                    qh = q[h * hs:(h + 1) * hs]
                    kvh = h // kv_mul
                    att = torch.stack([(qh * key_cache[l][t][kvh * hs:(kvh + 1) * hs]).sum() / math.sqrt(hs)
                                       for t in range(pos + 1)])
                    att = torch.softmax(att, 0)
                    heads.append(sum(att[t] * val_cache[l][t][kvh * hs:(kvh + 1) * hs] for t in range(pos + 1)))
                x = x + W["wo"][l] @ torch.cat(heads)
                xb = rmsnorm(x, W["rms_ffn_weight"][l])
                hb = W["w1"][l] @ xb
                hb2 = W["w3"][l] @ xb
                hb = hb * (1.0 / (1.0 + torch.exp(-hb))) * hb2
                x = x + W["w2"][l] @ hb
            x = rmsnorm(x, W["rms_final_weight"])
            rows.append(wcls @ x)
        out.append(torch.stack(rows))
    return torch.stack(out)


PLAIN = {"gpt2": plain_gpt2, "gpt_neox": plain_neox, "llama": plain_llama, "llama2c": plain_llama2c}


# ----------------------------------------------------------------------------------------------------------------
# Reference computation + checks
# ----------------------------------------------------------------------------------------------------------------
def metric_of(logits, R):
    return (logits * R).sum()


def compute_reference(name, c, W32, tokens, R, graddrop_layers):
    """W32: float32 (or rounded) tensors; everything below runs in float64."""
    W = {k: t.to(F64).detach().requires_grad_(True) for k, t in W32.items()}
    keys = sorted(W)
    hooks = hook_list(c)
    log = []

    # 1) hooked split-input forward + backward
    logits, nodes = hooked_forward(c, W, tokens)
    L = metric_of(logits, R)
    L.backward()
    acts, grads = {}, {}
    for h in hooks:
        acts[h], grads[h] = public_act_grad(c, nodes, h)
        assert torch.isfinite(acts[h]).all() and torch.isfinite(grads[h]).all(), h
    wgrad = {k: W[k].grad.detach().clone() for k in keys}
    assert torch.equal(grads["hook_logits"], R)

    # 2) plain (source-style) forward: same logits, same weight gradients
    Wp = {k: t.detach().clone().requires_grad_(True) for k, t in W.items()}
    logits_p = PLAIN[c["arch"]](c, Wp, tokens)
    Lp = metric_of(logits_p, R)
    Lp.backward()
    dlog = (logits_p - logits).abs().max().item()
    assert dlog < 1e-10, (name, dlog)
    wdiff = max(((Wp[k].grad - wgrad[k]).abs().max() / (wgrad[k].abs().max() + 1e-30)).item() for k in keys)
    assert wdiff < 1e-9, (name, wdiff)
    log.append("split-input forward == plain forward: max |dlogit| %.2e, max rel |dW grad| %.2e" % (dlog, wdiff))

    # 3) attention patterns: rows sum to 1, causal, and not uniform
    min_max_p = 1.0
    for l in range(c["L"]):
        pat = acts["blocks.%d.attn.hook_pattern" % l]
        assert (pat.sum(-1) - 1).abs().max() < 1e-12
        assert (pat.triu(1) == 0).all()
        min_max_p = min(min_max_p, pat[..., 3:, :].max(-1).values.min().item())
    log.append("pattern rows sum to 1; smallest row max (rows >= 3) %.3f" % min_max_p)

    # 4) finite differences (float64, central) on hooks with non-trivial gradient semantics and on weights
    gen = torch.Generator().manual_seed(12345)

    def fd_hook(hname, idx, eps=1e-5):
        def L_at(s):
            dl = torch.zeros_like(acts[hname])
            dl[idx] = s
            with torch.no_grad():
                lg, _ = hooked_forward(c, W, tokens, delta={hname: dl})
            return metric_of(lg, R).item()

        return (L_at(eps) - L_at(-eps)) / (2 * eps)

    def rand_idx(shape):
        return tuple(int(torch.randint(0, s, (1,), generator=gen)) for s in shape)

    last = c["L"] - 1
    checks = []
    for l in sorted({0, last}):
        b = "blocks.%d." % l
        names = [b + "hook_resid_pre"] * 3 + [b + "hook_q_input", b + "hook_k_input", b + "hook_v_input",
                                             b + "ln1.hook_normalized", b + "attn.hook_k", b + "attn.hook_v",
                                             b + "hook_mlp_in", b + "attn.hook_result", b + "mlp.hook_post"]
        if c["rotary"] != "none":
            names += [b + "attn.hook_rot_k"]
        if not c["parallel"]:
            names += [b + "hook_resid_mid"]
        checks += names
    checks += ["hook_embed"]
    worst = 0.0
    for hname in checks:
        idx = rand_idx(acts[hname].shape)
        g = grads[hname][idx].item()
        fd = fd_hook(hname, idx)
        err = abs(fd - g) / max(1.0, abs(g))
        worst = max(worst, err)
        assert err < 1e-6, (name, hname, idx, g, fd)
    # an unmasked attention score
    sname = "blocks.%d.attn.hook_attn_scores" % last
    idx = (1, 1, 5, 2)
    g = grads[sname][idx].item()
    fd = fd_hook(sname, idx)
    assert abs(fd - g) / max(1.0, abs(g)) < 1e-6, (sname, g, fd)
    # weight gradients
    for _ in range(6):
        k = keys[int(torch.randint(0, len(keys), (1,), generator=gen))]
        idx = rand_idx(W[k].shape)
        eps = 1e-5
        vals = []
        for s in (eps, -eps):
            W2 = dict(W)
            t = W[k].detach().clone()
            t[idx] += s
            W2[k] = t
            with torch.no_grad():
                lg, _ = hooked_forward(c, W2, tokens)
            vals.append(metric_of(lg, R).item())
        fd = (vals[0] - vals[1]) / (2 * eps)
        g = wgrad[k][idx].item()
        err = abs(fd - g) / max(1.0, abs(g))
        worst = max(worst, err)
        assert err < 1e-6, (name, k, idx, g, fd)
    log.append("finite differences: %d hook/weight coordinates, worst rel err %.2e" % (len(checks) + 7, worst))

    # 5) GradDrop
    gd = {}
    gd_hooks = ["hook_embed"] + ["blocks.%d.attn.hook_result" % l for l in range(c["L"])] + \
               ["blocks.%d.hook_mlp_out" % l for l in range(c["L"])]
    for ell in graddrop_layers:
        lg, nd = hooked_forward(c, W, tokens, stop_layer=ell)
        assert torch.equal(lg, logits)
        for t in W.values():
            t.grad = None
        metric_of(lg, R).backward()
        for h in gd_hooks:
            gd["graddrop%d.grad.%s" % (ell, h)] = nd[h].grad.detach().clone()
        # layers after ell are untouched; layer ell's writes get exactly zero
        for l in range(ell + 1, c["L"]):
            for h in ("blocks.%d.attn.hook_result" % l, "blocks.%d.hook_mlp_out" % l):
                assert torch.equal(nd[h].grad, grads[h])
        assert (nd["blocks.%d.attn.hook_result" % ell].grad == 0).all()
        assert (nd["blocks.%d.hook_mlp_out" % ell].grad == 0).all()
        # cross-check against detaching layer ell's writes
        Wd = {k: t.detach().clone().requires_grad_(True) for k, t in W.items()}
        _, nd2 = hooked_forward_detached(c, Wd, tokens, ell, R)
        for h in gd_hooks:
            if nd2[h].grad is not None:
                assert torch.allclose(nd2[h].grad, gd["graddrop%d.grad.%s" % (ell, h)], rtol=0, atol=1e-14), h
    if graddrop_layers:
        log.append("graddrop layers %s: later layers unchanged, dropped layer zero, == detach variant"
                   % graddrop_layers)

    return dict(metric=L.item(), logits=logits.detach(), acts=acts, grads=grads, wgrad=wgrad, graddrop=gd,
                hooks=hooks, log=log)


def hooked_forward_detached(c, W, tokens, ell, R):
    """GradDrop cross-check: the same pass with layer ell's writes detached instead of StopGrad-ed."""
    lg, nd = hooked_forward(c, W, tokens, stop_layer=ell, stop_fn=lambda t: t.detach())
    metric_of(lg, R).backward()
    return lg, nd


# ----------------------------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------------------------
SPLIT_INPUTS = ("hook_q_input", "hook_k_input", "hook_v_input")
RESID_HOOKS = ("hook_resid_pre", "hook_attn_out", "hook_resid_mid", "hook_mlp_out", "hook_resid_post")


def aliases(hooks):
    """Stored tensors that other stored tensors equal bit for bit, so they are left out to save space."""
    out = {"grad.hook_logits": "dlogits (dL/dlogits = dlogits exactly)"}
    for h in hooks:
        if h.endswith(SPLIT_INPUTS):
            pre = h.rsplit(".", 1)[0] + ".hook_resid_pre"
            out["act." + h] = "act.%s broadcast over the head axis (index 2): [b,p,d] -> [b,p,H,d]" % pre
    return out


def save_model(folder, name, c, cfg_json, W_store, tokens, R, ref, plan, extra_json):
    """plan: {"acts": [hooks], "grads": [hooks], "wgrad": [weight names]} -- what goes into reference.safetensors."""
    os.makedirs(folder, exist_ok=True)
    if cfg_json is not None:
        write_json(os.path.join(folder, "config.json"), cfg_json)
    if W_store is not None:
        write_safetensors(os.path.join(folder, "model.safetensors"), W_store, {"format": "pt"})
        back = read_safetensors(os.path.join(folder, "model.safetensors"))
        assert set(back) == set(W_store) and all(torch.equal(back[k], W_store[k]) for k in back)
    T = {"tokens": tokens.to(torch.float32), "dlogits": R.to(torch.float32),
         "metric": torch.tensor([ref["metric"]], dtype=torch.float32)}
    for h in plan["acts"]:
        T["act." + h] = ref["acts"][h].to(torch.float32)
    for h in plan["grads"]:
        T["grad." + h] = ref["grads"][h].to(torch.float32)
    for k, t in ref["graddrop"].items():
        T[k] = t.to(torch.float32)
    for k in plan["wgrad"]:
        T["wgrad." + k] = ref["wgrad"][k].to(torch.float32)
    write_safetensors(os.path.join(folder, "reference.safetensors"), T,
                      {"format": "pt", "model": name, "metric": repr(ref["metric"])})
    back = read_safetensors(os.path.join(folder, "reference.safetensors"))
    assert set(back) == set(T) and all(torch.equal(back[k], T[k]) for k in back)
    info = {
        "model": name,
        "command": COMMAND,
        "torch_version": torch.__version__,
        "compute_dtype": "float64 (weights as stored, upcast exactly), tensors stored as F32",
        "tokens": tokens.tolist(),
        "metric": ref["metric"],
        "metric_definition": "sum over b,p,v of logits[b,p,v] * dlogits[b,p,v]",
        "max_abs_logit": ref["logits"].abs().max().item(),
        "logit_std": ref["logits"].std().item(),
    }
    info.update(extra_json)
    info.update({
        "hooks": ref["hooks"],
        "acts_stored": "all hooks" if plan["acts"] == ref["hooks"] else plan["acts"],
        "grads_stored": "all hooks" if plan["grads"] == ref["hooks"] else plan["grads"],
        "graddrop_layers": sorted({int(k.split(".")[0][len("graddrop"):]) for k in ref["graddrop"]}),
        "aliases": {k: v for k, v in aliases(ref["hooks"]).items() if k not in T},
        "checks": ref["log"],
        "tensors": {k: list(T[k].shape) for k in sorted(T)},
    })
    write_json(os.path.join(folder, "reference.json"), info)


def gpt2_config(c, dtype):
    return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": c["d"], "n_layer": c["L"],
            "n_head": c["H"], "n_inner": None, "vocab_size": c["V"], "n_positions": c["P"], "n_ctx": c["P"],
            "layer_norm_epsilon": c["eps"], "activation_function": "gelu_new", "bos_token_id": EOT_ID,
            "eos_token_id": EOT_ID, "scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": False,
            "reorder_and_upcast_attn": False, "tie_word_embeddings": True, "attn_pdrop": 0.0, "embd_pdrop": 0.0,
            "resid_pdrop": 0.0, "torch_dtype": dtype}


def neox_config(c):
    return {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "hidden_size": c["d"],
            "num_hidden_layers": c["L"], "num_attention_heads": c["H"], "intermediate_size": c["m"],
            "vocab_size": c["V"], "max_position_embeddings": c["P"], "layer_norm_eps": c["eps"],
            "rotary_pct": 0.25, "rotary_emb_base": 10000, "use_parallel_residual": True, "hidden_act": "gelu",
            "tie_word_embeddings": False, "bos_token_id": EOT_ID, "eos_token_id": EOT_ID, "attention_bias": True,
            "torch_dtype": "float32"}


def llama_config(c):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": c["d"],
            "num_hidden_layers": c["L"], "num_attention_heads": c["H"], "num_key_value_heads": c["Hkv"],
            "intermediate_size": c["m"], "vocab_size": c["V"], "max_position_embeddings": c["P"],
            "rms_norm_eps": c["eps"], "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": False,
            "attention_bias": False, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}


def stories_plan(c, hooks):
    def keep(h):
        if not h.startswith("blocks."):
            return True
        return h.startswith("blocks.0.") or h.endswith(RESID_HOOKS + ("attn.hook_pattern",))

    kept = [h for h in hooks if keep(h)]
    return {"acts": [h for h in kept if not h.endswith(SPLIT_INPUTS)], "grads": [h for h in kept if h != "hook_logits"],
            "wgrad": ["rms_att_weight", "rms_ffn_weight", "rms_final_weight"]}


def dlogits_for(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def main():
    print("torch", torch.__version__)
    os.makedirs(OUT, exist_ok=True)
    vocab, merges = build_tokenizer()
    tokens = torch.randint(0, EOT_ID, (2, 7), generator=torch.Generator().manual_seed(TOKEN_SEED))
    summary = []

    def run(name, c, W32, tokens, R_seed, graddrop, cfg_json, store_dtype, tok_kind, plan=None, extra=None):
        """store_dtype: dtype of model.safetensors (the reference uses the weights rounded to it); None = no copy."""
        R = dlogits_for((tokens.shape[0], tokens.shape[1], c["V"]), R_seed)
        W_used = {k: t.to(store_dtype).to(torch.float32) for k, t in W32.items()} if store_dtype else W32
        for k, t in W32.items():
            assert t.dtype == torch.float32, k
        ref = compute_reference(name, c, W_used, tokens, R, graddrop)
        folder = os.path.join(OUT, name)
        W_store = {k: t.to(store_dtype) for k, t in W32.items()} if store_dtype else None
        extra = dict(extra or {})
        extra["dlogits_seed"] = R_seed
        if plan is None:  # everything except bit-exact duplicates (see aliases())
            plan = {"acts": [h for h in ref["hooks"] if not h.endswith(SPLIT_INPUTS)],
                    "grads": [h for h in ref["hooks"] if h != "hook_logits"], "wgrad": sorted(W32)}
        else:
            plan = plan(ref["hooks"])
        save_model(folder, name, c, cfg_json, W_store, tokens, R, ref, plan, extra)
        if tok_kind == "gpt2":
            write_gpt2_tokenizer(folder, vocab, merges)
        elif tok_kind == "hf":
            write_hf_tokenizer_json(folder, vocab, merges)
        mx = ref["logits"].abs().max().item()
        summary.append((name, ref["metric"], mx))
        print("%-12s metric %+.10f  max|logit| %.3f" % (name, ref["metric"], mx))
        for line in ref["log"]:
            print("    " + line)

    # gpt2 (float32, then float16 / bfloat16 copies with references from the rounded weights)
    cg = dict(arch="gpt2", d=32, L=3, H=4, Hkv=4, dh=8, m=128, V=VOCAB, P=64, eps=1e-5, norm="ln", act="gelu_new",
              rotary="none", rot_dims=0, base=0.0, parallel=False, pos_embed=True, tied=True)
    Wg = gpt2_weights(cg, seed=101)
    seeds = {"weights_seed": 101, "tokens_seed": TOKEN_SEED}
    run("gpt2", cg, Wg, tokens, 201, [0, cg["L"] - 1], gpt2_config(cg, "float32"), torch.float32, "gpt2", extra=seeds)
    # Size budget: the half-precision copies get a forward-only reference (embeddings, residual stream, ln1,
    # attention patterns, final norm, logits) -- enough to catch any mis-converted weight.
    fwd_only = lambda hooks: {"acts": [h for h in hooks if not h.startswith("blocks.") or
                                       h.endswith(RESID_HOOKS + ("ln1.hook_normalized", "attn.hook_pattern"))],
                              "grads": [], "wgrad": []}
    for tag, dt in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        run("gpt2-" + tag, cg, Wg, tokens, 201, [], gpt2_config(cg, str(dt).replace("torch.", "")), dt, "gpt2",
            plan=fwd_only, extra=dict(seeds, note="weights are gpt2's rounded to %s; the reference is computed from "
                                                   "the rounded values; size budget: forward-only (no grad./wgrad.), "
                                                   "activations of the residual stream, ln1 and attention patterns"
                                                   % str(dt).replace("torch.", "")))

    cn = dict(arch="gpt_neox", d=32, L=2, H=2, Hkv=2, dh=16, m=64, V=VOCAB, P=64, eps=1e-5, norm="ln", act="gelu",
              rotary="half", rot_dims=int(16 * 0.25), base=10000.0, parallel=True, pos_embed=False, tied=False)
    run("gpt_neox", cn, neox_weights(cn, seed=102), tokens, 202, [], neox_config(cn), torch.float32, "hf",
        extra={"weights_seed": 102, "tokens_seed": TOKEN_SEED})
    cl = dict(arch="llama", d=32, L=2, H=4, Hkv=2, dh=8, m=48, V=VOCAB, P=64, eps=1e-5, norm="rms", act="swiglu",
              rotary="half", rot_dims=8, base=10000.0, parallel=False, pos_embed=False, tied=False)
    run("llama", cl, llama_weights(cl, seed=103), tokens, 203, [0, cl["L"] - 1], llama_config(cl), torch.float32, "hf",
        extra={"weights_seed": 103, "tokens_seed": TOKEN_SEED})

    Ws, cs, header = load_stories(STORIES_BIN)
    st_tokens = torch.tensor(STORIES_TOKENS)
    run("stories260K", cs, Ws, st_tokens, 204, [], dict(header, format="llama2.c",
                                                         source="models/stories260K/stories260K.bin"),
        None, None, plan=lambda hooks: stories_plan(cs, hooks),
        extra={"source": "models/stories260K/stories260K.bin", "llama2c_header": header,
               "wgrad_names": "llama2.c run.c TransformerWeights fields, layer-stacked, file layout "
                              "(rms_att_weight [L, dim], ...); size budget: only the norm weights are stored",
               "note": "size budget: every hook for layer 0; for the other layers the residual-stream hooks (%s) "
                       "and attn.hook_pattern" % ", ".join(RESID_HOOKS)})
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print("wrote %s: %.2f MB" % (os.path.relpath(OUT, ROOT), total / 1e6))
    return summary


if __name__ == "__main__":
    main()
