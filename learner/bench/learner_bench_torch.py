#!/usr/bin/python3
"""Plain PyTorch eager baseline for learner_bench.cc's training figure: the
same Qwen2-layout model as bench/policy_bench_torch.py (whose Model it
reuses), one GRPO-style step per iteration: full forward, token log-probs
and entropies, clipped surrogate on group advantages over the sampled
tokens, backward, grad-norm clip 1.0, AdamW (lr 1e-3, betas 0.9/0.99).

  /usr/bin/python3 learner/bench/learner_bench_torch.py [--model tiny|qwen2.5-0.5b]
      [--batch 16] [--seq 128] [--steps 5] [--threads 1]
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import policy_bench_torch as pb  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    pb.set_openblas_threads(a.threads)
    pb.retain_freed_memory()
    m = pb.Model(pb.PRESETS[a.model])
    params = [m.embed, m.norm] + [t for layer in m.layers for t in layer.values()]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.99), weight_decay=0.0)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, m.c["vocab"], (a.batch, a.seq), generator=g)
    mask = torch.zeros(a.batch, a.seq)
    mask[:, 16:] = 1.0
    behaviour = torch.full((a.batch, a.seq), -1.0) * mask
    rewards = torch.tensor([float(i % 2) for i in range(a.batch)]).view(-1, 8)
    adv = ((rewards - rewards.mean(1, keepdim=True)) / (rewards.std(1, keepdim=True) + 1e-4)).view(-1, 1) * mask

    def step():
        logits, _ = m(ids, 0, None)
        logp_all = torch.log_softmax(logits[:, :-1].float(), -1)
        logp = torch.zeros(a.batch, a.seq)
        logp[:, 1:] = logp_all.gather(-1, ids[:, 1:, None]).squeeze(-1)
        ent = torch.zeros(a.batch, a.seq)
        ent[:, 1:] = -(logp_all.exp() * logp_all).sum(-1)
        ratio = torch.exp((logp - behaviour) * mask)
        pg = -torch.min(ratio * adv, ratio.clamp(0.8, 1.2) * adv)
        loss = (pg * mask).sum() / mask.sum()
        (ent * mask).sum().item()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    step()  # warm-up
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    s = time.perf_counter() - t
    n = sum(p.numel() for p in params)
    print(f"torch train model={a.model} params={n} batch={a.batch} seq={a.seq} threads={a.threads}: "
          f"{a.batch * a.seq * a.steps / s:.0f} tokens/s ({s / a.steps:.3f} s/step)")


if __name__ == "__main__":
    main()
