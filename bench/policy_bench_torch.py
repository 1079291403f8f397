#!/usr/bin/python3
"""Plain PyTorch eager baseline for bench/policy_bench.cc: the same Qwen2-layout
model (RMSNorm, RoPE, GQA, SwiGLU, q/k/v bias, tied head), random init, and the
same loop: one prefill step, then KV-cached one-token decode steps with
temperature-1 sampling and the sampled token's log-prob; and KV cache versus a
full forward per token at a long context. Written the way transformers' Qwen2
modelling code does it (repeat_kv, torch.cat onto the cache), without its
generate() machinery, which Debian does not package.

  /usr/bin/python3 bench/policy_bench_torch.py [--model tiny|qwen2.5-0.5b]
      [--batches 1,8,32,64] [--prompt 16] [--new_tokens 64] [--context 512]
      [--recompute_tokens 16] [--threads 1] [--no_decode] [--no_cache] [--malloc_defaults]
"""
import argparse
import ctypes
import math
import time

import torch

# Shapes of policy/model_config.cc's presets.
PRESETS = {
    "tiny": dict(vocab=512, hidden=128, inter=384, layers=6, heads=4, kv_heads=2, theta=10000.0),
    "qwen2.5-0.5b": dict(vocab=151936, hidden=896, inter=4864, layers=24, heads=14, kv_heads=2, theta=1e6),
}


def retain_freed_memory():
    """The malloc settings policy::ConfigureTorchRuntime applies on the C++ side
    (M_MMAP_THRESHOLD 256 MiB, M_TRIM_THRESHOLD 1 GiB), so both run alike."""
    libc = ctypes.CDLL("libc.so.6")
    return libc.mallopt(-3, 256 << 20) == 1 and libc.mallopt(-1, 1 << 30) == 1


def set_openblas_threads(n):
    """torch.set_num_threads does not reach OpenBLAS's own pool; do as the C++ side does."""
    try:
        ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(n)
        return True
    except (OSError, AttributeError):
        return False


class Model(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        h, i, nh, kvh = c["hidden"], c["inter"], c["heads"], c["kv_heads"]
        self.hd = hd = h // nh
        g = torch.Generator().manual_seed(1)
        r = lambda *s: torch.randn(*s, generator=g) * 0.02
        self.embed = r(c["vocab"], h)
        self.layers = []
        for _ in range(c["layers"]):
            self.layers.append(dict(q=r(nh * hd, h), qb=torch.zeros(nh * hd), k=r(kvh * hd, h),
                                    kb=torch.zeros(kvh * hd), v=r(kvh * hd, h), vb=torch.zeros(kvh * hd),
                                    o=r(h, nh * hd), gate=r(i, h), up=r(i, h), down=r(h, i),
                                    n1=torch.ones(h), n2=torch.ones(h)))
        self.norm = torch.ones(h)
        self.inv_freq = 1.0 / (c["theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))

    @staticmethod
    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))

    def rot(self, x):
        return torch.cat((-x[..., self.hd // 2:], x[..., :self.hd // 2]), -1)

    def forward(self, ids, start, cache):
        """ids [B, T] at positions start..start+T-1; cache: list of (k, v) or None."""
        c, hd = self.c, self.hd
        nh, kvh = c["heads"], c["kv_heads"]
        b, t = ids.shape
        pos = torch.arange(start, start + t).float()
        f = torch.outer(pos, self.inv_freq)
        emb = torch.cat((f, f), -1)
        cos, sin = emb.cos(), emb.sin()
        x = self.embed[ids]
        new_cache = []
        for i, w in enumerate(self.layers):
            y = self.rms(x, w["n1"])
            q = torch.nn.functional.linear(y, w["q"], w["qb"]).view(b, t, nh, hd).transpose(1, 2)
            k = torch.nn.functional.linear(y, w["k"], w["kb"]).view(b, t, kvh, hd).transpose(1, 2)
            v = torch.nn.functional.linear(y, w["v"], w["vb"]).view(b, t, kvh, hd).transpose(1, 2)
            q = q * cos + self.rot(q) * sin
            k = k * cos + self.rot(k) * sin
            if cache is not None:
                k = torch.cat((cache[i][0], k), 2)
                v = torch.cat((cache[i][1], v), 2)
            new_cache.append((k, v))
            kk = k.repeat_interleave(nh // kvh, 1)
            vv = v.repeat_interleave(nh // kvh, 1)
            s = q @ kk.transpose(2, 3) / math.sqrt(hd)
            if t > 1:
                s = s + torch.full((t, k.shape[2]), float("-inf")).triu(k.shape[2] - t + 1)
            o = (torch.softmax(s, -1) @ vv).transpose(1, 2).reshape(b, t, nh * hd)
            x = x + torch.nn.functional.linear(o, w["o"])
            y = self.rms(x, w["n2"])
            x = x + torch.nn.functional.linear(
                torch.nn.functional.silu(torch.nn.functional.linear(y, w["gate"])) *
                torch.nn.functional.linear(y, w["up"]), w["down"])
        return self.rms(x, self.norm) @ self.embed.t(), new_cache


def decode_tps(m, batch, prompt, new_tokens):
    ids = torch.randint(0, m.c["vocab"], (batch, prompt))
    logits, cache = m(ids, 0, None)
    tok = torch.multinomial(torch.softmax(logits[:, -1], -1), 1)
    start = time.perf_counter()
    for i in range(new_tokens - 1):
        logits, cache = m(tok, prompt + i, cache)
        logp = torch.log_softmax(logits[:, -1], -1)
        tok = torch.multinomial(logp.exp(), 1)
        logp.gather(-1, tok).tolist()
    return batch * (new_tokens - 1) / (time.perf_counter() - start)


def cache_vs_recompute(m, context, n):
    ids = torch.randint(0, m.c["vocab"], (1, context))
    logits, cache = m(ids, 0, None)
    tok = logits[:, -1].argmax(-1, keepdim=True)
    start = time.perf_counter()
    for i in range(n):
        logits, cache = m(tok, context + i, cache)
        tok = logits[:, -1].argmax(-1, keepdim=True)
    cached = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for i in range(n):
        logits, _ = m(torch.randint(0, m.c["vocab"], (1, context + i)), 0, None)
        logits[:, -1].argmax(-1).item()
    return cached * 1000, (time.perf_counter() - start) / n * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny", choices=sorted(PRESETS))
    ap.add_argument("--batches", default="1,8,32,64")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--new_tokens", type=int, default=64)
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--recompute_tokens", type=int, default=16)
    ap.add_argument("--no_decode", action="store_true")
    ap.add_argument("--no_cache", action="store_true")
    ap.add_argument("--malloc_defaults", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    blas = set_openblas_threads(a.threads)
    malloc = not a.malloc_defaults and retain_freed_memory()
    t0 = time.perf_counter()
    m = Model(PRESETS[a.model])
    print(f"torch {torch.__version__}, model {a.model}, random init in {time.perf_counter() - t0:.1f} s, "
          f"threads {torch.get_num_threads()}, OpenBLAS threads set: {blas}, malloc retains freed memory: {malloc}")
    with torch.no_grad():
        if not a.no_decode:
            print("\n| impl | model | batch | prompt | new tokens | decode tokens/s |\n|---|---|---|---|---|---|")
            for batch in (int(x) for x in a.batches.split(",")):
                print(f"| PyTorch eager | {a.model} | {batch} | {a.prompt} | {a.new_tokens} | "
                      f"{decode_tps(m, batch, a.prompt, a.new_tokens):.1f} |", flush=True)
        if not a.no_cache:
            c, r = cache_vs_recompute(m, a.context, a.recompute_tokens)
            print("\n| impl | model | context | tokens | KV cache ms/token | full recompute ms/token | speed-up |\n"
                  "|---|---|---|---|---|---|---|\n"
                  f"| PyTorch eager | {a.model} | {a.context} | {a.recompute_tokens} | {c:.2f} | {r:.2f} | {r / c:.1f}x |")


if __name__ == "__main__":
    main()
