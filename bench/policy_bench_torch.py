#!/usr/bin/python3
"""Plain PyTorch eager baseline for bench/policy_bench.cc: the same "tiny"
Qwen2-layout model (vocab 512, d 128, 6 layers, 4 heads / 2 KV heads, SwiGLU
384, tied head), random init, KV-cached decode with temperature-1 sampling.

  /usr/bin/python3 bench/policy_bench_torch.py [--threads 1] [--new_tokens 64]
"""
import argparse
import math
import time

import torch

V, H, I, L, NH, KVH = 512, 128, 384, 6, 4, 2
HD = H // NH


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        r = lambda *s: torch.nn.Parameter(torch.randn(*s, generator=g) * 0.02)
        self.embed = r(V, H)
        self.layers = []
        for _ in range(L):
            self.layers.append(dict(q=r(NH * HD, H), qb=torch.zeros(NH * HD), k=r(KVH * HD, H),
                                    kb=torch.zeros(KVH * HD), v=r(KVH * HD, H), vb=torch.zeros(KVH * HD),
                                    o=r(H, NH * HD), gate=r(I, H), up=r(I, H), down=r(H, I),
                                    n1=torch.ones(H), n2=torch.ones(H)))
        self.norm = torch.ones(H)
        self.inv_freq = 1.0 / (10000.0 ** (torch.arange(0, HD, 2).float() / HD))

    @staticmethod
    def rms(x, w):
        return w * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)

    @staticmethod
    def rot(x):
        return torch.cat((-x[..., HD // 2:], x[..., :HD // 2]), -1)

    def forward(self, ids, start, cache):
        """ids [B, T] at positions start..start+T-1; cache: list of (k, v) or None."""
        b, t = ids.shape
        pos = torch.arange(start, start + t).float()
        f = torch.outer(pos, self.inv_freq)
        emb = torch.cat((f, f), -1)
        cos, sin = emb.cos(), emb.sin()
        x = self.embed[ids]
        new_cache = []
        for i, w in enumerate(self.layers):
            y = self.rms(x, w["n1"])
            q = torch.nn.functional.linear(y, w["q"], w["qb"]).view(b, t, NH, HD).transpose(1, 2)
            k = torch.nn.functional.linear(y, w["k"], w["kb"]).view(b, t, KVH, HD).transpose(1, 2)
            v = torch.nn.functional.linear(y, w["v"], w["vb"]).view(b, t, KVH, HD).transpose(1, 2)
            q = q * cos + self.rot(q) * sin
            k = k * cos + self.rot(k) * sin
            if cache is not None:
                k = torch.cat((cache[i][0], k), 2)
                v = torch.cat((cache[i][1], v), 2)
            new_cache.append((k, v))
            kk = k.repeat_interleave(NH // KVH, 1)
            vv = v.repeat_interleave(NH // KVH, 1)
            s = q @ kk.transpose(2, 3) / math.sqrt(HD)
            if t > 1:
                s = s + torch.full((t, k.shape[2]), float("-inf")).triu(k.shape[2] - t + 1)
            o = (torch.softmax(s, -1) @ vv).transpose(1, 2).reshape(b, t, H)
            x = x + torch.nn.functional.linear(o, w["o"])
            y = self.rms(x, w["n2"])
            x = x + torch.nn.functional.linear(
                torch.nn.functional.silu(torch.nn.functional.linear(y, w["gate"])) *
                torch.nn.functional.linear(y, w["up"]), w["down"])
        return self.rms(x, self.norm) @ self.embed.t(), new_cache


def decode_tps(m, batch, prompt, new_tokens):
    ids = torch.randint(0, V, (batch, prompt))
    logits, cache = m(ids, 0, None)
    tok = torch.multinomial(torch.softmax(logits[:, -1], -1), 1)
    start = time.perf_counter()
    for i in range(new_tokens - 1):
        logits, cache = m(tok, prompt + i, cache)
        logp = torch.log_softmax(logits[:, -1], -1)
        tok = torch.multinomial(logp.exp(), 1)
        logp.gather(-1, tok)
    return batch * (new_tokens - 1) / (time.perf_counter() - start)


def cache_vs_recompute(m, context, n):
    ids = torch.randint(0, V, (1, context))
    logits, cache = m(ids, 0, None)
    tok = logits[:, -1].argmax(-1, keepdim=True)
    start = time.perf_counter()
    for i in range(n):
        logits, cache = m(tok, context + i, cache)
        tok = logits[:, -1].argmax(-1, keepdim=True)
    cached = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for i in range(n):
        logits, _ = m(torch.randint(0, V, (1, context + i)), 0, None)
        logits[:, -1].argmax(-1)
    return cached * 1000, (time.perf_counter() - start) / n * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--new_tokens", type=int, default=64)
    ap.add_argument("--context", type=int, default=512)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    m = Model()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print("\n| model | batch | prompt | new tokens | decode tokens/s |\n|---|---|---|---|---|")
    with torch.no_grad():
        for batch in (1, 8, 32, 64):
            print(f"| tiny (PyTorch eager) | {batch} | 16 | {a.new_tokens} | "
                  f"{decode_tps(m, batch, 16, a.new_tokens):.0f} |", flush=True)
        c, r = cache_vs_recompute(m, a.context, 32)
        print(f"\n| context | KV cache ms/token | recompute ms/token |\n|---|---|---|\n| {a.context} | {c:.2f} | {r:.2f} |")


if __name__ == "__main__":
    main()
