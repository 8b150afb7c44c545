#!/usr/bin/python3
"""Independent reference for MechTests' semantics layer: logit lens, direct logit attribution (DLA) and head scores.

For the random-weight fixture models of make_fixtures.py (gpt2, gpt_neox, llama; read back from the checked-in
tests/MechTests.Tests/Fixtures/reference/<name>/model.safetensors) and the real stories260K, it writes
tests/MechTests.Tests/Fixtures/semantics/<name>/task.json (prompt pairs as token ids) and expected.json with:

* logit_lens: for every layer boundary (blocks.l.hook_resid_pre, then the last block's hook_resid_post) the residual
  stream at the last position read through the final norm (its own scale) and the unembedding: the logit
  difference, the probability mass and best rank (1 = top) of the correct and of the wrong answers; mean over pairs,
  clean and corrupted.
* dla: direct logit attribution of every component to the clean logit difference with the final norm's scale frozen
  from the clean run (TransformerLens's convention): score(c) = (P c / s) . (w_ln * u), where P centres (LayerNorm;
  identity for RMSNorm), s = the clean final residual's norm scale at the last position, w_ln the final norm's weight
  and u = mean W_U[correct] - mean W_U[wrong]. Component granularity (input, pos_embed, heads, MLPs) and neuron
  granularity (m{l}.n{i} = post_i * W_out[i]), plus the constant terms (attention output biases, MLP output biases at
  neuron granularity, the final norm's bias). Their sum is the clean logit difference (asserted here).
* head_scores: previous-token, induction and duplicate-token scores on seeded random repeated sequences, and the
  last position's attention to a named position, one value per head.

Everything is float64 from the stored float32 weights, with the hooked forward of make_fixtures.py (itself checked
there against plain re-implementations of each architecture); the semantics are written out here from the formulas
in docs/semantics.md, independently of the C# code.

Run:  /usr/bin/python3 tests/reference/make_semantics_fixtures.py   (needs python3-torch; about 2 s; deterministic)
"""
import json
import os

import torch

import make_fixtures as mf

OUT = os.path.join(mf.ROOT, "tests", "MechTests.Tests", "Fixtures", "semantics")
REF = mf.OUT
COMMAND = "/usr/bin/python3 tests/reference/make_semantics_fixtures.py"

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


def hf_model(name, c):
    W = mf.read_safetensors(os.path.join(REF, name, "model.safetensors"))
    return {k: t.to(torch.float64) for k, t in W.items()}


def make_task(seed, V, lo, bos):
    """Three pairs, two prompt lengths (so the C# side batches), one pair with an answer set of two tokens."""
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for length, n_correct in ((6, 1), (6, 2), (9, 1)):
        clean = torch.randint(lo, V, (length,), generator=g).tolist()
        corrupted = list(clean)
        corrupted[2] = int(torch.randint(lo, V, (1,), generator=g))
        if bos is not None:
            clean, corrupted = [bos] + clean, [bos] + corrupted
        answers = torch.randperm(V - lo, generator=g)[: n_correct + 1] + lo
        pairs.append({"clean_tokens": clean, "corrupted_tokens": corrupted,
                      "correct_ids": [int(a) for a in answers[:n_correct]], "wrong_ids": [int(answers[n_correct])]})
    return pairs


def run(c, W, tokens):
    with torch.no_grad():
        logits, nodes = mf.hooked_forward(c, W, torch.tensor(tokens))
    return logits, nodes


def answer_stats(logits_row, ids):
    p = torch.softmax(logits_row, -1)
    best = max(float(logits_row[i]) for i in ids)
    return float(sum(p[i] for i in ids)), 1 + int((logits_row > best).sum())


def logit_diff(row, pair):
    return (float(sum(row[i] for i in pair["correct_ids"])) / len(pair["correct_ids"])
            - float(sum(row[i] for i in pair["wrong_ids"])) / len(pair["wrong_ids"]))


def reference_for(name, c, W, pairs):
    lnfw, lnfb, W_U = mf.views_final(c, W)
    W_E, W_pos = mf.views_embed(c, W)
    L, H = c["L"], c["H"]
    boundaries = ["blocks.%d.hook_resid_pre" % l for l in range(L)] + ["blocks.%d.hook_resid_post" % (L - 1)]
    lens = {b: {k: 0.0 for k in ("clean_metric", "corrupted_metric", "clean_correct_prob", "clean_correct_rank",
                                 "clean_wrong_prob", "clean_wrong_rank", "corrupted_correct_prob",
                                 "corrupted_correct_rank", "corrupted_wrong_prob", "corrupted_wrong_rank")}
            for b in boundaries}
    comp, neuron, consts = {}, {}, {}
    metric_clean, metric_corr, identity_rows = 0.0, 0.0, []
    n = len(pairs)

    def add(d, k, v):
        d[k] = d.get(k, 0.0) + v / n

    for pair in pairs:
        runs = {}
        for kind in ("clean", "corrupted"):
            logits, nodes = run(c, W, [pair[kind + "_tokens"]])
            runs[kind] = (logits, nodes)
            for b in boundaries:
                x = nodes[b][0, -1]
                row = mf.norm(c, x, lnfw, lnfb) @ W_U
                s = lens[b]
                s[kind + "_metric"] += logit_diff(row, pair) / n
                for side in ("correct", "wrong"):
                    prob, rank = answer_stats(row, pair[side + "_ids"])
                    s["%s_%s_prob" % (kind, side)] += prob / n
                    s["%s_%s_rank" % (kind, side)] += rank / n
        logits, nodes = runs["clean"]
        m = logit_diff(logits[0, -1], pair)
        metric_clean += m / n
        metric_corr += logit_diff(runs["corrupted"][0][0, -1], pair) / n
        # DLA: frozen clean scale at the last position
        xf = nodes["blocks.%d.hook_resid_post" % (L - 1)][0, -1]
        centre = (lambda v: v - v.mean()) if c["norm"] == "ln" else (lambda v: v)
        scale = torch.sqrt((centre(xf) ** 2).mean() + c["eps"])
        u = W_U[:, pair["correct_ids"]].mean(1) - W_U[:, pair["wrong_ids"]].mean(1)
        direction = lnfw * u / scale
        score = lambda v: float(centre(v) @ direction)
        total = 0.0
        parts = {"input": nodes["hook_embed"][0, -1]}
        if W_pos is not None:
            parts["pos_embed"] = W_pos[len(pair["clean_tokens"]) - 1]
        for l in range(L):
            v = mf.views_layer(c, W, l)
            res = nodes["blocks.%d.attn.hook_result" % l][0, -1]
            for h in range(H):
                parts["a%d.h%d" % (l, h)] = res[h]
            parts["m%d" % l] = nodes["blocks.%d.hook_mlp_out" % l][0, -1]
            if v["bo"] is not None:
                add(consts, "a%d.b_O" % l, score(v["bo"]))
                total += score(v["bo"])
            post = nodes["blocks.%d.mlp.hook_post" % l][0, -1]
            rows = post.unsqueeze(1) * v["Wout"]  # [m, d]: neuron i's write
            contrib = torch.stack([centre(r) for r in rows]) @ direction
            for i in range(contrib.shape[0]):
                add(neuron, "m%d.n%d" % (l, i), float(contrib[i]))
            add(neuron, "m%d.b_out" % l, score(v["bout"]) if v["bout"] is not None else 0.0)
        for k, vec in parts.items():
            add(comp, k, score(vec))
            total += score(vec)
        if lnfb is not None:
            add(consts, "ln_final.b", float(lnfb @ u))
            total += float(lnfb @ u)
        identity_rows.append((total, m))
    for total, m in identity_rows:
        assert abs(total - m) < 1e-9 * max(1.0, abs(m)), (name, total, m)
    for l in range(L):  # neuron-level identity: neurons + b_out = the MLP's component score
        s = sum(v for k, v in neuron.items() if k.startswith("m%d." % l))
        assert abs(s - comp["m%d" % l]) < 1e-9, (name, l, s, comp["m%d" % l])
    return {"metric_clean": metric_clean, "metric_corrupted": metric_corr,
            "logit_lens": [dict(name=b, **lens[b]) for b in boundaries],
            "dla": {"components": comp, "constants": consts, "neurons": neuron}}


def head_scores(c, W, seed, lo, bos):
    V, L, H = c["V"], c["L"], c["H"]
    g = torch.Generator().manual_seed(seed)
    period, count = 8, 3
    prefix = [bos] if bos is not None else []
    seqs = []
    for _ in range(count):
        r = torch.randint(lo, V, (period,), generator=g).tolist()
        seqs.append(prefix + r + r)
    s = len(prefix)
    prev = torch.zeros(L, H)
    ind = torch.zeros(L, H)
    dup = torch.zeros(L, H)
    _, nodes = run(c, W, seqs)
    P = len(seqs[0])
    for l in range(L):
        A = nodes["blocks.%d.attn.hook_pattern" % l]  # [b,H,q,k]
        for h in range(H):
            prev[l, h] = torch.stack([A[:, h, p, p - 1] for p in range(1, P)], 1).mean()
            ind[l, h] = torch.stack([A[:, h, p, p - period + 1] for p in range(s + period, P)], 1).mean()
            dup[l, h] = torch.stack([A[:, h, p, p - period] for p in range(s + period, P)], 1).mean()
    # attention from the last position to a named position, on the clean prompts of one length
    prompts = [seq[:-1] for seq in seqs]
    positions = [1 + s, 2 + s, 3 + s]
    _, nodes = run(c, W, prompts)
    to = torch.zeros(L, H)
    for l in range(L):
        A = nodes["blocks.%d.attn.hook_pattern" % l]
        for h in range(H):
            to[l, h] = torch.stack([A[b, h, -1, positions[b]] for b in range(len(prompts))]).mean()
    return {"repeated_tokens": seqs, "prefix_length": s, "period": period,
            "previous_token": prev.tolist(), "induction": ind.tolist(), "duplicate_token": dup.tolist(),
            "attention_prompts": prompts, "attention_positions": positions, "attention_to_position": to.tolist()}


def main():
    os.makedirs(OUT, exist_ok=True)
    cg = dict(arch="gpt2", d=32, L=3, H=4, Hkv=4, dh=8, m=128, V=mf.VOCAB, P=64, eps=1e-5, norm="ln",
              act="gelu_new", rotary="none", rot_dims=0, base=0.0, parallel=False, pos_embed=True, tied=True)
    cn = dict(arch="gpt_neox", d=32, L=2, H=2, Hkv=2, dh=16, m=64, V=mf.VOCAB, P=64, eps=1e-5, norm="ln", act="gelu",
              rotary="half", rot_dims=4, base=10000.0, parallel=True, pos_embed=False, tied=False)
    cl = dict(arch="llama", d=32, L=2, H=4, Hkv=2, dh=8, m=48, V=mf.VOCAB, P=64, eps=1e-5, norm="rms", act="swiglu",
              rotary="half", rot_dims=8, base=10000.0, parallel=False, pos_embed=False, tied=False)
    models = [("gpt2", cg, hf_model("gpt2", cg), 0, None), ("gpt_neox", cn, hf_model("gpt_neox", cn), 0, None),
              ("llama", cl, hf_model("llama", cl), 3, 1)]
    Ws, cs, _ = mf.load_stories(mf.STORIES_BIN)
    models.append(("stories260K", cs, {k: t.to(torch.float64) for k, t in Ws.items()}, 3, 1))
    for i, (name, c, W, lo, bos) in enumerate(models):
        pairs = make_task(300 + i, c["V"], lo, bos)
        ref = reference_for(name, c, W, pairs)
        ref["head_scores"] = head_scores(c, W, 400 + i, lo, bos)
        ref["command"] = COMMAND
        ref["torch"] = torch.__version__
        ref["model"] = ("models/stories260K/stories260K.bin" if name == "stories260K"
                        else "tests/MechTests.Tests/Fixtures/reference/%s" % name)
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        mf.write_json(os.path.join(folder, "task.json"),
                      {"name": "semantics-%s" % name, "metric": "logit_diff", "pairs": pairs,
                       "description": "random token pairs (seed %d) for the semantics reference; written by %s"
                                      % (300 + i, COMMAND)})
        mf.write_json(os.path.join(folder, "expected.json"), ref)
        print("%-12s clean %+.6f corrupted %+.6f" % (name, ref["metric_clean"], ref["metric_corrupted"]))


if __name__ == "__main__":
    main()
